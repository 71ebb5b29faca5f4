package claim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

// sweepInterval is the interval of the synctest sweepers: with it the
// lease lasts 30s, is renewed every 10s and tried every 15s.
const sweepInterval = time.Minute

// sweepLog records what the sweepers of a test did, by fake time since
// the bubble's start.
type sweepLog struct {
	mu     sync.Mutex
	start  time.Time
	sweeps []sweepAt
	leases []leaseAt
}

// sweepAt is a sweep a sweeper reported.
type sweepAt struct {
	Who string
	At  time.Duration
	Err string // "", "canceled" for an error wrapping context.Canceled, or "error"
}

// errKind is sweepAt.Err of err.
func errKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

// leaseAt is a sweeper taking (Held) or leaving the lease.
type leaseAt struct {
	Who  string
	At   time.Duration
	Held bool
}

func newSweepLog() *sweepLog { return &sweepLog{start: time.Now()} }

// options returns the options of the sweeper who, recording into l.
func (l *sweepLog) options(who string) claim.SweeperOptions {
	return claim.SweeperOptions{
		Interval: sweepInterval,
		Holder:   who,
		OnSweep: func(_ claim.SweepReport, err error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.sweeps = append(l.sweeps, sweepAt{who, time.Since(l.start), errKind(err)})
		},
		OnLease: func(held bool) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.leases = append(l.leases, leaseAt{who, time.Since(l.start), held})
		},
	}
}

// take returns the sweeps and lease changes recorded since the last take.
func (l *sweepLog) take() ([]sweepAt, []leaseAt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ls := l.sweeps, l.leases
	l.sweeps, l.leases = nil, nil
	return s, ls
}

// noRelease is a store whose leases are never released, as if the
// process that held them had died before it could release them.
type noRelease struct {
	claim.Store
	claim.Leaser
}

func (noRelease) ReleaseLease(context.Context, string, string) error { return nil }

// runSweeper starts a sweeper of svc and returns the function that stops
// it and waits for RunSweeper to return nil.
func runSweeper(t *testing.T, svc *claim.Service, o claim.SweeperOptions) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.RunSweeper(ctx, o) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSweeper(%s) = %v, want nil", o.Holder, err)
		}
	}
}

