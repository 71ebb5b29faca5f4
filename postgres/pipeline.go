package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claimkit/claim"
)

// tx is the claim.Tx of a View or an Update: one PostgreSQL transaction
// on one pooled connection, driven in batches so that it costs few round
// trips (see the package documentation, "Round trips"). It is not safe
// for concurrent use.
//
// No expected refusal (a missing record, a taken address, a claimed
// domain) makes a statement fail: each write that can be refused is a
// single statement that checks its condition and does nothing when it
// does not hold, so the transaction stays usable after the refusal, as
// the claim.Tx contract needs (fn may go on after ErrNotFound).
type tx struct {
	ctx      context.Context
	pool     *pgxpool.Pool // for Events in a transaction that has begun
	conn     *pgxpool.Conn
	writable bool   // an Update's
	begin    string // the statement that begins the transaction
	begun    bool   // begin has been sent, with the first batch
	done     bool   // fn has returned
	// committed: COMMIT succeeded.
	committed bool
	// wrote: a write statement has been sent (not only deferred).
	wrote bool
	// broken is the first error that aborted the transaction (a
	// statement failed on the server, or the connection was lost); every
	// later call returns an error wrapping it without a round trip.
	broken error
	// pending are writes whose outcome the transaction already knows
	// from its own reads (see defer): they travel with the next batch.
	pending []deferred
	// events are the appended events, inserted and numbered at commit.
	events eventBatch
	// cache holds the records the transaction has read or written.
	cache cache
	// sites holds the sites of the orgs read (sites.go).
	sites siteCache
	// locks are the advisory locks an Update holds and will take
	// (locks.go).
	locks locks
	// undescribed: send columns as plain slices (describesNot).
	undescribed bool
}

// deferred is a write sent with the next batch. Its statement fails on
// the server unless it writes exactly one row, so that a batch ending in
// COMMIT cannot commit around it.
type deferred struct {
	op   string // the method, for errors
	key  string // the record, for errors
	sql  string
	args []any
}

// check returns an error if t has ended, is broken, or is read-only and
// op is a write.
func (t *tx) check(op string, write bool) error {
	switch {
	case t.done:
		return fmt.Errorf("postgres store: %s: %w", op, errTxDone)
	case write && !t.writable:
		return fmt.Errorf("postgres store: %s: %w", op, errReadOnly)
	case t.broken != nil:
		return fmt.Errorf("postgres store: %s: transaction aborted by an earlier error: %w", op, t.broken)
	}
	return nil
}

// checkList is check for a list method, which also refuses limit <= 0.
func (t *tx) checkList(op string, limit int) error {
	if err := t.check(op, false); err != nil {
		return err
	}
	if limit <= 0 {
		return fmt.Errorf("postgres store: %s: limit %d: must be positive: %w", op, limit, claim.ErrInvalidValue)
	}
	return nil
}

// fail returns err, from a statement of op, wrapped with op and with the
// claim sentinel it means, and records that it broke the transaction if
// it did: every error from the server aborts a PostgreSQL transaction, and
// so does a lost connection.
func (t *tx) fail(op string, err error) error {
	if _, fromServer := errors.AsType[*pgconn.PgError](err); fromServer || t.conn.Conn().IsClosed() {
		if t.broken == nil {
			t.broken = err
		}
	}
	return statementError(op, err)
}

// statementError returns err, from a statement of what (an operation,
// and what it names), wrapped with what and with the claim sentinel it
// means (sentinelOf): the error of every statement of the store.
func statementError(what string, err error) error {
	pgErr, _ := errors.AsType[*pgconn.PgError](err)
	if sentinel := sentinelOf(pgErr); sentinel != nil {
		return fmt.Errorf("postgres store: %s: %w: %w", what, sentinel, err)
	}
	return fmt.Errorf("postgres store: %s: %w", what, err)
}

