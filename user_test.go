package claim_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/claimkit/claim"
)

// --- Section 3: users (U1–U7) ---

func TestRefuseUsers(t *testing.T) {
	addTaken := func(org claim.OrgID, addr string) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			baseFixture(t, e)
			return func() error {
				_, err := e.svc.AddUser(e.ctx, org, claim.NewUser{Email: addr})
				return err
			}
		}
	}
	// heldOriginal claims ann into b and returns the refused operation on
	// the original account left in a.
	heldOriginal := func(op func(e *env, orig claim.UserID) error) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			_, ann := claimedFixture(t, e)
			return func() error { return op(e, ann.Claim.Original) }
		}
	}
	runRefusals(t, []refusalCase{
		{reason: "U1: an address in use in the same org is taken", op: "AddUser(a, ann@example.com)",
			setup: addTaken("a", "ann@example.com"), want: claim.ErrEmailTaken},
		{reason: "U1: addresses are unique across orgs, compared case-insensitively", op: "AddUser(c, ANN@EXAMPLE.COM)",
			setup: addTaken("c", "ANN@EXAMPLE.COM"), want: claim.ErrEmailTaken},
		{reason: "U1: a display-name form and surrounding spaces do not hide a taken address", op: "AddUser(c,  Ann <Ann@Example.Com> )",
			setup: addTaken("c", " Ann <Ann@Example.Com> "), want: claim.ErrEmailTaken},
		{reason: "U1: a claimed user's address stays taken", op: "AddUser(a, ann@example.com) after the claim",
			setup: func(t *testing.T, e *env) func() error {
				claimedFixture(t, e)
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "ann@example.com"})
					return err
				}
			}, want: claim.ErrEmailTaken},
		{reason: "U2, D6: a user cannot be added to an org when another org has claimed the domain", op: "AddUser(c, new@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "c", claim.NewUser{Email: "New@EXAMPLE.com", SiteLinked: true})
					return err
				}
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "U2, D6: the claimed domain is checked before the address (documented order)", op: "AddUser(c, ann@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "c", claim.NewUser{Email: "ann@example.com"})
					return err
				}
			}, want: claim.ErrDomainClaimedByOther, not: []error{claim.ErrEmailTaken}},
		{reason: "U4: a Not Verified user cannot sign in", op: "SignIn(nora)",
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				return func() error {
					_, err := e.svc.SignIn(e.ctx, f.nora.ID)
					return err
				}
			}, want: claim.ErrNotVerified},
		{reason: "U4: an Inactive user cannot sign in", op: "SignIn(ann inactive)",
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				mustDeactivate(t, e, "a", f.ann.ID)
				return func() error {
					_, err := e.svc.SignIn(e.ctx, f.ann.ID)
					return err
				}
			}, want: claim.ErrInactive},
		{reason: "U4, U5: an immediately claimed Inactive user stays Inactive and cannot sign in", op: "SignIn(ann claimed while inactive)",
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				mustDeactivate(t, e, "a", f.ann.ID)
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.ann.ID)
				return func() error {
					_, err := e.svc.SignIn(e.ctx, f.ann.ID)
					return err
				}
			}, want: claim.ErrInactive},
		{reason: "U4, U5: a Delayed Claim user deactivated by its new org cannot sign in", op: "SignIn(ivy deactivated)",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := delayedFixture(t, e)
				mustDeactivate(t, e, "b", ivy.ID)
				return func() error {
					_, err := e.svc.SignIn(e.ctx, ivy.ID)
					return err
				}
			}, want: claim.ErrInactive},
		{reason: "U6, H2: DeleteUser of an original account held by a pending claim", op: "DeleteUser(a, original)",
			setup: heldOriginal(func(e *env, o claim.UserID) error { return e.svc.DeleteUser(e.ctx, "a", o) }),
			want:  claim.ErrHeldByClaim},
		{reason: "H2: Deactivate of an original account", op: "Deactivate(a, original)",
			setup: heldOriginal(func(e *env, o claim.UserID) error {
				_, err := e.svc.Deactivate(e.ctx, "a", o)
				return err
			}), want: claim.ErrHeldByClaim},
		{reason: "H2: Reactivate of an original account", op: "Reactivate(a, original)",
			setup: heldOriginal(func(e *env, o claim.UserID) error {
				_, err := e.svc.Reactivate(e.ctx, "a", o)
				return err
			}), want: claim.ErrHeldByClaim},
		{reason: "H2: Reactivate of an Inactive original account", op: "Reactivate(a, inactive original)",
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				mustDeactivate(t, e, "a", f.ann.ID)
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.ann.ID)
				orig := e.mustGet(t, f.ann.ID).Claim.Original
				return func() error {
					_, err := e.svc.Reactivate(e.ctx, "a", orig)
					return err
				}
			}, want: claim.ErrHeldByClaim},
		{reason: "H2: SignIn of an original account", op: "SignIn(original)",
			setup: heldOriginal(func(e *env, o claim.UserID) error {
				_, err := e.svc.SignIn(e.ctx, o)
				return err
			}), want: claim.ErrHeldByClaim},
		{reason: "H2: VerifyEmail of an original account (of a Not Verified user)", op: "VerifyEmail(original)",
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.nora.ID)
				orig := e.mustGet(t, f.nora.ID).Claim.Original
				return func() error {
					_, err := e.svc.VerifyEmail(e.ctx, orig)
					return err
				}
			}, want: claim.ErrHeldByClaim},
		{reason: "H2: a delayed claim's original is held too", op: "DeleteUser(i, original)",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := delayedFixture(t, e)
				return func() error { return e.svc.DeleteUser(e.ctx, "i", ivy.Claim.Original) }
			}, want: claim.ErrHeldByClaim},
		{reason: "H2: the original stays held after the user signed in (immediate claim past its window, no choice yet)", op: "DeleteUser(a, original) at 30d",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				mustSignIn(t, e, ann.ID)
				e.clock.Advance(30 * 24 * time.Hour)
				return func() error { return e.svc.DeleteUser(e.ctx, "a", ann.Claim.Original) }
			}, want: claim.ErrHeldByClaim},
	})
}

