package claim_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Webex for BroadWorks (B1–B6): attach rules, the three
// consent flows, the first provisioning, detach.

const (
	bwPartner  claim.OrgID = "partner"  // the service provider
	bwConsumer claim.OrgID = "consumer" // the free consumer org
	bwInd      claim.OrgID = "ind"      // a self-signup org
	bwCust     claim.OrgID = "cust"     // an existing customer org
	bwOther    claim.OrgID = "other"    // another customer org

	bwAdmin = "pat@partner.example" // the template's partner admin
)

// bwWorld creates the partner, consumer, individual and two customer
// orgs on a memory store; cust has SSO on (its authentication settings,
// B4).
func bwWorld(tb testing.TB) *env {
	tb.Helper()
	return bwWorldOn(tb, claim.NewMemoryStore())
}

// bwWorldOn is bwWorld on an empty store.
func bwWorldOn(tb testing.TB, store claim.Store) *env {
	tb.Helper()
	e := newEnvOn(tb, store)
	e.mustOrg(tb, bwPartner, claim.Enterprise, oldOrgDate, claim.Settings{})
	e.mustOrg(tb, bwConsumer, claim.Consumer, oldOrgDate, claim.Settings{})
	e.mustOrg(tb, bwInd, claim.Individual, oldOrgDate, claim.Settings{})
	e.mustOrg(tb, bwCust, claim.Enterprise, oldOrgDate, claim.Settings{SSO: true, AutoLicenses: []string{"Meetings"}})
	e.mustOrg(tb, bwOther, claim.Enterprise, oldOrgDate, claim.Settings{})
	return e
}

// mustEnterprise creates an enterprise of the partner.
func (e *env) mustEnterprise(tb testing.TB, id claim.EnterpriseID, trusted bool, target claim.OrgID) claim.BroadWorksEnterprise {
	tb.Helper()
	ent, err := e.svc.BroadWorks().CreateEnterprise(e.ctx, claim.BroadWorksEnterprise{ID: id, Partner: bwPartner, Name: "Enterprise " + string(id),
		Template: claim.Template{PartnerAdmin: bwAdmin, TrustedEmail: trusted}, Target: target})
	if err != nil {
		tb.Fatalf("CreateEnterprise(%s) = %v", id, err)
	}
	return ent
}

// fataler is what the helpers below need of a *testing.T or *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// mustProvision provisions a subscriber (an empty email for untrusted
// templates).
func (e *env) mustProvision(tb testing.TB, ent claim.EnterpriseID, id claim.SubscriberID, email string) claim.Subscriber {
	tb.Helper()
	s, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, bwPartner, ent, claim.NewSubscriber{ID: id, Email: email, FirstName: "F", LastName: "L"})
	if err != nil {
		tb.Fatalf("ProvisionSubscriber(%s, %s, %q) = %v", ent, id, email, err)
	}
	return s
}

func (e *env) mustEnterpriseGet(tb fataler, id claim.EnterpriseID) claim.BroadWorksEnterprise {
	tb.Helper()
	ent, err := e.svc.BroadWorks().Enterprise(e.ctx, bwPartner, id)
	if err != nil {
		tb.Fatalf("Enterprise(%s) = %v", id, err)
	}
	return ent
}

func (e *env) mustProfile(tb testing.TB, org claim.OrgID) claim.OrgProfile {
	tb.Helper()
	p, err := e.svc.BroadWorks().OrgProfile(e.ctx, org)
	if err != nil {
		tb.Fatalf("OrgProfile(%s) = %v", org, err)
	}
	return p
}

// events returns the events after seq.
func (e *env) events(tb fataler, after uint64) []claim.Event {
	tb.Helper()
	var out []claim.Event
	for ev, err := range e.svc.Events(e.ctx, after) {
		if err != nil {
			tb.Fatalf("Events() = %v", err)
		}
		out = append(out, ev)
	}
	return out
}

// lastSeq returns the sequence number of the last event.
func (e *env) lastSeq(tb fataler) uint64 {
	tb.Helper()
	var seq uint64
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			tb.Fatalf("Events() = %v", err)
		}
		seq = ev.Seq
	}
	return seq
}

