package claim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/claimkit/claim"
)

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
