package claim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"
)

// Leaser is an optional capability of a Store: named leases, which
// RunSweeper takes so that one sweeper of a store is active at a time,
// across every process that shares the store (P3). The memory store and
// the PostgreSQL store implement it.
//
// A lease has a name, a holder and an expiry, all kept by the store and
// timed by the store's clock: the memory store's time.Now (the process's
// monotonic clock; inside a testing/synctest bubble, the bubble's fake
// time) and, for PostgreSQL, the database server's, so that processes
// whose clocks disagree still agree on the lease. The Service's Clock,
// which may be a fake that does not move, plays no part. RunSweeper
// passes names and holders within the limits of identifiers (N3).
type Leaser interface {
	// AcquireLease takes the lease name for holder until ttl after the
	// store's now, if no one holds it or its expiry is past; renews it
	// until ttl after now if holder holds it (even past its expiry);
	// and otherwise leaves it to its holder. It reports whether holder
	// holds the lease when it returns. The store's now is taken after
	// the call begins, so a caller that times ttl from just before the
	// call sees its lease end no later than the store does. It returns
	// an error wrapping ErrInvalidValue if name or holder is empty or
	// ttl is not positive, and one wrapping ctx.Err() if ctx is done
	// before the store answers.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease ends holder's lease name at once, so that another
	// holder may take it; it does nothing when holder does not hold it.
	// It returns an error wrapping ErrInvalidValue if name or holder is
	// empty, and one wrapping ctx.Err() if ctx is done before the store
	// answers.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// DefaultSweeperLease is the name of the lease of SweeperOptions.Lease
// when it is empty.
const DefaultSweeperLease = "claim.sweep"

// MinSweepInterval is the shortest SweeperOptions.Interval.
const MinSweepInterval = time.Millisecond

// SweeperOptions configures RunSweeper.
type SweeperOptions struct {
	// Interval is the time from the start of one sweep to the start of
	// the next; at least MinSweepInterval. A minute suits most services:
	// reads do not wait for a sweep (X1), so it bounds only how long
	// purged users' addresses stay taken and resolved claims stay
	// unrecorded.
	Interval time.Duration
	// Lease names the lease the sweepers take (default
	// DefaultSweeperLease). Sweepers of one store with the same lease
	// exclude each other; an identifier (N3).
	Lease string
	// Holder names this sweeper in the lease, and must differ between the
	// sweepers of a store: two with the same Holder would both hold it.
	// Empty: the host name (its first 64 bytes), the process ID and a
	// random suffix, as "host/1234/9f86d081". An
	// identifier (N3): at most MaxIDBytes bytes, no control characters.
	Holder string
	// OnSweep, if set, is called after each sweep with Sweep's report
	// and error, in the sweeper's goroutine: a slow OnSweep delays the
	// sweeper's next renewal of its lease, so it must return within a
	// few hundredths of Interval. A sweep that the sweeper stopped
	// (its context ended, or it lost the lease) is reported with an error
	// wrapping context.Canceled.
	OnSweep func(SweepReport, error)
	// OnLease, if set, is called with true when this sweeper takes the
	// lease (and is about to sweep), and with false when it has stopped
	// holding it (lost, or about to be released when the sweeper stops),
	// after its last sweep has returned, in the sweeper's goroutine.
	OnLease func(held bool)
}

// check fills in o's defaults and refuses what is outside the limits.
func (o SweeperOptions) check() (SweeperOptions, error) {
	if o.Interval < MinSweepInterval {
		return o, invalid(ErrInvalidValue, "SweeperOptions.Interval", o.Interval, fmt.Sprintf("must be at least %v", MinSweepInterval))
	}
	if o.Lease == "" {
		o.Lease = DefaultSweeperLease
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		host, _ = bounded(host)
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Holder = host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
	}
	if err := checkID(ErrInvalidValue, "SweeperOptions.Lease", o.Lease, true); err != nil {
		return o, err
	}
	if err := checkID(ErrInvalidValue, "SweeperOptions.Holder", o.Holder, true); err != nil {
		return o, err
	}
	return o, nil
}

// RunSweeper runs Sweep every Interval until ctx ends, on one sweeper
// of the store at a time, across processes (P3): each sweeper takes a
// lease of the store (Leaser) before it sweeps, and only its holder
// sweeps. Run one in every replica of a service; if the active one dies,
// another takes over within one Interval.
//
// With I the Interval, the lease lasts I/2 (its TTL); its holder renews
// it every I/6, also while a sweep runs, and the others try to take it
// every I/4. So:
//
//   - The holder sweeps when it takes the lease and then every I after
//     the start of its previous sweep (at once when a sweep took longer
//     than I). The other sweepers do not sweep.
//   - The holder times its lease from just before each renewal that
//     succeeded, and the store from a moment later, so the holder stops
//     counting on the lease before the store would let another take it.
//     A renewal that fails (a store error) is tried again I/6 later: two
//     in a row may fail. When the lease may have run out (I/2 after the
//     last renewal that succeeded), or a renewal finds another holder,
//     the sweeper stops its sweep (the sweep returns between batches, or
//     sooner, with an error wrapping context.Canceled), logs the loss,
//     and tries again to take the lease like any other sweeper. A renewal
//     waits for the store no longer than the lease may last.
//   - A holder that dies (killed, or cut off from the store) last renewed
//     at or before its death, so its lease runs out at most I/2 after it;
//     the others try every I/4, so one of them holds the lease, and
//     sweeps, at most 3I/4 after the death (plus the time a try takes):
//     within one Interval while the store answers in less than I/4.
//   - When ctx ends, the sweeper stops its sweep, lets a lease call in
//     flight finish (a call cut off mid-way might reach the store after
//     the release and take the lease again), and releases the lease
//     (ReleaseLease, given up to I/2; called even when it does not hold
//     it, which does nothing), so another takes over at its next try,
//     within I/4.
//
// The lease keeps sweepers from sweeping at once in the ordinary course;
// it does not need to be perfect, because Sweep stays correct when two
// run at once (P1): a process frozen past its lease (a long pause of the
// whole process) may finish a batch after another has taken over, and
// nothing is resolved or purged twice.
//
// Logging, through the Service's logger (WithLogger), with the lease and
// holder as attributes: taking, losing and releasing the lease at Info;
// a failed try or renewal at Warn; each sweep as Sweep logs it, with
// the same attributes.
//
// RunSweeper returns nil once ctx has ended and the lease is released
// (a failed release is logged, and the lease then runs out by itself).
// It returns at once with an *InputError wrapping ErrInvalidValue for
// options outside their limits (naming the field, e.g.
// "SweeperOptions.Interval"), and with an error wrapping
// errors.ErrUnsupported if the store is not a Leaser. Errors do not stop
// it: a sweep's error is logged and passed to OnSweep, and the next sweep
// comes at the next interval; a lease call's error is logged, and the
// call is tried again as above.
//
// Time: the sweeper's periods are timers of the process, and the lease is
// timed by the store's clock (see Leaser); the Service's Clock, which
// decides the rules and may be a fake that does not move, plays no part,
// so a service with a fake clock still hands its lease over. Inside a
// testing/synctest bubble, on the memory store, both follow the bubble's
// fake time, which is how the package's tests check the periods above
// to the nanosecond.
func (s *Service) RunSweeper(ctx context.Context, o SweeperOptions) error {
	o, err := o.check()
	if err != nil {
		return err
	}
	l, ok := s.store.(Leaser)
	if !ok {
		return fmt.Errorf("claim: RunSweeper: the store (%T) keeps no leases (claim.Leaser): %w", s.store, errors.ErrUnsupported)
	}
	w := &sweeper{
		s: s, l: l, o: o,
		ttl: o.Interval / 2, renew: o.Interval / 6, poll: o.Interval / 4,
		log: s.log.With(slog.String("lease", o.Lease), slog.String("holder", o.Holder)),
	}
	w.run(ctx)
	return nil
}

// sweeper is the state of one RunSweeper.
type sweeper struct {
	s                *Service
	l                Leaser
	o                SweeperOptions
	ttl, renew, poll time.Duration
	log              *slog.Logger
	held             bool      // the store granted the lease, and until has not passed
	until            time.Time // when held: when the lease may run out (local time)
	leaseAt, sweepAt time.Time // the next try or renewal; when held, the next sweep
	sweep            *sweepRun // the sweep running, or nil
}

// sweepRun is a sweep in its goroutine.
type sweepRun struct {
	cancel context.CancelFunc
	done   chan sweepResult
}

// sweepResult is what a sweep returned.
type sweepResult struct {
	rep SweepReport
	err error
}

// run is RunSweeper's loop, until ctx ends.
func (w *sweeper) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var done chan sweepResult
		if w.sweep != nil {
			done = w.sweep.done
		}
		select {
		case <-ctx.Done():
			w.stop(ctx)
			return
		case res := <-done:
			w.sweep = nil
			w.report(res)
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(w.leaseAt) {
			w.try(ctx, now)
		}
		if now = time.Now(); w.held && w.sweep == nil && !now.Before(w.sweepAt) {
			w.start(ctx, now)
		}
		wake := w.leaseAt
		if w.held && w.sweep == nil && w.sweepAt.Before(wake) {
			wake = w.sweepAt
		}
		timer.Reset(time.Until(wake))
	}
}

