// Package postgres is the PostgreSQL claim.Store, for services whose
// processes share one database (SPEC Q2). It uses pgx v5 and its pool,
// pgxpool, and needs PostgreSQL 12 or later.
//
// # Use
//
//	store, err := postgres.Open(ctx, "postgres://app@db/claims?search_path=claim")
//	if err != nil { ... }
//	defer store.Close()
//	if err := store.Migrate(ctx); err != nil { ... } // at every start; idempotent
//	svc, err := claim.New(store)
//
// Open makes a pool of its own from the DSN; New takes a pool the caller
// owns (and keeps owning: Close leaves it open). The store works in the
// first schema of the connections' search_path, which the DSN may set
// (search_path=claim, or options=-csearch_path%3Dclaim); the schema must
// exist. Migrate applies the embedded, versioned migrations that the
// schema's claim_schema_migrations table does not list; several processes
// may call it at once. WithLogger gives the store a *slog.Logger for
// them. Teams that run migrations with their own tool take the SQL files
// from Migrations instead.
//
// The store holds session-level advisory locks across a transaction's
// COMMIT (below), so it needs direct connections or session pooling: a
// pooler in transaction mode (PgBouncer pool_mode=transaction) would hand
// the session to someone else in between.
//
// # Concurrency
//
// Update runs its function in a SERIALIZABLE transaction: whatever the
// interleaving of Updates across goroutines and processes, the outcome is
// that of some serial order of them, which is what lets the engine read,
// decide and write without locks of its own (Q1). Writers also take the
// write lock (below), but only at their first write: the reads before it
// run on a snapshot that may already be stale, and SERIALIZABLE is what
// catches that. When PostgreSQL cannot serialize a transaction (SQLSTATE
// 40001) or breaks a deadlock (40P01), Update runs the function again, up
// to 10 attempts with a randomized exponential backoff from 2ms to 200ms;
// then it returns an error wrapping claim.ErrConflict. The function may
// therefore run more than once, as the claim.Store contract allows. A
// second run takes the write lock before it begins, so that it starts
// from a snapshot that no other writer can change before it ends: a
// transaction that lost once to a concurrent write does not lose again,
// however hot the record.
//
// View runs its function in BEGIN ISOLATION LEVEL REPEATABLE READ READ
// ONLY: one snapshot of everything committed when it starts. Such a
// transaction never waits, never fails to serialize and takes no
// predicate locks, so readers cost writers nothing. (SERIALIZABLE READ
// ONLY DEFERRABLE would also exclude the rare read-only anomaly of
// snapshot isolation, a snapshot that no serial order of the writers
// produces, at the price of waiting for a safe snapshot under load. The
// engine decides nothing in a View, so the cheaper snapshot is enough.)
//
// A claim.Tx is one transaction on one pooled connection; it is not safe
// for concurrent use. Expected refusals (claim.ErrNotFound,
// claim.ErrDuplicate, claim.ErrEmailTaken, claim.ErrDomainClaimedByOther)
// are found by the statements themselves and leave the transaction
// usable, as the contract needs. The unique indexes still guard against
// concurrent writers: a violation is reported with the same sentinel
// (checked by constraint name), and a CHECK violation as
// claim.ErrInvalidValue. Any error from the server aborts a PostgreSQL
// transaction, so after one every call of the Tx fails, and Update
// refuses to commit even if the function ignored it.
//
// # Event sequence numbers
//
// Events(after) never skips an event: if a reader has seen sequence
// number n, every event numbered below n is already visible to it. A
// plain database sequence would not give this, because a transaction
// that took a smaller number may commit after one that took a larger
// number. So numbers are taken under a lock, in commit order.
//
// Before its first write, an Update's transaction takes the write lock, a
// session-level advisory lock keyed by the events table, and holds it
// until the transaction has ended; events take their numbers from the
// events_seq sequence only while it is held. When a transaction takes
// number n, every transaction with a smaller number has committed, and
// its commit is visible to every new snapshot (the store releases the
// lock only after COMMIT has returned), or rolled back.
// Taking the lock before the first write, rather than at the first
// AppendEvent, means it is always taken before any row lock, so it can
// never deadlock with them.
//
// AppendEvent returns the event with its final number at once (the
// conformance suite and a transaction reading its own events rely on it),
// and numbers have no gaps: a transaction that does not commit (its
// function failed or panicked, or COMMIT failed) sets the sequence back to
// where it found it before it lets the lock go. Only a connection lost in
// the middle of a transaction that appended events (pgx also closes a
// connection when the context is canceled while a statement runs) can
// leave a gap, never a duplicate or a reordering.
//
// The price: transactions that write wait for each other from their first
// write to their end, across processes. Reads, in Views and in Updates
// before their first write, run concurrently; Views never wait. An engine
// operation on one record reads first and writes at the end, so the part
// that runs one at a time is short; a batch (ClaimUsers, a Sweep batch,
// ImportClaims) holds the lock from its first record's write to its end.
// Numbering events at COMMIT would shorten the wait to the commit itself,
// but then AppendEvent could not return the final number.
//
// # Time
//
// Every time.Time is stored as a bigint of Unix nanoseconds, NULL for the
// zero time, and read back in UTC; durations as bigint nanoseconds. The
// engine compares instants at nanosecond precision (a claim window is
// half-open, [At, Deadline), so one nanosecond before the deadline is
// still inside it), and timestamptz would keep only microseconds. A time
// before 1678 or after 2262, which int64 nanoseconds cannot hold, is
// refused with claim.ErrInvalidValue.
//
// # Schema
//
// Tables orgs, domains, users and events, each list of claim.Tx served
// by an index entered at its after key (see migrations/0001_initial.sql,
// and 0002_inactive_index.sql for InactiveUsers; 0003_broadworks.sql for
// the Webex-for-BroadWorks tables, whose partial unique index on
// bw_enterprises.org_id keeps one org to one enterprise, B5).
// Key columns use COLLATE "C", so lists come in byte order, as Go
// compares strings, whatever the database's collation. The schema
// enforces what must hold whatever writes it: one claimant per domain
// name, one user per address, addresses in lower case, a State in 1…5, a
// Content not negative, a claim's columns all set or all NULL. There are
// no foreign keys to orgs: claim.Tx.DeleteOrg removes the org record only,
// leaving its users and domains to the engine.
package postgres