// send sends one batch and waits for its answers: BEGIN if this is the
// transaction's first batch, the deferred writes, then what add
// queues, whose callbacks run in order. It is one round trip (pgx adds one
// the first time a connection meets a statement, to prepare it).
func (t *tx) send(ctx context.Context, add func(*pgx.Batch)) error {
	b := &pgx.Batch{}
	if !t.begun {
		queue(b, t.begin)
	}
	t.queueLocks(b)
	for _, w := range t.pending {
		b.Queue(w.sql, w.args...).QueryRow(func(row pgx.Row) error {
			var one int64
			if err := row.Scan(&one); err != nil {
				return fmt.Errorf("%s %s: %w", w.op, w.key, err)
			}
			return nil
		})
	}
	if len(t.pending) > 0 {
		t.wrote = true
	}
	clear(t.pending)
	t.pending = t.pending[:0]
	add(b)
	if t.undescribed {
		plainColumns(b)
	}
	t.begun = true
	return t.conn.SendBatch(ctx, b).Close()
}

// describesNot reports whether connections of c send statements
// without learning their parameters' types first (pgx's exec and simple
// protocol modes): pgx then encodes each argument as text by its Go type
// (the server infers the parameter's type from the statement, in exec
// mode; pgx quotes it into the statement, in simple protocol mode), and
// can do so for a column only as a plain slice. New reads the mode
// of the pool's configuration, once: a BeforeConnect hook that changes
// a connection's mode is not seen.
func describesNot(c *pgx.ConnConfig) bool {
	switch c.DefaultQueryExecMode {
	case pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol:
		return true
	}
	return false
}

// plainColumns replaces the columns among the arguments of b's
// statements by plain slices (column.plain).
func plainColumns(b *pgx.Batch) {
	for _, q := range b.QueuedQueries {
		for i, a := range q.Arguments {
			if c, ok := a.(interface{ plain() any }); ok {
				q.Arguments[i] = c.plain()
			}
		}
	}
}

// queue queues a statement whose result is not read. Its error, if it
// fails, is the batch's: pgx keeps the first error of a statement with a
// callback, where a failure of one without could surface only as a later,
// vaguer error (a lost connection as "conn closed", safe to retry).
func queue(b *pgx.Batch, sql string, args ...any) {
	b.Queue(sql, args...).Exec(func(pgconn.CommandTag) error { return nil })
}

// queryRow runs one statement and scans its one row into dest; an error
// wrapping pgx.ErrNoRows if it returns none.
func (t *tx) queryRow(sql string, args []any, dest ...any) error {
	return t.send(t.ctx, func(b *pgx.Batch) {
		b.Queue(sql, args...).QueryRow(func(row pgx.Row) error { return row.Scan(dest...) })
	})
}

// exec runs one statement and returns its command tag.
func (t *tx) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := t.send(t.ctx, func(b *pgx.Batch) {
		b.Queue(sql, args...).Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	})
	return tag, err
}

// write is exec for a write statement.
func (t *tx) write(sql string, args ...any) (pgconn.CommandTag, error) {
	t.wrote = true
	return t.exec(sql, args...)
}

// writeRow is queryRow for a write statement.
func (t *tx) writeRow(sql string, args []any, dest ...any) error {
	t.wrote = true
	return t.queryRow(sql, args, dest...)
}

// queueRows queues query on b, collecting its rows, scanned by scan, into
// out.
func queueRows[T any](b *pgx.Batch, out *[]T, scan pgx.RowToFunc[T], query string, args ...any) {
	b.Queue(query, args...).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, scan)
		return err
	})
}

// collect returns the rows of query, scanned by scan.
func collect[T any](t *tx, op string, scan pgx.RowToFunc[T], query string, args ...any) ([]T, error) {
	var out []T
	if err := t.send(t.ctx, func(b *pgx.Batch) { queueRows(b, &out, scan, query, args...) }); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}

