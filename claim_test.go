package claim_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// --- Section 5 and 7: call-level refusals (E7, E8, K1–K3) ---

func TestRefuseClaimCall(t *testing.T) {
	byIDs := func(org claim.OrgID, n int, ack bool, lic ...string) func(e *env, f rowFixture) error {
		return func(e *env, f rowFixture) error {
			ids := append([]claim.UserID{f.ann.ID}, unknownIDs(n-1)...)
			_, err := e.svc.ClaimUsers(e.ctx, org, ids, claim.ClaimOptions{Acknowledge: ack, Licenses: lic})
			return err
		}
	}
	byEmails := func(org claim.OrgID, n int, ack bool) func(e *env, f rowFixture) error {
		return func(e *env, f rowFixture) error {
			as := append([]string{f.ann.Email}, unknownAddrs(n-1)...)
			_, err := e.svc.ClaimEmails(e.ctx, org, as, claim.ClaimOptions{Acknowledge: ack})
			return err
		}
	}
	rows := []struct {
		reason, op string
		dirSync    bool // org b synchronizes from a directory
		opts       []claim.Option
		call       func(e *env, f rowFixture) error
		want       error
		not        []error
		field      string
	}{
		{reason: "K1: ClaimUsers without the acknowledgement", op: "ClaimUsers(b, [ann], no ack)",
			call: byIDs("b", 1, false), want: claim.ErrNotAcknowledged},
		{reason: "K1: ClaimEmails without the acknowledgement", op: "ClaimEmails(b, [ann], no ack)",
			call: byEmails("b", 1, false), want: claim.ErrNotAcknowledged},
		{reason: "K1: ClaimUsers of no users without the acknowledgement", op: "ClaimUsers(b, [], no ack)",
			call: func(e *env, f rowFixture) error {
				_, err := e.svc.ClaimUsers(e.ctx, "b", nil, claim.ClaimOptions{})
				return err
			}, want: claim.ErrNotAcknowledged},
		{reason: "K2: 251 IDs are too many", op: "ClaimUsers(b, 251 IDs)",
			call: byIDs("b", 251, true), want: claim.ErrTooMany},
		{reason: "K2: the limit is Policy.ListLimit (100 by default: 101 are too many)", op: "ClaimUsers(b, 101 IDs), ListLimit 100",
			opts: []claim.Option{editPolicy(func(p *claim.Policy) { p.ListLimit = 100 })},
			call: byIDs("b", 101, true), want: claim.ErrTooMany},
		{reason: "K3: 26 addresses are too many", op: "ClaimEmails(b, 26 addresses)",
			call: byEmails("b", 26, true), want: claim.ErrTooMany},
		{reason: "E7: ClaimUsers by an org with directory sync on", op: "ClaimUsers(b dirsync, [ann])", dirSync: true,
			call: byIDs("b", 1, true), want: claim.ErrDirectorySyncEnabled},
		{reason: "E7: ClaimEmails by an org with directory sync on", op: "ClaimEmails(b dirsync, [ann])", dirSync: true,
			call: byEmails("b", 1, true), want: claim.ErrDirectorySyncEnabled},
		{reason: "E7: Eligibility for an org with directory sync on", op: "Eligibility(b dirsync, ann)", dirSync: true,
			call: func(e *env, f rowFixture) error {
				_, err := e.svc.Eligibility(e.ctx, "b", f.ann.Email)
				return err
			}, want: claim.ErrDirectorySyncEnabled},
		{reason: "E7: the first element of Claimable for an org with directory sync on", op: "Claimable(b dirsync)", dirSync: true,
			call: func(e *env, f rowFixture) error {
				for c, err := range e.svc.Claimable(e.ctx, "b") {
					if err == nil {
						return fmt.Errorf("first element is candidate %s, not an error", c.User.Email)
					}
					return err
				}
				return errors.New("Claimable yielded nothing")
			}, want: claim.ErrDirectorySyncEnabled},
		{reason: "E8: no acknowledgement, too many and an unknown org: the acknowledgement is checked first", op: "ClaimUsers(zz, 251 IDs, no ack)",
			call: byIDs("zz", 251, false), want: claim.ErrNotAcknowledged, not: []error{claim.ErrTooMany, claim.ErrNotFound}},
		{reason: "E8: no acknowledgement, 26 addresses and an unknown org: the acknowledgement is checked first", op: "ClaimEmails(zz, 26, no ack)",
			call: byEmails("zz", 26, false), want: claim.ErrNotAcknowledged, not: []error{claim.ErrTooMany, claim.ErrNotFound}},
		{reason: "E8: acknowledged, too many and an unknown org: the count is checked before the org", op: "ClaimUsers(zz, 251 IDs)",
			call: byIDs("zz", 251, true), want: claim.ErrTooMany, not: []error{claim.ErrNotFound}},
		{reason: "E8: acknowledged, 26 addresses and an unknown org: the count is checked before the org", op: "ClaimEmails(zz, 26)",
			call: byEmails("zz", 26, true), want: claim.ErrTooMany, not: []error{claim.ErrNotFound}},
		{reason: "E8: acknowledged, a good count and an unknown org: ErrNotFound for the call", op: "ClaimUsers(zz, 250 IDs)",
			call: byIDs("zz", 250, true), want: claim.ErrNotFound},
		{reason: "E8: too many and directory sync on: the count is checked before E7", op: "ClaimUsers(b dirsync, 251 IDs)", dirSync: true,
			call: byIDs("b", 251, true), want: claim.ErrTooMany, not: []error{claim.ErrDirectorySyncEnabled}},
		{reason: "E8: no acknowledgement and directory sync on: the acknowledgement is checked first", op: "ClaimEmails(b dirsync, no ack)", dirSync: true,
			call: byEmails("b", 1, false), want: claim.ErrNotAcknowledged, not: []error{claim.ErrDirectorySyncEnabled}},
		{reason: "E8: directory sync on and a bad license name: E7 comes first", op: "ClaimUsers(b dirsync, Licenses [\" \"])", dirSync: true,
			call: byIDs("b", 1, true, " "), want: claim.ErrDirectorySyncEnabled, not: []error{claim.ErrInvalidValue}},
		{reason: "K6: an empty license name in ClaimOptions refuses the whole call", op: "ClaimUsers(b, Licenses [\" \"])",
			call: byIDs("b", 1, true, "Meetings", " "), want: claim.ErrInvalidValue, field: "ClaimOptions.Licenses"},
	}
	var cases []refusalCase
	for _, r := range rows {
		cases = append(cases, refusalCase{
			reason: r.reason, op: r.op, opts: r.opts,
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				if r.dirSync {
					mustSettings(t, e, "b", claim.Settings{DirectorySync: true})
				}
				return func() error { return r.call(e, f) }
			},
			want: r.want, not: r.not, field: r.field,
		})
	}
	runRefusals(t, cases)
}

// --- Section 5: eligibility reasons (E1–E6) ---

