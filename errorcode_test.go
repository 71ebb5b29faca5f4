package claim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		reason string
		err    error
		want   string
	}{
		{"nil has no code", nil, ""},
		{"a sentinel", claim.ErrNotFound, "not_found"},
		{"a wrapped sentinel", fmt.Errorf("claim: row 3: %w", claim.ErrStaleMode), "stale_mode"},
		{"a refusal", &claim.RefusalError{Email: "a@x.com", Reasons: []claim.Reason{claim.ReasonSourceSSO}}, "not_eligible"},
		{"an input error names its sentinel", &claim.InputError{Field: "email", Err: claim.ErrInvalidEmail}, "invalid_email"},
		{"a retraction refusal: its first reason in R1–R4 order", &claim.RetractError{Reasons: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}}, "signed_in"},
		{"a CSV sentinel", claim.ErrNotSelected, "not_selected"},
		{"a BroadWorks sentinel", claim.ErrUseAttach, "use_attach"},
		{"an attach refusal", &claim.AttachError{Reasons: []claim.AttachReason{claim.ReasonManyUsers}}, "approval_required"},
		{"a cancelled context", fmt.Errorf("x: %w", context.Canceled), "canceled"},
		{"a deadline", context.DeadlineExceeded, "deadline_exceeded"},
		{"an error of no sentinel", errors.New("disk on fire"), claim.ErrorCodeUnknown},
	}
	for _, tt := range tests {
		if got := claim.ErrorCode(tt.err); got != tt.want {
			t.Errorf("%s: ErrorCode(%v) = %q, want %q", tt.reason, tt.err, got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	e := newEnv(t)
	acme := e.mustOrg(t, "acme", claim.Enterprise, t0, claim.Settings{AllowContentMigration: true})
	e.mustVerify(t, acme.ID, "acme.example")
	ind := e.mustOrg(t, "ind", claim.Individual, oldOrgDate, claim.Settings{})
	sso := e.mustOrg(t, "sso", claim.Enterprise, t0, claim.Settings{SSO: true, DirectorySync: true})
	e.mustUser(t, ind.ID, "ann@acme.example", 3)
	e.mustUser(t, ind.ID, "carl@acme.example", 1)
	e.mustUser(t, ind.ID, "dan@acme.example", 0)
	e.mustUser(t, sso.ID, "bob@acme.example", 0)

	res, err := e.svc.ClaimEmails(e.ctx, acme.ID,
		[]string{"ann@acme.example", "bob@acme.example", "nobody@acme.example", "ann@acme.example"},
		claim.ClaimOptions{Acknowledge: true})
	if err != nil {
		t.Fatalf("ClaimEmails() = %v", err)
	}
	back, text := jsonRoundTrip(t, res)
	for _, want := range []string{`"Mode":"Delayed"`, `"Err":null`, `"code":"not_eligible"`,
		`"reasons":["source_sso","source_directory_sync"]`, `"code":"not_found"`, `"code":"duplicate"`} {
		if !strings.Contains(text, want) {
			t.Errorf("json.Marshal(results) = %s, want it to contain %s", text, want)
		}
	}
	wantIs := []error{nil, claim.ErrNotEligible, claim.ErrNotFound, claim.ErrDuplicate}
	for i, r := range back {
		if !errors.Is(r.Err, wantIs[i]) || (wantIs[i] == nil) != (r.Err == nil) {
			t.Errorf("decoded result %d (%s): Err = %v, want errors.Is %v", i, r.Input, r.Err, wantIs[i])
		}
	}
	if re, ok := errors.AsType[*claim.RefusalError](back[1].Err); !ok || !re.Has(claim.ReasonSourceSSO) || re.User != res[1].User {
		t.Errorf("decoded refusal = %#v, want a *RefusalError of user %s with source_sso", back[1].Err, res[1].User)
	}

	csv := "User ID/Email (Required),Claim,Colour\n" +
		"carl@acme.example,TRUE,red\n" +
		"bob@acme.example,TRUE,\n" +
		"dan@acme.example,FALSE,\n" +
		"ann@acme.example,TRUE,\n"
	rep, err := e.svc.ImportClaims(e.ctx, acme.ID, strings.NewReader(csv), claim.ImportOptions{Acknowledge: true})
	if err != nil {
		t.Fatalf("ImportClaims() = %v", err)
	}
	if rep.Claimed != 1 || rep.Refused != 1 || rep.Skipped != 2 {
		t.Fatalf("ImportClaims() = %+v, want 1 claimed, 1 refused, 2 skipped", rep)
	}
	repBack, text := jsonRoundTrip(t, rep)
	for _, want := range []string{`"code":"not_selected"`, `"code":"already_claimed"`, `"UnknownColumns":["Colour"]`} {
		if !strings.Contains(text, want) {
			t.Errorf("json.Marshal(import report) = %s, want it to contain %s", text, want)
		}
	}
	for _, r := range repBack.Rows {
		if !r.Skipped() && !errors.Is(r.Err, claim.ErrNotEligible) {
			t.Errorf("decoded row %d = %v, want skipped or ErrNotEligible", r.Line, r.Err)
		}
	}

	srep, err := e.svc.SyncDirectory(e.ctx, acme.ID, []claim.DirectoryEntry{
		{Email: "eve@acme.example"}, {Email: "not an address"}, {Email: "bob@acme.example"}, {Email: "eve@acme.example"},
	}, claim.SyncOptions{})
	if err != nil {
		t.Fatalf("SyncDirectory() = %v", err)
	}
	if len(srep.Refused) != 3 || len(srep.Created) != 1 {
		t.Fatalf("SyncDirectory() = %+v, want 1 created, 3 refused", srep)
	}
	srepBack, _ := jsonRoundTrip(t, srep)
	for i, want := range []error{claim.ErrInvalidEmail, claim.ErrEmailTaken, claim.ErrDuplicate} {
		if got := srepBack.Refused[i].Err; !errors.Is(got, want) {
			t.Errorf("decoded sync refusal %d = %v, want errors.Is %v", i, got, want)
		}
	}

	var events []claim.Event
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		events = append(events, ev)
	}
	_, text = jsonRoundTrip(t, events)
	if !strings.Contains(text, `"Mode":"Delayed"`) || !strings.Contains(text, `"Mode":""`) {
		t.Errorf("json.Marshal(events) = %s, want modes as text, the zero mode empty", text)
	}
}

// jsonRoundTrip encodes v, decodes it into a new T and returns both.
func jsonRoundTrip[T any](t *testing.T, v T) (T, string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%T) = %v", v, err)
	}
	var got T
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v", b, err)
	}
	if d := cmp.Diff(v, got, sameError); d != "" {
		t.Errorf("%T through JSON (-want +got):\n%s", v, d)
	}
	return got, string(b)
}

// sameError equates errors that carry the same code and message and, for
// refusals, the same reasons: what survives the wire.
var sameError = cmp.Comparer(func(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ra, aok := errors.AsType[*claim.RefusalError](a)
	rb, bok := errors.AsType[*claim.RefusalError](b)
	if aok != bok || aok && !slices.Equal(ra.Reasons, rb.Reasons) {
		return false
	}
	return claim.ErrorCode(a) == claim.ErrorCode(b) && a.Error() == b.Error()
})