// one returns the one row query selects, scanned by scan, or an error
// wrapping claim.ErrNotFound naming the record (what, key).
func one[T any](t *tx, op, what, key string, scan pgx.RowToFunc[T], query string, args ...any) (T, error) {
	var zero T
	if err := t.check(op, false); err != nil {
		return zero, err
	}
	rows, err := collect(t, op, scan, query, args...)
	if err != nil {
		return zero, err
	}
	if len(rows) == 0 {
		return zero, fmt.Errorf("postgres store: %s %s: %w", what, key, claim.ErrNotFound)
	}
	return rows[0], nil
}

// Deferred writes.
//
// A write is deferred, sent with the transaction's next batch instead of
// on its own, only when the transaction's own reads prove that the store
// cannot refuse it: UpdateUser of a user it has read, with the address
// unchanged; DeleteUser of a user it has read; CreateUser of an ID and an
// address it has found free. Its statement then cannot fail: the
// transaction has locked the user's row, or the keys of the ID and the
// address it found free (locks.go), so no concurrent transaction can
// change what it read; and userStorable checks first that the schema
// takes the values. Every other write goes at once, with
// whatever is deferred before it, and returns its refusal as the Tx
// contract says.

// userStorable reports whether the schema takes u as it is: what
// userArgs checks, plus the CHECK constraints of the users table and
// text PostgreSQL can store (valid UTF-8 without NUL). A user it
// refuses is written at once, so that the refusal comes from the method.
func userStorable(u claim.User) bool {
	if u.Email != strings.ToLower(u.Email) || u.State < claim.NotVerified || u.State > claim.DelayedClaim || u.Content < 0 {
		return false
	}
	for _, s := range []string{string(u.ID), u.Email, u.FirstName, u.LastName, u.DisplayName, string(u.Org), string(u.HeldBy)} {
		if !storableText(s) {
			return false
		}
	}
	for _, s := range u.Licenses {
		if !storableText(s) {
			return false
		}
	}
	if c := u.Claim; c != nil && (!storableText(string(c.By)) || !storableText(string(c.From)) || !storableText(string(c.Original))) {
		return false
	}
	return true
}

// storableText reports whether a text column takes s.
func storableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// deferUser defers a write of u (op names the method): the deferred
// statement, sql, must fail unless it writes one row.
func (t *tx) deferUser(op string, u claim.User, sql string) (bool, error) {
	if !userStorable(u) {
		return false, nil
	}
	args, err := userArgs(u)
	if err != nil {
		return true, err
	}
	t.pending = append(t.pending, deferred{op: op, key: string(u.ID), sql: sql, args: args})
	t.cache.putUser(u)
	return true, nil
}

// The deferred statements. Division by zero is how a statement fails
// when it wrote no row: it cannot happen unless the transaction's own
// reads were wrong.
const (
	queryDeferredUpdateUser = `WITH w AS (UPDATE users SET ` + userSet + ` WHERE id = $1 RETURNING 1)
SELECT 1 / count(*) FROM w`
	queryDeferredCreateUser = `INSERT INTO users (` + userColumns + `) VALUES (` + userValues + `) RETURNING 1`
	queryDeferredDeleteUser = `WITH w AS (DELETE FROM users WHERE id = $1 RETURNING 1) SELECT 1 / count(*) FROM w`
)

// The cache of records read and written.

// cache holds the records a transaction has read or written, as the
// transaction sees them: its snapshot with its own writes. A key present
// with a nil value is known to be absent. Values are the cache's own
// copies; callers get copies of them.
type cache struct {
	users  map[claim.UserID]*claim.User
	emails map[string]claim.UserID // "": no user has the address
	orgs   map[claim.OrgID]*claim.Org
	// domains holds, per name, every org's record of it (a name present
	// with no records has none).
	domains map[string][]claim.Domain
}

// hasDomain reports whether the records of the name are cached.
func (c *cache) hasDomain(name string) bool {
	_, ok := c.domains[name]
	return ok
}

