package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/claimkit/claim"
)

// The bulk path (claim.BulkTx).

var _ claim.BulkTx = (*tx)(nil)

// UsersByEmails returns the users with the addresses in one query, served
// by the index on lower(email). In the same round trip it reads what a
// claim of those users reads next, as fetchUser does for one user: the
// orgs they belong to and every org's records of the addresses' domains,
// which it caches (unless the transaction knows them already), so that a
// batch of claims costs no round trip a user's org or domain.
//
// In an Update it locks, before it reads the users' rows (FOR UPDATE),
// the coarse keys of new addresses of each domain it finds an address of
// missing, exclusive (as a coarse read does: newKeys), and the keys of the
// users' orgs and of their claims' orgs, shared, as fetchUser does: a key
// a domain or an org, none a user, so that a batch of hundreds holds few.
// An address that a user had in the first statement and has no more in
// the second (its user deleted or renamed between them) is read again,
// its domain's keys locked first. The first statement finds the orgs
// whose keys it locks in its own snapshot, taken before it waited for any
// domain's keys: a user that a transaction it waited for created or moved
// is found by the second with an org whose key is not locked; that org is
// then not kept, and reading it locks its key after the row (which may
// deadlock with a writer of that org, and run again).
func (t *tx) UsersByEmails(emails []string) ([]claim.User, error) {
	if err := t.check("UsersByEmails", false); err != nil {
		return nil, err
	}
	var us []claim.User
	var orgs []claim.Org
	var domains []claim.Domain
	records := make(map[string][]claim.Domain) // by name: every name asked for
	for _, e := range emails {
		records[domainOf(e)] = nil
	}
	names := make([]string, 0, len(records))
	for d := range records {
		names = append(names, d)
		t.lock(lockShared, keyDomain+d)
	}
	forUpdate := ""
	if t.writable {
		forUpdate = " ORDER BY id FOR UPDATE"
	}
	addresses := make(column[str], len(emails)) // sent three times
	for i, e := range emails {
		addresses[i] = str(e)
	}
	var lockedOrgs, lockedDomains []string
	err := t.send(t.ctx, func(b *pgx.Batch) {
		if t.writable {
			// The keys before the rows (see fetchUser), in one statement
			// that looks each address up once.
			b.Queue(queryLockUsersByEmails, addresses).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var domain bool
					var name string
					var lock *string
					if err := rows.Scan(&domain, &name, &lock); err != nil {
						return err
					}
					if domain {
						lockedDomains = append(lockedDomains, name)
					} else {
						lockedOrgs = append(lockedOrgs, name)
					}
				}
				return rows.Err()
			})
		}
		queueRows(b, &us, scanUser, `SELECT `+userColumns+` FROM users WHERE lower(email) = ANY($1)`+forUpdate, addresses)
		queueRows(b, &orgs, scanOrg, `SELECT `+orgColumns+` FROM orgs
			WHERE id IN (SELECT org_id FROM users WHERE lower(email) = ANY($1))`, addresses)
		queueRows(b, &domains, scanDomain, `SELECT `+domainColumns+` FROM domains
			WHERE name = ANY($1) ORDER BY name, org_id`, names)
	})
	if err != nil {
		return nil, t.fail("UsersByEmails", err)
	}
	for _, d := range domains {
		records[d.Name] = append(records[d.Name], d)
	}
	for name, ds := range records {
		t.cache.keepDomain(name, ds)
	}
	t.cache.keepUsers(us)
	if !t.writable {
		t.cache.keepOrgsOf(us, orgs)
		return us, nil
	}
	for _, o := range lockedOrgs {
		t.hold(lockShared, keyOrg+o)
	}
	for _, d := range lockedDomains {
		t.hold(lockExclusive, keyNewAddresses+d, keyNewAddressesRead+d)
	}
	// A user that moved to an org whose key was not locked (a claim
	// committed between the two statements) leaves its org unknown:
	// reading it locks the key first.
	t.cache.keepOrgsOf(slices.DeleteFunc(slices.Clone(us), func(u claim.User) bool {
		_, ok := slices.BinarySearch(lockedOrgs, string(u.Org)) // in key order
		return !ok
	}), orgs)
	// Addresses missing now whose domain's key was not locked.
	found := make(map[string]bool, len(us))
	for _, u := range us {
		found[strings.ToLower(u.Email)] = true
	}
	var again []string
	for _, e := range emails {
		e := strings.ToLower(e)
		if found[e] {
			continue
		}
		d := domainOf(e)
		if w, r := keyNewAddresses+d, keyNewAddressesRead+d; !t.locks.has(w, lockExclusive) || !t.locks.has(r, lockExclusive) {
			t.lock(lockExclusive, w, r)
			again = append(again, e)
		}
	}
	if len(again) == 0 {
		return us, nil
	}
	more, err := t.UsersByEmails(again)
	return append(us, more...), err
}