// types returns the types of evs.
func types(evs []claim.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// addUsers adds n users to org, named u000@org.example on.
func (e *env) addUsers(tb testing.TB, org claim.OrgID, n int) {
	tb.Helper()
	for i := range n {
		e.mustUser(tb, org, fmt.Sprintf("u%03d@%s.example", i, org), 0)
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
			setup:  func(tb testing.TB, e *env) { e.addUsers(tb, bwCust, 98) },
			want:   want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "100 users",
			reason: "100 users or more need the customer admin's approval (B3)",
			setup:  func(tb testing.TB, e *env) { e.addUsers(tb, bwCust, 99) },
			want:   want{reasons: []claim.AttachReason{claim.ReasonManyUsers}, status: claim.StatusError},
		},
		{
			name:   "verified domain",
			reason: "a verified domain needs approval (B3)",
			setup:  func(tb testing.TB, e *env) { e.mustVerify(tb, bwCust, "cust.example") },
			want:   want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain}, status: claim.StatusError},
		},
		{
			name:   "claimed domain",
			reason: "a claimed domain needs approval (B3); claiming needs verifying, so both reasons show",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, bwCust, "cust.example")
				rfMustClaimDomain(tb, e, bwCust, "cust.example")
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain, claim.ReasonClaimedDomain}, status: claim.StatusError},
		},
		{
			name:   "all three",
			reason: "every reason that applies is reported, in order",
			setup: func(tb testing.TB, e *env) {
				e.addUsers(tb, bwCust, 99)
				e.mustVerify(tb, bwCust, "cust.example")
				rfMustClaimDomain(tb, e, bwCust, "cust.example")
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonManyUsers, claim.ReasonVerifiedDomain, claim.ReasonClaimedDomain}, status: claim.StatusError},
		},
		{
			name:   "approval invites the org's Full Admins",
			reason: "needing approval, the org's own Full Admins are asked (admin-invite e-mails on by default); external and provisioning admins are not",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, bwCust, "cust.example")
				bwMustAdmin(tb, e, bwCust, claim.Admin{Email: "boss@cust.example", Role: claim.FullAdmin})
				bwMustAdmin(tb, e, bwCust, claim.Admin{Email: "helper@cust.example", Role: claim.ProvisioningAdmin})
				bwMustAdmin(tb, e, bwCust, claim.Admin{Email: "ext@else.example", Role: claim.FullAdmin, Partner: bwOther})
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain}, status: claim.StatusError, invites: []string{"boss@cust.example"}},
		},
		{
			name:   "approved",
			reason: "the customer admin made the partner admin an external Full Admin: the attach goes through despite 100 users (B3)",
			setup: func(tb testing.TB, e *env) {
				e.addUsers(tb, bwCust, 99)
				bwMustAdmin(tb, e, bwCust, claim.Admin{Email: bwAdmin, Role: claim.FullAdmin, Partner: bwPartner})
			},
			want: want{attach: claim.AttachApproved, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "approval as Provisioning Admin is no approval",
			reason: "only an external Full Admin approves (B3)",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, bwCust, "cust.example")
				bwMustAdmin(tb, e, bwCust, claim.Admin{Email: bwAdmin, Role: claim.ProvisioningAdmin, Partner: bwPartner})
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain}, status: claim.StatusError},
		},
		{
			name:   "approval for another partner is no approval",
			reason: "the external Full Admin must act for this enterprise's partner",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, bwCust, "cust.example")
				bwMustAdmin(tb, e, bwCust, claim.Admin{Email: bwAdmin, Role: claim.FullAdmin, Partner: bwOther})
			},
			want: want{reasons: []claim.AttachReason{claim.ReasonVerifiedDomain}, status: claim.StatusError},
		},
		{
			name:   "licenses none",
			reason: "no licenses: Full Admin (B3)",
			setup:  func(tb testing.TB, e *env) { bwMustLicenses(tb, e, bwCust) },
			want:   want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses all suspended",
			reason: "only suspended licenses: Full Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				bwMustLicenses(tb, e, bwCust, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseSuspended}, claim.OrgLicense{Name: "Calling", Status: claim.LicenseSuspended})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses all cancelled",
			reason: "only cancelled licenses: Full Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				bwMustLicenses(tb, e, bwCust, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseCancelled})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses suspended and cancelled",
			reason: "only suspended or cancelled ones: Full Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				bwMustLicenses(tb, e, bwCust, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseCancelled}, claim.OrgLicense{Name: "Calling", Status: claim.LicenseSuspended})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.FullAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses one active",
			reason: "an active license: Provisioning Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				bwMustLicenses(tb, e, bwCust, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseActive})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.ProvisioningAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "licenses one active among cancelled and suspended",
			reason: "one active license is enough for Provisioning Admin (B3)",
			setup: func(tb testing.TB, e *env) {
				bwMustLicenses(tb, e, bwCust, claim.OrgLicense{Name: "A", Status: claim.LicenseCancelled},
					claim.OrgLicense{Name: "B", Status: claim.LicenseActive}, claim.OrgLicense{Name: "C", Status: claim.LicenseSuspended})
			},
			want: want{attach: claim.AttachAutomatic, role: claim.ProvisioningAdmin, status: claim.StatusProvisioned},
		},
		{
			name:   "restricted admin mode on",
			reason: "an automatic attach turns restricted admin mode off (B4)",
			setup: func(tb testing.TB, e *env) {
				if err := e.svc.BroadWorks().SetRestrictedAdminMode(e.ctx, bwCust, true); err != nil {
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
			e := bwWorld(t)
			ann := e.mustActive(t, bwCust, first, 3)
			e.mustActive(t, bwConsumer, "carl@consumer.example", 4)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			e.mustEnterprise(t, "ent", true, bwCust)
			before := e.mustProfile(t, bwCust)
			cust, _ := e.svc.Org(e.ctx, bwCust)
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
			after := e.mustProfile(t, bwCust)
			org, _ := e.svc.Org(e.ctx, bwCust)
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
				if ent.Org == bwCust || ent.Org == "" || ent.Attach != claim.AttachNew {
					t.Fatalf("%s: enterprise in %q (%s), want a new org", tt.reason, ent.Org, ent.Attach)
				}
				if !sub.Admin {
					t.Errorf("%s: first subscriber of a new org Admin = false, want true (B2)", tt.reason)
				}
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("%s: cust's profile changed (-before +after):\n%s", tt.reason, diff)
				}
			default:
				if ent.Org != bwCust || ent.Attach != tt.want.attach {
					t.Fatalf("%s: enterprise in %q (%s), want %q (%s)", tt.reason, ent.Org, ent.Attach, bwCust, tt.want.attach)
				}
				if sub.User != ann.ID || sub.Admin {
					t.Errorf("%s: subscriber = %+v, want provisioned as ann (%s), not an admin (B4)", tt.reason, sub, ann.ID)
				}
				if a, ok := bwAdminOf(after, bwAdmin); !ok || a.Role != tt.want.role || a.Partner != bwPartner {
					t.Errorf("%s: partner admin = %+v (%v), want role %s for %s", tt.reason, a, ok, tt.want.role, bwPartner)
				}
				if _, ok := bwAdminOf(after, first); ok {
					t.Errorf("%s: %s made an admin, want not (B4)", tt.reason, first)
				}
				if after.RestrictedAdminMode {
					t.Errorf("%s: restricted admin mode on after attach, want off (B4)", tt.reason)
				}
				if !slices.Contains(after.Licenses, claim.OrgLicense{Name: claim.BroadWorksLicense, Status: claim.LicenseActive}) {
					t.Errorf("%s: licenses %v, want %s active", tt.reason, after.Licenses, claim.BroadWorksLicense)
				}
				if u := e.mustGet(t, ann.ID); u.Org != bwCust || u.Email != first || u.Content != 3 {
					t.Errorf("%s: ann = %+v, want unchanged in cust", tt.reason, u)
				}
			}
		})
	}
}

