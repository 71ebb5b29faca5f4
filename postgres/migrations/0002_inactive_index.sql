-- Migration 2: the index of claim.Tx.InactiveUsers.
--
-- InactiveUsers: users that are Inactive (state 4 is claim.Inactive) and
-- not held by a claim (held_by NULL: HeldBy empty), in inactive_since
-- order, ties by ID, entered at "inactive_since <= $before". A zero
-- InactiveSince is NULL: the comparison never selects it (and NULLs sort
-- last in the index, past every entry point).
CREATE INDEX users_inactive_idx ON users (inactive_since, id)
    WHERE state = 4 AND held_by IS NULL;
