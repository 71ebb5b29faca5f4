package postgres

import (
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/claimkit/claim"
)

// Locks (see the package documentation, "Concurrency").
//
// An Update runs at READ COMMITTED and makes itself serializable by
// locking what it reads, until it ends, in a mode that conflicts with
// every write that could change what it read:
//
//   - a user it reads, by its row (FOR UPDATE);
//   - anything else it reads or finds missing, by a key: a
//     transaction-level advisory lock on a hash of a name such as
//     "o:acme" (the org acme, and its users as a list), which its
//     writers lock too.
//
// A key is a record's or a list's. A record key (an org, a domain name,
// an address, a site…) is locked shared to read the record and exclusive
// to write it. A list key (the users of an org, an org's sites…) is
// locked by its readers and by the writers of its members, in one of two
// ways, chosen by which side is frequent: where members are written often
// and the list is read rarely, by writers that may then write too (the
// users of an org, which every claim writes and only sync, DeleteOrg and
// an attach list in an Update), the list's readers lock it exclusive and
// its writers shared, so that writers do not wait for each other; where
// the list is read often (an org's sites and domains, which claims read),
// its readers lock it shared and its writers exclusive.

// lockMode is the mode of an advisory lock: shared or exclusive.
type lockMode uint8

const (
	lockShared lockMode = iota + 1
	lockExclusive
)

// The key prefixes. A key is a prefix and a name; its lock is
// hashtextextended(key, the OID of the users table), so that stores in
// two schemas of one database do not wait for each other.
const (
	keyOrg         = "o:"  // an org's record, and list: its users and its pending claims (exclusive to read)
	keyProfile     = "p:"  // an org's BroadWorks profile (exclusive, as the BroadWorks keys below)
	keyDomain      = "d:"  // every org's records of a domain name
	keyOrgDomains  = "od:" // list: an org's domain records (shared to read)
	keyUserID      = "u:"  // a user ID no user has (exclusive; newKeys)
	keyEmail       = "e:"  // an address no user has (exclusive; newKeys)
	keyDomainUsers = "ud:" // list: the users of a domain (exclusive to read)
	// The coarse keys of IDs and addresses no user has (newKeys), each
	// of two: keyNewUsers is every user ID no user has, as writers take
	// it, keyNewUsersRead the same as readers take it; keyNewAddresses
	// and keyNewAddressesRead are every address of a domain no user has.
	keyNewUsers         = "nu"
	keyNewUsersRead     = "nur"
	keyNewAddresses     = "na:"
	keyNewAddressesRead = "nar:"
	keySite             = "s:"  // a site
	keyOrgSites         = "os:" // list: an org's sites (shared to read)
	keySiteAccess       = "sa:" // list: what a user holds on sites (shared to read)
	// BroadWorks records are read and written in the same transactions
	// (a provisioning flow), so their record keys are taken exclusive to
	// read as well, found or missing: no upgrade from shared.
	keyEnterprise   = "en:" // an enterprise
	keyEnterpriseOf = "eo:" // the enterprise of an org
	keyPartner      = "ep:" // list: a partner's enterprises (exclusive to read)
	keySubscriber   = "sb:" // a subscriber ID, found or missing
	keySubEmail     = "se:" // a subscriber address, found or missing
	keySubscribers  = "sn:" // list: an enterprise's subscribers (exclusive to read)
)

// lockSeed is the seed of a key's hash: the users table's OID.
const lockSeed = `'users'::regclass::oid::bigint`

// queryLock takes the locks of $1 (keys) in the modes of $2 (exclusive
// or not), in the order given, then, if $4, the event lock shared ($3 is
// eventLockClass): the two parts of UNION ALL run in order.
const queryLock = lockKeys + `
UNION ALL
` + lockEvents

// queryLockDeleting is queryLock for a batch that deletes the users in
// $5: between the keys and the event lock, it locks their rows of
// site_access (FOR UPDATE, in key order). The CTE r runs when the part
// of UNION ALL that reads it runs, as EXPLAIN ANALYZE shows.
const queryLockDeleting = `WITH r AS MATERIALIZED (
	SELECT FROM site_access WHERE user_id = ANY($5::text[]) ORDER BY user_id, site_id FOR UPDATE
)
` + lockKeys + `
UNION ALL
SELECT NULL FROM (SELECT count(*) FROM r) AS c
UNION ALL
` + lockEvents

// The parts of queryLock.
const (
	lockKeys = `SELECT CASE WHEN l.x THEN pg_advisory_xact_lock(hashtextextended(l.k, ` + lockSeed + `))::text
	ELSE pg_advisory_xact_lock_shared(hashtextextended(l.k, ` + lockSeed + `))::text END
FROM unnest($1::text[], $2::boolean[]) AS l(k, x)`
	lockEvents = `SELECT pg_advisory_xact_lock_shared($3::int4, 'events'::regclass::oid::int4)::text WHERE $4::boolean`
)

