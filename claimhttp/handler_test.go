package claimhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
)

// TestHostileRequests: requests a public endpoint gets are refused with
// the right problem, field by field, and change nothing.
func TestHostileRequests(t *testing.T) {
	forEachStore(t, claimhttp.Options{MaxBodyBytes: 300, MaxUploadBytes: 1024}, func(t *testing.T, w *world) {
		before := viewOf(t, w, "acme")
		ann := string(w.id["ann@acme.example"])
		big := `{"userIds":["` + strings.Repeat("x", 400) + `"],"acknowledge":true}`
		csvHead := "First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim\n"
		for _, c := range []struct {
			name           string
			method, target string
			body           string
			hdr            []string
			want           claimhttp.Problem // Type, Status, Code, Field, Value, Reasons compared
		}{
			{"oversized JSON", "POST", "/claims", big, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 413, Code: "body_too_large"}},
			{"wrong Content-Type", "POST", "/claims", `{"userIds":[],"acknowledge":true}`, []string{"Content-Type", "text/plain"},
				claimhttp.Problem{Status: 415, Code: "unsupported_media_type", Field: "Content-Type", Value: "text/plain"}},
			{"no Content-Type", "PUT", "/org/settings", `{}`, nil,
				claimhttp.Problem{Status: 415, Code: "unsupported_media_type", Field: "Content-Type"}},
			{"unknown field", "POST", "/claims", `{"userIds":["` + ann + `"],"acknowledge":true,"force":true}`, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "body"}},
			{"two JSON values", "POST", "/claims", `{"acknowledge":true}{"acknowledge":true}`, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "body"}},
			{"not JSON", "POST", "/claims", `userIds=1`, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "body"}},
			{"wrong type", "POST", "/claims", `{"userIds":"` + ann + `","acknowledge":true}`, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "body"}},
			{"addresses to the ID route", "POST", "/claims", `{"emails":["ann@acme.example"],"acknowledge":true}`, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "emails"}},
			{"IDs to the address route", "POST", "/claims/by-email", `{"userIds":["` + ann + `"],"acknowledge":true}`, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "userIds"}},
			{"no acknowledgement", "POST", "/claims", `{"userIds":["` + ann + `"]}`, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 400, Code: "not_acknowledged"}},
			{"too many addresses", "POST", "/claims/by-email", `{"emails":[` + strings.Repeat(`"x@a.b",`, 25) + `"y@a.b"],"acknowledge":true}`, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 400, Code: "too_many"}},
			{"a cross-site form post", "POST", "/sweep", "", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
				claimhttp.Problem{Status: 403, Code: "forbidden", Field: "Origin", Value: "https://evil.example"}},
			{"bad limit", "GET", "/users?limit=5000", "", nil,
				claimhttp.Problem{Status: 400, Code: "invalid_value", Field: "ListOptions.Limit", Value: "5000"}},
			{"limit not a number", "GET", "/claimable?limit=ten", "", nil,
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "limit", Value: "ten"}},
			{"bad state", "GET", "/users?state=Asleep", "", nil,
				claimhttp.Problem{Status: 400, Code: "invalid_value", Field: "State", Value: "Asleep"}},
			{"bad eligibility address", "GET", "/eligibility?email=not-an-address", "", nil,
				claimhttp.Problem{Status: 400, Code: "invalid_email", Field: "email", Value: "not-an-address"}},
			{"bad domain", "POST", "/domains/exa%20mple/verification", "", nil,
				claimhttp.Problem{Status: 400, Code: "invalid_domain", Field: "domain", Value: "exa mple"}},
			{"unknown domain action", "POST", "/domains/acme.example/steal", "", nil,
				claimhttp.Problem{Status: 404, Code: "route_not_found", Field: "action", Value: "steal"}},
			{"bad wait", "GET", "/events?wait=forever", "", nil,
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "wait", Value: "forever"}},
			{"bad cursor", "GET", "/events?after=-1", "", nil,
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "after", Value: "-1"}},
			{"method not allowed", "DELETE", "/org", "", nil,
				claimhttp.Problem{Status: 405, Code: "method_not_allowed", Field: "method", Value: "DELETE"}},
			{"unknown route", "GET", "/admin/secrets", "", nil,
				claimhttp.Problem{Status: 404, Code: "route_not_found", Field: "path", Value: "/admin/secrets"}},
			{"sweep not served", "POST", "/sweep", "", nil,
				claimhttp.Problem{Status: 404, Code: "route_not_found", Field: "path", Value: "/sweep"}},
			{"no org", "GET", "/org", "", []string{"X-Org", ""},
				claimhttp.Problem{Status: 403, Code: "forbidden"}},
			{"unknown org", "GET", "/org", "", []string{"X-Org", "umbrella"},
				claimhttp.Problem{Status: 404, Code: "not_found"}},
			{"CSV as JSON", "POST", "/import?acknowledge=true", csvHead, []string{"Content-Type", "application/json"},
				claimhttp.Problem{Status: 415, Code: "unsupported_media_type", Field: "Content-Type", Value: "application/json"}},
			{"CSV not acknowledged", "POST", "/import", csvHead, []string{"Content-Type", "text/csv"},
				claimhttp.Problem{Status: 400, Code: "not_acknowledged"}},
			{"CSV bad flag", "POST", "/import?acknowledge=yes", csvHead, []string{"Content-Type", "text/csv"},
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "acknowledge", Value: "yes"}},
			{"CSV oversized", "POST", "/import?acknowledge=true", csvHead + strings.Repeat(",,,x@acme.example,Verified,Delayed,TRUE\n", 40), []string{"Content-Type", "text/csv"},
				claimhttp.Problem{Status: 413, Code: "body_too_large"}},
			{"sync entry not one", "POST", "/sync?dryRun=true", `{"Email":"a@acme.example"}` + "\n" + `{"Mail":"b@acme.example"}`, []string{"Content-Type", "application/x-ndjson"},
				claimhttp.Problem{Status: 400, Code: "bad_request", Field: "body", Value: "2"}},
			{"sync oversized", "POST", "/sync?full=true", strings.Repeat(`{"Email":"amy@acme.example"}`+"\n", 40), []string{"Content-Type", "application/x-ndjson"},
				claimhttp.Problem{Status: 413, Code: "body_too_large"}},
			{"sync threshold", "POST", "/sync?ignoreThreshold=true", "", []string{"Content-Type", "application/x-ndjson"},
				claimhttp.Problem{Status: 400, Code: "invalid_value", Field: "SyncOptions.IgnoreThreshold", Value: "true"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				hdr := append([]string{"X-Org", "acme"}, c.hdr...)
				var body io.Reader
				if c.body != "" {
					body = strings.NewReader(c.body)
				}
				r := serve(t, w.admin, c.method, c.target, body, hdr...)
				p := r.problem(t)
				want := c.want
				want.Type = claimhttp.TypePrefix + want.Code
				got := claimhttp.Problem{Type: p.Type, Status: p.Status, Code: p.Code, Field: p.Field, Value: p.Value, Reasons: p.Reasons}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("problem (-want +got):\n%s\nbody: %s", diff, r.body)
				}
				if r.status != want.Status || p.Title == "" || p.Detail == "" || !strings.HasPrefix(p.Instance, "urn:claimkit:request:") {
					t.Errorf("status %d, problem %+v", r.status, p)
				}
				if want.Status == 405 && r.header.Get("Allow") != "GET" {
					t.Errorf("Allow: %q", r.header.Get("Allow"))
				}
			})
		}
		if diff := cmp.Diff(before, viewOf(t, w, "acme")); diff != "" {
			t.Errorf("hostile requests changed acme (-before +after):\n%s", diff)
		}
	})
}

