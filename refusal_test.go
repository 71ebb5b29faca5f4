package claim_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Refusals (must-show item 4): every refusal of the rules in docs/rules.md — and
// the input rules of section 2, G1 and the Policy — is checked with
// errors.Is against its sentinel, and the world (users of every org, the
// whole event log, org records and domain records) is compared before and
// after: a refused operation changes nothing (N3, O2).

// rfOrgs are the orgs a refusal row may touch; snapshots cover all of them
// (an org that does not exist is recorded as absent).
var rfOrgs = []claim.OrgID{"a", "b", "c", "i", "zz"}

// rfFix is the common world of a row: org a (Enterprise, has not verified
// example.com) with ann (Active, 7 content items) and nora (Not
// Verified); org b (Enterprise) has verified example.com; org c
// (Enterprise) has verified nothing.
type rfFix struct {
	ann, nora claim.User
}

func rfBase(tb testing.TB, e *env) rfFix {
	tb.Helper()
	e.mustOrg(tb, "a", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustOrg(tb, "b", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustOrg(tb, "c", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustVerify(tb, "b", "example.com")
	return rfFix{
		ann:  e.mustActive(tb, "a", "ann@example.com", 7),
		nora: e.mustUser(tb, "a", "nora@example.com", 2),
	}
}

// rfClaimed is rfBase with ann claimed (immediately) by b.
func rfClaimed(tb testing.TB, e *env) (rfFix, claim.User) {
	tb.Helper()
	f := rfBase(tb, e)
	e.mustClaim(tb, "b", claim.ClaimOptions{}, f.ann.ID)
	u := e.mustGet(tb, f.ann.ID)
	if u.Claim == nil || u.Claim.Mode != claim.Immediate {
		tb.Fatalf("claim of %s = %+v, want a pending Immediate claim", u.Email, u.Claim)
	}
	return f, u
}

// rfDelayed is rfBase plus org i (Individual, created before the cutoff)
// with ivy (Active, 3 content items), claimed by b with a delayed claim
// (b allows content migration).
func rfDelayed(tb testing.TB, e *env) (rfFix, claim.User) {
	tb.Helper()
	f := rfBase(tb, e)
	e.mustOrg(tb, "i", claim.Individual, oldOrgDate, claim.Settings{})
	ivy := e.mustActive(tb, "i", "ivy@example.com", 3)
	rfMustSettings(tb, e, "b", claim.Settings{AllowContentMigration: true})
	res := e.mustClaim(tb, "b", claim.ClaimOptions{}, ivy.ID)
	if res[0].Mode != claim.Delayed {
		tb.Fatalf("ClaimUsers(b, ivy) mode = %v, want Delayed", res[0].Mode)
	}
	return f, e.mustGet(tb, ivy.ID)
}

func rfMustSettings(tb testing.TB, e *env, org claim.OrgID, st claim.Settings) {
	tb.Helper()
	if err := e.svc.UpdateSettings(e.ctx, org, st); err != nil {
		tb.Fatalf("UpdateSettings(%s) = %v", org, err)
	}
}

func rfMustSignIn(tb testing.TB, e *env, id claim.UserID) {
	tb.Helper()
	if _, err := e.svc.SignIn(e.ctx, id); err != nil {
		tb.Fatalf("SignIn(%s) = %v", id, err)
	}
}

func rfMustClaimDomain(tb testing.TB, e *env, org claim.OrgID, domain string) {
	tb.Helper()
	if err := e.svc.ClaimDomain(e.ctx, org, domain); err != nil {
		tb.Fatalf("ClaimDomain(%s, %s) = %v", org, domain, err)
	}
}

func rfMustChoose(tb testing.TB, e *env, id claim.UserID, ch claim.Choice) {
	tb.Helper()
	if _, err := e.svc.Choose(e.ctx, id, ch); err != nil {
		tb.Fatalf("Choose(%s, %+v) = %v", id, ch, err)
	}
}

func rfMustRetract(tb testing.TB, e *env, org claim.OrgID, id claim.UserID) {
	tb.Helper()
	if err := e.svc.Retract(e.ctx, org, id); err != nil {
		tb.Fatalf("Retract(%s, %s) = %v", org, id, err)
	}
}

func rfMustDeactivate(tb testing.TB, e *env, org claim.OrgID, id claim.UserID) {
	tb.Helper()
	if _, err := e.svc.Deactivate(e.ctx, org, id); err != nil {
		tb.Fatalf("Deactivate(%s, %s) = %v", org, id, err)
	}
}

// rfClaimOne claims one input into org with the acknowledgement and
// returns its Result.Err. A call-level error is reported as an error that
// wraps no sentinel, so a row wanting a per-user refusal fails on it.
func rfClaimOne(e *env, org claim.OrgID, input string, byEmail bool) error {
	var res []claim.Result
	var err error
	opts := claim.ClaimOptions{Acknowledge: true}
	if byEmail {
		res, err = e.svc.ClaimEmails(e.ctx, org, []string{input}, opts)
	} else {
		res, err = e.svc.ClaimUsers(e.ctx, org, []claim.UserID{claim.UserID(input)}, opts)
	}
	if err != nil {
		return fmt.Errorf("call-level error instead of a result: %v", err)
	}
	if len(res) != 1 {
		return fmt.Errorf("%d results, want 1", len(res))
	}
	return res[0].Err
}

// rfFirstErr returns the first error of an iterator (nil if none).
func rfFirstErr[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// rfIDs returns n distinct user IDs that do not exist.
func rfIDs(n int) []claim.UserID {
	ids := make([]claim.UserID, n)
	for i := range ids {
		ids[i] = claim.UserID(fmt.Sprintf("usr_nobody%03d", i))
	}
	return ids
}

// rfAddrs returns n distinct addresses of no account.
func rfAddrs(n int) []string {
	as := make([]string, n)
	for i := range as {
		as[i] = fmt.Sprintf("nobody%02d@example.com", i)
	}
	return as
}

// rfLongDomain is a valid 180-octet domain: labels of 63, 63, 48 and 3.
var rfLongDomain = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 48) + ".com"

// rfLongAddr returns an address of n octets on rfLongDomain (n between
// 183 and 245, so that the local part stays within 64).
func rfLongAddr(n int) string {
	return strings.Repeat("x", n-1-len(rfLongDomain)) + "@" + rfLongDomain
}

// rfDomainOf returns a valid-looking domain of exactly n octets whose
// labels are at most label octets long.
func rfDomainOf(n, label int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		l := min(label, n-b.Len())
		b.WriteString(strings.Repeat(string(rune('a'+b.Len()%26)), l))
	}
	s := b.String()
	if strings.HasSuffix(s, ".") || len(s) != n {
		panic(fmt.Sprintf("rfDomainOf(%d, %d) = %q", n, label, s))
	}
	return s
}

// rfRest is what a snapshot leaves out: org records and domain records.
type rfRest struct {
	Orgs    map[claim.OrgID]claim.Org
	Domains map[claim.OrgID][]claim.Domain
}

func rfRestOf(tb testing.TB, e *env) rfRest {
	tb.Helper()
	r := rfRest{Orgs: map[claim.OrgID]claim.Org{}, Domains: map[claim.OrgID][]claim.Domain{}}
	for _, id := range rfOrgs {
		if o, err := e.svc.Org(e.ctx, id); err == nil {
			r.Orgs[id] = o
		}
		if ds, err := e.svc.Domains(e.ctx, id); err == nil {
			r.Domains[id] = ds
		}
	}
	return r
}

// rfCase is one refusal: after setup, call must fail with want and change
// nothing.
type rfCase struct {
	reason string                                  // the rule ID and a sentence
	op     string                                  // the call, for messages: "SignIn(nora)"
	opts   []claim.Option                          // options of the Service, if any
	setup  func(t *testing.T, e *env) func() error // builds the world; returns the refused call
	want   error                                   // the sentinel

	field   string         // when set: the error is an *InputError naming this field
	also    []error        // sentinels the error must also match
	not     []error        // sentinels the error must not match
	retract []error        // when set: the error is a *RetractError with exactly these Reasons
	reasons []claim.Reason // when set: the error is a *RefusalError with exactly these Reasons
}

func rfRun(t *testing.T, cases []rfCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			call := c.setup(t, e)
			before, rest := e.snapshot(t, rfOrgs...), rfRestOf(t, e)

			err := call()

			if !errors.Is(err, c.want) {
				t.Errorf("%s = %v, want %v", c.op, err, c.want)
			}
			rfCheckErr(t, c, err)
			e.unchanged(t, before, rfOrgs...)
			if diff := cmp.Diff(rest, rfRestOf(t, e), claimtest.CmpOptions()); diff != "" {
				t.Errorf("orgs or domains changed by a refused %s (-before +after):\n%s", c.op, diff)
			}
		})
	}
}

func rfCheckErr(t *testing.T, c rfCase, err error) {
	t.Helper()
	for _, s := range c.also {
		if !errors.Is(err, s) {
			t.Errorf("%s = %v, want it to match %v too", c.op, err, s)
		}
	}
	for _, s := range c.not {
		if errors.Is(err, s) {
			t.Errorf("%s = %v, must not report %v", c.op, err, s)
		}
	}
	if c.field != "" {
		var ie *claim.InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s = %v (%T), want an *InputError naming %s", c.op, err, err, c.field)
		} else if ie.Field != c.field {
			t.Errorf("%s: InputError.Field = %q, want %q", c.op, ie.Field, c.field)
		}
	}
	if c.retract != nil {
		var re *claim.RetractError
		if !errors.As(err, &re) {
			t.Errorf("%s = %v (%T), want a *RetractError", c.op, err, err)
		} else if diff := cmp.Diff(c.retract, re.Reasons, claimtest.CmpOptions()); diff != "" || len(c.retract) != len(re.Reasons) {
			t.Errorf("%s: RetractError.Reasons = %v, want %v (R7 order)", c.op, re.Reasons, c.retract)
		} else {
			for i := range c.retract {
				if re.Reasons[i] != c.retract[i] {
					t.Errorf("%s: RetractError.Reasons[%d] = %v, want %v", c.op, i, re.Reasons[i], c.retract[i])
				}
			}
		}
	}
	if c.reasons != nil {
		var re *claim.RefusalError
		if !errors.As(err, &re) {
			t.Errorf("%s = %v (%T), want a *RefusalError", c.op, err, err)
		} else if diff := cmp.Diff(c.reasons, re.Reasons); diff != "" {
			t.Errorf("%s: RefusalError.Reasons mismatch (-want +got):\n%s", c.op, diff)
		}
	}
}

