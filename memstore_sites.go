package claim

import (
	"fmt"

	"github.com/google/btree"
)

// Meeting sites and what users hold on them (S1), in the memory store.

// memSites holds the sites and site access of a memData.
type memSites struct {
	sites  map[SiteID]Site
	byOrg  *btree.BTreeG[memPairKey[OrgID, SiteID]] // (Org, ID)
	access map[memPairKey[UserID, SiteID]]SiteAccess
	byUser *btree.BTreeG[memPairKey[UserID, SiteID]] // (User, Site): the keys of access
	bySite *btree.BTreeG[memPairKey[SiteID, UserID]] // (Site, User): the same records by site
}

func newMemSites() *memSites {
	return &memSites{
		sites:  make(map[SiteID]Site),
		byOrg:  btree.NewG(memDegree, memPairKey[OrgID, SiteID].less),
		access: make(map[memPairKey[UserID, SiteID]]SiteAccess),
		byUser: btree.NewG(memDegree, memPairKey[UserID, SiteID].less),
		bySite: btree.NewG(memDegree, memPairKey[SiteID, UserID].less),
	}
}

// Site returns the site with the id; ErrNotFound if missing.
func (tx *memTx) Site(id SiteID) (Site, error) {
	if err := tx.check("Site", false); err != nil {
		return Site{}, err
	}
	s, ok := tx.d.sites.sites[id]
	if !ok {
		return Site{}, fmt.Errorf("memory store: site %s: %w", id, ErrNotFound)
	}
	return s, nil
}

// PutSite inserts or replaces the site with s's ID.
func (tx *memTx) PutSite(s Site) error {
	if err := tx.check("PutSite", true); err != nil {
		return err
	}
	tx.setSite(s.ID, &s)
	return nil
}

// DeleteSite removes the site and every access to it; ErrNotFound if
// missing.
func (tx *memTx) DeleteSite(id SiteID) error {
	if err := tx.check("DeleteSite", true); err != nil {
		return err
	}
	if _, ok := tx.d.sites.sites[id]; !ok {
		return fmt.Errorf("memory store: site %s: %w", id, ErrNotFound)
	}
	var users []UserID
	tx.d.sites.bySite.AscendGreaterOrEqual(memPairKey[SiteID, UserID]{id, ""}, func(k memPairKey[SiteID, UserID]) bool {
		if k.first != id {
			return false
		}
		users = append(users, k.second)
		return true
	})
	for _, u := range users {
		tx.setAccess(SiteAccess{Site: id, User: u})
	}
	tx.setSite(id, nil)
	return nil
}

// setSite stores s as the site id, or removes it if s is nil, recording
// the undo.
func (tx *memTx) setSite(id SiteID, s *Site) {
	d := tx.d.sites
	prev, existed := d.sites[id]
	tx.onUndo(func() {
		if cur, ok := d.sites[id]; ok {
			d.byOrg.Delete(memPairKey[OrgID, SiteID]{cur.Org, id})
			delete(d.sites, id)
		}
		if existed {
			d.sites[id] = prev
			d.byOrg.ReplaceOrInsert(memPairKey[OrgID, SiteID]{prev.Org, id})
		}
	})
	if existed {
		d.byOrg.Delete(memPairKey[OrgID, SiteID]{prev.Org, id})
		delete(d.sites, id)
	}
	if s != nil {
		d.sites[id] = *s
		d.byOrg.ReplaceOrInsert(memPairKey[OrgID, SiteID]{s.Org, id})
	}
}

// SitesByOrg lists org's sites after the given ID, in ID order.
func (tx *memTx) SitesByOrg(org OrgID, after SiteID, limit int) ([]Site, error) {
	if err := tx.checkList("SitesByOrg", limit); err != nil {
		return nil, err
	}
	d := tx.d.sites
	return memPage(d.byOrg, org, after, limit, func(id SiteID) Site { return d.sites[id] }), nil
}

// PutSiteAccess inserts, replaces or (holding nothing) removes what
// a.User holds on a.Site; ErrNotFound if the site or the user is missing.
func (tx *memTx) PutSiteAccess(a SiteAccess) error {
	if err := tx.check("PutSiteAccess", true); err != nil {
		return err
	}
	if _, ok := tx.d.sites.sites[a.Site]; !ok {
		return fmt.Errorf("memory store: site %s: %w", a.Site, ErrNotFound)
	}
	if _, ok := tx.d.users[a.User]; !ok {
		return fmt.Errorf("memory store: user %s: %w", a.User, ErrNotFound)
	}
	tx.setAccess(a)
	return nil
}

// setAccess stores a, or removes its record if it holds nothing,
// recording the undo.
func (tx *memTx) setAccess(a SiteAccess) {
	d := tx.d.sites
	k := memPairKey[UserID, SiteID]{a.User, a.Site}
	prev, existed := d.access[k]
	put := func(a SiteAccess, ok bool) {
		if ok {
			d.access[k] = a
			d.byUser.ReplaceOrInsert(k)
			d.bySite.ReplaceOrInsert(memPairKey[SiteID, UserID]{k.second, k.first})
			return
		}
		delete(d.access, k)
		d.byUser.Delete(k)
		d.bySite.Delete(memPairKey[SiteID, UserID]{k.second, k.first})
	}
	tx.onUndo(func() { put(prev, existed) })
	put(a, a.held())
}

// dropSiteAccess removes every record of the user, which is being
// deleted.
func (tx *memTx) dropSiteAccess(user UserID) {
	for _, a := range memPage(tx.d.sites.byUser, user, "", len(tx.d.sites.access)+1, func(s SiteID) SiteAccess {
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
	return memPage(d.byUser, user, after, limit, func(s SiteID) SiteAccess {
		return d.access[memPairKey[UserID, SiteID]{user, s}]
	}), nil
}