func bwMustAdmin(tb testing.TB, e *env, org claim.OrgID, a claim.Admin) {
	tb.Helper()
	if err := e.svc.BroadWorks().AddAdmin(e.ctx, org, a); err != nil {
		tb.Fatalf("AddAdmin(%s, %+v) = %v", org, a, err)
	}
}

func bwMustLicenses(tb testing.TB, e *env, org claim.OrgID, ls ...claim.OrgLicense) {
	tb.Helper()
	if err := e.svc.BroadWorks().SetOrgLicenses(e.ctx, org, ls); err != nil {
		tb.Fatalf("SetOrgLicenses(%s) = %v", org, err)
	}
}

func bwAdminOf(p claim.OrgProfile, email string) (claim.Admin, bool) {
	for _, a := range p.Admins {
		if a.Email == email {
			return a, true
		}
	}
	return claim.Admin{}, false
}

// TestAttachApprovalFlow: approval needed, the customer admin adds the
// partner admin as an external Full Admin, the partner retries (B3); in
// between the enterprise takes no other subscriber.
func TestAttachApprovalFlow(t *testing.T) {
	e := bwWorld(t)
	ann := e.mustActive(t, bwCust, "ann@cust.example", 0)
	e.mustVerify(t, bwCust, "cust.example")
	e.mustEnterprise(t, "ent", true, bwCust)
	sub := e.mustProvision(t, "ent", "s1", ann.Email)
	if sub.Status != claim.StatusError {
		t.Fatalf("status = %s, want error", sub.Status)
	}
	_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, bwPartner, "ent", claim.NewSubscriber{ID: "s2", Email: "new@else.example"})
	if !errors.Is(err, claim.ErrApprovalRequired) {
		t.Errorf("ProvisionSubscriber(second) while the attach waits = %v, want ErrApprovalRequired", err)
	}
	again, err := e.svc.BroadWorks().RetrySubscriber(e.ctx, bwPartner, "s1")
	if err != nil || again.Status != claim.StatusError {
		t.Fatalf("RetrySubscriber() before approval = %+v, %v; want still error", again, err)
	}
	bwMustAdmin(t, e, bwCust, claim.Admin{Email: bwAdmin, Role: claim.FullAdmin, Partner: bwPartner})
	done, err := e.svc.BroadWorks().RetrySubscriber(e.ctx, bwPartner, "s1")
	if err != nil || done.Status != claim.StatusProvisioned || done.User != ann.ID || done.Err() != nil {
		t.Fatalf("RetrySubscriber() after approval = %+v, %v; want provisioned as ann", done, err)
	}
	if ent := e.mustEnterpriseGet(t, "ent"); ent.Org != bwCust || ent.Attach != claim.AttachApproved {
		t.Errorf("enterprise = %+v, want attached to cust, approved", ent)
	}
	if _, err := e.svc.BroadWorks().RetrySubscriber(e.ctx, bwPartner, "s1"); !errors.Is(err, claim.ErrSubscriberStatus) {
		t.Errorf("RetrySubscriber() of a provisioned subscriber = %v, want ErrSubscriberStatus", err)
	}
	s2 := e.mustProvision(t, "ent", "s2", "new@else.example")
	if s2.Status != claim.StatusProvisioned || s2.Admin {
		t.Errorf("second subscriber = %+v, want provisioned, not an admin", s2)
	}
}

