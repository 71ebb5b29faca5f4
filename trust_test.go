package claim_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/claimkit/claim"
)

// bwClaimedWorld is bwWorld with example.com claimed by the customer org
// other, and carl@example.com a user of the consumer org (added before
// the claim).
func bwClaimedWorld(tb testing.TB) *env {
	tb.Helper()
	e := bwWorld(tb)
	e.mustUser(tb, bwConsumer, "carl@example.com", 4)
	e.mustVerify(tb, bwOther, "example.com")
	if err := e.svc.ClaimDomain(e.ctx, bwOther, "example.com"); err != nil {
		tb.Fatalf("ClaimDomain = %v", err)
	}
	return e
}

// TestBroadWorksDomainClaimedByOther (must-show 5): provisioning an
// address on a domain another org has claimed is refused with
// ErrDomainClaimedByOther in all three flows of B1, at each step that
// places the address, and writes nothing (D6, as AddUser refuses it, U2).
func TestBroadWorksDomainClaimedByOther(t *testing.T) {
	for _, c := range []struct {
		reason string
		run    func(t *testing.T, e *env, mark func()) error // mark: the setup is done
	}{
		{"trusted flow: ProvisionSubscriber of an address nobody has", func(t *testing.T, e *env, mark func()) error {
			e.mustEnterprise(t, "ent", true, "")
			mark()
			_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, bwPartner, "ent", claim.NewSubscriber{ID: "s1", Email: "new@example.com"})
			return err
		}},
		{"trusted flow: ProvisionSubscriber of a consumer's address (no consent can be provisioned)", func(t *testing.T, e *env, mark func()) error {
			e.mustEnterprise(t, "ent", true, "")
			mark()
			_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, bwPartner, "ent", claim.NewSubscriber{ID: "s1", Email: "carl@example.com"})
			return err
		}},
		{"trusted flow: the second subscriber, in the enterprise's existing org", func(t *testing.T, e *env, mark func()) error {
			e.mustEnterprise(t, "ent", true, "")
			e.mustProvision(t, "ent", "s0", "first@mail.example")
			mark()
			_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, bwPartner, "ent", claim.NewSubscriber{ID: "s1", Email: "new@example.com"})
			return err
		}},
		{"untrusted flow: EnterEmail", func(t *testing.T, e *env, mark func()) error {
			e.mustEnterprise(t, "ent", false, "")
			e.mustProvision(t, "ent", "s1", "")
			mark()
			_, err := e.svc.BroadWorks().EnterEmail(e.ctx, "s1", "new@example.com")
			return err
		}},
		{"self-activation: SelfActivate", func(t *testing.T, e *env, mark func()) error {
			e.mustEnterprise(t, "ent", false, "")
			mark()
			_, err := e.svc.BroadWorks().SelfActivate(e.ctx, "ent", claim.NewSubscriber{ID: "s1", Email: "new@example.com"})
			return err
		}},
	} {
		t.Run(c.reason, func(t *testing.T) {
			e := bwClaimedWorld(t)
			var before uint64
			err := c.run(t, e, func() { before = lastSeq(t, e) })
			if !errors.Is(err, claim.ErrDomainClaimedByOther) {
				t.Fatalf("err = %v, want %v", err, claim.ErrDomainClaimedByOther)
			}
			if strings.Contains(err.Error(), `"`+string(bwOther)+`"`) {
				t.Errorf("error %q names the claiming org (N3)", err)
			}
			if after := lastSeq(t, e); after != before {
				t.Errorf("the event log went from %d to %d: a refusal writes nothing", before, after)
			}
			if _, err := e.svc.UserByEmail(e.ctx, "new@example.com"); !errors.Is(err, claim.ErrNotFound) {
				t.Errorf("UserByEmail(new@example.com) = %v, want ErrNotFound: no account was created", err)
			}
			if u, err := e.svc.UserByEmail(e.ctx, "carl@example.com"); err != nil || u.Org != bwConsumer {
				t.Errorf("carl = %+v, %v; want the consumer's user, untouched", u, err)
			}
		})
	}
}