// queryLockUsersByEmails locks, for UsersByEmails, the coarse keys of
// new addresses (both, as a coarse read does: newKeys) of each domain of
// which an address in $1 has no user, exclusive, in key order, then the
// keys of the orgs and claims' orgs of the users that have one, shared,
// in ID order (UNION ALL runs its parts in order, as queryLock's do).
// Each row names a key it locked: true and a domain, or false and an org.
// It looks each address up once: through the index on lower(email), or,
// when the planner finds the table small next to the batch, in a hash of
// the table (seen with auto_explain at 7,000 users and batches of 1,000).
var queryLockUsersByEmails = `WITH f AS MATERIALIZED (
	SELECT r.e, u.org_id, u.claim_by, u.claim_from
	FROM unnest($1::text[]) AS r(e) LEFT JOIN users u ON lower(u.email) = lower(r.e COLLATE "C")
)
(SELECT true, d, ` + lockExpr(lockExclusive, "", "k") + `::text FROM (
	SELECT DISTINCT substring(lower(e COLLATE "C") from '[^@]*$') FROM f WHERE org_id IS NULL) AS m(d),
	LATERAL (VALUES ('` + keyNewAddresses + `' || d), ('` + keyNewAddressesRead + `' || d)) AS p(k) ORDER BY k COLLATE "C")
UNION ALL
(SELECT false, o, ` + lockExpr(lockShared, keyOrg, "o") + `::text FROM (
	SELECT org_id FROM f UNION SELECT claim_by FROM f UNION SELECT claim_from FROM f) AS k(o)
	WHERE o IS NOT NULL ORDER BY o)`

// scanLocked scans a row of a statement that locks keys: the name whose
// key it locked, then the lock function's empty result.
func scanLocked(row pgx.CollectableRow) (string, error) {
	var name string
	var lock *string
	err := row.Scan(&name, &lock)
	return name, err
}

// Apply performs the writes of a batch of claims (claim.BulkTx) set by
// set: it cuts them into segments that touch no ID and no address twice,
// in which order does not matter, and sends each segment's deletes,
// updates and creates as one statement over arrays each, all in one
// batch; the events join those the
// transaction inserts at commit. Each statement reports, per write, what
// the single method's statement would have found (an ID or address
// taken, a user missing), in the order given, so Apply returns the error
// of the first write that fails, as the single methods would. The writes
// after it may have run: Apply then marks the transaction broken, and it
// cannot commit.
//
// A statement a run costs a few microseconds a row on the server, where a
// statement a write costs some tens (BenchmarkPostgresImport).
func (t *tx) Apply(writes []claim.Write) error {
	if err := t.check("Apply", true); err != nil {
		return err
	}
	if err := t.apply(writes); err != nil {
		// A refusal leaves the writes after it run, and a write refused
		// before any was sent leaves the events of those before it
		// queued: the transaction must not commit.
		if t.broken == nil {
			t.broken = err
		}
		return err
	}
	return nil
}

