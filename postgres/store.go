package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claimkit/claim"
)

var (
	_ claim.Store          = (*Store)(nil)
	_ claim.Tx             = (*tx)(nil)
	_ claim.OrgEmailLister = (*tx)(nil)
)

// Retries of a serialization failure or a deadlock (Update).
const (
	// maxAttempts is how many times Update runs fn before it gives up
	// with ErrConflict.
	maxAttempts = 10
	// backoffBase is the wait before the second attempt; each further
	// attempt doubles it, up to backoffMax. The wait is drawn from
	// [d/2, d) so that transactions that collided do not collide again.
	backoffBase = 2 * time.Millisecond
	backoffMax  = 200 * time.Millisecond
	// cleanupTimeout bounds the rollback and the release of the event lock
	// after a transaction, which run even when the caller's context is
	// done.
	cleanupTimeout = 10 * time.Second
)

// SQLSTATE codes the store acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeCheckViolation       = "23514"
	codeNotNullViolation     = "23502"
	codeStringTooLong        = "22001"
	codeNumericOutOfRange    = "22003"
	codeCharacterNotInRepert = "22021" // e.g. invalid UTF-8
	codeUntranslatableChar   = "22P05" // e.g. a NUL byte
)

// Store is the PostgreSQL claim.Store. It is safe for concurrent use by
// many goroutines and many processes sharing one database. See the
// package documentation.
type Store struct {
	pool      *pgxpool.Pool
	owned     bool // Close closes pool
	closeOnce sync.Once
	log       *slog.Logger // WithLogger; nil: none (options.go)
}

// Open connects to the database named by dsn (a PostgreSQL URL or
// keyword/value string, as pgxpool.ParseConfig reads it) with a pool of
// its own, checks that the server answers, and returns the store. The
// schema is the first one of the connection's search_path, which the DSN
// may set, as a runtime parameter (search_path=myschema) or in options
// (options=-csearch_path%3Dmyschema). Open does not migrate: call
// Migrate. Close closes the pool. Options (WithLogger) configure the
// store.
//
// Open returns an error wrapping the cause if dsn does not parse or the
// server cannot be reached before ctx is done.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres store: open: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store: open: %w", err)
	}
	return (&Store{pool: pool, owned: true}).with(opts), nil
}

// New returns a store on pool, which the caller owns: Close does not
// close it. The pool's connections must all have the same search_path;
// the store works in the first schema of it. Options (WithLogger)
// configure the store.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	return (&Store{pool: pool}).with(opts)
}

// Close closes the pool if Open made it, waiting for connections in use
// to be returned; on a store from New it does nothing. It is safe to call
// more than once. The store must not be used after Close.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		if s.owned {
			s.pool.Close()
		}
	})
}

// View runs fn in a read-only transaction on one snapshot of the
// database: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY. fn sees
// every transaction that committed before its first read and nothing
// later, and never waits for a writer or makes one fail. Writes through
// the Tx return an error without reaching the database.
//
// View returns fn's error if it returns one. Otherwise it returns an error
// wrapping the cause if ctx is done before fn runs, no connection can be
// had before ctx is done ("postgres store: begin: …"), or a statement of
// fn failed (a database or connection error) even though fn returned nil.
func (s *Store) View(ctx context.Context, fn func(claim.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres store: view: %w", err)
	}
	t, err := s.begin(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, false, false)
	if err != nil {
		return err
	}
	defer t.end()
	if err := fn(t); err != nil {
		return err
	}
	t.done = true
	if t.broken != nil {
		return fmt.Errorf("postgres store: view: %w", t.broken)
	}
	if err := t.pg.Commit(ctx); err != nil {
		return fmt.Errorf("postgres store: view: commit: %w", err)
	}
	t.committed = true
	return nil
}

