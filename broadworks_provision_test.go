package claim_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
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
			_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, partnerOrg, "ent", claim.NewSubscriber{ID: "s1", Email: "new@example.com"})
			return err
		}},
		{"trusted flow: ProvisionSubscriber of a consumer's address (no consent can be provisioned)", func(t *testing.T, e *env, mark func()) error {
			e.mustEnterprise(t, "ent", true, "")
			mark()
			_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, partnerOrg, "ent", claim.NewSubscriber{ID: "s1", Email: "carl@example.com"})
			return err
		}},
		{"trusted flow: the second subscriber, in the enterprise's existing org", func(t *testing.T, e *env, mark func()) error {
			e.mustEnterprise(t, "ent", true, "")
			e.mustProvision(t, "ent", "s0", "first@mail.example")
			mark()
			_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, partnerOrg, "ent", claim.NewSubscriber{ID: "s1", Email: "new@example.com"})
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
			e := claimedDomainWorld(t)
			var before uint64
			err := c.run(t, e, func() { before = lastSeq(t, e) })
			if !errors.Is(err, claim.ErrDomainClaimedByOther) {
				t.Fatalf("err = %v, want %v", err, claim.ErrDomainClaimedByOther)
			}
			if strings.Contains(err.Error(), `"`+string(otherOrg)+`"`) {
				t.Errorf("error %q names the claiming org (N3)", err)
			}
			if after := lastSeq(t, e); after != before {
				t.Errorf("the event log went from %d to %d: a refusal writes nothing", before, after)
			}
			if _, err := e.svc.UserByEmail(e.ctx, "new@example.com"); !errors.Is(err, claim.ErrNotFound) {
				t.Errorf("UserByEmail(new@example.com) = %v, want ErrNotFound: no account was created", err)
			}
			if u, err := e.svc.UserByEmail(e.ctx, "carl@example.com"); err != nil || u.Org != consumerOrg {
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
			e := broadWorksWorld(t)
			e.mustUser(t, consumerOrg, "carl@example.com", 4)
			c.before(t, e)
			e.mustVerify(t, otherOrg, "example.com")
			if err := e.svc.ClaimDomain(e.ctx, otherOrg, "example.com"); err != nil {
				t.Fatalf("ClaimDomain = %v", err)
			}
			before := lastSeq(t, e)
			if err := c.after(e); !errors.Is(err, claim.ErrDomainClaimedByOther) {
				t.Fatalf("err = %v, want %v", err, claim.ErrDomainClaimedByOther)
			}
			if after := lastSeq(t, e); after != before {
				t.Errorf("the event log went from %d to %d: a refusal writes nothing", before, after)
			}
			if u, err := e.svc.UserByEmail(e.ctx, "carl@example.com"); err != nil || u.Org != consumerOrg || u.Content != 4 {
				t.Errorf("carl = %+v, %v; want the consumer's user with its content", u, err)
			}
		})
	}
}

