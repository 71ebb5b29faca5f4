package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/postgres"
)

// pendingBy returns the users whose stored claim by org is pending, read
// straight from the table.
func pendingBy(t *testing.T, schema string, org claim.OrgID) map[claim.UserID]bool {
	t.Helper()
	rows, _ := adminPool(t).Query(t.Context(), `SELECT id FROM `+qualified(schema, "users")+
		` WHERE claim_by = $1 AND claim_ended IS NULL`, string(org))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("reading the pending claims: %v", err)
	}
	m := make(map[claim.UserID]bool, len(ids))
	for _, id := range ids {
		m[claim.UserID(id)] = true
	}
	return m
}

// TestCanceledCallsHaveCertainOutcomes cancels the context of 1,000
// ClaimUsers, Retract and Sweep calls at random moments (before BEGIN,
// among the reads, while COMMIT is in flight) and checks each against
// the table: a call that returned nil committed, a call that returned
// any error but one wrapping claim.ErrOutcomeUnknown committed nothing,
// and a Sweep's report counts exactly the expiries that committed (a
// Sweep is a sequence of transactions).
func TestCanceledCallsHaveCertainOutcomes(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	store := open(t, dsn)
	f, ids := claimWorld(t, store, 400)
	svc, clock := f.svcs[0], f.clock
	expired := map[claim.UserID]bool{} // claimed for good by a Sweep

	const calls = 1000
	outcomes := map[string]int{}
	for i := range calls {
		pending := pendingBy(t, schema, "acme")
		ctx, cancel := context.WithCancel(t.Context())
		// Cancel at a random moment: at once, within the few
		// milliseconds a call takes on this machine, or after it.
		var delay time.Duration
		switch rand.IntN(3) {
		case 0:
			delay = time.Duration(rand.IntN(500)) * time.Microsecond
		case 1:
			delay = time.Duration(rand.IntN(6000)) * time.Microsecond
		default:
			delay = time.Second
		}
		timer := time.AfterFunc(delay, cancel)
		var op string
		var err error
		var changed func(before, after map[claim.UserID]bool) bool
		// Claim a user that can be claimed, retract a pending claim,
		// now and then sweep.
		var free, held []claim.UserID
		for _, id := range ids {
			switch {
			case pending[id]:
				held = append(held, id)
			case !expired[id]:
				free = append(free, id)
			}
		}
		switch n := rand.IntN(40); {
		case n < 20 && len(free) > 0 || len(held) == 0:
			id := free[rand.IntN(len(free))]
			op = "ClaimUsers " + string(id)
			var res []claim.Result
			res, err = svc.ClaimUsers(ctx, "acme", []claim.UserID{id}, claim.ClaimOptions{Acknowledge: true})
			if err == nil && res[0].Err != nil {
				err = res[0].Err // refused (already claimed): nothing to commit
			}
			changed = func(before, after map[claim.UserID]bool) bool { return !before[id] && after[id] }
		case n < 39:
			id := held[rand.IntN(len(held))]
			op = "Retract " + string(id)
			err = svc.Retract(ctx, "acme", id)
			changed = func(before, after map[claim.UserID]bool) bool { return before[id] && !after[id] }
		default:
			op = "Sweep"
			clock.Advance(15 * 24 * time.Hour) // every pending claim is due
			var rep claim.SweepReport
			rep, err = svc.Sweep(ctx)
			after := pendingBy(t, schema, "acme")
			for id := range pending {
				if !after[id] {
					expired[id] = true
				}
			}
			if expired := len(pending) - len(after); !errors.Is(err, claim.ErrOutcomeUnknown) && rep.Expired != expired {
				t.Errorf("call %d: Sweep() = %+v, %v; %d claims expired in the table", i, rep, err, expired)
			}
			changed = func(before, after map[claim.UserID]bool) bool { return len(after) < len(before) }
		}
		timer.Stop()
		cancel()
		after := pendingBy(t, schema, "acme")
		did := changed(pending, after)
		switch {
		case err == nil:
			outcomes["nil"]++
			if !did && op != "Sweep" {
				t.Errorf("call %d: %s = nil, but nothing committed", i, op)
			}
		case errors.Is(err, claim.ErrOutcomeUnknown):
			outcomes["outcome unknown"]++
		default:
			outcomes["error"]++
			if errors.Is(err, context.Canceled) {
				outcomes["canceled"]++
			}
			if did && op != "Sweep" {
				t.Errorf("call %d: %s = %v, but it committed", i, op, err)
			}
			if op != "Sweep" && !errors.Is(err, context.Canceled) && !errors.Is(err, claim.ErrNotFound) &&
				!errors.Is(err, claim.ErrAlreadyClaimed) && !errors.Is(err, claim.ErrNoPendingClaim) && !errors.As(err, new(*claim.RetractError)) &&
				!errors.As(err, new(*claim.RefusalError)) {
				t.Errorf("call %d: %s = %v, want nil, a refusal or an error wrapping context.Canceled", i, op, err)
			}
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("outcomes of %d calls: %v", calls, outcomes)
	if outcomes["nil"] == 0 || outcomes["canceled"] == 0 {
		t.Errorf("outcomes %v: want both calls that committed and calls that did not", outcomes)
	}
}

// cutProxy forwards TCP connections to a server and, once armed, cuts the
// connection that sends cutMarker right after forwarding the batch that
// carries it (up to its Sync message), before the server's answer can
// come back. The test puts the marker in an event, which the store sends
// in the batch that ends with COMMIT.
const cutMarker = "cut-after-this-commit"

type cutProxy struct {
	mu    sync.Mutex
	kept  []net.Conn // server sides of cut connections, closed at cleanup
	ln    net.Listener
	to    string
	armed atomic.Bool
	cuts  atomic.Int32
	wg    sync.WaitGroup
}

func newCutProxy(t *testing.T, to string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, to: to}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, s := range p.kept {
			s.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.to)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Go(func() { io.Copy(c, s); c.Close() })
		p.wg.Go(func() {
			closeServer := true
			defer func() {
				if closeServer {
					s.Close()
				}
			}()
			defer c.Close()
			buf := make([]byte, 64<<10)
			sawCommit := false
			var tail []byte
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := s.Write(buf[:n]); werr != nil {
						return
					}
					// The marker may straddle two reads: look at
					// the end of the last one too.
					seen := append(tail, buf[:n]...)
					sawCommit = sawCommit || p.armed.Load() && bytes.Contains(seen, []byte(cutMarker))
					tail = append(tail[:0], seen[max(0, len(seen)-len(cutMarker)):]...)
					// Cut once the Sync that ends the batch with
					// COMMIT has gone through.
					if sawCommit && bytes.HasSuffix(buf[:n], []byte{'S', 0, 0, 0, 4}) {
						p.cuts.Add(1)
						// Let the server read the message, but not
						// answer through us: the client side goes at
						// once, the server side when the test ends,
						// so that the server runs what it read.
						c.Close()
						closeServer = false
						p.mu.Lock()
						p.kept = append(p.kept, s)
						p.mu.Unlock()
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
}

// TestLostCommitIsOutcomeUnknown puts a TCP proxy between the pool and
// the server that cuts the connection right after forwarding the batch
// that ends with COMMIT: the Update returns an error wrapping
// claim.ErrOutcomeUnknown, the transaction committed at most once, and
// the store goes on working.
func TestLostCommitIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Skipf("the DSN is not a URL: %v", err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	// Statements go whole, with their text, in the message that runs
	// them (no separate prepare round trip): the proxy finds COMMIT in the
	// batch that runs it.
	q := u.Query()
	q.Set("default_query_exec_mode", "exec")
	u.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := postgres.New(pool)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	proxy.armed.Store(true)
	err = s.Update(t.Context(), func(tx claim.Tx) error {
		if err := tx.CreateOrg(claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
			return err
		}
		return tx.AppendEvent(claim.Event{Type: claim.EventOrgCreated, Org: "acme", Detail: cutMarker})
	})
	proxy.armed.Store(false)
	if !errors.Is(err, claim.ErrOutcomeUnknown) || proxy.cuts.Load() != 1 {
		t.Fatalf("Update() cut after COMMIT = %v (%d cuts), want an error wrapping %v after 1 cut", err, proxy.cuts.Load(), claim.ErrOutcomeUnknown)
	}
	// The server had the whole batch and usually commits it; whether
	// it did is what the caller cannot know. It committed it at most once,
	// and whole: the org and its event, or neither.
	var orgs, events int
	err = adminPool(t).QueryRow(t.Context(), `SELECT (SELECT count(*) FROM `+qualified(schema, "orgs")+` WHERE id = 'acme'),
		(SELECT count(*) FROM `+qualified(schema, "events")+` WHERE detail = $1)`, cutMarker).Scan(&orgs, &events)
	if err != nil {
		t.Fatal(err)
	}
	if events > 1 || orgs != events {
		t.Errorf("after the cut COMMIT: org acme stored %d times, its event %d times; want both once or neither", orgs, events)
	}
	t.Logf("the cut transaction committed %d times", events)
	// The store goes on working on the pool's other connections.
	err = s.Update(t.Context(), func(tx claim.Tx) error {
		return tx.CreateOrg(claim.Org{ID: "beta", Name: "Beta", Kind: claim.Enterprise})
	})
	if err != nil {
		t.Errorf("Update() after the cut = %v, want nil", err)
	}
}
