package claim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/claimkit/claim/internal/wake"
)

// NewMemoryStore returns the embedded default Store. It keeps everything
// in memory, so its data lasts as long as the process, and it is safe for
// concurrent use.
//
// Transactions are serialized by a read-write lock: Views run in parallel
// with each other, an Update runs alone for the whole of its fn, so an
// Update never needs a retry and never returns ErrConflict. An Update
// writes in place and records how to undo each write; if fn returns an
// error or panics, the writes are undone in reverse order, the event
// sequence included. View and Update return an error wrapping ctx.Err()
// without running fn when ctx is already done. Writes through a View's Tx,
// and any use of a Tx after its fn has returned, return an error.
//
// Cost: a lookup by ID, e-mail address or domain name is a map read. Each
// list is served from an ordered index (a B-tree) entered at its after
// key, so a page of k records costs O(log n + k) however many users, orgs
// or domains the store holds; Events copies the k events, O(k). Writing a
// user costs O(log n) per index it is in. Every value is copied in and
// out, so a user also costs in proportion to its Licenses; the Tx's
// BulkTx.Apply, which ImportClaims uses, keeps the Licenses and Claim it
// is handed instead of copying them. The event log is kept in chunks of
// 1,024 events: appending copies at most the first chunk as it grows,
// never the whole log.
//
// It is a Leaser, for RunSweeper: its leases are shared by every Service
// on the store, and timed by time.Now (memstore_lease.go).
//
// The store is an EventNotifier: an Update that appended events closes
// the channel of EventsCommitted once it has committed, so that followers
// (Service.WaitEvents, Service.Follow) wake at once and never poll.
func NewMemoryStore() Store {
	return &memStore{data: newMemData()}
}

var (
	_ Store          = (*memStore)(nil)
	_ EventNotifier  = (*memStore)(nil)
	_ Tx             = (*memTx)(nil)
	_ OrgEmailLister = (*memTx)(nil)
	_ BulkTx         = (*memTx)(nil)
	_ Leaser         = (*memStore)(nil)
)

var (
	// errMemReadOnly: a write through the Tx of a View.
	errMemReadOnly = errors.New("write in a read-only transaction")
	// errMemTxDone: a Tx used after its fn has returned.
	errMemTxDone = errors.New("transaction has ended")
)

// memDegree is the degree of the B-tree indexes.
const memDegree = 32

// memEventChunk is the number of events in a chunk of the event log.
const memEventChunk = 1024

// memStore is the Store of NewMemoryStore.
type memStore struct {
	mu   sync.RWMutex // read-locked by View, write-locked by Update
	data *memData     // guarded by mu

	leases memLeases // the Leaser capability (memstore_lease.go)

	// committed is closed by each Update that commits events, for
	// EventsCommitted.
	committed wake.Signal
}

// EventsCommitted returns a channel that the next Update that appends
// events closes once it has committed. A follower takes it before it
// reads the log: an Update that committed before the read is in what it
// reads, and one that commits after closes the channel it holds.
func (s *memStore) EventsCommitted() <-chan struct{} {
	return s.committed.Chan()
}

// memData is the stored records and their indexes, in memTables, whose
// set and put are the only code that changes records.
type memData struct {
	users *memTable[UserID, User]
	// The indexes of users.
	byEmail    *memUnique[string, UserID, User]
	byOrg      *memOrdered[memUserKey, UserID, User] // (Org, Email)
	byDomain   *memOrdered[memUserKey, UserID, User] // (domain of Email, Email)
	byClaimant *memOrdered[memUserKey, UserID, User] // (Claim.By, Email), pending claims
	due        *memOrdered[memDueKey, UserID, User]  // (Claim.Deadline, ID), pending Delayed claims
	inactive   *memOrdered[memDueKey, UserID, User]  // (InactiveSince, ID), Inactive users not held by a claim

	orgs *memTable[OrgID, Org]

	domains     *memTable[memDomainKey, Domain]
	domainNames *memOrdered[memDomainKey, memDomainKey, Domain] // (Org, Name)
	claimants   *memUnique[string, memDomainKey, Domain]        // Name → the record that has Claimed

	// events is the log in chunks of memEventChunk events, all full but
	// the last, so that it grows without copying the whole log: the
	// event with Seq s is
	// events[(s-1)/memEventChunk][(s-1)%memEventChunk]. nevents counts them.
	events  [][]Event
	nevents int

	bw *memBW // Webex for BroadWorks records (memstore_broadworks.go)

	sites *memSites // meeting sites and site access (memstore_sites.go)

	tables []memLogged // every table, for the end of an Update
}