// --- Section 2: normalization and input (N1–N5) ---

func TestRefuseInvalidEmail(t *testing.T) {
	bad := []struct{ why, addr string }{
		{"empty", ""},
		{"blank", "   "},
		{"no @", "not-an-email"},
		{"no domain", "ann@"},
		{"no local part", "@example.com"},
		{"space in domain", "ann@exa mple.com"},
		{"empty label", "ann@example..com"},
		{"local part of 65", strings.Repeat("l", 65) + "@example.com"},
		{"address literal", "ann@[192.0.2.1]"},
		{"unclosed angle", "Ann <ann@example.com"},
		{"over 254 octets", strings.Repeat("l", 64) + "@" + rfDomainOf(190, 63)},
	}
	var cases []rfCase
	for _, b := range bad {
		cases = append(cases,
			rfCase{
				reason: "N1: AddUser refuses an address with " + b.why, op: fmt.Sprintf("AddUser(a, %q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					rfBase(t, e)
					return func() error {
						_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: b.addr})
						return err
					}
				},
				want: claim.ErrInvalidEmail, field: "NewUser.Email",
			},
			rfCase{
				reason: "N1: ClaimEmails refuses an address with " + b.why + " in its result", op: fmt.Sprintf("ClaimEmails(b, %q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					rfBase(t, e)
					return func() error { return rfClaimOne(e, "b", b.addr, true) }
				},
				want: claim.ErrInvalidEmail, field: "addresses[0]",
			},
			rfCase{
				reason: "N1: UserByEmail refuses an address with " + b.why, op: fmt.Sprintf("UserByEmail(%q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					rfBase(t, e)
					return func() error {
						_, err := e.svc.UserByEmail(e.ctx, b.addr)
						return err
					}
				},
				want: claim.ErrInvalidEmail, field: "email",
			},
			rfCase{
				reason: "N1: Eligibility refuses an address with " + b.why, op: fmt.Sprintf("Eligibility(b, %q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					rfBase(t, e)
					return func() error {
						_, err := e.svc.Eligibility(e.ctx, "b", b.addr)
						return err
					}
				},
				want: claim.ErrInvalidEmail, field: "email",
			},
			rfCase{
				reason: "C2, N1: Choose refuses a NewEmail with " + b.why, op: fmt.Sprintf("Choose(ann, ChangeEmail %q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					_, ann := rfClaimed(t, e)
					rfMustSignIn(t, e, ann.ID)
					return func() error {
						_, err := e.svc.Choose(e.ctx, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: b.addr})
						return err
					}
				},
				want: claim.ErrInvalidEmail, field: "Choice.NewEmail",
			},
		)
	}
	cases = append(cases,
		rfCase{
			reason: "N1: a display name where a bare address is expected is refused", op: `UserByEmail("Ann <ann@example.com>")`,
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error {
					_, err := e.svc.UserByEmail(e.ctx, "Ann <ann@example.com>")
					return err
				}
			},
			want: claim.ErrInvalidEmail, field: "email",
		},
		rfCase{
			reason: "N4: AddUser refuses an address ending in .convert-user.local", op: "AddUser(a, x@example.com.convert-user.local)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "x@example.com.convert-user.local"})
					return err
				}
			},
			want: claim.ErrInvalidEmail, field: "NewUser.Email",
		},
		rfCase{
			reason: "N4: AddUser refuses the reserved suffix in any case and with a display name", op: "AddUser(a, X <X@Example.COM.Convert-User.Local>)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "X <X@Example.COM.Convert-User.Local>"})
					return err
				}
			},
			want: claim.ErrInvalidEmail, field: "NewUser.Email",
		},
		rfCase{
			reason: "N4, C2: ChangeEmail refuses an address ending in .convert-user.local", op: "Choose(ann, ChangeEmail reserved)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				rfMustSignIn(t, e, ann.ID)
				return func() error {
					_, err := e.svc.Choose(e.ctx, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann2@example.com.convert-user.local"})
					return err
				}
			},
			want: claim.ErrInvalidEmail, field: "Choice.NewEmail",
		},
		rfCase{
			reason: "N4: claiming a 240-octet address is refused: its original's address would exceed 254 octets", op: "ClaimUsers(b, long)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				e.mustVerify(t, "b", rfLongDomain)
				u := e.mustActive(t, "a", rfLongAddr(240), 4)
				return func() error { return rfClaimOne(e, "b", string(u.ID), false) }
			},
			want: claim.ErrInvalidEmail,
		},
		rfCase{
			reason: "N4: the same 240-octet address by ClaimEmails is refused in its result", op: "ClaimEmails(b, long)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				e.mustVerify(t, "b", rfLongDomain)
				u := e.mustActive(t, "a", rfLongAddr(240), 4)
				return func() error { return rfClaimOne(e, "b", u.Email, true) }
			},
			want: claim.ErrInvalidEmail,
		},
		rfCase{
			reason: "N3: AddUser refuses a negative Content", op: "AddUser(a, Content -1)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "neg@example.com", Content: -1})
					return err
				}
			},
			want: claim.ErrInvalidValue, field: "NewUser.Content",
		},
	)
	rfRun(t, cases)
}

func TestRefuseInvalidDomain(t *testing.T) {
	bad := []struct{ why, name string }{
		{"empty", ""},
		{"a lone dot", "."},
		{"blank", "  "},
		{"an empty label", "exa..mple.com"},
		{"a leading dot", ".example.com"},
		{"two trailing dots", "example.com.."},
		{"a space", "exa mple.com"},
		{"a tab", "example\t.com"},
		{"254 octets", rfDomainOf(254, 63)},
		{"a label of 64", strings.Repeat("x", 64) + ".com"},
	}
	ops := []struct {
		name string
		call func(e *env, domain string) error
	}{
		{"StartDomainVerification", func(e *env, d string) error {
			_, err := e.svc.StartDomainVerification(e.ctx, "b", d)
			return err
		}},
		{"ConfirmDomain", func(e *env, d string) error { return e.svc.ConfirmDomain(e.ctx, "b", d) }},
		{"ClaimDomain", func(e *env, d string) error { return e.svc.ClaimDomain(e.ctx, "b", d) }},
		{"ReleaseDomain", func(e *env, d string) error { return e.svc.ReleaseDomain(e.ctx, "b", d) }},
		{"UnverifyDomain", func(e *env, d string) error { return e.svc.UnverifyDomain(e.ctx, "b", d) }},
	}
	var cases []rfCase
	for _, b := range bad {
		for _, op := range ops {
			cases = append(cases, rfCase{
				reason: fmt.Sprintf("N2: %s refuses a domain with %s", op.name, b.why),
				op:     fmt.Sprintf("%s(b, %q)", op.name, b.name),
				setup: func(t *testing.T, e *env) func() error {
					rfBase(t, e)
					return func() error { return op.call(e, b.name) }
				},
				want: claim.ErrInvalidDomain, field: "domain",
			})
		}
	}
	rfRun(t, cases)
}

