// Package postgres is the PostgreSQL claim.Store, for services whose
// processes share one database (Q2). It uses pgx v5 and its pool,
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
// # Behind PgBouncer
//
// The store keeps no session state between transactions: its locks are
// transaction-level, BEGIN and COMMIT travel with its statements, and
// Migrate locks inside its own transactions. So it works behind a pooler
// in transaction mode (PgBouncer pool_mode=transaction), the way most
// production PostgreSQL is reached. Two settings of the DSN matter there:
//
//   - default_query_exec_mode=cache_describe (or exec, or
//     simple_protocol): pgx's default caches named prepared statements
//     per connection, which a pooler in transaction mode may hand to
//     another client's server connection. PgBouncer 1.21 and later can
//     track them (max_prepared_statements), and then the default works
//     too. The tests run the store's conformance suite in each of these
//     modes (all but its model-based part in exec and simple_protocol).
//   - no search_path parameter: PgBouncer (before 1.20) refuses or drops
//     startup parameters it does not track. Give the store's role a
//     default instead (ALTER ROLE app SET search_path = claim), or keep
//     the tables in public.
//
// The store's NOTIFY of committed events passes through such a pooler;
// only the listener that wakes followers (WithListener, below) needs a
// connection of its own, direct to the server, since LISTEN is session
// state that the pooler would silently lose.
//
// # Following events
//
// claim.Service.WaitEvents and Follow wake when events commit if the
// store has a listener, and otherwise poll:
//
//	store, err := postgres.Open(ctx, pooledDSN, postgres.WithListener(directDSN))
//
// Every transaction that appended events sends, in the batch that
// commits and right after COMMIT, SELECT pg_notify on the channel of its
// schema: claim_events_ followed by the OID of the schema, so that stores
// in two schemas of one database do not wake each other. It runs in a
// transaction of its own: NOTIFY inside the writer's transaction would
// take PostgreSQL's notification lock, one for the whole server, at
// commit and hold it while the commit is flushed to disk, so that
// committing writers would queue behind each other; on its own, after
// the writer's commit, it holds the lock only for its own short
// transaction, which writes no data. It costs no round trip, and a
// transaction whose COMMIT fails notifies nothing. If it fails after COMMIT
// succeeded, the transaction still reports success and the failure is
// logged (Warn) through the service's logger: a follower then learns of
// the events at its next read, within 30 seconds.
//
// WithListener (a DSN) or WithListenerConn (a function that connects)
// gives the store a connection of its own, which must reach the server
// directly, not through a pooler in transaction mode. The store LISTENs
// on its schema's channel there from Open or New on, and implements
// claim.EventNotifier: each notification wakes the followers, within a
// round trip of the commit. When that connection fails, the store wakes
// the followers so that they read the log, logs the failure (Warn), lets
// them poll (so nothing that commits meanwhile waits longer than an
// interval), and connects again after a wait that doubles from 100ms to
// 10s, less up to half at random; at their next poll after that, followers wait on the listener
// again. It pings a connection that has been quiet for 30 seconds, to
// notice one that died without a word. Close stops it.
//
// Without a listener, EventsCommitted returns nil and followers read the
// log every claim.WithFollowPoll interval (one second by default): a
// bounded delay, and one read per interval and follower. Notifications
// from this store's writers still reach listeners in other processes.
//
// # Leases
//
// The store is a claim.Leaser, for claim.Service.RunSweeper: a lease is a
// row of the claim_leases table (migrations/0006_leases.sql: name,
// holder, acquired_at, renewed_at, expires_at), taken or renewed by one
// statement, INSERT … ON CONFLICT (name) DO UPDATE … WHERE the holder is
// the same or expires_at is past … RETURNING holder, and released by a
// DELETE of the holder's row. Times are the database's (now()), so the
// processes' clocks need not agree, and nothing is held between
// statements: no session advisory lock, which a pooler in transaction
// mode would lose or hand to another client. Concurrent takers of one
// lease are ordered by the row's lock, and the second finds it held.
//
// # Concurrency
//
// Update runs its function in a READ COMMITTED transaction that locks
// what it reads, until it ends, in a mode that conflicts with every write
// that could change what it read: strict two-phase locking, on rows and
// on keys. Whatever the interleaving of Updates across goroutines and
// processes, the outcome is that of running them one at a time in the
// order they commit (Q1), which is what lets the engine read, decide and
// write without locks of its own. The argument: a statement at READ
// COMMITTED reads what had committed when it started; an Update's
// statement starts once its locks are granted, when every transaction
// that could change what it reads has ended, and none can start to
// until this one ends. So everything an Update reads is, at its COMMIT,
// still what it read, as if the whole Update ran at that instant.
// Writes are covered too: a write takes the lock that conflicts with
// every read of what it changes, and PostgreSQL's own row lock orders
// writers of one row.
//
// What is locked (locks.go has the list):
//
//   - A user, by its row (SELECT … FOR UPDATE), when an Update reads it
//     by ID, by address or in a batch of addresses, with the original
//     account its claim holds. An ID or an address that no user has is
//     locked instead by its key, exclusive, and by the writers' key of
//     every new ID (or of every new address of its domain), shared;
//     CreateUser and a change of address lock the key of the ID or
//     address they give, exclusive, and the readers' key of every new ID
//     (address of the domain), shared; so a user found missing stays
//     missing. Past 32 such keys a transaction (a sync creating thousands
//     of users) locks only those coarse keys, exclusive (a reader both,
//     a writer the writers'), so that it holds a bounded number of locks
//     and a sync's writes do not hold up other writers; a batch of an
//     import locks its missing addresses by their domains' keys at once.
//   - An org, by a key (a transaction-level advisory lock on a hash of
//     "o:" and its ID): shared to read the org, exclusive to write it.
//     The same key stands for the org's users: each write of a user
//     locks shared the keys of the org it belongs to and of the org its
//     claim is by, before and after, and UsersByOrg, EmailsByOrg and
//     PendingClaimsBy lock it exclusive, so a directory sync or DeleteOrg
//     sees every user of the org, and no other writer changes one, until
//     it ends. A read of a user locks the keys of its org and of its
//     claim's orgs, shared, before the user's row (one statement reads
//     them from the row, the next locks the row). The engine calls
//     LockOrg (claim.OrgLocker) first in a transaction that lists an
//     org's users, so the key is taken exclusive at once rather than
//     upgraded from shared.
//   - DueClaims and InactiveUsers lock the rows they list (FOR UPDATE),
//     after the keys of the orgs of the users the first statement finds.
//     A listed user that a transaction changes while the list waits for
//     its row is read as that transaction left it, and left out if it no
//     longer belongs (PostgreSQL then reads further rows, whose org keys
//     the list takes after their rows: a sweep and a sync of one org may
//     then deadlock, and one runs again). A user that joins the list
//     after the list's statement began is not listed, as if the sweep had
//     run first; that is a serial order unless the transaction that made
//     the user join also wrote something the sweep reads afterwards,
//     which the engine never does for DueClaims (a claim's deadline is
//     Policy.ClaimWindow, which is positive, after its start: only time
//     makes a claim due) and does for InactiveUsers only in one benign
//     way: a transaction that restores or releases a long-inactive
//     original while it changes a user the sweep reads leaves that
//     original for the next sweep to purge.
//   - The users of a domain (UsersByDomain, which the engine reads in
//     Views only) by a key each write of a user locks shared.
//   - Domain records (by name, and an org's list), sites (by ID, an org's
//     list, a user's access), BroadWorks enterprises, subscribers and org
//     profiles, each by keys of the same kind. A write that moves or
//     deletes such a record locks, besides its key, the keys of the lists
//     it leaves, read from its row once its key is held (so that no writer
//     of the record has yet to commit). DeleteUser locks the user's rows
//     of site access, which its cascade removes, before its batch takes
//     the event lock.
//
// Transactions on different users therefore do not wait for each other:
// the keys they share (the orgs both read) are shared; the hot records
// are locked where they are: a user's row. A lock that is waited for is
// held by a transaction that reads or writes the same data, which would
// have made a SERIALIZABLE transaction fail and run again.
//
// Two transactions can still wait for each other: two that read one
// record shared and then write it (two orgs claiming one domain name,
// two syncs that each create more than 32 users of one domain), or that
// lock in different orders what a single read cannot take in order (a
// sweep that expires a claim of an org whose users a sync is listing; a
// transaction past 32 keys that finds an address of a domain missing,
// which locks the domain's two coarse keys exclusive in key order, and
// one that created a user of that domain and then finds another of its
// addresses missing, which took them shared in the other order).
// PostgreSQL finds such a deadlock after deadlock_timeout (one second by
// default) and fails one of the two with SQLSTATE 40P01. When a
// transaction deadlocks, or PostgreSQL cannot serialize it (40001: not
// expected at READ COMMITTED, but safe), or the connection fails before
// COMMIT is sent, Update runs the function again,
// up to 10 attempts with a randomized exponential backoff from 2ms to
// 200ms, each retry logged at Debug level through claim.ContextLogger
// (the service's logger) with its SQLSTATE; then it returns an error
// wrapping claim.ErrConflict.
//
// The locks cost no round trip: each batch starts with the statements
// that take the keys it needs, in key order, then the keys read from the
// rows it is about to move or delete, then, in the batch that commits,
// the event lock: a batch never waits for a key while it holds the event
// lock. A transaction holds a few keys a record it reads or writes, and
// at most 32 a user it finds missing or creates, then two a domain; a batch of an import holds one key per org and domain name
// and two per domain of a missing address, none per user, since PostgreSQL's lock table has room for
// max_locks_per_transaction (64 by default) times the server's
// connections in all. The IDs and addresses of the originals an import
// batch creates are not locked: an original's address, in the reserved
// .convert-user.local space, and its new random ID are looked up by no
// other transaction before they exist, and the unique indexes still
// refuse a second user at one address or ID. The keys live in the
// advisory-lock space of the database, hashed with the OID of the
// schema's users table, so stores in two schemas do not wait for each
// other, and a key that collides with another merely waits longer.
//
// View runs its function in BEGIN ISOLATION LEVEL REPEATABLE READ READ
// ONLY: one snapshot of everything committed when it starts. Such a
// transaction never waits and takes no locks, so its reads cost writers
// nothing (Events waits for the event lock, below). The engine decides
// nothing in a View, so one snapshot is enough.
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
// # Round trips
//
// A transaction costs few round trips to the server:
//
//   - BEGIN is sent with the transaction's first statement.
//   - A user is read together with what a decision about it reads next
//     (its org, every org's record of its domain, the original account
//     its claim holds), and the transaction keeps what it has read, so
//     reading it again costs nothing.
//   - A write whose outcome the transaction's own reads already prove
//     (UpdateUser of a user it read, with the address unchanged;
//     DeleteUser of a user it read; CreateUser of an ID and an address it
//     found free) is deferred and sent with the next batch. Other writes
//     go at once, with what is deferred, and return their refusals.
//   - The events, the deferred writes, COMMIT and the notification of
//     the events (see Following events) are one batch.
//
// The round trips of the main operations, on a connection that has
// prepared their statements (TestRoundTrips holds them to these figures;
// the first use of a statement on a connection adds one, for pgx to
// prepare it):
//
//   - ClaimUsers of one user: 4 (BEGIN with the acting org; the user
//     with its org, domain records and original; creating the held
//     original, which cannot be deferred as its address is new to the
//     transaction; events and COMMIT). A claim and its retraction: 7.
//   - Retract: 3.
//   - Sweep, fewer claims due than a batch: 5, whatever their number (a
//     list reads the original accounts of the users it lists with them).
//   - ImportClaims of one batch of rows (claim.ImportBatchRows, 1,000,
//     or fewer): 6 (5 for a dry run): BEGIN with the acting org; the
//     rows' users with their orgs and every org's records of their
//     domains (claim.BulkTx's UsersByEmails); the writes, a statement
//     over arrays per kind and segment (BulkTx.Apply); events and
//     COMMIT; and 2 for the import's first read of the org, in a
//     transaction of its own. Batches overlap (Store.ParallelUpdates,
//     claim.ParallelStore): the next batch's transaction starts on a
//     second connection of the pool once this one has read its users,
//     and commits after this one has, so an import keeps two
//     connections busy and PostgreSQL runs one batch's statements while
//     the engine decides the next batch's rows.
//   - An Events page: 1.
//
// # Certain outcomes
//
// Once COMMIT is sent, Update waits for its answer whatever the caller's
// context does, for up to 30 seconds: a caller whose context ends while a
// transaction commits still learns that it committed. The context is
// checked before COMMIT is sent; if it is done then, nothing is sent and
// the error wraps the context's. When the connection is lost (or the 30
// seconds pass) after the batch that ends in COMMIT was handed to the
// connection and before its answer came, the error wraps
// claim.ErrOutcomeUnknown: the caller must read again to learn what
// happened. No other error is returned for a transaction that committed.
// A connection lost earlier, before COMMIT was sent (or a session the
// server ended then, as pg_terminate_backend does), is retried: nothing
// of the transaction committed.
//
// # Event sequence numbers
//
// Events(after) never skips an event: once a reader has seen sequence
// number n, every event numbered below n that will ever commit is already
// visible to it. A plain database sequence would not give this, because a
// transaction that took a smaller number may commit after one that took a
// larger number. The store keeps the guarantee with the event lock, a
// transaction-level advisory lock keyed by the events table, without
// making writers wait for each other:
//
//  1. A writer inserts its events in the batch that ends in COMMIT, after
//     its other writes. In that batch it first takes the event lock in
//     shared mode, then takes its numbers from the events_seq sequence
//     (in the order its events were appended), and holds the lock until
//     its transaction has ended. Shared holders do not wait for each
//     other, so writers commit, and flush their commits to disk, together.
//  2. Events(after) runs in a transaction of its own that first takes the
//     event lock in exclusive mode. It is granted once no writer holds it:
//     every number taken so far belongs to a transaction that has ended,
//     whose commit is visible to every later snapshot (PostgreSQL
//     releases a transaction's locks only after its commit is visible),
//     and no writer can take a number until the reader ends. The reader
//     then lists the events with numbers up to the sequence's last value,
//     in a statement whose snapshot is taken after the lock was granted.
//     It therefore sees every committed event up to that number, and
//     events above it come later, with larger numbers.
//
// A reader holds the lock for one short indexed read, and writers waiting
// for it wait that long; a writer holds it from numbering to the end of
// its commit. Numbers are taken only in the batch that commits, so a
// transaction whose function fails, panics or is canceled uses none; a
// transaction whose COMMIT itself fails (a deadlock found in its commit
// batch, a lost connection) skips the numbers it took, which the
// claim.Tx contract allows. Events in a transaction that has already
// begun reads on another connection of the pool. (The comment on
// events_seq in migrations/0001_initial.sql describes the session lock
// of earlier builds; a released migration does not change.)
//
// # Logging and tracing
//
// The store logs through two loggers. WithLogger's logger receives what
// the store does on its own: migrations applied (Info), a renamed
// migrations table (Info), a failed migration (Error), and the event
// listener's connection (Debug when it listens, Warn when it fails).
// What it does for an operation of the Service goes to that Service's
// logger (claim.ContextLogger): a transaction it runs again, at Debug,
// with its SQLSTATE and attempt, and a commit whose notification of
// followers failed (Warn). Neither logs addresses or names.
//
// To trace the SQL, give pgx a tracer on a pool of your own and pass the
// pool to New; every statement of every transaction then goes through
// it. For OpenTelemetry, for example, with the otelpgx package:
//
//	cfg, err := pgxpool.ParseConfig(dsn)
//	// handle err
//	cfg.ConnConfig.Tracer = otelpgx.NewTracer() // or any pgx.QueryTracer, pgx.BatchTracer
//	pool, err := pgxpool.NewWithConfig(ctx, cfg)
//	// handle err
//	store := postgres.New(pool, postgres.WithLogger(logger))
//	err = store.Migrate(ctx)
//
// The store sends most statements in batches (see Round trips), so a
// tracer that implements pgx.BatchTracer sees one span per round trip
// with the statements inside; pgx.QueryTracer alone sees the statements
// sent one by one. The Service's context reaches the tracer: the spans
// of one operation share the trace of the context the caller passed in.
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
// bw_enterprises.org_id keeps one org to one enterprise, B5;
// 0006_leases.sql for the sweepers' leases, claim_leases).
// Key columns use COLLATE "C", so lists come in byte order, as Go
// compares strings, whatever the database's collation. The schema
// enforces what must hold whatever writes it: one claimant per domain
// name, one user per address, addresses in lower case, a State in 1…5, a
// Content not negative, a claim's columns all set or all NULL. There are
// no foreign keys to orgs: claim.Tx.DeleteOrg removes the org record only,
// leaving its users and domains to the engine.
package postgres