func TestRefuseNudgeResendGap(t *testing.T) {
	for _, r := range []struct {
		reason string
		after  time.Duration
		want   int
	}{
		{"U7: a resend 24h-1ns after the last is skipped", 24*time.Hour - 1, 0},
		{"U7: a resend at exactly 24h is sent", 24 * time.Hour, 1},
	} {
		t.Run(r.reason, func(t *testing.T) {
			e := newEnv(t)
			f := baseFixture(t, e)
			if n, err := e.svc.NudgeUnverified(e.ctx, "a"); err != nil || n != 1 {
				t.Fatalf("NudgeUnverified(a) = %d, %v; want 1 (nora)", n, err)
			}
			e.clock.Advance(r.after)
			before := e.snapshot(t, refusalOrgs...)
			n, err := e.svc.NudgeUnverified(e.ctx, "a")
			if err != nil || n != r.want {
				t.Fatalf("NudgeUnverified(a) after %v = %d, %v; want %d", r.after, n, err, r.want)
			}
			if r.want == 0 {
				e.unchanged(t, before, refusalOrgs...)
				return
			}
			var last claim.Event
			for ev, err := range e.svc.Events(e.ctx, 0) {
				if err != nil {
					t.Fatalf("Events() = %v", err)
				}
				last = ev
			}
			if last.Type != claim.EventNotifyActivation || last.User != f.nora.ID || last.Recipient != f.nora.Email {
				t.Errorf("last event = %+v, want notify.activation to nora", last)
			}
		})
	}
}

// TestRefuseEmptyActingOrg: an admin operation naming no org is refused
// like one naming an unknown org (N3), never run as the user's own.
func TestRefuseEmptyActingOrg(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "a", claim.Individual, oldOrgDate, claim.Settings{})
	ann := e.mustActive(t, "a", "ann@example.com", 1)
	before := e.snapshot(t, "a")
	if _, err := e.svc.Deactivate(e.ctx, "", ann.ID); !errors.Is(err, claim.ErrNotFound) {
		t.Errorf("Deactivate(\"\") = %v, want %v", err, claim.ErrNotFound)
	}
	if _, err := e.svc.Reactivate(e.ctx, "", ann.ID); !errors.Is(err, claim.ErrNotFound) {
		t.Errorf("Reactivate(\"\") = %v, want %v", err, claim.ErrNotFound)
	}
	e.unchanged(t, before, "a")
}

// FuzzUserNames: a name AddUser accepts is stored trimmed, in the limits
// (valid UTF-8, no control character but the tab, at most 256 characters
// and 1024 bytes) and reads back exactly from ExportClaimable's file (V5);
// a name it refuses is an *InputError (ErrInvalidValue) with a bounded
// message that writes no event.
func FuzzUserNames(f *testing.F) {
	for _, s := range []string{"Ann", " Ann ", "=SUM(A1)", "'=x", "a\tb", "\tlead", "a\nb", "a\x00b", "\xff", "\u202eevil", "李😀",
		strings.Repeat("𝔸", 256), strings.Repeat("𝔸", 257), "\"q\",c", "'", "''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		e := newEnv(t)
		e.mustOrg(t, "b", claim.Enterprise, t0, claim.Settings{})
		e.mustOrg(t, "a", claim.Enterprise, t0, claim.Settings{})
		e.mustVerify(t, "b", "example.com")
		before := lastSeq(t, e)
		u, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "ann@example.com", FirstName: name, LastName: name, DisplayName: name})
		if err != nil {
			checkInputError(t, "AddUser", err, claim.ErrInvalidValue)
			if after := lastSeq(t, e); after != before {
				t.Fatalf("AddUser refused %q but the event log went from %d to %d", name, before, after)
			}
			return
		}
		n := u.FirstName
		switch {
		case n != strings.TrimSpace(name) || u.LastName != n || u.DisplayName != n && !(n == "" && u.DisplayName == ""):
			t.Fatalf("AddUser(%q) stored %q, %q, %q; want the name trimmed", name, u.FirstName, u.LastName, u.DisplayName)
		case !utf8.ValidString(n) || len(n) > claim.MaxNameBytes || utf8.RuneCountInString(n) > claim.MaxNameChars:
			t.Fatalf("AddUser(%q) stored %q, outside the limits", name, n)
		case strings.ContainsFunc(n, func(r rune) bool { return unicode.Is(unicode.Cc, r) && r != '\t' }):
			t.Fatalf("AddUser(%q) stored %q, which holds a control character", name, n)
		}
		var buf bytes.Buffer
		if err := e.svc.ExportClaimable(e.ctx, "b", &buf); err != nil {
			t.Fatalf("ExportClaimable = %v", err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("the export of %q reads as %q, %v; want a header and one row", n, recs, err)
		}
		for i := range 3 {
			if got := claim.UnescapeCell(recs[1][i]); got != n {
				t.Fatalf("the export's cell %d reads back %q, want %q", i, got, n)
			}
		}
	})
}