// apply is Apply once the Tx is checked.
func (t *tx) apply(writes []claim.Write) error {
	if err := t.lockWrites(writes); err != nil {
		return err
	}
	var runs []*userRun
	var seg segment
	for _, w := range writes {
		if k := runKind(w.Op); k >= 0 {
			seg.left[k]++
		}
	}
	for i, w := range writes {
		switch w.Op {
		case claim.WriteCreateUser, claim.WriteUpdateUser, claim.WriteDeleteUser:
			if w.Op != claim.WriteDeleteUser && (!userStorable(w.User) || w.Op == claim.WriteUpdateUser && !t.unchangedAddress(w.User)) {
				// The single statement finds what the schema refuses,
				// as the single method would; and an update that
				// changes an address goes alone, since a run reads
				// the addresses as they were before it.
				runs = seg.close(runs)
				r := &userRun{op: w.Op, single: true}
				if err := r.add(i, w.User); err != nil {
					return fmt.Errorf("postgres store: Apply: write %d: %w", i, err)
				}
				runs = append(runs, r)
				continue
			}
			email := w.User.Email
			if w.Op == claim.WriteDeleteUser {
				old := t.cache.users[w.User.ID]
				if old == nil {
					// Whose address it frees is unknown: it goes
					// alone, in order.
					runs = seg.close(runs)
					r := &userRun{op: w.Op}
					_ = r.add(i, w.User)
					runs = append(runs, r)
					continue
				}
				email = old.Email
			}
			if !seg.takes(w.User.ID, email) {
				runs = seg.close(runs)
				seg.takes(w.User.ID, email)
			}
			if err := seg.run(w.Op).add(i, w.User); err != nil {
				return fmt.Errorf("postgres store: Apply: write %d: %w", i, err)
			}
		case claim.WriteAppendEvent:
			if err := t.events.add(w.Event); err != nil {
				return fmt.Errorf("postgres store: Apply: write %d: %w", i, err)
			}
		default:
			return fmt.Errorf("postgres store: Apply: write %d: op %d: %w", i, w.Op, claim.ErrInvalidValue)
		}
	}
	runs = seg.close(runs)
	if len(runs) == 0 {
		return nil
	}
	t.wrote = true
	// first is the index in writes of the first write refused, refusal
	// its error: Apply's.
	first := len(writes)
	var refusal error
	err := t.send(t.ctx, func(b *pgx.Batch) {
		for _, r := range runs {
			r.queue(b, writes, func(i int, err error) {
				if i < first {
					first, refusal = i, err
				}
			})
		}
	})
	t.cache.forgetUsers()
	if err == nil && refusal != nil {
		err = refusal
	}
	if err != nil {
		return t.fail("Apply", err)
	}
	return nil
}

// lockWrites queues the locks of the user writes of writes, as the
// single methods take them (lockUserWrite), reading first a user to
// update or delete that the transaction has not read. Unlike CreateUser,
// a create locks only its lists' keys, none of its new ID and address: a
// batch creates only held originals, at reserved addresses and new random
// IDs that no other transaction looks up before they exist (see the
// package documentation, "Concurrency").
func (t *tx) lockWrites(writes []claim.Write) error {
	for i, w := range writes {
		switch w.Op {
		case claim.WriteCreateUser:
			t.lock(lockShared, userKeys(nil, &w.User)...)
		case claim.WriteUpdateUser, claim.WriteDeleteUser:
			old, err := t.before("Apply", w.User.ID)
			if errors.Is(err, claim.ErrNotFound) {
				continue // the write's own statement finds it missing
			}
			if err != nil {
				return fmt.Errorf("postgres store: Apply: write %d: %w", i, err)
			}
			if w.Op == claim.WriteDeleteUser {
				t.lockUserWrite(&old, nil)
			} else {
				t.lockUserWrite(&old, &w.User)
			}
		}
	}
	return nil
}

// segment gathers writes that touch no ID and no address twice: their
// order does not change what they do, so they run as three statements,
// deletes first (freeing what creates may take), then updates, then
// creates; a write that touches what the segment touched closes it.
type segment struct {
	runs   [3]*userRun // delete, update, create
	ids    map[claim.UserID]bool
	emails map[string]bool
	// left bounds, per kind, the writes that this segment's runs (or a
	// later segment's) may still take: the writes of the kind not yet in
	// a segment's run. A run and the maps are made that large at once
	// rather than grown, a batch of an import being a thousand writes of
	// a kind.
	left [3]int
}

