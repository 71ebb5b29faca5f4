package claim

import (
	"context"
	"time"
)

// Store keeps organizations, domains, users and the event log. A Store
// runs functions in transactions (Q2): every write of a function commits,
// or none does. Implement it to run the library on your own storage; the
// package storetest is the conformance suite every Store must pass (Q3).
//
// Stores are handed to New; users of the library do not call them
// directly. Store and Tx are interfaces so that a wrapper can decorate
// them (fault injection, metrics, tracing); a wrapper that should keep
// followers woken at commit implements EventNotifier too, passing it on.
type Store interface {
	// View runs fn in a read-only transaction. Writes through the Tx
	// return an error. fn sees a consistent state. View returns fn's
	// error.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. When fn returns nil its
	// writes commit together; when it returns an error or panics, none
	// does and Update returns that error (or re-panics). Transactions on
	// the same data are serializable: the outcome is that of some order of
	// them. A store may run fn more than once to retry a serialization
	// failure, so fn must have no effect outside the transaction; when it
	// gives up it returns an error wrapping ErrConflict.
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is a transaction of a Store. Values passed in and returned are
// copies: changing them changes nothing in the store until they are
// written back. Lookups of missing records return an error wrapping
// ErrNotFound. List methods return at most limit records (limit > 0),
// starting after the given key, so callers page through large sets; a
// store must serve each list from an index, at a cost in proportion to
// what it returns. A limit that is not positive is an error wrapping
// ErrInvalidValue. A Tx must not be used after its function returns.
//
// Tx is made of one role per kind of record (OrgTx, DomainTx, UserTx,
// SiteTx, BroadWorksTx, EventTx), so that code that needs one kind can
// say so; a store implements them all in one type. Their methods follow
// one convention: a read is named for what it returns (Org, UsersByOrg),
// and a write by its verb — Create inserts (ErrDuplicate when the key
// exists), Update replaces (ErrNotFound when it is missing), Put inserts
// or replaces, Delete removes (ErrNotFound when it is missing). Orgs and
// users, which the engine must never overwrite by mistake, have Create
// and Update; the other records have Put.
// View and Update return an error wrapping the context's error when ctx
// is done, and a new store's first event has Seq 1.
type Tx interface {
	OrgTx
	DomainTx
	UserTx
	SiteTx
	BroadWorksTx
	EventTx
}

// OrgTx is the part of a Tx that keeps organizations and their profiles.
type OrgTx interface {
	// Org returns the org with the id.
	Org(id OrgID) (Org, error)
	// CreateOrg inserts o; ErrDuplicate if its ID exists.
	CreateOrg(o Org) error
	// UpdateOrg replaces the org with o's ID; ErrNotFound if missing.
	UpdateOrg(o Org) error
	// DeleteOrg removes the org record only; ErrNotFound if missing.
	DeleteOrg(id OrgID) error

	// OrgProfile returns the profile of the org (admins, restricted admin
	// mode, licenses); ErrNotFound if none was stored.
	OrgProfile(org OrgID) (OrgProfile, error)
	// PutOrgProfile inserts or replaces the profile of p.Org.
	PutOrgProfile(p OrgProfile) error
	// DeleteOrgProfile removes the profile of the org; ErrNotFound if
	// none was stored.
	DeleteOrgProfile(org OrgID) error
}

// DomainTx is the part of a Tx that keeps domains.
type DomainTx interface {
	// Domain returns org's record of the domain name.
	Domain(org OrgID, name string) (Domain, error)
	// PutDomain inserts or replaces the record (d.Org, d.Name). It returns
	// ErrDomainClaimedByOther if d.Claimed and another org claims the name.
	PutDomain(d Domain) error
	// DeleteDomain removes org's record of the name; ErrNotFound if missing.
	DeleteDomain(org OrgID, name string) error
	// Domains lists org's domain records whose name sorts after the
	// given one, in name order.
	Domains(org OrgID, after string, limit int) ([]Domain, error)
	// DomainClaimant returns the org that claims the domain name;
	// ErrNotFound if none does.
	DomainClaimant(name string) (OrgID, error)
}

// UserTx is the part of a Tx that keeps users.
type UserTx interface {
	// User returns the user with the id.
	User(id UserID) (User, error)
	// UserByEmail returns the user with the (normalized) address.
	UserByEmail(email string) (User, error)
	// CreateUser inserts u; ErrDuplicate if its ID exists, ErrEmailTaken if
	// its Email does.
	CreateUser(u User) error
	// UpdateUser replaces the user with u's ID; ErrNotFound if missing,
	// ErrEmailTaken if u.Email belongs to another user.
	UpdateUser(u User) error
	// DeleteUser removes the user; ErrNotFound if missing.
	DeleteUser(id UserID) error
	// UsersByOrg lists the users of org whose Email sorts after the given
	// address, in e-mail order.
	UsersByOrg(org OrgID, after string, limit int) ([]User, error)
	// UsersByDomain lists the users of every org whose Email's domain (the
	// part after the last '@') is the given one and whose Email sorts
	// after the given address, in e-mail order.
	UsersByDomain(domain, after string, limit int) ([]User, error)
	// PendingClaimsBy lists the users whose claim is pending (Claim set,
	// Claim.Ended zero) and was made by org, with Email after the given
	// address, in e-mail order.
	PendingClaimsBy(org OrgID, after string, limit int) ([]User, error)
	// DueClaims lists the users whose claim is pending, Delayed, and has
	// Deadline <= now, in deadline order (ties by ID).
	DueClaims(now time.Time, limit int) ([]User, error)

	// InactiveUsers lists the users that are Inactive, not held by a
	// claim (HeldBy empty) and have InactiveSince <= before, in
	// InactiveSince order (ties by ID): the users the sweep may purge.
	InactiveUsers(before time.Time, limit int) ([]User, error)
}

// SiteTx is the part of a Tx that keeps meeting sites and what users
// hold on them (S1).
type SiteTx interface {
	// Site returns the meeting site with the id (S1).
	Site(id SiteID) (Site, error)
	// PutSite inserts or replaces the site with s's ID.
	PutSite(s Site) error
	// DeleteSite removes the site and every SiteAccess on it; ErrNotFound
	// if missing.
	DeleteSite(id SiteID) error
	// SitesByOrg lists the sites of org whose ID sorts after the given
	// one, in ID order.
	SitesByOrg(org OrgID, after SiteID, limit int) ([]Site, error)
	// PutSiteAccess inserts or replaces what a.User holds on a.Site; a
	// record holding neither License nor ExternalAdmin removes it (and is
	// no error if there was none). ErrNotFound if the site or the user is
	// missing. DeleteUser removes a user's records with the user.
	PutSiteAccess(a SiteAccess) error
	// SiteAccessByUser lists what the user holds, on sites whose ID sorts
	// after the given one, in site ID order.
	SiteAccessByUser(user UserID, after SiteID, limit int) ([]SiteAccess, error)
}

// BroadWorksTx is the part of a Tx that keeps Webex for BroadWorks
// enterprises and subscribers.
type BroadWorksTx interface {
	// Enterprise returns the BroadWorks enterprise with the id.
	Enterprise(id EnterpriseID) (BroadWorksEnterprise, error)
	// EnterpriseByOrg returns the enterprise whose Org is org.
	EnterpriseByOrg(org OrgID) (BroadWorksEnterprise, error)
	// PutEnterprise inserts or replaces the enterprise with e's ID. It
	// returns ErrOrgMapped if e.Org is set and another enterprise has that
	// Org, or the stored enterprise has another Org that is set (B5: an
	// enterprise's Org is cleared before it names another).
	PutEnterprise(e BroadWorksEnterprise) error
	// DeleteEnterprise removes the enterprise; ErrNotFound if missing.
	DeleteEnterprise(id EnterpriseID) error
	// EnterprisesByPartner lists the enterprises of the partner whose ID
	// sorts after the given one, in ID order.
	EnterprisesByPartner(partner OrgID, after EnterpriseID, limit int) ([]BroadWorksEnterprise, error)

	// Subscriber returns the BroadWorks subscriber with the id.
	Subscriber(id SubscriberID) (Subscriber, error)
	// SubscriberByEmail returns the subscriber with the (normalized,
	// non-empty) address.
	SubscriberByEmail(email string) (Subscriber, error)
	// PutSubscriber inserts or replaces the subscriber with s's ID. It
	// returns ErrEmailTaken if s.Email is set and another subscriber has
	// it.
	PutSubscriber(s Subscriber) error
	// DeleteSubscriber removes the subscriber; ErrNotFound if missing.
	DeleteSubscriber(id SubscriberID) error
	// SubscribersByEnterprise lists the subscribers of the enterprise
	// whose ID sorts after the given one, in ID order.
	SubscribersByEnterprise(e EnterpriseID, after SubscriberID, limit int) ([]Subscriber, error)
}

// EventTx is the part of a Tx that keeps the event log.
type EventTx interface {
	// AppendEvent adds e to the transaction's events (e.Seq is ignored).
	// They join the log when the transaction commits, numbered in the
	// order appended and after every event of every transaction that
	// committed before, so that the numbers follow commit order: once a
	// reader has seen Seq n, no event with a smaller number can appear
	// later (O1). A transaction that does not commit adds none. Numbers
	// start at 1 and increase by one, except that a store may skip the
	// numbers of a transaction whose COMMIT itself failed. The number is
	// not known before the commit, and Events does not list the
	// transaction's own events.
	AppendEvent(e Event) error
	// Events lists committed events with Seq > after, in Seq order,
	// never one before an event with a smaller number that has yet to
	// commit (O1). It lists none of the transaction's own events, which
	// are not committed yet, and may read the log as of its call rather
	// than as of the transaction's snapshot.
	Events(after uint64, limit int) ([]Event, error)
}

// OrgEmailLister is an optional capability of a Tx: the addresses of an
// org's users without the users themselves. EmailsByOrg lists the
// addresses of org's users that sort after the given one, in e-mail
// order, at most limit of them (a limit that is not positive is an error
// wrapping ErrInvalidValue), served from the index UsersByOrg uses: the
// addresses of UsersByOrg(org, after, limit), at a fraction of its cost.
//
// A full directory sync (Service.SyncDirectory) lists the org this way
// to find the users its directory does not name, reading only those in
// full. With a Tx that lacks it (a decorating wrapper, say) the sync pages
// through UsersByOrg instead, with the same outcome. Both stores of this
// module have it; storetest checks it when a Tx has it.
type OrgEmailLister interface {
	EmailsByOrg(org OrgID, after string, limit int) ([]string, error)
}

// OrgLocker is an optional capability of a Tx, for stores that keep
// transactions apart with locks. The engine calls LockOrg(org) first in
// a transaction that will list org's users and may then write any of
// them or the org record (a directory sync, DeleteOrg, an attach, a
// change of the org's settings), before it reads anything of the org.
// The store may then lock the org at once in the mode such a list needs,
// where it would otherwise lock it shared at the first read and upgrade
// at the list: two transactions that each hold the shared lock and wait
// for the exclusive one deadlock, and the store must wait for the
// deadlock to be found and run one of them again.
//
// LockOrg is a hint about order, not a read: it returns an error only if
// the transaction cannot go on (the connection failed, say), never
// ErrNotFound, and changes no outcome. A store that serializes
// transactions otherwise (the memory store runs one at a time) need not
// have it. The PostgreSQL store has it.
type OrgLocker interface {
	LockOrg(org OrgID) error
}

// ParallelStore is an optional capability of a Store, found by type
// assertion: a store whose Update transactions run side by side, each
// waiting only for those that touch what it touches (as the PostgreSQL
// store's do, with row and key locks), rather than one at a time (as the
// memory store's do).
//
// On such a store ImportClaims overlaps its batches: a batch's
// transaction starts as soon as the one before it has read (and so
// locked) its own users, and runs while that one writes and commits; it
// commits only after that one has committed and the import has reported
// it, and rolls back if that one fails or stops. The rows committed are
// therefore always the file's first ones, as when batches run one at a
// time. A batch whose rows are done waits for the one before it to end
// and be reported for twice as long as the last batch reported took to
// do its rows, at least a second and at most 30 seconds: that one may be
// waiting for a lock the waiting batch holds, a wait the store cannot
// see, so the waiting batch then rolls back and runs again after it
// (logged at Debug).
//
// A store that has it runs the functions of two Updates at the same
// time, from two goroutines. A wrapper that decorates such a store
// should have it too, passing it on; without it imports run their
// batches one at a time, with the same outcome.
type ParallelStore interface {
	// ParallelUpdates reports whether Update transactions on different
	// data run side by side.
	ParallelUpdates() bool
}