// TestBroadWorksDomainClaimedMeanwhile: a domain claimed between the
// steps of a flow refuses the next step that places the address or
// creates the account — ValidateEmail (untrusted, self-activation) and
// Consent (trusted, a consumer's address) — with ErrDomainClaimedByOther.
func TestBroadWorksDomainClaimedMeanwhile(t *testing.T) {
	for _, c := range []struct {
		reason string
		before func(t *testing.T, e *env) // runs before the claim
		after  func(e *env) error         // runs after it
	}{
		{"untrusted flow: ValidateEmail", func(t *testing.T, e *env) {
			e.mustEnterprise(t, "ent", false, "")
			e.mustProvision(t, "ent", "s1", "")
			if _, err := e.svc.BroadWorks().EnterEmail(e.ctx, "s1", "new@example.com"); err != nil {
				t.Fatalf("EnterEmail = %v", err)
			}
		}, func(e *env) error { _, err := e.svc.BroadWorks().ValidateEmail(e.ctx, "s1"); return err }},
		{"self-activation: ValidateEmail", func(t *testing.T, e *env) {
			e.mustEnterprise(t, "ent", false, "")
			if _, err := e.svc.BroadWorks().SelfActivate(e.ctx, "ent", claim.NewSubscriber{ID: "s1", Email: "new@example.com"}); err != nil {
				t.Fatalf("SelfActivate = %v", err)
			}
		}, func(e *env) error { _, err := e.svc.BroadWorks().ValidateEmail(e.ctx, "s1"); return err }},
		{"trusted flow: Consent", func(t *testing.T, e *env) {
			e.mustEnterprise(t, "ent", true, "")
			if s := e.mustProvision(t, "ent", "s1", "carl@example.com"); s.Status != claim.StatusPendingUserMigration {
				t.Fatalf("status %s, want %s", s.Status, claim.StatusPendingUserMigration)
			}
		}, func(e *env) error { _, err := e.svc.BroadWorks().Consent(e.ctx, "s1"); return err }},
	} {
		t.Run(c.reason, func(t *testing.T) {
			e := bwWorld(t)
			e.mustUser(t, bwConsumer, "carl@example.com", 4)
			c.before(t, e)
			e.mustVerify(t, bwOther, "example.com")
			if err := e.svc.ClaimDomain(e.ctx, bwOther, "example.com"); err != nil {
				t.Fatalf("ClaimDomain = %v", err)
			}
			before := lastSeq(t, e)
			if err := c.after(e); !errors.Is(err, claim.ErrDomainClaimedByOther) {
				t.Fatalf("err = %v, want %v", err, claim.ErrDomainClaimedByOther)
			}
			if after := lastSeq(t, e); after != before {
				t.Errorf("the event log went from %d to %d: a refusal writes nothing", before, after)
			}
			if u, err := e.svc.UserByEmail(e.ctx, "carl@example.com"); err != nil || u.Org != bwConsumer || u.Content != 4 {
				t.Errorf("carl = %+v, %v; want the consumer's user with its content", u, err)
			}
		})
	}
}

// TestBroadWorksOwnClaimedDomain: the enterprise's own org may have
// claimed the domain: its subscribers there are provisioned (D6 refuses
// other orgs only).
func TestBroadWorksOwnClaimedDomain(t *testing.T) {
	e := bwWorld(t)
	e.mustEnterprise(t, "ent", true, "")
	first := e.mustProvision(t, "ent", "s0", "first@mail.example")
	u := e.mustGet(t, first.User)
	e.mustVerify(t, u.Org, "example.com")
	if err := e.svc.ClaimDomain(e.ctx, u.Org, "example.com"); err != nil {
		t.Fatalf("ClaimDomain = %v", err)
	}
	s := e.mustProvision(t, "ent", "s1", "new@example.com")
	if s.Status != claim.StatusProvisioned || e.mustGet(t, s.User).Org != u.Org {
		t.Errorf("subscriber %+v, want provisioned in %s", s, u.Org)
	}
}