// runKind is the index in segment.runs of op's run; -1 for an op of no
// run.
func runKind(op claim.WriteOp) int {
	switch op {
	case claim.WriteDeleteUser:
		return 0
	case claim.WriteUpdateUser:
		return 1
	case claim.WriteCreateUser:
		return 2
	}
	return -1
}

// takes records that a write touches the ID and the address, unless the
// segment touched either already.
func (g *segment) takes(id claim.UserID, email string) bool {
	email = strings.ToLower(email)
	if g.ids[id] || g.emails[email] {
		return false
	}
	if g.ids == nil {
		n := g.left[0] + g.left[1] + g.left[2]
		g.ids, g.emails = make(map[claim.UserID]bool, n), make(map[string]bool, n)
	}
	// (close empties the maps for the next segment, which reuses them.)
	g.ids[id], g.emails[email] = true, true
	return true
}

// run returns the segment's run of op, a user write, for one more write.
func (g *segment) run(op claim.WriteOp) *userRun {
	k := runKind(op)
	if g.runs[k] == nil {
		g.runs[k] = &userRun{op: op}
		g.runs[k].grow(g.left[k])
	}
	g.left[k]--
	return g.runs[k]
}

// close appends the segment's runs to runs, in their order, and empties
// it.
func (g *segment) close(runs []*userRun) []*userRun {
	for _, r := range g.runs {
		if r != nil {
			runs = append(runs, r)
		}
	}
	g.runs = [3]*userRun{}
	clear(g.ids)
	clear(g.emails)
	return runs
}

// unchangedAddress reports whether the transaction has read u's user and
// u keeps its address.
func (t *tx) unchangedAddress(u claim.User) bool {
	old := t.cache.users[u.ID] // not copied: only read here
	return old != nil && old.Email == u.Email
}

// userRun is a run of user writes of one kind, column by column.
type userRun struct {
	op     claim.WriteOp
	single bool  // one write, by the single method's statement
	index  []int // of the writes, in writes
	args   []any // of the single statement
	cols   userCols
}

// userCols are the columns of users, an array each (userRows), which
// pgx encodes without an allocation a value (column); the nullable ones
// hold pgtype values, invalid for NULL. Licenses are one array of every row's, lics; a row's
// are lics[licLo-1:licHi], in SQL's 1-based slice.
type userCols struct {
	id, email, first, last, display, org, lics  column[str]
	state, licLo, licHi, content                column[num]
	created, lastSignIn, inactiveSince, actSent column[pgtype.Int8]
	heldBy, by, from, original                  column[pgtype.Text]
	mode, prevState, outcome                    column[pgtype.Int2]
	at, deadline, ended                         column[pgtype.Int8]
	signedIn                                    column[pgtype.Bool]
}

// grow makes room for n writes.
func (r *userRun) grow(n int) {
	r.index = slices.Grow(r.index, n)
	c := &r.cols
	c.id = slices.Grow(c.id, n)
	if r.op == claim.WriteDeleteUser {
		return
	}
	c.email, c.first, c.last = slices.Grow(c.email, n), slices.Grow(c.first, n), slices.Grow(c.last, n)
	c.display, c.org = slices.Grow(c.display, n), slices.Grow(c.org, n)
	c.state, c.licLo, c.licHi = slices.Grow(c.state, n), slices.Grow(c.licLo, n), slices.Grow(c.licHi, n)
	c.content = slices.Grow(c.content, n)
	c.created, c.lastSignIn = slices.Grow(c.created, n), slices.Grow(c.lastSignIn, n)
	c.inactiveSince, c.actSent = slices.Grow(c.inactiveSince, n), slices.Grow(c.actSent, n)
	c.heldBy, c.by, c.from, c.original = slices.Grow(c.heldBy, n), slices.Grow(c.by, n), slices.Grow(c.from, n), slices.Grow(c.original, n)
	c.mode, c.prevState, c.outcome = slices.Grow(c.mode, n), slices.Grow(c.prevState, n), slices.Grow(c.outcome, n)
	c.at, c.deadline, c.ended = slices.Grow(c.at, n), slices.Grow(c.deadline, n), slices.Grow(c.ended, n)
	c.signedIn = slices.Grow(c.signedIn, n)
}

