package claim

import (
	"errors"
	"fmt"
)

// BulkTx is an optional capability of a Tx, found by type assertion, for
// transactions that claim hundreds of users (the batches of
// ImportClaims): it reads many users in one request and applies many
// writes in one, so that a batch costs a few round trips to a database
// instead of several per user.
//
// Without it, ImportClaims reads users one by one (each read once per
// batch) and applies the batch's writes one by one with the Tx's own
// methods; the outcome is the same.
type BulkTx interface {
	// UsersByEmails returns the users whose (normalized) Email is one of
	// emails, in any order; addresses of no account are left out.
	UsersByEmails(emails []string) ([]User, error)
	// Apply performs the writes in order, each with the effect and the
	// errors of the single method it names (CreateUser, UpdateUser,
	// DeleteUser, AppendEvent). It stops at the first write that fails
	// and returns its error; the caller then abandons the transaction.
	// What the writes' users point to (Licenses, Claim) is shared, not
	// handed over: a store may keep it rather than copy it, so neither
	// the caller nor the store may change it afterwards. The slice writes
	// itself is the caller's again once Apply returns.
	Apply(writes []Write) error
}

// WriteOp names the Tx method of a Write.
type WriteOp int

// The writes a BulkTx applies.
const (
	WriteCreateUser  WriteOp = iota + 1 // Tx.CreateUser(Write.User)
	WriteUpdateUser                     // Tx.UpdateUser(Write.User)
	WriteDeleteUser                     // Tx.DeleteUser(Write.User.ID)
	WriteAppendEvent                    // Tx.AppendEvent(Write.Event)
)

// Write is one write of BulkTx.Apply.
type Write struct {
	Op    WriteOp
	User  User  // the user of WriteCreateUser and WriteUpdateUser; WriteDeleteUser reads only its ID
	Event Event // the event of WriteAppendEvent
}