// TestTrailingDotAddress: N1 removes one trailing dot from an address's
// domain, as N2 does from a domain name; two dots stay refused.
func TestTrailingDotAddress(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "acme", claim.Enterprise, t0, claim.Settings{})
	for _, c := range []struct{ in, want string }{
		{"Dot@Example.com.", "dot@example.com"},
		{"Named Dot <Named@Example.com.>", "named@example.com"},
		{"  spaced@example.com.  ", "spaced@example.com"},
	} {
		u, err := e.svc.AddUser(e.ctx, "acme", claim.NewUser{Email: c.in})
		if err != nil || u.Email != c.want {
			t.Errorf("AddUser(%q) = %q, %v; want %q", c.in, u.Email, err, c.want)
		}
		if got, err := claim.NormalizeEmail(strings.TrimPrefix(c.in, "Named Dot ")); c.in[0] != 'N' && (err != nil || got != c.want) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := e.svc.UserByEmail(e.ctx, "DOT@example.COM."); err != nil {
		t.Errorf("UserByEmail with a trailing dot = %v, want the user", err)
	}
	for _, in := range []string{"two@example.com..", "dot@.", "dot@example..com", "dot.@example.com"} {
		var ie *claim.InputError
		if _, err := claim.NormalizeEmail(in); !errors.As(err, &ie) || !errors.Is(err, claim.ErrInvalidEmail) {
			t.Errorf("NormalizeEmail(%q) = %v, want an *InputError (ErrInvalidEmail)", in, err)
		}
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

// TestAddressInputLimit: an address as given may be up to MaxInputBytes
// long (spaces around it included); one byte more is refused before it is
// parsed.
func TestAddressInputLimit(t *testing.T) {
	pad := func(n int) string {
		a := "ann@example.com"
		left := (n - len(a)) / 2
		return strings.Repeat(" ", left) + a + strings.Repeat(" ", n-len(a)-left)
	}
	if got, err := claim.NormalizeEmail(pad(claim.MaxInputBytes)); err != nil || got != "ann@example.com" {
		t.Errorf("NormalizeEmail(%d bytes) = %q, %v; want ann@example.com", claim.MaxInputBytes, got, err)
	}
	_, err := claim.NormalizeEmail(pad(claim.MaxInputBytes + 1))
	var ie *claim.InputError
	if !errors.As(err, &ie) || !errors.Is(err, claim.ErrInvalidEmail) || !strings.Contains(ie.Reason, "1024 bytes") {
		t.Errorf("NormalizeEmail(%d bytes) = %v, want an *InputError: longer than 1024 bytes", claim.MaxInputBytes+1, err)
	}
	// A parser's reason quoting the rest of the input is cut too.
	junk := "ann@example.com " + strings.Repeat("x", 990)
	if _, err := claim.NormalizeEmail(junk); !errors.As(err, &ie) || len(ie.Reason) > 260 || len(err.Error()) > 600 {
		t.Errorf("NormalizeEmail(1006 bytes of junk) = %v (%d bytes), want an *InputError with a bounded reason", err, len(fmt.Sprint(err)))
	}
	for _, in := range []string{"ann\u200b9@acme.com", "ann\u202e9@acme.com", "ann@acme\u00ad.com", "ann\ufe0f@acme.com", "ann@acme.com\x00"} {
		_, err := claim.NormalizeEmail(in)
		if !errors.As(err, &ie) || !strings.Contains(ie.Reason, "character U+") {
			t.Errorf("NormalizeEmail(%q) = %v, want an *InputError naming the character", in, err)
		}
	}
}