// TestPanicRecovered: a panic in the host's function (or anywhere under
// the handler) is answered with a bare 500 problem that says nothing of
// it, and logged with the request's ID and the stack.
func TestPanicRecovered(t *testing.T) {
	w := newWorld(t, "memory", claimhttp.Options{Org: func(*http.Request) (claim.OrgID, error) { panic("secret: db password is hunter2") }})
	r := serve(t, w.admin, "GET", "/org", nil, "X-Request-ID", "req-42")
	p := r.problem(t)
	if r.status != 500 || p.Code != "internal" || strings.Contains(string(r.body), "hunter2") || p.Instance != "urn:claimkit:request:req-42" {
		t.Errorf("panic answered %d %s", r.status, r.body)
	}
	if r.header.Get("X-Request-ID") != "req-42" {
		t.Errorf("X-Request-ID %q", r.header.Get("X-Request-ID"))
	}
	logs := logLines(w, "req-42")
	if len(logs) != 1 || !strings.Contains(logs[0], "level=ERROR") || !strings.Contains(logs[0], "hunter2") || !strings.Contains(logs[0], "goroutine") {
		t.Errorf("want one ERROR line with the panic and its stack, got %d:\n%s", len(logs), strings.Join(logs, "\n"))
	}
}

// logLines returns the log lines of the request with the ID, but for the
// Debug line of every request's end.
func logLines(w *world, id string) []string {
	var out []string
	for _, l := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(l, "request_id="+id+" ") && !strings.Contains(l, `msg="request served"`) {
			out = append(out, l)
		}
	}
	return out
}

