package claim_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/claimkit/claim"
)

func TestRefuseNotFound(t *testing.T) {
	type call = func(e *env, f rowFixture) error
	rows := []struct {
		reason, op string
		call       call
	}{
		{"N3: AddUser to an unknown org", "AddUser(zz)", func(e *env, f rowFixture) error {
			_, err := e.svc.AddUser(e.ctx, "zz", claim.NewUser{Email: "new@example.com"})
			return err
		}},
		{"N3: Org of an unknown org", "Org(zz)", func(e *env, f rowFixture) error {
			_, err := e.svc.Org(e.ctx, "zz")
			return err
		}},
		{"N3: UpdateSettings of an unknown org", "UpdateSettings(zz)", func(e *env, f rowFixture) error {
			return e.svc.UpdateSettings(e.ctx, "zz", claim.Settings{})
		}},
		{"N3, G1: DeleteOrg of an unknown org", "DeleteOrg(zz)", func(e *env, f rowFixture) error {
			return e.svc.DeleteOrg(e.ctx, "zz")
		}},
		{"N3: User of an unknown user", "User(nobody)", func(e *env, f rowFixture) error {
			_, err := e.svc.User(e.ctx, "usr_nobody")
			return err
		}},
		{"N3: UserByEmail of an address no account has", "UserByEmail(nobody)", func(e *env, f rowFixture) error {
			_, err := e.svc.UserByEmail(e.ctx, "nobody@example.com")
			return err
		}},
		{"N3: Users of an unknown org", "Users(zz)", func(e *env, f rowFixture) error {
			return firstErr(e.svc.Users(e.ctx, "zz"))
		}},
		{"N3: Domains of an unknown org", "Domains(zz)", func(e *env, f rowFixture) error {
			_, err := e.svc.Domains(e.ctx, "zz")
			return err
		}},
		{"N3, U3: VerifyEmail of an unknown user", "VerifyEmail(nobody)", func(e *env, f rowFixture) error {
			_, err := e.svc.VerifyEmail(e.ctx, "usr_nobody")
			return err
		}},
		{"N3, U4: SignIn of an unknown user", "SignIn(nobody)", func(e *env, f rowFixture) error {
			_, err := e.svc.SignIn(e.ctx, "usr_nobody")
			return err
		}},
		{"N3, U5: Deactivate by an unknown org", "Deactivate(zz, ann)", func(e *env, f rowFixture) error {
			_, err := e.svc.Deactivate(e.ctx, "zz", f.ann.ID)
			return err
		}},
		{"N3, U5: Deactivate of an unknown user", "Deactivate(a, nobody)", func(e *env, f rowFixture) error {
			_, err := e.svc.Deactivate(e.ctx, "a", "usr_nobody")
			return err
		}},
		{"N3, U5: Deactivate of a user not in the acting org", "Deactivate(b, ann)", func(e *env, f rowFixture) error {
			_, err := e.svc.Deactivate(e.ctx, "b", f.ann.ID)
			return err
		}},
		{"N3, U6: DeleteUser of a user not in the acting org", "DeleteUser(c, ann)", func(e *env, f rowFixture) error {
			return e.svc.DeleteUser(e.ctx, "c", f.ann.ID)
		}},
		{"N3, U6: DeleteUser of an unknown user", "DeleteUser(a, nobody)", func(e *env, f rowFixture) error {
			return e.svc.DeleteUser(e.ctx, "a", "usr_nobody")
		}},
		{"N3, U6: DeleteUser by an unknown org", "DeleteUser(zz, ann)", func(e *env, f rowFixture) error {
			return e.svc.DeleteUser(e.ctx, "zz", f.ann.ID)
		}},
		{"N3, U7: NudgeUnverified of an unknown org", "NudgeUnverified(zz)", func(e *env, f rowFixture) error {
			_, err := e.svc.NudgeUnverified(e.ctx, "zz")
			return err
		}},
		{"N3, X5: RemindDelayed of an unknown org", "RemindDelayed(zz)", func(e *env, f rowFixture) error {
			_, err := e.svc.RemindDelayed(e.ctx, "zz")
			return err
		}},
		{"N3, D1: StartDomainVerification by an unknown org", "StartDomainVerification(zz)", func(e *env, f rowFixture) error {
			_, err := e.svc.StartDomainVerification(e.ctx, "zz", "example.com")
			return err
		}},
		{"N3, D1: ConfirmDomain by an unknown org", "ConfirmDomain(zz)", func(e *env, f rowFixture) error {
			return e.svc.ConfirmDomain(e.ctx, "zz", "example.com")
		}},
		{"N3, D3: ClaimDomain by an unknown org", "ClaimDomain(zz)", func(e *env, f rowFixture) error {
			return e.svc.ClaimDomain(e.ctx, "zz", "example.com")
		}},
		{"N3, D4: ReleaseDomain by an unknown org", "ReleaseDomain(zz)", func(e *env, f rowFixture) error {
			return e.svc.ReleaseDomain(e.ctx, "zz", "example.com")
		}},
		{"N3, D4: UnverifyDomain by an unknown org", "UnverifyDomain(zz)", func(e *env, f rowFixture) error {
			return e.svc.UnverifyDomain(e.ctx, "zz", "example.com")
		}},
		{"N3, D4: UnverifyDomain of a domain the org has no record of", "UnverifyDomain(c, example.com)", func(e *env, f rowFixture) error {
			return e.svc.UnverifyDomain(e.ctx, "c", "example.com")
		}},
		{"N3, E8: Claimable of an unknown org", "Claimable(zz)", func(e *env, f rowFixture) error {
			return firstErr(e.svc.Claimable(e.ctx, "zz"))
		}},
		{"N3, E8: Eligibility for an unknown org", "Eligibility(zz, ann)", func(e *env, f rowFixture) error {
			_, err := e.svc.Eligibility(e.ctx, "zz", f.ann.Email)
			return err
		}},
		{"N3: Eligibility of an address no account has", "Eligibility(b, nobody)", func(e *env, f rowFixture) error {
			_, err := e.svc.Eligibility(e.ctx, "b", "nobody@example.com")
			return err
		}},
		{"N3, K5: ClaimUsers of an unknown ID is refused in its result", "ClaimUsers(b, nobody)", func(e *env, f rowFixture) error {
			return claimSingle(e, "b", "usr_nobody", false)
		}},
		{"N3, K5: ClaimEmails of an address no account has is refused in its result", "ClaimEmails(b, nobody)", func(e *env, f rowFixture) error {
			return claimSingle(e, "b", "nobody@example.com", true)
		}},
		{"N3, E8: ClaimUsers by an unknown org is a call-level refusal", "ClaimUsers(zz, ann)", func(e *env, f rowFixture) error {
			_, err := e.svc.ClaimUsers(e.ctx, "zz", []claim.UserID{f.ann.ID}, claim.ClaimOptions{Acknowledge: true})
			return err
		}},
		{"N3, E8: ClaimEmails by an unknown org is a call-level refusal", "ClaimEmails(zz, ann)", func(e *env, f rowFixture) error {
			_, err := e.svc.ClaimEmails(e.ctx, "zz", []string{f.ann.Email}, claim.ClaimOptions{Acknowledge: true})
			return err
		}},
		{"N3, R7: Retract by an unknown org", "Retract(zz, ann)", func(e *env, f rowFixture) error {
			return e.svc.Retract(e.ctx, "zz", f.ann.ID)
		}},
		{"N3, R7: Retract of an unknown user", "Retract(b, nobody)", func(e *env, f rowFixture) error {
			return e.svc.Retract(e.ctx, "b", "usr_nobody")
		}},
		{"N3, R8: Retractable of an unknown org", "Retractable(zz)", func(e *env, f rowFixture) error {
			return firstErr(e.svc.Retractable(e.ctx, "zz"))
		}},
		{"N3, C1: Choose of an unknown user", "Choose(nobody)", func(e *env, f rowFixture) error {
			_, err := e.svc.Choose(e.ctx, "usr_nobody", claim.Choice{Action: claim.DeleteOriginal})
			return err
		}},
		{"N3, X4: DaysLeft of an unknown user", "DaysLeft(nobody)", func(e *env, f rowFixture) error {
			_, err := e.svc.DaysLeft(e.ctx, "usr_nobody")
			return err
		}},
	}
	var cases []refusalCase
	for _, r := range rows {
		cases = append(cases, refusalCase{
			reason: r.reason, op: r.op,
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				return func() error { return r.call(e, f) }
			},
			want: claim.ErrNotFound,
		})
	}
	cases = append(cases,
		refusalCase{
			reason: "N3, U5: Reactivate of an Inactive user not in the acting org", op: "Reactivate(c, nora)",
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				mustDeactivate(t, e, "a", f.nora.ID)
				return func() error {
					_, err := e.svc.Reactivate(e.ctx, "c", f.nora.ID)
					return err
				}
			},
			want: claim.ErrNotFound,
		},
		refusalCase{
			reason: "N3, U5: Deactivate by the source org of a user claimed away", op: "Deactivate(a, ann)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				return func() error {
					_, err := e.svc.Deactivate(e.ctx, "a", ann.ID)
					return err
				}
			},
			want: claim.ErrNotFound,
		},
		refusalCase{
			reason: "N3, H2: Deactivate by the claiming org of the original account it holds", op: "Deactivate(b, original)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				return func() error {
					_, err := e.svc.Deactivate(e.ctx, "b", ann.Claim.Original)
					return err
				}
			},
			want: claim.ErrNotFound, not: []error{claim.ErrHeldByClaim},
		},
	)
	runRefusals(t, cases)
}

