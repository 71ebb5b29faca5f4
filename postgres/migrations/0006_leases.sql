-- Migration 6: named leases (claim.Leaser), which the sweepers of the
-- processes sharing this schema take so that one of them sweeps at a time
-- (Service.RunSweeper).
--
-- A row is a lease: its holder and when it runs out, both by the
-- database's clock. One statement takes or renews it (INSERT … ON
-- CONFLICT DO UPDATE … WHERE the holder is the same or the lease has run
-- out), so it needs no session state and works behind a pooler in
-- transaction mode; releasing it deletes the row.
CREATE TABLE claim_leases (
    name        text COLLATE "C" PRIMARY KEY,
    holder      text COLLATE "C" NOT NULL,
    acquired_at timestamptz NOT NULL, -- when this holder took it
    renewed_at  timestamptz NOT NULL, -- its last renewal
    expires_at  timestamptz NOT NULL  -- it may be taken from then on
);