// TestConsentFlows: a user of a Consumer or Individual org moves to the
// BroadWorks org in each of the three flows only when it deletes its old
// account (B1), whose content loss is an event of that transaction.
func TestConsentFlows(t *testing.T) {
	tests := []struct {
		name    string
		trusted bool
		self    bool
		from    claim.OrgID
	}{
		{"trusted e-mail, consumer", true, false, bwConsumer},
		{"trusted e-mail, individual", true, false, bwInd},
		{"untrusted e-mail", false, false, bwConsumer},
		{"self-activation", false, true, bwInd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := bwWorld(t)
			e.mustEnterprise(t, "ent", tt.trusted, "")
			// The first subscriber creates the org (B2).
			first := e.mustActivateNew(t, tt.trusted, tt.self, "s0", "boss@new.example")
			if first.Status != claim.StatusProvisioned || !first.Admin {
				t.Fatalf("first subscriber = %+v, want provisioned admin", first)
			}
			old := e.mustActive(t, tt.from, "carl@x.example", 6)
			sub := e.mustActivateNew(t, tt.trusted, tt.self, "s1", old.Email)
			if sub.Status != claim.StatusPendingUserMigration || sub.Old != old.ID || sub.Admin {
				t.Fatalf("subscriber = %+v, want pending_user_migration with Old %s, not admin", sub, old.ID)
			}
			if u := e.mustGet(t, old.ID); u.Org != tt.from || u.Content != 6 {
				t.Errorf("old account before consent = %+v, want untouched", u)
			}
			seq := e.lastSeq(t)
			got, err := e.svc.BroadWorks().Consent(e.ctx, "s1")
			if err != nil {
				t.Fatalf("Consent() = %v", err)
			}
			if _, err := e.svc.User(e.ctx, old.ID); !errors.Is(err, claim.ErrNotFound) {
				t.Errorf("old account after consent: %v, want ErrNotFound", err)
			}
			u, err := e.svc.UserByEmail(e.ctx, old.Email)
			ent := e.mustEnterpriseGet(t, "ent")
			if err != nil || u.Org != ent.Org || u.ID != got.User || u.Content != 0 || u.State != claim.Verified {
				t.Errorf("new account = %+v, %v; want a Verified user of %s, no content", u, err, ent.Org)
			}
			if got.Status != claim.StatusProvisioned || got.Old != "" {
				t.Errorf("subscriber after consent = %+v, want provisioned", got)
			}
			evs := e.events(t, seq)
			wantTypes := []string{claim.EventUserDeleted, claim.EventContentDeleted, claim.EventConsent,
				claim.EventSubscriberStatus, claim.EventUserAdded, claim.EventSubscriberStatus}
			if diff := cmp.Diff(wantTypes, types(evs)); diff != "" {
				t.Errorf("consent events (-want +got):\n%s", diff)
			}
			if len(evs) == len(wantTypes) && (evs[1].Content != 6 || evs[1].User != old.ID || evs[1].Org != tt.from) {
				t.Errorf("content.deleted = %+v, want 6 items of %s in %s", evs[1], old.ID, tt.from)
			}
			if _, err := e.svc.BroadWorks().Consent(e.ctx, "s1"); !errors.Is(err, claim.ErrSubscriberStatus) {
				t.Errorf("Consent() twice = %v, want ErrSubscriberStatus", err)
			}
		})
	}
}

