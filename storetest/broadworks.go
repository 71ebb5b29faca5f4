package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/claimkit/claim"
)

// The Webex-for-BroadWorks records (B1–B6): enterprises with
// their one org (B5), subscribers with their unique address, org
// profiles, and the subscriber of an event.

// newEnterprise returns an enterprise with every field set but Org and
// Attach.
func newEnterprise(id claim.EnterpriseID) claim.BroadWorksEnterprise {
	return claim.BroadWorksEnterprise{
		ID:      id,
		Partner: "partner",
		Name:    "Enterprise " + string(id),
		Template: claim.Template{
			PartnerAdmin:  "admin@partner.example",
			TrustedEmail:  true,
			NoAdminInvite: true,
		},
		Target:     "target-" + claim.OrgID(id),
		Workspaces: []string{"lobby", "room-1"},
		CreatedAt:  t0.Add(-time.Hour),
	}
}

// mapped returns e belonging to org.
func mapped(e claim.BroadWorksEnterprise, org claim.OrgID) claim.BroadWorksEnterprise {
	e.Org, e.Attach = org, claim.AttachAutomatic
	return e
}

// newSubscriber returns a subscriber with every field set.
func newSubscriber(id claim.SubscriberID, ent claim.EnterpriseID, email string) claim.Subscriber {
	return claim.Subscriber{
		ID:         id,
		Enterprise: ent,
		Flow:       claim.FlowUntrusted,
		Email:      email,
		FirstName:  "First " + string(id),
		LastName:   "Last " + string(id),
		Status:     claim.StatusError,
		Admin:      true,
		User:       "user-" + claim.UserID(id),
		Old:        "old-" + claim.UserID(id),
		Reasons:    []claim.AttachReason{claim.ReasonManyUsers, claim.ReasonClaimedDomain},
		CreatedAt:  t0.Add(-2 * time.Hour),
		UpdatedAt:  t0,
	}
}

