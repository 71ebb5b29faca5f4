package claim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/claimkit/claim"
)

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
		{"254 octets", domainOfLen(254, 63)},
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
	var cases []refusalCase
	for _, b := range bad {
		for _, op := range ops {
			cases = append(cases, refusalCase{
				reason: fmt.Sprintf("N2: %s refuses a domain with %s", op.name, b.why),
				op:     fmt.Sprintf("%s(b, %q)", op.name, b.name),
				setup: func(t *testing.T, e *env) func() error {
					baseFixture(t, e)
					return func() error { return op.call(e, b.name) }
				},
				want: claim.ErrInvalidDomain, field: "domain",
			})
		}
	}
	runRefusals(t, cases)
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
	runRefusals(t, []refusalCase{
		{reason: "D1: ConfirmDomain with TXT records none of which equals the token", op: "ConfirmDomain(a, acme.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				tok := started("a", "acme.com")(t, e)
				e.dns.Set("acme.com", "v=spf1 -all", tok+"x", "cisco-ci-domain-verification=wrong")
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D1: ConfirmDomain when the resolver has no records at all", op: "ConfirmDomain(a, acme.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				started("a", "acme.com")(t, e)
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D1: a token is bound to its org: another org's token does not verify", op: "ConfirmDomain(a, acme.com) with c's token",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				started("a", "acme.com")(t, e)
				e.dns.Set("acme.com", started("c", "acme.com")(t, e))
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D1: a token is bound to its domain: published on another domain it does not verify", op: "ConfirmDomain(a, acme.com) with its token on other.com",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				tok := started("a", "acme.com")(t, e)
				e.dns.Set("other.com", tok)
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D1: ConfirmDomain of a verification never started", op: "ConfirmDomain(a, acme.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				e.dns.Set("acme.com", "cisco-ci-domain-verification=anything")
				return func() error { return e.svc.ConfirmDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrNotFound},
		{reason: "D1, D4: ConfirmDomain after the verification was removed", op: "ConfirmDomain(b, example.com) after UnverifyDomain",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				if err := e.svc.UnverifyDomain(e.ctx, "b", "example.com"); err != nil {
					t.Fatalf("UnverifyDomain = %v", err)
				}
				return func() error { return e.svc.ConfirmDomain(e.ctx, "b", "example.com") }
			}, want: claim.ErrNotFound},
		{reason: "D3: ClaimDomain of a domain the org never started verifying", op: "ClaimDomain(a, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error { return e.svc.ClaimDomain(e.ctx, "a", "example.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D3: ClaimDomain of a domain whose verification is started but not confirmed", op: "ClaimDomain(a, acme.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				started("a", "acme.com")(t, e)
				return func() error { return e.svc.ClaimDomain(e.ctx, "a", "acme.com") }
			}, want: claim.ErrDomainNotVerified},
		{reason: "D3: at most one org claims a domain", op: "ClaimDomain(c, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				e.mustVerify(t, "c", "example.com")
				mustClaimDomain(t, e, "b", "example.com")
				return func() error { return e.svc.ClaimDomain(e.ctx, "c", "EXAMPLE.com.") }
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D4: ReleaseDomain by an org that verified but did not claim it", op: "ReleaseDomain(c, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				e.mustVerify(t, "c", "example.com")
				mustClaimDomain(t, e, "b", "example.com")
				return func() error { return e.svc.ReleaseDomain(e.ctx, "c", "example.com") }
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D4: ReleaseDomain by an org with no record of the domain", op: "ReleaseDomain(a, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				return func() error { return e.svc.ReleaseDomain(e.ctx, "a", "example.com") }
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D4: ReleaseDomain of a domain nobody claimed", op: "ReleaseDomain(b, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error { return e.svc.ReleaseDomain(e.ctx, "b", "example.com") }
			}, want: claim.ErrNotFound},
		{reason: "D4: ReleaseDomain twice: the second finds it unclaimed", op: "ReleaseDomain(b, example.com) again",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				if err := e.svc.ReleaseDomain(e.ctx, "b", "example.com"); err != nil {
					t.Fatalf("ReleaseDomain = %v", err)
				}
				return func() error { return e.svc.ReleaseDomain(e.ctx, "b", "example.com") }
			}, want: claim.ErrNotFound},
		{reason: "D4: UnverifyDomain while the org claims the domain", op: "UnverifyDomain(b, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				return func() error { return e.svc.UnverifyDomain(e.ctx, "b", "example.com") }
			}, want: claim.ErrDomainClaimed},
		{reason: "D7: StartDomainVerification of a domain another org has claimed", op: "StartDomainVerification(c, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				return func() error {
					_, err := e.svc.StartDomainVerification(e.ctx, "c", "example.com")
					return err
				}
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D7: StartDomainVerification again of a started domain another org has since claimed", op: "StartDomainVerification(c, example.com) again",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				started("c", "example.com")(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				return func() error {
					_, err := e.svc.StartDomainVerification(e.ctx, "c", "example.com")
					return err
				}
			}, want: claim.ErrDomainClaimedByOther},
		{reason: "D7: ConfirmDomain of a domain another org has claimed, with the right TXT record published", op: "ConfirmDomain(c, example.com)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				tok := started("c", "example.com")(t, e)
				mustClaimDomain(t, e, "b", "example.com")
				e.dns.Set("example.com", tok)
				return func() error { return e.svc.ConfirmDomain(e.ctx, "c", "example.com") }
			}, want: claim.ErrDomainClaimedByOther},
	})
}
