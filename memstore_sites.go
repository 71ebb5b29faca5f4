package claim

import (
	"fmt"
)

// Meeting sites and what users hold on them (S1), in the memory store.

// memSites holds the sites and site access of a memData.
type memSites struct {
	sites  *memTable[SiteID, Site]
	byOrg  *memOrdered[memPairKey[OrgID, SiteID], SiteID, Site] // (Org, ID)
	access *memTable[memPairKey[UserID, SiteID], SiteAccess]
	byUser *memOrdered[memPairKey[UserID, SiteID], memPairKey[UserID, SiteID], SiteAccess] // (User, Site): the keys of access
	bySite *memOrdered[memPairKey[SiteID, UserID], memPairKey[UserID, SiteID], SiteAccess] // (Site, User): the same records by site
}

func newMemSites() *memSites {
	type accessKey = memPairKey[UserID, SiteID]
	d := &memSites{
		byOrg: memByFirst[OrgID, SiteID](func(s *Site) OrgID { return s.Org }),
		byUser: newMemOrdered(accessKey.less, func(k accessKey, _ *SiteAccess) (accessKey, bool) {
			return k, true
		}),
		bySite: newMemOrdered(memPairKey[SiteID, UserID].less, func(k accessKey, _ *SiteAccess) (memPairKey[SiteID, UserID], bool) {
			return memPairKey[SiteID, UserID]{k.second, k.first}, true
		}),
	}
	d.sites = newMemTable(nil, memIndex[SiteID, Site](d.byOrg))
	d.access = newMemTable(nil, memIndex[accessKey, SiteAccess](d.byUser), d.bySite)
	return d
}

// tables returns d's tables.
func (d *memSites) tables() []memLogged {
	return []memLogged{d.sites, d.access}
}

// Site returns the site with the id; ErrNotFound if missing.
func (tx *memTx) Site(id SiteID) (Site, error) {
	return memRead(tx, "Site", tx.d.sites.sites, "site", id)
}

// PutSite inserts or replaces the site with s's ID.
func (tx *memTx) PutSite(s Site) error {
	if err := tx.check("PutSite", true); err != nil {
		return err
	}
	tx.d.sites.sites.set(s.ID, &s)
	return nil
}

// DeleteSite removes the site and every access to it; ErrNotFound if
// missing.
func (tx *memTx) DeleteSite(id SiteID) error {
	d := tx.d.sites
	return memRemove(tx, "DeleteSite", d.sites, "site", id, func() {
		// Every access on the site, the empty user ID included (a bare
		// walk: memPairPage starts after a key).
		var users []UserID
		d.bySite.tree.AscendGreaterOrEqual(memPairKey[SiteID, UserID]{id, ""}, func(k memPairKey[SiteID, UserID]) bool {
			if k.first != id {
				return false
			}
			users = append(users, k.second)
			return true
		})
		for _, u := range users {
			tx.setAccess(SiteAccess{Site: id, User: u})
		}
	})
}

// SitesByOrg lists org's sites after the given ID, in ID order.
func (tx *memTx) SitesByOrg(org OrgID, after SiteID, limit int) ([]Site, error) {
	if err := tx.checkList("SitesByOrg", limit); err != nil {
		return nil, err
	}
	d := tx.d.sites
	return memPairPage(d.byOrg, org, after, limit, func(id SiteID) Site { return *d.sites.rows[id] }), nil
}

// PutSiteAccess inserts, replaces or (holding nothing) removes what
// a.User holds on a.Site; ErrNotFound if the site or the user is missing.
func (tx *memTx) PutSiteAccess(a SiteAccess) error {
	if err := tx.check("PutSiteAccess", true); err != nil {
		return err
	}
	if !tx.d.sites.sites.has(a.Site) {
		return fmt.Errorf("memory store: site %s: %w", a.Site, ErrNotFound)
	}
	if !tx.d.users.has(a.User) {
		return fmt.Errorf("memory store: user %s: %w", a.User, ErrNotFound)
	}
	tx.setAccess(a)
	return nil
}

// setAccess stores a, or removes its record if it holds nothing,
// recording the undo.
func (tx *memTx) setAccess(a SiteAccess) {
	k := memPairKey[UserID, SiteID]{a.User, a.Site}
	if !a.held() {
		tx.d.sites.access.set(k, nil)
		return
	}
	tx.d.sites.access.set(k, &a)
}

// dropSiteAccess removes every record of the user, which is being
// deleted.
func (tx *memTx) dropSiteAccess(user UserID) {
	d := tx.d.sites
	for _, a := range memPairPage(d.byUser, user, "", len(d.access.rows)+1, func(s SiteID) SiteAccess {
		return SiteAccess{Site: s, User: user}
	}) {
		tx.setAccess(a)
	}
}

// SiteAccessByUser lists what the user holds on sites after the given
// ID, in site ID order.
func (tx *memTx) SiteAccessByUser(user UserID, after SiteID, limit int) ([]SiteAccess, error) {
	if err := tx.checkList("SiteAccessByUser", limit); err != nil {
		return nil, err
	}
	d := tx.d.sites
	return memPairPage(d.byUser, user, after, limit, func(s SiteID) SiteAccess {
		return *d.access.rows[memPairKey[UserID, SiteID]{user, s}]
	}), nil
}
