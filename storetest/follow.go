package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/claimkit/claim"
	gocmp "github.com/google/go-cmp/cmp"
)

// MaxWakeLatency is how long after a commit a follower blocked in
// claim.Service.WaitEvents may take to wake, on a store that notifies
// (claim.EventNotifier): a generous margin over the round trip or two a
// notification costs.
const MaxWakeLatency = 100 * time.Millisecond

// Follow checks what followers of the event log see on s, an empty store,
// through a claim.Service: WaitEvents returns at once when an event
// after the given number exists and the context's error when the context
// ends first; Follow yields every event committed by 1,000 commits of 4
// concurrent writers exactly once, in Seq order, the log as a View then
// reads it, and none of an Update that failed. If s is a
// claim.EventNotifier whose EventsCommitted returns a channel when Follow
// is called, it also checks that a follower blocked in WaitEvents wakes
// within MaxWakeLatency of each of 50 commits, with polling set so slow
// that only the notification can wake it in time. Run calls Follow;
// call it yourself on a store configured as newStore does not make one
// (the PostgreSQL store with a listener, once it listens).
func Follow(t *testing.T, s claim.Store) {
	t.Run("ContextEnds", func(t *testing.T) { followContextEnds(t, s) })
	t.Run("Wake", func(t *testing.T) { followWake(t, s) })
	t.Run("ExactlyOnce", func(t *testing.T) { followExactlyOnce(t, s) })
}

// followService returns a service on s whose followers poll every poll.
func followService(t *testing.T, s claim.Store, poll time.Duration) *claim.Service {
	t.Helper()
	svc, err := claim.New(s, claim.WithFollowPoll(poll))
	if err != nil {
		t.Fatalf("claim.New() = %v", err)
	}
	return svc
}

// appendEvents commits one transaction that appends an event per detail
// and returns the error of Update.
func appendEvents(ctx context.Context, s claim.Store, details ...string) error {
	return s.Update(ctx, func(tx claim.Tx) error {
		for _, d := range details {
			if err := tx.AppendEvent(claim.Event{At: t0, Type: claim.EventClaimCreated, Org: "acme", Detail: d}); err != nil {
				return err
			}
		}
		return nil
	})
}

// lastSeq returns the Seq of the last committed event, 0 if none.
func lastSeq(t *testing.T, s claim.Store) uint64 {
	t.Helper()
	var last uint64
	view(t, s, func(tx claim.Tx) error {
		for {
			evs, err := tx.Events(last, big)
			if err != nil || len(evs) == 0 {
				return err
			}
			last = evs[len(evs)-1].Seq
		}
	})
	return last
}

func followContextEnds(t *testing.T, s claim.Store) {
	svc := followService(t, s, 5*time.Millisecond)
	ctx := t.Context()
	must(t, appendEvents(ctx, s, "context ends"), "Update(AppendEvent)")
	last := lastSeq(t, s)
	if err := svc.WaitEvents(ctx, last-1); err != nil {
		t.Errorf("WaitEvents(%d) with event %d committed = %v, want nil", last-1, last, err)
	}

	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := svc.WaitEvents(dctx, last); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitEvents(%d) past its deadline = %v, want an error wrapping context.DeadlineExceeded", last, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := svc.WaitEvents(cctx, last); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitEvents(%d) canceled = %v, want an error wrapping context.Canceled", last, err)
	}

	// Long enough for the first read on a busy machine: the deadline is
	// what ends the Follow, not what the check measures.
	fctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	var got []string
	var ended error
	for e, err := range svc.Follow(fctx, 0) {
		if err != nil {
			ended = err
			break
		}
		got = append(got, e.Detail)
	}
	if !errors.Is(ended, context.DeadlineExceeded) {
		t.Errorf("Follow(0) past its deadline ended with %v, want an error wrapping context.DeadlineExceeded", ended)
	}
	diffList(t, "Follow(0) before its deadline", got, []string{"context ends"})
}

// notifies reports whether s notifies followers now: it is a
// claim.EventNotifier whose EventsCommitted returns a channel.
func notifies(s claim.Store) bool {
	n, ok := s.(claim.EventNotifier)
	return ok && n.EventsCommitted() != nil
}