// mustService returns a service on store with the default clock (inside
// a bubble, the bubble's time) and the options.
func mustService(t *testing.T, store claim.Store, opts ...claim.Option) *claim.Service {
	t.Helper()
	svc, err := claim.New(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// every returns the sweeps of who at from, from+step, … up to to.
func every(who string, from, step, to time.Duration) []sweepAt {
	var s []sweepAt
	for at := from; at <= to; at += step {
		s = append(s, sweepAt{Who: who, At: at})
	}
	return s
}

// TestSweeperTakeover runs three sweepers on one memory store in a
// synctest bubble (P3), where time moves only when every goroutine
// waits, so the schedule is exact:
//
//   - a sweeps at once and then every minute; b and c, started after it,
//     never sweep while a holds the lease: one sweep per interval;
//   - a dies without releasing the lease at 10m05s (its last renewal at
//     10m00s, so the lease runs out at 10m30s): one of b and c takes it
//     at its first try after that, 10m45s, and sweeps at once, 40s after
//     the death, within one interval;
//   - the new holder stops cleanly 3m25s later, releasing the lease, and
//     the last sweeper takes over at its next try, 5s later; without the
//     release it could not before the lease ran out, 25s after the stop.
func TestSweeperTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := claim.NewMemoryStore()
		log := newSweepLog()
		dying := noRelease{store, store.(claim.Leaser)}
		stopA := runSweeper(t, mustService(t, dying), log.options("a"))
		synctest.Wait()
		stops := map[string]func(){
			"b": runSweeper(t, mustService(t, store), log.options("b")),
			"c": runSweeper(t, mustService(t, store), log.options("c")),
		}

		death := 10*time.Minute + 5*time.Second
		time.Sleep(death)
		stopA()
		sweeps, leases := log.take()
		if d := cmp.Diff(every("a", 0, sweepInterval, death), sweeps); d != "" {
			t.Errorf("sweeps until a dies mismatch (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]leaseAt{{"a", 0, true}, {"a", death, false}}, leases); d != "" {
			t.Errorf("lease changes until a dies mismatch (-want +got):\n%s", d)
		}

		takeover := 10*time.Minute + 45*time.Second
		stop := takeover + 3*time.Minute + 25*time.Second
		time.Sleep(stop - death)
		sweeps, leases = log.take()
		if len(leases) == 0 {
			t.Fatalf("no sweeper took the lease after a died")
		}
		b := leases[0].Who
		if d := cmp.Diff(every(b, takeover, sweepInterval, stop), sweeps); d != "" {
			t.Errorf("sweeps after a died mismatch (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]leaseAt{{b, takeover, true}}, leases); d != "" {
			t.Errorf("lease changes after a died mismatch (-want +got):\n%s", d)
		}
		stops[b]()
		c := map[string]string{"b": "c", "c": "b"}[b]

		handover := stop + 5*time.Second
		end := handover + 2*sweepInterval + 5*time.Second
		time.Sleep(end - stop)
		stops[c]()
		sweeps, leases = log.take()
		if d := cmp.Diff(every(c, handover, sweepInterval, end), sweeps); d != "" {
			t.Errorf("sweeps after %s stopped mismatch (-want +got):\n%s", b, d)
		}
		want := []leaseAt{{b, stop, false}, {c, handover, true}, {c, end, false}}
		if d := cmp.Diff(want, leases); d != "" {
			t.Errorf("lease changes after %s stopped mismatch (-want +got):\n%s", b, d)
		}
	})
}

// slowStore is a store whose first slow Updates take d of fake time
// each (or until their context ends), and whose leases a test can break:
// after lost is set, AcquireLease answers that another holder has the
// lease; after failing is set, it fails; after hang is set, it answers
// only when its context ends.
type slowStore struct {
	claim.Store
	l                   claim.Leaser
	mu                  sync.Mutex
	slow                int
	d                   time.Duration
	lost, failing, hang bool
}

func (s *slowStore) set(fn func(s *slowStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *slowStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	s.mu.Lock()
	var d time.Duration
	if s.slow > 0 {
		s.slow--
		d = s.d
	}
	s.mu.Unlock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
	}
	return s.Store.Update(ctx, fn)
}

// errLeaseStore is the error of a failing slowStore's AcquireLease.
var errLeaseStore = errors.New("the lease table cannot be reached")

func (s *slowStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	lost, failing, hang := s.lost, s.failing, s.hang
	s.mu.Unlock()
	switch {
	case hang:
		<-ctx.Done()
		return false, ctx.Err()
	case failing:
		return false, errLeaseStore
	case lost:
		return false, nil
	}
	return s.l.AcquireLease(ctx, name, holder, ttl)
}

func (s *slowStore) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.l.ReleaseLease(ctx, name, holder)
}

// TestSweeperLongSweepKeepsLease: a sweep that takes two and a half
// intervals (its first Update does) keeps the lease, which its sweeper
// renews while it runs, so the other sweeper never takes it (without the
// renewals it would at 45s); the next sweep starts as soon as the long
// one returns, since it is overdue, and the others on schedule (P3).
func TestSweeperLongSweepKeepsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := claim.NewMemoryStore()
		long := 5 * sweepInterval / 2
		slow := &slowStore{Store: mem, l: mem.(claim.Leaser), slow: 1, d: long}
		log := newSweepLog()
		stopA := runSweeper(t, mustService(t, slow), log.options("a"))
		synctest.Wait()
		stopB := runSweeper(t, mustService(t, mem), log.options("b"))
		end := long + 3*sweepInterval + 5*time.Second
		time.Sleep(end)
		stopB()
		stopA()
		sweeps, leases := log.take()
		want := append([]sweepAt{{Who: "a", At: long}}, every("a", long, sweepInterval, end)...)
		if d := cmp.Diff(want, sweeps); d != "" {
			t.Errorf("sweeps mismatch (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]leaseAt{{"a", 0, true}, {"a", end, false}}, leases); d != "" {
			t.Errorf("lease changes mismatch (-want +got):\n%s", d)
		}
	})
}