// TestRefuseEligibilityReasons checks each reason alone and in
// combination, by the three ways of asking: ClaimUsers and ClaimEmails
// (Result.Err, a *RefusalError) and Eligibility (the reasons).
func TestRefuseEligibilityReasons(t *testing.T) {
	type target struct {
		org  claim.OrgID
		user claim.User
	}
	rows := []struct {
		reason string
		setup  func(t *testing.T, e *env) target
		want   []claim.Reason
	}{
		{"E1 alone: a user of the claiming org is already a member", func(t *testing.T, e *env) target {
			baseFixture(t, e)
			return target{"b", e.mustActive(t, "b", "bea@example.com", 1)}
		}, []claim.Reason{claim.ReasonAlreadyMember}},
		{"E2 alone: the claiming org has not verified the domain", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"E2 alone: a started but unconfirmed verification is not verified", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			if _, err := e.svc.StartDomainVerification(e.ctx, "c", "example.com"); err != nil {
				t.Fatalf("StartDomainVerification = %v", err)
			}
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"E3 alone: another org has claimed the domain", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			e.mustVerify(t, "c", "example.com")
			mustClaimDomain(t, e, "c", "example.com")
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonDomainClaimedByOther}},
		{"E3 alone: the user's own org has claimed the domain", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			e.mustVerify(t, "a", "example.com")
			mustClaimDomain(t, e, "a", "example.com")
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonDomainClaimedByOther}},
		{"E4 alone: the user's org uses SSO", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			mustSettings(t, e, "a", claim.Settings{SSO: true})
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonSourceSSO}},
		{"E5 alone: the user's org synchronizes from a directory", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			mustSettings(t, e, "a", claim.Settings{DirectorySync: true})
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonSourceDirectorySync}},
		{"E6 alone: the user is under another org's pending claim", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			e.mustVerify(t, "c", "example.com")
			e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonPendingClaim}},
		{"E6 alone: a pending delayed claim, signed in, counts too", func(t *testing.T, e *env) target {
			_, ivy := delayedFixture(t, e)
			mustSignIn(t, e, ivy.ID)
			e.mustVerify(t, "c", "example.com")
			return target{"c", ivy}
		}, []claim.Reason{claim.ReasonPendingClaim}},
		{"E6: a held original reports only pending_claim, though E4 and E5 would apply", func(t *testing.T, e *env) target {
			_, ann := claimedFixture(t, e)
			e.mustVerify(t, "c", "example.com")
			mustSettings(t, e, "a", claim.Settings{SSO: true, DirectorySync: true})
			orig, err := e.svc.User(e.ctx, ann.Claim.Original)
			if err != nil {
				t.Fatalf("User(original) = %v", err)
			}
			return target{"c", orig}
		}, []claim.Reason{claim.ReasonPendingClaim}},
		{"E6: a held original reports only pending_claim to its holder, though E1-like and E2 apply", func(t *testing.T, e *env) target {
			_, ann := claimedFixture(t, e)
			orig, err := e.svc.User(e.ctx, ann.Claim.Original)
			if err != nil {
				t.Fatalf("User(original) = %v", err)
			}
			return target{"b", orig}
		}, []claim.Reason{claim.ReasonPendingClaim}},
		{"N3: E2 hides E3–E5 of a user the org may not see", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			mustClaimDomain(t, e, "b", "example.com")
			mustSettings(t, e, "a", claim.Settings{SSO: true, DirectorySync: true})
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"N3: E2 hides E4 of a user the org may not see", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			mustSettings(t, e, "a", claim.Settings{SSO: true})
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"N3: E2 hides E6 of a held original the org may not see", func(t *testing.T, e *env) target {
			_, ann := claimedFixture(t, e)
			orig, err := e.svc.User(e.ctx, ann.Claim.Original)
			if err != nil {
				t.Fatalf("User(original) = %v", err)
			}
			return target{"c", orig}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"E3, E4 and E5 together, in E order", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			e.mustVerify(t, "c", "example.com") // before b's claim, which D7 would refuse it
			mustClaimDomain(t, e, "b", "example.com")
			mustSettings(t, e, "a", claim.Settings{SSO: true, DirectorySync: true})
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainClaimedByOther, claim.ReasonSourceSSO, claim.ReasonSourceDirectorySync}},
		{"E1, E2, E3, E4 and E6 together, in E order", func(t *testing.T, e *env) target {
			_, ann := claimedFixture(t, e)
			mustSettings(t, e, "b", claim.Settings{SSO: true})
			if err := e.svc.UnverifyDomain(e.ctx, "b", "example.com"); err != nil {
				t.Fatalf("UnverifyDomain = %v", err)
			}
			e.mustVerify(t, "c", "example.com")
			mustClaimDomain(t, e, "c", "example.com")
			return target{"b", ann}
		}, []claim.Reason{claim.ReasonAlreadyMember, claim.ReasonDomainNotVerified, claim.ReasonDomainClaimedByOther, claim.ReasonSourceSSO, claim.ReasonPendingClaim}},
		{"E3, E5 and E6 together, in E order", func(t *testing.T, e *env) target {
			f := baseFixture(t, e)
			e.mustVerify(t, "c", "example.com")
			e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
			mustClaimDomain(t, e, "c", "example.com")
			mustSettings(t, e, "c", claim.Settings{DirectorySync: true})
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonDomainClaimedByOther, claim.ReasonSourceDirectorySync, claim.ReasonPendingClaim}},
	}
	for _, r := range rows {
		for _, how := range []string{"ClaimUsers", "ClaimEmails", "Eligibility"} {
			t.Run(how+"/"+r.reason, func(t *testing.T) {
				e := newEnv(t)
				tg := r.setup(t, e)
				before, rest := e.snapshot(t, refusalOrgs...), orgRecordsOf(t, e)
				switch how {
				case "Eligibility":
					got, err := e.svc.Eligibility(e.ctx, tg.org, tg.user.Email)
					if err != nil {
						t.Fatalf("Eligibility(%s, %s) = %v, want reasons", tg.org, tg.user.Email, err)
					}
					if diff := cmp.Diff(r.want, got); diff != "" {
						t.Errorf("Eligibility(%s, %s) mismatch (-want +got):\n%s", tg.org, tg.user.Email, diff)
					}
				default:
					input := string(tg.user.ID)
					if how == "ClaimEmails" {
						input = strings.ToUpper(tg.user.Email)
					}
					err := claimSingle(e, tg.org, input, how == "ClaimEmails")
					if !errors.Is(err, claim.ErrNotEligible) {
						t.Fatalf("%s(%s, %s) = %v, want %v", how, tg.org, input, err, claim.ErrNotEligible)
					}
					var re *claim.RefusalError
					if !errors.As(err, &re) {
						t.Fatalf("%s(%s, %s) = %v (%T), want a *RefusalError", how, tg.org, input, err, err)
					}
					if diff := cmp.Diff(r.want, re.Reasons); diff != "" {
						t.Errorf("%s(%s, %s): Reasons mismatch (-want +got):\n%s", how, tg.org, input, diff)
					}
					wantID, wantEmail := tg.user.ID, tg.user.Email
					if tg.user.Org != tg.org && containsReason(r.want, claim.ReasonDomainNotVerified) {
						// N3: of a user the org may not see, only what the org gave:
						// the ID it claimed, or the address (not the ID).
						if how == "ClaimEmails" {
							wantID = ""
						} else {
							wantEmail = ""
						}
					}
					if re.User != wantID || re.Email != wantEmail {
						t.Errorf("%s: RefusalError names %s <%s>, want %s <%s>", how, re.User, re.Email, wantID, wantEmail)
					}
					if wantEmail == "" && strings.Contains(err.Error(), tg.user.Email) {
						t.Errorf("%s: %q quotes the address of a user the org may not see", how, err)
					}
					if wantID == "" && strings.Contains(err.Error(), string(tg.user.ID)) {
						t.Errorf("%s: %q quotes the ID of a user the org may not see", how, err)
					}
					for _, x := range []claim.Reason{claim.ReasonAlreadyMember, claim.ReasonDomainNotVerified, claim.ReasonDomainClaimedByOther,
						claim.ReasonSourceSSO, claim.ReasonSourceDirectorySync, claim.ReasonPendingClaim} {
						if want := containsReason(r.want, x); re.Has(x) != want {
							t.Errorf("%s: RefusalError.Has(%s) = %v, want %v", how, x, re.Has(x), want)
						}
					}
				}
				e.unchanged(t, before, refusalOrgs...)
				if diff := cmp.Diff(rest, orgRecordsOf(t, e), claimtest.CmpOptions()); diff != "" {
					t.Errorf("orgs or domains changed (-before +after):\n%s", diff)
				}
			})
		}
	}
}

// --- Section 7: per-user results (K2, K3, K5) ---

func TestRefuseClaimResults(t *testing.T) {
	runRefusals(t, []refusalCase{
		{reason: "K5, N3: an empty user ID is bad input in its result", op: `ClaimUsers(b, [""])`,
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error { return claimSingle(e, "b", "", false) }
			}, want: claim.ErrInvalidValue, field: "ids[0]"},
		{reason: "K5, N3: a blank user ID is bad input in its result", op: `ClaimUsers(b, ["  "])`,
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error { return claimSingle(e, "b", "  ", false) }
			}, want: claim.ErrInvalidValue, field: "ids[0]"},
		{reason: "E6, K5: ClaimEmails of a held original's address is refused with pending_claim", op: "ClaimEmails(c, original's address)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				e.mustVerify(t, "c", "example.com")
				return func() error { return claimSingle(e, "c", ann.Email+".convert-user.local", true) }
			}, want: claim.ErrNotEligible, reasons: []claim.Reason{claim.ReasonPendingClaim}},
		{reason: "E1, K5: claiming one's own claimed user again", op: "ClaimUsers(b, ann) again",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				return func() error { return claimSingle(e, "b", string(ann.ID), false) }
			}, want: claim.ErrNotEligible, reasons: []claim.Reason{claim.ReasonAlreadyMember, claim.ReasonPendingClaim}},
	})
}

