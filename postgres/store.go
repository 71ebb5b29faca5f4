package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
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
	// cleanupTimeout bounds the rollback after a transaction, which runs
	// even when the caller's context is done.
	cleanupTimeout = 10 * time.Second
	// commitTimeout bounds the wait for the answer to COMMIT, which runs
	// even when the caller's context is done: past it the outcome is
	// unknown.
	commitTimeout = 30 * time.Second
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
	listener  *listener    // WithListener; nil: none (listener.go)
	// undescribed: the pool's connections send statements without
	// learning their parameters' types (describesNot).
	undescribed bool
}

// Open connects to the database named by dsn (a PostgreSQL URL or
// keyword/value string, as pgxpool.ParseConfig reads it) with a pool of
// its own, checks that the server answers, and returns the store. The
// schema is the first one of the connection's search_path, which the DSN
// may set, as a runtime parameter (search_path=myschema) or in options
// (options=-csearch_path%3Dmyschema). Open does not migrate: call
// Migrate. Close closes the pool. Options (WithLogger, WithListener)
// configure the store.
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
	s := New(pool, opts...)
	s.owned = true
	return s, nil
}

// New returns a store on pool, which the caller owns: Close does not
// close it. The pool's connections must all have the same search_path;
// the store works in the first schema of it. Options (WithLogger,
// WithListener) configure the store.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	return (&Store{pool: pool, undescribed: describesNot(pool.Config().ConnConfig)}).with(opts)
}

// Close stops the listener (WithListener) and closes its connection, then
// closes the pool if Open made it, waiting for connections in use to be
// returned; it leaves the pool of a store from New open. It is safe to
// call more than once. The store must not be used after Close.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		if s.listener != nil {
			s.listener.close()
		}
		if s.owned {
			s.pool.Close()
		}
	})
}

// View runs fn in a read-only transaction on one snapshot of the
// database: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY, sent with
// fn's first read. fn sees every transaction that committed before its
// first read and nothing later, and never waits for a writer or makes one
// fail. Writes through the Tx return an error without reaching the
// database.
//
// View returns fn's error if it returns one. Otherwise it returns an error
// wrapping the cause if ctx is done before fn runs, no connection can be
// had before ctx is done ("postgres store: begin: …"), or a statement of
// fn failed (a database or connection error) even though fn returned nil.
func (s *Store) View(ctx context.Context, fn func(claim.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres store: view: %w", err)
	}
	t, err := s.begin(ctx, beginView, false)
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
	if !t.begun {
		return nil
	}
	if err := t.send(ctx, func(b *pgx.Batch) { queue(b, "COMMIT") }); err != nil {
		return fmt.Errorf("postgres store: view: commit: %w", err)
	}
	t.committed = true
	return nil
}

// errLostBeforeCommit: the connection was gone before COMMIT was sent.
var errLostBeforeCommit = errors.New("connection lost before COMMIT was sent")