// memUserKey is an entry of an index of users in e-mail order within a
// group (an org, a domain, a claimant). E-mail addresses are unique, so
// (group, email) identifies the entry; id finds the user.
type memUserKey struct {
	group string
	email string
	id    UserID
}

func (a memUserKey) less(b memUserKey) bool {
	if a.group != b.group {
		return a.group < b.group
	}
	return a.email < b.email
}

// memDueKey is an entry of the index of pending delayed claims.
type memDueKey struct {
	deadline time.Time
	id       UserID
}

func (a memDueKey) less(b memDueKey) bool {
	if c := a.deadline.Compare(b.deadline); c != 0 {
		return c < 0
	}
	return a.id < b.id
}

// memDomainKey identifies an org's record of a domain name.
type memDomainKey struct {
	org  OrgID
	name string
}

// String names the record in errors: "<name> of org <org>".
func (a memDomainKey) String() string { return a.name + " of org " + string(a.org) }

func (a memDomainKey) less(b memDomainKey) bool {
	if a.org != b.org {
		return a.org < b.org
	}
	return a.name < b.name
}

func newMemData() *memData {
	d := &memData{
		byEmail: newMemUnique(func(u *User) UserID { return u.ID }, func(_ UserID, u *User) (string, bool) { return u.Email, true }),
		byOrg: newMemOrdered(memUserKey.less, func(id UserID, u *User) (memUserKey, bool) {
			return memUserKey{group: string(u.Org), email: u.Email, id: id}, true
		}),
		byDomain: newMemOrdered(memUserKey.less, func(id UserID, u *User) (memUserKey, bool) {
			return memUserKey{group: domainOf(u.Email), email: u.Email, id: id}, true
		}),
		byClaimant: newMemOrdered(memUserKey.less, func(id UserID, u *User) (memUserKey, bool) {
			if !u.Claim.pending() {
				return memUserKey{}, false
			}
			return memUserKey{group: string(u.Claim.By), email: u.Email, id: id}, true
		}),
		due: newMemOrdered(memDueKey.less, func(id UserID, u *User) (memDueKey, bool) {
			if !u.Claim.pending() || u.Claim.Mode != Delayed {
				return memDueKey{}, false
			}
			return memDueKey{deadline: u.Claim.Deadline, id: id}, true
		}),
		inactive: newMemOrdered(memDueKey.less, func(id UserID, u *User) (memDueKey, bool) {
			return memDueKey{deadline: u.InactiveSince, id: id}, memPurgeable(*u)
		}),
		domainNames: newMemOrdered(memDomainKey.less, func(k memDomainKey, _ *Domain) (memDomainKey, bool) { return k, true }),
		claimants: newMemUnique(func(dom *Domain) memDomainKey { return memDomainKey{dom.Org, dom.Name} },
			func(k memDomainKey, dom *Domain) (string, bool) { return k.name, dom.Claimed }),
		bw:    newMemBW(),
		sites: newMemSites(),
	}
	d.users = newMemTable(memCloneUser, memIndex[UserID, User](d.byEmail), d.byOrg, d.byDomain, d.byClaimant, d.due, d.inactive)
	d.orgs = newMemTable[OrgID](memCloneOrg)
	d.domains = newMemTable(nil, memIndex[memDomainKey, Domain](d.domainNames), d.claimants)
	d.tables = append([]memLogged{d.users, d.orgs, d.domains}, d.bw.tables()...)
	d.tables = append(d.tables, d.sites.tables()...)
	return d
}

// View runs fn under the read lock. It returns an error wrapping
// ctx.Err() if ctx is done when View is called, and otherwise fn's error.
func (s *memStore) View(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory store: view: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	tx := &memTx{d: s.data}
	defer func() { tx.done = true }()
	return fn(tx)
}

