package postgres

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/claimkit/claim"
)

// Webex for BroadWorks: enterprises, subscribers and org profiles
// (migrations/0003_broadworks.sql, 0004_broadworks_partner.sql).

const enterpriseColumns = `id, partner_id, name, partner_admin, trusted_email, no_admin_invite,
	target_org, org_id, attach, workspaces, created_at`

func scanEnterprise(row pgx.CollectableRow) (claim.BroadWorksEnterprise, error) {
	var (
		e                   claim.BroadWorksEnterprise
		id, partner, attach string
		target, org         *string
		ws                  []string
		created             *int64
	)
	err := row.Scan(&id, &partner, &e.Name, &e.Template.PartnerAdmin, &e.Template.TrustedEmail,
		&e.Template.NoAdminInvite, &target, &org, &attach, &ws, &created)
	e.ID = claim.EnterpriseID(id)
	e.Partner = claim.OrgID(partner)
	if target != nil {
		e.Target = claim.OrgID(*target)
	}
	if org != nil {
		e.Org = claim.OrgID(*org)
	}
	e.Attach = claim.AttachMode(attach)
	e.Workspaces = nilIfEmpty(ws)
	e.CreatedAt = decTime(created)
	return e, err
}

// enterprise returns the one enterprise query selects, or an error
// wrapping claim.ErrNotFound naming key.
func (t *tx) enterprise(op, key, query, arg string) (claim.BroadWorksEnterprise, error) {
	return one(t, op, "enterprise", key, scanEnterprise, query, arg)
}

// Enterprise returns the enterprise with the id; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) Enterprise(id claim.EnterpriseID) (claim.BroadWorksEnterprise, error) {
	t.lock(lockExclusive, keyEnterprise+string(id))
	return t.enterprise("Enterprise", string(id), `SELECT `+enterpriseColumns+` FROM bw_enterprises WHERE id = $1`, string(id))
}

// queryEnterpriseByOrg is served by bw_enterprises_org_key.
const queryEnterpriseByOrg = `SELECT ` + enterpriseColumns + ` FROM bw_enterprises WHERE org_id = $1`

// EnterpriseByOrg returns the enterprise whose Org is org, from
// bw_enterprises_org_key; an error wrapping claim.ErrNotFound if none.
func (t *tx) EnterpriseByOrg(org claim.OrgID) (claim.BroadWorksEnterprise, error) {
	t.lock(lockExclusive, keyEnterpriseOf+string(org))
	return t.enterprise("EnterpriseByOrg", "of org "+string(org), queryEnterpriseByOrg, string(org))
}

// queryPutEnterprise upserts an enterprise unless its org is another
// enterprise's or it would move from one org to another (B5), and tells
// which. The keys of the enterprise and of its org, which the
// transaction holds exclusive, keep other writers of them out
// (bw_enterprises_org_key stays the schema's guard).
const queryPutEnterprise = `
WITH other AS (
	SELECT id FROM bw_enterprises WHERE $8::text IS NOT NULL AND org_id = $8::text AND id <> $1::text
), moved AS (
	SELECT org_id FROM bw_enterprises
	WHERE id = $1::text AND $8::text IS NOT NULL AND org_id IS NOT NULL AND org_id <> $8::text
), put AS (
	INSERT INTO bw_enterprises (` + enterpriseColumns + `)
	SELECT $1::text, $2::text, $3::text, $4::text, $5::boolean, $6::boolean, $7::text, $8::text, $9::text, $10::text[], $11::bigint
	WHERE NOT EXISTS (SELECT FROM other) AND NOT EXISTS (SELECT FROM moved)
	ON CONFLICT (id) DO UPDATE
	SET partner_id = excluded.partner_id, name = excluded.name, partner_admin = excluded.partner_admin,
		trusted_email = excluded.trusted_email, no_admin_invite = excluded.no_admin_invite,
		target_org = excluded.target_org, org_id = excluded.org_id, attach = excluded.attach,
		workspaces = excluded.workspaces, created_at = excluded.created_at
)
SELECT (SELECT id FROM other), (SELECT org_id FROM moved)`

