package claim_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/claimkit/claim"
)

// TestBroadWorksApprovalPendingPages: an enterprise whose attach waits for
// approval takes no other subscriber (B3), also when the subscriber that
// waits sorts on the second page of the enterprise's 300.
func TestBroadWorksApprovalPendingPages(t *testing.T) {
	const subs = 300
	e := broadWorksWorld(t)
	ann := e.mustActive(t, custOrg, "ann@cust.example", 0)
	e.mustVerify(t, custOrg, "cust.example") // the attach needs approval
	e.mustEnterprise(t, "ent", false, custOrg)
	for i := range subs {
		e.mustProvision(t, "ent", claim.SubscriberID(fmt.Sprintf("s%04d", i)), "")
	}
	enter := func(id claim.SubscriberID, email string) (claim.Subscriber, error) {
		t.Helper()
		if _, err := e.svc.BroadWorks().EnterEmail(e.ctx, id, email); err != nil {
			t.Fatalf("EnterEmail(%s) = %v", id, err)
		}
		return e.svc.BroadWorks().ValidateEmail(e.ctx, id)
	}
	last := claim.SubscriberID(fmt.Sprintf("s%04d", subs-1))
	if sub, err := enter(last, ann.Email); err != nil || sub.Status != claim.StatusError {
		t.Fatalf("ValidateEmail(%s) = %+v, %v; want status error, waiting for approval", last, sub, err)
	}
	if _, err := enter("s0000", "new@else.example"); !errors.Is(err, claim.ErrApprovalRequired) {
		t.Errorf("ValidateEmail(s0000) while %s waits = %v, want ErrApprovalRequired", last, err)
	}
}

// TestBroadWorksPagesLargeEnterprise: the BroadWorks steps that walk an
// enterprise's subscribers or a partner's enterprises read them a page
// (256) at a time and see every page: Subscribers lists all 600, Detach
// counts all 600, and DeleteOrg of a partner with 300 enterprises finds
// the attached one on the second page, then deletes all 300 once none is.
func TestBroadWorksPagesLargeEnterprise(t *testing.T) {
	const subs, ents = 600, 300
	e := broadWorksWorld(t)
	ann := e.mustActive(t, custOrg, "ann@cust.example", 0)
	e.mustEnterprise(t, "big", true, custOrg)
	e.mustProvision(t, "big", "s0000", ann.Email)
	for i := 1; i < subs; i++ {
		e.mustProvision(t, "big", claim.SubscriberID(fmt.Sprintf("s%04d", i)), fmt.Sprintf("sub%04d@cust.example", i))
	}

	n := 0
	for sub, err := range e.svc.BroadWorks().Subscribers(e.ctx, partnerOrg, "big") {
		if err != nil {
			t.Fatalf("Subscribers() = %v", err)
		}
		if want := claim.SubscriberID(fmt.Sprintf("s%04d", n)); sub.ID != want {
			t.Fatalf("subscriber %d is %s, want %s", n, sub.ID, want)
		}
		n++
	}
	if n != subs {
		t.Errorf("Subscribers() listed %d, want %d", n, subs)
	}

	var de *claim.DetachError
	if err := e.svc.BroadWorks().Detach(e.ctx, partnerOrg, "big", claim.DetachHybrid); !errors.As(err, &de) {
		t.Fatalf("Detach() = %v, want a *DetachError", err)
	}
	if de.Subscribers+de.Pending != subs {
		t.Errorf("Detach() counts %d subscribers and %d pending, want %d in all", de.Subscribers, de.Pending, subs)
	}

	// A partner of 300 enterprises, the last of them (on the second page)
	// attached to an org.
	e.mustOrg(t, "p9", claim.Enterprise, oldOrgDate, claim.Settings{})
	for i := range ents {
		if _, err := e.svc.BroadWorks().CreateEnterprise(e.ctx, claim.BroadWorksEnterprise{ID: claim.EnterpriseID(fmt.Sprintf("e%04d", i)), Partner: "p9",
			Name: "E", Template: claim.Template{PartnerAdmin: templateAdmin, TrustedEmail: true}, Target: otherOrg}); err != nil {
			t.Fatalf("CreateEnterprise(e%04d) = %v", i, err)
		}
	}
	bob := e.mustActive(t, otherOrg, "bob@other.example", 0)
	last := claim.EnterpriseID(fmt.Sprintf("e%04d", ents-1))
	if _, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, "p9", last, claim.NewSubscriber{ID: "t1", Email: bob.Email, FirstName: "B", LastName: "O"}); err != nil {
		t.Fatalf("ProvisionSubscriber(%s) = %v", last, err)
	}
	if err := e.svc.DeleteOrg(e.ctx, "p9"); !errors.Is(err, claim.ErrEnterpriseAttached) {
		t.Fatalf("DeleteOrg(p9) with %s attached = %v, want ErrEnterpriseAttached", last, err)
	}
	if err := e.svc.BroadWorks().RemoveSubscriber(e.ctx, "p9", "t1"); err != nil {
		t.Fatalf("RemoveSubscriber(t1) = %v", err)
	}
	if err := e.svc.BroadWorks().Detach(e.ctx, "p9", last, claim.DetachHybrid); err != nil {
		t.Fatalf("Detach(%s) = %v", last, err)
	}
	seq := e.lastSeq(t)
	if err := e.svc.DeleteOrg(e.ctx, "p9"); err != nil {
		t.Fatalf("DeleteOrg(p9) = %v", err)
	}
	deleted := 0
	for _, ev := range e.events(t, seq) {
		if ev.Type == claim.EventEnterpriseDeleted {
			deleted++
		}
	}
	if deleted != ents {
		t.Errorf("DeleteOrg(p9) deleted %d enterprises, want %d", deleted, ents)
	}
}

// TestSetRestrictedAdminMode: turning the mode on writes it with its
// event; setting it to what it is does nothing; the automatic attach that
// turns it off (B4) says so in the log.
func TestSetRestrictedAdminMode(t *testing.T) {
	e := broadWorksWorld(t)
	ann := e.mustActive(t, custOrg, "ann@cust.example", 0)
	seq := e.lastSeq(t)
	for range 2 {
		if err := e.svc.BroadWorks().SetRestrictedAdminMode(e.ctx, custOrg, true); err != nil {
			t.Fatalf("SetRestrictedAdminMode(on) = %v", err)
		}
	}
	if !e.mustProfile(t, custOrg).RestrictedAdminMode {
		t.Fatal("restricted admin mode off after turning it on")
	}
	evs := e.events(t, seq)
	if len(evs) != 1 || evs[0].Type != claim.EventRestrictedModeChanged || evs[0].Detail != "on" || evs[0].Org != custOrg {
		t.Errorf("events = %+v, want one bw.restricted_mode_changed on", evs)
	}
	e.mustEnterprise(t, "ent", true, custOrg)
	seq = e.lastSeq(t)
	e.mustProvision(t, "ent", "s1", ann.Email)
	if e.mustProfile(t, custOrg).RestrictedAdminMode {
		t.Error("restricted admin mode on after the automatic attach, want off (B4)")
	}
	off := 0
	for _, ev := range e.events(t, seq) {
		if ev.Type == claim.EventRestrictedModeChanged && ev.Detail == "off" && ev.Org == custOrg {
			off++
		}
	}
	if off != 1 {
		t.Errorf("%d bw.restricted_mode_changed off events for the attach, want 1", off)
	}
}