func TestRefuseNotFound(t *testing.T) {
	type call = func(e *env, f rfFix) error
	rows := []struct {
		reason, op string
		call       call
	}{
		{"N3: AddUser to an unknown org", "AddUser(zz)", func(e *env, f rfFix) error {
			_, err := e.svc.AddUser(e.ctx, "zz", claim.NewUser{Email: "new@example.com"})
			return err
		}},
		{"N3: Org of an unknown org", "Org(zz)", func(e *env, f rfFix) error {
			_, err := e.svc.Org(e.ctx, "zz")
			return err
		}},
		{"N3: UpdateSettings of an unknown org", "UpdateSettings(zz)", func(e *env, f rfFix) error {
			return e.svc.UpdateSettings(e.ctx, "zz", claim.Settings{})
		}},
		{"N3, G1: DeleteOrg of an unknown org", "DeleteOrg(zz)", func(e *env, f rfFix) error {
			return e.svc.DeleteOrg(e.ctx, "zz")
		}},
		{"N3: User of an unknown user", "User(nobody)", func(e *env, f rfFix) error {
			_, err := e.svc.User(e.ctx, "usr_nobody")
			return err
		}},
		{"N3: UserByEmail of an address no account has", "UserByEmail(nobody)", func(e *env, f rfFix) error {
			_, err := e.svc.UserByEmail(e.ctx, "nobody@example.com")
			return err
		}},
		{"N3: Users of an unknown org", "Users(zz)", func(e *env, f rfFix) error {
			return rfFirstErr(e.svc.Users(e.ctx, "zz"))
		}},
		{"N3: Domains of an unknown org", "Domains(zz)", func(e *env, f rfFix) error {
			_, err := e.svc.Domains(e.ctx, "zz")
			return err
		}},
		{"N3, U3: VerifyEmail of an unknown user", "VerifyEmail(nobody)", func(e *env, f rfFix) error {
			_, err := e.svc.VerifyEmail(e.ctx, "usr_nobody")
			return err
		}},
		{"N3, U4: SignIn of an unknown user", "SignIn(nobody)", func(e *env, f rfFix) error {
			_, err := e.svc.SignIn(e.ctx, "usr_nobody")
			return err
		}},
		{"N3, U5: Deactivate by an unknown org", "Deactivate(zz, ann)", func(e *env, f rfFix) error {
			_, err := e.svc.Deactivate(e.ctx, "zz", f.ann.ID)
			return err
		}},
		{"N3, U5: Deactivate of an unknown user", "Deactivate(a, nobody)", func(e *env, f rfFix) error {
			_, err := e.svc.Deactivate(e.ctx, "a", "usr_nobody")
			return err
		}},
		{"N3, U5: Deactivate of a user not in the acting org", "Deactivate(b, ann)", func(e *env, f rfFix) error {
			_, err := e.svc.Deactivate(e.ctx, "b", f.ann.ID)
			return err
		}},
		{"N3, U6: DeleteUser of a user not in the acting org", "DeleteUser(c, ann)", func(e *env, f rfFix) error {
			return e.svc.DeleteUser(e.ctx, "c", f.ann.ID)
		}},
		{"N3, U6: DeleteUser of an unknown user", "DeleteUser(a, nobody)", func(e *env, f rfFix) error {
			return e.svc.DeleteUser(e.ctx, "a", "usr_nobody")
		}},
		{"N3, U6: DeleteUser by an unknown org", "DeleteUser(zz, ann)", func(e *env, f rfFix) error {
			return e.svc.DeleteUser(e.ctx, "zz", f.ann.ID)
		}},
		{"N3, U7: NudgeUnverified of an unknown org", "NudgeUnverified(zz)", func(e *env, f rfFix) error {
			_, err := e.svc.NudgeUnverified(e.ctx, "zz")
			return err
		}},
		{"N3, X5: RemindDelayed of an unknown org", "RemindDelayed(zz)", func(e *env, f rfFix) error {
			_, err := e.svc.RemindDelayed(e.ctx, "zz")
			return err
		}},
		{"N3, D1: StartDomainVerification by an unknown org", "StartDomainVerification(zz)", func(e *env, f rfFix) error {
			_, err := e.svc.StartDomainVerification(e.ctx, "zz", "example.com")
			return err
		}},
		{"N3, D1: ConfirmDomain by an unknown org", "ConfirmDomain(zz)", func(e *env, f rfFix) error {
			return e.svc.ConfirmDomain(e.ctx, "zz", "example.com")
		}},
		{"N3, D3: ClaimDomain by an unknown org", "ClaimDomain(zz)", func(e *env, f rfFix) error {
			return e.svc.ClaimDomain(e.ctx, "zz", "example.com")
		}},
		{"N3, D4: ReleaseDomain by an unknown org", "ReleaseDomain(zz)", func(e *env, f rfFix) error {
			return e.svc.ReleaseDomain(e.ctx, "zz", "example.com")
		}},
		{"N3, D4: UnverifyDomain by an unknown org", "UnverifyDomain(zz)", func(e *env, f rfFix) error {
			return e.svc.UnverifyDomain(e.ctx, "zz", "example.com")
		}},
		{"N3, D4: UnverifyDomain of a domain the org has no record of", "UnverifyDomain(c, example.com)", func(e *env, f rfFix) error {
			return e.svc.UnverifyDomain(e.ctx, "c", "example.com")
		}},
		{"N3, E8: Claimable of an unknown org", "Claimable(zz)", func(e *env, f rfFix) error {
			return rfFirstErr(e.svc.Claimable(e.ctx, "zz"))
		}},
		{"N3, E8: Eligibility for an unknown org", "Eligibility(zz, ann)", func(e *env, f rfFix) error {
			_, err := e.svc.Eligibility(e.ctx, "zz", f.ann.Email)
			return err
		}},
		{"N3: Eligibility of an address no account has", "Eligibility(b, nobody)", func(e *env, f rfFix) error {
			_, err := e.svc.Eligibility(e.ctx, "b", "nobody@example.com")
			return err
		}},
		{"N3, K5: ClaimUsers of an unknown ID is refused in its result", "ClaimUsers(b, nobody)", func(e *env, f rfFix) error {
			return rfClaimOne(e, "b", "usr_nobody", false)
		}},
		{"N3, K5: ClaimEmails of an address no account has is refused in its result", "ClaimEmails(b, nobody)", func(e *env, f rfFix) error {
			return rfClaimOne(e, "b", "nobody@example.com", true)
		}},
		{"N3, E8: ClaimUsers by an unknown org is a call-level refusal", "ClaimUsers(zz, ann)", func(e *env, f rfFix) error {
			_, err := e.svc.ClaimUsers(e.ctx, "zz", []claim.UserID{f.ann.ID}, claim.ClaimOptions{Acknowledge: true})
			return err
		}},
		{"N3, E8: ClaimEmails by an unknown org is a call-level refusal", "ClaimEmails(zz, ann)", func(e *env, f rfFix) error {
			_, err := e.svc.ClaimEmails(e.ctx, "zz", []string{f.ann.Email}, claim.ClaimOptions{Acknowledge: true})
			return err
		}},
		{"N3, R7: Retract by an unknown org", "Retract(zz, ann)", func(e *env, f rfFix) error {
			return e.svc.Retract(e.ctx, "zz", f.ann.ID)
		}},
		{"N3, R7: Retract of an unknown user", "Retract(b, nobody)", func(e *env, f rfFix) error {
			return e.svc.Retract(e.ctx, "b", "usr_nobody")
		}},
		{"N3, R8: Retractable of an unknown org", "Retractable(zz)", func(e *env, f rfFix) error {
			return rfFirstErr(e.svc.Retractable(e.ctx, "zz"))
		}},
		{"N3, C1: Choose of an unknown user", "Choose(nobody)", func(e *env, f rfFix) error {
			_, err := e.svc.Choose(e.ctx, "usr_nobody", claim.Choice{Action: claim.DeleteOriginal})
			return err
		}},
		{"N3, X4: DaysLeft of an unknown user", "DaysLeft(nobody)", func(e *env, f rfFix) error {
			_, err := e.svc.DaysLeft(e.ctx, "usr_nobody")
			return err
		}},
	}
	var cases []rfCase
	for _, r := range rows {
		cases = append(cases, rfCase{
			reason: r.reason, op: r.op,
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				return func() error { return r.call(e, f) }
			},
			want: claim.ErrNotFound,
		})
	}
	cases = append(cases,
		rfCase{
			reason: "N3, U5: Reactivate of an Inactive user not in the acting org", op: "Reactivate(c, nora)",
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				rfMustDeactivate(t, e, "a", f.nora.ID)
				return func() error {
					_, err := e.svc.Reactivate(e.ctx, "c", f.nora.ID)
					return err
				}
			},
			want: claim.ErrNotFound,
		},
		rfCase{
			reason: "N3, U5: Deactivate by the source org of a user claimed away", op: "Deactivate(a, ann)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				return func() error {
					_, err := e.svc.Deactivate(e.ctx, "a", ann.ID)
					return err
				}
			},
			want: claim.ErrNotFound,
		},
		rfCase{
			reason: "N3, H2: Deactivate by the claiming org of the original account it holds", op: "Deactivate(b, original)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				return func() error {
					_, err := e.svc.Deactivate(e.ctx, "b", ann.Claim.Original)
					return err
				}
			},
			want: claim.ErrNotFound, not: []error{claim.ErrHeldByClaim},
		},
	)
	rfRun(t, cases)
}

func TestRefuseOrgInput(t *testing.T) {
	create := func(o claim.Org) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			rfBase(t, e)
			return func() error {
				_, err := e.svc.CreateOrg(e.ctx, o)
				return err
			}
		}
	}
	update := func(st claim.Settings) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			rfBase(t, e)
			return func() error { return e.svc.UpdateSettings(e.ctx, "a", st) }
		}
	}
	rfRun(t, []rfCase{
		{reason: "N3: CreateOrg refuses an empty Name", op: "CreateOrg(Name \"\")",
			setup: create(claim.Org{ID: "zz", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.Name"},
		{reason: "N3: CreateOrg refuses a blank Name", op: "CreateOrg(Name \"  \")",
			setup: create(claim.Org{ID: "zz", Name: "  ", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.Name"},
		{reason: "N5: CreateOrg refuses Kind 0 (none)", op: "CreateOrg(Kind 0)",
			setup: create(claim.Org{ID: "zz", Name: "Z"}), want: claim.ErrInvalidValue, field: "Org.Kind"},
		{reason: "N5: CreateOrg refuses an unknown Kind", op: "CreateOrg(Kind 99)",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: 99}), want: claim.ErrInvalidValue, field: "Org.Kind"},
		{reason: "N3: CreateOrg refuses an ID with surrounding spaces", op: "CreateOrg(ID \" zz\")",
			setup: create(claim.Org{ID: " zz", Name: "Z", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.ID"},
		{reason: "N3: CreateOrg refuses an ID that exists", op: "CreateOrg(ID a)",
			setup: create(claim.Org{ID: "a", Name: "Again", Kind: claim.Consumer}), want: claim.ErrDuplicate},
		{reason: "N3: CreateOrg refuses a negative Retention", op: "CreateOrg(Retention -1ns)",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: claim.Enterprise, Settings: claim.Settings{Retention: -1}}), want: claim.ErrInvalidValue, field: "Settings.Retention"},
		{reason: "N3: CreateOrg refuses an empty license name", op: "CreateOrg(AutoLicenses [\" \"])",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: claim.Enterprise, Settings: claim.Settings{AutoLicenses: []string{"Meetings", " "}}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "N3: UpdateSettings refuses a negative Retention", op: "UpdateSettings(a, Retention -1h)",
			setup: update(claim.Settings{Retention: -time.Hour, SSO: true}), want: claim.ErrInvalidValue, field: "Settings.Retention"},
		{reason: "N3: UpdateSettings refuses an empty license name", op: "UpdateSettings(a, AutoLicenses [\"\"])",
			setup: update(claim.Settings{AutoLicenses: []string{""}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "V1: UpdateSettings refuses a license named like a CSV column", op: "UpdateSettings(a, AutoLicenses [\"claim type\"])",
			setup: update(claim.Settings{AutoLicenses: []string{"Meetings", "claim type"}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "V7: UpdateSettings refuses two licenses differing only in case", op: "UpdateSettings(a, AutoLicenses [Meetings MEETINGS])",
			setup: update(claim.Settings{AutoLicenses: []string{"Meetings", "Calling", "MEETINGS"}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "N5: Users refuses State 0 (none)", op: "Users(a, 0)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error { return rfFirstErr(e.svc.Users(e.ctx, "a", 0)) }
			}, want: claim.ErrInvalidValue, field: "states"},
		{reason: "N5: Users refuses an unknown State", op: "Users(a, 99)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error { return rfFirstErr(e.svc.Users(e.ctx, "a", claim.Active, 99)) }
			}, want: claim.ErrInvalidValue, field: "states"},
	})
}

// --- Section 3: users (U1–U7) ---

func TestRefuseUsers(t *testing.T) {
	addTaken := func(org claim.OrgID, addr string) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			rfBase(t, e)
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
			_, ann := rfClaimed(t, e)
			return func() error { return op(e, ann.Claim.Original) }
		}
	}
	rfRun(t, []rfCase{
		{reason: "U1: an address in use in the same org is taken", op: "AddUser(a, ann@example.com)",
			setup: addTaken("a", "ann@example.com"), want: claim.ErrEmailTaken},
		{reason: "U1: addresses are unique across orgs, compared case-insensitively", op: "AddUser(c, ANN@EXAMPLE.COM)",
			setup: addTaken("c", "ANN@EXAMPLE.COM"), want: claim.ErrEmailTaken},
		{reason: "U1: a display-name form and surrounding spaces do not hide a taken address", op: "AddUser(c,  Ann <Ann@Example.Com> )",
			setup: addTaken("c", " Ann <Ann@Example.Com> "), want: claim.ErrEmailTaken},
		{reason: "U1: a claimed user's address stays taken", op: "AddUser(a, ann@example.com) after the claim",
			setup: func(t *testing.T, e *env) func() error {
				rfClaimed(t, e)
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "ann@example.com"})
					return err
				}
			}, want: claim.ErrEmailTaken},
		{reason: "U2, D6: a user cannot be added to an org when another org has claimed the domain", op: "AddUser(c, new@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "c", claim.NewUser{Email: "New@EXAMPLE.com", SiteLinked: true})
					return err
				}
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "U2, D6: the claimed domain is checked before the address (documented order)", op: "AddUser(c, ann@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "c", claim.NewUser{Email: "ann@example.com"})
					return err
				}
			}, want: claim.ErrDomainClaimedByOther, not: []error{claim.ErrEmailTaken}},
		{reason: "U4: a Not Verified user cannot sign in", op: "SignIn(nora)",
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				return func() error {
					_, err := e.svc.SignIn(e.ctx, f.nora.ID)
					return err
				}
			}, want: claim.ErrNotVerified},
		{reason: "U4: an Inactive user cannot sign in", op: "SignIn(ann inactive)",
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				rfMustDeactivate(t, e, "a", f.ann.ID)
				return func() error {
					_, err := e.svc.SignIn(e.ctx, f.ann.ID)
					return err
				}
			}, want: claim.ErrInactive},
		{reason: "U4, U5: an immediately claimed Inactive user stays Inactive and cannot sign in", op: "SignIn(ann claimed while inactive)",
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				rfMustDeactivate(t, e, "a", f.ann.ID)
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.ann.ID)
				return func() error {
					_, err := e.svc.SignIn(e.ctx, f.ann.ID)
					return err
				}
			}, want: claim.ErrInactive},
		{reason: "U4, U5: a Delayed Claim user deactivated by its new org cannot sign in", op: "SignIn(ivy deactivated)",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := rfDelayed(t, e)
				rfMustDeactivate(t, e, "b", ivy.ID)
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
				f := rfBase(t, e)
				rfMustDeactivate(t, e, "a", f.ann.ID)
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
				f := rfBase(t, e)
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.nora.ID)
				orig := e.mustGet(t, f.nora.ID).Claim.Original
				return func() error {
					_, err := e.svc.VerifyEmail(e.ctx, orig)
					return err
				}
			}, want: claim.ErrHeldByClaim},
		{reason: "H2: a delayed claim's original is held too", op: "DeleteUser(i, original)",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := rfDelayed(t, e)
				return func() error { return e.svc.DeleteUser(e.ctx, "i", ivy.Claim.Original) }
			}, want: claim.ErrHeldByClaim},
		{reason: "H2: the original stays held after the user signed in (immediate claim past its window, no choice yet)", op: "DeleteUser(a, original) at 30d",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				rfMustSignIn(t, e, ann.ID)
				e.clock.Advance(30 * 24 * time.Hour)
				return func() error { return e.svc.DeleteUser(e.ctx, "a", ann.Claim.Original) }
			}, want: claim.ErrHeldByClaim},
	})
}

