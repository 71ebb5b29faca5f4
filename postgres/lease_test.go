package postgres_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// The sweeper test's child process: the environment tells it the
// schema's DSN and its holder name.
const (
	envSweeperDSN    = "CLAIM_SWEEPER_CHILD_DSN"
	envSweeperHolder = "CLAIM_SWEEPER_CHILD_HOLDER"
)

// Of the sweeper test: the interval (the lease lasts 1.5s, is renewed
// every 500ms and tried every 750ms), the number of delayed claims due
// when the sweepers start, and the children's clock, past their
// deadlines.
const (
	procSweepInterval = 3 * time.Second
	procSweepClaims   = 30
)

var procSweepNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(15 * 24 * time.Hour)

// procEvent is a line a child printed: it took or left the lease, or a
// sweep returned.
type procEvent struct {
	who     string
	at      time.Time
	lease   bool // a lease event; else a sweep
	held    bool // of a lease event
	expired int  // of a sweep
	failed  bool // of a sweep: it returned an error
}

// TestSweeperProcesses runs three processes (this test binary again),
// each a RunSweeper on one schema with a 3s interval, where 30 delayed
// claims are past their deadline (P3):
//
//  1. One of them takes the lease and sweeps, resolving the 30 claims;
//     the claim_leases table names it. After two intervals it is killed
//     with SIGKILL, so it cannot release the lease.
//  2. Another takes over and sweeps within an interval and a half of the
//     kill (the lease runs out at most 1.5s after it, and the others try
//     every 750ms: 2.25s and the time of a try). After two intervals it
//     gets SIGTERM, stops cleanly and releases the lease.
//  3. The third takes over and sweeps within half an interval of the
//     SIGTERM (it tries every 750ms; without the release the lease would
//     last 1s or more), and after an interval gets SIGTERM too.
//
// Throughout, by the times the processes report (one host, one clock),
// the spans in which each holds the lease do not overlap, each sweep
// falls inside a span of its process, two sweeps of a process are at
// least half an interval apart, every claim is resolved once, and at the
// end the lease table is empty (released).
func TestSweeperProcesses(t *testing.T) {
	if dsn := os.Getenv(envSweeperDSN); dsn != "" {
		sweeperChild(t, dsn, os.Getenv(envSweeperHolder))
		return
	}
	t.Parallel()
	schema, dsn := newSchema(t)
	f, ids := claimWorld(t, open(t, dsn), procSweepClaims)
	mustClaim(t, f.svcs[0], "acme", ids, claim.Delayed)
	ctx := t.Context()

	events := make(chan procEvent)
	cmds := map[string]*exec.Cmd{}
	var reading sync.WaitGroup
	for _, who := range []string{"p1", "p2", "p3"} {
		cmds[who] = startSweeperChild(t, ctx, dsn, who, events, &reading)
	}
	readDone := make(chan struct{})
	go func() {
		reading.Wait()
		close(readDone)
	}()
	var all []procEvent
	killed := map[string]time.Time{}
	// next returns the next event for which ok is true, keeping every
	// event; it fails the test after limit.
	next := func(what string, limit time.Duration, ok func(procEvent) bool) procEvent {
		t.Helper()
		timeout := time.After(limit)
		for {
			select {
			case e := <-events:
				all = append(all, e)
				if ok(e) {
					return e
				}
			case <-timeout:
				t.Fatalf("no %s within %v; events so far: %+v", what, limit, all)
			}
		}
	}
	// takeover waits for a process other than the ones gone to take
	// the lease, and for its first sweep.
	takeover := func(what string, limit time.Duration, gone ...string) procEvent {
		t.Helper()
		other := func(e procEvent) bool { return !slices.Contains(gone, e.who) }
		l := next(what, limit, func(e procEvent) bool { return e.lease && e.held && other(e) })
		return next(what+"'s first sweep", limit, func(e procEvent) bool { return !e.lease && e.who == l.who })
	}

	first := takeover("a first holder", 30*time.Second)
	h1 := first.who
	time.Sleep(2 * procSweepInterval)
	if got := leaseHolder(t, schema); got != h1 {
		t.Errorf("claim_leases names %q, want %q, which sweeps", got, h1)
	}
	killed[h1] = time.Now()
	if err := cmds[h1].Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	second := takeover("a holder after the kill", 10*time.Second, h1)
	h2 := second.who
	if d := second.at.Sub(killed[h1]); d > procSweepInterval*3/2 {
		t.Errorf("%s swept %v after %s was killed, want within %v", h2, d, h1, procSweepInterval*3/2)
	} else {
		t.Logf("%s swept %v after %s was killed", h2, d.Round(time.Millisecond), h1)
	}
	time.Sleep(2 * procSweepInterval)
	stopped := time.Now()
	if err := cmds[h2].Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	third := takeover("a holder after the clean stop", 10*time.Second, h1, h2)
	h3 := third.who
	if d := third.at.Sub(stopped); d > procSweepInterval/2 {
		t.Errorf("%s swept %v after %s was stopped, want within %v", h3, d, h2, procSweepInterval/2)
	} else {
		t.Logf("%s swept %v after %s was stopped", h3, d.Round(time.Millisecond), h2)
	}
	time.Sleep(procSweepInterval)
	if err := cmds[h3].Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The lines printed until the children's output ends, then their
	// exits.
	for done := false; !done; {
		select {
		case e := <-events:
			all = append(all, e)
		case <-readDone:
			done = true
		case <-time.After(10 * time.Second):
			t.Fatalf("the children did not exit within 10s of SIGTERM")
		}
	}
	for who, cmd := range cmds {
		err := cmd.Wait()
		var exit *exec.ExitError
		switch {
		case who == h1 && (!errors.As(err, &exit) || exit.ExitCode() != -1):
			t.Errorf("%s: %v, want killed by a signal", who, err)
		case who != h1 && err != nil:
			t.Errorf("%s: %v, want a clean exit", who, err)
		}
	}
	checkSweeperEvents(t, all, killed, time.Now())
	if got := leaseHolder(t, schema); got != "" {
		t.Errorf("claim_leases names %q after the last sweeper stopped, want no lease", got)
	}
}