// mustActivateNew takes a new subscriber with the address through its
// flow up to the CI lookup: ProvisionSubscriber (trusted), or
// ProvisionSubscriber, EnterEmail and ValidateEmail (untrusted), or
// SelfActivate and ValidateEmail.
func (e *env) mustActivateNew(tb testing.TB, trusted, self bool, id claim.SubscriberID, email string) claim.Subscriber {
	tb.Helper()
	switch {
	case trusted:
		return e.mustProvision(tb, "ent", id, email)
	case self:
		s, err := e.svc.BroadWorks().SelfActivate(e.ctx, "ent", claim.NewSubscriber{ID: id, Email: email})
		if err != nil || s.Status != claim.StatusPendingEmailValidation || s.Flow != claim.FlowSelfActivation {
			tb.Fatalf("SelfActivate(%s) = %+v, %v", id, s, err)
		}
	default:
		s := e.mustProvision(tb, "ent", id, "")
		if s.Status != claim.StatusPendingEmailInput || s.Flow != claim.FlowUntrusted {
			tb.Fatalf("ProvisionSubscriber(%s) untrusted = %+v", id, s)
		}
		if s, err := e.svc.BroadWorks().EnterEmail(e.ctx, id, email); err != nil || s.Status != claim.StatusPendingEmailValidation {
			tb.Fatalf("EnterEmail(%s) = %+v, %v", id, s, err)
		}
	}
	s, err := e.svc.BroadWorks().ValidateEmail(e.ctx, id)
	if err != nil {
		tb.Fatalf("ValidateEmail(%s) = %v", id, err)
	}
	return s
}

