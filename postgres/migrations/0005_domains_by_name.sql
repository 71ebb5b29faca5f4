-- Migration 5: every org's record of a domain name, by name.
--
-- A transaction reads all the records of a name at once (whose is it,
-- who claims it, whether the acting org has verified it), together with
-- the user whose address is on it; the primary key (org_id, name) cannot
-- serve a lookup by name alone.
CREATE INDEX domains_name_idx ON domains (name);