// TestBroadWorksOwnClaimedDomain: the enterprise's own org may have
// claimed the domain: its subscribers there are provisioned (D6 refuses
// other orgs only).
func TestBroadWorksOwnClaimedDomain(t *testing.T) {
	e := broadWorksWorld(t)
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

// claimedDomainWorld is broadWorksWorld with example.com claimed by the customer org
// other, and carl@example.com a user of the consumer org (added before
// the claim).
func claimedDomainWorld(tb testing.TB) *env {
	tb.Helper()
	e := broadWorksWorld(tb)
	e.mustUser(tb, consumerOrg, "carl@example.com", 4)
	e.mustVerify(tb, otherOrg, "example.com")
	if err := e.svc.ClaimDomain(e.ctx, otherOrg, "example.com"); err != nil {
		tb.Fatalf("ClaimDomain = %v", err)
	}
	return e
}

// TestAttachApprovalFlow: approval needed, the customer admin adds the
// partner admin as an external Full Admin, the partner retries (B3); in
// between the enterprise takes no other subscriber.
func TestAttachApprovalFlow(t *testing.T) {
	e := broadWorksWorld(t)
	ann := e.mustActive(t, custOrg, "ann@cust.example", 0)
	e.mustVerify(t, custOrg, "cust.example")
	e.mustEnterprise(t, "ent", true, custOrg)
	sub := e.mustProvision(t, "ent", "s1", ann.Email)
	if sub.Status != claim.StatusError {
		t.Fatalf("status = %s, want error", sub.Status)
	}
	_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, partnerOrg, "ent", claim.NewSubscriber{ID: "s2", Email: "new@else.example"})
	if !errors.Is(err, claim.ErrApprovalRequired) {
		t.Errorf("ProvisionSubscriber(second) while the attach waits = %v, want ErrApprovalRequired", err)
	}
	again, err := e.svc.BroadWorks().RetrySubscriber(e.ctx, partnerOrg, "s1")
	if err != nil || again.Status != claim.StatusError {
		t.Fatalf("RetrySubscriber() before approval = %+v, %v; want still error", again, err)
	}
	mustAdmin(t, e, custOrg, claim.Admin{Email: templateAdmin, Role: claim.FullAdmin, Partner: partnerOrg})
	done, err := e.svc.BroadWorks().RetrySubscriber(e.ctx, partnerOrg, "s1")
	if err != nil || done.Status != claim.StatusProvisioned || done.User != ann.ID || done.Err() != nil {
		t.Fatalf("RetrySubscriber() after approval = %+v, %v; want provisioned as ann", done, err)
	}
	if ent := e.mustEnterpriseGet(t, "ent"); ent.Org != custOrg || ent.Attach != claim.AttachApproved {
		t.Errorf("enterprise = %+v, want attached to cust, approved", ent)
	}
	if _, err := e.svc.BroadWorks().RetrySubscriber(e.ctx, partnerOrg, "s1"); !errors.Is(err, claim.ErrSubscriberStatus) {
		t.Errorf("RetrySubscriber() of a provisioned subscriber = %v, want ErrSubscriberStatus", err)
	}
	s2 := e.mustProvision(t, "ent", "s2", "new@else.example")
	if s2.Status != claim.StatusProvisioned || s2.Admin {
		t.Errorf("second subscriber = %+v, want provisioned, not an admin", s2)
	}
}