func TestRefuseDuplicateInCall(t *testing.T) {
	t.Run("K3: an address repeated in any case is refused in its own result; the first is claimed", func(t *testing.T) {
		e := newEnv(t)
		f := baseFixture(t, e)
		in := []string{"ann@example.com", "ANN@Example.COM", "Ann Lee <Ann@example.com>", " ann@EXAMPLE.com "}
		res, err := e.svc.ClaimEmails(e.ctx, "b", in, claim.ClaimOptions{Acknowledge: true})
		if err != nil {
			t.Fatalf("ClaimEmails() = %v, want results", err)
		}
		if len(res) != len(in) {
			t.Fatalf("ClaimEmails() gave %d results, want %d", len(res), len(in))
		}
		if res[0].Err != nil || res[0].User != f.ann.ID || res[0].Mode != claim.Immediate {
			t.Errorf("ClaimEmails()[0] = %+v, want ann claimed Immediate", res[0])
		}
		for i, r := range res[1:] {
			if !errors.Is(r.Err, claim.ErrDuplicate) {
				t.Errorf("ClaimEmails()[%d].Err = %v, want %v", i+1, r.Err, claim.ErrDuplicate)
			}
			if r.Input != in[i+1] || r.Mode != 0 {
				t.Errorf("ClaimEmails()[%d] = %+v, want Input %q and no Mode", i+1, r, in[i+1])
			}
		}
		if got := countEvents(t, e, claim.EventClaimCreated); got != 1 {
			t.Errorf("claim.created events = %d, want 1", got)
		}
	})
	t.Run("K2, K5: an ID repeated is refused in its own result; the first is claimed", func(t *testing.T) {
		e := newEnv(t)
		f := baseFixture(t, e)
		res, err := e.svc.ClaimUsers(e.ctx, "b", []claim.UserID{f.ann.ID, f.ann.ID}, claim.ClaimOptions{Acknowledge: true})
		if err != nil {
			t.Fatalf("ClaimUsers() = %v, want results", err)
		}
		if res[0].Err != nil {
			t.Errorf("ClaimUsers()[0].Err = %v, want nil", res[0].Err)
		}
		if !errors.Is(res[1].Err, claim.ErrDuplicate) {
			t.Errorf("ClaimUsers()[1].Err = %v, want %v", res[1].Err, claim.ErrDuplicate)
		}
		if got := countEvents(t, e, claim.EventClaimCreated); got != 1 {
			t.Errorf("claim.created events = %d, want 1", got)
		}
	})
}

// TestRefuseMixedBatch: refusals and successes in one call (K5). The
// refused users are unchanged and no event names them.
func TestRefuseMixedBatch(t *testing.T) {
	e := newEnv(t)
	f := baseFixture(t, e)
	bea := e.mustActive(t, "b", "bea@example.com", 1) // already a member (E1)
	e.mustOrg(t, "i", claim.Enterprise, time.Time{}, claim.Settings{SSO: true})
	sam := e.mustActive(t, "i", "sam@example.com", 4) // source uses SSO (E4)
	refused := []claim.UserID{bea.ID, sam.ID}
	beforeUsers := map[claim.UserID]claim.User{}
	for _, id := range refused {
		beforeUsers[id] = e.mustGet(t, id)
	}
	seq := e.lastSeq(t)

	ids := []claim.UserID{f.ann.ID, "usr_nobody", bea.ID, f.nora.ID, "", sam.ID, f.ann.ID}
	want := []error{nil, claim.ErrNotFound, claim.ErrNotEligible, nil, claim.ErrInvalidValue, claim.ErrNotEligible, claim.ErrDuplicate}
	res, err := e.svc.ClaimUsers(e.ctx, "b", ids, claim.ClaimOptions{Acknowledge: true})
	if err != nil {
		t.Fatalf("ClaimUsers() = %v, want results", err)
	}
	if len(res) != len(ids) {
		t.Fatalf("ClaimUsers() gave %d results, want %d", len(res), len(ids))
	}
	for i, r := range res {
		if string(ids[i]) != r.Input {
			t.Errorf("ClaimUsers()[%d].Input = %q, want %q (input order)", i, r.Input, ids[i])
		}
		if !claimtest.Is(r.Err, want[i]) {
			t.Errorf("ClaimUsers()[%d].Err = %v, want %v", i, r.Err, want[i])
		}
		if (r.Err == nil) != (r.Mode != 0) {
			t.Errorf("ClaimUsers()[%d] = %+v: a Mode exactly when claimed", i, r)
		}
	}
	for _, id := range []claim.UserID{f.ann.ID, f.nora.ID} {
		if u := e.mustGet(t, id); u.Org != "b" || u.Claim == nil {
			t.Errorf("User(%s) = org %s, claim %+v, want claimed into b", u.Email, u.Org, u.Claim)
		}
	}
	for _, id := range refused {
		if diff := cmp.Diff(beforeUsers[id], e.mustGet(t, id), claimtest.CmpOptions()); diff != "" {
			t.Errorf("refused user %s changed (-before +after):\n%s", id, diff)
		}
	}
	for ev, err := range e.svc.Events(e.ctx, seq) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		if ev.User == bea.ID || ev.User == sam.ID {
			t.Errorf("event %+v names a refused user", ev)
		}
	}
	if got := countEvents(t, e, claim.EventClaimCreated); got != 2 {
		t.Errorf("claim.created events = %d, want 2", got)
	}
}

// TestRefuseCountBoundaries: exactly the limit is accepted (K2, K3).
func TestRefuseCountBoundaries(t *testing.T) {
	t.Run("K2: exactly 250 IDs are accepted", func(t *testing.T) {
		e := newEnv(t)
		f := baseFixture(t, e)
		ids := append([]claim.UserID{f.ann.ID}, unknownIDs(249)...)
		res, err := e.svc.ClaimUsers(e.ctx, "b", ids, claim.ClaimOptions{Acknowledge: true})
		if err != nil {
			t.Fatalf("ClaimUsers(250 IDs) = %v, want nil", err)
		}
		if len(res) != 250 || res[0].Err != nil {
			t.Fatalf("ClaimUsers(250 IDs) = %d results, first %+v; want 250, ann claimed", len(res), res[0])
		}
		for i, r := range res[1:] {
			if !errors.Is(r.Err, claim.ErrNotFound) {
				t.Errorf("ClaimUsers()[%d].Err = %v, want %v", i+1, r.Err, claim.ErrNotFound)
			}
		}
	})
	t.Run("K2: exactly ListLimit 100 IDs are accepted", func(t *testing.T) {
		e := newEnv(t, editPolicy(func(p *claim.Policy) { p.ListLimit = 100 }))
		f := baseFixture(t, e)
		res, err := e.svc.ClaimUsers(e.ctx, "b", append([]claim.UserID{f.ann.ID}, unknownIDs(99)...), claim.ClaimOptions{Acknowledge: true})
		if err != nil || len(res) != 100 || res[0].Err != nil {
			t.Fatalf("ClaimUsers(100 IDs) = %d results, %v; want 100, ann claimed", len(res), err)
		}
	})
	t.Run("K3: exactly 25 addresses are accepted", func(t *testing.T) {
		e := newEnv(t)
		f := baseFixture(t, e)
		res, err := e.svc.ClaimEmails(e.ctx, "b", append([]string{f.ann.Email}, unknownAddrs(24)...), claim.ClaimOptions{Acknowledge: true})
		if err != nil {
			t.Fatalf("ClaimEmails(25) = %v, want nil", err)
		}
		if len(res) != 25 || res[0].Err != nil {
			t.Fatalf("ClaimEmails(25) = %d results, first %+v; want 25, ann claimed", len(res), res[0])
		}
		for i, r := range res[1:] {
			if !errors.Is(r.Err, claim.ErrNotFound) {
				t.Errorf("ClaimEmails()[%d].Err = %v, want %v", i+1, r.Err, claim.ErrNotFound)
			}
		}
	})
}

