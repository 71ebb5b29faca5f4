-- Migration 3: Webex for BroadWorks (SPEC section 17, B1-B6): enterprises,
-- subscribers, org profiles, and the subscriber of an event.
--
-- Times are Unix nanoseconds, NULL for the zero time, and key columns
-- COLLATE "C", as in migration 1. An empty Go string that means "none"
-- (an enterprise's org or target, a subscriber's address, user, old
-- account) is NULL, so that the partial unique indexes below ignore it.

CREATE TABLE bw_enterprises (
    id              text COLLATE "C" PRIMARY KEY,
    partner_id      text COLLATE "C" NOT NULL,
    name            text NOT NULL,
    partner_admin   text NOT NULL,
    trusted_email   boolean NOT NULL,
    no_admin_invite boolean NOT NULL,
    target_org      text COLLATE "C",          -- NULL: no attach target
    org_id          text COLLATE "C",          -- NULL: belongs to no org yet
    attach          text NOT NULL,             -- '' while org_id is NULL
    workspaces      text[] NOT NULL,
    created_at      bigint,
    CONSTRAINT bw_enterprises_attach_check CHECK (attach IN ('', 'new', 'automatic', 'approved'))
);

-- B5: one Webex org belongs to one enterprise at most. (That one
-- enterprise belongs to one org is the single org_id column; PutEnterprise
-- also refuses to move a mapped enterprise to another org without clearing
-- it first.) EnterpriseByOrg reads it.
CREATE UNIQUE INDEX bw_enterprises_org_key ON bw_enterprises (org_id) WHERE org_id IS NOT NULL;

CREATE TABLE bw_subscribers (
    id            text COLLATE "C" PRIMARY KEY,
    enterprise_id text COLLATE "C" NOT NULL,
    flow          text NOT NULL,
    email         text COLLATE "C",            -- NULL: not entered yet
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    status        text NOT NULL,
    admin         boolean NOT NULL,
    user_id       text COLLATE "C",            -- NULL: not provisioned
    old_user      text COLLATE "C",            -- NULL: no old account waiting for consent
    reasons       text[] NOT NULL,
    created_at    bigint,
    updated_at    bigint,
    CONSTRAINT bw_subscribers_status_check CHECK (status IN ('pending_email_input',
        'pending_email_validation', 'pending_user_migration', 'provisioning', 'provisioned', 'error')),
    CONSTRAINT bw_subscribers_flow_check CHECK (flow IN ('trusted_email', 'untrusted_email', 'self_activation')),
    CONSTRAINT bw_subscribers_email_lower_check CHECK (email = lower(email))
);

-- One subscriber per address; SubscriberByEmail reads it.
CREATE UNIQUE INDEX bw_subscribers_email_key ON bw_subscribers (email) WHERE email IS NOT NULL;
-- SubscribersByEnterprise, entered at its after key.
CREATE INDEX bw_subscribers_enterprise_idx ON bw_subscribers (enterprise_id, id);

-- An org's admins and licenses, as JSON arrays of claim.Admin and
-- claim.OrgLicense (small lists, always read and written whole).
CREATE TABLE bw_org_profiles (
    org_id                text COLLATE "C" PRIMARY KEY,
    restricted_admin_mode boolean NOT NULL,
    admins                jsonb NOT NULL,
    licenses              jsonb NOT NULL
);

-- claim.Event.Subscriber.
ALTER TABLE events ADD COLUMN subscriber text NOT NULL DEFAULT '';