// TestFailureLoggedOnce: a refused request is one log line, at the level
// its status deserves (Info for a 4xx), with the host's reason for a
// caller it refused; the problem does not carry that reason.
func TestFailureLoggedOnce(t *testing.T) {
	w := newWorld(t, "memory", claimhttp.Options{})
	for _, c := range []struct {
		name, id string
		h        http.Handler
		target   string
		hdr      []string
		status   int
		reason   string // in the log line, not in the problem
	}{
		{"no org", "no-org", w.admin, "/org", nil, 403, "no X-Org header"},
		{"no user", "no-user", w.user, "/me", nil, 403, "no X-User header"},
		{"unknown user", "no-such-user", w.admin, "/users/nobody", []string{"X-Org", "acme"}, 404, ""},
	} {
		r := serve(t, c.h, "GET", c.target, nil, append([]string{"X-Request-ID", c.id}, c.hdr...)...)
		p := r.problem(t)
		if r.status != c.status || c.reason != "" && strings.Contains(string(r.body), c.reason) {
			t.Errorf("%s: answered %d %s", c.name, r.status, r.body)
		}
		logs := logLines(w, c.id)
		if len(logs) != 1 || !strings.Contains(logs[0], "level=INFO") || !strings.Contains(logs[0], "code="+p.Code) ||
			!strings.Contains(logs[0], c.reason) {
			t.Errorf("%s: want one INFO line with code %s and %q, got %d:\n%s", c.name, p.Code, c.reason, len(logs), strings.Join(logs, "\n"))
		}
	}
}

// TestRequestIDs: a sane X-Request-ID is kept; one that is not (too
// long, or holding characters that could forge log lines) is replaced;
// every refused request is logged with its ID.
func TestRequestIDs(t *testing.T) {
	w := newWorld(t, "memory", claimhttp.Options{})
	r := serve(t, w.admin, "GET", "/users/nobody", nil, "X-Org", "acme", "X-Request-ID", "abc-123")
	if r.header.Get("X-Request-ID") != "abc-123" || r.problem(t).Instance != "urn:claimkit:request:abc-123" {
		t.Errorf("kept ID: %q %s", r.header.Get("X-Request-ID"), r.body)
	}
	if !strings.Contains(w.logs.String(), "request_id=abc-123") {
		t.Errorf("log without the request ID:\n%s", w.logs)
	}
	for _, bad := range []string{strings.Repeat("a", 65), "x\" level=ERROR msg=forged", "a b"} {
		r := serve(t, w.admin, "GET", "/org", nil, "X-Org", "acme", "X-Request-ID", bad)
		if id := r.header.Get("X-Request-ID"); id == bad || len(id) != 24 {
			t.Errorf("ID %q replaced by %q", bad, id)
		}
	}
}