// --- Section 4: domains (D1–D7) ---

func TestRefuseDomains(t *testing.T) {
	started := func(org claim.OrgID, domain string) func(t *testing.T, e *env) string {
		return func(t *testing.T, e *env) string {
			tok, err := e.svc.StartDomainVerification(e.ctx, org, domain)
			if err != nil {
				t.Fatalf("StartDomainVerification(%s, %s) = %v", org, domain, err)
			}
			return tok
		}
	}
	rfRun(t, []rfCase{
		{reason: "D1: ConfirmDomain with TXT records none of which equals the token", op: "ConfirmDomain(a, acme.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				tok := started("a", "acme.com")(t, e)
				e.dns.Set("acme.com", "v=spf1 -all", tok+"x", "cisco-ci-domain-verification=wrong")
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D1: ConfirmDomain when the resolver has no records at all", op: "ConfirmDomain(a, acme.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				started("a", "acme.com")(t, e)
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D1: a token is bound to its org: another org's token does not verify", op: "ConfirmDomain(a, acme.com) with c's token",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				started("a", "acme.com")(t, e)
				e.dns.Set("acme.com", started("c", "acme.com")(t, e))
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D1: a token is bound to its domain: published on another domain it does not verify", op: "ConfirmDomain(a, acme.com) with its token on other.com",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				tok := started("a", "acme.com")(t, e)
				e.dns.Set("other.com", tok)
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D1: ConfirmDomain of a verification never started", op: "ConfirmDomain(a, acme.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				e.dns.Set("acme.com", "cisco-ci-domain-verification=anything")
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrNotFound},
		{reason: "D1, D4: ConfirmDomain after the verification was removed", op: "ConfirmDomain(b, example.com) after UnverifyDomain",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				if err := e.svc.UnverifyDomain(e.ctx, "b", "example.com"); err != nil {
					t.Fatalf("UnverifyDomain = %v", err)
				}
				return func() error { return e.svc.ConfirmDomain(e.ctx, "b", "example.com") }
			}, want: claim.ErrNotFound},
		{reason: "D3: ClaimDomain of a domain the org never started verifying", op: "ClaimDomain(a, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error { return e.svc.ClaimDomain(e.ctx, "a", "example.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D3: ClaimDomain of a domain whose verification is started but not confirmed", op: "ClaimDomain(a, acme.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				started("a", "acme.com")(t, e)
				return func() error { return e.svc.ClaimDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D3: at most one org claims a domain", op: "ClaimDomain(c, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				e.mustVerify(t, "c", "example.com")
				rfMustClaimDomain(t, e, "b", "example.com")
				return func() error { return e.svc.ClaimDomain(e.ctx, "c", "EXAMPLE.com.") }
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D4: ReleaseDomain by an org that verified but did not claim it", op: "ReleaseDomain(c, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				e.mustVerify(t, "c", "example.com")
				rfMustClaimDomain(t, e, "b", "example.com")
				return func() error { return e.svc.ReleaseDomain(e.ctx, "c", "example.com") }
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D4: ReleaseDomain by an org with no record of the domain", op: "ReleaseDomain(a, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				return func() error { return e.svc.ReleaseDomain(e.ctx, "a", "example.com") }
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D4: ReleaseDomain of a domain nobody claimed", op: "ReleaseDomain(b, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error { return e.svc.ReleaseDomain(e.ctx, "b", "example.com") }
			}, want: claim.ErrNotFound},
		{reason: "D4: ReleaseDomain twice: the second finds it unclaimed", op: "ReleaseDomain(b, example.com) again",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				if err := e.svc.ReleaseDomain(e.ctx, "b", "example.com"); err != nil {
					t.Fatalf("ReleaseDomain = %v", err)
				}
				return func() error { return e.svc.ReleaseDomain(e.ctx, "b", "example.com") }
			}, want: claim.ErrNotFound},
		{reason: "D4: UnverifyDomain while the org claims the domain", op: "UnverifyDomain(b, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				return func() error { return e.svc.UnverifyDomain(e.ctx, "b", "example.com") }
			}, want: claim.ErrDomainClaimed},
		{reason: "D7: StartDomainVerification of a domain another org has claimed", op: "StartDomainVerification(c, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				return func() error {
					_, err := e.svc.StartDomainVerification(e.ctx, "c", "example.com")
					return err
				}
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D7: StartDomainVerification again of a started domain another org has since claimed", op: "StartDomainVerification(c, example.com) again",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				started("c", "example.com")(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				return func() error {
					_, err := e.svc.StartDomainVerification(e.ctx, "c", "example.com")
					return err
				}
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D7: ConfirmDomain of a domain another org has claimed, with the right TXT record published", op: "ConfirmDomain(c, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				tok := started("c", "example.com")(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				e.dns.Set("example.com", tok)
				return func() error { return e.svc.ConfirmDomain(e.ctx, "c", "example.com") }
			}, want: claim.ErrDomainClaimedByOther},
	})
}

// --- Section 5 and 7: call-level refusals (E7, E8, K1–K3) ---

func TestRefuseClaimCall(t *testing.T) {
	byIDs := func(org claim.OrgID, n int, ack bool, lic ...string) func(e *env, f rfFix) error {
		return func(e *env, f rfFix) error {
			ids := append([]claim.UserID{f.ann.ID}, rfIDs(n-1)...)
			_, err := e.svc.ClaimUsers(e.ctx, org, ids, claim.ClaimOptions{Acknowledge: ack, Licenses: lic})
			return err
		}
	}
	byEmails := func(org claim.OrgID, n int, ack bool) func(e *env, f rfFix) error {
		return func(e *env, f rfFix) error {
			as := append([]string{f.ann.Email}, rfAddrs(n-1)...)
			_, err := e.svc.ClaimEmails(e.ctx, org, as, claim.ClaimOptions{Acknowledge: ack})
			return err
		}
	}
	rows := []struct {
		reason, op string
		dirSync    bool // org b synchronizes from a directory
		opts       []claim.Option
		call       func(e *env, f rfFix) error
		want       error
		not        []error
		field      string
	}{
		{reason: "K1: ClaimUsers without the acknowledgement", op: "ClaimUsers(b, [ann], no ack)",
			call: byIDs("b", 1, false), want: claim.ErrNotAcknowledged},
		{reason: "K1: ClaimEmails without the acknowledgement", op: "ClaimEmails(b, [ann], no ack)",
			call: byEmails("b", 1, false), want: claim.ErrNotAcknowledged},
		{reason: "K1: ClaimUsers of no users without the acknowledgement", op: "ClaimUsers(b, [], no ack)",
			call: func(e *env, f rfFix) error {
				_, err := e.svc.ClaimUsers(e.ctx, "b", nil, claim.ClaimOptions{})
				return err
			}, want: claim.ErrNotAcknowledged},
		{reason: "K2: 251 IDs are too many", op: "ClaimUsers(b, 251 IDs)",
			call: byIDs("b", 251, true), want: claim.ErrTooMany},
		{reason: "K2: the limit is Policy.ListLimit (100 by default: 101 are too many)", op: "ClaimUsers(b, 101 IDs), ListLimit 100",
			opts: []claim.Option{rfPolicy(func(p *claim.Policy) { p.ListLimit = 100 })},
			call: byIDs("b", 101, true), want: claim.ErrTooMany},
		{reason: "K3: 26 addresses are too many", op: "ClaimEmails(b, 26 addresses)",
			call: byEmails("b", 26, true), want: claim.ErrTooMany},
		{reason: "E7: ClaimUsers by an org with directory sync on", op: "ClaimUsers(b dirsync, [ann])", dirSync: true,
			call: byIDs("b", 1, true), want: claim.ErrDirectorySyncEnabled},
		{reason: "E7: ClaimEmails by an org with directory sync on", op: "ClaimEmails(b dirsync, [ann])", dirSync: true,
			call: byEmails("b", 1, true), want: claim.ErrDirectorySyncEnabled},
		{reason: "E7: Eligibility for an org with directory sync on", op: "Eligibility(b dirsync, ann)", dirSync: true,
			call: func(e *env, f rfFix) error {
				_, err := e.svc.Eligibility(e.ctx, "b", f.ann.Email)
				return err
			}, want: claim.ErrDirectorySyncEnabled},
		{reason: "E7: the first element of Claimable for an org with directory sync on", op: "Claimable(b dirsync)", dirSync: true,
			call: func(e *env, f rfFix) error {
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
	var cases []rfCase
	for _, r := range rows {
		cases = append(cases, rfCase{
			reason: r.reason, op: r.op, opts: r.opts,
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				if r.dirSync {
					rfMustSettings(t, e, "b", claim.Settings{DirectorySync: true})
				}
				return func() error { return r.call(e, f) }
			},
			want: r.want, not: r.not, field: r.field,
		})
	}
	rfRun(t, cases)
}

// rfPolicy returns WithPolicy of the default policy changed by edit.
func rfPolicy(edit func(*claim.Policy)) claim.Option {
	p := claim.DefaultPolicy()
	edit(&p)
	return claim.WithPolicy(p)
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
			rfBase(t, e)
			return target{"b", e.mustActive(t, "b", "bea@example.com", 1)}
		}, []claim.Reason{claim.ReasonAlreadyMember}},
		{"E2 alone: the claiming org has not verified the domain", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"E2 alone: a started but unconfirmed verification is not verified", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			if _, err := e.svc.StartDomainVerification(e.ctx, "c", "example.com"); err != nil {
				t.Fatalf("StartDomainVerification = %v", err)
			}
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"E3 alone: another org has claimed the domain", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			e.mustVerify(t, "c", "example.com")
			rfMustClaimDomain(t, e, "c", "example.com")
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonDomainClaimedByOther}},
		{"E3 alone: the user's own org has claimed the domain", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			e.mustVerify(t, "a", "example.com")
			rfMustClaimDomain(t, e, "a", "example.com")
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonDomainClaimedByOther}},
		{"E4 alone: the user's org uses SSO", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			rfMustSettings(t, e, "a", claim.Settings{SSO: true})
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonSourceSSO}},
		{"E5 alone: the user's org synchronizes from a directory", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			rfMustSettings(t, e, "a", claim.Settings{DirectorySync: true})
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonSourceDirectorySync}},
		{"E6 alone: the user is under another org's pending claim", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			e.mustVerify(t, "c", "example.com")
			e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonPendingClaim}},
		{"E6 alone: a pending delayed claim, signed in, counts too", func(t *testing.T, e *env) target {
			_, ivy := rfDelayed(t, e)
			rfMustSignIn(t, e, ivy.ID)
			e.mustVerify(t, "c", "example.com")
			return target{"c", ivy}
		}, []claim.Reason{claim.ReasonPendingClaim}},
		{"E6: a held original reports only pending_claim, though E4 and E5 would apply", func(t *testing.T, e *env) target {
			_, ann := rfClaimed(t, e)
			e.mustVerify(t, "c", "example.com")
			rfMustSettings(t, e, "a", claim.Settings{SSO: true, DirectorySync: true})
			orig, err := e.svc.User(e.ctx, ann.Claim.Original)
			if err != nil {
				t.Fatalf("User(original) = %v", err)
			}
			return target{"c", orig}
		}, []claim.Reason{claim.ReasonPendingClaim}},
		{"E6: a held original reports only pending_claim to its holder, though E1-like and E2 apply", func(t *testing.T, e *env) target {
			_, ann := rfClaimed(t, e)
			orig, err := e.svc.User(e.ctx, ann.Claim.Original)
			if err != nil {
				t.Fatalf("User(original) = %v", err)
			}
			return target{"b", orig}
		}, []claim.Reason{claim.ReasonPendingClaim}},
		{"N3: E2 hides E3–E5 of a user the org may not see", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			rfMustClaimDomain(t, e, "b", "example.com")
			rfMustSettings(t, e, "a", claim.Settings{SSO: true, DirectorySync: true})
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"N3: E2 hides E4 of a user the org may not see", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			rfMustSettings(t, e, "a", claim.Settings{SSO: true})
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"N3: E2 hides E6 of a held original the org may not see", func(t *testing.T, e *env) target {
			_, ann := rfClaimed(t, e)
			orig, err := e.svc.User(e.ctx, ann.Claim.Original)
			if err != nil {
				t.Fatalf("User(original) = %v", err)
			}
			return target{"c", orig}
		}, []claim.Reason{claim.ReasonDomainNotVerified}},
		{"E3, E4 and E5 together, in E order", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			e.mustVerify(t, "c", "example.com") // before b's claim, which D7 would refuse it
			rfMustClaimDomain(t, e, "b", "example.com")
			rfMustSettings(t, e, "a", claim.Settings{SSO: true, DirectorySync: true})
			return target{"c", f.ann}
		}, []claim.Reason{claim.ReasonDomainClaimedByOther, claim.ReasonSourceSSO, claim.ReasonSourceDirectorySync}},
		{"E1, E2, E3, E4 and E6 together, in E order", func(t *testing.T, e *env) target {
			_, ann := rfClaimed(t, e)
			rfMustSettings(t, e, "b", claim.Settings{SSO: true})
			if err := e.svc.UnverifyDomain(e.ctx, "b", "example.com"); err != nil {
				t.Fatalf("UnverifyDomain = %v", err)
			}
			e.mustVerify(t, "c", "example.com")
			rfMustClaimDomain(t, e, "c", "example.com")
			return target{"b", ann}
		}, []claim.Reason{claim.ReasonAlreadyMember, claim.ReasonDomainNotVerified, claim.ReasonDomainClaimedByOther, claim.ReasonSourceSSO, claim.ReasonPendingClaim}},
		{"E3, E5 and E6 together, in E order", func(t *testing.T, e *env) target {
			f := rfBase(t, e)
			e.mustVerify(t, "c", "example.com")
			e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
			rfMustClaimDomain(t, e, "c", "example.com")
			rfMustSettings(t, e, "c", claim.Settings{DirectorySync: true})
			return target{"b", f.ann}
		}, []claim.Reason{claim.ReasonDomainClaimedByOther, claim.ReasonSourceDirectorySync, claim.ReasonPendingClaim}},
	}
	for _, r := range rows {
		for _, how := range []string{"ClaimUsers", "ClaimEmails", "Eligibility"} {
			t.Run(how+"/"+r.reason, func(t *testing.T) {
				e := newEnv(t)
				tg := r.setup(t, e)
				before, rest := e.snapshot(t, rfOrgs...), rfRestOf(t, e)
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
					err := rfClaimOne(e, tg.org, input, how == "ClaimEmails")
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
				e.unchanged(t, before, rfOrgs...)
				if diff := cmp.Diff(rest, rfRestOf(t, e), claimtest.CmpOptions()); diff != "" {
					t.Errorf("orgs or domains changed (-before +after):\n%s", diff)
				}
			})
		}
	}
}