func testEnterprises(t *testing.T, s claim.Store) {
	a, b := newEnterprise("ent-a"), newEnterprise("ent-b")
	view(t, s, func(tx claim.Tx) error {
		_, err := tx.Enterprise("ent-a")
		wantErr(t, err, claim.ErrNotFound, "Enterprise(ent-a) of an empty store")
		_, err = tx.EnterpriseByOrg("acme")
		wantErr(t, err, claim.ErrNotFound, "EnterpriseByOrg(acme) of an empty store")
		return nil
	})
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutEnterprise(a), "PutEnterprise(ent-a)")
		must(t, tx.PutEnterprise(mapped(b, "acme")), "PutEnterprise(ent-b in acme)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Enterprise("ent-a")
		must(t, err, "Enterprise(ent-a)")
		diffList(t, "Enterprise(ent-a)", got, a)
		got, err = tx.EnterpriseByOrg("acme")
		must(t, err, "EnterpriseByOrg(acme)")
		diffList(t, "EnterpriseByOrg(acme)", got, mapped(b, "acme"))
		_, err = tx.EnterpriseByOrg("")
		wantErr(t, err, claim.ErrNotFound, `EnterpriseByOrg("") (ent-a has no org)`)
		return nil
	})
	// B5: an org belongs to one enterprise; an enterprise to one org.
	err := s.Update(t.Context(), func(tx claim.Tx) error { return tx.PutEnterprise(mapped(a, "acme")) })
	wantErr(t, err, claim.ErrOrgMapped, "PutEnterprise(ent-a in acme, which is ent-b's)")
	err = s.Update(t.Context(), func(tx claim.Tx) error { return tx.PutEnterprise(mapped(b, "beta")) })
	wantErr(t, err, claim.ErrOrgMapped, "PutEnterprise(ent-b in beta, while in acme)")
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.EnterpriseByOrg("acme")
		must(t, err, "EnterpriseByOrg(acme) after refusals")
		diffList(t, "EnterpriseByOrg(acme) after refusals", got, mapped(b, "acme"))
		_, err = tx.EnterpriseByOrg("beta")
		wantErr(t, err, claim.ErrNotFound, "EnterpriseByOrg(beta) after a refused move")
		got, err = tx.Enterprise("ent-a")
		must(t, err, "Enterprise(ent-a) after refusals")
		diffList(t, "Enterprise(ent-a) after refusals", got, a)
		return nil
	})
	// Putting the same mapping again is no move; clearing it frees the org.
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutEnterprise(mapped(b, "acme")), "PutEnterprise(ent-b in acme) again")
		must(t, tx.PutEnterprise(b), "PutEnterprise(ent-b cleared)")
		must(t, tx.PutEnterprise(mapped(a, "acme")), "PutEnterprise(ent-a in acme, now free)")
		must(t, tx.PutEnterprise(mapped(b, "beta")), "PutEnterprise(ent-b in beta)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		for org, want := range map[claim.OrgID]claim.BroadWorksEnterprise{"acme": mapped(a, "acme"), "beta": mapped(b, "beta")} {
			got, err := tx.EnterpriseByOrg(org)
			must(t, err, "EnterpriseByOrg("+string(org)+")")
			diffList(t, "EnterpriseByOrg("+string(org)+")", got, want)
		}
		return nil
	})
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.DeleteEnterprise("ent-a"), "DeleteEnterprise(ent-a)")
		wantErr(t, tx.DeleteEnterprise("ent-a"), claim.ErrNotFound, "DeleteEnterprise(ent-a) twice")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		_, err := tx.Enterprise("ent-a")
		wantErr(t, err, claim.ErrNotFound, "Enterprise(ent-a) after DeleteEnterprise")
		_, err = tx.EnterpriseByOrg("acme")
		wantErr(t, err, claim.ErrNotFound, "EnterpriseByOrg(acme) after DeleteEnterprise")
		return nil
	})
	// Copies: changing a value returned or passed in changes nothing stored.
	update(t, s, func(tx claim.Tx) error {
		got, err := tx.Enterprise("ent-b")
		must(t, err, "Enterprise(ent-b)")
		got.Workspaces[0] = "scribbled"
		in := mapped(b, "beta")
		in.Workspaces = slices.Clone(in.Workspaces)
		must(t, tx.PutEnterprise(in), "PutEnterprise(ent-b in beta) again")
		in.Workspaces[0] = "scribbled after PutEnterprise"
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Enterprise("ent-b")
		must(t, err, "Enterprise(ent-b)")
		diffList(t, "Enterprise(ent-b) after changing a copy", got, mapped(b, "beta"))
		return nil
	})
}

// testEnterpriseRace: enterprises racing to map the same org; exactly one
// wins, the others get ErrOrgMapped (B5), whatever the interleaving.
func testEnterpriseRace(t *testing.T, s claim.Store) {
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.Update(t.Context(), func(tx claim.Tx) error {
				return tx.PutEnterprise(mapped(newEnterprise(claim.EnterpriseID(fmt.Sprintf("ent-%d", i))), "acme"))
			})
		}()
	}
	won := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			won++
		case !errors.Is(err, claim.ErrOrgMapped):
			t.Errorf("Update(map enterprise to acme) = %v, want nil or an error wrapping ErrOrgMapped", err)
		}
	}
	if won != 1 {
		t.Errorf("%d enterprises mapped acme, want 1", won)
	}
}

