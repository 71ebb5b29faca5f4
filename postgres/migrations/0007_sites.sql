-- Migration 7: meeting sites and what users hold on them (S1). A site
-- belongs to an org (no foreign key to orgs, as for domains: DeleteOrg
-- removes the org record only, and the engine deletes its sites). What a
-- user holds on a site goes with the site and with the user: DeleteSite
-- and DeleteUser remove it (ON DELETE CASCADE).

CREATE TABLE sites (
    id          text COLLATE "C" PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL,
    url         text NOT NULL,
    control_hub boolean NOT NULL
);

-- SitesByOrg, entered at its after key.
CREATE INDEX sites_org_idx ON sites (org_id, id);

CREATE TABLE site_access (
    user_id        text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    site_id        text COLLATE "C" NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    license        boolean NOT NULL,
    external_admin boolean NOT NULL,
    -- A record holds something: PutSiteAccess removes an empty one.
    CHECK (license OR external_admin),
    -- SiteAccessByUser, entered at its after key.
    PRIMARY KEY (user_id, site_id)
);

-- The cascade from sites, and DeleteSite.
CREATE INDEX site_access_site_idx ON site_access (site_id);
