package claimhttp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
	"github.com/claimkit/claim/claimtest"
	"github.com/claimkit/claim/internal/pgtest"
	"github.com/claimkit/claim/postgres"
)

// The OpenAPI validator of every response the tests get (checkResponse).
var (
	validatorOnce sync.Once
	docValidator  validator.Validator
)

// openAPIValidator returns the validator of the embedded document,
// failing t if the document is not a valid OpenAPI 3.1 document.
func openAPIValidator(t testing.TB) validator.Validator {
	t.Helper()
	var err error
	validatorOnce.Do(func() {
		doc, derr := libopenapi.NewDocument(claimhttp.OpenAPI())
		if derr != nil {
			err = derr
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			err = errors.Join(errs...)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			for _, e := range verrs {
				err = errors.Join(err, errors.New(e.Message+": "+e.Reason))
			}
			return
		}
		docValidator = v
	})
	if err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	if docValidator == nil {
		t.Fatal("the OpenAPI document failed to load in an earlier test")
	}
	return docValidator
}

// checkResponse fails t when a response does not match the OpenAPI
// document (responseErrors).
func checkResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if msgs := responseErrors(t, req, status, header, body); len(msgs) > 0 {
		t.Errorf("%s %s: response %d %s does not match the OpenAPI document:\n%s\nbody: %.600s",
			req.Method, req.URL, status, header.Get("Content-Type"), strings.Join(msgs, "\n"), body)
	}
}

// responseErrors validates a response against the OpenAPI document: a
// documented route's response with the validator; the problem of an
// undocumented route or method (404 route_not_found, 405) field by field.
// It returns what does not match.
func responseErrors(t testing.TB, req *http.Request, status int, header http.Header, body []byte) []string {
	t.Helper()
	v := openAPIValidator(t)
	resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	ok, errs := v.ValidateHttpResponse(req, resp)
	if ok {
		return nil
	}
	var p claimhttp.Problem
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err == nil && (p.Code == claimhttp.CodeRouteNotFound || p.Code == claimhttp.CodeMethodNotAllowed) &&
			p.Type == claimhttp.TypePrefix+p.Code && p.Status == status &&
			header.Get("Content-Type") == "application/problem+json" {
			return nil
		}
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Message+": "+e.Reason)
		for _, se := range e.SchemaValidationErrors {
			msgs = append(msgs, "  "+se.Reason+" at "+se.FieldPath+" ("+se.KeywordLocation+")")
		}
	}
	return msgs
}