// testEnterprisesByPartner: a partner's enterprises in ID order, a page
// at a time, kept in step when an enterprise changes partner or goes.
func testEnterprisesByPartner(t *testing.T, s claim.Store) {
	ofPartner := func(id claim.EnterpriseID, partner claim.OrgID) claim.BroadWorksEnterprise {
		e := newEnterprise(id)
		e.Partner = partner
		return e
	}
	list := func(tx claim.Tx, partner claim.OrgID, after claim.EnterpriseID, limit int) []claim.EnterpriseID {
		es, err := tx.EnterprisesByPartner(partner, after, limit)
		must(t, err, fmt.Sprintf("EnterprisesByPartner(%s, %q, %d)", partner, after, limit))
		ids := []claim.EnterpriseID{}
		for _, e := range es {
			if e.Partner != partner {
				t.Errorf("EnterprisesByPartner(%s) returned %s of partner %s", partner, e.ID, e.Partner)
			}
			ids = append(ids, e.ID)
		}
		return ids
	}
	update(t, s, func(tx claim.Tx) error {
		for _, e := range []claim.BroadWorksEnterprise{ofPartner("ent-c", "p1"), ofPartner("ent-a", "p1"),
			mapped(ofPartner("ent-b", "p1"), "acme"), ofPartner("ent-d", "p2"), ofPartner("ent-0", "p0")} {
			must(t, tx.PutEnterprise(e), "PutEnterprise("+string(e.ID)+")")
		}
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		es, err := tx.EnterprisesByPartner("p1", "", big)
		must(t, err, "EnterprisesByPartner(p1)")
		diffList(t, "EnterprisesByPartner(p1)", es, []claim.BroadWorksEnterprise{
			ofPartner("ent-a", "p1"), mapped(ofPartner("ent-b", "p1"), "acme"), ofPartner("ent-c", "p1")})
		es[0].Workspaces[0] = "scribbled"
		diffList(t, "EnterprisesByPartner(p1, \"\", 2)", list(tx, "p1", "", 2), []claim.EnterpriseID{"ent-a", "ent-b"})
		diffList(t, "EnterprisesByPartner(p1, ent-a, 1)", list(tx, "p1", "ent-a", 1), []claim.EnterpriseID{"ent-b"})
		diffList(t, "EnterprisesByPartner(p1, ent-b, big)", list(tx, "p1", "ent-b", big), []claim.EnterpriseID{"ent-c"})
		diffList(t, "EnterprisesByPartner(p1, ent-c, big)", list(tx, "p1", "ent-c", big), []claim.EnterpriseID{})
		diffList(t, "EnterprisesByPartner(p2)", list(tx, "p2", "", big), []claim.EnterpriseID{"ent-d"})
		diffList(t, "EnterprisesByPartner(p3)", list(tx, "p3", "", big), []claim.EnterpriseID{})
		return nil
	})
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutEnterprise(ofPartner("ent-b", "p2")), "PutEnterprise(ent-b to p2)")
		must(t, tx.DeleteEnterprise("ent-c"), "DeleteEnterprise(ent-c)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		es, err := tx.EnterprisesByPartner("p1", "", big)
		must(t, err, "EnterprisesByPartner(p1) after changes")
		diffList(t, "EnterprisesByPartner(p1) after changing a copy and the partners", es, []claim.BroadWorksEnterprise{ofPartner("ent-a", "p1")})
		diffList(t, "EnterprisesByPartner(p2) after changes", list(tx, "p2", "", big), []claim.EnterpriseID{"ent-b", "ent-d"})
		return nil
	})
}