// TestCanceledClient: a client that goes away during a long poll or a
// claim ends its request; the claim leaves no trace when it was cancelled
// before it committed.
func TestCanceledClient(t *testing.T) {
	forEachStore(t, claimhttp.Options{}, func(t *testing.T, w *world) {
		srv := httptest.NewServer(w.admin)
		defer srv.Close()
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events?wait=30s&after=1000000", nil)
		req.Header.Set("X-Org", "acme")
		errc := make(chan error, 1)
		begun := time.Now()
		go func() {
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
			}
			errc <- err
		}()
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("the cancelled long poll ended with %v", err)
		}
		// The server ends the request: its log line comes well before the wait would.
		for !strings.Contains(w.logs.String(), "code=canceled") {
			if time.Since(begun) > 20*time.Second {
				t.Fatalf("the server did not end the cancelled request:\n%s", w.logs)
			}
			time.Sleep(10 * time.Millisecond)
		}

		// A claim whose client is already gone is not made.
		before := viewOf(t, w, "acme")
		ctx, cancel = context.WithCancel(t.Context())
		cancel()
		body := fmt.Sprintf(`{"userIds":[%q],"acknowledge":true}`, w.id["ann@acme.example"])
		req = httptest.NewRequestWithContext(ctx, "POST", "/claims", strings.NewReader(body))
		req.Header.Set("X-Org", "acme")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		w.admin.ServeHTTP(rec, req)
		if rec.Code != 499 {
			t.Errorf("a cancelled claim answered %d %s", rec.Code, rec.Body)
		}
		if diff := cmp.Diff(before, viewOf(t, w, "acme")); diff != "" {
			t.Errorf("a cancelled claim changed acme:\n%s", diff)
		}
	})
}

// TestChunkedUploadOverLimit: an upload without a Content-Length is cut
// at the limit while it streams: a 413 problem, and nothing claimed.
func TestChunkedUploadOverLimit(t *testing.T) {
	forEachStore(t, claimhttp.Options{MaxUploadBytes: 512}, func(t *testing.T, w *world) {
		before := viewOf(t, w, "acme")
		body := "First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim\n,,,ann@acme.example,Not Verified,Delayed,TRUE\n" +
			strings.Repeat(",,,nobody@acme.example,Not Verified,Delayed,TRUE\n", 20)
		for _, target := range []string{"/import?acknowledge=true", "/sync?full=true"} {
			ctype := "text/csv"
			if strings.HasPrefix(target, "/sync") {
				ctype = "application/x-ndjson"
				body = strings.Repeat(`{"Email":"amy@acme.example"}`+"\n", 40)
			}
			req := httptest.NewRequestWithContext(t.Context(), "POST", target, io.MultiReader(strings.NewReader(body)))
			req.ContentLength = -1
			req.Header.Set("X-Org", "acme")
			req.Header.Set("Content-Type", ctype)
			rec := httptest.NewRecorder()
			w.admin.ServeHTTP(rec, req)
			checkResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
			if rec.Code != 413 || !strings.Contains(rec.Body.String(), `"code":"body_too_large"`) {
				t.Errorf("%s: %d %s", target, rec.Code, rec.Body)
			}
		}
		if diff := cmp.Diff(before, viewOf(t, w, "acme")); diff != "" {
			t.Errorf("a cut upload changed acme:\n%s", diff)
		}
	})
}

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
