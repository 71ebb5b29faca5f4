package claim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"
)

// Service runs the claim workflow on a Store. It is safe for concurrent
// use (Q1): every operation is one store transaction (or, for batches and
// sweeps, a documented sequence of them), so when two operations race on
// one user exactly one wins and the other gets the error it would get had
// it run second.
type Service struct {
	store    Store
	clock    Clock
	policy   Policy
	resolver Resolver
	log      *slog.Logger
	// followPoll is WithFollowPoll's interval.
	followPoll time.Duration
	bw         BroadWorks // BroadWorks's handle, set by New
}

// Resolver looks up DNS TXT records for domain verification (D1).
// *net.Resolver satisfies it; claimtest.NewResolver is a static one for
// tests.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (default: the system clock in UTC).
func WithClock(c Clock) Option { return func(s *Service) { s.clock = c } }

// WithPolicy sets the policy (default: DefaultPolicy()).
func WithPolicy(p Policy) Option { return func(s *Service) { s.policy = p } }

// WithResolver sets the DNS resolver for domain verification (default:
// net.DefaultResolver).
func WithResolver(r Resolver) Option { return func(s *Service) { s.resolver = r } }

// WithLogger sets the logger for operational messages such as sweep
// progress (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// New returns a Service on store. It returns an *InputError wrapping
// ErrInvalidValue if store is nil, an option sets a nil clock, resolver or
// logger, or the Policy makes no sense (naming the field, e.g.
// "Policy.ClaimWindow").
func New(store Store, opts ...Option) (*Service, error) {
	if store == nil {
		return nil, invalid(ErrInvalidValue, "store", "<nil>", "a Store is required; use NewMemoryStore()")
	}
	s := &Service{
		store:      store,
		clock:      systemClock{},
		policy:     DefaultPolicy(),
		resolver:   net.DefaultResolver,
		log:        discardLogger,
		followPoll: DefaultFollowPoll,
	}
	s.bw.s = s
	for _, o := range opts {
		o(s)
	}
	switch {
	case s.clock == nil:
		return nil, invalid(ErrInvalidValue, "WithClock", "<nil>", "a Clock is required")
	case s.resolver == nil:
		return nil, invalid(ErrInvalidValue, "WithResolver", "<nil>", "a Resolver is required")
	case s.log == nil:
		return nil, invalid(ErrInvalidValue, "WithLogger", "<nil>", "a Logger is required")
	case s.followPoll <= 0:
		return nil, invalid(ErrInvalidValue, "WithFollowPoll", s.followPoll, "must be positive")
	}
	if err := s.policy.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Policy returns the policy the service runs with.
func (s *Service) Policy() Policy { return s.policy }

// pageSize is how many records one read transaction of an iterator takes.
const pageSize = 256

// txn is one attempt of a store transaction, with the instant all its
// rules use. Its methods are the engine's operations on the records (a
// user brought up to date, an org the caller may act for); tx is the
// store's transaction, for the raw reads and writes behind them.
type txn struct {
	tx  Tx
	s   *Service
	ctx context.Context
	now time.Time
	rw  bool
	// moved memoizes movedSites: an org's sites moved to Control Hub (S1).
	moved map[OrgID]map[SiteID]bool
}

// readOnly returns t's read-only view: its reads resolve expired claims
// (X1) without writing the expiry, so a decision that ends in a refusal,
// or in no change, writes nothing (X3).
func (t *txn) readOnly() txn {
	ro := *t
	ro.rw = false
	return ro
}

// loggerKey is the context key of the Service's logger (ContextLogger).
type loggerKey struct{}

// ContextLogger returns the logger of the Service that passed ctx to a
// Store's View or Update (its WithLogger), so that a store can log what
// it does for an operation, such as a transaction it runs again, where
// the service's owner reads its logs. It returns a logger that discards
// everything when ctx carries none.
func ContextLogger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return discardLogger
}

// ContextWithLogger returns ctx carrying l as the logger ContextLogger
// returns: what the Service does for the transactions it runs, for a
// store's own tests or a caller that drives a Store directly.
func ContextWithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// discardLogger is the default logger: it writes nothing.
var discardLogger = slog.New(slog.DiscardHandler)

// storeCtx is ctx carrying the service's logger for the store.
func (s *Service) storeCtx(ctx context.Context) context.Context {
	return ContextWithLogger(ctx, s.log)
}