// --- Section 8: choices (C1, C2) ---

func TestRefuseChoose(t *testing.T) {
	// signedIn claims ann into b (immediate) and signs her in.
	signedIn := func(t *testing.T, e *env) (rowFixture, claim.User) {
		f, ann := claimedFixture(t, e)
		mustSignIn(t, e, ann.ID)
		return f, ann
	}
	runRefusals(t, []refusalCase{
		{reason: "C1: an immediate-claimed user may not choose before signing in", op: "Choose(ann, DeleteOriginal) before sign-in",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrChoiceNotAllowed},
		{reason: "C1: a delayed-claimed user may not choose before signing in", op: "Choose(ivy, MigrateContent) before sign-in",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := delayedFixture(t, e)
				return chooseCall(e, ivy.ID, claim.Choice{Action: claim.MigrateContent})
			}, want: claim.ErrChoiceNotAllowed},
		{reason: "C1: ChangeEmail before signing in is refused too", op: "Choose(ann, ChangeEmail) before sign-in",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
			}, want: claim.ErrChoiceNotAllowed},
		{reason: "C1: a user chooses once: a second choice finds no pending claim", op: "Choose(ann, DeleteOriginal) twice",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				mustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1: after ChangeEmail, another choice finds no pending claim", op: "Choose(ann, ChangeEmail) twice",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				mustChoose(t, e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.older@example.com"})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1: after MigrateContent, another choice finds no pending claim", op: "Choose(ivy, DeleteOriginal) after MigrateContent",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := delayedFixture(t, e)
				mustSignIn(t, e, ivy.ID)
				mustChoose(t, e, ivy.ID, claim.Choice{Action: claim.MigrateContent})
				return chooseCall(e, ivy.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1, X1: a delayed claim past its deadline has no choice left, even signed in", op: "Choose(ivy, DeleteOriginal) at 14d",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := delayedFixture(t, e)
				mustSignIn(t, e, ivy.ID)
				e.clock.Advance(window)
				return chooseCall(e, ivy.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1: a never-claimed user has no claim to choose about", op: "Choose(nora, DeleteOriginal)",
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				return chooseCall(e, f.nora.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1, R6: a retracted user has no claim to choose about", op: "Choose(ann, DeleteOriginal) after Retract",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				mustRetract(t, e, "b", ann.ID)
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1, H2: an original account has no choice to make", op: "Choose(original, DeleteOriginal)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return chooseCall(e, ann.Claim.Original, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1: MigrateContent is not a choice after an immediate claim", op: "Choose(ann, MigrateContent)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.MigrateContent})
			}, want: claim.ErrChoiceNotAllowed},
		{reason: "N5, C1: Action 0 (none) is bad input", op: "Choose(ann, Action 0)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return chooseCall(e, ann.ID, claim.Choice{})
			}, want: claim.ErrInvalidValue, field: "Choice.Action"},
		{reason: "N3, C1: Action 99 is bad input", op: "Choose(ann, Action 99)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return chooseCall(e, ann.ID, claim.Choice{Action: 99})
			}, want: claim.ErrInvalidValue, field: "Choice.Action"},
		{reason: "N3, C1: a NewEmail with DeleteOriginal is bad input", op: "Choose(ann, DeleteOriginal + NewEmail)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.DeleteOriginal, NewEmail: "ann.old@example.com"})
			}, want: claim.ErrInvalidValue, field: "Choice.NewEmail"},
		{reason: "N3, C1: a NewEmail with MigrateContent is bad input", op: "Choose(ivy, MigrateContent + NewEmail)",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := delayedFixture(t, e)
				mustSignIn(t, e, ivy.ID)
				return chooseCall(e, ivy.ID, claim.Choice{Action: claim.MigrateContent, NewEmail: "ivy.old@example.com"})
			}, want: claim.ErrInvalidValue, field: "Choice.NewEmail"},
		{reason: "C2: ChangeEmail to an address another account has", op: "Choose(ann, ChangeEmail NORA@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "NORA@example.com"})
			}, want: claim.ErrEmailTaken},
		{reason: "C2: ChangeEmail to the claimed user's own address", op: "Choose(ann, ChangeEmail ann@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "Ann@Example.com"})
			}, want: claim.ErrEmailTaken},
		{reason: "C2: ChangeEmail to a domain a third org has claimed", op: "Choose(ann, ChangeEmail ann@other.com)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				e.mustVerify(t, "c", "other.com")
				mustClaimDomain(t, e, "c", "other.com")
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann@other.com"})
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "C2: ChangeEmail to a domain the claiming org has claimed", op: "Choose(ann, ChangeEmail ann.old@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				return chooseCall(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
			}, want: claim.ErrDomainClaimedByOther},
	})
}

// --- Section 8: DaysLeft (X4) ---

func TestRefuseDaysLeft(t *testing.T) {
	daysLeft := func(id func(t *testing.T, e *env) claim.UserID) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			u := id(t, e)
			return func() error {
				n, err := e.svc.DaysLeft(e.ctx, u)
				if err == nil {
					return fmt.Errorf("DaysLeft = %d, nil", n)
				}
				return err
			}
		}
	}
	runRefusals(t, []refusalCase{
		{reason: "X4: DaysLeft of a never-claimed user", op: "DaysLeft(nora)",
			setup: daysLeft(func(t *testing.T, e *env) claim.UserID { return baseFixture(t, e).nora.ID }),
			want:  claim.ErrNoPendingClaim},
		{reason: "X4, R9: DaysLeft of a retracted user", op: "DaysLeft(ann) after Retract",
			setup: daysLeft(func(t *testing.T, e *env) claim.UserID {
				_, ann := claimedFixture(t, e)
				mustRetract(t, e, "b", ann.ID)
				return ann.ID
			}), want: claim.ErrNoPendingClaim},
		{reason: "X4: DaysLeft of an original account", op: "DaysLeft(original)",
			setup: daysLeft(func(t *testing.T, e *env) claim.UserID {
				_, ann := claimedFixture(t, e)
				return ann.Claim.Original
			}), want: claim.ErrNoPendingClaim},
		{reason: "X4: DaysLeft of an original account whose user was claimed before (it carries that ended record)", op: "DaysLeft(original of a re-claimed user)",
			setup: daysLeft(func(t *testing.T, e *env) claim.UserID {
				f := baseFixture(t, e)
				e.mustVerify(t, "c", "example.com")
				e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
				mustSignIn(t, e, f.ann.ID)
				mustChoose(t, e, f.ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.ann.ID)
				return e.mustGet(t, f.ann.ID).Claim.Original
			}), want: claim.ErrNoPendingClaim},
	})
}

// --- X3: a failed write persists no expiry ---