func (c *cache) init() {
	if c.users == nil {
		c.users = make(map[claim.UserID]*claim.User)
		c.emails = make(map[string]claim.UserID)
		c.orgs = make(map[claim.OrgID]*claim.Org)
		c.domains = make(map[string][]claim.Domain)
	}
}

// user returns the cached user with the id: ok reports that the cache
// knows, found that the user exists.
func (c *cache) user(id claim.UserID) (u claim.User, found, ok bool) {
	p, ok := c.users[id]
	if !ok || p == nil {
		return claim.User{}, false, ok
	}
	return cloneUser(*p), true, true
}

// userByEmail is user by address.
func (c *cache) userByEmail(email string) (u claim.User, found, ok bool) {
	id, ok := c.emails[email]
	if !ok {
		return claim.User{}, false, false
	}
	if id == "" {
		return claim.User{}, false, true
	}
	return c.user(id)
}

// putUser records u as the user with its ID and address; the address the
// user had before is free.
func (c *cache) putUser(u claim.User) {
	c.init()
	if old := c.users[u.ID]; old != nil && old.Email != u.Email {
		c.emails[old.Email] = ""
	}
	v := cloneUser(u)
	c.users[u.ID] = &v
	c.emails[u.Email] = u.ID
}

// dropUser records that the user with the id is gone.
func (c *cache) dropUser(id claim.UserID) {
	c.init()
	if old := c.users[id]; old != nil {
		c.emails[old.Email] = ""
	}
	c.users[id] = nil
}

// forgetUsers empties the user caches (after writes the cache cannot
// follow).
func (c *cache) forgetUsers() {
	clear(c.users)
	clear(c.emails)
}

func cloneUser(u claim.User) claim.User {
	if u.Licenses != nil {
		u.Licenses = append([]string(nil), u.Licenses...)
	}
	if u.Claim != nil {
		c := *u.Claim
		u.Claim = &c
	}
	return u
}

func cloneOrg(o claim.Org) claim.Org {
	if o.Settings.AutoLicenses != nil {
		o.Settings.AutoLicenses = append([]string(nil), o.Settings.AutoLicenses...)
	}
	return o
}

// putOrg records o; a nil o with the id records that there is none.
func (c *cache) putOrg(id claim.OrgID, o *claim.Org) {
	c.init()
	if o != nil {
		v := cloneOrg(*o)
		o = &v
	}
	c.orgs[id] = o
}

// What a read brings along (fetchUser, UsersByEmails) is kept where
// the transaction does not know it already: keepUsers, keepOrgsOf,
// keepDomain.

// keepUsers caches each user of us the transaction does not know.
func (c *cache) keepUsers(us []claim.User) {
	c.init()
	for _, u := range us {
		if _, ok := c.users[u.ID]; !ok {
			c.putUser(u)
		}
	}
}

// keepOrgsOf caches the org of each user of us whose org the transaction
// does not know: the one of orgs with its ID, or that there is none.
func (c *cache) keepOrgsOf(us []claim.User, orgs []claim.Org) {
	c.init()
	for _, u := range us {
		if _, ok := c.orgs[u.Org]; ok {
			continue
		}
		var o *claim.Org // nil: no such org
		if i := slices.IndexFunc(orgs, func(o claim.Org) bool { return o.ID == u.Org }); i >= 0 {
			o = &orgs[i]
		}
		c.putOrg(u.Org, o)
	}
}

// keepDomain caches ds as every org's records of the name (none when
// empty), unless the transaction knows them.
func (c *cache) keepDomain(name string, ds []claim.Domain) {
	c.init()
	if !c.hasDomain(name) {
		c.domains[name] = ds
	}
}

// domainOf returns the part of an address after its last '@', as the
// users table's domain column holds it.
func domainOf(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}