// Update runs fn in a read-write transaction at isolation level
// SERIALIZABLE, so that concurrent Updates, in this process or another,
// have the outcome of some serial order of them (Q1, Q2). When
// PostgreSQL cannot serialize the transaction (SQLSTATE 40001) or finds
// it in a deadlock (40P01) — at any statement or at COMMIT, and even if fn
// swallowed the error — Update rolls back and runs fn again, after a
// randomized, exponentially growing wait (2ms at first, at most 200ms),
// up to 10 times in all. A run after the first takes the store's write
// lock before it begins (the first run takes it at its first write): its
// snapshot then sees every earlier writer and no other writer can commit
// until it ends, so it cannot lose to another Update's writes again, and
// a hot record does not starve it. fn must have no effect outside the
// transaction.
//
// Update returns nil when the transaction committed. It returns fn's
// error, after rolling back, when fn returns one (and the transaction was
// not aborted by a serialization failure, which is retried instead). If
// fn panics, Update rolls back and panics again with the same value.
// Otherwise it returns:
//   - an error wrapping claim.ErrConflict and the last failure, after the
//     10th attempt failed to serialize;
//   - an error wrapping ctx.Err() if ctx is done before fn runs or while
//     Update waits to retry; a context done while a statement runs makes
//     that statement fail with an error wrapping it;
//   - "postgres store: begin: …" wrapping the cause if no connection can
//     be had (the server is down, or the pool is full until ctx is done);
//   - an error wrapping the cause if a statement of fn failed (a database
//     error or a lost connection) though fn returned nil, or COMMIT failed
//     ("postgres store: commit: …"). If the connection is lost during
//     COMMIT, whether the transaction committed is unknown.
func (s *Store) Update(ctx context.Context, fn func(claim.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres store: update: %w", err)
	}
	var last error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return fmt.Errorf("postgres store: update: waiting to retry after %w: %w", last, err)
			}
		}
		retry, err := s.attempt(ctx, fn, attempt > 1)
		if !retry {
			return err
		}
		last = err
	}
	return fmt.Errorf("postgres store: update: gave up after %d attempts: %w: %w", maxAttempts, claim.ErrConflict, last)
}

// attempt runs fn once in a serializable transaction. retry reports that
// the transaction failed to serialize and fn should run again; err is
// then the failure. A pessimistic attempt takes the write lock before it
// begins.
func (s *Store) attempt(ctx context.Context, fn func(claim.Tx) error, pessimistic bool) (retry bool, err error) {
	t, err := s.begin(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable}, true, pessimistic)
	if err != nil {
		return retryable(err), err
	}
	defer t.end()
	ferr := fn(t)
	t.done = true
	if t.broken != nil && retryable(t.broken) {
		return true, fmt.Errorf("postgres store: update: %w", t.broken)
	}
	if ferr != nil {
		return false, ferr
	}
	if t.broken != nil {
		return false, fmt.Errorf("postgres store: update: a statement failed: %w", t.broken)
	}
	if err := ctx.Err(); err != nil {
		// Not sent: COMMIT would fail and close the connection, and the
		// deferred rollback sets the event sequence back.
		return false, fmt.Errorf("postgres store: commit: %w", err)
	}
	if err := t.pg.Commit(ctx); err != nil {
		return retryable(err), fmt.Errorf("postgres store: commit: %w", err)
	}
	t.committed = true
	return false, nil
}

// begin acquires a connection and begins a transaction on it; if
// lockFirst, it takes the write lock first, so that the transaction's
// snapshot is taken after every earlier writer has ended.
func (s *Store) begin(ctx context.Context, opts pgx.TxOptions, writable, lockFirst bool) (*tx, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres store: begin: %w", err)
	}
	t := &tx{ctx: ctx, conn: c, writable: writable}
	if lockFirst {
		t.writeLock = true // see lockWrites
		if err := c.QueryRow(ctx, queryLockWrites, writeLockClass).Scan(&t.nextSeq); err != nil {
			t.end()
			return nil, fmt.Errorf("postgres store: begin: lock: %w", err)
		}
	}
	if t.pg, err = c.BeginTx(ctx, opts); err != nil {
		t.end()
		return nil, fmt.Errorf("postgres store: begin: %w", err)
	}
	return t, nil
}

// end finishes t: it rolls back unless t committed, releases the write
// lock (setting the event sequence back if t did not commit), and returns
// the connection to the pool, closing it if any of that failed, so that
// the server drops whatever the session still held. It runs deferred, so
// also when fn panics or calls runtime.Goexit.
func (t *tx) end() {
	t.done = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), cleanupTimeout)
	defer cancel()
	ok := true
	if t.pg != nil && !t.committed {
		if err := t.pg.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
			ok = false
		}
	}
	if ok && t.writeLock {
		ok = t.releaseWriteLock(ctx) == nil
	}
	if !ok {
		_ = t.conn.Conn().Close(ctx)
	}
	t.conn.Release()
}

// retryable reports whether err is a serialization failure or a deadlock,
// after which the transaction may succeed if run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == codeSerializationFailure || pgErr.Code == codeDeadlockDetected
}

// backoff returns the wait before the given attempt (2 or more).
func backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt-2 < 16 {
		d = min(backoffBase<<(attempt-2), backoffMax)
	}
	return d/2 + rand.N(d/2)
}

// sleep waits for d or until ctx is done, returning ctx.Err() then.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