// PutEnterprise inserts or replaces the enterprise with e's ID. It
// returns an error wrapping claim.ErrOrgMapped if e.Org is another
// enterprise's or the stored enterprise has another Org (B5), and
// claim.ErrInvalidValue if a value cannot be stored.
func (t *tx) PutEnterprise(e claim.BroadWorksEnterprise) error {
	if err := t.check("PutEnterprise", true); err != nil {
		return err
	}
	created, err := encTime("BroadWorksEnterprise.CreatedAt", e.CreatedAt)
	if err != nil {
		return err
	}
	t.lockEnterpriseWrite(e.ID)
	t.lock(lockExclusive, keyEnterpriseOf+string(e.Org))
	t.lock(lockShared, keyPartner+string(e.Partner))
	var other, moved *string
	err = t.writeRow(queryPutEnterprise, []any{string(e.ID), string(e.Partner), e.Name, e.Template.PartnerAdmin,
		e.Template.TrustedEmail, e.Template.NoAdminInvite, nullString(e.Target), nullString(e.Org), string(e.Attach),
		stringsOf(e.Workspaces), created}, &other, &moved)
	switch {
	case err != nil:
		return t.fail("PutEnterprise", err)
	case other != nil:
		return fmt.Errorf("postgres store: enterprise %s: org %s belongs to enterprise %s: %w", e.ID, e.Org, *other, claim.ErrOrgMapped)
	case moved != nil:
		return fmt.Errorf("postgres store: enterprise %s belongs to org %s, not %s: %w", e.ID, *moved, e.Org, claim.ErrOrgMapped)
	}
	return nil
}

// DeleteEnterprise removes the enterprise; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) DeleteEnterprise(id claim.EnterpriseID) error {
	t.lockEnterpriseWrite(id)
	return t.deleteRow("DeleteEnterprise", "enterprise", `DELETE FROM bw_enterprises WHERE id = $1`, string(id))
}

// lockEnterpriseWrite queues the locks of a write of the enterprise: its
// key, and the keys of the org and the partner it has now.
func (t *tx) lockEnterpriseWrite(id claim.EnterpriseID) {
	t.lock(lockExclusive, keyEnterprise+string(id))
	t.lockRow(`SELECT `+lockExpr(lockExclusive, keyEnterpriseOf, "org_id")+`, `+lockExpr(lockShared, keyPartner, "partner_id")+`
		FROM bw_enterprises WHERE id = $1`, string(id))
}

// queryEnterprisesByPartner is served by bw_enterprises_partner_idx.
const queryEnterprisesByPartner = `SELECT ` + enterpriseColumns + ` FROM bw_enterprises
	WHERE partner_id = $1 AND id > $2 ORDER BY id LIMIT $3`

// EnterprisesByPartner lists the partner's enterprises whose ID sorts
// after the given one, in ID order, from bw_enterprises_partner_idx
// (migration 4). Returns an error wrapping claim.ErrInvalidValue if
// limit <= 0.
func (t *tx) EnterprisesByPartner(partner claim.OrgID, after claim.EnterpriseID, limit int) ([]claim.BroadWorksEnterprise, error) {
	if err := t.checkList("EnterprisesByPartner", limit); err != nil {
		return nil, err
	}
	t.lock(lockExclusive, keyPartner+string(partner))
	return collect(t, "EnterprisesByPartner", scanEnterprise, queryEnterprisesByPartner, string(partner), string(after), limit)
}

// deleteRow runs a DELETE of one row by key; an error wrapping
// claim.ErrNotFound if it deleted none.
func (t *tx) deleteRow(op, what, query, key string) error {
	if err := t.check(op, true); err != nil {
		return err
	}
	tag, err := t.write(query, key)
	if err != nil {
		return t.fail(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres store: %s %s: %w", what, key, claim.ErrNotFound)
	}
	return nil
}

const subscriberColumns = `id, enterprise_id, flow, email, first_name, last_name, status, admin,
	user_id, old_user, reasons, created_at, updated_at`

func scanSubscriber(row pgx.CollectableRow) (claim.Subscriber, error) {
	var (
		s                     claim.Subscriber
		id, ent, flow, status string
		email, user, old      *string
		reasons               []string
		created, updated      *int64
	)
	err := row.Scan(&id, &ent, &flow, &email, &s.FirstName, &s.LastName, &status, &s.Admin,
		&user, &old, &reasons, &created, &updated)
	s.ID = claim.SubscriberID(id)
	s.Enterprise = claim.EnterpriseID(ent)
	s.Flow = claim.Flow(flow)
	s.Status = claim.SubscriberStatus(status)
	if email != nil {
		s.Email = *email
	}
	if user != nil {
		s.User = claim.UserID(*user)
	}
	if old != nil {
		s.Old = claim.UserID(*old)
	}
	for _, r := range reasons {
		s.Reasons = append(s.Reasons, claim.AttachReason(r))
	}
	s.CreatedAt = decTime(created)
	s.UpdatedAt = decTime(updated)
	return s, err
}

// subscriber returns the one subscriber query selects, or an error
// wrapping claim.ErrNotFound naming key.
func (t *tx) subscriber(op, key, query, arg string) (claim.Subscriber, error) {
	return one(t, op, "subscriber", key, scanSubscriber, query, arg)
}

// Subscriber returns the subscriber with the id; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) Subscriber(id claim.SubscriberID) (claim.Subscriber, error) {
	t.lock(lockExclusive, keySubscriber+string(id))
	return t.subscriber("Subscriber", string(id), `SELECT `+subscriberColumns+` FROM bw_subscribers WHERE id = $1`, string(id))
}

