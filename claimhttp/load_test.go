package claimhttp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
)

// loadWorld adds n users of home on acme.example to a world, claimable
// by acme with a delayed claim, and returns their IDs.
func loadWorld(t testing.TB, w *world, n int) []claim.UserID {
	t.Helper()
	ids := make([]claim.UserID, n)
	for i := range n {
		u, err := w.svc.AddUser(t.Context(), "home", claim.NewUser{Email: fmt.Sprintf("load%05d@acme.example", i), Content: i % 7})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}

// BenchmarkHandler compares the handler with calling the Service
// directly, on the memory store: a page of 20 claimable users, and a
// claim of one user followed by its retraction. "service" is the
// baseline; "handler" adds routing, JSON and problems in process;
// "loopback" adds a real HTTP round trip on 127.0.0.1. Read the ratios of
// ns/op within one run.
func BenchmarkHandler(b *testing.B) {
	w := newBenchWorld(b)
	ids := loadWorld(b, w, 200)
	srv := httptest.NewServer(w.admin)
	defer srv.Close()
	client := srv.Client()
	inProcess := func(method, target string, body []byte) int {
		req := httptest.NewRequest(method, target, bytes.NewReader(body))
		req.Header.Set("X-Org", "acme")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		w.admin.ServeHTTP(rec, req)
		return rec.Code
	}
	loopback := func(method, target string, body []byte) int {
		req, _ := http.NewRequest(method, srv.URL+target, bytes.NewReader(body))
		req.Header.Set("X-Org", "acme")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	ctx := b.Context()
	b.Run("claimable/service", func(b *testing.B) {
		for b.Loop() {
			if _, err := w.svc.ClaimablePage(ctx, "acme", claim.ListOptions{Limit: 20}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, do := range map[string]func(string, string, []byte) int{"handler": inProcess, "loopback": loopback} {
		b.Run("claimable/"+name, func(b *testing.B) {
			for b.Loop() {
				if code := do("GET", "/claimable?limit=20", nil); code != 200 {
					b.Fatal(code)
				}
			}
		})
	}
	b.Run("claim+retract/service", func(b *testing.B) {
		i := 0
		for b.Loop() {
			id := ids[i%len(ids)]
			i++
			rs, err := w.svc.ClaimUsers(ctx, "acme", []claim.UserID{id}, claim.ClaimOptions{Acknowledge: true})
			if err != nil || rs[0].Err != nil {
				b.Fatal(err, rs)
			}
			if err := w.svc.Retract(ctx, "acme", id); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, do := range map[string]func(string, string, []byte) int{"handler": inProcess, "loopback": loopback} {
		b.Run("claim+retract/"+name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				id := ids[i%len(ids)]
				i++
				body, _ := json.Marshal(claimhttp.ClaimRequest{UserIDs: []claim.UserID{id}, Acknowledge: true})
				if code := do("POST", "/claims", body); code != 200 {
					b.Fatal(code)
				}
				if code := do("POST", "/users/"+string(id)+"/retract", nil); code != 204 {
					b.Fatal(code)
				}
			}
		})
	}
}

// newBenchWorld is newWorld on the memory store for a benchmark, with
// the log discarded.
func newBenchWorld(b *testing.B) *world {
	b.Helper()
	return newWorld(b, "memory", claimhttp.Options{Logger: discardLogger()})
}

// TestLoad is the load test of the PostgreSQL-backed handler on
// loopback: 64 concurrent clients × 500 requests, 70% reads (claimable,
// retractable, users, events) and 30% writes (claims of 1–3 random
// users, retractions), over 2,000 claimable users. It asserts no 5xx
// answer, that each answer matches the OpenAPI document's status, and
// afterwards the invariants: one account per address, content conserved
// (no claim resolves during the test), events strictly increasing. It
// logs p50 and p99 latencies per kind. It runs only with CLAIM_LOAD=1
// (.ci/run sets it), as it takes tens of seconds; its bound is 10 minutes.
func TestLoad(t *testing.T) {
	if os.Getenv("CLAIM_LOAD") != "1" {
		t.Skip("set CLAIM_LOAD=1 to run the load test")
	}
	kind := "postgres"
	if os.Getenv("CLAIM_POSTGRES_DSN") == "" && os.Getenv("CLAIM_REQUIRE_POSTGRES") != "1" {
		kind = "memory"
	}
	clients, perClient := 64, 500
	w := newWorld(t, kind, claimhttp.Options{Logger: discardLogger()})
	ids := loadWorld(t, w, 2000)
	contentBefore := totalContent(t, w)
	srv := httptest.NewServer(w.admin)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: time.Minute}

	type sample struct {
		kind string
		d    time.Duration
	}
	var mu sync.Mutex
	var samples []sample
	var failures []string
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 15))
			var mine []sample
			var bad []string
			for range perClient {
				var method, target, kind string
				var body []byte
				switch r := rng.IntN(100); {
				case r < 25:
					kind, method, target = "claimable", "GET", "/claimable?limit=20&after=load"+fmt.Sprintf("%05d", rng.IntN(2000))
				case r < 40:
					kind, method, target = "retractable", "GET", "/retractable?limit=20"
				case r < 55:
					kind, method, target = "users", "GET", "/users?limit=50&state=Delayed+Claim"
				case r < 70:
					kind, method, target = "events", "GET", "/events?limit=50&after="+strconv.Itoa(rng.IntN(3000))
				case r < 90:
					kind, method, target = "claim", "POST", "/claims"
					pick := make([]claim.UserID, 1+rng.IntN(3))
					for i := range pick {
						pick[i] = ids[rng.IntN(len(ids))]
					}
					body, _ = json.Marshal(claimhttp.ClaimRequest{UserIDs: pick, Acknowledge: true})
				default:
					kind, method, target = "retract", "POST", "/users/"+string(ids[rng.IntN(len(ids))])+"/retract"
				}
				req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+target, bytes.NewReader(body))
				req.Header.Set("X-Org", "acme")
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					bad = append(bad, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mine = append(mine, sample{kind, time.Since(t0)})
				ok := res.StatusCode == 200 || kind == "retract" && (res.StatusCode == 204 || res.StatusCode == 409 || res.StatusCode == 404)
				if !ok {
					bad = append(bad, fmt.Sprintf("%s %s: %d", method, target, res.StatusCode))
				}
			}
			mu.Lock()
			samples = append(samples, mine...)
			failures = append(failures, bad...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed, e.g. %q", len(failures), clients*perClient, failures[:min(5, len(failures))])
	}
	if elapsed > 10*time.Minute {
		t.Errorf("the load took %v, over its 10-minute bound", elapsed)
	}
	byKind := map[string][]time.Duration{}
	for _, s := range samples {
		byKind[s.kind] = append(byKind[s.kind], s.d)
		byKind["all"] = append(byKind["all"], s.d)
	}
	for _, k := range []string{"all", "claimable", "retractable", "users", "events", "claim", "retract"} {
		ds := byKind[k]
		slices.Sort(ds)
		if len(ds) == 0 {
			continue
		}
		t.Logf("%-11s n=%5d p50=%8v p99=%8v", k, len(ds), ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*99/100].Round(time.Microsecond))
	}
	t.Logf("%s store: %d requests by %d clients in %v (%.0f req/s)", kind, len(samples), clients, elapsed.Round(time.Millisecond), float64(len(samples))/elapsed.Seconds())

	// Invariants.
	if got := totalContent(t, w); got != contentBefore {
		t.Errorf("content not conserved: %d before, %d after", contentBefore, got)
	}
	seen := map[string]claim.OrgID{}
	for _, org := range []claim.OrgID{"acme", "globex", "home", "initech"} {
		for u, err := range w.svc.Users(t.Context(), org) {
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := seen[u.Email]; ok {
				t.Errorf("%s has two accounts (%s, %s)", u.Email, prev, org)
			}
			seen[u.Email] = org
		}
	}
	var last uint64
	for e, err := range w.svc.Events(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq <= last {
			t.Errorf("event %d after %d", e.Seq, last)
		}
		last = e.Seq
	}
}

// totalContent sums the content of every user of the world's orgs.
func totalContent(t testing.TB, w *world) int {
	t.Helper()
	n := 0
	for _, org := range []claim.OrgID{"acme", "globex", "home", "initech"} {
		for u, err := range w.svc.Users(t.Context(), org) {
			if err != nil {
				t.Fatal(err)
			}
			n += u.Content
		}
	}
	return n
}

// discardLogger returns a logger that writes nothing.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
