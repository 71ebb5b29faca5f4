package postgres

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/claimkit/claim"
)

var (
	// errReadOnly: a write through the Tx of a View.
	errReadOnly = errors.New("write in a read-only transaction")
	// errTxDone: a Tx used after its fn has returned.
	errTxDone = errors.New("transaction has ended")
)

// sentinelOf returns the claim error a constraint violation means, as the
// memory store would report it, or nil. Constraints can only fail this
// way when a concurrent transaction wrote the conflicting row (the
// statements check for the rows they can see) or when the values break a
// CHECK of the schema.
func sentinelOf(pgErr *pgconn.PgError) error {
	if pgErr == nil {
		return nil
	}
	switch pgErr.Code {
	case codeUniqueViolation:
		switch pgErr.ConstraintName {
		case "orgs_pkey", "users_pkey", "domains_pkey", "events_pkey", "bw_enterprises_pkey", "bw_subscribers_pkey":
			return claim.ErrDuplicate
		case "users_email_key", "bw_subscribers_email_key":
			return claim.ErrEmailTaken
		case "bw_enterprises_org_key":
			return claim.ErrOrgMapped
		case "domains_claimant_key":
			return claim.ErrDomainClaimedByOther
		}
	case codeCheckViolation, codeNotNullViolation, codeStringTooLong, codeNumericOutOfRange,
		codeCharacterNotInRepert, codeUntranslatableChar:
		return claim.ErrInvalidValue
	}
	return nil
}

// Time and duration encoding: Unix nanoseconds, NULL for the zero time.