func TestRefuseExpiryNotWrittenOnFailure(t *testing.T) {
	rows := []struct {
		reason, op string
		call       func(e *env, ivy claim.User) error
		want       error
	}{
		{"X3, R3: Retract by the claimant past the deadline", "Retract(b, ivy)",
			func(e *env, ivy claim.User) error { return e.svc.Retract(e.ctx, "b", ivy.ID) }, claim.ErrRetractWindowClosed},
		{"X3, R1: Retract by another org", "Retract(c, ivy)",
			func(e *env, ivy claim.User) error { return e.svc.Retract(e.ctx, "c", ivy.ID) }, claim.ErrNotClaimant},
		{"X3, N3: Deactivate by the wrong org", "Deactivate(c, ivy)",
			func(e *env, ivy claim.User) error {
				_, err := e.svc.Deactivate(e.ctx, "c", ivy.ID)
				return err
			}, claim.ErrNotFound},
		{"X3, N3: DeleteUser by the source org", "DeleteUser(i, ivy)",
			func(e *env, ivy claim.User) error { return e.svc.DeleteUser(e.ctx, "i", ivy.ID) }, claim.ErrNotFound},
		{"X3, C1: Choose after the deadline", "Choose(ivy, DeleteOriginal)",
			func(e *env, ivy claim.User) error {
				_, err := e.svc.Choose(e.ctx, ivy.ID, claim.Choice{Action: claim.DeleteOriginal})
				return err
			}, claim.ErrNoPendingClaim},
		{"X3, U1: AddUser of the expired user's address", "AddUser(c, ivy@example.com)",
			func(e *env, ivy claim.User) error {
				_, err := e.svc.AddUser(e.ctx, "c", claim.NewUser{Email: ivy.Email})
				return err
			}, claim.ErrEmailTaken},
		{"X3, H2: DeleteUser of the original by its org", "DeleteUser(i, original)",
			func(e *env, ivy claim.User) error { return e.svc.DeleteUser(e.ctx, "i", ivy.Claim.Original) }, claim.ErrNotFound},
		{"X3, E2: a refused claim of the expired user (per-user refusal, call commits)", "ClaimUsers(c, ivy)",
			func(e *env, ivy claim.User) error { return claimSingle(e, "c", string(ivy.ID), false) }, claim.ErrNotEligible},
	}
	for _, r := range rows {
		t.Run(r.reason, func(t *testing.T) {
			e := newEnv(t)
			_, ivy := delayedFixture(t, e)
			e.clock.Advance(window) // the deadline: expired, nothing persisted yet
			before, rest := e.snapshot(t, refusalOrgs...), orgRecordsOf(t, e)

			if err := r.call(e, ivy); !errors.Is(err, r.want) {
				t.Errorf("%s = %v, want %v", r.op, err, r.want)
			}

			e.unchanged(t, before, refusalOrgs...)
			if diff := cmp.Diff(rest, orgRecordsOf(t, e), claimtest.CmpOptions()); diff != "" {
				t.Errorf("orgs or domains changed (-before +after):\n%s", diff)
			}
			if n := countEvents(t, e, claim.EventClaimExpired); n != 0 {
				t.Errorf("claim.expired events after a failed %s = %d, want 0", r.op, n)
			}
			// Reads show the resolved view all the same.
			u := e.mustGet(t, ivy.ID)
			if u.Claim != nil || u.State != claim.Active || u.Content != 3 || u.Org != "b" {
				t.Errorf("User(ivy) = state %v, content %d, org %s, claim %+v; want the expired view: Active, 3, b, no claim",
					u.State, u.Content, u.Org, u.Claim)
			}
			if _, err := e.svc.User(e.ctx, ivy.Claim.Original); !errors.Is(err, claim.ErrNotFound) {
				t.Errorf("User(original) = %v, want %v (expired: gone)", err, claim.ErrNotFound)
			}
			rep, err := e.svc.Sweep(e.ctx)
			if err != nil || rep.Expired != 1 {
				t.Errorf("Sweep() = %+v, %v; want Expired 1", rep, err)
			}
			if n := countEvents(t, e, claim.EventClaimExpired); n != 1 {
				t.Errorf("claim.expired events after Sweep = %d, want 1", n)
			}
			if diff := cmp.Diff(u, e.mustGet(t, ivy.ID), claimtest.CmpOptions()); diff != "" {
				t.Errorf("User(ivy) after Sweep differs from the resolved view (-view +swept):\n%s", diff)
			}
			rep, err = e.svc.Sweep(e.ctx)
			if err != nil || rep.Expired != 0 {
				t.Errorf("second Sweep() = %+v, %v; want Expired 0", rep, err)
			}
		})
	}
}

// --- Positive boundaries (mutation testing) ---

func TestRefuseDaysLeftBoundaries(t *testing.T) {
	const day = 24 * time.Hour
	rows := []struct {
		at        time.Duration
		immediate int
		delayed   int
	}{
		{0, 14, 14},
		{1, 14, 14},
		{day - 1, 14, 14},
		{day, 13, 13},
		{13*day - 1, 2, 2},
		{13 * day, 1, 1},
		{13*day + 1, 1, 1},
		{window - 1, 1, 1},
		{window, 0, 0}, // immediate: pending, window passed; delayed: expired
		{window + 1, 0, 0},
		{30 * day, 0, 0},
	}
	for _, mode := range []string{"immediate", "delayed"} {
		e := newEnv(t)
		var u claim.User
		if mode == "immediate" {
			_, u = claimedFixture(t, e)
		} else {
			_, u = delayedFixture(t, e)
		}
		for _, r := range rows {
			e.clock.Set(t0.Add(r.at))
			want := r.immediate
			if mode == "delayed" {
				want = r.delayed
			}
			got, err := e.svc.DaysLeft(e.ctx, u.ID)
			if err != nil || got != want {
				t.Errorf("X4: DaysLeft(%s) at claim+%v = %d, %v; want %d", mode, r.at, got, err, want)
			}
		}
	}
	t.Run("X4: a chosen claim has 0 days left", func(t *testing.T) {
		e := newEnv(t)
		_, ann := claimedFixture(t, e)
		mustSignIn(t, e, ann.ID)
		mustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
		if got, err := e.svc.DaysLeft(e.ctx, ann.ID); err != nil || got != 0 {
			t.Errorf("DaysLeft(chosen) = %d, %v; want 0, nil", got, err)
		}
	})
}

func TestRefuseDelayedCutoffBoundary(t *testing.T) {
	rows := []struct {
		reason  string
		created time.Time
		want    claim.Mode
	}{
		{"M2: an Individual org created the last nanosecond of 5 May 2020 is delayed-eligible",
			time.Date(2020, 5, 5, 23, 59, 59, 999999999, time.UTC), claim.Delayed},
		{"M2: one created at exactly 2020-05-06T00:00:00Z is not",
			time.Date(2020, 5, 6, 0, 0, 0, 0, time.UTC), claim.Immediate},
		{"M2: the cutoff is an instant: 2020-05-06T01:00:00+02:00 is before it",
			time.Date(2020, 5, 6, 1, 0, 0, 0, time.FixedZone("CEST", 2*60*60)), claim.Delayed},
	}
	for _, r := range rows {
		t.Run(r.reason, func(t *testing.T) {
			e := newEnv(t)
			baseFixture(t, e)
			mustSettings(t, e, "b", claim.Settings{AllowContentMigration: true})
			e.mustOrg(t, "i", claim.Individual, r.created, claim.Settings{})
			u := e.mustActive(t, "i", "ivy@example.com", 3)
			var cand *claim.Candidate
			for c, err := range e.svc.Claimable(e.ctx, "b") {
				if err != nil {
					t.Fatalf("Claimable() = %v", err)
				}
				if c.User.ID == u.ID {
					cand = &c
				}
			}
			if cand == nil || cand.Mode != r.want || cand.ContentLoss != (r.want == claim.Immediate) {
				t.Errorf("Claimable(b) candidate for ivy = %+v, want Mode %v, ContentLoss %v", cand, r.want, r.want == claim.Immediate)
			}
			res := e.mustClaim(t, "b", claim.ClaimOptions{}, u.ID)
			if res[0].Mode != r.want {
				t.Errorf("ClaimUsers() mode = %v, want %v", res[0].Mode, r.want)
			}
		})
	}
}

// TestDelayedClaimOfInactiveUser: a delayed claim puts an Inactive user
// in Delayed Claim (K6); it may sign in during the claim (I1) and ends
// Active at expiry (X1). Not signed in, it ends Inactive again, its
// inactivity clock going on from before the claim (X1, U5).
func TestDelayedClaimOfInactiveUser(t *testing.T) {
	for _, signIn := range []bool{true, false} {
		t.Run(fmt.Sprintf("signIn=%v", signIn), func(t *testing.T) {
			e := newEnv(t)
			e.mustOrg(t, "b", claim.Enterprise, t0, claim.Settings{AllowContentMigration: true})
			e.mustVerify(t, "b", "example.com")
			e.mustOrg(t, "i", claim.Individual, oldOrgDate, claim.Settings{})
			ivy := e.mustActive(t, "i", "ivy@example.com", 3)
			before, err := e.svc.Deactivate(e.ctx, "i", ivy.ID)
			if err != nil {
				t.Fatalf("Deactivate() = %v", err)
			}
			e.clock.Advance(time.Hour)
			if r := e.mustClaim(t, "b", claim.ClaimOptions{}, ivy.ID); r[0].Mode != claim.Delayed {
				t.Fatalf("ClaimUsers() mode = %v, want Delayed", r[0].Mode)
			}
			if got := e.mustGet(t, ivy.ID); got.State != claim.DelayedClaim || !got.InactiveSince.IsZero() {
				t.Fatalf("after claim: State %v, InactiveSince %v; want Delayed Claim, zero", got.State, got.InactiveSince)
			}
			want := claim.Inactive
			if signIn {
				u, err := e.svc.SignIn(e.ctx, ivy.ID)
				if err != nil || u.State != claim.DelayedClaim || !u.Claim.SignedIn {
					t.Fatalf("SignIn() = %v, %v; want Delayed Claim, signed in", u.State, err)
				}
				want = claim.Active
			}
			e.clock.Advance(window)
			got := e.mustGet(t, ivy.ID)
			if got.State != want || got.Content != 3 || got.Claim != nil {
				t.Errorf("after expiry: State %v, Content %d, Claim %v; want %v, 3, nil", got.State, got.Content, got.Claim, want)
			}
			if want == claim.Inactive && !got.InactiveSince.Equal(before.InactiveSince) {
				t.Errorf("after expiry: InactiveSince = %v, want %v (from before the claim)", got.InactiveSince, before.InactiveSince)
			}
		})
	}
}

