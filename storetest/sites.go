package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/claimkit/claim"
)

// Meeting sites and site access (S1).

// testSites checks Site, PutSite, DeleteSite and SitesByOrg: round trips,
// replacement (a site moved to another org leaves the first org's list),
// ErrNotFound, the order, the exclusive after key and paging of
// SitesByOrg, and a limit that is not positive.
func testSites(t *testing.T, s claim.Store) {
	a1 := claim.Site{ID: "s1", Org: "a", URL: "a.webex.example"}
	a2 := claim.Site{ID: "s2", Org: "a", URL: "a2.webex.example", ControlHub: true}
	a3 := claim.Site{ID: "s0", Org: "a", URL: "a0.webex.example"}
	b1 := claim.Site{ID: "s3", Org: "b", URL: "b.webex.example"}
	update(t, s, func(tx claim.Tx) error {
		for _, site := range []claim.Site{a1, a2, a3, b1} {
			if err := tx.PutSite(site); err != nil {
				return fmt.Errorf("PutSite(%s): %w", site.ID, err)
			}
		}
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Site("s2")
		must(t, err, "Site(s2)")
		diffList(t, "Site(s2)", got, a2)
		_, err = tx.Site("nope")
		wantErr(t, err, claim.ErrNotFound, "Site(nope)")
		all, err := tx.SitesByOrg("a", "", big)
		must(t, err, "SitesByOrg(a)")
		diffList(t, "SitesByOrg(a)", all, []claim.Site{a3, a1, a2})
		after, err := tx.SitesByOrg("a", "s0", 1)
		must(t, err, "SitesByOrg(a, after s0, 1)")
		diffList(t, "SitesByOrg(a, after s0, 1)", after, []claim.Site{a1})
		none, err := tx.SitesByOrg("c", "", big)
		must(t, err, "SitesByOrg(c)")
		diffList(t, "SitesByOrg(c)", none, []claim.Site(nil))
		_, err = tx.SitesByOrg("a", "", 0)
		wantErr(t, err, claim.ErrInvalidValue, "SitesByOrg(limit 0)")
		return nil
	})
	moved := a1
	moved.Org, moved.ControlHub = "b", true
	update(t, s, func(tx claim.Tx) error { return tx.PutSite(moved) })
	view(t, s, func(tx claim.Tx) error {
		as, err := tx.SitesByOrg("a", "", big)
		must(t, err, "SitesByOrg(a)")
		diffList(t, "SitesByOrg(a) after s1 moved to b", as, []claim.Site{a3, a2})
		bs, err := tx.SitesByOrg("b", "", big)
		must(t, err, "SitesByOrg(b)")
		diffList(t, "SitesByOrg(b) after s1 moved to b", bs, []claim.Site{moved, b1})
		return nil
	})
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.DeleteSite("s2"), "DeleteSite(s2)")
		wantErr(t, tx.DeleteSite("s2"), claim.ErrNotFound, "DeleteSite(s2) again")
		_, err := tx.Site("s2")
		wantErr(t, err, claim.ErrNotFound, "Site(s2) after DeleteSite")
		as, err := tx.SitesByOrg("a", "", big)
		must(t, err, "SitesByOrg(a)")
		diffList(t, "SitesByOrg(a) after DeleteSite(s2)", as, []claim.Site{a3})
		return nil
	})
}