// lockExpr is the expression that locks the key prefix || col in mode,
// for a statement that locks what it reads from a row (the org and the
// domain of a user the transaction has read). A NULL column locks
// nothing.
func lockExpr(mode lockMode, prefix, col string) string {
	fn := "pg_advisory_xact_lock_shared"
	if mode == lockExclusive {
		fn = "pg_advisory_xact_lock"
	}
	return fn + `(hashtextextended('` + prefix + `' || ` + col + `, ` + lockSeed + `))`
}

// locks holds the locks a transaction has taken and those it will take
// with its next batch.
type locks struct {
	held   map[string]lockMode
	queued map[string]lockMode
	// news counts the keys of new IDs and addresses taken (lockNew).
	news int
	// events: the next batch numbers events; it takes the event lock
	// (see the package documentation, "Event sequence numbers") after
	// the queued keys and stmts.
	events bool
	// stmts lock the keys of what a row holds now, for a write that
	// changes or deletes it: they run after the queued keys are locked,
	// among them the record's own key, exclusive, so that no other
	// writer changes what they read from the row until the transaction
	// ends.
	stmts []string
	args  [][]any
	// deletes are the users whose deletes the next batch sends: it
	// locks what they hold on sites (the rows the deletes' cascade
	// removes) after the queued keys.
	deletes []string
}

// lockRow has t run, with its next batch, a statement that locks keys
// read from the row a write is about to change (lockExpr): the lists the
// row leaves.
func (t *tx) lockRow(sql string, args ...any) {
	if !t.writable {
		return
	}
	t.locks.stmts = append(t.locks.stmts, sql)
	t.locks.args = append(t.locks.args, args)
}

// lock has t take the keys' locks in mode with its next batch, before
// anything else the batch holds; a lock t holds in that mode or a
// stronger one is not taken again. A View takes none: it reads one
// snapshot and writes nothing.
func (t *tx) lock(mode lockMode, keys ...string) {
	if !t.writable {
		return
	}
	l := &t.locks
	for _, k := range keys {
		if l.held[k] >= mode || l.queued[k] >= mode {
			continue
		}
		if l.queued == nil {
			l.queued = make(map[string]lockMode)
		}
		l.queued[k] = mode
	}
}

// has reports whether t holds the key's lock in mode or a stronger one,
// or will take it with its next batch.
func (l *locks) has(key string, mode lockMode) bool {
	return l.held[key] >= mode || l.queued[key] >= mode
}

// hold records that t holds the keys' locks in mode: locks a statement
// took by itself (lockExpr).
func (t *tx) hold(mode lockMode, keys ...string) {
	l := &t.locks
	if l.held == nil {
		l.held = make(map[string]lockMode)
	}
	for _, k := range keys {
		l.held[k] = max(l.held[k], mode)
	}
}

// queueLocks queues the statements that take the queued locks, and
// counts them as held (if a statement fails, so does the transaction):
//
//  1. the queued keys, in key order, so that two transactions asking for
//     the same keys at once do not deadlock;
//  2. the rows of site_access of the users the batch deletes, which the
//     deletes' cascade removes (rows, not keys: a batch may delete
//     thousands of users, and PostgreSQL's lock table holds few keys);
//  3. the statements that lock the keys a row holds (lockRow), which read
//     the row once its record's key, queued by the same write, is held:
//     a writer that changed the row and has not ended would otherwise
//     show them the row as it was, and they would lock keys the row no
//     longer holds;
//  4. the event lock, last: what comes before it may wait for other
//     writers, which must not happen while the batch holds it.
//
// 1, 2 and 4 are one statement (queryLock, or queryLockDeleting), unless
// there are lockRow statements: then 4 is a statement of its own, after
// them.
func (t *tx) queueLocks(b *pgx.Batch) {
	l := &t.locks
	rows := len(l.stmts) > 0
	if len(l.queued) > 0 || len(l.deletes) > 0 || l.events && !rows {
		keys := make(column[str], 0, len(l.queued))
		for k := range l.queued {
			keys = append(keys, str(k))
		}
		slices.Sort(keys)
		excl := make(column[pgtype.Bool], len(keys))
		for i, k := range keys {
			excl[i] = pgtype.Bool{Bool: l.queued[string(k)] == lockExclusive, Valid: true}
		}
		if len(l.deletes) > 0 {
			queue(b, queryLockDeleting, keys, excl, int32(eventLockClass), l.events && !rows, l.deletes)
		} else {
			queue(b, queryLock, keys, excl, int32(eventLockClass), l.events && !rows)
		}
		l.deletes = nil
		for k, m := range l.queued {
			t.hold(m, k)
		}
		clear(l.queued)
	}
	for i, sql := range l.stmts {
		queue(b, sql, l.args[i]...)
	}
	l.stmts, l.args = l.stmts[:0], l.args[:0]
	if l.events && rows {
		queue(b, queryLock, []string(nil), []bool(nil), int32(eventLockClass), true) // no keys
	}
	l.events = false
}

// userKeys appends the list keys a write of u (as it was, or as it will
// be) locks shared: the lists u is a member of.
func userKeys(keys []string, u *claim.User) []string {
	keys = append(keys, keyOrg+string(u.Org), keyDomainUsers+domainOf(u.Email))
	if u.Claim != nil {
		keys = append(keys, keyOrg+string(u.Claim.By))
	}
	return keys
}