// lateStore's lease calls reach the store d after they are made, as
// statements do on a slow connection: a call whose ctx ends first
// returns at once, and its statement still arrives, as one already sent
// does.
type lateStore struct {
	claim.Store
	l claim.Leaser
	d time.Duration
}

func (s lateStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	type result struct {
		got bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		time.Sleep(s.d)
		got, err := s.l.AcquireLease(context.Background(), name, holder, ttl)
		done <- result{got, err}
	}()
	select {
	case r := <-done:
		return r.got, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (s lateStore) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.l.ReleaseLease(ctx, name, holder)
}

// TestSweeperStopsAfterLeaseCall: a sweeper stopped while a lease call
// is on its way to the store (its first try, or a renewal) waits for the
// call and then releases the lease, so that no lease is left behind,
// and another sweeper may take it at once. Cut off at the stop, the
// call would reach the store after the release and take the lease again
// for the rest of its ttl, 30s.
func TestSweeperStopsAfterLeaseCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop time.Duration // when the sweeper is stopped
	}{
		{"first try", time.Second},
		{"renewal", sweepInterval/6 + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mem := claim.NewMemoryStore()
				late := lateStore{Store: mem, l: mem.(claim.Leaser), d: 2 * time.Second}
				stop := runSweeper(t, mustService(t, late), claim.SweeperOptions{Interval: sweepInterval, Holder: "a"})
				time.Sleep(tc.stop)
				stop()
				time.Sleep(late.d) // whatever is on its way has arrived
				got, err := mem.(claim.Leaser).AcquireLease(t.Context(), claim.DefaultSweeperLease, "b", time.Second)
				if err != nil || !got {
					t.Errorf("AcquireLease(b) after a stopped = %v, %v; want true (a released the lease)", got, err)
				}
			})
		})
	}
}

// logRecorder keeps the records of a logger, every level, as JSON lines.
type logRecorder struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

// logger returns a logger that records into r, without times.
func (r *logRecorder) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// take returns the records since the last take, each a map of its
// attributes (level, msg and the rest, durations in nanoseconds).
func (r *logRecorder) take(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var recs []map[string]any
	for line := range strings.Lines(r.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, m)
	}
	r.buf.Reset()
	return recs
}

// TestSweeperLostLease: when a renewal finds that another holder has the
// lease, the sweeper stops its sweep at once (the sweep returns an error
// wrapping context.Canceled), logs the loss and tries again every 15s
// like any other sweeper; it sweeps as soon as it takes the lease back.
// While the store fails, the sweeper counts on the lease until it may
// have run out (30s after the last renewal that succeeded), logging each
// failure at Warn, and then stops sweeping; a renewal that hangs is
// given up when the lease may have run out, with the same outcome.
func TestSweeperLostLease(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(s *slowStore, on bool)
		lost   time.Duration // when the sweeper stops counting on the lease
		warns  int           // failed calls logged until the store mends
	}{
		// Broken at 25s: the renewal at 30s finds another holder; tries
		// at 45s and 60s fail; the one at 75s takes the lease.
		{"taken", func(s *slowStore, on bool) { s.lost = on }, 30 * time.Second, 0},
		// Broken at 25s: renewals at 30s and 40s fail; at 50s the lease
		// (renewed at 20s) may have run out; tries at 50s and 65s fail;
		// the one at 80s takes the lease.
		{"failing", func(s *slowStore, on bool) { s.failing = on }, 50 * time.Second, 4},
		// Broken at 25s: the renewal at 30s waits until 50s, when the
		// lease may have run out; the try then waits until 80s, and the
		// next one, at once, takes the lease.
		{"hanging", func(s *slowStore, on bool) { s.hang = on }, 50 * time.Second, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mem := claim.NewMemoryStore()
				slow := &slowStore{Store: mem, l: mem.(claim.Leaser), slow: 1, d: time.Hour}
				log := newSweepLog()
				var rec logRecorder
				stop := runSweeper(t, mustService(t, slow, claim.WithLogger(rec.logger())), log.options("a"))
				time.Sleep(25 * time.Second)
				slow.set(func(s *slowStore) { tc.break_(s, true) })
				time.Sleep(tc.lost + 20*time.Second - 25*time.Second)
				slow.set(func(s *slowStore) { tc.break_(s, false) })
				back := tc.lost + 30*time.Second
				time.Sleep(back + 5*time.Second - (tc.lost + 20*time.Second))
				stop()
				sweeps, leases := log.take()
				want := []sweepAt{{"a", tc.lost, "canceled"}, {"a", back, ""}}
				if d := cmp.Diff(want, sweeps); d != "" {
					t.Errorf("sweeps mismatch (-want +got):\n%s", d)
				}
				wantLeases := []leaseAt{{"a", 0, true}, {"a", tc.lost, false}, {"a", back, true}, {"a", back + 5*time.Second, false}}
				if d := cmp.Diff(wantLeases, leases); d != "" {
					t.Errorf("lease changes mismatch (-want +got):\n%s", d)
				}
				var msgs []string
				warns := 0
				for _, r := range rec.take(t) {
					if r["level"] == "WARN" {
						warns++
						if (r["error"] != errLeaseStore.Error() && !strings.Contains(r["error"].(string), "deadline")) || r["holder"] != "a" || r["lease"] != claim.DefaultSweeperLease {
							t.Errorf("warning %v, want the store's error with the lease and holder", r)
						}
					}
					if r["level"] == "INFO" {
						msgs = append(msgs, r["msg"].(string))
					}
				}
				if warns != tc.warns {
					t.Errorf("%d warnings, want %d", warns, tc.warns)
				}
				wantMsgs := []string{"claim: sweeper lease acquired", "claim: sweep stopped", "claim: sweeper lease lost",
					"claim: sweeper lease acquired", "claim: sweeper lease released"}
				if d := cmp.Diff(wantMsgs, msgs); d != "" {
					t.Errorf("Info records mismatch (-want +got):\n%s", d)
				}
			})
		})
	}
}