func testSubscribers(t *testing.T, s claim.Store) {
	view(t, s, func(tx claim.Tx) error {
		_, err := tx.Subscriber("s1")
		wantErr(t, err, claim.ErrNotFound, "Subscriber(s1) of an empty store")
		_, err = tx.SubscriberByEmail("ann@x.com")
		wantErr(t, err, claim.ErrNotFound, "SubscriberByEmail(ann@x.com) of an empty store")
		return nil
	})
	// Shuffled IDs across two enterprises (e2: s4, s6, s8); s4 and s6
	// without an address.
	var want []claim.Subscriber
	update(t, s, func(tx claim.Tx) error {
		for _, n := range []int{7, 3, 9, 1, 5, 8, 2, 6, 4} {
			email := fmt.Sprintf("s%d@x.com", n)
			if n == 4 || n == 6 {
				email = ""
			}
			ent := claim.EnterpriseID("e1")
			if n == 4 || n == 6 || n == 8 {
				ent = "e2"
			}
			sub := newSubscriber(claim.SubscriberID(fmt.Sprintf("s%d", n)), ent, email)
			must(t, tx.PutSubscriber(sub), "PutSubscriber("+string(sub.ID)+")")
			if ent == "e1" {
				want = append(want, sub)
			}
		}
		return nil
	})
	sortSubs(want)
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Subscriber("s7")
		must(t, err, "Subscriber(s7)")
		diffList(t, "Subscriber(s7)", got, newSubscriber("s7", "e1", "s7@x.com"))
		got, err = tx.SubscriberByEmail("s9@x.com")
		must(t, err, "SubscriberByEmail(s9@x.com)")
		diffList(t, "SubscriberByEmail(s9@x.com)", got.ID, claim.SubscriberID("s9"))
		_, err = tx.SubscriberByEmail("")
		wantErr(t, err, claim.ErrNotFound, `SubscriberByEmail("")`)
		all, err := tx.SubscribersByEnterprise("e1", "", big)
		must(t, err, "SubscribersByEnterprise(e1)")
		diffList(t, "SubscribersByEnterprise(e1)", all, want)
		// The after key is exclusive; pages follow each other.
		var pages [][]claim.SubscriberID
		for after := claim.SubscriberID(""); ; {
			page, err := tx.SubscribersByEnterprise("e1", after, 2)
			must(t, err, "SubscribersByEnterprise(e1, after, 2)")
			if len(page) == 0 {
				break
			}
			pages = append(pages, subIDs(page))
			after = page[len(page)-1].ID
		}
		diffList(t, "pages of SubscribersByEnterprise(e1, after, 2)", pages,
			[][]claim.SubscriberID{{"s1", "s2"}, {"s3", "s5"}, {"s7", "s9"}})
		got2, err := tx.SubscribersByEnterprise("e2", "s4", big)
		must(t, err, "SubscribersByEnterprise(e2, s4)")
		diffList(t, "SubscribersByEnterprise(e2, s4)", subIDs(got2), []claim.SubscriberID{"s6", "s8"})
		for _, limit := range []int{0, -1} {
			_, err := tx.SubscribersByEnterprise("e1", "", limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("SubscribersByEnterprise(e1, \"\", %d)", limit))
		}
		return nil
	})
	// One subscriber per address; any number without one.
	err := s.Update(t.Context(), func(tx claim.Tx) error {
		return tx.PutSubscriber(newSubscriber("s10", "e1", "s9@x.com"))
	})
	wantErr(t, err, claim.ErrEmailTaken, "PutSubscriber(s10 with s9's address)")
	err = s.Update(t.Context(), func(tx claim.Tx) error {
		return tx.PutSubscriber(newSubscriber("s7", "e1", "s9@x.com"))
	})
	wantErr(t, err, claim.ErrEmailTaken, "PutSubscriber(s7 changed to s9's address)")
	// Replacing re-indexes: a new address, a new enterprise; deleting
	// unindexes.
	moved := newSubscriber("s7", "e2", "new7@x.com")
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutSubscriber(newSubscriber("s10", "e1", "")), "PutSubscriber(s10 without address)")
		must(t, tx.PutSubscriber(moved), "PutSubscriber(s7 moved)")
		must(t, tx.PutSubscriber(newSubscriber("s11", "e1", "s7@x.com")), "PutSubscriber(s11 with s7's old address)")
		must(t, tx.DeleteSubscriber("s9"), "DeleteSubscriber(s9)")
		wantErr(t, tx.DeleteSubscriber("s9"), claim.ErrNotFound, "DeleteSubscriber(s9) twice")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.SubscriberByEmail("new7@x.com")
		must(t, err, "SubscriberByEmail(new7@x.com)")
		diffList(t, "SubscriberByEmail(new7@x.com)", got, moved)
		got, err = tx.SubscriberByEmail("s7@x.com")
		must(t, err, "SubscriberByEmail(s7@x.com)")
		diffList(t, "SubscriberByEmail(s7@x.com)", got.ID, claim.SubscriberID("s11"))
		_, err = tx.SubscriberByEmail("s9@x.com")
		wantErr(t, err, claim.ErrNotFound, "SubscriberByEmail(s9@x.com) after DeleteSubscriber")
		e1, err := tx.SubscribersByEnterprise("e1", "", big)
		must(t, err, "SubscribersByEnterprise(e1)")
		diffList(t, "SubscribersByEnterprise(e1) after changes", subIDs(e1), []claim.SubscriberID{"s1", "s10", "s11", "s2", "s3", "s5"})
		e2, err := tx.SubscribersByEnterprise("e2", "", big)
		must(t, err, "SubscribersByEnterprise(e2)")
		diffList(t, "SubscribersByEnterprise(e2) after changes", subIDs(e2), []claim.SubscriberID{"s4", "s6", "s7", "s8"})
		return nil
	})
	// Copies: changing a value returned or passed in changes nothing stored.
	update(t, s, func(tx claim.Tx) error {
		got, err := tx.Subscriber("s7")
		must(t, err, "Subscriber(s7)")
		got.Reasons[0] = "scribbled"
		in := moved
		in.Reasons = slices.Clone(in.Reasons)
		must(t, tx.PutSubscriber(in), "PutSubscriber(s7) again")
		in.Reasons[0] = "scribbled after PutSubscriber"
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Subscriber("s7")
		must(t, err, "Subscriber(s7)")
		diffList(t, "Subscriber(s7) after changing a copy", got, moved)
		return nil
	})
}