// view runs fn in a read-only transaction.
func (s *Service) view(ctx context.Context, fn func(*txn) error) error {
	return s.store.View(s.storeCtx(ctx), func(tx Tx) error {
		return fn(&txn{tx: tx, s: s, ctx: ctx, now: s.clock.Now(), rw: false})
	})
}

// update runs fn in a read-write transaction. The clock is read once per
// attempt.
func (s *Service) update(ctx context.Context, fn func(*txn) error) error {
	return s.store.Update(s.storeCtx(ctx), func(tx Tx) error {
		return fn(&txn{tx: tx, s: s, ctx: ctx, now: s.clock.Now(), rw: true})
	})
}

// emit appends an event stamped with the transaction's instant.
func (t *txn) emit(e Event) error {
	e.At = t.now
	return t.tx.AppendEvent(e)
}

// org returns the org or an error wrapping ErrNotFound.
// An identifier outside the limits (checkID) is an *InputError, before
// the store is asked.
func (t *txn) org(id OrgID) (Org, error) {
	if err := checkID(ErrNotFound, "org", id, true); err != nil {
		return Org{}, err
	}
	o, err := t.tx.Org(id)
	if errors.Is(err, ErrNotFound) {
		return Org{}, errf(ErrNotFound, "org %q", id)
	}
	return o, err
}

// wholeOrg is org for a transaction that will list the org's users (or
// read and then write the org): it tells a store that locks (OrgLocker)
// so before it reads anything of the org.
func (t *txn) wholeOrg(id OrgID) (Org, error) {
	if err := checkID(ErrNotFound, "org", id, true); err != nil {
		return Org{}, err
	}
	if err := t.lockOrg(id); err != nil {
		return Org{}, err
	}
	return t.org(id)
}

// lockOrg tells a store that locks (OrgLocker) that t will list org's
// users and may write them and the org, before t reads anything of it.
func (t *txn) lockOrg(id OrgID) error {
	if l, ok := t.tx.(OrgLocker); ok {
		return l.LockOrg(id)
	}
	return nil
}

// user returns the user as of t.now (see current).
// An identifier outside the limits is an *InputError.
func (t *txn) user(id UserID) (User, error) {
	if err := checkID(ErrNotFound, "user", id, true); err != nil {
		return User{}, err
	}
	u, err := t.tx.User(id)
	if errors.Is(err, ErrNotFound) {
		return User{}, errf(ErrNotFound, "user %q", id)
	}
	if err != nil {
		return User{}, err
	}
	return t.current(u)
}

// userByEmail returns the user with the normalized address as of t.now.
func (t *txn) userByEmail(email string) (User, error) {
	u, err := t.tx.UserByEmail(email)
	if errors.Is(err, ErrNotFound) {
		return User{}, errf(ErrNotFound, "user %q", email)
	}
	if err != nil {
		return User{}, err
	}
	return t.current(u)
}

// member returns user id of org; a user of another org is ErrNotFound (N3).
func (t *txn) member(org OrgID, id UserID) (User, error) {
	if _, err := t.org(org); err != nil {
		return User{}, err
	}
	u, err := t.user(id)
	if err != nil {
		return User{}, err
	}
	if u.Org != org {
		return User{}, errf(ErrNotFound, "user %q", id) // the text of an unknown user (N3)
	}
	return u, nil
}

// expired reports whether c is a pending delayed claim past its deadline
// (X3: the window is half-open).
func (t *txn) expired(c *ClaimInfo) bool {
	return c.pending() && c.Mode == Delayed && !t.now.Before(c.Deadline)
}

// current brings u up to t.now (X3): a delayed claim past its deadline is
// resolved as MigrateContent (X1). In a write transaction the expiry is
// persisted, with its events, as part of the transaction; in a read
// transaction the resolved view is computed and nothing is written. An
// original account whose claim has so ended is gone: ErrNotFound.
func (t *txn) current(u User) (User, error) {
	if u.HeldBy != "" {
		holder, err := t.holder(u)
		if err != nil {
			return User{}, err
		}
		if t.expired(holder.Claim) {
			if t.rw {
				if _, err := t.expire(holder); err != nil {
					return User{}, err
				}
			}
			return User{}, errf(ErrNotFound, "user %q", u.ID)
		}
		return u, nil
	}
	if !t.expired(u.Claim) {
		return u, nil
	}
	if t.rw {
		return t.expire(u)
	}
	orig, err := t.tx.User(u.Claim.Original)
	if err != nil {
		return User{}, fmt.Errorf("claim: original %q of user %q: %w", u.Claim.Original, u.ID, err)
	}
	r, _ := mustApply(u, step{on: onExpire, original: orig}, t.now) // a view: its events are written when it is persisted (expire)
	return r, nil
}