// fetchUser reads the user that where selects ($1 is key) together with
// what a decision about the user reads next, in one round trip: the
// original account its claim holds, its org, and every org's record of
// its domain. It caches them all.
//
// In an Update it locks what it reads (locks.go): the key of the ID or
// the address, exclusive, if no user has it (a user found is locked by
// its row instead, so that a transaction that reads hundreds of users,
// an import's, does not fill PostgreSQL's lock table with keys); the keys
// of the user's org and domain, shared, by a statement that reads them
// from the user's row; then the user's row and its original's (FOR
// UPDATE). A user gone between the first statement and the read (deleted
// by a transaction that committed between them) is read again, its key
// locked first. The keys come
// before the row, as in every transaction that locks both (a sync locks
// its org, then the users it reads), so that two such transactions do
// not deadlock. Should the user have moved to another org between the
// two statements (a claim that committed between them), the org and the
// domain records read are not kept: reading them again locks their keys
// first.
func (t *tx) fetchUser(op, key, where string) (claim.User, error) {
	var users, originals []claim.User
	var orgs []claim.Org
	var domains []claim.Domain
	var locked lockedKeys
	fine, coarse, coarseMode, done := t.newKeys(where == whereUserEmail, key, false)
	keyed := done || !t.writable // the key of a missing ID or address is covered
	lockedMissing := false       // the statement below locked it
	forUpdate := ""
	if t.writable {
		forUpdate = " FOR UPDATE"
	}
	err := t.send(t.ctx, func(b *pgx.Batch) {
		if t.writable {
			// One row: the user's org and domain, their keys locked
			// (and those of the orgs of its claim, which a write of it
			// or of its original locks: taken here, before the rows),
			// or NULLs and the key of the ID or address locked.
			b.Queue(`SELECT org_id, domain, `+lockExpr(lockShared, keyOrg, "org_id")+`::text, `+lockExpr(lockShared, keyDomain, "domain")+`::text,
				`+lockExpr(lockShared, keyOrg, "claim_by")+`::text, `+lockExpr(lockShared, keyOrg, "claim_from")+`::text,
				CASE WHEN id IS NULL AND NOT $2::boolean THEN coalesce(`+lockExpr(lockExclusive, "", "$3::text")+`::text, '')
					|| CASE WHEN $5::boolean THEN `+lockExpr(lockExclusive, "", "$4::text")+`::text
						ELSE `+lockExpr(lockShared, "", "$4::text")+`::text END END
				FROM (SELECT) AS one LEFT JOIN users ON `+where, key, keyed, nullString(fine), coarse, coarseMode == lockExclusive).QueryRow(func(row pgx.Row) error {
				var org, domain, a, b, c, d, absent *string
				if err := row.Scan(&org, &domain, &a, &b, &c, &d, &absent); err != nil {
					return err
				}
				if org != nil {
					locked = lockedKeys{org: claim.OrgID(*org), domain: *domain}
				}
				lockedMissing = absent != nil
				return nil
			})
		}
		queueRows(b, &users, scanUser, `SELECT `+userColumns+` FROM users WHERE `+where+forUpdate, key)
		queueRows(b, &originals, scanUser, `SELECT `+userColumns+` FROM users
			WHERE id = (SELECT claim_original FROM users WHERE `+where+`)`+forUpdate, key)
		queueRows(b, &orgs, scanOrg, `SELECT `+orgColumns+` FROM orgs
			WHERE id = (SELECT org_id FROM users WHERE `+where+`)`, key)
		queueRows(b, &domains, scanDomain, `SELECT `+domainColumns+` FROM domains
			WHERE name = (SELECT domain FROM users WHERE `+where+`) ORDER BY org_id`, key)
	})
	if err != nil {
		return claim.User{}, t.fail(op, err)
	}
	if lockedMissing {
		keyed = true
		t.takeNew(t.hold, fine, coarse, coarseMode)
	}
	c := &t.cache
	c.init()
	if len(users) == 0 && !keyed {
		t.lockNew(where == whereUserEmail, key, false)
		return t.fetchUser(op, key, where)
	}
	if len(users) == 0 {
		if where == whereUserID {
			c.users[claim.UserID(key)] = nil
		} else {
			c.emails[key] = ""
		}
		return claim.User{}, fmt.Errorf("postgres store: user %s: %w", key, claim.ErrNotFound)
	}
	u := users[0]
	c.keepUsers(originals)
	if !t.writable || locked.org == u.Org && locked.domain == domainOf(u.Email) {
		if t.writable {
			t.hold(lockShared, keyOrg+string(u.Org), keyDomain+domainOf(u.Email))
		}
		c.keepOrgsOf(users, orgs)
		c.keepDomain(domainOf(u.Email), domains)
	}
	c.putUser(u)
	return u, nil
}