// TestAttachNoAdminInvite: with "Allow admin-invite emails when attaching
// to existing orgs" turned off in the template, an attach that needs
// approval still waits for it (B3), but no customer admin is e-mailed.
func TestAttachNoAdminInvite(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoAdminInvite=%v", off), func(t *testing.T) {
			e := broadWorksWorld(t)
			ann := e.mustActive(t, custOrg, "ann@cust.example", 0)
			e.mustVerify(t, custOrg, "cust.example")
			mustAdmin(t, e, custOrg, claim.Admin{Email: "boss@cust.example", Role: claim.FullAdmin})
			if _, err := e.svc.BroadWorks().CreateEnterprise(e.ctx, claim.BroadWorksEnterprise{ID: "ent", Partner: partnerOrg, Name: "Ent",
				Template: claim.Template{PartnerAdmin: templateAdmin, TrustedEmail: true, NoAdminInvite: off}, Target: custOrg}); err != nil {
				t.Fatalf("CreateEnterprise() = %v", err)
			}
			seq := e.lastSeq(t)
			if sub := e.mustProvision(t, "ent", "s1", ann.Email); sub.Status != claim.StatusError {
				t.Fatalf("status = %s, want error (approval needed)", sub.Status)
			}
			var invites []string
			for _, ev := range e.events(t, seq) {
				if ev.Type == claim.EventNotifyAdminInvite {
					invites = append(invites, ev.Recipient)
				}
			}
			var want []string
			if !off {
				want = []string{"boss@cust.example"}
			}
			if diff := cmp.Diff(want, invites); diff != "" {
				t.Errorf("admin invites (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAttachRules: every rule of B3 and B4, one row each, on the first
// subscriber of an enterprise targeting cust.
func TestAttachRules(t *testing.T) {
	const first = "ann@cust.example" // a user of cust, unless the row says otherwise
	type want struct {
		attach  claim.AttachMode       // "new": a new org, not cust
		role    claim.AdminRole        // the partner admin's role in cust ("": none)
		reasons []claim.AttachReason   // status error with these
		status  claim.SubscriberStatus // the first subscriber's
		invites []string               // notify.admin_invite recipients
	}
	tests := []struct {
		name   string
		reason string
		setup  func(tb testing.TB, e *env)
		email  string // the first subscriber's address (default first)
		want   want
	}{
		{
			name:   "99 users",
			reason: "fewer than 100 users, no verified or claimed domain, no license: automatic, Full Admin (B3)",
			setup:  func(tb testing.TB, e *env) { e.addUsers(tb, custOrg, 98) },
			want:   want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "100 users",
			reason: "100 users or more need the customer admin's approval (B3)",
			setup:  func(tb testing.TB, e *env) { e.addUsers(tb, custOrg, 99) },
			want:   want{reasons: []claim.AttachReason{claim.ReasonManyUsers}, status: claim.StatusError},
		},
		{
			name:   "verified domain",
			reason: "a verified domain needs approval (B3)",
			setup:  func(tb testing.TB, e *env) { e.mustVerify(tb, custOrg, "cust.example") },
			want:   want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain}, status: claim.StatusError},
		},
		{
			name:   "claimed domain",
			reason: "a claimed domain needs approval (B3); claiming needs verifying, so both reasons show",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, custOrg, "cust.example")
				mustClaimDomain(tb, e, custOrg, "cust.example")
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain, claim.ReasonClaimedDomain}, status: claim.StatusError},
		},
		{
			name:   "all three",
			reason: "every reason that applies is reported, in order",
			setup: func(tb testing.TB, e *env) {
				e.addUsers(tb, custOrg, 99)
				e.mustVerify(tb, custOrg, "cust.example")
				mustClaimDomain(tb, e, custOrg, "cust.example")
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonManyUsers, claim.ReasonVerifiedDomain, claim.ReasonClaimedDomain}, status: claim.StatusError},
		},
		{
			name:   "approval invites the org's Full Admins",
			reason: "needing approval, the org's own Full Admins are asked (admin-invite e-mails on by default); external and provisioning admins are not",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, custOrg, "cust.example")
				mustAdmin(tb, e, custOrg, claim.Admin{Email: "boss@cust.example", Role: claim.FullAdmin})
				mustAdmin(tb, e, custOrg, claim.Admin{Email: "helper@cust.example", Role: claim.ProvisioningAdmin})
				mustAdmin(tb, e, custOrg, claim.Admin{Email: "ext@else.example", Role: claim.FullAdmin, Partner: otherOrg})
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain}, status: claim.StatusError, invites: []string{"boss@cust.example"}},
		},
		{
			name:   "approved",
			reason: "the customer admin made the partner admin an external Full Admin: the attach goes through despite 100 users (B3)",
			setup: func(tb testing.TB, e *env) {
				e.addUsers(tb, custOrg, 99)
				mustAdmin(tb, e, custOrg, claim.Admin{Email: templateAdmin, Role: claim.FullAdmin, Partner: partnerOrg})
			},
			want: want{attach: claim.AttachApproved, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "approval as Provisioning Admin is no approval",
			reason: "only an external Full Admin approves (B3)",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, custOrg, "cust.example")
				mustAdmin(tb, e, custOrg, claim.Admin{Email: templateAdmin, Role: claim.ProvisioningAdmin, Partner: partnerOrg})
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain}, status: claim.StatusError},
		},
		{
			name:   "approval for another partner is no approval",
			reason: "the external Full Admin must act for this enterprise's partner",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, custOrg, "cust.example")
				mustAdmin(tb, e, custOrg, claim.Admin{Email: templateAdmin, Role: claim.FullAdmin, Partner: otherOrg})
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain}, status: claim.StatusError},
		},
		{
			name:   "licenses none",
			reason: "no licenses: Full Admin (B3)",
			setup:  func(tb testing.TB, e *env) { mustLicenses(tb, e, custOrg) },
			want:   want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses all suspended",
			reason: "only suspended licenses: Full Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				mustLicenses(tb, e, custOrg, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseSuspended}, claim.OrgLicense{Name: "Calling", Status: claim.LicenseSuspended})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses all cancelled",
			reason: "only cancelled licenses: Full Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				mustLicenses(tb, e, custOrg, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseCancelled})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses suspended and cancelled",
			reason: "only suspended or cancelled ones: Full Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				mustLicenses(tb, e, custOrg, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseCancelled}, claim.OrgLicense{Name: "Calling", Status: claim.LicenseSuspended})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses one active",
			reason: "an active license: Provisioning Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				mustLicenses(tb, e, custOrg, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseActive})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.ProvisioningAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses one active among cancelled and suspended",
			reason: "one active license is enough for Provisioning Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				mustLicenses(tb, e, custOrg, claim.OrgLicense{Name: "A", Status: claim.LicenseCancelled},
					claim.OrgLicense{Name: "B", Status: claim.LicenseActive}, claim.OrgLicense{Name: "C", Status: claim.LicenseSuspended})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.ProvisioningAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "restricted admin mode on",
			reason: "an automatic attach turns restricted admin mode off (B4)",
			setup: func(tb testing.TB, e *env) {
				if err := e.svc.BroadWorks().SetRestrictedAdminMode(e.ctx, custOrg, true); err != nil {
					tb.Fatalf("SetRestrictedAdminMode() = %v", err)
				}
			},
			want: want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "e-mail matches nobody",
			reason: "the first subscriber's address is no user of cust: a new customer org is created, and it is its admin (B4, B2)",
			email:  "new@else.example",
			want:   want{attach: claim.AttachNew, status: claim.StatusProvisioned},
		},
		{
			name:   "e-mail of a consumer account",
			reason: "an address of a consumer account is no user of cust: a new org, and the move waits for consent (B4, B1)",
			email:  "carl@consumer.example",
			want:   want{attach: claim.AttachNew, status: claim.StatusPendingUserMigration},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := broadWorksWorld(t)
			ann := e.mustActive(t, custOrg, first, 3)
			e.mustActive(t, consumerOrg, "carl@consumer.example", 4)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			e.mustEnterprise(t, "ent", true, custOrg)
			before := e.mustProfile(t, custOrg)
			cust, _ := e.svc.Org(e.ctx, custOrg)
			seq := e.lastSeq(t)
			email := tt.email
			if email == "" {
				email = first
			}
			sub := e.mustProvision(t, "ent", "s1", email)
			if sub.Status != tt.want.status {
				t.Fatalf("%s: status = %s, want %s", tt.reason, sub.Status, tt.want.status)
			}
			ent := e.mustEnterpriseGet(t, "ent")
			after := e.mustProfile(t, custOrg)
			org, _ := e.svc.Org(e.ctx, custOrg)
			if diff := cmp.Diff(cust, org, claimtest.CmpOptions()); diff != "" {
				t.Errorf("%s: cust changed (name and settings must stay, B4) (-before +after):\n%s", tt.reason, diff)
			}
			var invites []string
			for _, ev := range e.events(t, seq) {
				if ev.Type == claim.EventNotifyAdminInvite {
					invites = append(invites, ev.Recipient)
				}
			}
			if diff := cmp.Diff(tt.want.invites, invites); diff != "" {
				t.Errorf("%s: admin invites (-want +got):\n%s", tt.reason, diff)
			}
			switch {
			case tt.want.reasons != nil:
				var ae *claim.AttachError
				if err := sub.Err(); !errors.As(err, &ae) || !errors.Is(err, claim.ErrApprovalRequired) {
					t.Fatalf("%s: Err() = %v, want an *AttachError", tt.reason, err)
				}
				if diff := cmp.Diff(tt.want.reasons, ae.Reasons); diff != "" {
					t.Errorf("%s: reasons (-want +got):\n%s", tt.reason, diff)
				}
				if ent.Org != "" || ent.Attach != "" {
					t.Errorf("%s: enterprise = %+v, want it in no org", tt.reason, ent)
				}
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("%s: cust's profile changed while waiting for approval (-before +after):\n%s", tt.reason, diff)
				}
			case tt.want.attach == claim.AttachNew:
				if ent.Org == custOrg || ent.Org == "" || ent.Attach != claim.AttachNew {
					t.Fatalf("%s: enterprise in %q (%s), want a new org", tt.reason, ent.Org, ent.Attach)
				}
				if !sub.Admin {
					t.Errorf("%s: first subscriber of a new org Admin = false, want true (B2)", tt.reason)
				}
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("%s: cust's profile changed (-before +after):\n%s", tt.reason, diff)
				}
			default:
				if ent.Org != custOrg || ent.Attach != tt.want.attach {
					t.Fatalf("%s: enterprise in %q (%s), want %q (%s)", tt.reason, ent.Org, ent.Attach, custOrg, tt.want.attach)
				}
				if sub.User != ann.ID || sub.Admin {
					t.Errorf("%s: subscriber = %+v, want provisioned as ann (%s), not an admin (B4)", tt.reason, sub, ann.ID)
				}
				if a, ok := adminOf(after, templateAdmin); !ok || a.Role != tt.want.role || a.Partner != partnerOrg {
					t.Errorf("%s: partner admin = %+v (%v), want role %s for %s", tt.reason, a, ok, tt.want.role, partnerOrg)
				}
				if _, ok := adminOf(after, first); ok {
					t.Errorf("%s: %s made an admin, want not (B4)", tt.reason, first)
				}
				if after.RestrictedAdminMode {
					t.Errorf("%s: restricted admin mode on after attach, want off (B4)", tt.reason)
				}
				if !slices.Contains(after.Licenses, claim.OrgLicense{Name: claim.BroadWorksLicense, Status: claim.LicenseActive}) {
					t.Errorf("%s: licenses %v, want %s active", tt.reason, after.Licenses, claim.BroadWorksLicense)
				}
				if u := e.mustGet(t, ann.ID); u.Org != custOrg || u.Email != first || u.Content != 3 {
					t.Errorf("%s: ann = %+v, want unchanged in cust", tt.reason, u)
				}
			}
		})
	}
}