// holder returns the claimed user whose pending claim holds original o.
func (t *txn) holder(o User) (User, error) {
	u, err := t.tx.UserByEmail(strings.TrimSuffix(o.Email, OriginalSuffix))
	if err != nil || !u.Claim.pending() || u.Claim.Original != o.ID {
		return User{}, fmt.Errorf("claim: original %q has no holding claim (store inconsistent): %v", o.ID, err)
	}
	return u, nil
}

// expire persists the expiry of u's delayed claim (X1): the original's
// content moves to u, the original is removed, and the claim ends.
func (t *txn) expire(u User) (User, error) {
	orig, err := t.tx.User(u.Claim.Original)
	if err != nil {
		return User{}, fmt.Errorf("claim: original %q of user %q: %w", u.Claim.Original, u.ID, err)
	}
	r, evs := mustApply(u, step{on: onExpire, original: orig}, t.now)
	if err := t.save(r, evs); err != nil {
		return User{}, err
	}
	if err := t.migrate(r, orig); err != nil {
		return User{}, err
	}
	return r, nil
}

// each pages through the users list returns (in its key order), brings
// each up to date (current) and calls fn with it; originals that an
// expiry has just removed are skipped. It stops at fn's first error.
func (t *txn) each(list func(after string, limit int) ([]User, error), fn func(User) error) error {
	return keyed(list, userKey, func(raw []User) error { return t.visit(raw, fn) })
}

// keyed pages through a list a Tx serves in key order: list returns at
// most limit items after the key, key gives an item's key. It calls page
// with each page in turn until one is short, and stops at page's first
// error, which it returns.
func keyed[T, K any](list func(after K, limit int) ([]T, error), key func(T) K, page func([]T) error) error {
	var after K
	for {
		items, err := list(after, pageSize)
		if err != nil {
			return err
		}
		if err := page(items); err != nil {
			return err
		}
		if len(items) < pageSize {
			return nil
		}
		after = key(items[len(items)-1])
	}
}

// collectKeyed returns every item of a keyed list (see keyed).
func collectKeyed[T, K any](list func(after K, limit int) ([]T, error), key func(T) K) ([]T, error) {
	var out []T
	err := keyed(list, key, func(items []T) error {
		out = append(out, items...)
		return nil
	})
	return out, err
}

// The keys of the lists of a Tx.
// domains lists all of org's domain records, in name order.
func (t *txn) domains(org OrgID) ([]Domain, error) {
	return collectKeyed(func(after string, limit int) ([]Domain, error) { return t.tx.Domains(org, after, limit) }, domainKey)
}

func userKey(u User) string                             { return u.Email }
func domainKey(d Domain) string                         { return d.Name }
func subscriberKey(s Subscriber) SubscriberID           { return s.ID }
func enterpriseKey(e BroadWorksEnterprise) EnterpriseID { return e.ID }
func siteKey(s Site) SiteID                             { return s.ID }
func accessKey(a SiteAccess) SiteID                     { return a.Site }

// visit brings each stored user of raw up to date (current) and calls fn
// with it; originals that an expiry has just removed are skipped. It
// stops at fn's first error.
func (t *txn) visit(raw []User, fn func(User) error) error {
	for _, r := range raw {
		u, err := t.current(r)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// public is u as callers see it: an ended claim record is hidden (the
// User.Claim field is the pending claim).
func public(u User) User {
	if u.Claim != nil && !u.Claim.pending() {
		u.Claim = nil
	}
	return u
}

// newID returns a random identifier with the prefix.
func newID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// cleanLicenses trims names, drops empty ones and duplicates, keeping the
// first occurrence's order.
func cleanLicenses(field string, lists ...[]string) ([]string, error) {
	var out []string
	for _, l := range lists {
		for _, n := range l {
			n, err := cleanName(field, n)
			if err != nil {
				return nil, err
			}
			if n == "" {
				return nil, invalid(ErrInvalidValue, field, n, "empty license name")
			}
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out, nil
}