func containsReason(rs []claim.Reason, r claim.Reason) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// --- Section 7: per-user results (K2, K3, K5) ---

func TestRefuseClaimResults(t *testing.T) {
	rfRun(t, []rfCase{
		{reason: "K5, N3: an empty user ID is bad input in its result", op: `ClaimUsers(b, [""])`,
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error { return rfClaimOne(e, "b", "", false) }
			}, want: claim.ErrInvalidValue, field: "ids[0]"},
		{reason: "K5, N3: a blank user ID is bad input in its result", op: `ClaimUsers(b, ["  "])`,
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error { return rfClaimOne(e, "b", "  ", false) }
			}, want: claim.ErrInvalidValue, field: "ids[0]"},
		{reason: "E6, K5: ClaimEmails of a held original's address is refused with pending_claim", op: "ClaimEmails(c, original's address)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				e.mustVerify(t, "c", "example.com")
				return func() error { return rfClaimOne(e, "c", ann.Email+".convert-user.local", true) }
			}, want: claim.ErrNotEligible, reasons: []claim.Reason{claim.ReasonPendingClaim}},
		{reason: "E1, K5: claiming one's own claimed user again", op: "ClaimUsers(b, ann) again",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				return func() error { return rfClaimOne(e, "b", string(ann.ID), false) }
			}, want: claim.ErrNotEligible, reasons: []claim.Reason{claim.ReasonAlreadyMember, claim.ReasonPendingClaim}},
	})
}

func TestRefuseDuplicateInCall(t *testing.T) {
	t.Run("K3: an address repeated in any case is refused in its own result; the first is claimed", func(t *testing.T) {
		e := newEnv(t)
		f := rfBase(t, e)
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
		if got := rfCount(t, e, claim.EventClaimCreated); got != 1 {
			t.Errorf("claim.created events = %d, want 1", got)
		}
	})
	t.Run("K2, K5: an ID repeated is refused in its own result; the first is claimed", func(t *testing.T) {
		e := newEnv(t)
		f := rfBase(t, e)
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
		if got := rfCount(t, e, claim.EventClaimCreated); got != 1 {
			t.Errorf("claim.created events = %d, want 1", got)
		}
	})
}