// Apply performs writes one by one with tx's methods: what BulkTx.Apply
// does, for a Tx without the capability (and its definition).
func Apply(tx Tx, writes []Write) error {
	for _, w := range writes {
		var err error
		switch w.Op {
		case WriteCreateUser:
			err = tx.CreateUser(w.User)
		case WriteUpdateUser:
			err = tx.UpdateUser(w.User)
		case WriteDeleteUser:
			err = tx.DeleteUser(w.User.ID)
		case WriteAppendEvent:
			err = tx.AppendEvent(w.Event)
		default:
			err = invalid(ErrInvalidValue, "Write.Op", int(w.Op), "not a WriteOp")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bulkTx decorates a Tx for a batch of claims, and only for what a
// claim calls. It answers the reads a claim makes (User, UserByEmail,
// Org, Domain, DomainClaimant) from what the transaction has read or
// written, so each record is read once per batch, and it queues the user
// and event writes, applying them together at flush. Queued writes that
// the store refuses fail at flush, which fails the batch: the same
// outcome as a claim whose write fails (the whole transaction is
// abandoned).
//
// Every other method passes straight to the store, without the queued
// writes: the claim path calls none of the other methods on users,
// events, orgs and domains (TestBulkClaimPathCalls runs imports and
// checks), and those on other records (sites, BroadWorks, org profiles)
// neither read nor change what the queue and the caches hold. A change
// that makes the claim path list users or write an org must decorate
// that method first, as the test will say.
type bulkTx struct {
	Tx
	bulk      BulkTx // nil: the store has no bulk path
	users     map[UserID]*User
	emails    map[string]UserID // "": no such user
	orgs      map[OrgID]Org
	domains   map[[2]string]*Domain // nil: no such record
	claimants map[string]bulkClaimant
	writes    []Write
}

// bulkClaimant is a cached answer of DomainClaimant.
type bulkClaimant struct {
	org OrgID
	err error // wraps ErrNotFound: no claimant
}

func newBulkTx(tx Tx) *bulkTx {
	b := &bulkTx{
		users:     make(map[UserID]*User),
		emails:    make(map[string]UserID),
		orgs:      make(map[OrgID]Org),
		domains:   make(map[[2]string]*Domain),
		claimants: make(map[string]bulkClaimant),
	}
	b.rebind(tx)
	return b
}

// rebind makes b a decorator of tx, another transaction, with empty caches
// and queue: a caller that runs many transactions reuses one bulkTx's
// memory.
func (b *bulkTx) rebind(tx Tx) {
	b.Tx = tx
	b.bulk, _ = tx.(BulkTx) // nil for a nil tx
	clear(b.writes)
	b.writes = b.writes[:0]
	b.reset()
}

// release empties b's caches and queue and drops its transaction, which
// has ended, so that b holds nothing of it until the next rebind.
func (b *bulkTx) release() {
	b.rebind(nil)
}

// reset drops the caches.
func (b *bulkTx) reset() {
	clear(b.users)
	clear(b.emails)
	clear(b.orgs)
	clear(b.domains)
	clear(b.claimants)
}

// prefetch reads the users with the addresses in one request, when the
// store can.
func (b *bulkTx) prefetch(emails []string) error {
	if b.bulk == nil || len(emails) == 0 {
		return nil
	}
	us, err := b.bulk.UsersByEmails(emails)
	if err != nil {
		return err
	}
	for _, e := range emails {
		if _, ok := b.emails[e]; !ok {
			b.emails[e] = ""
		}
	}
	for _, u := range us {
		b.keep(u) // the store's copy
	}
	return nil
}

// remember caches a copy of u.
func (b *bulkTx) remember(u User) {
	b.keep(memCloneUser(u))
}

// keep caches u, which shares no memory with the caller's users. Neither
// the cache nor a store changes a user's Licenses or Claim in place, so u
// may share them with a queued write.
func (b *bulkTx) keep(u User) {
	b.users[u.ID] = &u
	b.emails[u.Email] = u.ID
}

// queue queues the write of a copy of u, and caches it.
func (b *bulkTx) queue(op WriteOp, u User) {
	c := memCloneUser(u)
	b.writes = append(b.writes, Write{Op: op, User: c})
	b.keep(c)
}

// flush applies the queued writes, then reuses the queue's memory.
func (b *bulkTx) flush() error {
	if len(b.writes) == 0 {
		return nil
	}
	var err error
	if b.bulk != nil {
		err = b.bulk.Apply(b.writes)
	} else {
		err = Apply(b.Tx, b.writes)
	}
	clear(b.writes)
	b.writes = b.writes[:0]
	return err
}

func (b *bulkTx) User(id UserID) (User, error) {
	u, err := b.lookup(id)
	if err != nil {
		return User{}, err
	}
	return memCloneUser(*u), nil
}

// lookup returns the cached user id, reading it into the cache first if
// need be; the caller must not change it.
func (b *bulkTx) lookup(id UserID) (*User, error) {
	if u, ok := b.users[id]; ok {
		if u == nil {
			return nil, fmt.Errorf("claim: user %s: %w", id, ErrNotFound)
		}
		return u, nil
	}
	u, err := b.Tx.User(id)
	if errors.Is(err, ErrNotFound) {
		b.users[id] = nil
	}
	if err != nil {
		return nil, err
	}
	b.keep(u) // the store's copy
	return b.users[id], nil
}

func (b *bulkTx) UserByEmail(email string) (User, error) {
	if id, ok := b.emails[email]; ok {
		if id == "" {
			return User{}, fmt.Errorf("claim: user %s: %w", email, ErrNotFound)
		}
		return b.User(id)
	}
	u, err := b.Tx.UserByEmail(email)
	if errors.Is(err, ErrNotFound) {
		b.emails[email] = ""
	}
	if err != nil {
		return User{}, err
	}
	b.remember(u) // caches a copy: u, the store's own copy, is the caller's
	return u, nil
}

func (b *bulkTx) CreateUser(u User) error {
	b.queue(WriteCreateUser, u)
	return nil
}

// forget drops the address of user id from the cache, reading the user
// first if the cache does not hold it (then no queued write touched it,
// so the store's record is current).
func (b *bulkTx) forget(id UserID) error {
	old, err := b.lookup(id)
	if errors.Is(err, ErrNotFound) {
		return nil // the queued write fails at flush, as it would have now
	}
	if err != nil {
		return err
	}
	b.emails[old.Email] = ""
	return nil
}

func (b *bulkTx) UpdateUser(u User) error {
	if err := b.forget(u.ID); err != nil {
		return err
	}
	b.queue(WriteUpdateUser, u)
	return nil
}

func (b *bulkTx) DeleteUser(id UserID) error {
	if err := b.forget(id); err != nil {
		return err
	}
	b.users[id] = nil
	b.writes = append(b.writes, Write{Op: WriteDeleteUser, User: User{ID: id}})
	return nil
}

// AppendEvent queues e.
func (b *bulkTx) AppendEvent(e Event) error {
	b.writes = append(b.writes, Write{Op: WriteAppendEvent, Event: e})
	return nil
}

func (b *bulkTx) Org(id OrgID) (Org, error) {
	if o, ok := b.orgs[id]; ok {
		return memCloneOrg(o), nil
	}
	o, err := b.Tx.Org(id)
	if err != nil {
		return Org{}, err
	}
	b.orgs[id] = memCloneOrg(o)
	return o, nil
}

func (b *bulkTx) Domain(org OrgID, name string) (Domain, error) {
	k := [2]string{string(org), name}
	if d, ok := b.domains[k]; ok {
		if d == nil {
			return Domain{}, fmt.Errorf("claim: domain %s of org %s: %w", name, org, ErrNotFound)
		}
		return *d, nil
	}
	d, err := b.Tx.Domain(org, name)
	if errors.Is(err, ErrNotFound) {
		b.domains[k] = nil
	}
	if err != nil {
		return Domain{}, err
	}
	b.domains[k] = &d
	return d, nil
}

// DomainClaimant answers a domain claimed by no org, which every row of an
// import on an unclaimed domain asks about, with the store's own error.
func (b *bulkTx) DomainClaimant(name string) (OrgID, error) {
	if c, ok := b.claimants[name]; ok {
		return c.org, c.err
	}
	c, err := b.Tx.DomainClaimant(name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	b.claimants[name] = bulkClaimant{c, err}
	return c, err
}