func testOrgProfiles(t *testing.T, s claim.Store) {
	p := claim.OrgProfile{
		Org: "acme",
		Admins: []claim.Admin{
			{Email: "ann@acme.example", Role: claim.FullAdmin},
			{Email: "pat@partner.example", Role: claim.ProvisioningAdmin, Partner: "partner"},
		},
		RestrictedAdminMode: true,
		Licenses: []claim.OrgLicense{
			{Name: "Meetings", Status: claim.LicenseSuspended},
			{Name: claim.BroadWorksLicense, Status: claim.LicenseActive},
		},
	}
	view(t, s, func(tx claim.Tx) error {
		_, err := tx.OrgProfile("acme")
		wantErr(t, err, claim.ErrNotFound, "OrgProfile(acme) of an empty store")
		return nil
	})
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutOrgProfile(p), "PutOrgProfile(acme)")
		must(t, tx.PutOrgProfile(claim.OrgProfile{Org: "beta"}), "PutOrgProfile(beta, empty)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.OrgProfile("acme")
		must(t, err, "OrgProfile(acme)")
		diffList(t, "OrgProfile(acme)", got, p)
		got, err = tx.OrgProfile("beta")
		must(t, err, "OrgProfile(beta)")
		diffList(t, "OrgProfile(beta)", got, claim.OrgProfile{Org: "beta"})
		return nil
	})
	q := p
	q.Admins, q.RestrictedAdminMode, q.Licenses = p.Admins[:1], false, nil
	// Copies: changing a value returned or passed in changes nothing stored.
	update(t, s, func(tx claim.Tx) error {
		in := q
		in.Admins = slices.Clone(q.Admins)
		must(t, tx.PutOrgProfile(in), "PutOrgProfile(acme) replaced")
		in.Admins[0].Email = "scribbled after PutOrgProfile"
		got, err := tx.OrgProfile("acme")
		must(t, err, "OrgProfile(acme)")
		got.Admins[0].Email = "scribbled"
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.OrgProfile("acme")
		must(t, err, "OrgProfile(acme)")
		diffList(t, "OrgProfile(acme) replaced, after changing copies", got, q)
		return nil
	})
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.DeleteOrgProfile("beta"), "DeleteOrgProfile(beta)")
		wantErr(t, tx.DeleteOrgProfile("beta"), claim.ErrNotFound, "DeleteOrgProfile(beta) twice")
		wantErr(t, tx.DeleteOrgProfile("gamma"), claim.ErrNotFound, "DeleteOrgProfile(gamma), never stored")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		_, err := tx.OrgProfile("beta")
		wantErr(t, err, claim.ErrNotFound, "OrgProfile(beta) after DeleteOrgProfile")
		got, err := tx.OrgProfile("acme")
		must(t, err, "OrgProfile(acme) after deleting beta's")
		diffList(t, "OrgProfile(acme) after deleting beta's", got, q)
		return nil
	})
}