// unknownIDs returns n distinct user IDs that do not exist.
func unknownIDs(n int) []claim.UserID {
	ids := make([]claim.UserID, n)
	for i := range ids {
		ids[i] = claim.UserID(fmt.Sprintf("usr_nobody%03d", i))
	}
	return ids
}

// unknownAddrs returns n distinct addresses of no account.
func unknownAddrs(n int) []string {
	as := make([]string, n)
	for i := range as {
		as[i] = fmt.Sprintf("nobody%02d@example.com", i)
	}
	return as
}

func containsReason(rs []claim.Reason, r claim.Reason) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// chooseCall returns the call Choose(id, ch).
func chooseCall(e *env, id claim.UserID, ch claim.Choice) func() error {
	return func() error {
		_, err := e.svc.Choose(e.ctx, id, ch)
		return err
	}
}

// TestRaceChooseChoose: two different choices race. Exactly one wins;
// the other gets ErrNoPendingClaim (C1), and the outcome is the winner's.
func TestRaceChooseChoose(t *testing.T) {
	won := map[claim.Action]int{}
	for i := range raceRuns {
		var r *raceWorld
		var actions [2]claim.Action
		if i%2 == 0 {
			r = signedInDelayed(t)
			actions = [2]claim.Action{claim.MigrateContent, claim.DeleteOriginal}
		} else {
			r = newRace(t, claim.Immediate, claim.Verified, true)
			if _, err := r.e.svc.SignIn(r.e.ctx, r.u.ID); err != nil {
				t.Fatalf("SignIn() = %v", err)
			}
			actions = [2]claim.Action{claim.ChangeEmail, claim.DeleteOriginal}
		}
		e := r.e
		var errs [2]error
		var fns []func()
		for k, a := range actions {
			ch := claim.Choice{Action: a}
			if a == claim.ChangeEmail {
				ch.NewEmail = "kept@elsewhere.example"
			}
			fns = append(fns, func() { _, errs[k] = e.svc.Choose(e.ctx, r.u.ID, ch) })
		}
		runTogether(fns...)
		var winner claim.Action
		switch {
		case errs[0] == nil && errors.Is(errs[1], claim.ErrNoPendingClaim):
			winner = actions[0]
		case errs[1] == nil && errors.Is(errs[0], claim.ErrNoPendingClaim):
			winner = actions[1]
		default:
			t.Fatalf("Choose(%v) = %v, Choose(%v) = %v; want one nil and one ErrNoPendingClaim", actions[0], errs[0], actions[1], errs[1])
		}
		won[winner]++
		if resolved, _ := countUserEvents(t, e, claim.EventClaimResolved, r.u.ID); resolved != 1 {
			t.Fatalf("%d claim.resolved events, want 1", resolved)
		}
		got := e.mustGet(t, r.u.ID)
		_, deleted := countUserEvents(t, e, claim.EventContentDeleted, r.orig)
		kept, keptErr := e.svc.UserByEmail(e.ctx, "kept@elsewhere.example")
		switch winner {
		case claim.MigrateContent:
			if got.Content != r.u.Content || deleted != 0 {
				t.Fatalf("MigrateContent won: user content %d, %d deleted; want %d, 0", got.Content, deleted, r.u.Content)
			}
		case claim.DeleteOriginal:
			if got.Content != 0 || deleted != r.u.Content {
				t.Fatalf("DeleteOriginal won: user content %d, %d deleted; want 0, %d", got.Content, deleted, r.u.Content)
			}
		case claim.ChangeEmail:
			if keptErr != nil || kept.ID != r.orig || kept.Content != r.u.Content || kept.HeldBy != "" || deleted != 0 {
				t.Fatalf("ChangeEmail won: original %+v, %v; %d deleted", kept, keptErr, deleted)
			}
		}
		if winner != claim.ChangeEmail && !errors.Is(keptErr, claim.ErrNotFound) {
			t.Fatalf("%v won, but the ChangeEmail address exists: %v", winner, keptErr)
		}
		if _, err := e.svc.UserByEmail(e.ctx, r.u.Email+claim.OriginalSuffix); !errors.Is(err, claim.ErrNotFound) {
			t.Fatalf("after the choice UserByEmail(original address) = %v, want ErrNotFound", err)
		}
	}
	t.Logf("winners: %v", won)
}

// TestRaceChooseSweep: a signed-in user's choice races the sweep. With
// the clock exactly at the deadline the claim has expired (X3): Choose
// fails with ErrNoPendingClaim whichever runs first, and the sweep
// resolves the claim exactly once (a failed Choose writes nothing, not
// even the expiry it noticed). A nanosecond before the deadline the
// choice wins whichever runs first, and the sweep has nothing to do.
func TestRaceChooseSweep(t *testing.T) {
	for i := range raceRuns {
		atDeadline := i%2 == 0
		r := signedInDelayed(t)
		e := r.e
		u := e.mustGet(t, r.u.ID)
		if atDeadline {
			e.clock.Set(u.Claim.Deadline)
		} else {
			e.clock.Set(u.Claim.Deadline.Add(-1))
		}
		action := []claim.Action{claim.MigrateContent, claim.DeleteOriginal}[i/2%2]
		var chooseErr, sweepErr error
		var rep claim.SweepReport
		runTogether(
			func() { _, chooseErr = e.svc.Choose(e.ctx, u.ID, claim.Choice{Action: action}) },
			func() { rep, sweepErr = e.svc.Sweep(e.ctx) },
		)
		if sweepErr != nil {
			t.Fatalf("Sweep() = %v", sweepErr)
		}
		expired, _ := countUserEvents(t, e, claim.EventClaimExpired, u.ID)
		resolved, _ := countUserEvents(t, e, claim.EventClaimResolved, u.ID)
		_, moved := countUserEvents(t, e, claim.EventContentMigrated, u.ID)
		got := e.mustGet(t, u.ID)
		if atDeadline {
			if !errors.Is(chooseErr, claim.ErrNoPendingClaim) {
				t.Fatalf("Choose(%v) at the deadline = %v, want ErrNoPendingClaim", action, chooseErr)
			}
			if rep.Expired != 1 || expired != 1 || resolved != 0 || moved != r.u.Content {
				t.Fatalf("at the deadline: sweep expired %d, events: %d claim.expired, %d claim.resolved, %d content migrated; want 1, 1, 0, %d",
					rep.Expired, expired, resolved, moved, r.u.Content)
			}
			if got.Claim != nil || got.Content != r.u.Content {
				t.Fatalf("after expiry the user is %+v, want no claim and content %d", got, r.u.Content)
			}
			continue
		}
		if chooseErr != nil {
			t.Fatalf("Choose(%v) a nanosecond before the deadline = %v, want nil", action, chooseErr)
		}
		if rep.Expired != 0 || expired != 0 || resolved != 1 {
			t.Fatalf("before the deadline: sweep expired %d, events: %d claim.expired, %d claim.resolved; want 0, 0, 1", rep.Expired, expired, resolved)
		}
		want := 0
		if action == claim.MigrateContent {
			want = r.u.Content
		}
		if got.Claim != nil || got.Content != want {
			t.Fatalf("after Choose(%v) the user is %+v, want no claim and content %d", action, got, want)
		}
	}
}