// try takes or renews the lease, at now.
func (w *sweeper) try(ctx context.Context, now time.Time) {
	// A renewal may take until the lease may run out; past that (or
	// when it is already past) it fails, and the lease is lost.
	deadline := now.Add(w.ttl)
	if w.held {
		deadline = w.until
	}
	// The call is not cut short when ctx ends: a statement abandoned
	// in flight may still reach the store after stop's release and take
	// the lease again, for a whole ttl. Its deadline bounds the wait.
	cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	got, err := w.l.AcquireLease(cctx, w.o.Lease, w.o.Holder, w.ttl)
	cancel()
	switch {
	case ctx.Err() != nil: // stopping: stop releases the lease whatever this call did
	case err != nil:
		w.log.LogAttrs(ctx, slog.LevelWarn, "claim: sweeper lease call failed", slog.Bool("held", w.held), slog.Any("error", err))
		if w.held && !time.Now().Before(w.until) {
			w.lose("its renewals failed until it could have run out")
		}
	case got:
		if !w.held {
			w.held = true
			w.sweepAt = now
			w.log.LogAttrs(ctx, slog.LevelInfo, "claim: sweeper lease acquired", slog.Duration("interval", w.o.Interval), slog.Duration("ttl", w.ttl))
			if w.o.OnLease != nil {
				w.o.OnLease(true)
			}
		}
		w.until = now.Add(w.ttl)
	case w.held:
		w.lose("another holder has it")
	}
	w.leaseAt = now.Add(w.poll)
	if w.held {
		w.leaseAt = now.Add(w.renew)
	}
}