// The statements that begin a transaction.
const (
	beginView   = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`
	beginUpdate = `BEGIN ISOLATION LEVEL READ COMMITTED`
)

var _ claim.ParallelStore = (*Store)(nil)

// ParallelUpdates reports true: an Update locks the rows and keys it
// reads and writes, not the store, so Updates on different users run
// side by side, and ImportClaims overlaps its batches
// (claim.ParallelStore; see "Concurrency" in the package documentation).
func (s *Store) ParallelUpdates() bool { return true }

// Update runs fn in a read-write transaction at isolation level READ
// COMMITTED that locks what fn reads until it ends (see the package
// documentation, "Concurrency"), so that concurrent Updates, in this
// process or another, have the outcome of running them one at a time in
// the order they commit (Q1, Q2). BEGIN travels
// with fn's first statement, and the writes fn defers, its events and
// COMMIT travel together at the end (see the package documentation).
//
// Update runs fn again, after a randomized, exponentially growing wait
// (2ms at first, at most 200ms), up to 10 times in all, when the attempt
// failed in a way that committed nothing and may pass if tried again:
// PostgreSQL found it in a deadlock (40P01) or could not serialize it
// (40001), at any statement or at COMMIT, even if
// fn swallowed the error; or the connection failed, or the server ended
// the session (SQLSTATE class 08, 57P01 to 57P03), or no connection could
// be had, before COMMIT was sent. Each retry is logged at Debug level
// through the logger of claim.ContextLogger(ctx), with its SQLSTATE. fn
// must have no effect outside the transaction.
//
// Update returns nil when the transaction committed, and no error but
// one wrapping claim.ErrOutcomeUnknown for a transaction that committed.
// It returns fn's error, after rolling back, when fn returns one (and
// the attempt is not retried as above). If fn panics, Update rolls back
// and panics again with the same value. Otherwise it returns:
//   - an error wrapping claim.ErrConflict and the last failure, after the
//     10th attempt failed;
//   - an error wrapping ctx.Err() if ctx is done before fn runs, while
//     Update waits to retry, or when fn returns: COMMIT is not sent, and
//     nothing is committed; a context done while a statement runs makes
//     that statement fail with an error wrapping it;
//   - an error wrapping the cause if a statement of fn failed (a database
//     error) though fn returned nil, or COMMIT failed ("postgres store:
//     commit: …"); nothing is committed;
//   - an error wrapping claim.ErrOutcomeUnknown if the connection was
//     lost, or the commit timeout passed, after COMMIT was sent and before
//     its answer came: the transaction may or may not have committed.
//     Once sent, COMMIT is awaited whatever ctx does, for up to
//     commitTimeout.
func (s *Store) Update(ctx context.Context, fn func(claim.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres store: update: %w", err)
	}
	var last error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			logRetry(ctx, attempt, last)
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return fmt.Errorf("postgres store: update: waiting to retry after %w: %w", last, err)
			}
		}
		retry, err := s.attempt(ctx, fn)
		if !retry {
			return err
		}
		last = err
	}
	return fmt.Errorf("postgres store: update: gave up after %d attempts: %w: %w", maxAttempts, claim.ErrConflict, last)
}

// logRetry logs, at Debug level, that Update runs fn again after err.
func logRetry(ctx context.Context, attempt int, err error) {
	l := claim.ContextLogger(ctx)
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	code := ""
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code = pgErr.Code
	}
	l.LogAttrs(ctx, slog.LevelDebug, "postgres store: transaction retried",
		slog.Int("attempt", attempt), slog.String("sqlstate", code), slog.String("error", err.Error()))
}

// attempt runs fn once in a transaction. retry reports that
// the attempt committed nothing and fn should run again; err is then the
// failure.
func (s *Store) attempt(ctx context.Context, fn func(claim.Tx) error) (retry bool, err error) {
	t, err := s.begin(ctx, beginUpdate, true)
	if err != nil {
		var connectErr *pgconn.ConnectError
		return errors.As(err, &connectErr) && ctx.Err() == nil, err
	}
	defer t.end()
	ferr := fn(t)
	t.done = true
	if t.broken != nil && t.retryable(ctx, t.broken) {
		return true, fmt.Errorf("postgres store: update: %w", t.broken)
	}
	if ferr != nil {
		return false, ferr
	}
	if t.broken != nil {
		return false, fmt.Errorf("postgres store: update: a statement failed: %w", t.broken)
	}
	if err := ctx.Err(); err != nil {
		// Not sent: the deferred rollback ends the transaction.
		return false, fmt.Errorf("postgres store: commit: %w", err)
	}
	return t.commit(ctx)
}

// commit sends the transaction's deferred writes, its events and COMMIT
// in one batch, and awaits the answer whatever ctx does, for up to
// commitTimeout. See Update for what it returns.
func (t *tx) commit(ctx context.Context) (retry bool, err error) {
	if !t.begun && len(t.pending) == 0 && t.events.n == 0 {
		t.committed = true // nothing was read or written
		return false, nil
	}
	effects := t.wrote || len(t.pending) > 0 || t.events.n > 0
	if t.conn.Conn().IsClosed() {
		// Lost before COMMIT could be sent: nothing is committed.
		return ctx.Err() == nil, fmt.Errorf("postgres store: commit: %w", errLostBeforeCommit)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	committed := false
	t.locks.events = t.events.n > 0
	err = t.send(cctx, func(b *pgx.Batch) {
		if t.events.n > 0 {
			t.events.queue(b)
		}
		b.Queue("COMMIT").Exec(func(pgconn.CommandTag) error { committed = true; return nil })
		if t.events.n > 0 {
			// After COMMIT, in a transaction of its own (listener.go).
			queue(b, queryNotifyEvents)
		}
	})
	if committed {
		t.committed = true
		if err != nil {
			// Followers that listen wake at their next poll (see
			// claim.EventNotifier); the transaction committed.
			claim.ContextLogger(ctx).LogAttrs(ctx, slog.LevelWarn, "postgres store: committed, but could not notify followers",
				slog.String("error", err.Error()))
		}
		return false, nil
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && !t.connectionLost(err):
		// The server answered: a statement or COMMIT failed, and the
		// transaction rolled back.
		err = t.fail("commit", err)
		return retryable(err), err
	case !effects:
		// Nothing to commit: whatever happened, nothing did.
		return ctx.Err() == nil, fmt.Errorf("postgres store: commit: %w", err)
	}
	// The batch may have reached the server whole, whatever pgx says of
	// it: a connection cut as the batch is written can surface as an
	// error that calls itself safe to retry, and a server that ends the
	// session (an administrator's pg_terminate_backend, a shutdown) may
	// do so after COMMIT.
	return false, fmt.Errorf("postgres store: commit: %w: %w", claim.ErrOutcomeUnknown, err)
}

// begin acquires a connection for a transaction that begin begins with
// its first batch.
func (s *Store) begin(ctx context.Context, begin string, writable bool) (*tx, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres store: begin: %w", err)
	}
	return &tx{ctx: ctx, pool: s.pool, conn: c, writable: writable, begin: begin, undescribed: s.undescribed}, nil
}

// end finishes t: it rolls back unless t committed or never began, and
// returns the connection to the pool, closing it if the rollback failed,
// so that the server drops whatever the session still held. It runs
// deferred, so also when fn panics or calls runtime.Goexit.
func (t *tx) end() {
	t.done = true
	if t.begun && !t.committed {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), cleanupTimeout)
		defer cancel()
		if _, err := t.conn.Exec(ctx, "ROLLBACK"); err != nil {
			_ = t.conn.Conn().Close(ctx)
		}
	}
	t.conn.Release()
}

// retryable reports whether err, which broke t, leaves nothing committed
// and may pass if the transaction runs again: a serialization failure, a
// deadlock, or a lost connection while ctx is not done.
func (t *tx) retryable(ctx context.Context, err error) bool {
	return retryable(err) || t.connectionLost(err) && ctx.Err() == nil
}

// connectionLost reports whether err, from a statement of t, means that
// the session is gone: the connection closed without an answer from the
// server, or the server ended the session (SQLSTATE class 08, or 57P01 to
// 57P03: an administrator or a shutdown terminated it).
func (t *tx) connectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return t.conn.Conn().IsClosed()
	}
	switch pgErr.Code {
	case "57P01", "57P02", "57P03":
		return true
	}
	return strings.HasPrefix(pgErr.Code, "08")
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
	return expBackoff(backoffBase, backoffMax, attempt-1)
}

// expBackoff returns the wait after n failures in a row (1 or more): base
// doubled n-1 times, at most hi, less up to half at random (jitter).
func expBackoff(base, hi time.Duration, n int) time.Duration {
	d := hi
	if n-1 < 16 {
		d = min(base<<(n-1), hi)
	}
	return jitter(d)
}

// jitter draws a wait from [d/2, d), so that clients that failed together
// do not try again together.
func jitter(d time.Duration) time.Duration {
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