func followWake(t *testing.T, s claim.Store) {
	if !notifies(s) {
		t.Skip("the store does not notify followers now (EventsCommitted returns nil): they poll")
	}
	// Polling so slow that only a notification wakes a follower in time.
	svc := followService(t, s, time.Hour)
	const commits = 50
	last := lastSeq(t, s)
	var latencies []time.Duration
	for i := range commits {
		woke := make(chan time.Time, 1)
		errc := make(chan error, 1)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		go func() {
			err := svc.WaitEvents(ctx, last)
			woke <- time.Now()
			errc <- err
		}()
		// Let the follower find nothing and block; a follower that has
		// not yet taken the channel when the commit lands reads the
		// event at once, which the check allows too.
		time.Sleep(5 * time.Millisecond)
		err := appendEvents(t.Context(), s, fmt.Sprintf("wake %d", i))
		committed := time.Now()
		must(t, err, "Update(AppendEvent)")
		at := <-woke
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("commit %d: WaitEvents(%d) = %v, want nil", i, last, err)
		}
		latencies = append(latencies, at.Sub(committed))
		last = lastSeq(t, s)
	}
	for i, d := range latencies {
		if d >= MaxWakeLatency {
			t.Errorf("commit %d: the follower woke %v after the commit, want less than %v", i, d, MaxWakeLatency)
		}
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	t.Logf("wake latency over %d commits: median %v, max %v", commits, sorted[len(sorted)/2], sorted[len(sorted)-1])
}

func followExactlyOnce(t *testing.T, s claim.Store) {
	const (
		writers = 4
		commits = 1000 // in all
	)
	svc := followService(t, s, 10*time.Millisecond)
	start := lastSeq(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	type item struct {
		e   claim.Event
		err error
	}
	items := make(chan item, 64)
	var followed sync.WaitGroup
	followed.Add(1)
	go func() {
		defer followed.Done()
		defer close(items)
		for e, err := range svc.Follow(ctx, start) {
			select {
			case items <- item{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	// Every 7th commit appends two events; every 10th attempt of a
	// writer fails after appending one, which no follower may see.
	var mu sync.Mutex
	var want []string
	var writing sync.WaitGroup
	for w := range writers {
		writing.Add(1)
		go func() {
			defer writing.Done()
			for i := range commits / writers {
				details := []string{fmt.Sprintf("w%d-%d", w, i)}
				if i%7 == 0 {
					details = append(details, fmt.Sprintf("w%d-%d+", w, i))
				}
				if i%10 == 0 {
					errFail := errors.New("fails on purpose")
					err := s.Update(ctx, func(tx claim.Tx) error {
						if err := tx.AppendEvent(claim.Event{At: t0, Type: claim.EventClaimCreated, Detail: fmt.Sprintf("w%d-%d failed", w, i)}); err != nil {
							return err
						}
						return errFail
					})
					if !errors.Is(err, errFail) {
						t.Errorf("failing Update() = %v, want %v", err, errFail)
					}
				}
				if err := appendEvents(ctx, s, details...); err != nil {
					t.Errorf("Update(AppendEvent %s) = %v", details[0], err)
					continue
				}
				mu.Lock()
				want = append(want, details...)
				mu.Unlock()
			}
		}()
	}
	writing.Wait()

	var got []claim.Event
	for len(got) < len(want) {
		it, ok := <-items
		if !ok {
			t.Fatalf("Follow ended after %d of %d events", len(got), len(want))
		}
		if it.err != nil {
			t.Fatalf("Follow yielded %v after %d of %d events", it.err, len(got), len(want))
		}
		got = append(got, it.e)
	}
	// Anything more is an event yielded twice, or one that should not be.
	time.Sleep(50 * time.Millisecond)
	cancel()
	for it := range items {
		if it.err == nil {
			got = append(got, it.e)
		} else if !errors.Is(it.err, context.Canceled) {
			t.Errorf("Follow ended with %v, want an error wrapping context.Canceled", it.err)
		}
	}
	followed.Wait()

	var log []claim.Event
	view(t, s, func(tx claim.Tx) error {
		for after := start; ; {
			evs, err := tx.Events(after, big)
			if err != nil || len(evs) == 0 {
				return err
			}
			log = append(log, evs...)
			after = evs[len(evs)-1].Seq
		}
	})
	if diff := gocmp.Diff(log, got, cmpOpts...); diff != "" {
		t.Errorf("Follow yielded other events than the log holds (-log +followed):\n%s", diff)
	}
	details := make([]string, len(got))
	for i, e := range got {
		details[i] = e.Detail
		if i > 0 && e.Seq <= got[i-1].Seq {
			t.Errorf("Follow yielded Seq %d after %d", e.Seq, got[i-1].Seq)
		}
	}
	slices.Sort(details)
	slices.Sort(want)
	diffList(t, "the details Follow yielded", details, want)
}