// Update runs fn under the write lock. It returns an error wrapping
// ctx.Err() if ctx is done when Update is called, and otherwise fn's
// error.
// When fn returns an error or panics (or calls runtime.Goexit), every
// write it made is undone before the lock is released.
func (s *memStore) Update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory store: update: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{d: s.data, writable: true, events0: s.data.nevents}
	committed := false
	defer func() {
		tx.done = true
		if !committed {
			tx.rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	for _, t := range s.data.tables {
		t.commit() // nothing to undo: let the replaced records go
	}
	if s.data.nevents > tx.events0 {
		// Committed: a View that begins after this sees the events.
		s.committed.Broadcast()
	}
	return nil
}

// memTx is the Tx of a memStore. The undo log of an Update's writes is
// kept by each table (memTable), since an Update runs alone.
type memTx struct {
	d        *memData
	writable bool // an Update's Tx
	done     bool // fn has returned
	// events0 is the length of the event log when the transaction began:
	// rolling back truncates the log to it, so appending an event records
	// no undo.
	events0 int
}

// rollback undoes the transaction's writes, each table's last first (no
// index spans two tables, so the tables may be rolled back in any
// order), then drops the events it appended.
func (tx *memTx) rollback() {
	for _, t := range tx.d.tables {
		t.rollback()
	}
	tx.d.truncateEvents(tx.events0)
}

// check returns an error if the Tx has ended, or if op is a write and the
// Tx is read-only.
func (tx *memTx) check(op string, write bool) error {
	if tx.done {
		return fmt.Errorf("memory store: %s: %w", op, errMemTxDone)
	}
	if write && !tx.writable {
		return fmt.Errorf("memory store: %s: %w", op, errMemReadOnly)
	}
	return nil
}

// checkList is check for a list method, which also refuses limit <= 0.
func (tx *memTx) checkList(op string, limit int) error {
	if err := tx.check(op, false); err != nil {
		return err
	}
	if limit <= 0 {
		return fmt.Errorf("memory store: %s: limit %d: must be positive: %w", op, limit, ErrInvalidValue)
	}
	return nil
}

// Org returns the org with the id; ErrNotFound if missing.
func (tx *memTx) Org(id OrgID) (Org, error) {
	return memRead(tx, "Org", tx.d.orgs, "org", id)
}

// CreateOrg inserts o; ErrDuplicate if its ID exists.
func (tx *memTx) CreateOrg(o Org) error {
	if err := tx.check("CreateOrg", true); err != nil {
		return err
	}
	if tx.d.orgs.has(o.ID) {
		return fmt.Errorf("memory store: org %s: %w", o.ID, ErrDuplicate)
	}
	tx.d.orgs.set(o.ID, &o)
	return nil
}

// UpdateOrg replaces the org with o's ID; ErrNotFound if missing.
func (tx *memTx) UpdateOrg(o Org) error {
	if err := tx.check("UpdateOrg", true); err != nil {
		return err
	}
	if !tx.d.orgs.has(o.ID) {
		return fmt.Errorf("memory store: org %s: %w", o.ID, ErrNotFound)
	}
	tx.d.orgs.set(o.ID, &o)
	return nil
}

// DeleteOrg removes the org record only; ErrNotFound if missing.
func (tx *memTx) DeleteOrg(id OrgID) error {
	return memRemove(tx, "DeleteOrg", tx.d.orgs, "org", id, nil)
}

// Domain returns org's record of the name; ErrNotFound if missing.
func (tx *memTx) Domain(org OrgID, name string) (Domain, error) {
	return memRead(tx, "Domain", tx.d.domains, "domain", memDomainKey{org, name})
}

// PutDomain inserts or replaces the record (d.Org, d.Name). It returns
// ErrDomainClaimedByOther if d.Claimed and another org claims the name.
func (tx *memTx) PutDomain(dom Domain) error {
	if err := tx.check("PutDomain", true); err != nil {
		return err
	}
	k := memDomainKey{dom.Org, dom.Name}
	if other, ok := tx.d.claimants.taken(k, &dom); ok {
		return fmt.Errorf("memory store: domain %s claimed by org %s: %w", dom.Name, other.org, ErrDomainClaimedByOther)
	}
	tx.d.domains.set(k, &dom)
	return nil
}

// DeleteDomain removes org's record of the name; ErrNotFound if missing.
func (tx *memTx) DeleteDomain(org OrgID, name string) error {
	return memRemove(tx, "DeleteDomain", tx.d.domains, "domain", memDomainKey{org, name}, nil)
}

// Domains lists org's domain records whose name sorts after the given
// one, in name order, at most limit.
func (tx *memTx) Domains(org OrgID, after string, limit int) ([]Domain, error) {
	if err := tx.checkList("Domains", limit); err != nil {
		return nil, err
	}
	return memPage(nil, tx.d.domainNames, memDomainKey{org: org, name: after},
		func(k memDomainKey) bool { return k.org == org }, limit,
		func(k memDomainKey) Domain { return *tx.d.domains.rows[k] }), nil
}

// DomainClaimant returns the org that claims the name; ErrNotFound if none
// does.
func (tx *memTx) DomainClaimant(name string) (OrgID, error) {
	if err := tx.check("DomainClaimant", false); err != nil {
		return "", err
	}
	dom, ok := tx.d.claimants.lookup(name)
	if !ok {
		return "", fmt.Errorf("memory store: claimant of domain %s: %w", name, ErrNotFound)
	}
	return dom.Org, nil
}

// User returns the user with the id; ErrNotFound if missing.
func (tx *memTx) User(id UserID) (User, error) {
	return memRead(tx, "User", tx.d.users, "user", id)
}

// UserByEmail returns the user with the address; ErrNotFound if none.
func (tx *memTx) UserByEmail(email string) (User, error) {
	if err := tx.check("UserByEmail", false); err != nil {
		return User{}, err
	}
	u, ok := tx.d.byEmail.lookup(email)
	if !ok {
		return User{}, fmt.Errorf("memory store: user %s: %w", email, ErrNotFound)
	}
	return tx.d.users.copyOf(u), nil
}

// CreateUser inserts u; ErrDuplicate if its ID exists, ErrEmailTaken if
// its Email does.
func (tx *memTx) CreateUser(u User) error {
	if err := tx.check("CreateUser", true); err != nil {
		return err
	}
	if err := tx.creatable(&u); err != nil {
		return err
	}
	tx.d.users.set(u.ID, &u)
	return nil
}

// creatable returns CreateUser's error for u, if any.
func (tx *memTx) creatable(u *User) error {
	if tx.d.users.has(u.ID) {
		return fmt.Errorf("memory store: user %s: %w", u.ID, ErrDuplicate)
	}
	return tx.emailFree(u)
}

// UpdateUser replaces the user with u's ID, re-indexing it; ErrNotFound if
// missing, ErrEmailTaken if u.Email belongs to another user.
func (tx *memTx) UpdateUser(u User) error {
	if err := tx.check("UpdateUser", true); err != nil {
		return err
	}
	if err := tx.updatable(&u); err != nil {
		return err
	}
	tx.d.users.set(u.ID, &u)
	return nil
}

// updatable returns UpdateUser's error for u, if any.
func (tx *memTx) updatable(u *User) error {
	if !tx.d.users.has(u.ID) {
		return fmt.Errorf("memory store: user %s: %w", u.ID, ErrNotFound)
	}
	return tx.emailFree(u)
}

// emailFree returns ErrEmailTaken if u.Email is another user's.
func (tx *memTx) emailFree(u *User) error {
	if other, ok := tx.d.byEmail.taken(u.ID, u); ok {
		return fmt.Errorf("memory store: user %s: %s is user %s's: %w", u.ID, u.Email, other, ErrEmailTaken)
	}
	return nil
}

// DeleteUser removes the user; ErrNotFound if missing.
func (tx *memTx) DeleteUser(id UserID) error {
	return memRemove(tx, "DeleteUser", tx.d.users, "user", id, func() { tx.dropSiteAccess(id) })
}

// UsersByEmails returns the users with the addresses, in the order of
// emails, leaving out addresses of no account (BulkTx).
func (tx *memTx) UsersByEmails(emails []string) ([]User, error) {
	if err := tx.check("UsersByEmails", false); err != nil {
		return nil, err
	}
	out := make([]User, 0, len(emails))
	for _, e := range emails {
		if u, ok := tx.d.byEmail.lookup(e); ok {
			out = append(out, tx.d.users.copyOf(u))
		}
	}
	return out, nil
}

// Apply performs the writes in order, with the checks and errors of
// CreateUser, UpdateUser, DeleteUser and AppendEvent, stopping at the
// first that fails (BulkTx). The users' Licenses and Claim are stored as
// they are, not copied: Apply's caller hands them over.
func (tx *memTx) Apply(writes []Write) error {
	if err := tx.check("Apply", true); err != nil {
		return err
	}
	for i := range writes {
		w := &writes[i]
		var err error
		switch w.Op {
		case WriteCreateUser:
			if err = tx.creatable(&w.User); err == nil {
				u := w.User
				tx.d.users.put(u.ID, &u)
			}
		case WriteUpdateUser:
			if err = tx.updatable(&w.User); err == nil {
				u := w.User
				tx.d.users.put(u.ID, &u)
			}
		case WriteDeleteUser:
			err = tx.DeleteUser(w.User.ID)
		case WriteAppendEvent:
			tx.appendEvent(w.Event)
		default:
			err = fmt.Errorf("memory store: Apply: write %d: op %d: not a WriteOp: %w", i, w.Op, ErrInvalidValue)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// memPurgeable reports whether u belongs in the inactive index.
func memPurgeable(u User) bool {
	return u.State == Inactive && u.HeldBy == "" && !u.InactiveSince.IsZero()
}

// UsersByOrg lists org's users whose Email sorts after the given address,
// in e-mail order. Returns an error wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) UsersByOrg(org OrgID, after string, limit int) ([]User, error) {
	if err := tx.checkList("UsersByOrg", limit); err != nil {
		return nil, err
	}
	return tx.d.usersIn(tx.d.byOrg, string(org), after, limit), nil
}

// EmailsByOrg lists the addresses of org's users that sort after the
// given one, in e-mail order, from the keys of the UsersByOrg index alone
// (OrgEmailLister). Returns an error wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) EmailsByOrg(org OrgID, after string, limit int) ([]string, error) {
	if err := tx.checkList("EmailsByOrg", limit); err != nil {
		return nil, err
	}
	x := tx.d.byOrg
	return memPage(make([]string, 0, min(limit, x.tree.Len())), x, memUserKey{group: string(org), email: after},
		memInGroup(string(org)), limit, func(k memUserKey) string { return k.email }), nil
}

// UsersByDomain lists the users whose Email's domain is the given one and
// whose Email sorts after the given address, in e-mail order. Returns an
// error wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) UsersByDomain(domain, after string, limit int) ([]User, error) {
	if err := tx.checkList("UsersByDomain", limit); err != nil {
		return nil, err
	}
	return tx.d.usersIn(tx.d.byDomain, domain, after, limit), nil
}

// PendingClaimsBy lists the users with a pending claim by org whose Email
// sorts after the given address, in e-mail order. Returns an error
// wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) PendingClaimsBy(org OrgID, after string, limit int) ([]User, error) {
	if err := tx.checkList("PendingClaimsBy", limit); err != nil {
		return nil, err
	}
	return tx.d.usersIn(tx.d.byClaimant, string(org), after, limit), nil
}