// rfCount counts the events of a type in the log.
func rfCount(tb testing.TB, e *env, typ string) int {
	tb.Helper()
	n := 0
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			tb.Fatalf("Events() = %v", err)
		}
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// TestRefuseMixedBatch: refusals and successes in one call (K5). The
// refused users are unchanged and no event names them.
func TestRefuseMixedBatch(t *testing.T) {
	e := newEnv(t)
	f := rfBase(t, e)
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
	if got := rfCount(t, e, claim.EventClaimCreated); got != 2 {
		t.Errorf("claim.created events = %d, want 2", got)
	}
}

// TestRefuseCountBoundaries: exactly the limit is accepted (K2, K3).
func TestRefuseCountBoundaries(t *testing.T) {
	t.Run("K2: exactly 250 IDs are accepted", func(t *testing.T) {
		e := newEnv(t)
		f := rfBase(t, e)
		ids := append([]claim.UserID{f.ann.ID}, rfIDs(249)...)
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
		e := newEnv(t, rfPolicy(func(p *claim.Policy) { p.ListLimit = 100 }))
		f := rfBase(t, e)
		res, err := e.svc.ClaimUsers(e.ctx, "b", append([]claim.UserID{f.ann.ID}, rfIDs(99)...), claim.ClaimOptions{Acknowledge: true})
		if err != nil || len(res) != 100 || res[0].Err != nil {
			t.Fatalf("ClaimUsers(100 IDs) = %d results, %v; want 100, ann claimed", len(res), err)
		}
	})
	t.Run("K3: exactly 25 addresses are accepted", func(t *testing.T) {
		e := newEnv(t)
		f := rfBase(t, e)
		res, err := e.svc.ClaimEmails(e.ctx, "b", append([]string{f.ann.Email}, rfAddrs(24)...), claim.ClaimOptions{Acknowledge: true})
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
	signedIn := func(t *testing.T, e *env) (rfFix, claim.User) {
		f, ann := rfClaimed(t, e)
		rfMustSignIn(t, e, ann.ID)
		return f, ann
	}
	rfRun(t, []rfCase{
		{reason: "C1: an immediate-claimed user may not choose before signing in", op: "Choose(ann, DeleteOriginal) before sign-in",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrChoiceNotAllowed},
		{reason: "C1: a delayed-claimed user may not choose before signing in", op: "Choose(ivy, MigrateContent) before sign-in",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := rfDelayed(t, e)
				return rfChoose(e, ivy.ID, claim.Choice{Action: claim.MigrateContent})
			}, want: claim.ErrChoiceNotAllowed},
		{reason: "C1: ChangeEmail before signing in is refused too", op: "Choose(ann, ChangeEmail) before sign-in",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
			}, want: claim.ErrChoiceNotAllowed},
		{reason: "C1: a user chooses once: a second choice finds no pending claim", op: "Choose(ann, DeleteOriginal) twice",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1: after ChangeEmail, another choice finds no pending claim", op: "Choose(ann, ChangeEmail) twice",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.older@example.com"})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1: after MigrateContent, another choice finds no pending claim", op: "Choose(ivy, DeleteOriginal) after MigrateContent",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := rfDelayed(t, e)
				rfMustSignIn(t, e, ivy.ID)
				rfMustChoose(t, e, ivy.ID, claim.Choice{Action: claim.MigrateContent})
				return rfChoose(e, ivy.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1, X1: a delayed claim past its deadline has no choice left, even signed in", op: "Choose(ivy, DeleteOriginal) at 14d",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := rfDelayed(t, e)
				rfMustSignIn(t, e, ivy.ID)
				e.clock.Advance(window)
				return rfChoose(e, ivy.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1: a never-claimed user has no claim to choose about", op: "Choose(nora, DeleteOriginal)",
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				return rfChoose(e, f.nora.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1, R6: a retracted user has no claim to choose about", op: "Choose(ann, DeleteOriginal) after Retract",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				rfMustRetract(t, e, "b", ann.ID)
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1, H2: an original account has no choice to make", op: "Choose(original, DeleteOriginal)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return rfChoose(e, ann.Claim.Original, claim.Choice{Action: claim.DeleteOriginal})
			}, want: claim.ErrNoPendingClaim},
		{reason: "C1: MigrateContent is not a choice after an immediate claim", op: "Choose(ann, MigrateContent)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.MigrateContent})
			}, want: claim.ErrChoiceNotAllowed},
		{reason: "N5, C1: Action 0 (none) is bad input", op: "Choose(ann, Action 0)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return rfChoose(e, ann.ID, claim.Choice{})
			}, want: claim.ErrInvalidValue, field: "Choice.Action"},
		{reason: "N3, C1: Action 99 is bad input", op: "Choose(ann, Action 99)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return rfChoose(e, ann.ID, claim.Choice{Action: 99})
			}, want: claim.ErrInvalidValue, field: "Choice.Action"},
		{reason: "N3, C1: a NewEmail with DeleteOriginal is bad input", op: "Choose(ann, DeleteOriginal + NewEmail)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.DeleteOriginal, NewEmail: "ann.old@example.com"})
			}, want: claim.ErrInvalidValue, field: "Choice.NewEmail"},
		{reason: "N3, C1: a NewEmail with MigrateContent is bad input", op: "Choose(ivy, MigrateContent + NewEmail)",
			setup: func(t *testing.T, e *env) func() error {
				_, ivy := rfDelayed(t, e)
				rfMustSignIn(t, e, ivy.ID)
				return rfChoose(e, ivy.ID, claim.Choice{Action: claim.MigrateContent, NewEmail: "ivy.old@example.com"})
			}, want: claim.ErrInvalidValue, field: "Choice.NewEmail"},
		{reason: "C2: ChangeEmail to an address another account has", op: "Choose(ann, ChangeEmail NORA@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "NORA@example.com"})
			}, want: claim.ErrEmailTaken},
		{reason: "C2: ChangeEmail to the claimed user's own address", op: "Choose(ann, ChangeEmail ann@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "Ann@Example.com"})
			}, want: claim.ErrEmailTaken},
		{reason: "C2: ChangeEmail to a domain a third org has claimed", op: "Choose(ann, ChangeEmail ann@other.com)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				e.mustVerify(t, "c", "other.com")
				rfMustClaimDomain(t, e, "c", "other.com")
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann@other.com"})
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "C2: ChangeEmail to a domain the claiming org has claimed", op: "Choose(ann, ChangeEmail ann.old@example.com)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := signedIn(t, e)
				rfMustClaimDomain(t, e, "b", "example.com")
				return rfChoose(e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
			}, want: claim.ErrDomainClaimedByOther},
	})
}

// rfChoose returns the call Choose(id, ch).
func rfChoose(e *env, id claim.UserID, ch claim.Choice) func() error {
	return func() error {
		_, err := e.svc.Choose(e.ctx, id, ch)
		return err
	}
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
	rfRun(t, []rfCase{
		{reason: "X4: DaysLeft of a never-claimed user", op: "DaysLeft(nora)",
			setup: daysLeft(func(t *testing.T, e *env) claim.UserID { return rfBase(t, e).nora.ID }),
			want:  claim.ErrNoPendingClaim},
		{reason: "X4, R9: DaysLeft of a retracted user", op: "DaysLeft(ann) after Retract",
			setup: daysLeft(func(t *testing.T, e *env) claim.UserID {
				_, ann := rfClaimed(t, e)
				rfMustRetract(t, e, "b", ann.ID)
				return ann.ID
			}), want: claim.ErrNoPendingClaim},
		{reason: "X4: DaysLeft of an original account", op: "DaysLeft(original)",
			setup: daysLeft(func(t *testing.T, e *env) claim.UserID {
				_, ann := rfClaimed(t, e)
				return ann.Claim.Original
			}), want: claim.ErrNoPendingClaim},
		{reason: "X4: DaysLeft of an original account whose user was claimed before (it carries that ended record)", op: "DaysLeft(original of a re-claimed user)",
			setup: daysLeft(func(t *testing.T, e *env) claim.UserID {
				f := rfBase(t, e)
				e.mustVerify(t, "c", "example.com")
				e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
				rfMustSignIn(t, e, f.ann.ID)
				rfMustChoose(t, e, f.ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.ann.ID)
				return e.mustGet(t, f.ann.ID).Claim.Original
			}), want: claim.ErrNoPendingClaim},
	})
}

// --- Section 9: retraction (R1–R9) ---

