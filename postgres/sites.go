package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/claimkit/claim"
)

// Meeting sites and what users hold on them (S1;
// migrations/0007_sites.sql).

const siteColumns = `id, org_id, url, control_hub`

func scanSite(row pgx.CollectableRow) (claim.Site, error) {
	var (
		s       claim.Site
		id, org string
	)
	err := row.Scan(&id, &org, &s.URL, &s.ControlHub)
	s.ID, s.Org = claim.SiteID(id), claim.OrgID(org)
	return s, err
}

// siteCache holds the sites of the orgs a transaction has read: Org
// reads an org's sites with it, in the same statement, so that a claim's
// look at the claiming org's sites (S1) costs none of its own (without
// it, ClaimUsers of one user takes 5 round trips, not TestRoundTrips' 4).
// Callers that never read sites pay an indexed subquery, not a round
// trip nor a statement: Org cannot know whether sites follow. An org with
// more than sitePrefetch sites is not kept, nor are the sites of an org
// that is not found; SitesByOrg then reads them. A write of a site
// empties it.
type siteCache map[claim.OrgID][]claim.Site

// sitePrefetch is the most sites of an org that Org reads along.
const sitePrefetch = 64

// queryOrgSites reads the org $1 and, in arrays, the ID, URL and
// ControlHub of its first $2 sites in ID order: no row if there is no
// such org.
const queryOrgSites = `SELECT ` + orgColumns + `, s.ids, s.urls, s.hubs FROM orgs, LATERAL (
	SELECT coalesce(array_agg(id ORDER BY id), '{}'), coalesce(array_agg(url ORDER BY id), '{}'),
		coalesce(array_agg(control_hub ORDER BY id), '{}')
	FROM (SELECT id, url, control_hub FROM sites WHERE org_id = $1 ORDER BY id LIMIT $2) AS f
) AS s(ids, urls, hubs)
WHERE orgs.id = $1`

// orgSites is a row of queryOrgSites.
type orgSites struct {
	org   claim.Org
	sites []claim.Site
}

func scanOrgSites(row pgx.CollectableRow) (orgSites, error) {
	var (
		ids, urls []string
		hubs      []bool
	)
	o, err := scanOrgWith(row, &ids, &urls, &hubs)
	if err != nil {
		return orgSites{}, err
	}
	if len(urls) != len(ids) || len(hubs) != len(ids) {
		return orgSites{}, fmt.Errorf("org %s: %d site IDs, %d URLs, %d ControlHub values", o.ID, len(ids), len(urls), len(hubs))
	}
	sites := make([]claim.Site, len(ids))
	for i, id := range ids {
		sites[i] = claim.Site{ID: claim.SiteID(id), Org: o.ID, URL: urls[i], ControlHub: hubs[i]}
	}
	return orgSites{o, sites}, nil
}

// put keeps org's sites, when they are all there.
func (c *siteCache) put(org claim.OrgID, sites []claim.Site) {
	if len(sites) > sitePrefetch {
		return
	}
	if *c == nil {
		*c = siteCache{}
	}
	(*c)[org] = sites
}

// Site returns the site with the id; an error wrapping claim.ErrNotFound
// if there is none.
func (t *tx) Site(id claim.SiteID) (claim.Site, error) {
	t.lock(lockShared, keySite+string(id))
	return one(t, "Site", "site", string(id), scanSite, `SELECT `+siteColumns+` FROM sites WHERE id = $1`, string(id))
}

// PutSite inserts or replaces the site with s's ID; an error wrapping
// claim.ErrInvalidValue if a value cannot be stored.
func (t *tx) PutSite(s claim.Site) error {
	if err := t.check("PutSite", true); err != nil {
		return err
	}
	t.sites = nil
	t.lock(lockExclusive, keySite+string(s.ID), keyOrgSites+string(s.Org))
	t.lockRow(`SELECT `+lockExpr(lockExclusive, keyOrgSites, "org_id")+` FROM sites WHERE id = $1`, string(s.ID))
	_, err := t.write(`INSERT INTO sites (`+siteColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, url = excluded.url, control_hub = excluded.control_hub`,
		string(s.ID), string(s.Org), s.URL, s.ControlHub)
	if err != nil {
		return t.fail("PutSite", err)
	}
	return nil
}

// DeleteSite removes the site and, by the cascade, every access to it;
// an error wrapping claim.ErrNotFound if there is none.
func (t *tx) DeleteSite(id claim.SiteID) error {
	t.sites = nil
	t.lock(lockExclusive, keySite+string(id))
	t.lockRow(`SELECT `+lockExpr(lockExclusive, keyOrgSites, "org_id")+` FROM sites WHERE id = $1`, string(id))
	return t.deleteRow("DeleteSite", "site", `DELETE FROM sites WHERE id = $1`, string(id))
}

// SitesByOrg lists org's sites whose ID sorts after the given one, in ID
// order, from sites_org_idx. Returns an error wrapping
// claim.ErrInvalidValue if limit <= 0.
func (t *tx) SitesByOrg(org claim.OrgID, after claim.SiteID, limit int) ([]claim.Site, error) {
	if err := t.checkList("SitesByOrg", limit); err != nil {
		return nil, err
	}
	if ss, ok := t.sites[org]; ok {
		var out []claim.Site
		for _, s := range ss {
			if len(out) == limit {
				break
			}
			if s.ID > after {
				out = append(out, s)
			}
		}
		return out, nil
	}
	t.lock(lockShared, keyOrgSites+string(org))
	return collect(t, "SitesByOrg", scanSite, `SELECT `+siteColumns+` FROM sites
		WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, string(org), string(after), limit)
}