// start starts a sweep, at now.
func (w *sweeper) start(ctx context.Context, now time.Time) {
	sctx, cancel := context.WithCancel(ctx)
	run := &sweepRun{cancel: cancel, done: make(chan sweepResult, 1)}
	go func() {
		rep, err := w.s.sweep(sctx, w.log)
		run.done <- sweepResult{rep, err}
	}()
	w.sweep = run
	w.sweepAt = now.Add(w.o.Interval)
}

// finish stops the running sweep, if any, waits for it and reports it.
func (w *sweeper) finish() {
	if w.sweep == nil {
		return
	}
	w.sweep.cancel()
	res := <-w.sweep.done
	w.sweep = nil
	w.report(res)
}

// report hands a sweep's outcome to OnSweep.
func (w *sweeper) report(res sweepResult) {
	if w.o.OnSweep != nil {
		w.o.OnSweep(res.rep, res.err)
	}
}

// letGo stops the sweep and, if the sweeper held the lease, counts it
// as no longer held and tells OnLease; it reports whether it was held.
func (w *sweeper) letGo() bool {
	w.finish()
	held := w.held
	if held {
		w.held = false
		if w.o.OnLease != nil {
			w.o.OnLease(false)
		}
	}
	return held
}

// lose stops sweeping: the lease is no longer this sweeper's.
func (w *sweeper) lose(why string) {
	w.letGo()
	w.log.LogAttrs(context.Background(), slog.LevelInfo, "claim: sweeper lease lost", slog.String("reason", why))
}

// stop ends the sweeper when ctx has ended: it stops the sweep and
// releases the lease. It releases it even when it does not hold it (the
// store then does nothing), because a try that ended as ctx did may have
// taken it.
func (w *sweeper) stop(ctx context.Context) {
	held := w.letGo()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.ttl)
	defer cancel()
	if err := w.l.ReleaseLease(rctx, w.o.Lease, w.o.Holder); err != nil {
		w.log.LogAttrs(ctx, slog.LevelWarn, "claim: sweeper lease release failed", slog.Any("error", err))
		return
	}
	if held {
		w.log.LogAttrs(ctx, slog.LevelInfo, "claim: sweeper lease released")
	}
}