// add adds the write of u, the writes' i-th.
func (r *userRun) add(i int, u claim.User) error {
	r.index = append(r.index, i)
	c := &r.cols
	if r.op == claim.WriteDeleteUser {
		c.id = append(c.id, str(u.ID))
		return nil
	}
	if r.single {
		args, err := userArgs(u)
		r.args = args
		return err
	}
	return c.add(u)
}

// add appends u's columns (encUser).
func (c *userCols) add(u claim.User) error {
	r, err := encUser(u)
	if err != nil {
		return err
	}
	c.id = append(c.id, str(u.ID))
	c.email = append(c.email, str(u.Email))
	c.first = append(c.first, str(u.FirstName))
	c.last = append(c.last, str(u.LastName))
	c.display = append(c.display, str(u.DisplayName))
	c.org = append(c.org, str(u.Org))
	c.state = append(c.state, num(r.state))
	c.licLo = append(c.licLo, num(len(c.lics)+1))
	for _, l := range u.Licenses {
		c.lics = append(c.lics, str(l))
	}
	c.licHi = append(c.licHi, num(len(c.lics)))
	c.content = append(c.content, num(u.Content))
	c.created = append(c.created, r.created)
	c.lastSignIn = append(c.lastSignIn, r.lastSignIn)
	c.inactiveSince = append(c.inactiveSince, r.inactiveSince)
	c.actSent = append(c.actSent, r.actSent)
	c.heldBy = append(c.heldBy, r.heldBy)
	c.by, c.from, c.original = append(c.by, r.by), append(c.from, r.from), append(c.original, r.original)
	c.mode, c.prevState, c.outcome = append(c.mode, r.mode), append(c.prevState, r.prevState), append(c.outcome, r.outcome)
	c.at, c.deadline, c.ended = append(c.at, r.at), append(c.deadline, r.deadline), append(c.ended, r.ended)
	c.signedIn = append(c.signedIn, r.signedIn)
	return nil
}

// userRows is the rows of a run as a table d(ord, userColumns), from $1
// to $26, one array each but for licenses: $26 holds every row's, in
// order, and each row's are the slice of it from $8 to $25 (an empty
// slice when the first is past the last), since an SQL array of arrays
// must be rectangular.
const userRows = `(SELECT ord, id, email, first_name, last_name, display_name, org_id, state,
		($26::text[])[lic_lo:lic_hi] AS licenses, content,
		created_at, last_sign_in, inactive_since, activation_sent, held_by,
		claim_by, claim_from, claim_mode, claim_prev_state, claim_at, claim_deadline,
		claim_signed_in, claim_original, claim_ended, claim_outcome
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::smallint[],
		$8::int[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[],
		$15::text[], $16::text[], $17::smallint[], $18::smallint[], $19::bigint[], $20::bigint[],
		$21::boolean[], $22::text[], $23::bigint[], $24::smallint[], $25::int[])
	WITH ORDINALITY AS u(id, email, first_name, last_name, display_name, org_id, state, lic_lo, content,
		created_at, last_sign_in, inactive_since, activation_sent, held_by,
		claim_by, claim_from, claim_mode, claim_prev_state, claim_at, claim_deadline,
		claim_signed_in, claim_original, claim_ended, claim_outcome, lic_hi, ord))`