// queryPutSiteAccess upserts, or for a record holding nothing deletes,
// what a user holds on a site, when both exist, and tells which exist:
// one statement that a missing site or user cannot make fail.
const queryPutSiteAccess = `
WITH s AS (SELECT FROM sites WHERE id = $1::text), u AS (SELECT FROM users WHERE id = $2::text),
del AS (
	DELETE FROM site_access WHERE site_id = $1::text AND user_id = $2::text AND NOT ($3::boolean OR $4::boolean)
), put AS (
	INSERT INTO site_access (user_id, site_id, license, external_admin)
	SELECT $2::text, $1::text, $3::boolean, $4::boolean
	WHERE ($3::boolean OR $4::boolean) AND EXISTS (SELECT FROM s) AND EXISTS (SELECT FROM u)
	ON CONFLICT (user_id, site_id) DO UPDATE SET license = excluded.license, external_admin = excluded.external_admin
)
SELECT EXISTS (SELECT FROM s), EXISTS (SELECT FROM u)`

// PutSiteAccess inserts, replaces or (holding nothing) removes what
// a.User holds on a.Site; an error wrapping claim.ErrNotFound if the site
// or the user is missing.
func (t *tx) PutSiteAccess(a claim.SiteAccess) error {
	if err := t.check("PutSiteAccess", true); err != nil {
		return err
	}
	t.lock(lockExclusive, keySiteAccess+string(a.User))
	if t.cache.users[a.User] == nil {
		// The user may be missing: lock its ID as a read that finds it
		// so. A user the transaction knows (read by its row, listed
		// under its list's key, or written) stays until it ends.
		t.lockNew(false, string(a.User), false)
	}
	t.lock(lockShared, keySite+string(a.Site))
	var site, user bool
	err := t.writeRow(queryPutSiteAccess, []any{string(a.Site), string(a.User), a.License, a.ExternalAdmin}, &site, &user)
	switch {
	case err != nil:
		return t.fail("PutSiteAccess", err)
	case !site:
		return fmt.Errorf("postgres store: site %s: %w", a.Site, claim.ErrNotFound)
	case !user:
		return fmt.Errorf("postgres store: user %s: %w", a.User, claim.ErrNotFound)
	}
	return nil
}

// SiteAccessByUser lists what the user holds on sites whose ID sorts
// after the given one, in site ID order, from site_access's primary key.
// Returns an error wrapping claim.ErrInvalidValue if limit <= 0.
func (t *tx) SiteAccessByUser(user claim.UserID, after claim.SiteID, limit int) ([]claim.SiteAccess, error) {
	if err := t.checkList("SiteAccessByUser", limit); err != nil {
		return nil, err
	}
	// In an Update: the key keeps new records out (PutSiteAccess locks
	// it), the rows' locks keep the ones listed as read (a DeleteSite or
	// DeleteUser removes them by its cascade, which locks them).
	forUpdate := ""
	if t.writable {
		forUpdate = " FOR UPDATE"
	}
	t.lock(lockShared, keySiteAccess+string(user))
	return collect(t, "SiteAccessByUser", func(row pgx.CollectableRow) (claim.SiteAccess, error) {
		var a claim.SiteAccess
		var site, u string
		err := row.Scan(&u, &site, &a.License, &a.ExternalAdmin)
		a.Site, a.User = claim.SiteID(site), claim.UserID(u)
		return a, err
	}, `SELECT user_id, site_id, license, external_admin FROM site_access
		WHERE user_id = $1 AND site_id > $2 ORDER BY site_id LIMIT $3`+forUpdate, string(user), string(after), limit)
}