// usersIn returns copies of at most limit users of x's group whose
// Email sorts after the given address, in e-mail order.
func (d *memData) usersIn(x *memOrdered[memUserKey, UserID, User], group, after string, limit int) []User {
	out := make([]User, 0, min(limit, x.tree.Len())) // a page is usually full: no regrowing
	return memPage(out, x, memUserKey{group: group, email: after}, memInGroup(group), limit,
		func(k memUserKey) User { return d.users.copyOf(d.users.rows[k.id]) })
}

// memInGroup returns whether an entry of an index of users is in group.
func memInGroup(group string) func(memUserKey) bool {
	return func(k memUserKey) bool { return k.group == group }
}

// DueClaims lists the users whose claim is pending, Delayed and has
// Deadline <= now, in deadline order, ties by ID. Returns an error
// wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) DueClaims(now time.Time, limit int) ([]User, error) {
	if err := tx.checkList("DueClaims", limit); err != nil {
		return nil, err
	}
	return tx.d.usersUntil(tx.d.due, now, limit), nil
}

// InactiveUsers lists the users that are Inactive, not held by a claim
// and have InactiveSince <= before, in InactiveSince order, ties by ID.
// Returns an error wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) InactiveUsers(before time.Time, limit int) ([]User, error) {
	if err := tx.checkList("InactiveUsers", limit); err != nil {
		return nil, err
	}
	return tx.d.usersUntil(tx.d.inactive, before, limit), nil
}