// plainStore is a store without the optional capabilities.
type plainStore struct{ claim.Store }

// TestRunSweeperRefuses: options outside their limits are refused with
// an *InputError naming the field, and a store that keeps no leases with
// errors.ErrUnsupported, at once and without sweeping.
func TestRunSweeperRefuses(t *testing.T) {
	mem := claim.NewMemoryStore()
	for _, tc := range []struct {
		name  string
		store claim.Store
		o     claim.SweeperOptions
		field string // "": ErrUnsupported
	}{
		{"no interval", mem, claim.SweeperOptions{}, "SweeperOptions.Interval"},
		{"a negative interval", mem, claim.SweeperOptions{Interval: -time.Minute}, "SweeperOptions.Interval"},
		{"an interval below the least", mem, claim.SweeperOptions{Interval: claim.MinSweepInterval - 1}, "SweeperOptions.Interval"},
		{"a holder with a line break", mem, claim.SweeperOptions{Interval: time.Minute, Holder: "a\nb"}, "SweeperOptions.Holder"},
		{"a holder too long", mem, claim.SweeperOptions{Interval: time.Minute, Holder: strings.Repeat("h", claim.MaxIDBytes+1)}, "SweeperOptions.Holder"},
		{"a lease with spaces around", mem, claim.SweeperOptions{Interval: time.Minute, Lease: " sweep"}, "SweeperOptions.Lease"},
		{"a store without leases", plainStore{mem}, claim.SweeperOptions{Interval: time.Minute}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			swept := false
			tc.o.OnSweep = func(claim.SweepReport, error) { swept = true }
			err := mustService(t, tc.store).RunSweeper(t.Context(), tc.o)
			var ie *claim.InputError
			switch {
			case tc.field == "" && !errors.Is(err, errors.ErrUnsupported):
				t.Errorf("RunSweeper() = %v, want ErrUnsupported", err)
			case tc.field != "" && (!errors.As(err, &ie) || ie.Field != tc.field || !errors.Is(err, claim.ErrInvalidValue)):
				t.Errorf("RunSweeper() = %v, want an *InputError of %s wrapping ErrInvalidValue", err, tc.field)
			}
			if swept {
				t.Errorf("RunSweeper() swept")
			}
		})
	}
	// The least interval and the longest holder are accepted.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	o := claim.SweeperOptions{Interval: claim.MinSweepInterval, Holder: strings.Repeat("h", claim.MaxIDBytes)}
	if err := mustService(t, mem).RunSweeper(ctx, o); err != nil {
		t.Errorf("RunSweeper(%+v) = %v, want nil", o, err)
	}
}

