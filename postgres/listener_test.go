package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/postgres"
	"github.com/claimkit/claim/storetest"
)

// envDirectDSN names a DSN of the server itself, for the listener's
// connection when the tests run through a pooler (CLAIM_POSTGRES_TXPOOLER),
// which would lose its LISTEN.
const envDirectDSN = "CLAIM_POSTGRES_DIRECT_DSN"

// directDSN returns the DSN for a listener behind a pooler
// (CLAIM_POSTGRES_DIRECT_DSN), or "" when the tests reach the server
// directly and a store's own DSN serves. It skips the test behind a
// pooler without one.
func directDSN(t *testing.T) string {
	t.Helper()
	if !behindPooler() {
		return ""
	}
	direct := os.Getenv(envDirectDSN)
	if direct == "" {
		t.Skipf("behind a transaction-mode pooler, the listener needs a direct connection to the server: set %s", envDirectDSN)
	}
	return direct
}

// openListening opens a migrated store on a new schema with a listener,
// and waits for it to listen.
func openListening(t *testing.T) *postgres.Store {
	t.Helper()
	direct := directDSN(t)
	_, dsn := newSchema(t)
	if direct == "" {
		direct = dsn
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, postgres.WithListener(direct))
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate() = %v, want nil", err)
	}
	waitListening(t, s, 0)
	return s
}

// waitListening waits up to 10 seconds for the store's listener to listen
// on a session other than that of process old, and returns its process.
func waitListening(t *testing.T, s *postgres.Store, old uint32) uint32 {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if pid := postgres.ListenerPID(s); pid != 0 && pid != old && s.EventsCommitted() != nil {
			return pid
		}
	}
	t.Fatalf("the listener does not listen 10 seconds on (EventsCommitted() = nil)")
	return 0
}

// TestFollowListener runs the follower checks of the conformance suite
// on a store with a listener, which wakes followers within
// storetest.MaxWakeLatency of each commit (TestConformance runs them on
// stores without one, whose followers poll).
func TestFollowListener(t *testing.T) {
	t.Parallel()
	storetest.Follow(t, openListening(t))
}

// TestFollowWithoutListener: a store without a listener does not notify,
// so followers poll, as TestConformance's Follow checks find them to.
func TestFollowWithoutListener(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	if ch := s.EventsCommitted(); ch != nil {
		t.Errorf("EventsCommitted() without a listener = %v, want nil", ch)
	}
}

// TestListenerNamesChannelOnce: the listener asks the store's pool for
// its channel's name once, and LISTENs on it again after a reconnection
// without asking again.
func TestListenerNamesChannelOnce(t *testing.T) {
	t.Parallel()
	direct := directDSN(t)
	_, dsn := newSchema(t)
	if direct == "" {
		direct = dsn
	}
	var rt roundTrips
	st := statements{count: map[string]int{}}
	st.on.Store(true)
	s := postgres.New(countedPoolOf(t, dsn, 2, &rt, &st), postgres.WithListener(direct))
	t.Cleanup(s.Close)
	pid := waitListening(t, s, 0)
	var killed bool
	if err := adminPool(t).QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
	}
	waitListening(t, s, pid)
	st.mu.Lock()
	defer st.mu.Unlock()
	named := 0
	for q, n := range st.count {
		if strings.HasPrefix(q, "SELECT 'claim_events_'") {
			named += n
		}
	}
	if named != 1 {
		t.Errorf("the listener named its channel %d times over two sessions, want 1; statements: %v", named, st.count)
	}
}

// TestFollowListenerReconnects kills the listener's session
// (pg_terminate_backend) while a follower follows and writers commit:
// the store listens again on a new session, the follower misses no event
// and sees none twice, and after the reconnection a commit wakes it
// within storetest.MaxWakeLatency again.
func TestFollowListenerReconnects(t *testing.T) {
	t.Parallel()
	s := openListening(t)
	// A poll of a second, ten times MaxWakeLatency: the follower polls
	// only while the listener is down, and a wake within MaxWakeLatency
	// after the reconnection must come from a notification.
	const poll = time.Second
	svc, err := claim.New(s, claim.WithFollowPoll(poll))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	type item struct {
		e  claim.Event
		at time.Time
	}
	items := make(chan item, 1024)
	go func() {
		for e, err := range svc.Follow(ctx, 0) {
			if err != nil {
				close(items)
				return
			}
			items <- item{e, time.Now()}
		}
	}()
	var want []string
	commit := func(detail string) time.Time {
		t.Helper()
		err := s.Update(ctx, func(tx claim.Tx) error {
			return tx.AppendEvent(claim.Event{At: time.Unix(0, 0).UTC(), Type: claim.EventClaimCreated, Detail: detail})
		})
		if err != nil {
			t.Fatalf("Update(AppendEvent %s) = %v", detail, err)
		}
		want = append(want, detail)
		return time.Now()
	}
	var got []string
	next := func() item {
		t.Helper()
		select {
		case it, ok := <-items:
			if !ok {
				t.Fatalf("Follow ended after %v", got)
			}
			got = append(got, it.e.Detail)
			return it
		case <-time.After(5 * time.Second): // well under the 30s of a follower's safety read
			t.Fatalf("Follow yielded nothing for 5 seconds after %v; want %v", got, want)
			return item{}
		}
	}

	for i := range 20 {
		commit(fmt.Sprintf("before %d", i))
	}
	for len(got) < len(want) {
		next()
	}
	// The follower now waits on the listener's channel, which the lost
	// session must close for it to see what commits meanwhile.
	time.Sleep(20 * time.Millisecond)
	pid := postgres.ListenerPID(s)
	var killed bool
	if err := adminPool(t).QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
	}
	for i := range 20 { // some while the listener is down
		commit(fmt.Sprintf("during %d", i))
	}
	waitListening(t, s, pid)
	for len(got) < len(want) {
		next()
	}
	// A follower that polled while the listener was down takes the new
	// channel at its next read of the log.
	time.Sleep(poll + 100*time.Millisecond)
	for i := range 20 {
		time.Sleep(5 * time.Millisecond) // the follower blocks
		committed := commit(fmt.Sprintf("after %d", i))
		if it := next(); it.at.Sub(committed) >= storetest.MaxWakeLatency {
			t.Errorf("after the reconnection, the follower saw %s %v after its commit, want less than %v",
				it.e.Detail, it.at.Sub(committed), storetest.MaxWakeLatency)
		}
	}
	time.Sleep(50 * time.Millisecond)
	select {
	case it := <-items:
		t.Errorf("Follow yielded %s after every event", it.e.Detail)
	default:
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Follow yielded\n%v\nwant\n%v", got, want)
	}
}

// TestFollowSchemasApart: a commit in one schema does not wake the
// followers of a store in another schema of the same database.
func TestFollowSchemasApart(t *testing.T) {
	t.Parallel()
	a := openListening(t)
	b := openListening(t)
	woken := a.EventsCommitted()
	err := b.Update(t.Context(), func(tx claim.Tx) error {
		return tx.AppendEvent(claim.Event{At: time.Unix(0, 0).UTC(), Type: claim.EventClaimCreated})
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
		t.Errorf("a commit in another schema woke the store's followers")
	case <-time.After(200 * time.Millisecond):
	}
	err = a.Update(t.Context(), func(tx claim.Tx) error {
		return tx.AppendEvent(claim.Event{At: time.Unix(0, 0).UTC(), Type: claim.EventClaimCreated})
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Errorf("a commit in the store's schema did not wake its followers in 10 seconds")
	}
}