// usersUntil returns copies of the first users of x, at most limit, up
// to those of time t.
func (d *memData) usersUntil(x *memOrdered[memDueKey, UserID, User], t time.Time, limit int) []User {
	var out []User
	x.tree.Ascend(func(k memDueKey) bool {
		if k.deadline.After(t) {
			return false
		}
		out = append(out, d.users.copyOf(d.users.rows[k.id]))
		return len(out) < limit
	})
	return out
}

// AppendEvent appends e to the log with the next sequence number. The
// store runs one Update at a time, so append order is commit order; a
// transaction that does not commit truncates the log back to where it
// began.
func (tx *memTx) AppendEvent(e Event) error {
	if err := tx.check("AppendEvent", true); err != nil {
		return err
	}
	tx.appendEvent(e)
	return nil
}

// appendEvent is AppendEvent once the Tx is checked.
func (tx *memTx) appendEvent(e Event) {
	d := tx.d
	if d.nevents%memEventChunk == 0 {
		// The first chunk grows as a slice does, so that a store of a few
		// events (a test's) does not hold a whole chunk; the others are
		// made whole, so that a long log is never copied.
		var c []Event
		if len(d.events) > 0 {
			c = make([]Event, 0, memEventChunk)
		}
		d.events = append(d.events, c)
	}
	d.nevents++
	e.Seq = uint64(d.nevents)
	last := &d.events[len(d.events)-1]
	*last = append(*last, e)
}