// checkSweeperEvents checks the processes' events: lease spans that do
// not overlap (a killed process's span ends when it was killed, an open
// one at end), sweeps inside their process's spans and half an interval
// apart at least, and every claim resolved once.
func checkSweeperEvents(t *testing.T, all []procEvent, killed map[string]time.Time, end time.Time) {
	t.Helper()
	type span struct {
		who        string
		from, till time.Time
	}
	var spans []span
	open := map[string]time.Time{}
	expired := 0
	lastSweep := map[string]time.Time{}
	for _, e := range all {
		switch {
		case e.lease && e.held:
			open[e.who] = e.at
		case e.lease:
			spans = append(spans, span{e.who, open[e.who], e.at})
			delete(open, e.who)
		default:
			expired += e.expired
			if last, ok := lastSweep[e.who]; ok && e.at.Sub(last) < procSweepInterval/2 {
				t.Errorf("%s swept at %v and again %v later, want half an interval apart at least", e.who, last, e.at.Sub(last))
			}
			lastSweep[e.who] = e.at
		}
	}
	for who, from := range open {
		till, ok := killed[who]
		if !ok {
			till = end
		}
		spans = append(spans, span{who, from, till})
	}
	for i, a := range spans {
		for _, b := range spans[i+1:] {
			if a.who != b.who && a.from.Before(b.till) && b.from.Before(a.till) {
				t.Errorf("%s held the lease from %v to %v and %s from %v to %v: they overlap",
					a.who, a.from.Format(time.StampMicro), a.till.Format(time.StampMicro), b.who, b.from.Format(time.StampMicro), b.till.Format(time.StampMicro))
			}
		}
	}
	for _, e := range all {
		if e.lease {
			continue
		}
		inside := false
		for _, s := range spans {
			inside = inside || (s.who == e.who && !e.at.Before(s.from) && !e.at.After(s.till))
		}
		if !inside {
			t.Errorf("%s swept at %v, outside its spans of the lease %+v", e.who, e.at.Format(time.StampMicro), spans)
		}
		if e.failed && !e.at.Equal(lastSweep[e.who]) {
			t.Errorf("%s: a sweep at %v failed, and it was not its last (stopped)", e.who, e.at.Format(time.StampMicro))
		}
	}
	if expired != procSweepClaims {
		t.Errorf("the sweeps resolved %d claims, want %d (each once)", expired, procSweepClaims)
	}
	t.Logf("%d events, %d spans of the lease", len(all), len(spans))
}

// leaseHolder returns the holder of the sweepers' lease in the schema's
// claim_leases table, "" if none.
func leaseHolder(t *testing.T, schema string) string {
	t.Helper()
	var holder string
	err := adminPool(t).QueryRow(t.Context(), `SELECT holder FROM `+qualified(schema, "claim_leases")+` WHERE name = $1`,
		claim.DefaultSweeperLease).Scan(&holder)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("reading claim_leases: %v", err)
	}
	return holder
}

// startSweeperChild starts this test binary as the sweeper who on the
// schema of dsn, and sends what it prints to events until its output
// ends, counted by reading.
func startSweeperChild(t *testing.T, ctx context.Context, dsn, who string, events chan<- procEvent, reading *sync.WaitGroup) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSweeperProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), envSweeperDSN+"="+dsn, envSweeperHolder+"="+who)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	reading.Go(func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			rest, ok := strings.CutPrefix(sc.Text(), "sweeper-child: ")
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) < 3 {
				continue
			}
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			e := procEvent{who: who, at: time.Unix(0, ns), lease: f[0] == "lease"}
			if e.lease {
				e.held = f[2] == "true"
			} else if len(f) == 4 {
				e.expired, _ = strconv.Atoi(f[2])
				e.failed = f[3] == "true"
			}
			select {
			case events <- e:
			case <-ctx.Done():
				return
			}
		}
	})
	return cmd
}

// sweeperChild is a child process of TestSweeperProcesses: a sweeper
// until SIGTERM, printing each change of the lease and each sweep.
func sweeperChild(t *testing.T, dsn, holder string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	svc, err := claim.New(open(t, dsn), claim.WithClock(claimtest.NewClock(procSweepNow)))
	if err != nil {
		t.Fatal(err)
	}
	err = svc.RunSweeper(ctx, claim.SweeperOptions{
		Interval: procSweepInterval,
		Holder:   holder,
		OnSweep: func(rep claim.SweepReport, err error) {
			fmt.Printf("sweeper-child: sweep %d %d %v\n", time.Now().UnixNano(), rep.Expired, err != nil)
		},
		OnLease: func(held bool) {
			fmt.Printf("sweeper-child: lease %d %v\n", time.Now().UnixNano(), held)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}