// testSiteAccess checks PutSiteAccess and SiteAccessByUser: round trips,
// replacement, an empty record removing the record (no error without
// one), ErrNotFound for a missing site or user, the order, after key and
// paging, a limit that is not positive, and that DeleteSite and
// DeleteUser remove the records with the site and the user.
func testSiteAccess(t *testing.T, s claim.Store) {
	createUsers(t, s, newUser("u1", "u1@x.example", "o"), newUser("u2", "u2@x.example", "o"))
	update(t, s, func(tx claim.Tx) error {
		for _, id := range []claim.SiteID{"s1", "s2", "s3"} {
			if err := tx.PutSite(claim.Site{ID: id, Org: "o", URL: string(id) + ".webex.example"}); err != nil {
				return err
			}
		}
		return nil
	})
	l1 := claim.SiteAccess{Site: "s1", User: "u1", License: true}
	x2 := claim.SiteAccess{Site: "s2", User: "u1", ExternalAdmin: true}
	b3 := claim.SiteAccess{Site: "s3", User: "u1", License: true, ExternalAdmin: true}
	o2 := claim.SiteAccess{Site: "s2", User: "u2", License: true}
	update(t, s, func(tx claim.Tx) error {
		for _, a := range []claim.SiteAccess{b3, l1, x2, o2} {
			if err := tx.PutSiteAccess(a); err != nil {
				return fmt.Errorf("PutSiteAccess(%+v): %w", a, err)
			}
		}
		wantErr(t, tx.PutSiteAccess(claim.SiteAccess{Site: "nope", User: "u1", License: true}), claim.ErrNotFound, "PutSiteAccess(missing site)")
		wantErr(t, tx.PutSiteAccess(claim.SiteAccess{Site: "s1", User: "nobody", License: true}), claim.ErrNotFound, "PutSiteAccess(missing user)")
		must(t, tx.PutSiteAccess(claim.SiteAccess{Site: "s1", User: "u2"}), "PutSiteAccess(nothing held, no record)")
		return nil
	})
	list := func(tx claim.Tx, user claim.UserID, after claim.SiteID, limit int) []claim.SiteAccess {
		t.Helper()
		as, err := tx.SiteAccessByUser(user, after, limit)
		must(t, err, fmt.Sprintf("SiteAccessByUser(%s, %q, %d)", user, after, limit))
		return as
	}
	view(t, s, func(tx claim.Tx) error {
		diffList(t, "SiteAccessByUser(u1)", list(tx, "u1", "", big), []claim.SiteAccess{l1, x2, b3})
		diffList(t, "SiteAccessByUser(u1, after s1, 1)", list(tx, "u1", "s1", 1), []claim.SiteAccess{x2})
		diffList(t, "SiteAccessByUser(u2)", list(tx, "u2", "", big), []claim.SiteAccess{o2})
		diffList(t, "SiteAccessByUser(nobody)", list(tx, "nobody", "", big), []claim.SiteAccess(nil))
		_, err := tx.SiteAccessByUser("u1", "", 0)
		wantErr(t, err, claim.ErrInvalidValue, "SiteAccessByUser(limit 0)")
		return nil
	})
	l1x := l1
	l1x.ExternalAdmin = true
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutSiteAccess(l1x), "PutSiteAccess(replace)")
		must(t, tx.PutSiteAccess(claim.SiteAccess{Site: "s3", User: "u1"}), "PutSiteAccess(remove)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		diffList(t, "SiteAccessByUser(u1) after a replace and a removal", list(tx, "u1", "", big), []claim.SiteAccess{l1x, x2})
		return nil
	})
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.DeleteSite("s2"), "DeleteSite(s2)")
		must(t, tx.DeleteUser("u1"), "DeleteUser(u1)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		diffList(t, "SiteAccessByUser(u1) after DeleteUser(u1)", list(tx, "u1", "", big), []claim.SiteAccess(nil))
		diffList(t, "SiteAccessByUser(u2) after DeleteSite(s2)", list(tx, "u2", "", big), []claim.SiteAccess(nil))
		return nil
	})
	// A user created again with a deleted user's ID holds nothing.
	createUsers(t, s, newUser("u1", "u1@x.example", "o"))
	view(t, s, func(tx claim.Tx) error {
		diffList(t, "SiteAccessByUser(u1) of a new u1", list(tx, "u1", "", big), []claim.SiteAccess(nil))
		return nil
	})
}

// testSiteRollback: an Update that fails leaves no site or site access
// behind, and undoes a removal; a View cannot write them.
func testSiteRollback(t *testing.T, s claim.Store) {
	createUsers(t, s, newUser("u1", "u1@x.example", "o"))
	keep := claim.Site{ID: "s1", Org: "o", URL: "s1.webex.example"}
	held := claim.SiteAccess{Site: "s1", User: "u1", License: true}
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutSite(keep), "PutSite(s1)")
		return tx.PutSiteAccess(held)
	})
	boom := errors.New("boom")
	err := s.Update(t.Context(), func(tx claim.Tx) error {
		must(t, tx.PutSite(claim.Site{ID: "s2", Org: "o", URL: "s2.webex.example"}), "PutSite(s2)")
		must(t, tx.PutSiteAccess(claim.SiteAccess{Site: "s2", User: "u1", ExternalAdmin: true}), "PutSiteAccess(s2)")
		must(t, tx.PutSite(claim.Site{ID: "s1", Org: "p", URL: "changed", ControlHub: true}), "PutSite(s1 changed)")
		must(t, tx.PutSiteAccess(claim.SiteAccess{Site: "s1", User: "u1"}), "PutSiteAccess(s1 removed)")
		must(t, tx.DeleteUser("u1"), "DeleteUser(u1)")
		must(t, tx.DeleteSite("s1"), "DeleteSite(s1)")
		return boom
	})
	wantErr(t, err, boom, "Update(failing fn)")
	_ = s.View(t.Context(), func(tx claim.Tx) error {
		if tx.PutSite(claim.Site{ID: "s9", Org: "o"}) == nil {
			t.Errorf("PutSite in a View = nil, want an error")
		}
		if tx.PutSiteAccess(claim.SiteAccess{Site: "s1", User: "u1"}) == nil {
			t.Errorf("PutSiteAccess in a View = nil, want an error")
		}
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Site("s1")
		must(t, err, "Site(s1)")
		diffList(t, "Site(s1) after a rolled-back Update", got, keep)
		_, err = tx.Site("s2")
		wantErr(t, err, claim.ErrNotFound, "Site(s2) after a rolled-back Update")
		as, err := tx.SitesByOrg("o", "", big)
		must(t, err, "SitesByOrg(o)")
		diffList(t, "SitesByOrg(o) after a rolled-back Update", as, []claim.Site{keep})
		ps, err := tx.SitesByOrg("p", "", big)
		must(t, err, "SitesByOrg(p)")
		diffList(t, "SitesByOrg(p) after a rolled-back Update", ps, []claim.Site(nil))
		acc, err := tx.SiteAccessByUser("u1", "", big)
		must(t, err, "SiteAccessByUser(u1)")
		diffList(t, "SiteAccessByUser(u1) after a rolled-back Update", acc, []claim.SiteAccess{held})
		return nil
	})
}