// TestInputErrorBounded: an *InputError keeps the first 64 bytes of a long
// value, cut at a character boundary, with the value's size, and quotes
// only that (N3).
func TestInputErrorBounded(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		reason, value, wantValue string
	}{
		{"a 10 MB ASCII name", strings.Repeat("a", 10<<20), strings.Repeat("a", 64)},
		{"a long name of 2-byte characters, cut between them", "\x00" + strings.Repeat("é", 100), "\x00" + strings.Repeat("é", 31)},
		{"a long name of 4-byte characters, cut between them", "\x00" + strings.Repeat("𝔸", 100), "\x00" + strings.Repeat("𝔸", 15)},
	} {
		_, err := e.svc.CreateOrg(e.ctx, claim.Org{Name: c.value, Kind: claim.Enterprise})
		var ie *claim.InputError
		if !errors.As(err, &ie) || !errors.Is(err, claim.ErrInvalidValue) || ie.Field != "Org.Name" {
			t.Fatalf("%s: CreateOrg = %v, want an *InputError (ErrInvalidValue) for Org.Name", c.reason, err)
		}
		if ie.Value != c.wantValue || ie.Size != len(c.value) {
			t.Errorf("%s: Value %q (%d bytes), Size %d; want %q and %d", c.reason, ie.Value, len(ie.Value), ie.Size, c.wantValue, len(c.value))
		}
		if want := fmt.Sprintf("%q… (%d bytes)", c.wantValue, len(c.value)); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q does not quote %s", c.reason, err, want)
		}
	}
	// A short value is kept whole, without a size.
	_, err := e.svc.CreateOrg(e.ctx, claim.Org{Name: "a\x00b", Kind: claim.Enterprise})
	var ie *claim.InputError
	if !errors.As(err, &ie) || ie.Value != "a\x00b" || ie.Size != 0 || !strings.HasPrefix(err.Error(), `claim: Org.Name "a\x00b": `) {
		t.Errorf("CreateOrg(a NUL b) = %#v, want the whole value quoted and no size", err)
	}
}