// TestFirstProvisioning: B2 — the first provisioning creates the org,
// named after the enterprise, with the partner admin as external Full
// Admin; its first user is an administrator, later ones are not.
func TestFirstProvisioning(t *testing.T) {
	e := bwWorld(t)
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
	want := []claim.Admin{{Email: "boss@new.example", Role: claim.FullAdmin}, {Email: bwAdmin, Role: claim.FullAdmin, Partner: bwPartner}}
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

// TestDetach: B6, both flows.
func TestDetach(t *testing.T) {
	for _, flow := range []claim.DetachFlow{claim.DetachStandard, claim.DetachHybrid} {
		t.Run(string(flow), func(t *testing.T) {
			e := bwWorld(t)
			ann := e.mustActive(t, bwCust, "ann@cust.example", 0)
			bwMustLicenses(t, e, bwCust, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseActive})
			e.mustEnterprise(t, "ent", true, bwCust)
			e.mustProvision(t, "ent", "s1", ann.Email)
			e.mustActive(t, bwConsumer, "carl@x.example", 1)
			e.mustProvision(t, "ent", "s2", "carl@x.example") // pending consent
			if err := e.svc.BroadWorks().AddWorkspace(e.ctx, bwPartner, "ent", "lobby"); err != nil {
				t.Fatalf("AddWorkspace() = %v", err)
			}
			steps := []struct {
				do   func() error
				want claim.DetachError
			}{
				{func() error { return nil }, claim.DetachError{Enterprise: "ent", Workspaces: 1, Subscribers: 1, Pending: 1}},
				{func() error { return e.svc.BroadWorks().RemoveWorkspace(e.ctx, bwPartner, "ent", "lobby") }, claim.DetachError{Enterprise: "ent", Subscribers: 1, Pending: 1}},
				{func() error { return e.svc.BroadWorks().RemoveSubscriber(e.ctx, bwPartner, "s1") }, claim.DetachError{Enterprise: "ent", Pending: 1}},
			}
			for i, st := range steps {
				if err := st.do(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				before := e.snapshot(t, bwCust)
				err := e.svc.BroadWorks().Detach(e.ctx, bwPartner, "ent", flow)
				var de *claim.DetachError
				if !errors.As(err, &de) || !errors.Is(err, claim.ErrDetachBlocked) {
					t.Fatalf("step %d: Detach() = %v, want a *DetachError", i, err)
				}
				if diff := cmp.Diff(st.want, *de); diff != "" {
					t.Errorf("step %d: what remains (-want +got):\n%s", i, diff)
				}
				e.unchanged(t, before, bwCust)
			}
			if err := e.svc.BroadWorks().RemoveSubscriber(e.ctx, bwPartner, "s2"); err != nil {
				t.Fatalf("RemoveSubscriber(s2) = %v", err)
			}
			if err := e.svc.BroadWorks().Detach(e.ctx, bwPartner, "ent", flow); err != nil {
				t.Fatalf("Detach() = %v", err)
			}
			prof := e.mustProfile(t, bwCust)
			_, partnerAdmin := bwAdminOf(prof, bwAdmin)
			bwLicense := claim.OrgLicense{Name: claim.BroadWorksLicense, Status: claim.LicenseActive}
			ent, err := e.svc.BroadWorks().Enterprise(e.ctx, bwPartner, "ent")
			if flow == claim.DetachStandard {
				bwLicense.Status = claim.LicenseCancelled
				if partnerAdmin || !errors.Is(err, claim.ErrNotFound) {
					t.Errorf("standard: partner admin kept = %v, enterprise = %v; want access removed and the enterprise deleted", partnerAdmin, err)
				}
			} else if !partnerAdmin || err != nil || ent.Org != "" || ent.Attach != "" {
				t.Errorf("hybrid: partner admin kept = %v, enterprise = %+v, %v; want access kept and the enterprise in no org", partnerAdmin, ent, err)
			}
			wantLic := []claim.OrgLicense{{Name: "Meetings", Status: claim.LicenseActive}, bwLicense}
			if diff := cmp.Diff(wantLic, prof.Licenses); diff != "" {
				t.Errorf("licenses after detach (-want +got):\n%s", diff)
			}
			if u := e.mustGet(t, ann.ID); u.Org != bwCust {
				t.Errorf("ann after detach in %s, want cust", u.Org)
			}
			// The org is free again (B5).
			e.mustEnterprise(t, "ent2", true, bwCust)
			e.mustProvision(t, "ent2", "s3", ann.Email)
			if ent2 := e.mustEnterpriseGet(t, "ent2"); ent2.Org != bwCust {
				t.Errorf("re-attach: enterprise in %q, want cust", ent2.Org)
			}
		})
	}
}

// TestAttachNoAdminInvite: with "Allow admin-invite emails when attaching
// to existing orgs" turned off in the template, an attach that needs
// approval still waits for it (B3), but no customer admin is e-mailed.
func TestAttachNoAdminInvite(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoAdminInvite=%v", off), func(t *testing.T) {
			e := bwWorld(t)
			ann := e.mustActive(t, bwCust, "ann@cust.example", 0)
			e.mustVerify(t, bwCust, "cust.example")
			bwMustAdmin(t, e, bwCust, claim.Admin{Email: "boss@cust.example", Role: claim.FullAdmin})
			if _, err := e.svc.BroadWorks().CreateEnterprise(e.ctx, claim.BroadWorksEnterprise{ID: "ent", Partner: bwPartner, Name: "Ent",
				Template: claim.Template{PartnerAdmin: bwAdmin, TrustedEmail: true, NoAdminInvite: off}, Target: bwCust}); err != nil {
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

// TestConsentAccountInOwnOrg: while a subscriber waits for consent, the
// account with its address moves into the enterprise's own org (here:
// deleted and added again there). Consent then deletes nothing and
// provisions the subscriber as that user (B1), rather than sending the
// partner to the attach flow for its own org.
func TestConsentAccountInOwnOrg(t *testing.T) {
	e := bwWorld(t)
	e.mustEnterprise(t, "ent", true, "")
	e.mustProvision(t, "ent", "s0", "boss@new.example")
	ent := e.mustEnterpriseGet(t, "ent")
	carl := e.mustActive(t, bwConsumer, "carl@x.example", 2)
	if sub := e.mustProvision(t, "ent", "s1", carl.Email); sub.Status != claim.StatusPendingUserMigration {
		t.Fatalf("s1 = %+v, want pending_user_migration", sub)
	}
	if err := e.svc.DeleteUser(e.ctx, bwConsumer, carl.ID); err != nil {
		t.Fatalf("DeleteUser() = %v", err)
	}
	mine := e.mustUser(t, ent.Org, carl.Email, 5)
	seq := e.lastSeq(t)
	got, err := e.svc.BroadWorks().Consent(e.ctx, "s1")
	if err != nil {
		t.Fatalf("Consent() = %v", err)
	}
	if got.Status != claim.StatusProvisioned || got.User != mine.ID || got.Old != "" || got.Admin {
		t.Errorf("Consent() = %+v, want provisioned as %s", got, mine.ID)
	}
	if u := e.mustGet(t, mine.ID); u.Org != ent.Org || u.Content != 5 {
		t.Errorf("user after consent = %+v, want kept in %s with its content", u, ent.Org)
	}
	wantTypes := []string{claim.EventSubscriberStatus, claim.EventSubscriberStatus}
	if diff := cmp.Diff(wantTypes, types(e.events(t, seq))); diff != "" {
		t.Errorf("events: nothing deleted (-want +got):\n%s", diff)
	}
}

// TestSetRestrictedAdminMode: turning the mode on writes it with its
// event; setting it to what it is does nothing; the automatic attach that
// turns it off (B4) says so in the log.
func TestSetRestrictedAdminMode(t *testing.T) {
	e := bwWorld(t)
	ann := e.mustActive(t, bwCust, "ann@cust.example", 0)
	seq := e.lastSeq(t)
	for range 2 {
		if err := e.svc.BroadWorks().SetRestrictedAdminMode(e.ctx, bwCust, true); err != nil {
			t.Fatalf("SetRestrictedAdminMode(on) = %v", err)
		}
	}
	if !e.mustProfile(t, bwCust).RestrictedAdminMode {
		t.Fatal("restricted admin mode off after turning it on")
	}
	evs := e.events(t, seq)
	if len(evs) != 1 || evs[0].Type != claim.EventRestrictedModeChanged || evs[0].Detail != "on" || evs[0].Org != bwCust {
		t.Errorf("events = %+v, want one bw.restricted_mode_changed on", evs)
	}
	e.mustEnterprise(t, "ent", true, bwCust)
	seq = e.lastSeq(t)
	e.mustProvision(t, "ent", "s1", ann.Email)
	if e.mustProfile(t, bwCust).RestrictedAdminMode {
		t.Error("restricted admin mode on after the automatic attach, want off (B4)")
	}
	off := 0
	for _, ev := range e.events(t, seq) {
		if ev.Type == claim.EventRestrictedModeChanged && ev.Detail == "off" && ev.Org == bwCust {
			off++
		}
	}
	if off != 1 {
		t.Errorf("%d bw.restricted_mode_changed off events for the attach, want 1", off)
	}
}