// querySubscriberByEmail is served by bw_subscribers_email_key.
const querySubscriberByEmail = `SELECT ` + subscriberColumns + ` FROM bw_subscribers WHERE email = $1`

// SubscriberByEmail returns the subscriber with the address, from
// bw_subscribers_email_key; an error wrapping claim.ErrNotFound if none.
func (t *tx) SubscriberByEmail(email string) (claim.Subscriber, error) {
	t.lock(lockExclusive, keySubEmail+email)
	return t.subscriber("SubscriberByEmail", email, querySubscriberByEmail, email)
}

// queryPutSubscriber upserts a subscriber unless its address is another
// subscriber's, and returns that subscriber then.
const queryPutSubscriber = `
WITH taken AS (
	SELECT id FROM bw_subscribers WHERE $4::text IS NOT NULL AND email = $4::text AND id <> $1::text
), put AS (
	INSERT INTO bw_subscribers (` + subscriberColumns + `)
	SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::boolean,
		$9::text, $10::text, $11::text[], $12::bigint, $13::bigint
	WHERE NOT EXISTS (SELECT FROM taken)
	ON CONFLICT (id) DO UPDATE
	SET enterprise_id = excluded.enterprise_id, flow = excluded.flow, email = excluded.email,
		first_name = excluded.first_name, last_name = excluded.last_name, status = excluded.status,
		admin = excluded.admin, user_id = excluded.user_id, old_user = excluded.old_user,
		reasons = excluded.reasons, created_at = excluded.created_at, updated_at = excluded.updated_at
)
SELECT id FROM taken`

// PutSubscriber inserts or replaces the subscriber with s's ID. It
// returns an error wrapping claim.ErrEmailTaken if another subscriber has
// s.Email, and claim.ErrInvalidValue if a value cannot be stored or
// breaks a CHECK (an unknown status or flow, an upper-case address).
func (t *tx) PutSubscriber(s claim.Subscriber) error {
	if err := t.check("PutSubscriber", true); err != nil {
		return err
	}
	created, err := encTime("Subscriber.CreatedAt", s.CreatedAt)
	if err != nil {
		return err
	}
	updated, err := encTime("Subscriber.UpdatedAt", s.UpdatedAt)
	if err != nil {
		return err
	}
	reasons := make([]string, len(s.Reasons))
	for i, r := range s.Reasons {
		reasons[i] = string(r)
	}
	t.lockSubscriberWrite(s.ID)
	t.lock(lockExclusive, keySubEmail+s.Email)
	t.lock(lockShared, keySubscribers+string(s.Enterprise))
	var other string
	err = t.writeRow(queryPutSubscriber, []any{string(s.ID), string(s.Enterprise), string(s.Flow),
		nullString(s.Email), s.FirstName, s.LastName, string(s.Status), s.Admin, nullString(s.User),
		nullString(s.Old), reasons, created, updated}, &other)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return t.fail("PutSubscriber", err)
	}
	return fmt.Errorf("postgres store: subscriber %s: %s is subscriber %s's: %w", s.ID, s.Email, other, claim.ErrEmailTaken)
}

// DeleteSubscriber removes the subscriber; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) DeleteSubscriber(id claim.SubscriberID) error {
	t.lockSubscriberWrite(id)
	return t.deleteRow("DeleteSubscriber", "subscriber", `DELETE FROM bw_subscribers WHERE id = $1`, string(id))
}