// lockedKeys are the org and the domain whose keys a statement locked.
type lockedKeys struct {
	org    claim.OrgID
	domain string
}

// The where clauses of fetchUser.
const (
	whereUserID    = `id = $1`
	whereUserEmail = `lower(email) = $1`
)

// domainRecords returns every org's record of the domain name, read once
// per transaction.
func (t *tx) domainRecords(op, name string) ([]claim.Domain, error) {
	t.cache.init()
	if ds, ok := t.cache.domains[name]; ok {
		return ds, nil
	}
	t.lock(lockShared, keyDomain+name)
	ds, err := collect(t, op, scanDomain, `SELECT `+domainColumns+` FROM domains WHERE name = $1 ORDER BY org_id`, name)
	if err != nil {
		return nil, err
	}
	t.cache.domains[name] = ds
	return ds, nil
}

// Events.

// eventBatch holds the appended events, column by column, for the one
// statement that inserts them at commit.
type eventBatch struct {
	n                                                   int
	at                                                  column[pgtype.Int8]
	typ, org, from, user, recipient, detail, subscriber column[str]
	content, retention, mode, action                    column[num]
}

// add appends e's columns.
func (b *eventBatch) add(e claim.Event) error {
	at, err := encTime("Event.At", e.At)
	if err != nil {
		return err
	}
	mode, err := small("Event.Mode", e.Mode)
	if err != nil {
		return err
	}
	action, err := small("Event.Action", e.Action)
	if err != nil {
		return err
	}
	for _, s := range []string{e.Type, string(e.Org), string(e.From), string(e.User), e.Recipient, e.Detail, string(e.Subscriber)} {
		if !storableText(s) {
			return fmt.Errorf("postgres store: event %s: text %q is not valid UTF-8 without NUL: %w", e.Type, s, claim.ErrInvalidValue)
		}
	}
	b.n++
	b.at = append(b.at, at)
	b.typ = append(b.typ, str(e.Type))
	b.org = append(b.org, str(e.Org))
	b.from = append(b.from, str(e.From))
	b.user = append(b.user, str(e.User))
	b.recipient = append(b.recipient, str(e.Recipient))
	b.content = append(b.content, num(e.Content))
	b.mode = append(b.mode, num(mode))
	b.action = append(b.action, num(action))
	b.retention = append(b.retention, num(e.Retention))
	b.detail = append(b.detail, str(e.Detail))
	b.subscriber = append(b.subscriber, str(e.Subscriber))
	return nil
}

// The event lock is a transaction-level advisory lock keyed by the events
// table: writers hold it shared from just before they take their numbers
// until they have ended, readers take it exclusive before they read (see
// the package documentation, "Event sequence numbers").
const (
	// eventLockClass is the first key of the event lock; the second is
	// the OID of the events table, so that stores in different schemas
	// of one database do not wait for each other.
	eventLockClass = 0x636c6d65 // "clme"

	queryLockEvents = `SELECT pg_advisory_xact_lock($1, 'events'::regclass::oid::int4)`
)

