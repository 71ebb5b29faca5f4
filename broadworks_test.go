package claim_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Refusals of the Webex-for-BroadWorks operations (B1–B6): each is
// checked with errors.Is (and, for bad input, the *InputError's field),
// and the world — users of every org, the event log, the enterprises,
// their subscribers and the orgs' profiles — is the same before and after.

func TestBWRefusals(t *testing.T) {
	ent := func(mod func(*claim.BroadWorksEnterprise)) claim.BroadWorksEnterprise {
		x := claim.BroadWorksEnterprise{ID: "new", Partner: partnerOrg, Name: "New", Template: claim.Template{PartnerAdmin: templateAdmin}}
		mod(&x)
		return x
	}
	create := func(x claim.BroadWorksEnterprise) func(*env) error {
		return func(e *env) error { _, err := e.svc.BroadWorks().CreateEnterprise(e.ctx, x); return err }
	}
	provision := func(partner claim.OrgID, id claim.EnterpriseID, sub claim.SubscriberID, email string) func(*env) error {
		return func(e *env) error {
			_, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, partner, id, claim.NewSubscriber{ID: sub, Email: email})
			return err
		}
	}
	enterEmail := func(id claim.SubscriberID, email string) func(*env) error {
		return func(e *env) error { _, err := e.svc.BroadWorks().EnterEmail(e.ctx, id, email); return err }
	}
	selfActivate := func(id claim.EnterpriseID, sub claim.SubscriberID, email string) func(*env) error {
		return func(e *env) error {
			_, err := e.svc.BroadWorks().SelfActivate(e.ctx, id, claim.NewSubscriber{ID: sub, Email: email})
			return err
		}
	}
	tests := []struct {
		name  string
		setup func(tb testing.TB, e *env) // after broadWorksRefusalWorld, before the snapshot
		call  func(e *env) error
		want  error
		field string // the *InputError's Field, for bad input
	}{
		{name: "CreateEnterprise: empty ID", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.ID = "" })), want: claim.ErrInvalidValue, field: "Enterprise.ID"},
		{name: "CreateEnterprise: untrimmed ID", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.ID = " e" })), want: claim.ErrInvalidValue, field: "Enterprise.ID"},
		{name: "CreateEnterprise: empty name", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Name = " " })), want: claim.ErrInvalidValue, field: "Enterprise.Name"},
		{name: "CreateEnterprise: Org set", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Org = custOrg })), want: claim.ErrInvalidValue, field: "Enterprise.Org"},
		{name: "CreateEnterprise: Attach set", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Attach = claim.AttachNew })), want: claim.ErrInvalidValue, field: "Enterprise.Attach"},
		{name: "CreateEnterprise: Workspaces set", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Workspaces = []string{"w"} })), want: claim.ErrInvalidValue, field: "Enterprise.Workspaces"},
		{name: "CreateEnterprise: bad partner admin", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Template.PartnerAdmin = "pat" })), want: claim.ErrInvalidEmail, field: "Enterprise.Template.PartnerAdmin"},
		{name: "CreateEnterprise: unknown partner", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Partner = "zz" })), want: claim.ErrNotFound},
		{name: "CreateEnterprise: unknown target", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Target = "zz" })), want: claim.ErrNotFound},
		{name: "CreateEnterprise: consumer target", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Target = consumerOrg })), want: claim.ErrInvalidValue, field: "Enterprise.Target"},
		{name: "CreateEnterprise: the partner as target", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.Target = partnerOrg })), want: claim.ErrInvalidValue, field: "Enterprise.Target"},
		{name: "CreateEnterprise: duplicate", call: create(ent(func(x *claim.BroadWorksEnterprise) { x.ID = "ent" })), want: claim.ErrDuplicate},

		{name: "ProvisionSubscriber: empty ID", call: provision(partnerOrg, "ent", "", "z@x.example"), want: claim.ErrInvalidValue, field: "NewSubscriber.ID"},
		{name: "ProvisionSubscriber: bad address", call: provision(partnerOrg, "ent", "sz", "z@"), want: claim.ErrInvalidEmail, field: "NewSubscriber.Email"},
		{name: "ProvisionSubscriber: trusted without address", call: provision(partnerOrg, "ent", "sz", " "), want: claim.ErrInvalidEmail, field: "NewSubscriber.Email"},
		{name: "ProvisionSubscriber: untrusted with address", call: provision(partnerOrg, "entU", "sz", "z@x.example"), want: claim.ErrInvalidValue, field: "NewSubscriber.Email"},
		{name: "ProvisionSubscriber: unknown partner", call: provision("zz", "ent", "sz", "z@x.example"), want: claim.ErrNotFound},
		{name: "ProvisionSubscriber: another partner's enterprise", call: provision(otherOrg, "ent", "sz", "z@x.example"), want: claim.ErrNotFound},
		{name: "ProvisionSubscriber: unknown enterprise", call: provision(partnerOrg, "zz", "sz", "z@x.example"), want: claim.ErrNotFound},
		{name: "ProvisionSubscriber: duplicate", call: provision(partnerOrg, "ent", "s1", "z@x.example"), want: claim.ErrDuplicate},
		{name: "ProvisionSubscriber: another subscriber's address", call: provision(partnerOrg, "ent", "sz", "vic@x.example"), want: claim.ErrEmailTaken},
		{name: "ProvisionSubscriber: customer org user (B1)", call: provision(partnerOrg, "ent", "sz", "oscar@other.example"), want: claim.ErrUseAttach},
		{name: "ProvisionSubscriber: first address a customer org user's creates no org (B1, B4)", call: provision(partnerOrg, "fresh", "sz", "oscar@other.example"), want: claim.ErrUseAttach},
		{name: "ProvisionSubscriber: first address a target-less customer user's", call: provision(partnerOrg, "fresh", "sz", "amy@cust.example"), want: claim.ErrUseAttach},
		{name: "ProvisionSubscriber: held by a pending claim", call: provision(partnerOrg, "ent", "sz", "hank@held.example"), want: claim.ErrHeldByClaim},
		{name: "ProvisionSubscriber: attach waits for approval", call: provision(partnerOrg, "entV", "sz", "z@x.example"), want: claim.ErrApprovalRequired},
		{name: "ProvisionSubscriber: org already another enterprise's (B5)", call: provision(partnerOrg, "ent3", "sz", "amy@cust.example"), want: claim.ErrOrgMapped},

		{name: "EnterEmail: bad address", call: enterEmail("su", "nope"), want: claim.ErrInvalidEmail, field: "email"},
		{name: "EnterEmail: unknown subscriber", call: enterEmail("zz", "z@x.example"), want: claim.ErrNotFound},
		{name: "EnterEmail: not pending_email_input", call: enterEmail("sv", "z@x.example"), want: claim.ErrSubscriberStatus},
		{name: "EnterEmail: another subscriber's address", call: enterEmail("su", "carl@x.example"), want: claim.ErrEmailTaken},
		{name: "EnterEmail: customer org user (B1)", call: enterEmail("su", "oscar@other.example"), want: claim.ErrUseAttach},
		{name: "EnterEmail: held by a pending claim", call: enterEmail("su", "hank@held.example"), want: claim.ErrHeldByClaim},

		{name: "ValidateEmail: unknown subscriber", call: func(e *env) error { _, err := e.svc.BroadWorks().ValidateEmail(e.ctx, "zz"); return err }, want: claim.ErrNotFound},
		{name: "ValidateEmail: not pending_email_validation", call: func(e *env) error { _, err := e.svc.BroadWorks().ValidateEmail(e.ctx, "su"); return err }, want: claim.ErrSubscriberStatus},
		{
			name:  "ValidateEmail: the address became a customer user's",
			setup: func(tb testing.TB, e *env) { e.mustUser(tb, otherOrg, "vic@x.example", 0) },
			call:  func(e *env) error { _, err := e.svc.BroadWorks().ValidateEmail(e.ctx, "sv"); return err },
			want:  claim.ErrUseAttach,
		},

		{name: "SelfActivate: empty ID", call: selfActivate("entU", "", "z@x.example"), want: claim.ErrInvalidValue, field: "NewSubscriber.ID"},
		{name: "SelfActivate: no address", call: selfActivate("entU", "sz", ""), want: claim.ErrInvalidEmail, field: "NewSubscriber.Email"},
		{name: "SelfActivate: unknown enterprise", call: selfActivate("zz", "sz", "z@x.example"), want: claim.ErrNotFound},
		{name: "SelfActivate: duplicate", call: selfActivate("entU", "su", "z@x.example"), want: claim.ErrDuplicate},
		{name: "SelfActivate: another subscriber's address", call: selfActivate("entU", "sz", "ann@cust.example"), want: claim.ErrEmailTaken},
		{name: "SelfActivate: customer org user", call: selfActivate("entU", "sz", "oscar@other.example"), want: claim.ErrUseAttach},

		{name: "Consent: unknown subscriber", call: func(e *env) error { _, err := e.svc.BroadWorks().Consent(e.ctx, "zz"); return err }, want: claim.ErrNotFound},
		{name: "Consent: provisioned", call: func(e *env) error { _, err := e.svc.BroadWorks().Consent(e.ctx, "s1"); return err }, want: claim.ErrSubscriberStatus},
		{name: "Consent: pending validation", call: func(e *env) error { _, err := e.svc.BroadWorks().Consent(e.ctx, "sv"); return err }, want: claim.ErrSubscriberStatus},
		{
			name: "Consent: the old account was claimed meanwhile",
			setup: func(tb testing.TB, e *env) {
				e.mustVerify(tb, "claimer", "x.example")
				carl, _ := e.svc.UserByEmail(e.ctx, "carl@x.example")
				e.mustClaim(tb, "claimer", claim.ClaimOptions{ImmediateOnly: true}, carl.ID)
			},
			call: func(e *env) error { _, err := e.svc.BroadWorks().Consent(e.ctx, "s2"); return err },
			want: claim.ErrHeldByClaim,
		},

		{name: "RetrySubscriber: not in error", call: func(e *env) error { _, err := e.svc.BroadWorks().RetrySubscriber(e.ctx, partnerOrg, "s1"); return err }, want: claim.ErrSubscriberStatus},
		{name: "RetrySubscriber: another partner's", call: func(e *env) error { _, err := e.svc.BroadWorks().RetrySubscriber(e.ctx, otherOrg, "sw"); return err }, want: claim.ErrNotFound},
		{name: "RemoveSubscriber: unknown", call: func(e *env) error { return e.svc.BroadWorks().RemoveSubscriber(e.ctx, partnerOrg, "zz") }, want: claim.ErrNotFound},
		{name: "RemoveSubscriber: another partner's", call: func(e *env) error { return e.svc.BroadWorks().RemoveSubscriber(e.ctx, otherOrg, "s1") }, want: claim.ErrNotFound},

		{name: "Detach: bad flow", call: func(e *env) error { return e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "ent", "partial") }, want: claim.ErrInvalidValue, field: "flow"},
		{name: "Detach: unknown enterprise", call: func(e *env) error { return e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "zz", claim.DetachHybrid) }, want: claim.ErrNotFound},
		{name: "Detach: another partner's", call: func(e *env) error { return e.svc.BroadWorks().Detach(e.ctx, otherOrg, "ent", claim.DetachHybrid) }, want: claim.ErrNotFound},
		{name: "Detach: not attached", call: func(e *env) error { return e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "entU", claim.DetachStandard) }, want: claim.ErrNotAttached},
		{name: "Detach: waiting for approval", call: func(e *env) error { return e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "entV", claim.DetachStandard) }, want: claim.ErrNotAttached},
		{name: "Detach: subscribers remain (standard)", call: func(e *env) error { return e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "ent", claim.DetachStandard) }, want: claim.ErrDetachBlocked},
		{name: "Detach: subscribers remain (hybrid)", call: func(e *env) error { return e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "ent", claim.DetachHybrid) }, want: claim.ErrDetachBlocked},

		{name: "AddAdmin: bad address", call: func(e *env) error {
			return e.svc.BroadWorks().AddAdmin(e.ctx, custOrg, claim.Admin{Email: "x", Role: claim.FullAdmin})
		}, want: claim.ErrInvalidEmail, field: "Admin.Email"},
		{name: "AddAdmin: bad role", call: func(e *env) error {
			return e.svc.BroadWorks().AddAdmin(e.ctx, custOrg, claim.Admin{Email: templateAdmin, Role: "owner"})
		}, want: claim.ErrInvalidValue, field: "Admin.Role"},
		{name: "AddAdmin: unknown org", call: func(e *env) error {
			return e.svc.BroadWorks().AddAdmin(e.ctx, "zz", claim.Admin{Email: templateAdmin, Role: claim.FullAdmin})
		}, want: claim.ErrNotFound},
		{name: "AddAdmin: unknown partner", call: func(e *env) error {
			return e.svc.BroadWorks().AddAdmin(e.ctx, custOrg, claim.Admin{Email: templateAdmin, Role: claim.FullAdmin, Partner: "zz"})
		}, want: claim.ErrNotFound},
		{name: "SetOrgLicenses: empty name", call: func(e *env) error {
			return e.svc.BroadWorks().SetOrgLicenses(e.ctx, custOrg, []claim.OrgLicense{{Name: " ", Status: claim.LicenseActive}})
		}, want: claim.ErrInvalidValue, field: "OrgLicense.Name"},
		{name: "SetOrgLicenses: bad status", call: func(e *env) error {
			return e.svc.BroadWorks().SetOrgLicenses(e.ctx, custOrg, []claim.OrgLicense{{Name: "M", Status: "expired"}})
		}, want: claim.ErrInvalidValue, field: "OrgLicense.Status"},
		{name: "SetOrgLicenses: a name twice", call: func(e *env) error {
			return e.svc.BroadWorks().SetOrgLicenses(e.ctx, custOrg, []claim.OrgLicense{{Name: "M", Status: claim.LicenseActive}, {Name: "M ", Status: claim.LicenseCancelled}})
		}, want: claim.ErrDuplicate, field: "OrgLicense.Name"},
		{name: "SetOrgLicenses: unknown org", call: func(e *env) error { return e.svc.BroadWorks().SetOrgLicenses(e.ctx, "zz", nil) }, want: claim.ErrNotFound},
		{name: "SetRestrictedAdminMode: unknown org", call: func(e *env) error { return e.svc.BroadWorks().SetRestrictedAdminMode(e.ctx, "zz", true) }, want: claim.ErrNotFound},
		{name: "OrgProfile: unknown org", call: func(e *env) error { _, err := e.svc.BroadWorks().OrgProfile(e.ctx, "zz"); return err }, want: claim.ErrNotFound},

		{name: "AddWorkspace: empty name", call: func(e *env) error { return e.svc.BroadWorks().AddWorkspace(e.ctx, partnerOrg, "ent", " ") }, want: claim.ErrInvalidValue, field: "workspace"},
		{name: "AddWorkspace: another partner's", call: func(e *env) error { return e.svc.BroadWorks().AddWorkspace(e.ctx, otherOrg, "ent", "w") }, want: claim.ErrNotFound},
		{
			name:  "AddWorkspace: duplicate",
			setup: func(tb testing.TB, e *env) { _ = e.svc.BroadWorks().AddWorkspace(e.ctx, partnerOrg, "ent", "lobby") },
			call:  func(e *env) error { return e.svc.BroadWorks().AddWorkspace(e.ctx, partnerOrg, "ent", "lobby") },
			want:  claim.ErrDuplicate,
		},
		{name: "RemoveWorkspace: unknown", call: func(e *env) error { return e.svc.BroadWorks().RemoveWorkspace(e.ctx, partnerOrg, "ent", "lobby") }, want: claim.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := broadWorksRefusalWorld(t)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			before := e.broadWorksSnapshot(t)
			err := tt.call(e)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want one wrapping %v", err, tt.want)
			}
			var ie *claim.InputError
			if errors.As(err, &ie) != (tt.field != "") || tt.field != "" && ie.Field != tt.field {
				t.Errorf("error = %#v, want an *InputError for field %q: %v", err, tt.field, err)
			}
			if diff := cmp.Diff(before, e.broadWorksSnapshot(t), claimtest.CmpOptions()); diff != "" {
				t.Errorf("a refused operation changed the world (-before +after):\n%s", diff)
			}
		})
	}
}

func (e *env) broadWorksSnapshot(tb testing.TB) broadWorksState {
	tb.Helper()
	return e.broadWorksSnapshotOf(tb, map[claim.OrgID][]claim.EnterpriseID{partnerOrg: broadWorksEnterprises}, broadWorksOrgs)
}