func TestRefuseRetract(t *testing.T) {
	// claimed builds ann claimed by b, then applies the conditions.
	type cond struct{ signedIn, windowClosed, domainClaimed bool }
	claimed := func(c cond) func(t *testing.T, e *env) claim.User {
		return func(t *testing.T, e *env) claim.User {
			_, ann := rfClaimed(t, e)
			if c.signedIn {
				rfMustSignIn(t, e, ann.ID)
			}
			if c.domainClaimed {
				rfMustClaimDomain(t, e, "b", "example.com")
			}
			if c.windowClosed {
				e.clock.Advance(window)
			}
			return ann
		}
	}
	retract := func(org claim.OrgID, build func(t *testing.T, e *env) claim.User) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			u := build(t, e)
			return func() error { return e.svc.Retract(e.ctx, org, u.ID) }
		}
	}
	all := cond{true, true, true}
	others := []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}
	rfRun(t, []rfCase{
		{reason: "R1: an org that did not make the claim cannot retract it", op: "Retract(c, ann)",
			setup: retract("c", claimed(cond{})), want: claim.ErrNotClaimant, retract: []error{claim.ErrNotClaimant}},
		{reason: "R1: nor can the org the user was claimed from", op: "Retract(a, ann)",
			setup: retract("a", claimed(cond{})), want: claim.ErrNotClaimant, retract: []error{claim.ErrNotClaimant}},
		{reason: "R1, R7: another org learns only ErrNotClaimant, though R2, R3 and R4 apply", op: "Retract(c, ann) all reasons",
			setup: retract("c", claimed(all)), want: claim.ErrNotClaimant, not: others, retract: []error{claim.ErrNotClaimant}},
		{reason: "R1, R7: the source org learns only ErrNotClaimant, though R2, R3 and R4 apply", op: "Retract(a, ann) all reasons",
			setup: retract("a", claimed(all)), want: claim.ErrNotClaimant, not: others, retract: []error{claim.ErrNotClaimant}},
		{reason: "R1, R7: a stranger learns only ErrNotClaimant about a delayed claim past its deadline", op: "Retract(c, ivy) at 14d",
			setup: retract("c", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
				e.clock.Advance(window)
				return ivy
			}), want: claim.ErrNotClaimant, not: others, retract: []error{claim.ErrNotClaimant}},
		{reason: "R2: not after the user signed in", op: "Retract(b, ann) signed in",
			setup: retract("b", claimed(cond{signedIn: true})), want: claim.ErrSignedIn, retract: []error{claim.ErrSignedIn}},
		{reason: "R2: not after a delayed-claimed user signed in", op: "Retract(b, ivy) signed in",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
				rfMustSignIn(t, e, ivy.ID)
				return ivy
			}), want: claim.ErrSignedIn, retract: []error{claim.ErrSignedIn}},
		{reason: "R3: not at claim time + 14 days (immediate claim)", op: "Retract(b, ann) at 14d",
			setup: retract("b", claimed(cond{windowClosed: true})), want: claim.ErrRetractWindowClosed, retract: []error{claim.ErrRetractWindowClosed}},
		{reason: "R3, R9: not at claim time + 14 days (delayed claim, expired, not yet swept)", op: "Retract(b, ivy) at 14d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
				e.clock.Advance(window)
				return ivy
			}), want: claim.ErrRetractWindowClosed, retract: []error{claim.ErrRetractWindowClosed}},
		{reason: "R4: not while the claiming org claims the user's domain", op: "Retract(b, ann) domain claimed",
			setup: retract("b", claimed(cond{domainClaimed: true})), want: claim.ErrDomainClaimed, retract: []error{claim.ErrDomainClaimed}},
		{reason: "R7: signed in and window closed, both reported in order", op: "Retract(b, ann) R2+R3",
			setup: retract("b", claimed(cond{signedIn: true, windowClosed: true})), want: claim.ErrSignedIn,
			also: []error{claim.ErrRetractWindowClosed}, retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
		{reason: "R7: signed in and domain claimed, both reported in order", op: "Retract(b, ann) R2+R4",
			setup: retract("b", claimed(cond{signedIn: true, domainClaimed: true})), want: claim.ErrSignedIn,
			also: []error{claim.ErrDomainClaimed}, retract: []error{claim.ErrSignedIn, claim.ErrDomainClaimed}},
		{reason: "R7: window closed and domain claimed, both reported in order", op: "Retract(b, ann) R3+R4",
			setup: retract("b", claimed(cond{windowClosed: true, domainClaimed: true})), want: claim.ErrRetractWindowClosed,
			also: []error{claim.ErrDomainClaimed}, retract: []error{claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}},
		{reason: "R7: signed in, window closed and domain claimed, all three reported by one error in order", op: "Retract(b, ann) R2+R3+R4",
			setup: retract("b", claimed(all)), want: claim.ErrSignedIn,
			also: []error{claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}, not: []error{claim.ErrNotClaimant},
			retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}},
		{reason: "R9: a claim ended by a choice is judged like a pending one: signed in", op: "Retract(b, ann) after DeleteOriginal",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{signedIn: true})(t, e)
				rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				return ann
			}), want: claim.ErrSignedIn, not: []error{claim.ErrNoPendingClaim}, retract: []error{claim.ErrSignedIn}},
		{reason: "R9: a chosen claim past its window reports both reasons", op: "Retract(b, ann) after ChangeEmail at 20d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{signedIn: true})(t, e)
				rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
				e.clock.Advance(20 * 24 * time.Hour)
				return ann
			}), want: claim.ErrSignedIn, also: []error{claim.ErrRetractWindowClosed},
			retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
		{reason: "R9: a delayed claim ended by expiry and swept: the window is closed", op: "Retract(b, ivy) after Sweep",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
				e.clock.Advance(window)
				if rep, err := e.svc.Sweep(e.ctx); err != nil || rep.Expired != 1 {
					t.Fatalf("Sweep() = %+v, %v; want 1 expired", rep, err)
				}
				return ivy
			}), want: claim.ErrRetractWindowClosed, not: []error{claim.ErrNoPendingClaim, claim.ErrSignedIn},
			retract: []error{claim.ErrRetractWindowClosed}},
		{reason: "R9: a delayed claim signed in and then expired reports both reasons", op: "Retract(b, ivy) signed in, at 14d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
				rfMustSignIn(t, e, ivy.ID)
				e.clock.Advance(window)
				return ivy
			}), want: claim.ErrSignedIn, also: []error{claim.ErrRetractWindowClosed},
			retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
		{reason: "R9: an ended claim made by another org is ErrNotClaimant", op: "Retract(c, ann) after DeleteOriginal",
			setup: retract("c", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{signedIn: true})(t, e)
				rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				return ann
			}), want: claim.ErrNotClaimant, not: []error{claim.ErrSignedIn}, retract: []error{claim.ErrNotClaimant}},
		{reason: "R9: a retracted claim leaves no record: ErrNoPendingClaim", op: "Retract(b, ann) twice",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{})(t, e)
				rfMustRetract(t, e, "b", ann.ID)
				return ann
			}), want: claim.ErrNoPendingClaim},
		{reason: "R9: a never-claimed user: ErrNoPendingClaim", op: "Retract(b, nora)",
			setup: retract("b", func(t *testing.T, e *env) claim.User { return rfBase(t, e).nora }),
			want:  claim.ErrNoPendingClaim},
		{reason: "R9, H2: an original account has no claim record of its own", op: "Retract(b, original)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				return func() error { return e.svc.Retract(e.ctx, "b", ann.Claim.Original) }
			}, want: claim.ErrNoPendingClaim},
		{reason: "R9, H2: an original account carrying its user's earlier ended claim record is not judged by that record", op: "Retract(c, original of a re-claimed user)",
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				e.mustVerify(t, "c", "example.com")
				e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
				rfMustSignIn(t, e, f.ann.ID)
				rfMustChoose(t, e, f.ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.ann.ID)
				orig := e.mustGet(t, f.ann.ID).Claim.Original
				return func() error { return e.svc.Retract(e.ctx, "c", orig) }
			}, want: claim.ErrNoPendingClaim, not: []error{claim.ErrSignedIn, claim.ErrNotClaimant}},
	})
}

// --- G1: DeleteOrg ---

func TestRefuseDeleteOrg(t *testing.T) {
	rfRun(t, []rfCase{
		{reason: "G1: an org that made a claim inside its window cannot be deleted", op: "DeleteOrg(b)",
			setup: func(t *testing.T, e *env) func() error {
				rfClaimed(t, e)
				return func() error { return e.svc.DeleteOrg(e.ctx, "b") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: nor the org one of whose users is claimed, inside the window", op: "DeleteOrg(a)",
			setup: func(t *testing.T, e *env) func() error {
				rfClaimed(t, e)
				return func() error { return e.svc.DeleteOrg(e.ctx, "a") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: a signed-in claim still inside its window blocks too, up to its last nanosecond", op: "DeleteOrg(b) at 14d-1ns",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				rfMustSignIn(t, e, ann.ID)
				e.clock.Advance(window - 1)
				return func() error { return e.svc.DeleteOrg(e.ctx, "b") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: a delayed claim's source org, in the window's last nanosecond", op: "DeleteOrg(i) at 14d-1ns",
			setup: func(t *testing.T, e *env) func() error {
				rfDelayed(t, e)
				e.clock.Advance(window - 1)
				return func() error { return e.svc.DeleteOrg(e.ctx, "i") }
			}, want: claim.ErrPendingClaims},
	})
	t.Run("G1: at exactly 14 days both orgs may be deleted", func(t *testing.T) {
		e := newEnv(t)
		rfClaimed(t, e)
		e.clock.Advance(window)
		for _, o := range []claim.OrgID{"a", "b"} {
			if err := e.svc.DeleteOrg(e.ctx, o); err != nil {
				t.Errorf("DeleteOrg(%s) = %v, want nil", o, err)
			}
		}
	})
}

// --- Section 16: Policy ---

func TestRefusePolicy(t *testing.T) {
	rows := []struct {
		reason, field string
		edit          func(*claim.Policy)
	}{
		{"a zero claim window", "Policy.ClaimWindow", func(p *claim.Policy) { p.ClaimWindow = 0 }},
		{"a negative claim window", "Policy.ClaimWindow", func(p *claim.Policy) { p.ClaimWindow = -window }},
		{"a zero purge delay", "Policy.InactivePurge", func(p *claim.Policy) { p.InactivePurge = 0 }},
		{"a negative purge delay", "Policy.InactivePurge", func(p *claim.Policy) { p.InactivePurge = -1 }},
		{"a zero list limit", "Policy.ListLimit", func(p *claim.Policy) { p.ListLimit = 0 }},
		{"a negative list limit", "Policy.ListLimit", func(p *claim.Policy) { p.ListLimit = -1 }},
		{"a zero manual limit", "Policy.ManualLimit", func(p *claim.Policy) { p.ManualLimit = 0 }},
		{"a zero delayed-claim cutoff", "Policy.DelayedClaimCutoff", func(p *claim.Policy) { p.DelayedClaimCutoff = time.Time{} }},
		{"a negative sync threshold", "Policy.SyncDeleteThreshold", func(p *claim.Policy) { p.SyncDeleteThreshold = -0.01 }},
		{"a sync threshold over 1", "Policy.SyncDeleteThreshold", func(p *claim.Policy) { p.SyncDeleteThreshold = 1.01 }},
		{"a NaN sync threshold", "Policy.SyncDeleteThreshold", func(p *claim.Policy) { p.SyncDeleteThreshold = math.NaN() }},
		{"a negative sync minimum", "Policy.SyncDeleteMinimum", func(p *claim.Policy) { p.SyncDeleteMinimum = -1 }},
		{"a negative resend gap", "Policy.ActivationResendGap", func(p *claim.Policy) { p.ActivationResendGap = -time.Nanosecond }},
		{"an empty token prefix", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = "" }},
		{"a token prefix with a space", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = "cisco ci" }},
		{"a token prefix with '='", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = "a=b" }},
		{"a token prefix with a quote", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = `a"b` }},
		{"a non-ASCII token prefix", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = "vérification" }},
		{"a zero sweep batch", "Policy.SweepBatch", func(p *claim.Policy) { p.SweepBatch = 0 }},
	}
	for _, r := range rows {
		t.Run("Policy: "+r.reason, func(t *testing.T) {
			svc, err := claim.New(claim.NewMemoryStore(), rfPolicy(r.edit))
			rfWantInput(t, "New(WithPolicy)", svc, err, r.field)
		})
	}
	t.Run("Policy: the edge values that make sense are accepted", func(t *testing.T) {
		_, err := claim.New(claim.NewMemoryStore(), rfPolicy(func(p *claim.Policy) {
			p.ClaimWindow, p.InactivePurge, p.ListLimit, p.ManualLimit, p.SweepBatch = 1, 1, 1, 1, 1
			p.SyncDeleteThreshold, p.SyncDeleteMinimum, p.ActivationResendGap = 0, 0, 0
		}))
		if err != nil {
			t.Errorf("New(minimal policy) = %v, want nil", err)
		}
		if _, err := claim.New(claim.NewMemoryStore(), rfPolicy(func(p *claim.Policy) { p.SyncDeleteThreshold = 1 })); err != nil {
			t.Errorf("New(SyncDeleteThreshold 1) = %v, want nil", err)
		}
	})
	t.Run("New(nil) is refused", func(t *testing.T) {
		svc, err := claim.New(nil)
		rfWantInput(t, "New(nil)", svc, err, "store")
	})
	t.Run("New with a nil clock is refused", func(t *testing.T) {
		svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(nil))
		rfWantInput(t, "New(WithClock(nil))", svc, err, "WithClock")
	})
	t.Run("New with a nil resolver is refused", func(t *testing.T) {
		svc, err := claim.New(claim.NewMemoryStore(), claim.WithResolver(nil))
		rfWantInput(t, "New(WithResolver(nil))", svc, err, "WithResolver")
	})
	t.Run("New with a nil logger is refused", func(t *testing.T) {
		svc, err := claim.New(claim.NewMemoryStore(), claim.WithLogger(nil))
		rfWantInput(t, "New(WithLogger(nil))", svc, err, "WithLogger")
	})
}

