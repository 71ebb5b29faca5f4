package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/internal/wake"
)

var _ claim.EventNotifier = (*Store)(nil)

// The notification of committed events.
//
// A writer whose transaction appended events sends queryNotifyEvents in
// the batch that commits, right after COMMIT: it runs in a transaction of
// its own, which writes no data. NOTIFY inside the writer's transaction
// would take PostgreSQL's notification lock, one for the whole server, at
// commit and hold it while the commit is flushed, making every committing
// writer wait for the others. A failed COMMIT skips it: nothing is
// notified that did not commit.
//
// The channel is named after the OID of the store's schema, so that
// stores in two schemas of one database do not wake each other's
// followers; the listener learns the name from the store's pool, so its
// own connection's search_path does not matter.
const (
	channelExpr       = `'claim_events_' || (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`
	queryChannel      = `SELECT ` + channelExpr
	queryNotifyEvents = `SELECT pg_notify(` + channelExpr + `, '')`
)

// Timing of the listener.
const (
	// listenerCheck is how long the listener waits for a notification
	// before it pings its connection, to notice a connection that died
	// without a word (a network partition).
	listenerCheck = 30 * time.Second
	// listenerBackoffBase and listenerBackoffMax bound the wait before
	// the listener connects again after a failure; it doubles with each
	// failure in a row and is drawn from [d/2, d).
	listenerBackoffBase = 100 * time.Millisecond
	listenerBackoffMax  = 10 * time.Second
	// listenerCloseTimeout bounds the close of the listener's connection.
	listenerCloseTimeout = 5 * time.Second
)

// WithListener makes the store wake followers (claim.Service.WaitEvents
// and Follow) when events commit, by LISTEN on a connection of its own
// to dsn (a PostgreSQL URL or keyword/value string, as pgx.ParseConfig
// reads it). It is WithListenerConn with pgx.Connect.
//
// LISTEN is session state, which a pooler in transaction mode
// (PgBouncer) silently loses between transactions: dsn must reach the
// server directly, even when the store's pool goes through a pooler. The
// listener's connection may be of any role that can connect to the
// database; its search_path does not matter.
func WithListener(dsn string) Option {
	return WithListenerConn(func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.Connect(ctx, dsn)
	})
}

// WithListenerConn is WithListener with a function that opens the
// listener's connection, for settings a DSN cannot carry (TLS, a dialer,
// a tracer). The connection must reach the server directly, not through a
// pooler in transaction mode; the store owns it and closes it.
//
// The store connects when it is made (Open, New) and LISTENs on the
// channel of its schema. While it listens, EventsCommitted returns a
// channel closed by the next notification, so followers wake within a
// round trip of a commit. When the connection fails, the store closes the
// channel, so that followers read the log again, returns nil from
// EventsCommitted, so that followers poll (claim.WithFollowPoll), logs
// the failure (Warn) and connects again after a wait that doubles from
// 100ms to 10s, less up to half at random; followers take its channel again at their next poll.
// Close stops it and closes the connection.
func WithListenerConn(connect func(context.Context) (*pgx.Conn, error)) Option {
	return func(s *Store) { s.listener = &listener{connect: connect} }
}

// EventsCommitted implements claim.EventNotifier: it returns a channel
// closed at the latest when a transaction that appended events commits
// after the call, in this process or another, or nil when the store has
// no listener connection (see WithListenerConn), which leaves followers
// to poll. A follower takes the channel before it reads the log.
func (s *Store) EventsCommitted() <-chan struct{} {
	if s.listener == nil {
		return nil
	}
	return s.listener.committed()
}

// listener keeps the store's LISTEN session.
type listener struct {
	connect func(context.Context) (*pgx.Conn, error)
	// channel is the name of the store's channel, learnt from the pool
	// by the first session that could ask and kept: the store's schema
	// does not change. Only run's goroutine uses it.
	channel string

	mu sync.Mutex
	// live: LISTEN is in effect on the session. Guarded by mu.
	live bool
	// pid is the server process of the session while live (for tests).
	// Guarded by mu.
	pid uint32
	// woken is closed by each notification, and each change of live.
	woken wake.Signal

	stop context.CancelFunc
	done chan struct{} // closed when run has returned
}

// committed returns the channel of EventsCommitted, or nil while the
// listener does not listen.
func (l *listener) committed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.live {
		return nil
	}
	return l.woken.Chan()
}

// setLive records whether LISTEN is in effect, on the session of process
// pid, and wakes the followers that wait on the channel: when the session
// is lost, they read the log and, finding EventsCommitted nil, poll until
// the listener listens again.
func (l *listener) setLive(live bool, pid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live, l.pid = live, pid
	l.woken.Broadcast()
}

// start runs the listener until stopped.
func (l *listener) start(s *Store) {
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	l.done = make(chan struct{})
	go l.run(ctx, s)
}

// close stops the listener and waits for it to close its connection.
func (l *listener) close() {
	l.stop()
	<-l.done
}

// run keeps a session that LISTENs, connecting again after a failure.
func (l *listener) run(ctx context.Context, s *Store) {
	defer close(l.done)
	failures := 0
	for {
		listened, err := l.session(ctx, s)
		if ctx.Err() != nil {
			return
		}
		if listened {
			failures = 0
		}
		failures++
		wait := listenerBackoff(failures)
		s.logger().LogAttrs(ctx, slog.LevelWarn, "postgres store: event listener failed; connecting again",
			slog.String("error", err.Error()), slog.Int("failures", failures), slog.Duration("wait", wait))
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// listenerBackoff returns the wait after the given number of failures in
// a row (1 or more).
func listenerBackoff(failures int) time.Duration {
	return expBackoff(listenerBackoffBase, listenerBackoffMax, failures)
}

// session connects, LISTENs and wakes followers at each notification
// until the connection fails or ctx ends. listened reports that LISTEN
// took effect.
func (l *listener) session(ctx context.Context, s *Store) (listened bool, err error) {
	if l.channel == "" {
		var channel string
		if err := s.pool.QueryRow(ctx, queryChannel).Scan(&channel); err != nil {
			return false, fmt.Errorf("naming the channel: %w", err)
		}
		l.channel = channel
	}
	channel := l.channel
	conn, err := l.connect(ctx)
	if err != nil {
		return false, fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listenerCloseTimeout)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("LISTEN %s: %w", channel, err)
	}
	l.setLive(true, conn.PgConn().PID())
	defer l.setLive(false, 0)
	s.logger().LogAttrs(ctx, slog.LevelDebug, "postgres store: event listener listening",
		slog.String("channel", channel), slog.Int("pid", int(conn.PgConn().PID())))
	for {
		wctx, cancel := context.WithTimeout(ctx, listenerCheck)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.woken.Broadcast()
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while: check that the session is still there.
			if err := conn.Ping(ctx); err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("waiting for a notification: %w", err)
		}
	}
}