// TestSweeperLogs captures the records of a sweeper's life on a store
// with a delayed claim past its deadline (P3): the lease taken, the
// first sweep (started at Debug; done at Info with expired 1, purged 0
// and the time it took), the second, which finds nothing, done at Debug,
// and the lease released, each record naming the lease and the holder
// and none above Debug naming an address.
func TestSweeperLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		var rec logRecorder
		svc, clock, ann := sweepWorld(ctx, claim.WithLogger(rec.logger()))
		if _, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, claim.ClaimOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(15 * 24 * time.Hour)
		rec.take(t)
		stop := runSweeper(t, svc, claim.SweeperOptions{Interval: time.Minute, Holder: "replica-1"})
		time.Sleep(90 * time.Second)
		stop()
		var got []map[string]any
		for _, r := range rec.take(t) {
			if r["level"] != "DEBUG" {
				if s := fmt.Sprint(r); strings.Contains(s, "@") {
					t.Errorf("record %s names an address above Debug", s)
				}
			}
			if r["lease"] != claim.DefaultSweeperLease || r["holder"] != "replica-1" {
				t.Errorf("record %v, want lease %s and holder replica-1", r, claim.DefaultSweeperLease)
			}
			delete(r, "lease")
			delete(r, "holder")
			got = append(got, r)
		}
		// Sweeps take no time in the bubble; the lease lasts half the
		// interval.
		want := []map[string]any{
			{"level": "INFO", "msg": "claim: sweeper lease acquired", "interval": float64(time.Minute), "ttl": float64(30 * time.Second)},
			{"level": "DEBUG", "msg": "claim: sweep started"},
			{"level": "DEBUG", "msg": "claim: sweep batch", "count": float64(1)},
			{"level": "INFO", "msg": "claim: sweep done", "expired": float64(1), "purged": float64(0), "took": float64(0)},
			{"level": "DEBUG", "msg": "claim: sweep started"},
			{"level": "DEBUG", "msg": "claim: sweep done", "expired": float64(0), "purged": float64(0), "took": float64(0)},
			{"level": "INFO", "msg": "claim: sweeper lease released"},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("records mismatch (-want +got):\n%s", d)
		}
	})
}

// failingStore is a store whose Updates fail.
type failingStore struct {
	claim.Store
	claim.Leaser
}

// errUpdate is the error of a failingStore's Update.
var errUpdate = errors.New("the disk is full")

func (failingStore) Update(context.Context, func(claim.Tx) error) error { return errUpdate }

// TestSweeperSweepFails: a sweep that fails is handed to OnSweep with its
// error and logged at Error, and the sweeper keeps its lease and sweeps
// again at the next interval. A sweeper given no Holder names itself
// after the host and the process.
func TestSweeperSweepFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := claim.NewMemoryStore()
		var rec logRecorder
		svc := mustService(t, failingStore{mem, mem.(claim.Leaser)}, claim.WithLogger(rec.logger()))
		var errs []error
		stop := runSweeper(t, svc, claim.SweeperOptions{Interval: time.Minute,
			OnSweep: func(_ claim.SweepReport, err error) { errs = append(errs, err) }})
		time.Sleep(90 * time.Second)
		stop()
		if len(errs) != 2 || !errors.Is(errs[0], errUpdate) || !errors.Is(errs[1], errUpdate) {
			t.Errorf("OnSweep errors = %v, want two wrapping %v", errs, errUpdate)
		}
		failed := 0
		for _, r := range rec.take(t) {
			holder, _ := r["holder"].(string)
			if !strings.Contains(holder, "/"+strconv.Itoa(os.Getpid())+"/") {
				t.Errorf("record %v: holder %q, want one naming the process %d", r, holder, os.Getpid())
			}
			if r["msg"] == "claim: sweep failed" {
				failed++
				if r["level"] != "ERROR" || r["error"] != errUpdate.Error() {
					t.Errorf("record %v, want an Error with %v", r, errUpdate)
				}
			}
		}
		if failed != 2 {
			t.Errorf("%d sweeps logged as failed, want 2", failed)
		}
	})
}