// TestNotFoundSameText (N3): an admin operation on a user of another org
// fails with exactly the error of a user that does not exist.
func TestNotFoundSameText(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "acme", claim.Enterprise, t0, claim.Settings{})
	e.mustOrg(t, "beta", claim.Enterprise, t0, claim.Settings{})
	bob := e.mustUser(t, "beta", "bob@beta.example", 0)
	for _, op := range []struct {
		name string
		run  func(id claim.UserID) error
	}{
		{"Deactivate", func(id claim.UserID) error { _, err := e.svc.Deactivate(e.ctx, "acme", id); return err }},
		{"Reactivate", func(id claim.UserID) error { _, err := e.svc.Reactivate(e.ctx, "acme", id); return err }},
		{"DeleteUser", func(id claim.UserID) error { return e.svc.DeleteUser(e.ctx, "acme", id) }},
	} {
		// The same ID, once of beta's user and once of nobody.
		other := op.run(bob.ID)
		if err := e.svc.DeleteUser(e.ctx, "beta", bob.ID); err != nil {
			t.Fatalf("DeleteUser(beta) = %v", err)
		}
		unknown := op.run(bob.ID)
		if !errors.Is(other, claim.ErrNotFound) || other == nil || unknown == nil || other.Error() != unknown.Error() {
			t.Errorf("%s: another org's user %v, an unknown user %v; want the same ErrNotFound", op.name, other, unknown)
		}
		if strings.Contains(other.Error(), "beta") {
			t.Errorf("%s: %q names the user's org", op.name, other)
		}
		bob = e.mustUser(t, "beta", "bob@beta.example", 0)
	}
}