// TestFirstProvisioning: B2 — the first provisioning creates the org,
// named after the enterprise, with the partner admin as external Full
// Admin; its first user is an administrator, later ones are not.
func TestFirstProvisioning(t *testing.T) {
	e := broadWorksWorld(t)
	e.mustEnterprise(t, "ent", true, "")
	seq := e.lastSeq(t)
	s1 := e.mustProvision(t, "ent", "s1", "boss@new.example")
	ent := e.mustEnterpriseGet(t, "ent")
	org, err := e.svc.Org(e.ctx, ent.Org)
	if err != nil || org.Name != "Enterprise ent" || org.Kind != claim.Enterprise || ent.Attach != claim.AttachNew {
		t.Fatalf("org = %+v, %v (enterprise %+v), want a new customer org named after the enterprise", org, err, ent)
	}
	wantTypes := []string{claim.EventSubscriberAdded, claim.EventOrgCreated, claim.EventBWOrgCreated, claim.EventAdminAdded,
		claim.EventLicensesChanged, claim.EventSubscriberStatus, claim.EventUserAdded, claim.EventSubscriberStatus, claim.EventAdminAdded}
	if diff := cmp.Diff(wantTypes, types(e.events(t, seq))); diff != "" {
		t.Errorf("first provisioning events (-want +got):\n%s", diff)
	}
	s2 := e.mustProvision(t, "ent", "s2", "worker@new.example")
	if !s1.Admin || s2.Admin {
		t.Errorf("Admin = %v, %v; want true for the first only", s1.Admin, s2.Admin)
	}
	prof := e.mustProfile(t, ent.Org)
	want := []claim.Admin{{Email: "boss@new.example", Role: claim.FullAdmin}, {Email: templateAdmin, Role: claim.FullAdmin, Partner: partnerOrg}}
	if diff := cmp.Diff(want, prof.Admins); diff != "" {
		t.Errorf("admins of the new org (-want +got):\n%s", diff)
	}
	wantLic := []claim.OrgLicense{{Name: claim.BroadWorksLicense, Status: claim.LicenseActive}}
	if diff := cmp.Diff(wantLic, prof.Licenses); diff != "" {
		t.Errorf("licenses of the new org (-want +got):\n%s", diff)
	}
	if ent2 := e.mustEnterpriseGet(t, "ent"); ent2.Org != ent.Org {
		t.Errorf("enterprise moved from %s to %s (B5)", ent.Org, ent2.Org)
	}
}

func mustAdmin(tb testing.TB, e *env, org claim.OrgID, a claim.Admin) {
	tb.Helper()
	if err := e.svc.BroadWorks().AddAdmin(e.ctx, org, a); err != nil {
		tb.Fatalf("AddAdmin(%s, %+v) = %v", org, a, err)
	}
}

// addUsers adds n users to org, named u000@org.example on.
func (e *env) addUsers(tb testing.TB, org claim.OrgID, n int) {
	tb.Helper()
	for i := range n {
		e.mustUser(tb, org, fmt.Sprintf("u%03d@%s.example", i, org), 0)
	}
}