// queryInsertEvents inserts $1 events with numbers from the event
// sequence, increasing in the order given: generate_series yields the
// positions in order and nextval runs once a position, in that order.
const queryInsertEvents = `WITH n AS MATERIALIZED (
	SELECT ord, nextval('events_seq') AS seq FROM generate_series(1, $1::bigint) AS ord
)
INSERT INTO events (` + eventColumns + `)
SELECT n.seq, e.at, e.type, e.org_id, e.from_org, e.user_id, e.recipient,
	e.content, e.mode, e.action, e.retention, e.detail, e.subscriber
FROM n JOIN unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::bigint[], $9::smallint[], $10::smallint[], $11::bigint[], $12::text[], $13::text[])
	WITH ORDINALITY AS e(at, type, org_id, from_org, user_id, recipient, content, mode, action, retention,
		detail, subscriber, ord) USING (ord)`

// queryInsertFewEvents are the statements that insert 1, 2, …
// fewEvents events with a row of VALUES each: PostgreSQL evaluates the
// rows, and so their nextval, in order. A short statement plans and runs
// faster than queryInsertEvents, which a transaction of more events uses.
var queryInsertFewEvents = func() []string {
	qs := make([]string, fewEvents+1)
	for n := 1; n <= fewEvents; n++ {
		var rows []string
		for i := range n {
			var ps []string
			for c := range 12 {
				ps = append(ps, fmt.Sprintf("$%d", 12*i+c+1))
			}
			rows = append(rows, "(nextval('events_seq'), "+strings.Join(ps, ", ")+")")
		}
		qs[n] = `INSERT INTO events (` + eventColumns + `) VALUES ` + strings.Join(rows, ", ")
	}
	return qs
}()

// fewEvents is the most events queryInsertFewEvents inserts.
const fewEvents = 4

// queue queues the statements that number and insert the events.
// The batch must hold the event lock already: the transaction takes it
// with the batch's locks (locks.events).
func (b *eventBatch) queue(batch *pgx.Batch) {
	if b.n <= fewEvents {
		args := make([]any, 0, 12*b.n)
		for i := range b.n {
			args = append(args, b.at[i], b.typ[i], b.org[i], b.from[i], b.user[i], b.recipient[i],
				b.content[i], b.mode[i], b.action[i], b.retention[i], b.detail[i], b.subscriber[i])
		}
		queue(batch, queryInsertFewEvents[b.n], args...)
		return
	}
	queue(batch, queryInsertEvents, int64(b.n), b.at, b.typ, b.org, b.from, b.user, b.recipient,
		b.content, b.mode, b.action, b.retention, b.detail, b.subscriber)
}

// queryEventsSettled lists the events with seq > $1, at most $2, up to
// the last number taken: the statement runs while the transaction holds
// the event lock exclusive, when every number taken belongs to a
// transaction that has ended.
const queryEventsSettled = `SELECT ` + eventColumns + ` FROM events
	WHERE seq > $1 AND seq <= (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_seq)
	ORDER BY seq LIMIT $2`

// readEvents lists up to limit events after the given number, none of
// them before an event that has yet to commit: in a transaction of its
// own, it waits for the writers that are numbering events to end, then
// reads the events up to the last number taken. It runs on c, which must
// not be in a transaction, and leaves it in none: on an error it rolls
// back whatever is open, or closes c if it cannot.
func readEvents(ctx context.Context, c *pgx.Conn, after uint64, limit int) ([]claim.Event, error) {
	var es []claim.Event
	b := &pgx.Batch{}
	queue(b, `BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY`)
	queue(b, queryLockEvents, eventLockClass)
	queueRows(b, &es, scanEvent, queryEventsSettled, int64(after), limit)
	queue(b, `COMMIT`)
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, rerr := c.Exec(cctx, "ROLLBACK"); rerr != nil {
			_ = c.Close(cctx)
		}
		return nil, err
	}
	return es, nil
}