func rfWantInput(t *testing.T, op string, svc *claim.Service, err error, field string) {
	t.Helper()
	if !errors.Is(err, claim.ErrInvalidValue) {
		t.Errorf("%s = %v, want %v", op, err, claim.ErrInvalidValue)
	}
	var ie *claim.InputError
	if !errors.As(err, &ie) || ie.Field != field {
		t.Errorf("%s = %v, want an *InputError naming %s", op, err, field)
	}
	if svc != nil {
		t.Errorf("%s returned a Service with its error", op)
	}
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
			func(e *env, ivy claim.User) error { return rfClaimOne(e, "c", string(ivy.ID), false) }, claim.ErrNotEligible},
	}
	for _, r := range rows {
		t.Run(r.reason, func(t *testing.T) {
			e := newEnv(t)
			_, ivy := rfDelayed(t, e)
			e.clock.Advance(window) // the deadline: expired, nothing persisted yet
			before, rest := e.snapshot(t, rfOrgs...), rfRestOf(t, e)

			if err := r.call(e, ivy); !errors.Is(err, r.want) {
				t.Errorf("%s = %v, want %v", r.op, err, r.want)
			}

			e.unchanged(t, before, rfOrgs...)
			if diff := cmp.Diff(rest, rfRestOf(t, e), claimtest.CmpOptions()); diff != "" {
				t.Errorf("orgs or domains changed (-before +after):\n%s", diff)
			}
			if n := rfCount(t, e, claim.EventClaimExpired); n != 0 {
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
			if n := rfCount(t, e, claim.EventClaimExpired); n != 1 {
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
			_, u = rfClaimed(t, e)
		} else {
			_, u = rfDelayed(t, e)
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
		_, ann := rfClaimed(t, e)
		rfMustSignIn(t, e, ann.ID)
		rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
		if got, err := e.svc.DaysLeft(e.ctx, ann.ID); err != nil || got != 0 {
			t.Errorf("DaysLeft(chosen) = %d, %v; want 0, nil", got, err)
		}
	})
}

func TestRefuseRetractWindowBoundary(t *testing.T) {
	for _, mode := range []string{"immediate", "delayed"} {
		t.Run("R3: "+mode+" claim retractable at 14d-1ns", func(t *testing.T) {
			e := newEnv(t)
			var u claim.User
			if mode == "immediate" {
				_, u = rfClaimed(t, e)
			} else {
				_, u = rfDelayed(t, e)
			}
			e.clock.Advance(window - 1)
			if err := e.svc.Retract(e.ctx, "b", u.ID); err != nil {
				t.Fatalf("Retract() at 14d-1ns = %v, want nil", err)
			}
			if got := e.mustGet(t, u.ID); got.Org == "b" || got.Claim != nil {
				t.Errorf("User() after Retract = org %s, claim %+v; want back in its org, no claim", got.Org, got.Claim)
			}
		})
		t.Run("R3: "+mode+" claim not retractable at exactly 14d", func(t *testing.T) {
			e := newEnv(t)
			var u claim.User
			if mode == "immediate" {
				_, u = rfClaimed(t, e)
			} else {
				_, u = rfDelayed(t, e)
			}
			e.clock.Advance(window)
			before := e.snapshot(t, rfOrgs...)
			if err := e.svc.Retract(e.ctx, "b", u.ID); !errors.Is(err, claim.ErrRetractWindowClosed) {
				t.Fatalf("Retract() at 14d = %v, want %v", err, claim.ErrRetractWindowClosed)
			}
			e.unchanged(t, before, rfOrgs...)
		})
	}
	t.Run("R8: Retractable lists the claim at 14d-1ns and not at 14d", func(t *testing.T) {
		e := newEnv(t)
		_, ann := rfClaimed(t, e)
		for _, c := range []struct {
			at   time.Duration
			want int
		}{{window - 1, 1}, {window, 0}} {
			e.clock.Set(t0.Add(c.at))
			n := 0
			for u, err := range e.svc.Retractable(e.ctx, "b") {
				if err != nil {
					t.Fatalf("Retractable() = %v", err)
				}
				if u.ID == ann.ID {
					n++
				}
			}
			if n != c.want {
				t.Errorf("Retractable(b) at claim+%v lists ann %d times, want %d", c.at, n, c.want)
			}
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
			rfBase(t, e)
			rfMustSettings(t, e, "b", claim.Settings{AllowContentMigration: true})
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
			f := rfBase(t, e)
			if n, err := e.svc.NudgeUnverified(e.ctx, "a"); err != nil || n != 1 {
				t.Fatalf("NudgeUnverified(a) = %d, %v; want 1 (nora)", n, err)
			}
			e.clock.Advance(r.after)
			before := e.snapshot(t, rfOrgs...)
			n, err := e.svc.NudgeUnverified(e.ctx, "a")
			if err != nil || n != r.want {
				t.Fatalf("NudgeUnverified(a) after %v = %d, %v; want %d", r.after, n, err, r.want)
			}
			if r.want == 0 {
				e.unchanged(t, before, rfOrgs...)
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

// TestRefuseLengthBoundaries: the longest valid values are accepted and
// one more octet is refused (N1, N2, N4).
func TestRefuseLengthBoundaries(t *testing.T) {
	t.Run("N4: a 235-octet address can be claimed (its original's address is 254 octets); 236 cannot", func(t *testing.T) {
		e := newEnv(t)
		rfBase(t, e)
		e.mustVerify(t, "b", rfLongDomain)
		ok := e.mustActive(t, "a", rfLongAddr(235), 1)
		long := e.mustActive(t, "a", rfLongAddr(236), 1)
		res, err := e.svc.ClaimUsers(e.ctx, "b", []claim.UserID{ok.ID, long.ID}, claim.ClaimOptions{Acknowledge: true})
		if err != nil {
			t.Fatalf("ClaimUsers() = %v", err)
		}
		if res[0].Err != nil {
			t.Errorf("ClaimUsers(235 octets).Err = %v, want nil", res[0].Err)
		}
		if !errors.Is(res[1].Err, claim.ErrInvalidEmail) {
			t.Errorf("ClaimUsers(236 octets).Err = %v, want %v", res[1].Err, claim.ErrInvalidEmail)
		}
		orig, err := e.svc.UserByEmail(e.ctx, ok.Email+".convert-user.local")
		if err != nil || len(orig.Email) != 254 {
			t.Errorf("UserByEmail(original) = %q, %v; want a 254-octet address", orig.Email, err)
		}
	})
	t.Run("N1: a 254-octet address is accepted, 255 refused", func(t *testing.T) {
		e := newEnv(t)
		rfBase(t, e)
		d := rfDomainOf(189, 63)
		if _, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: strings.Repeat("l", 64) + "@" + d}); err != nil {
			t.Errorf("AddUser(254 octets) = %v, want nil", err)
		}
		if _, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: strings.Repeat("m", 64) + "@" + rfDomainOf(190, 63)}); !errors.Is(err, claim.ErrInvalidEmail) {
			t.Errorf("AddUser(255 octets) = %v, want %v", err, claim.ErrInvalidEmail)
		}
	})
	t.Run("N1: a 64-character local part is accepted", func(t *testing.T) {
		e := newEnv(t)
		rfBase(t, e)
		if _, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: strings.Repeat("l", 64) + "@example.com"}); err != nil {
			t.Errorf("AddUser(64-character local part) = %v, want nil", err)
		}
	})
	t.Run("N2: a 253-octet domain and a 63-octet label are accepted", func(t *testing.T) {
		e := newEnv(t)
		rfBase(t, e)
		for _, d := range []string{rfDomainOf(253, 63), rfDomainOf(253, 63) + ".", strings.Repeat("x", 63) + ".com"} {
			if _, err := e.svc.StartDomainVerification(e.ctx, "a", d); err != nil {
				t.Errorf("StartDomainVerification(%d octets) = %v, want nil", len(d), err)
			}
		}
	})
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