// lockSubscriberWrite queues the locks of a write of the subscriber: its
// key, and the keys of the address and the enterprise it has now.
func (t *tx) lockSubscriberWrite(id claim.SubscriberID) {
	t.lock(lockExclusive, keySubscriber+string(id))
	t.lockRow(`SELECT `+lockExpr(lockExclusive, keySubEmail, "email")+`, `+lockExpr(lockShared, keySubscribers, "enterprise_id")+`
		FROM bw_subscribers WHERE id = $1`, string(id))
}

// querySubscribersByEnterprise is served by bw_subscribers_enterprise_idx.
const querySubscribersByEnterprise = `SELECT ` + subscriberColumns + ` FROM bw_subscribers
	WHERE enterprise_id = $1 AND id > $2 ORDER BY id LIMIT $3`

// SubscribersByEnterprise lists the enterprise's subscribers whose ID
// sorts after the given one, in ID order, from
// bw_subscribers_enterprise_idx. Returns an error wrapping
// claim.ErrInvalidValue if limit <= 0.
func (t *tx) SubscribersByEnterprise(e claim.EnterpriseID, after claim.SubscriberID, limit int) ([]claim.Subscriber, error) {
	if err := t.checkList("SubscribersByEnterprise", limit); err != nil {
		return nil, err
	}
	t.lock(lockExclusive, keySubscribers+string(e))
	return collect(t, "SubscribersByEnterprise", scanSubscriber, querySubscribersByEnterprise, string(e), string(after), limit)
}

// OrgProfile returns the org's profile; an error wrapping
// claim.ErrNotFound if none was stored.
func (t *tx) OrgProfile(org claim.OrgID) (claim.OrgProfile, error) {
	if err := t.check("OrgProfile", false); err != nil {
		return claim.OrgProfile{}, err
	}
	t.lock(lockExclusive, keyProfile+string(org))
	p := claim.OrgProfile{Org: org}
	err := t.queryRow(`SELECT restricted_admin_mode, admins, licenses FROM bw_org_profiles WHERE org_id = $1`,
		[]any{string(org)}, &p.RestrictedAdminMode, &p.Admins, &p.Licenses)
	if errors.Is(err, pgx.ErrNoRows) {
		return claim.OrgProfile{}, fmt.Errorf("postgres store: profile of org %s: %w", org, claim.ErrNotFound)
	}
	if err != nil {
		return claim.OrgProfile{}, t.fail("OrgProfile", err)
	}
	if len(p.Admins) == 0 {
		p.Admins = nil
	}
	if len(p.Licenses) == 0 {
		p.Licenses = nil
	}
	return p, nil
}

// PutOrgProfile inserts or replaces the profile of p.Org.
func (t *tx) PutOrgProfile(p claim.OrgProfile) error {
	if err := t.check("PutOrgProfile", true); err != nil {
		return err
	}
	admins, licenses := p.Admins, p.Licenses
	if admins == nil {
		admins = []claim.Admin{}
	}
	if licenses == nil {
		licenses = []claim.OrgLicense{}
	}
	// The store sends the JSON itself, as text, so that pgx need not know
	// the parameters' type: it does not in its exec and simple protocol
	// modes (see the package documentation, "Behind PgBouncer").
	adminsJSON, err := json.Marshal(admins)
	if err != nil {
		return fmt.Errorf("postgres store: PutOrgProfile %s: admins: %w", p.Org, err)
	}
	licensesJSON, err := json.Marshal(licenses)
	if err != nil {
		return fmt.Errorf("postgres store: PutOrgProfile %s: licenses: %w", p.Org, err)
	}
	t.lock(lockExclusive, keyProfile+string(p.Org))
	_, err = t.write(`INSERT INTO bw_org_profiles (org_id, restricted_admin_mode, admins, licenses)
		VALUES ($1, $2, $3::jsonb, $4::jsonb)
		ON CONFLICT (org_id) DO UPDATE
		SET restricted_admin_mode = excluded.restricted_admin_mode, admins = excluded.admins, licenses = excluded.licenses`,
		string(p.Org), p.RestrictedAdminMode, string(adminsJSON), string(licensesJSON))
	if err != nil {
		return t.fail("PutOrgProfile", err)
	}
	return nil
}

// DeleteOrgProfile removes the org's profile; an error wrapping
// claim.ErrNotFound if none was stored.
func (t *tx) DeleteOrgProfile(org claim.OrgID) error {
	t.lock(lockExclusive, keyProfile+string(org))
	return t.deleteRow("DeleteOrgProfile", "profile of org", `DELETE FROM bw_org_profiles WHERE org_id = $1`, string(org))
}