var (
	// minTime and maxTime bound the times the store keeps. math.MinInt64
	// itself is left out: it stands for the zero time where NULL cannot
	// (the due-claims index sorts a zero deadline first).
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// encTime returns t as Unix nanoseconds, NULL (not Valid) for the zero
// time, as a value: no allocation. It returns an error wrapping
// claim.ErrInvalidValue for a time outside 1677-09-21 … 2262-04-11,
// which int64 nanoseconds cannot hold.
func encTime(field string, t time.Time) (pgtype.Int8, error) {
	if t.IsZero() {
		return pgtype.Int8{}, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return pgtype.Int8{}, fmt.Errorf("postgres store: %s %v: outside the years 1678 to 2262: %w", field, t, claim.ErrInvalidValue)
	}
	return pgtype.Int8{Int64: t.UnixNano(), Valid: true}, nil
}

// decTime returns the time n encodes, in UTC.
func decTime(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// small returns v as a smallint, or an error wrapping
// claim.ErrInvalidValue if it does not fit.
func small[V ~int](field string, v V) (int16, error) {
	if v < math.MinInt16 || v > math.MaxInt16 {
		return 0, fmt.Errorf("postgres store: %s %d: out of range: %w", field, int(v), claim.ErrInvalidValue)
	}
	return int16(v), nil
}

// nullString returns nil for "", else s.
func nullString[S ~string](s S) *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
}

// stringsOf returns s, or an empty slice for nil (text[] columns are NOT
// NULL, and pgx sends a nil slice as NULL).
func stringsOf(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nilIfEmpty returns nil for an empty slice, as the memory store keeps
// a nil slice.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Orgs.

const orgColumns = `id, name, kind, created_at, allow_content_migration, auto_licenses, directory_sync, sso, retention`

// orgArgs returns o's column values, in orgColumns order.
func orgArgs(o claim.Org) ([]any, error) {
	kind, err := small("Org.Kind", o.Kind)
	if err != nil {
		return nil, err
	}
	created, err := encTime("Org.CreatedAt", o.CreatedAt)
	if err != nil {
		return nil, err
	}
	st := o.Settings
	return []any{string(o.ID), o.Name, kind, created, st.AllowContentMigration,
		stringsOf(st.AutoLicenses), st.DirectorySync, st.SSO, int64(st.Retention)}, nil
}

func scanOrg(row pgx.CollectableRow) (claim.Org, error) { return scanOrgWith(row) }

// scanOrgWith scans a row of orgColumns followed by the columns extra
// scans.
func scanOrgWith(row pgx.Row, extra ...any) (claim.Org, error) {
	var (
		o         claim.Org
		id        string
		kind      int16
		created   *int64
		retention int64
		lics      []string
	)
	err := row.Scan(append([]any{&id, &o.Name, &kind, &created, &o.Settings.AllowContentMigration,
		&lics, &o.Settings.DirectorySync, &o.Settings.SSO, &retention}, extra...)...)
	o.ID = claim.OrgID(id)
	o.Kind = claim.OrgKind(kind)
	o.CreatedAt = decTime(created)
	o.Settings.AutoLicenses = nilIfEmpty(lics)
	o.Settings.Retention = time.Duration(retention)
	return o, err
}

// Org returns the org with the id; an error wrapping claim.ErrNotFound if
// there is none.
func (t *tx) Org(id claim.OrgID) (claim.Org, error) {
	if err := t.check("Org", false); err != nil {
		return claim.Org{}, err
	}
	if o, ok := t.cache.orgs[id]; ok {
		if o == nil {
			return claim.Org{}, fmt.Errorf("postgres store: org %s: %w", id, claim.ErrNotFound)
		}
		return cloneOrg(*o), nil
	}
	// The org's sites come along, in the same statement (sites.go).
	t.lock(lockShared, keyOrg+string(id), keyOrgSites+string(id))
	var orgs []orgSites
	err := t.send(t.ctx, func(b *pgx.Batch) {
		queueRows(b, &orgs, scanOrgSites, queryOrgSites, string(id), sitePrefetch+1)
	})
	if err != nil {
		return claim.Org{}, t.fail("Org", err)
	}
	if len(orgs) == 0 {
		t.cache.putOrg(id, nil)
		return claim.Org{}, fmt.Errorf("postgres store: org %s: %w", id, claim.ErrNotFound)
	}
	t.sites.put(id, orgs[0].sites)
	t.cache.putOrg(id, &orgs[0].org)
	return orgs[0].org, nil
}

// CreateOrg inserts o; an error wrapping claim.ErrDuplicate if its ID
// exists.
func (t *tx) CreateOrg(o claim.Org) error {
	if err := t.check("CreateOrg", true); err != nil {
		return err
	}
	args, err := orgArgs(o)
	if err != nil {
		return err
	}
	t.lock(lockExclusive, keyOrg+string(o.ID))
	tag, err := t.write(`INSERT INTO orgs (`+orgColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO NOTHING`, args...)
	if err != nil {
		return t.fail("CreateOrg", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres store: org %s: %w", o.ID, claim.ErrDuplicate)
	}
	t.cache.putOrg(o.ID, &o)
	return nil
}

// UpdateOrg replaces the org with o's ID; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) UpdateOrg(o claim.Org) error {
	if err := t.check("UpdateOrg", true); err != nil {
		return err
	}
	args, err := orgArgs(o)
	if err != nil {
		return err
	}
	t.lock(lockExclusive, keyOrg+string(o.ID))
	tag, err := t.write(`UPDATE orgs SET name = $2, kind = $3, created_at = $4,
		allow_content_migration = $5, auto_licenses = $6, directory_sync = $7, sso = $8, retention = $9
		WHERE id = $1`, args...)
	if err != nil {
		return t.fail("UpdateOrg", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres store: org %s: %w", o.ID, claim.ErrNotFound)
	}
	t.cache.putOrg(o.ID, &o)
	return nil
}

// DeleteOrg removes the org record only; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) DeleteOrg(id claim.OrgID) error {
	if err := t.check("DeleteOrg", true); err != nil {
		return err
	}
	t.lock(lockExclusive, keyOrg+string(id))
	tag, err := t.write(`DELETE FROM orgs WHERE id = $1`, string(id))
	if err != nil {
		return t.fail("DeleteOrg", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres store: org %s: %w", id, claim.ErrNotFound)
	}
	t.cache.putOrg(id, nil)
	return nil
}

// Domains.

const domainColumns = `org_id, name, token, verified, verified_at, claimed`

func scanDomain(row pgx.CollectableRow) (claim.Domain, error) {
	var (
		d          claim.Domain
		org        string
		verifiedAt *int64
	)
	err := row.Scan(&org, &d.Name, &d.Token, &d.Verified, &verifiedAt, &d.Claimed)
	d.Org = claim.OrgID(org)
	d.VerifiedAt = decTime(verifiedAt)
	return d, err
}

// Domain returns org's record of the name; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) Domain(org claim.OrgID, name string) (claim.Domain, error) {
	if err := t.check("Domain", false); err != nil {
		return claim.Domain{}, err
	}
	ds, err := t.domainRecords("Domain", name)
	if err != nil {
		return claim.Domain{}, err
	}
	for _, d := range ds {
		if d.Org == org {
			return d, nil
		}
	}
	return claim.Domain{}, fmt.Errorf("postgres store: domain %s of org %s: %w", name, org, claim.ErrNotFound)
}

// queryPutDomain upserts a domain record unless it claims a name another
// org claims, and returns that org then. The two parts run on one
// snapshot; the key of the name, which the transaction holds exclusive,
// keeps other writers of its records out (domains_claimant_key stays the
// schema's guard).
const queryPutDomain = `
WITH other AS (
	SELECT org_id FROM domains
	WHERE $6::boolean AND name = $2::text AND claimed AND org_id <> $1::text
), put AS (
	INSERT INTO domains (` + domainColumns + `)
	SELECT $1::text, $2::text, $3::text, $4::boolean, $5::bigint, $6::boolean
	WHERE NOT EXISTS (SELECT FROM other)
	ON CONFLICT (org_id, name) DO UPDATE
	SET token = excluded.token, verified = excluded.verified,
		verified_at = excluded.verified_at, claimed = excluded.claimed
)
SELECT org_id FROM other`

// PutDomain inserts or replaces the record (d.Org, d.Name). It returns an
// error wrapping claim.ErrDomainClaimedByOther if d.Claimed and another
// org claims the name.
func (t *tx) PutDomain(d claim.Domain) error {
	if err := t.check("PutDomain", true); err != nil {
		return err
	}
	verifiedAt, err := encTime("Domain.VerifiedAt", d.VerifiedAt)
	if err != nil {
		return err
	}
	t.lock(lockExclusive, keyDomain+d.Name, keyOrgDomains+string(d.Org))
	var by string
	err = t.writeRow(queryPutDomain, []any{string(d.Org), d.Name, d.Token, d.Verified, verifiedAt, d.Claimed}, &by)
	delete(t.cache.domains, d.Name)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return t.fail("PutDomain", err)
	}
	return fmt.Errorf("postgres store: domain %s claimed by org %s: %w", d.Name, by, claim.ErrDomainClaimedByOther)
}

// DeleteDomain removes org's record of the name; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) DeleteDomain(org claim.OrgID, name string) error {
	if err := t.check("DeleteDomain", true); err != nil {
		return err
	}
	t.lock(lockExclusive, keyDomain+name, keyOrgDomains+string(org))
	tag, err := t.write(`DELETE FROM domains WHERE org_id = $1 AND name = $2`, string(org), name)
	delete(t.cache.domains, name)
	if err != nil {
		return t.fail("DeleteDomain", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres store: domain %s of org %s: %w", name, org, claim.ErrNotFound)
	}
	return nil
}

// Domains lists org's domain records whose name sorts after the given
// one, in name order, at most limit, from the primary key.
func (t *tx) Domains(org claim.OrgID, after string, limit int) ([]claim.Domain, error) {
	if err := t.checkList("Domains", limit); err != nil {
		return nil, err
	}
	t.lock(lockShared, keyOrgDomains+string(org))
	return collect(t, "Domains", scanDomain, `SELECT `+domainColumns+` FROM domains WHERE org_id = $1 AND name > $2 ORDER BY name LIMIT $3`,
		string(org), after, limit)
}

// DomainClaimant returns the org that claims the name, from
// domains_claimant_key; an error wrapping claim.ErrNotFound if none does.
func (t *tx) DomainClaimant(name string) (claim.OrgID, error) {
	if err := t.check("DomainClaimant", false); err != nil {
		return "", err
	}
	ds, err := t.domainRecords("DomainClaimant", name)
	if err != nil {
		return "", err
	}
	for _, d := range ds {
		if d.Claimed {
			return d.Org, nil
		}
	}
	return "", fmt.Errorf("postgres store: claimant of domain %s: %w", name, claim.ErrNotFound)
}

// Users.

const userColumns = `id, email, first_name, last_name, display_name, org_id, state, licenses, content,
	created_at, last_sign_in, inactive_since, activation_sent, held_by,
	claim_by, claim_from, claim_mode, claim_prev_state, claim_at, claim_deadline,
	claim_signed_in, claim_original, claim_ended, claim_outcome`

// userValues is the VALUES list of userColumns.
const userValues = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
	$15, $16, $17, $18, $19, $20, $21, $22, $23, $24`

// userRow holds the column values of a user that need encoding, the
// others being u's own fields: a single statement's arguments (args) and
// a run's columns (userCols.add) are both laid out from it. The claim
// columns are NULL together (users_claim_check), Valid when u has a claim.
type userRow struct {
	state                                       int16
	created, lastSignIn, inactiveSince, actSent pgtype.Int8
	heldBy, by, from, original                  pgtype.Text
	mode, prevState, outcome                    pgtype.Int2
	at, deadline, ended                         pgtype.Int8
	signedIn                                    pgtype.Bool
}

// encUser returns u's encoded column values, or an error wrapping
// claim.ErrInvalidValue if one cannot be stored (a time outside the
// years encTime takes, a number outside a smallint). It allocates
// nothing.
func encUser(u claim.User) (userRow, error) {
	var r userRow
	var err error
	if r.state, err = small("User.State", u.State); err != nil {
		return r, err
	}
	var times [4]pgtype.Int8
	for i, f := range [...]struct {
		name string
		t    time.Time
	}{{"User.CreatedAt", u.CreatedAt}, {"User.LastSignIn", u.LastSignIn},
		{"User.InactiveSince", u.InactiveSince}, {"User.ActivationSent", u.ActivationSent}} {
		if times[i], err = encTime(f.name, f.t); err != nil {
			return r, err
		}
	}
	r.created, r.lastSignIn, r.inactiveSince, r.actSent = times[0], times[1], times[2], times[3]
	if u.HeldBy != "" {
		r.heldBy = text(string(u.HeldBy))
	}
	c := u.Claim
	if c == nil {
		return r, nil
	}
	var smalls [3]pgtype.Int2
	for i, f := range [...]struct {
		name string
		v    int
	}{{"ClaimInfo.Mode", int(c.Mode)}, {"ClaimInfo.PrevState", int(c.PrevState)}, {"ClaimInfo.Outcome", int(c.Outcome)}} {
		n, err := small(f.name, f.v)
		if err != nil {
			return r, err
		}
		smalls[i] = pgtype.Int2{Int16: n, Valid: true}
	}
	r.mode, r.prevState, r.outcome = smalls[0], smalls[1], smalls[2]
	var claimTimes [3]pgtype.Int8
	for i, f := range [...]struct {
		name string
		t    time.Time
	}{{"ClaimInfo.At", c.At}, {"ClaimInfo.Deadline", c.Deadline}, {"ClaimInfo.Ended", c.Ended}} {
		if claimTimes[i], err = encTime(f.name, f.t); err != nil {
			return r, err
		}
	}
	r.at, r.deadline, r.ended = claimTimes[0], claimTimes[1], claimTimes[2]
	r.by, r.from, r.original = text(string(c.By)), text(string(c.From)), text(string(c.Original))
	r.signedIn = pgtype.Bool{Bool: c.SignedIn, Valid: true}
	return r, nil
}

// userArgs returns u's column values, in userColumns order, or an error
// wrapping claim.ErrInvalidValue if one cannot be stored.
func userArgs(u claim.User) ([]any, error) {
	r, err := encUser(u)
	if err != nil {
		return nil, err
	}
	return []any{string(u.ID), u.Email, u.FirstName, u.LastName, u.DisplayName, string(u.Org), r.state,
		stringsOf(u.Licenses), int64(u.Content), r.created, r.lastSignIn, r.inactiveSince, r.actSent, r.heldBy,
		r.by, r.from, r.mode, r.prevState, r.at, r.deadline, r.signedIn, r.original, r.ended, r.outcome}, nil
}

// text is s as a non-NULL pgtype.Text.
func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

func scanUser(row pgx.CollectableRow) (claim.User, error) {
	var (
		u                                           claim.User
		id, org                                     string
		state                                       int16
		content                                     int64
		lics                                        []string
		created, lastSignIn, inactiveSince, actSent *int64
		heldBy                                      *string
		by, from, original                          *string
		mode, prevState, outcome                    *int16
		at, deadline, ended                         *int64
		signedIn                                    *bool
	)
	err := row.Scan(&id, &u.Email, &u.FirstName, &u.LastName, &u.DisplayName, &org, &state, &lics, &content,
		&created, &lastSignIn, &inactiveSince, &actSent, &heldBy,
		&by, &from, &mode, &prevState, &at, &deadline, &signedIn, &original, &ended, &outcome)
	if err != nil {
		return claim.User{}, err
	}
	u.ID = claim.UserID(id)
	u.Org = claim.OrgID(org)
	u.State = claim.State(state)
	u.Licenses = nilIfEmpty(lics)
	u.Content = int(content)
	u.CreatedAt = decTime(created)
	u.LastSignIn = decTime(lastSignIn)
	u.InactiveSince = decTime(inactiveSince)
	u.ActivationSent = decTime(actSent)
	if heldBy != nil {
		u.HeldBy = claim.OrgID(*heldBy)
	}
	if by != nil { // users_claim_check: the other claim columns are set too
		u.Claim = &claim.ClaimInfo{
			By:        claim.OrgID(*by),
			From:      claim.OrgID(*from),
			Mode:      claim.Mode(*mode),
			PrevState: claim.State(*prevState),
			At:        decTime(at),
			Deadline:  decTime(deadline),
			SignedIn:  *signedIn,
			Original:  claim.UserID(*original),
			Ended:     decTime(ended),
			Outcome:   claim.Action(*outcome),
		}
	}
	return u, nil
}

// user returns the user with the key (an ID or an address, as where
// selects it), from the cache or with what fetchUser reads beside it.
func (t *tx) user(op, key, where string, cached func() (claim.User, bool, bool)) (claim.User, error) {
	if err := t.check(op, false); err != nil {
		return claim.User{}, err
	}
	if u, found, ok := cached(); ok {
		if !found {
			return claim.User{}, fmt.Errorf("postgres store: user %s: %w", key, claim.ErrNotFound)
		}
		return u, nil
	}
	return t.fetchUser(op, key, where)
}

// User returns the user with the id; an error wrapping claim.ErrNotFound
// if there is none.
func (t *tx) User(id claim.UserID) (claim.User, error) {
	return t.user("User", string(id), whereUserID, func() (claim.User, bool, bool) { return t.cache.user(id) })
}

// UserByEmail returns the user with the address; an error wrapping
// claim.ErrNotFound if there is none.
func (t *tx) UserByEmail(email string) (claim.User, error) {
	return t.user("UserByEmail", email, whereUserEmail, func() (claim.User, bool, bool) { return t.cache.userByEmail(email) })
}

// queryCreateUser inserts a user unless its ID or its address is taken,
// and tells which: the SELECT reads the snapshot the INSERT started from.
const queryCreateUser = `
WITH ins AS (
	INSERT INTO users (` + userColumns + `) VALUES (` + userValues + `)
	ON CONFLICT DO NOTHING
	RETURNING 1
)
SELECT EXISTS (SELECT FROM ins), EXISTS (SELECT FROM users WHERE id = $1)`

// CreateUser inserts u; an error wrapping claim.ErrDuplicate if its ID
// exists, claim.ErrEmailTaken if its Email does, claim.ErrInvalidValue if
// a value cannot be stored or breaks a CHECK of the schema (an address
// with upper-case letters, a State outside 1…5, a negative Content).
func (t *tx) CreateUser(u claim.User) error {
	if err := t.check("CreateUser", true); err != nil {
		return err
	}
	t.lockUserWrite(nil, &u)
	if _, idFound, idKnown := t.cache.user(u.ID); idKnown && !idFound {
		if _, emailFound, emailKnown := t.cache.userByEmail(u.Email); emailKnown && !emailFound {
			if ok, err := t.deferUser("CreateUser", u, queryDeferredCreateUser); ok {
				return err
			}
		}
	}
	return t.writeUser("CreateUser", queryCreateUser, u, createUserResult)
}

// writeUser runs query, CreateUser's or UpdateUser's single statement,
// for u: result turns the two flags the statement returns into the
// method's error, and a user written is cached.
func (t *tx) writeUser(op, query string, u claim.User, result func(u claim.User, a, b bool) error) error {
	args, err := userArgs(u)
	if err != nil {
		return err
	}
	var a, b bool
	if err := t.writeRow(query, args, &a, &b); err != nil {
		return t.fail(op, err)
	}
	if err := result(u, a, b); err != nil {
		return err
	}
	t.cache.putUser(u)
	return nil
}

// createUserResult is CreateUser's error for what queryCreateUser found.
func createUserResult(u claim.User, inserted, idTaken bool) error {
	switch {
	case inserted:
		return nil
	case idTaken:
		return fmt.Errorf("postgres store: user %s: %w", u.ID, claim.ErrDuplicate)
	}
	return fmt.Errorf("postgres store: user %s: %s is another user's: %w", u.ID, u.Email, claim.ErrEmailTaken)
}

// userSet is the SET list that writes userColumns from userValues.
const userSet = `email = $2, first_name = $3, last_name = $4, display_name = $5, org_id = $6,
	state = $7, licenses = $8, content = $9, created_at = $10, last_sign_in = $11,
	inactive_since = $12, activation_sent = $13, held_by = $14,
	claim_by = $15, claim_from = $16, claim_mode = $17, claim_prev_state = $18, claim_at = $19,
	claim_deadline = $20, claim_signed_in = $21, claim_original = $22, claim_ended = $23,
	claim_outcome = $24`

// queryUpdateUser replaces a user unless it is missing or its new address
// is another user's, and tells which.
const queryUpdateUser = `
WITH cur AS (
	SELECT FROM users WHERE id = $1
), taken AS (
	SELECT FROM users WHERE lower(email) = $2 AND id <> $1
), upd AS (
	UPDATE users SET ` + userSet + `
	WHERE id = $1 AND NOT EXISTS (SELECT FROM taken)
)
SELECT EXISTS (SELECT FROM cur), EXISTS (SELECT FROM taken)`

// UpdateUser replaces the user with u's ID; an error wrapping
// claim.ErrNotFound if there is none, claim.ErrEmailTaken if u.Email
// belongs to another user, claim.ErrInvalidValue as for CreateUser.
func (t *tx) UpdateUser(u claim.User) error {
	if err := t.check("UpdateUser", true); err != nil {
		return err
	}
	old, err := t.before("UpdateUser", u.ID)
	if err != nil {
		return err
	}
	t.lockUserWrite(&old, &u)
	if t.unchangedAddress(u) {
		if ok, err := t.deferUser("UpdateUser", u, queryDeferredUpdateUser); ok {
			return err
		}
	}
	return t.writeUser("UpdateUser", queryUpdateUser, u, updateUserResult)
}

// updateUserResult is UpdateUser's error for what queryUpdateUser found.
func updateUserResult(u claim.User, exists, taken bool) error {
	switch {
	case !exists:
		return fmt.Errorf("postgres store: user %s: %w", u.ID, claim.ErrNotFound)
	case taken:
		return fmt.Errorf("postgres store: user %s: %s is another user's: %w", u.ID, u.Email, claim.ErrEmailTaken)
	}
	return nil
}

// before returns the user with the id as the transaction knows it, which
// a write of it replaces, reading it (and locking it) if the transaction
// has not; an error wrapping claim.ErrNotFound if there is none.
func (t *tx) before(op string, id claim.UserID) (claim.User, error) {
	if u, found, ok := t.cache.user(id); ok {
		if !found {
			return claim.User{}, fmt.Errorf("postgres store: user %s: %w", id, claim.ErrNotFound)
		}
		return u, nil
	}
	return t.fetchUser(op, string(id), whereUserID)
}

// DeleteUser removes the user; an error wrapping claim.ErrNotFound if
// there is none.
func (t *tx) DeleteUser(id claim.UserID) error {
	if err := t.check("DeleteUser", true); err != nil {
		return err
	}
	old, err := t.before("DeleteUser", id)
	if err != nil {
		return err
	}
	t.lockUserWrite(&old, nil)
	// The delete removes what the user holds on sites (the cascade),
	// whose rows a reader of them may hold: the batch locks them before
	// it takes the event lock (queueLocks), so that the cascade does not
	// wait for that reader while the batch holds it.
	t.locks.deletes = append(t.locks.deletes, string(id))
	// The transaction has read the user: the delete cannot be refused.
	t.pending = append(t.pending, deferred{op: "DeleteUser", key: string(id), sql: queryDeferredDeleteUser, args: []any{string(id)}})
	t.cache.dropUser(id)
	return nil
}

// The list queries. Each is served by one index entered at its after
// key (see the migration); TestListQueriesUseIndexes checks the plans.
const (
	queryUsersByOrg = `SELECT ` + userColumns + ` FROM users
		WHERE org_id = $1 AND email > $2 ORDER BY email LIMIT $3`
	queryEmailsByOrg = `SELECT email FROM users
		WHERE org_id = $1 AND email > $2 ORDER BY email LIMIT $3`
	queryUsersByDomain = `SELECT ` + userColumns + ` FROM users
		WHERE domain = $1 AND email > $2 ORDER BY email LIMIT $3`
	queryPendingClaimsBy = `SELECT ` + userColumns + ` FROM users
		WHERE claim_by = $1 AND claim_ended IS NULL AND email > $2 ORDER BY email LIMIT $3`
	// dueKey must be written as in users_claim_due_idx.
	dueKey         = `coalesce(claim_deadline, '-9223372036854775808'::bigint)`
	queryDueClaims = `SELECT ` + userColumns + ` FROM users
		WHERE claim_by IS NOT NULL AND claim_ended IS NULL AND claim_mode = 2 AND ` + dueKey + ` <= $1
		ORDER BY ` + dueKey + `, id LIMIT $2`
	// queryInactiveUsers must match the predicate of users_inactive_idx
	// (state 4 is claim.Inactive; held_by NULL is an empty HeldBy). A zero
	// InactiveSince is NULL, which no comparison selects.
	queryInactiveUsers = `SELECT ` + userColumns + ` FROM users
		WHERE state = 4 AND held_by IS NULL AND inactive_since <= $1
		ORDER BY inactive_since, id LIMIT $2`
)

// users runs a list query.
//
// In an Update the transaction locks what it lists (see locks.go). With a
// key, by the list's key, exclusive: every writer of a user of the list
// locks it shared, so that the list, and each user on it, stays as read
// until the transaction ends. Without one (DueClaims, InactiveUsers), by
// the rows it lists (FOR UPDATE), after the keys of their orgs, which a
// write of them locks, so that the keys come before the rows as in every
// transaction: a listed user that a transaction changes meanwhile is
// read as that transaction left it, and left out if it no longer belongs
// to the list (so the list may be short of limit); see the package
// documentation for why a user that joins the list meanwhile may be left
// out too. It keeps the users it lists, and reads in the same round trip
// the original accounts their claims hold (locking their rows), which a
// decision about a listed user reads next (a Sweep expiring claims).
func (t *tx) users(op, key string, limit int, query string, args ...any) ([]claim.User, error) {
	if err := t.checkList(op, limit); err != nil {
		return nil, err
	}
	if !t.writable {
		return collect(t, op, scanUser, query, args...)
	}
	list := query
	if key != "" {
		t.lock(lockExclusive, key)
	} else {
		list += " FOR UPDATE"
	}
	var users, originals []claim.User
	var orgs []string // whose keys the first statement locked
	err := t.send(t.ctx, func(b *pgx.Batch) {
		if key == "" {
			queueRows(b, &orgs, scanLocked, `SELECT o, `+lockExpr(lockShared, keyOrg, "o")+`::text FROM (
				SELECT DISTINCT o FROM (`+query+`) AS listed,
					unnest(ARRAY[listed.org_id, listed.claim_by, listed.claim_from]) AS k(o)
				WHERE o IS NOT NULL) AS keys ORDER BY o`, args...)
		}
		queueRows(b, &users, scanUser, list, args...)
		queueRows(b, &originals, scanUser, `SELECT `+userColumns+` FROM users
			WHERE id IN (SELECT claim_original FROM (`+query+`) AS listed) FOR UPDATE`, args...)
	})
	if err != nil {
		return nil, t.fail(op, err)
	}
	for _, o := range orgs {
		t.hold(lockShared, keyOrg+o)
	}
	for _, u := range append(users, originals...) {
		if _, ok := t.cache.users[u.ID]; !ok {
			t.cache.putUser(u)
		}
	}
	return users, nil
}

// UsersByOrg lists org's users whose Email sorts after the given address,
// in e-mail order, from users_org_email_idx. Returns an error wrapping
// claim.ErrInvalidValue if limit <= 0.
func (t *tx) UsersByOrg(org claim.OrgID, after string, limit int) ([]claim.User, error) {
	return t.users("UsersByOrg", keyOrg+string(org), limit, queryUsersByOrg, string(org), after, limit)
}

// EmailsByOrg lists the addresses of org's users that sort after the
// given one, in e-mail order, from users_org_email_idx alone (an
// index-only scan; claim.OrgEmailLister). Returns an error wrapping
// claim.ErrInvalidValue if limit <= 0.
func (t *tx) EmailsByOrg(org claim.OrgID, after string, limit int) ([]string, error) {
	if err := t.checkList("EmailsByOrg", limit); err != nil {
		return nil, err
	}
	t.lock(lockExclusive, keyOrg+string(org))
	return collect(t, "EmailsByOrg", pgx.RowTo[string], queryEmailsByOrg, string(org), after, limit)
}

// UsersByDomain lists the users whose Email's domain is the given one and
// whose Email sorts after the given address, in e-mail order, from
// users_domain_email_idx. Returns an error wrapping claim.ErrInvalidValue
// if limit <= 0.
func (t *tx) UsersByDomain(domain, after string, limit int) ([]claim.User, error) {
	return t.users("UsersByDomain", keyDomainUsers+domain, limit, queryUsersByDomain, domain, after, limit)
}

// PendingClaimsBy lists the users with a pending claim by org whose Email
// sorts after the given address, in e-mail order, from
// users_claim_by_email_idx. Returns an error wrapping
// claim.ErrInvalidValue if limit <= 0.
func (t *tx) PendingClaimsBy(org claim.OrgID, after string, limit int) ([]claim.User, error) {
	return t.users("PendingClaimsBy", keyOrg+string(org), limit, queryPendingClaimsBy, string(org), after, limit)
}

// DueClaims lists the users whose claim is pending, Delayed and has
// Deadline <= now, in deadline order, ties by ID, from
// users_claim_due_idx. Returns an error wrapping claim.ErrInvalidValue if
// limit <= 0.
func (t *tx) DueClaims(now time.Time, limit int) ([]claim.User, error) {
	// An instant outside the stored range compares as its end: before
	// 1678 only zero deadlines are due, after 2262 every deadline is.
	var n int64
	switch {
	case now.Before(minTime):
		n = math.MinInt64
	case now.After(maxTime):
		n = math.MaxInt64
	default:
		n = now.UnixNano()
	}
	return t.users("DueClaims", "", limit, queryDueClaims, n, limit)
}

// InactiveUsers lists the users that are Inactive, not held by a claim
// and have a non-zero InactiveSince <= before, in InactiveSince order,
// ties by ID, from users_inactive_idx. Returns an error wrapping
// claim.ErrInvalidValue if limit <= 0.
func (t *tx) InactiveUsers(before time.Time, limit int) ([]claim.User, error) {
	// An instant outside the stored range compares as its end: before
	// 1678 no user is listed (stored times are above math.MinInt64),
	// after 2262 every purgeable user is.
	var n int64
	switch {
	case before.Before(minTime):
		n = math.MinInt64
	case before.After(maxTime):
		n = math.MaxInt64
	default:
		n = before.UnixNano()
	}
	return t.users("InactiveUsers", "", limit, queryInactiveUsers, n, limit)
}

// Events.

const eventColumns = `seq, at, type, org_id, from_org, user_id, recipient, content, mode, action, retention, detail, subscriber`

// AppendEvent adds e to the events the transaction inserts at commit,
// numbered then (see the package documentation, "Event sequence
// numbers"). It returns an error wrapping claim.ErrInvalidValue at once
// if a value of e cannot be stored.
func (t *tx) AppendEvent(e claim.Event) error {
	if err := t.check("AppendEvent", true); err != nil {
		return err
	}
	return t.events.add(e)
}

func scanEvent(row pgx.CollectableRow) (claim.Event, error) {
	var (
		e                  claim.Event
		seq                int64
		at                 *int64
		org, from, user    string
		subscriber         string
		content, retention int64
		mode, action       int16
	)
	err := row.Scan(&seq, &at, &e.Type, &org, &from, &user, &e.Recipient, &content, &mode, &action, &retention, &e.Detail, &subscriber)
	e.Seq = uint64(seq)
	e.At = decTime(at)
	e.Org = claim.OrgID(org)
	e.From = claim.OrgID(from)
	e.User = claim.UserID(user)
	e.Content = int(content)
	e.Mode = claim.Mode(mode)
	e.Action = claim.Action(action)
	e.Retention = time.Duration(retention)
	e.Subscriber = claim.SubscriberID(subscriber)
	return e, err
}

// Events lists the committed events with Seq > after, in Seq order, up
// to limit of them, from the primary key. It never lists an event before
// one with a smaller number that has yet to commit (see the package
// documentation, "Event sequence numbers"): it waits for the
// transactions that are numbering events to end, and reads in a
// transaction of its own: on t's connection if t has not begun (one
// round trip; later reads of t see a later snapshot), else on another
// connection of the pool, which must then have one to give. So it lists
// no event of t. Returns an error wrapping claim.ErrInvalidValue if limit
// <= 0.
func (t *tx) Events(after uint64, limit int) ([]claim.Event, error) {
	if err := t.checkList("Events", limit); err != nil {
		return nil, err
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	c := t.conn
	if t.begun {
		var err error
		if c, err = t.pool.Acquire(t.ctx); err != nil {
			return nil, fmt.Errorf("postgres store: Events: %w", err)
		}
		defer c.Release()
	}
	es, err := readEvents(t.ctx, c.Conn(), after, limit)
	if err != nil {
		if c != t.conn {
			return nil, fmt.Errorf("postgres store: Events: %w", err)
		}
		// t's connection is out of any transaction again (or
		// closed), but what fn read may be incomplete: t cannot commit.
		err = t.fail("Events", err)
		if t.broken == nil {
			t.broken = err
		}
		return nil, err
	}
	return es, nil
}