// testBroadWorksRollback: an Update that fails leaves none of its
// BroadWorks writes, and an event keeps its Subscriber.
func testBroadWorksRollback(t *testing.T, s claim.Store) {
	a := newEnterprise("ent-a")
	sub := newSubscriber("s1", "ent-a", "s1@x.com")
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutEnterprise(a), "PutEnterprise(ent-a)")
		must(t, tx.PutSubscriber(sub), "PutSubscriber(s1)")
		must(t, tx.PutOrgProfile(claim.OrgProfile{Org: "acme", RestrictedAdminMode: true}), "PutOrgProfile(acme)")
		must(t, tx.AppendEvent(claim.Event{Type: claim.EventSubscriberAdded, Subscriber: "s1", Detail: "x"}), "AppendEvent")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Events(0, 10)
		must(t, err, "Events")
		if len(got) != 1 || got[0].Subscriber != "s1" {
			t.Errorf("Events(0) = %v, want one event of subscriber s1", got)
		}
		return nil
	})
	errFn := errors.New("fn failed")
	err := s.Update(t.Context(), func(tx claim.Tx) error {
		must(t, tx.PutEnterprise(mapped(a, "acme")), "PutEnterprise(ent-a in acme)")
		must(t, tx.PutEnterprise(newEnterprise("ent-b")), "PutEnterprise(ent-b)")
		must(t, tx.DeleteSubscriber("s1"), "DeleteSubscriber(s1)")
		must(t, tx.PutSubscriber(newSubscriber("s2", "ent-a", "s2@x.com")), "PutSubscriber(s2)")
		must(t, tx.PutOrgProfile(claim.OrgProfile{Org: "acme"}), "PutOrgProfile(acme)")
		must(t, tx.PutOrgProfile(claim.OrgProfile{Org: "beta"}), "PutOrgProfile(beta)")
		must(t, tx.DeleteEnterprise("ent-a"), "DeleteEnterprise(ent-a)")
		c := newEnterprise("ent-c")
		c.Partner = "other-partner"
		must(t, tx.PutEnterprise(c), "PutEnterprise(ent-c of other-partner)")
		must(t, tx.DeleteOrgProfile("acme"), "DeleteOrgProfile(acme)")
		return errFn
	})
	wantErr(t, err, errFn, "Update() whose fn fails")
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Enterprise("ent-a")
		must(t, err, "Enterprise(ent-a) after rollback")
		diffList(t, "Enterprise(ent-a) after rollback", got, a)
		_, err = tx.EnterpriseByOrg("acme")
		wantErr(t, err, claim.ErrNotFound, "EnterpriseByOrg(acme) after rollback")
		_, err = tx.Enterprise("ent-b")
		wantErr(t, err, claim.ErrNotFound, "Enterprise(ent-b) after rollback")
		gotSub, err := tx.SubscriberByEmail("s1@x.com")
		must(t, err, "SubscriberByEmail(s1@x.com) after rollback")
		diffList(t, "SubscriberByEmail(s1@x.com) after rollback", gotSub, sub)
		_, err = tx.SubscriberByEmail("s2@x.com")
		wantErr(t, err, claim.ErrNotFound, "SubscriberByEmail(s2@x.com) after rollback")
		subs, err := tx.SubscribersByEnterprise("ent-a", "", big)
		must(t, err, "SubscribersByEnterprise(ent-a)")
		diffList(t, "SubscribersByEnterprise(ent-a) after rollback", subIDs(subs), []claim.SubscriberID{"s1"})
		p, err := tx.OrgProfile("acme")
		must(t, err, "OrgProfile(acme) after rollback")
		diffList(t, "OrgProfile(acme) after rollback", p, claim.OrgProfile{Org: "acme", RestrictedAdminMode: true})
		_, err = tx.OrgProfile("beta")
		wantErr(t, err, claim.ErrNotFound, "OrgProfile(beta) after rollback")
		es, err := tx.EnterprisesByPartner(a.Partner, "", big)
		must(t, err, "EnterprisesByPartner() after rollback")
		diffList(t, "EnterprisesByPartner() after rollback", es, []claim.BroadWorksEnterprise{a})
		es, err = tx.EnterprisesByPartner("other-partner", "", big)
		must(t, err, "EnterprisesByPartner(other-partner) after rollback")
		if len(es) != 0 {
			t.Errorf("EnterprisesByPartner(other-partner) after rollback = %+v, want none", es)
		}
		evs, err := tx.Events(0, big)
		must(t, err, "Events")
		if len(evs) != 1 || evs[0].Subscriber != "s1" {
			t.Errorf("Events() = %+v, want the one event with Subscriber s1", evs)
		}
		return nil
	})
}

func subIDs(subs []claim.Subscriber) []claim.SubscriberID {
	out := make([]claim.SubscriberID, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}

func sortSubs(subs []claim.Subscriber) {
	slices.SortFunc(subs, func(a, b claim.Subscriber) int { return cmp.Compare(a.ID, b.ID) })
}