// TestRaceClaimClaim: two orgs claim the same user at once. Exactly one
// claims it; the other's result is a *RefusalError with pending_claim as
// its only reason (E6); there is one original, held by the winner.
func TestRaceClaimClaim(t *testing.T) {
	won := map[claim.OrgID]int{}
	for i := range raceRuns {
		mode := []claim.Mode{claim.Immediate, claim.Delayed}[i%2]
		r := newRace(t, mode, claim.Verified, false)
		e := r.e
		res := map[claim.OrgID][]claim.Result{}
		var mu sync.Mutex
		claimBy := func(org claim.OrgID) func() {
			return func() {
				got, err := e.svc.ClaimUsers(e.ctx, org, []claim.UserID{r.u.ID},
					claim.ClaimOptions{Acknowledge: true, ImmediateOnly: mode == claim.Immediate})
				if err != nil {
					t.Errorf("ClaimUsers(%s) = %v", org, err)
				}
				mu.Lock()
				res[org] = got
				mu.Unlock()
			}
		}
		runTogether(claimBy("b"), claimBy("c"))
		if len(res["b"]) != 1 || len(res["c"]) != 1 {
			t.Fatalf("results: %+v", res)
		}
		var winner, loser claim.OrgID = "b", "c"
		if res["b"][0].Err != nil {
			winner, loser = "c", "b"
		}
		won[winner]++
		if err := res[winner][0].Err; err != nil {
			t.Fatalf("neither claim succeeded: b: %v, c: %v", res["b"][0].Err, err)
		}
		if res[winner][0].Mode != mode {
			t.Fatalf("winner's mode = %v, want %v", res[winner][0].Mode, mode)
		}
		var re *claim.RefusalError
		if err := res[loser][0].Err; !errors.As(err, &re) || !slices.Equal(re.Reasons, []claim.Reason{claim.ReasonPendingClaim}) {
			t.Fatalf("loser %s got %v, want a RefusalError with pending_claim alone", loser, err)
		}
		got := e.mustGet(t, r.u.ID)
		if got.Org != winner || got.Claim == nil || got.Claim.By != winner {
			t.Fatalf("user after the race: %+v, want claimed by %s", got, winner)
		}
		o, err := e.svc.UserByEmail(e.ctx, r.u.Email+claim.OriginalSuffix)
		if err != nil || o.ID != got.Claim.Original || o.HeldBy != winner || o.Org != "a" || o.Content != r.u.Content {
			t.Fatalf("original after the race: %+v, %v", o, err)
		}
		n := 0
		for range e.svc.Users(e.ctx, "a") {
			n++
		}
		if n != 1 {
			t.Fatalf("org a has %d accounts, want the one original", n)
		}
	}
	t.Logf("winners: %v", won)
}

// countUserEvents counts the events of the type about the user.
func countUserEvents(t *testing.T, e *env, typ string, id claim.UserID) (n, content int) {
	t.Helper()
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		if ev.Type == typ && ev.User == id {
			n++
			content += ev.Content
		}
	}
	return n, content
}

// signedInDelayed claims a user with a delayed claim and signs it in.
func signedInDelayed(t *testing.T) *raceWorld {
	t.Helper()
	r := newRace(t, claim.Delayed, claim.Verified, true)
	if _, err := r.e.svc.SignIn(r.e.ctx, r.u.ID); err != nil {
		t.Fatalf("SignIn() = %v", err)
	}
	return r
}

// BenchmarkClaimRetract claims one user and retracts the claim: its cost
// does not grow with the number of users in the store.
func BenchmarkClaimRetract(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			e, ids := benchWorld(b, n)
			opts := claim.ClaimOptions{Acknowledge: true}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				id := ids[i%len(ids)]
				res, err := e.svc.ClaimUsers(e.ctx, "acme", []claim.UserID{id}, opts)
				if err != nil || res[0].Err != nil {
					b.Fatalf("ClaimUsers() = %v, %v", res, err)
				}
				if err := e.svc.Retract(e.ctx, "acme", id); err != nil {
					b.Fatalf("Retract() = %v", err)
				}
			}
		})
	}
}

// BenchmarkClaimable lists an org's 10 claimable users: the cost follows
// the users on its verified domains, not the store's size.
func BenchmarkClaimable(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			e, _ := benchWorld(b, n)
			b.ReportAllocs()
			for b.Loop() {
				k := 0
				for _, err := range e.svc.Claimable(e.ctx, "acme") {
					if err != nil {
						b.Fatal(err)
					}
					k++
				}
				if k != 10 {
					b.Fatalf("Claimable() gave %d candidates, want 10", k)
				}
			}
		})
	}
}

// benchWorld fills a memory store with n users in 100-user orgs on
// domains nobody but the bench org verifies, plus 10 claimable users on
// target.example.
func benchWorld(b *testing.B, n int) (*env, []claim.UserID) {
	b.Helper()
	e := newEnv(b)
	e.mustOrg(b, "acme", claim.Enterprise, t0, claim.Settings{AllowContentMigration: true})
	e.mustVerify(b, "acme", "target.example")
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			e.mustOrg(b, claim.OrgID(fmt.Sprintf("o%d", i/100)), claim.Individual, oldOrgDate, claim.Settings{})
		}
		e.mustUser(b, claim.OrgID(fmt.Sprintf("o%d", i/100)), fmt.Sprintf("u%d@d%d.example", i, i/100), 1)
	}
	e.mustOrg(b, "src", claim.Individual, oldOrgDate, claim.Settings{})
	var ids []claim.UserID
	for i := 0; i < 10; i++ {
		ids = append(ids, e.mustUser(b, "src", fmt.Sprintf("t%d@target.example", i), 5).ID)
	}
	return e, ids
}

// TestClaimDryRunProperty (L1): for drawn worlds (populate: users of
// several orgs in every state, some with an earlier claim) and drawn
// lists of inputs — the world's users, originals, unknown and malformed
// IDs or addresses, repeats — ClaimUsers and ClaimEmails with DryRun
// return exactly what the real call then returns, results and error, and
// the dry run leaves the store as it was (every record compared).
func TestClaimDryRunProperty(t *testing.T) {
	rapidCheck(t, func(rt *rapid.T, tb testing.TB) { dryRunProperty(rt, tb, claim.NewMemoryStore()) })
}

// TestClaimDryRunPropertyPostgres is TestClaimDryRunProperty on the
// PostgreSQL store (see TestStateMachinePostgres for the environment).
func TestClaimDryRunPropertyPostgres(t *testing.T) {
	rapidCheckPostgres(t, 20, dryRunProperty)
}

func dryRunProperty(t *rapid.T, tb testing.TB, store claim.Store) {
	p := populateOn(t, tb, store, "b")
	e := p.e
	byEmail := rapid.Bool().Draw(t, "ClaimEmails")
	var pool []string
	for _, u := range p.users {
		if byEmail {
			pool = append(pool, u.Email, u.Email+claim.OriginalSuffix, "Some One <"+u.Email+">")
		} else {
			pool = append(pool, string(u.ID))
		}
	}
	for u, err := range e.svc.Users(e.ctx, "p0") { // originals held by p0's claims, and p0's own
		if err != nil {
			t.Fatalf("Users(p0) = %v", err)
		}
		pool = append(pool, map[bool]string{true: u.Email, false: string(u.ID)}[byEmail])
	}
	pool = append(pool, "nobody@d.example", "usr_unknown", "", "not an address", "bad\x00id")
	inputs := rapid.SliceOfN(rapid.SampledFrom(pool), 0, 12).Draw(t, "inputs")
	opts := claim.ClaimOptions{
		Acknowledge:   rapid.IntRange(0, 9).Draw(t, "acknowledge") > 0,
		ImmediateOnly: rapid.Bool().Draw(t, "ImmediateOnly"),
		Licenses:      rapid.SliceOfN(rapid.SampledFrom(append(drawnLicenses, " ")), 0, 2).Draw(t, "licenses"),
	}
	call := func(o claim.ClaimOptions) ([]claim.Result, error) {
		if byEmail {
			return e.svc.ClaimEmails(e.ctx, "b", inputs, o)
		}
		ids := make([]claim.UserID, len(inputs))
		for i, in := range inputs {
			ids[i] = claim.UserID(in)
		}
		return e.svc.ClaimUsers(e.ctx, "b", ids, o)
	}
	orgs := append(p.orgs, "a1", "a2")
	before := dumpStore(tb, store, orgs...)
	dryOpts := opts
	dryOpts.DryRun = true
	dry, dryErr := call(dryOpts)
	if diff := cmp.Diff(before, dumpStore(tb, store, orgs...), claimtest.CmpOptions()); diff != "" {
		t.Fatalf("the dry run changed the store (-before +after):\n%s", diff)
	}
	real, realErr := call(opts)
	if fmt.Sprint(dryErr) != fmt.Sprint(realErr) {
		t.Fatalf("dry run's error %v, the real call's %v", dryErr, realErr)
	}
	if byEmail { // the one thing a dry run cannot know: the ID of an original the call makes
		for i := range real {
			var re *claim.RefusalError
			pending := []claim.Reason{claim.ReasonPendingClaim}
			if dry[i].User == "" && errors.As(real[i].Err, &re) && re.Email == real[i].Input && cmp.Equal(re.Reasons, pending) {
				real[i].User = ""
			}
		}
	}
	if diff := cmp.Diff(viewResults(dry), viewResults(real)); diff != "" {
		t.Fatalf("inputs %q, %+v: results differ (-dry +real):\n%s", inputs, opts, diff)
	}
}