// The statements of runs. Each returns a row a write, in order, with what
// the single method's statement finds: all its sub-statements read the
// snapshot the statement started from.
const (
	queryCreateUsers = `WITH d AS ` + userRows + `,
ins AS (
	INSERT INTO users (` + userColumns + `)
	SELECT ` + userColumns + ` FROM d ORDER BY ord
	ON CONFLICT DO NOTHING
	RETURNING id
)
SELECT i.id IS NOT NULL, i.id IS NULL AND EXISTS (SELECT FROM users u WHERE u.id = d.id)
FROM d LEFT JOIN ins i USING (id) ORDER BY d.ord`
	// queryUpdateUsers updates users the transaction has read, each
	// keeping its address (see Apply): none can be missing or find its
	// address taken, and a row a write tells so.
	queryUpdateUsers = `WITH d AS ` + userRows + `,
upd AS (
	UPDATE users u SET first_name = d.first_name, last_name = d.last_name,
		display_name = d.display_name, org_id = d.org_id, state = d.state, licenses = d.licenses,
		content = d.content, created_at = d.created_at, last_sign_in = d.last_sign_in,
		inactive_since = d.inactive_since, activation_sent = d.activation_sent, held_by = d.held_by,
		claim_by = d.claim_by, claim_from = d.claim_from, claim_mode = d.claim_mode,
		claim_prev_state = d.claim_prev_state, claim_at = d.claim_at, claim_deadline = d.claim_deadline,
		claim_signed_in = d.claim_signed_in, claim_original = d.claim_original, claim_ended = d.claim_ended,
		claim_outcome = d.claim_outcome
	FROM d WHERE u.id = d.id AND u.email = d.email
	RETURNING u.id
)
SELECT p.id IS NOT NULL, false FROM d LEFT JOIN upd p USING (id) ORDER BY d.ord`
	queryDeleteUsers = `WITH d AS (SELECT * FROM unnest($1::text[]) WITH ORDINALITY AS d(id, ord)),
del AS (DELETE FROM users u USING d WHERE u.id = d.id RETURNING u.id)
SELECT d.id IN (SELECT id FROM del) FROM d ORDER BY d.ord`
)

// queue queues the run's statement; refused is called with the index of
// each write the store refuses and its error.
func (r *userRun) queue(b *pgx.Batch, writes []claim.Write, refused func(int, error)) {
	if r.single {
		w := writes[r.index[0]]
		q, result := queryCreateUser, createUserResult
		if r.op == claim.WriteUpdateUser {
			q, result = queryUpdateUser, updateUserResult
		}
		b.Queue(q, r.args...).QueryRow(func(row pgx.Row) error {
			var x, y bool
			if err := row.Scan(&x, &y); err != nil {
				return err
			}
			if err := result(w.User, x, y); err != nil {
				refused(r.index[0], err)
			}
			return nil
		})
		return
	}
	c := &r.cols
	var q string
	var args []any
	switch r.op {
	case claim.WriteDeleteUser:
		q, args = queryDeleteUsers, []any{c.id}
	case claim.WriteCreateUser:
		q = queryCreateUsers
	default:
		q = queryUpdateUsers
	}
	if args == nil {
		args = []any{c.id, c.email, c.first, c.last, c.display, c.org, c.state, c.licLo, c.content,
			c.created, c.lastSignIn, c.inactiveSince, c.actSent, c.heldBy, c.by, c.from, c.mode, c.prevState,
			c.at, c.deadline, c.signedIn, c.original, c.ended, c.outcome, c.licHi, c.lics.orEmpty()}
	}
	b.Queue(q, args...).Query(func(rows pgx.Rows) error {
		k := 0
		for rows.Next() {
			if k >= len(r.index) {
				return fmt.Errorf("%d results for %d writes", k+1, len(r.index))
			}
			i := r.index[k]
			u := writes[i].User
			var err error
			if r.op == claim.WriteDeleteUser {
				var deleted bool
				if err = rows.Scan(&deleted); err != nil {
					return err
				}
				if !deleted {
					err = fmt.Errorf("postgres store: user %s: %w", u.ID, claim.ErrNotFound)
				}
			} else {
				var x, y bool
				if err = rows.Scan(&x, &y); err != nil {
					return err
				}
				if r.op == claim.WriteCreateUser {
					err = createUserResult(u, x, y)
				} else {
					err = updateUserResult(u, x, y)
				}
			}
			if err != nil {
				refused(i, err)
			}
			k++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if k != len(r.index) {
			return fmt.Errorf("%d results for %d writes", k, len(r.index))
		}
		return nil
	})
}