// truncateEvents drops the events after the first n.
func (d *memData) truncateEvents(n int) {
	for d.nevents > n {
		last := len(d.events) - 1
		keep := max(n-last*memEventChunk, 0)
		clear(d.events[last][keep:])
		d.events[last] = d.events[last][:keep]
		d.nevents = last*memEventChunk + keep
		if keep == 0 {
			d.events[last] = nil
			d.events = d.events[:last]
		}
	}
}

// Events lists the committed events with Seq > after, in Seq order: in
// an Update, those of the transactions before it, not its own (as a
// database's snapshot would). Returns an error wrapping ErrInvalidValue if
// limit <= 0.
func (tx *memTx) Events(after uint64, limit int) ([]Event, error) {
	if err := tx.checkList("Events", limit); err != nil {
		return nil, err
	}
	n := uint64(tx.d.nevents)
	if tx.writable {
		n = uint64(tx.events0)
	}
	if after >= n {
		return nil, nil
	}
	end := n
	if uint64(limit) < n-after {
		end = after + uint64(limit)
	}
	out := make([]Event, 0, end-after)
	for i := after; i < end; {
		chunk := tx.d.events[i/memEventChunk]
		j := min(end-i, uint64(len(chunk))-i%memEventChunk)
		out = append(out, chunk[i%memEventChunk:i%memEventChunk+j]...)
		i += j
	}
	return out, nil
}

// memCloneUser returns a copy of u that shares no memory with it.
func memCloneUser(u User) User {
	u.Licenses = slices.Clone(u.Licenses)
	if u.Claim != nil {
		c := *u.Claim
		u.Claim = &c
	}
	return u
}

// memCloneOrg returns a copy of o that shares no memory with it.
func memCloneOrg(o Org) Org {
	o.Settings.AutoLicenses = slices.Clone(o.Settings.AutoLicenses)
	return o
}