// TestClaimWriteFailureFailsTheCall: a store error on any write of a
// claim fails the whole call and leaves nothing — even an error that wraps
// a sentinel a refusal would carry (K5, O2). A claim writes the user, the
// original and two events: four writes.
func TestClaimWriteFailureFailsTheCall(t *testing.T) {
	for _, sentinel := range []error{claim.ErrDuplicate, claim.ErrNotFound, claim.ErrInvalidValue, errors.New("connection reset")} {
		for at := 1; at <= 4; at++ {
			t.Run(fmt.Sprintf("%v/write%d", sentinel, at), func(t *testing.T) {
				fs := &faultStore{Store: claim.NewMemoryStore()}
				e := newEnvOn(t, fs)
				e.mustOrg(t, "b", claim.Enterprise, t0, claim.Settings{})
				e.mustVerify(t, "b", "example.com")
				e.mustOrg(t, "a", claim.Individual, oldOrgDate, claim.Settings{})
				ann := e.mustActive(t, "a", "ann@example.com", 5)
				before := e.snapshot(t, "a", "b")

				fs.failAt, fs.err = at, fmt.Errorf("injected: %w", sentinel)
				res, err := e.svc.ClaimUsers(e.ctx, "b", []claim.UserID{ann.ID}, claim.ClaimOptions{Acknowledge: true})
				fs.failAt = 0
				if !errors.Is(err, sentinel) || res != nil {
					t.Fatalf("ClaimUsers() = %v, %v; want nil, the injected error", res, err)
				}
				e.unchanged(t, before, "a", "b")
			})
		}
	}
}

// TestPurgeClaims: a held original is never purged (H2); purging a
// claimed user whose immediate claim is still pending releases its
// original with its address and content (P2).
func TestPurgeClaims(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "b", claim.Enterprise, t0, claim.Settings{})
	e.mustVerify(t, "b", "example.com")
	e.mustOrg(t, "a", claim.Enterprise, t0, claim.Settings{})
	ann := e.mustActive(t, "a", "ann@example.com", 5)
	if _, err := e.svc.Deactivate(e.ctx, "a", ann.ID); err != nil {
		t.Fatalf("Deactivate() = %v", err)
	}
	e.mustClaim(t, "b", claim.ClaimOptions{}, ann.ID) // immediate: stays Inactive, original Inactive and held
	orig, err := e.svc.UserByEmail(e.ctx, "ann@example.com"+claim.OriginalSuffix)
	if err != nil || orig.State != claim.Inactive {
		t.Fatalf("original = %+v, %v; want an Inactive original", orig, err)
	}

	e.clock.Set(t0.Add(3 * purgeAfter))
	rep, err := e.svc.Sweep(e.ctx)
	if err != nil || rep != (claim.SweepReport{Purged: 1}) {
		t.Fatalf("Sweep() = %+v, %v; want Purged 1 (the claimed user, not its held original)", rep, err)
	}
	got, err := e.svc.User(e.ctx, orig.ID)
	if err != nil {
		t.Fatalf("User(original) after the purge = %v; want it released (P2)", err)
	}
	if got.Email != "ann@example.com" || got.HeldBy != "" || got.Org != "a" || got.Content != 5 || got.State != claim.Inactive {
		t.Errorf("released original = %+v; want ann@example.com in a, not held, 5 items, Inactive", got)
	}
}

// TestPurgeTiming: a user Inactive for 30 days minus a second is kept; at
// exactly 30 days the sweep purges it with its content (Y4, C5); a
// reactivated user's clock starts again.
func TestPurgeTiming(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "a", claim.Enterprise, t0, claim.Settings{})
	ann := e.mustActive(t, "a", "ann@example.com", 7)
	bob := e.mustActive(t, "a", "bob@example.com", 0)
	for _, id := range []claim.UserID{ann.ID, bob.ID} {
		if _, err := e.svc.Deactivate(e.ctx, "a", id); err != nil {
			t.Fatalf("Deactivate() = %v", err)
		}
	}
	// Bob comes back after 10 days and leaves again: his clock restarts.
	e.clock.Advance(10 * 24 * time.Hour)
	if _, err := e.svc.Reactivate(e.ctx, "a", bob.ID); err != nil {
		t.Fatalf("Reactivate() = %v", err)
	}
	if _, err := e.svc.Deactivate(e.ctx, "a", bob.ID); err != nil {
		t.Fatalf("Deactivate() = %v", err)
	}

	e.clock.Set(t0.Add(purgeAfter - time.Second))
	rep, err := e.svc.Sweep(e.ctx)
	if err != nil || rep != (claim.SweepReport{}) {
		t.Fatalf("Sweep() at 30d-1s = %+v, %v; want nothing done", rep, err)
	}
	if _, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "ann@example.com"}); !errors.Is(err, claim.ErrEmailTaken) {
		t.Errorf("AddUser(ann) before the purge = %v, want %v: the address stays taken (Y4)", err, claim.ErrEmailTaken)
	}

	e.clock.Set(t0.Add(purgeAfter))
	seq := e.lastSeq(t)
	rep, err = e.svc.Sweep(e.ctx)
	if err != nil || rep != (claim.SweepReport{Purged: 1}) {
		t.Fatalf("Sweep() at 30d = %+v, %v; want Purged 1", rep, err)
	}
	if _, err := e.svc.User(e.ctx, ann.ID); !errors.Is(err, claim.ErrNotFound) {
		t.Errorf("User(ann) after the purge = %v, want %v", err, claim.ErrNotFound)
	}
	if got := e.mustGet(t, bob.ID); got.State != claim.Inactive {
		t.Errorf("bob = %v, want Inactive (his clock restarted on reactivation)", got.State)
	}
	var types []string
	for ev, err := range e.svc.Events(e.ctx, seq) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
		if ev.Type == claim.EventContentDeleted && (ev.Content != 7 || ev.User != ann.ID) {
			t.Errorf("content.deleted = %+v, want 7 items of ann", ev)
		}
	}
	if want := []string{claim.EventUserPurged, claim.EventContentDeleted}; !equalStrings(types, want) {
		t.Errorf("events of the purge = %v, want %v", types, want)
	}

	e.clock.Set(t0.Add(10*24*time.Hour + purgeAfter - time.Second))
	if rep, err := e.svc.Sweep(e.ctx); err != nil || rep != (claim.SweepReport{}) {
		t.Errorf("Sweep() at bob's 30 days minus a second = %+v, %v; want nothing done", rep, err)
	}
	e.clock.Set(t0.Add(10*24*time.Hour + purgeAfter))
	if rep, err := e.svc.Sweep(e.ctx); err != nil || rep.Purged != 1 {
		t.Errorf("Sweep() at bob's 30 days = %+v, %v; want Purged 1", rep, err)
	}
	if rep, err := e.svc.Sweep(e.ctx); err != nil || rep != (claim.SweepReport{}) {
		t.Errorf("second Sweep() = %+v, %v; want nothing (idempotent)", rep, err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
