package claim_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

// TestDetach: B6, both flows.
func TestDetach(t *testing.T) {
	for _, flow := range []claim.DetachFlow{claim.DetachStandard, claim.DetachHybrid} {
		t.Run(string(flow), func(t *testing.T) {
			e := broadWorksWorld(t)
			ann := e.mustActive(t, custOrg, "ann@cust.example", 0)
			mustLicenses(t, e, custOrg, claim.OrgLicense{Name: "Meetings", Status: claim.LicenseActive})
			e.mustEnterprise(t, "ent", true, custOrg)
			e.mustProvision(t, "ent", "s1", ann.Email)
			e.mustActive(t, consumerOrg, "carl@x.example", 1)
			e.mustProvision(t, "ent", "s2", "carl@x.example") // pending consent
			if err := e.svc.BroadWorks().AddWorkspace(e.ctx, partnerOrg, "ent", "lobby"); err != nil {
				t.Fatalf("AddWorkspace() = %v", err)
			}
			steps := []struct {
				do   func() error
				want claim.DetachError
			}{
				{func() error { return nil }, claim.DetachError{Enterprise: "ent", Workspaces: 1, Subscribers: 1, Pending: 1}},
				{func() error { return e.svc.BroadWorks().RemoveWorkspace(e.ctx, partnerOrg, "ent", "lobby") }, claim.DetachError{Enterprise: "ent", Subscribers: 1, Pending: 1}},
				{func() error { return e.svc.BroadWorks().RemoveSubscriber(e.ctx, partnerOrg, "s1") }, claim.DetachError{Enterprise: "ent", Pending: 1}},
			}
			for i, st := range steps {
				if err := st.do(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				before := e.snapshot(t, custOrg)
				err := e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "ent", flow)
				var de *claim.DetachError
				if !errors.As(err, &de) || !errors.Is(err, claim.ErrDetachBlocked) {
					t.Fatalf("step %d: Detach() = %v, want a *DetachError", i, err)
				}
				if diff := cmp.Diff(st.want, *de); diff != "" {
					t.Errorf("step %d: what remains (-want +got):\n%s", i, diff)
				}
				e.unchanged(t, before, custOrg)
			}
			if err := e.svc.BroadWorks().RemoveSubscriber(e.ctx, partnerOrg, "s2"); err != nil {
				t.Fatalf("RemoveSubscriber(s2) = %v", err)
			}
			if err := e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "ent", flow); err != nil {
				t.Fatalf("Detach() = %v", err)
			}
			prof := e.mustProfile(t, custOrg)
			_, partnerAdmin := adminOf(prof, templateAdmin)
			bwLicense := claim.OrgLicense{Name: claim.BroadWorksLicense, Status: claim.LicenseActive}
			ent, err := e.svc.BroadWorks().Enterprise(e.ctx, partnerOrg, "ent")
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
			if u := e.mustGet(t, ann.ID); u.Org != custOrg {
				t.Errorf("ann after detach in %s, want cust", u.Org)
			}
			// The org is free again (B5).
			e.mustEnterprise(t, "ent2", true, custOrg)
			e.mustProvision(t, "ent2", "s3", ann.Email)
			if ent2 := e.mustEnterpriseGet(t, "ent2"); ent2.Org != custOrg {
				t.Errorf("re-attach: enterprise in %q, want cust", ent2.Org)
			}
		})
	}
}
