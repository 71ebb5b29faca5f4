-- Migration 1: the initial schema of the claim store.
--
-- TIME: every time.Time is a bigint of Unix nanoseconds (UTC), NULL for
-- Go's zero time. timestamptz keeps only microseconds, and the engine
-- compares instants at nanosecond precision: a claim window is half-open,
-- [At, Deadline), and the instant one nanosecond before a deadline must
-- still be inside it. Durations (Retention) are bigint nanoseconds too.
-- Times outside the int64 range (before 1678, after 2262) are refused.
--
-- ORDER: key columns are COLLATE "C", so lists come in byte order, as Go
-- compares strings, whatever the database's default collation; and the
-- btree indexes serve "email > $after ORDER BY email LIMIT $n".
--
-- NO FOREIGN KEYS to orgs: claim.Tx.DeleteOrg removes the org record only
-- and leaves the org's users and domains for the engine to deal with
-- (G1), and a user's Org, a claim's By and From, and HeldBy may name orgs
-- that are gone or were never created through this store (the
-- conformance suite does both). The engine, not the schema, keeps them
-- consistent.

CREATE TABLE orgs (
    id                      text COLLATE "C" PRIMARY KEY,
    name                    text NOT NULL,
    kind                    smallint NOT NULL,
    created_at              bigint,            -- Unix ns; NULL: zero time
    allow_content_migration boolean NOT NULL,
    auto_licenses           text[] NOT NULL,
    directory_sync          boolean NOT NULL,
    sso                     boolean NOT NULL,
    retention               bigint NOT NULL    -- nanoseconds; 0: forever
);

CREATE TABLE domains (
    org_id      text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    token       text NOT NULL,
    verified    boolean NOT NULL,
    verified_at bigint,                        -- Unix ns; NULL: zero time
    claimed     boolean NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- At most one org claims a domain name (D3); DomainClaimant reads it.
CREATE UNIQUE INDEX domains_claimant_key ON domains (name) WHERE claimed;

CREATE TABLE users (
    id              text COLLATE "C" PRIMARY KEY,
    email           text COLLATE "C" NOT NULL,
    -- The part of the address after its last '@' (the whole address if it
    -- has none), as UsersByDomain matches it.
    domain          text COLLATE "C" NOT NULL
                    GENERATED ALWAYS AS (substring(email FROM '[^@]*$')) STORED,
    first_name      text NOT NULL,
    last_name       text NOT NULL,
    display_name    text NOT NULL,
    org_id          text COLLATE "C" NOT NULL,
    state           smallint NOT NULL,
    licenses        text[] NOT NULL,
    content         bigint NOT NULL,
    created_at      bigint,                    -- Unix ns; NULL: zero time
    last_sign_in    bigint,
    inactive_since  bigint,
    activation_sent bigint,
    held_by         text COLLATE "C",          -- NULL: not held
    -- The claim (claim.ClaimInfo): all NULL when there is none; claim_ended
    -- NULL (the zero time) while it is pending.
    claim_by         text COLLATE "C",
    claim_from       text COLLATE "C",
    claim_mode       smallint,
    claim_prev_state smallint,
    claim_at         bigint,
    claim_deadline   bigint,
    claim_signed_in  boolean,
    claim_original   text COLLATE "C",
    claim_ended      bigint,
    claim_outcome    smallint,
    -- Addresses are normalized to lower case (N1): two spellings of one
    -- address can never both be stored, whatever writes the table. (lower()
    -- under COLLATE "C" folds ASCII letters only, so the check never refuses
    -- an address Go's strings.ToLower produced.)
    CONSTRAINT users_email_lower_check CHECK (email = lower(email)),
    CONSTRAINT users_state_check CHECK (state BETWEEN 1 AND 5),
    CONSTRAINT users_content_check CHECK (content >= 0),
    CONSTRAINT users_claim_check CHECK (
        num_nulls(claim_by, claim_from, claim_mode, claim_prev_state,
                  claim_signed_in, claim_original, claim_outcome) IN (0, 7)
        AND (claim_by IS NOT NULL
             OR num_nulls(claim_at, claim_deadline, claim_ended) = 3))
);

-- One user per address (U1). The unique index is on lower(email), which
-- the CHECK above makes equal to email, so that it also refuses the same
-- address in another case on its own, and so that it cannot serve
-- "ORDER BY email": given an index in e-mail order, the planner may walk
-- every address from $after on, filtering by org or domain, instead of
-- entering the list's own index (seen with EXPLAIN on 50,000 users), at a
-- cost in proportion to the table, not to the page. UserByEmail looks
-- addresses up through it.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- One index per list query of claim.Tx, each entered at its after key.
-- UsersByOrg:
CREATE INDEX users_org_email_idx ON users (org_id, email);
-- UsersByDomain:
CREATE INDEX users_domain_email_idx ON users (domain, email);
-- PendingClaimsBy: pending claims only.
CREATE INDEX users_claim_by_email_idx ON users (claim_by, email)
    WHERE claim_by IS NOT NULL AND claim_ended IS NULL;
-- DueClaims: pending delayed claims (claim_mode 2 is claim.Delayed) in
-- deadline order, ties by ID. A zero deadline (NULL) sorts first, as the
-- zero time.Time does.
CREATE INDEX users_claim_due_idx
    ON users (coalesce(claim_deadline, '-9223372036854775808'::bigint), id)
    WHERE claim_by IS NOT NULL AND claim_ended IS NULL AND claim_mode = 2;

-- The event log (O1). Events(after) reads it by its primary key.
CREATE TABLE events (
    seq       bigint PRIMARY KEY CHECK (seq > 0),
    at        bigint,                          -- Unix ns; NULL: zero time
    type      text NOT NULL,
    org_id    text NOT NULL,
    from_org  text NOT NULL,
    user_id   text NOT NULL,
    recipient text NOT NULL,
    content   bigint NOT NULL,
    mode      smallint NOT NULL,
    action    smallint NOT NULL,
    retention bigint NOT NULL,                 -- nanoseconds
    detail    text NOT NULL
);

-- The source of event sequence numbers. nextval is called only by a
-- transaction that holds the store's write lock (a session-level advisory
-- lock keyed by this table's OID), which it keeps until it has ended, so
-- numbers are handed out in commit order; a transaction that does not
-- commit sets the sequence back before it lets the lock go, so numbers are
-- not lost (see the package documentation).
CREATE SEQUENCE events_seq AS bigint MINVALUE 1 START 1 CACHE 1 NO CYCLE
    OWNED BY events.seq;