// world is a Service holding a small data set, with the admin and user
// handlers over it. The host's authentication is a stand-in: the org of
// an admin request is its X-Org header, the user of a user request its
// X-User header.
type world struct {
	svc   *claim.Service
	clock *claimtest.Clock
	dns   *claimtest.Resolver
	admin http.Handler
	user  http.Handler
	logs  *syncBuffer
	id    map[string]claim.UserID // user IDs by address
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (the log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// stores returns the stores to run a test on: memory, and PostgreSQL
// when CLAIM_POSTGRES_DSN is set.
func stores() []string { return []string{"memory", "postgres"} }

// newStore returns a fresh store of the kind.
func newStore(t testing.TB, kind string) claim.Store {
	t.Helper()
	if kind == "memory" {
		return claim.NewMemoryStore()
	}
	_, pool := pgtest.Schema(t, "claimhttp")
	st := postgres.New(pool)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// newWorld fills a store of the kind with the data set:
//
//   - acme (Enterprise, content migration on, licenses Meetings) has
//     verified acme.example; amy@acme.example is its member;
//   - globex (Enterprise) has verified globex.example; gus@ and gia@ are
//     its members;
//   - home (Individual, 2019) has ann@, bob@ and cy@acme.example
//     (claimable by acme with a delayed claim) and hal@globex.example;
//   - initech (Enterprise, SSO) has dee@acme.example (refused: source_sso).
func newWorld(t testing.TB, kind string, opts claimhttp.Options) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{clock: claimtest.NewClock(start), dns: claimtest.NewResolver(), logs: &syncBuffer{}, id: map[string]claim.UserID{}}
	var err error
	w.svc, err = claim.New(newStore(t, kind), claim.WithClock(w.clock), claim.WithResolver(w.dns), claim.WithFollowPoll(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []claim.Org{
		{ID: "acme", Name: "Acme Inc.", Kind: claim.Enterprise, Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}}},
		{ID: "globex", Name: "Globex", Kind: claim.Enterprise},
		{ID: "home", Name: "Home", Kind: claim.Individual, CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "initech", Name: "Initech", Kind: claim.Enterprise, Settings: claim.Settings{SSO: true}},
	} {
		_, err := w.svc.CreateOrg(ctx, o)
		must(err)
	}
	for org, d := range map[claim.OrgID]string{"acme": "acme.example", "globex": "globex.example"} {
		tok, err := w.svc.StartDomainVerification(ctx, org, d)
		must(err)
		w.dns.Set(d, tok)
		must(w.svc.ConfirmDomain(ctx, org, d))
	}
	for _, u := range []struct {
		org   claim.OrgID
		email string
	}{
		{"acme", "amy@acme.example"}, {"globex", "gus@globex.example"}, {"globex", "gia@globex.example"},
		{"home", "ann@acme.example"}, {"home", "bob@acme.example"}, {"home", "cy@acme.example"},
		{"home", "hal@globex.example"}, {"initech", "dee@acme.example"},
	} {
		nu, err := w.svc.AddUser(ctx, u.org, claim.NewUser{Email: u.email, Content: 3})
		must(err)
		w.id[u.email] = nu.ID
	}
	w.clock.Advance(time.Hour)
	h := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.Logger == nil {
		opts.Logger = h
	}
	if opts.Org == nil {
		opts.Org = func(r *http.Request) (claim.OrgID, error) {
			if o := r.Header.Get("X-Org"); o != "" {
				return claim.OrgID(o), nil
			}
			return "", errors.New("no X-Org header")
		}
	}
	w.admin, err = claimhttp.NewHandler(w.svc, opts)
	must(err)
	w.user, err = claimhttp.NewUserHandler(w.svc, claimhttp.UserOptions{Logger: h, User: func(r *http.Request) (claim.UserID, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return claim.UserID(u), nil
		}
		return "", errors.New("no X-User header")
	}})
	must(err)
	return w
}

// reply is a response as the tests read it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes the reply as a problem, failing t if it is not one.
func (r reply) problem(t *testing.T) claimhttp.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d, Content-Type %q, want a problem; body %s", r.status, ct, r.body)
	}
	var p claimhttp.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// decode decodes a JSON reply of status want into v.
func (r reply) decode(t *testing.T, want int, v any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("%v; body %s", err, r.body)
		}
	}
}

// serve sends a request to h and checks the response against the
// OpenAPI document, and the request too when it succeeded (a request the
// handler accepts must be one the document describes). hdr holds headers
// as name, value pairs.
func serve(t *testing.T, h http.Handler, method, target string, body io.Reader, hdr ...string) reply {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = io.ReadAll(body)
	}
	newReq := func() *http.Request {
		var r io.Reader
		if raw != nil {
			r = bytes.NewReader(raw)
		}
		req := httptest.NewRequestWithContext(t.Context(), method, target, r)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return req
	}
	req := newReq()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	checkResponse(t, req, res.StatusCode, res.Header, b)
	if res.StatusCode < 400 {
		if ok, errs := openAPIValidator(t).ValidateHttpRequest(newReq()); !ok {
			for _, e := range errs {
				t.Errorf("%s %s: the handler accepted a request the OpenAPI document does not describe: %s: %s", method, target, e.Message, e.Reason)
			}
		}
	}
	return reply{status: res.StatusCode, header: res.Header, body: b}
}

// as sends an admin request of org to the world's admin handler; a
// non-nil body is JSON (a string or []byte is sent as it is).
func (w *world) as(t *testing.T, org claim.OrgID, method, target string, body any) reply {
	t.Helper()
	var r io.Reader
	hdr := []string{"X-Org", string(org)}
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
		hdr = append(hdr, "Content-Type", "application/json")
	case []byte:
		r = bytes.NewReader(b)
		hdr = append(hdr, "Content-Type", "application/json")
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
		hdr = append(hdr, "Content-Type", "application/json")
	}
	return serve(t, w.admin, method, target, r, hdr...)
}

// forEachStore runs f on a fresh world of each store.
func forEachStore(t *testing.T, opts claimhttp.Options, f func(t *testing.T, w *world)) {
	for _, kind := range stores() {
		t.Run(kind, func(t *testing.T) { f(t, newWorld(t, kind, opts)) })
	}
}