// emailKey is the key of a user's address.
func emailKey(email string) string { return keyEmail + strings.ToLower(email) }

// lockUserWrite queues the locks of a write of a user from old (nil: a
// create) to u (nil: a delete).
func (t *tx) lockUserWrite(old, u *claim.User) {
	var keys []string
	if old != nil {
		keys = userKeys(keys, old)
	}
	if u != nil {
		keys = userKeys(keys, u)
		if old == nil || old.Email != u.Email {
			t.lockNew(true, u.Email, true)
		}
		if old == nil {
			t.lockNew(false, string(u.ID), true)
		}
	}
	t.lock(lockShared, keys...)
}

// newUserKeys is how many keys for IDs and addresses that no user has
// (found missing, or given to a user) an Update locks one by one, their
// own and their domains' coarse keys in shared mode; after them it locks
// coarse keys only (newKeys): a sync that looks up and creates thousands
// of users would otherwise fill PostgreSQL's lock table.
const newUserKeys = 32

// newKeys returns the keys that lock an ID or an address (byEmail) that
// no user has, for a read that finds it missing (write false) or a write
// that gives it to a user (write true): fine, to lock exclusive, and
// coarse, to lock in mode; or done, if the transaction holds (or has
// queued) them already. A transaction that has locked newUserKeys such
// keys (fine, or coarse in shared mode) is coarse: it locks coarse keys
// only, which stand for every ID (keyNewUsers) or every address of the
// domain (keyNewAddresses), each in two keys, the readers' and the
// writers':
//
//	fine read     the key's own, exclusive; the writers', shared
//	fine write    the key's own, exclusive; the readers', shared
//	coarse read   the writers', exclusive (in fine's place); the readers', exclusive
//	coarse write  the writers', exclusive
//
// Every such write therefore conflicts with every such read of its ID or
// address, fine or coarse, and a transaction holds at most newUserKeys
// fine keys; writes do not conflict with each other (the unique indexes
// order writers of one ID or address), so a sync that creates thousands
// of users does not hold up the claims that create held originals.
func (t *tx) newKeys(byEmail bool, key string, write bool) (fine, coarse string, mode lockMode, done bool) {
	l := &t.locks
	fine, readers, writers := keyUserID+key, keyNewUsersRead, keyNewUsers
	if byEmail {
		d := domainOf(strings.ToLower(key))
		fine, readers, writers = emailKey(key), keyNewAddressesRead+d, keyNewAddresses+d
	}
	isCoarse := l.news >= newUserKeys
	switch {
	case write && (l.has(writers, lockExclusive) || l.has(fine, lockExclusive) && l.has(readers, lockShared)):
		return "", "", 0, true
	case write && isCoarse:
		return "", writers, lockExclusive, false
	case write:
		return fine, readers, lockShared, false
	case l.has(fine, lockExclusive) && l.has(writers, lockShared) ||
		l.has(readers, lockExclusive) && l.has(writers, lockExclusive):
		return "", "", 0, true
	case isCoarse:
		// Both exclusive: the writers' key in fine's place, so that
		// fetchUser's statement takes the two in key order ("na:d" <
		// "nar:d", "nu" < "nur"), as queryLock does: it then waits for
		// a transaction that read a missing address of the domain (the
		// writers' key shared) before it holds the readers' key, which
		// that transaction takes if it goes on to create one. One that
		// created first and reads next takes them in the other order,
		// which no order here avoids: the deadlock that may follow is
		// broken by PostgreSQL, and one of the two runs again.
		return writers, readers, lockExclusive, false
	}
	return fine, writers, lockShared, false
}

// lockNew queues the locks newKeys returns.
func (t *tx) lockNew(byEmail bool, key string, write bool) {
	fine, coarse, mode, done := t.newKeys(byEmail, key, write)
	if !done {
		t.takeNew(t.lock, fine, coarse, mode)
	}
}

// takeNew takes (by queuing them, or recording that a statement took
// them) the keys newKeys returned, counting those the transaction did not
// hold in any mode.
func (t *tx) takeNew(take func(lockMode, ...string), fine, coarse string, mode lockMode) {
	for _, k := range [...]string{fine, coarse} {
		if k != "" && !t.locks.has(k, lockShared) {
			t.locks.news++ // a key more, in whatever mode
		}
	}
	if fine != "" {
		take(lockExclusive, fine)
	}
	if coarse != "" {
		take(mode, coarse)
	}
}

var _ claim.OrgLocker = (*tx)(nil)

// LockOrg locks the org's key exclusive with the transaction's next
// batch, in an Update (claim.OrgLocker): the engine calls it before it
// reads anything of an org whose users it will list, so that the list
// does not upgrade a shared lock taken by an earlier read.
func (t *tx) LockOrg(org claim.OrgID) error {
	if err := t.check("LockOrg", false); err != nil {
		return err
	}
	t.lock(lockExclusive, keyOrg+string(org))
	return nil
}
