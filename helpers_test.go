package claim_test

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
	"github.com/claimkit/claim/postgres"
)

// ---- Services and the world they hold: the env every test builds on, the
// must helpers that fail the test on an error, and snapshots.

// t0 is the fixed start of every test clock: a Monday in 2026.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// oldOrgDate is before Policy.DelayedClaimCutoff: users of Individual orgs
// created then are delayed-eligible (M2).
var oldOrgDate = time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)

const window = 14 * 24 * time.Hour

// env is a service on a fresh memory store with a fake clock and resolver.
type env struct {
	svc   *claim.Service
	clock *claimtest.Clock
	dns   *claimtest.Resolver
	ctx   context.Context
}

func newEnv(tb testing.TB, opts ...claim.Option) *env {
	tb.Helper()
	return newEnvOn(tb, claim.NewMemoryStore(), opts...)
}

func newEnvOn(tb testing.TB, store claim.Store, opts ...claim.Option) *env {
	tb.Helper()
	e := &env{clock: claimtest.NewClock(t0), dns: claimtest.NewResolver(), ctx: context.Background()}
	opts = append([]claim.Option{claim.WithClock(e.clock), claim.WithResolver(e.dns)}, opts...)
	svc, err := claim.New(store, opts...)
	if err != nil {
		tb.Fatalf("New() = %v", err)
	}
	e.svc = svc
	return e
}

// mustOrg creates an org with the ID, kind and settings.
func (e *env) mustOrg(tb testing.TB, id claim.OrgID, kind claim.OrgKind, created time.Time, st claim.Settings) claim.Org {
	tb.Helper()
	o, err := e.svc.CreateOrg(e.ctx, claim.Org{ID: id, Name: "Org " + string(id), Kind: kind, CreatedAt: created, Settings: st})
	if err != nil {
		tb.Fatalf("CreateOrg(%s) = %v", id, err)
	}
	return o
}

// mustVerify verifies domain for org through the static resolver.
func (e *env) mustVerify(tb testing.TB, org claim.OrgID, domain string) {
	tb.Helper()
	tok, err := e.svc.StartDomainVerification(e.ctx, org, domain)
	if err != nil {
		tb.Fatalf("StartDomainVerification(%s, %s) = %v", org, domain, err)
	}
	e.dns.Set(domain, append([]string{"unrelated"}, tok)...)
	if err := e.svc.ConfirmDomain(e.ctx, org, domain); err != nil {
		tb.Fatalf("ConfirmDomain(%s, %s) = %v", org, domain, err)
	}
}

// mustUser adds a user with the address and content to org.
func (e *env) mustUser(tb testing.TB, org claim.OrgID, email string, content int) claim.User {
	tb.Helper()
	u, err := e.svc.AddUser(e.ctx, org, claim.NewUser{Email: email, FirstName: "F", LastName: "L", Content: content})
	if err != nil {
		tb.Fatalf("AddUser(%s, %s) = %v", org, email, err)
	}
	return u
}

// mustActive adds a user and makes it Active (verified and signed in).
func (e *env) mustActive(tb testing.TB, org claim.OrgID, email string, content int) claim.User {
	tb.Helper()
	u := e.mustUser(tb, org, email, content)
	if _, err := e.svc.VerifyEmail(e.ctx, u.ID); err != nil {
		tb.Fatalf("VerifyEmail(%s) = %v", email, err)
	}
	u, err := e.svc.SignIn(e.ctx, u.ID)
	if err != nil {
		tb.Fatalf("SignIn(%s) = %v", email, err)
	}
	return u
}

// mustClaim claims ids into org and fails unless every one is claimed.
func (e *env) mustClaim(tb testing.TB, org claim.OrgID, opts claim.ClaimOptions, ids ...claim.UserID) []claim.Result {
	tb.Helper()
	opts.Acknowledge = true
	res, err := e.svc.ClaimUsers(e.ctx, org, ids, opts)
	if err != nil {
		tb.Fatalf("ClaimUsers(%s, %v) = %v", org, ids, err)
	}
	for _, r := range res {
		if r.Err != nil {
			tb.Fatalf("ClaimUsers(%s): %s: %v", org, r.Input, r.Err)
		}
	}
	return res
}

// mustGet returns the user.
func (e *env) mustGet(tb testing.TB, id claim.UserID) claim.User {
	tb.Helper()
	u, err := e.svc.User(e.ctx, id)
	if err != nil {
		tb.Fatalf("User(%s) = %v", id, err)
	}
	return u
}

func mustSignIn(tb testing.TB, e *env, id claim.UserID) {
	tb.Helper()
	if _, err := e.svc.SignIn(e.ctx, id); err != nil {
		tb.Fatalf("SignIn(%s) = %v", id, err)
	}
}

func mustClaimDomain(tb testing.TB, e *env, org claim.OrgID, domain string) {
	tb.Helper()
	if err := e.svc.ClaimDomain(e.ctx, org, domain); err != nil {
		tb.Fatalf("ClaimDomain(%s, %s) = %v", org, domain, err)
	}
}

func mustChoose(tb testing.TB, e *env, id claim.UserID, ch claim.Choice) {
	tb.Helper()
	if _, err := e.svc.Choose(e.ctx, id, ch); err != nil {
		tb.Fatalf("Choose(%s, %+v) = %v", id, ch, err)
	}
}

func mustRetract(tb testing.TB, e *env, org claim.OrgID, id claim.UserID) {
	tb.Helper()
	if err := e.svc.Retract(e.ctx, org, id); err != nil {
		tb.Fatalf("Retract(%s, %s) = %v", org, id, err)
	}
}

func mustDeactivate(tb testing.TB, e *env, org claim.OrgID, id claim.UserID) {
	tb.Helper()
	if _, err := e.svc.Deactivate(e.ctx, org, id); err != nil {
		tb.Fatalf("Deactivate(%s, %s) = %v", org, id, err)
	}
}

func mustSettings(tb testing.TB, e *env, org claim.OrgID, st claim.Settings) {
	tb.Helper()
	if err := e.svc.UpdateSettings(e.ctx, org, st); err != nil {
		tb.Fatalf("UpdateSettings(%s) = %v", org, err)
	}
}

// claimSingle claims one input into org with the acknowledgement and
// returns its Result.Err. A call-level error is reported as an error that
// wraps no sentinel, so a row wanting a per-user refusal fails on it.
func claimSingle(e *env, org claim.OrgID, input string, byEmail bool) error {
	var res []claim.Result
	var err error
	opts := claim.ClaimOptions{Acknowledge: true}
	if byEmail {
		res, err = e.svc.ClaimEmails(e.ctx, org, []string{input}, opts)
	} else {
		res, err = e.svc.ClaimUsers(e.ctx, org, []claim.UserID{claim.UserID(input)}, opts)
	}
	if err != nil {
		return fmt.Errorf("call-level error instead of a result: %v", err)
	}
	if len(res) != 1 {
		return fmt.Errorf("%d results, want 1", len(res))
	}
	return res[0].Err
}

// world is everything observable: the users of the given orgs (in e-mail
// order) and the whole event log.
type world struct {
	Users  map[claim.OrgID][]claim.User
	Events []claim.Event
}

// snapshot reads the world; orgs that do not exist are recorded as nil.
func (e *env) snapshot(tb testing.TB, orgs ...claim.OrgID) world {
	tb.Helper()
	w := world{Users: make(map[claim.OrgID][]claim.User)}
	for _, o := range orgs {
		var us []claim.User
		for u, err := range e.svc.Users(e.ctx, o) {
			if err != nil {
				us = nil
				break
			}
			us = append(us, u)
		}
		w.Users[o] = us
	}
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			tb.Fatalf("Events() = %v", err)
		}
		w.Events = append(w.Events, ev)
	}
	return w
}

// unchanged fails unless the world of orgs is as before.
func (e *env) unchanged(tb testing.TB, before world, orgs ...claim.OrgID) {
	tb.Helper()
	if diff := cmp.Diff(before, e.snapshot(tb, orgs...), claimtest.CmpOptions()); diff != "" {
		tb.Errorf("state changed by a refused operation (-before +after):\n%s", diff)
	}
}

// orgRecords is what a snapshot leaves out: org records and domain records.
type orgRecords struct {
	Orgs    map[claim.OrgID]claim.Org
	Domains map[claim.OrgID][]claim.Domain
}

func orgRecordsOf(tb testing.TB, e *env) orgRecords {
	tb.Helper()
	r := orgRecords{Orgs: map[claim.OrgID]claim.Org{}, Domains: map[claim.OrgID][]claim.Domain{}}
	for _, id := range refusalOrgs {
		if o, err := e.svc.Org(e.ctx, id); err == nil {
			r.Orgs[id] = o
		}
		if ds, err := e.svc.Domains(e.ctx, id); err == nil {
			r.Domains[id] = ds
		}
	}
	return r
}

// lastSeq is the number of the last event.
func lastSeq(tb testing.TB, e *env) uint64 {
	tb.Helper()
	var last uint64
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			tb.Fatalf("Events = %v", err)
		}
		last = ev.Seq
	}
	return last
}

// countEvents counts the events of a type in the log.
func countEvents(tb testing.TB, e *env, typ string) int {
	tb.Helper()
	n := 0
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			tb.Fatalf("Events() = %v", err)
		}
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// firstErr returns the first error of an iterator (nil if none).
func firstErr[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

var ack = claim.ClaimOptions{Acknowledge: true}

// ---- Refusals (must-show item 4), tested in the file of each
// operation's unit: every refusal of the rules in docs/rules.md — and
// the input rules of section 2, G1 and the Policy — is checked with
// errors.Is against its sentinel, and the world (users of every org, the
// whole event log, org records and domain records) is compared before and
// after: a refused operation changes nothing (N3, O2).

// refusalOrgs are the orgs a refusal row may touch; snapshots cover all of them
// (an org that does not exist is recorded as absent).
var refusalOrgs = []claim.OrgID{"a", "b", "c", "i", "zz"}

// rowFixture is the common world of a row: org a (Enterprise, has not verified
// example.com) with ann (Active, 7 content items) and nora (Not
// Verified); org b (Enterprise) has verified example.com; org c
// (Enterprise) has verified nothing.
type rowFixture struct {
	ann, nora claim.User
}

func baseFixture(tb testing.TB, e *env) rowFixture {
	tb.Helper()
	e.mustOrg(tb, "a", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustOrg(tb, "b", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustOrg(tb, "c", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustVerify(tb, "b", "example.com")
	return rowFixture{
		ann:  e.mustActive(tb, "a", "ann@example.com", 7),
		nora: e.mustUser(tb, "a", "nora@example.com", 2),
	}
}

// claimedFixture is baseFixture with ann claimed (immediately) by b.
func claimedFixture(tb testing.TB, e *env) (rowFixture, claim.User) {
	tb.Helper()
	f := baseFixture(tb, e)
	e.mustClaim(tb, "b", claim.ClaimOptions{}, f.ann.ID)
	u := e.mustGet(tb, f.ann.ID)
	if u.Claim == nil || u.Claim.Mode != claim.Immediate {
		tb.Fatalf("claim of %s = %+v, want a pending Immediate claim", u.Email, u.Claim)
	}
	return f, u
}

// delayedFixture is baseFixture plus org i (Individual, created before the cutoff)
// with ivy (Active, 3 content items), claimed by b with a delayed claim
// (b allows content migration).
func delayedFixture(tb testing.TB, e *env) (rowFixture, claim.User) {
	tb.Helper()
	f := baseFixture(tb, e)
	e.mustOrg(tb, "i", claim.Individual, oldOrgDate, claim.Settings{})
	ivy := e.mustActive(tb, "i", "ivy@example.com", 3)
	mustSettings(tb, e, "b", claim.Settings{AllowContentMigration: true})
	res := e.mustClaim(tb, "b", claim.ClaimOptions{}, ivy.ID)
	if res[0].Mode != claim.Delayed {
		tb.Fatalf("ClaimUsers(b, ivy) mode = %v, want Delayed", res[0].Mode)
	}
	return f, e.mustGet(tb, ivy.ID)
}

// longDomain is a valid 180-octet domain: labels of 63, 63, 48 and 3.
var longDomain = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 48) + ".com"

// longAddr returns an address of n octets on longDomain (n between
// 183 and 245, so that the local part stays within 64).
func longAddr(n int) string {
	return strings.Repeat("x", n-1-len(longDomain)) + "@" + longDomain
}

// domainOfLen returns a valid-looking domain of exactly n octets whose
// labels are at most label octets long.
func domainOfLen(n, label int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		l := min(label, n-b.Len())
		b.WriteString(strings.Repeat(string(rune('a'+b.Len()%26)), l))
	}
	s := b.String()
	if strings.HasSuffix(s, ".") || len(s) != n {
		panic(fmt.Sprintf("domainOfLen(%d, %d) = %q", n, label, s))
	}
	return s
}

// refusalCase is one refusal: after setup, call must fail with want and change
// nothing.
type refusalCase struct {
	reason string                                  // the rule ID and a sentence
	op     string                                  // the call, for messages: "SignIn(nora)"
	opts   []claim.Option                          // options of the Service, if any
	setup  func(t *testing.T, e *env) func() error // builds the world; returns the refused call
	want   error                                   // the sentinel

	field   string         // when set: the error is an *InputError naming this field
	also    []error        // sentinels the error must also match
	not     []error        // sentinels the error must not match
	retract []error        // when set: the error is a *RetractError with exactly these Reasons
	reasons []claim.Reason // when set: the error is a *RefusalError with exactly these Reasons
}

func runRefusals(t *testing.T, cases []refusalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			call := c.setup(t, e)
			before, rest := e.snapshot(t, refusalOrgs...), orgRecordsOf(t, e)

			err := call()

			if !errors.Is(err, c.want) {
				t.Errorf("%s = %v, want %v", c.op, err, c.want)
			}
			checkRefusal(t, c, err)
			e.unchanged(t, before, refusalOrgs...)
			if diff := cmp.Diff(rest, orgRecordsOf(t, e), claimtest.CmpOptions()); diff != "" {
				t.Errorf("orgs or domains changed by a refused %s (-before +after):\n%s", c.op, diff)
			}
		})
	}
}

func checkRefusal(t *testing.T, c refusalCase, err error) {
	t.Helper()
	for _, s := range c.also {
		if !errors.Is(err, s) {
			t.Errorf("%s = %v, want it to match %v too", c.op, err, s)
		}
	}
	for _, s := range c.not {
		if errors.Is(err, s) {
			t.Errorf("%s = %v, must not report %v", c.op, err, s)
		}
	}
	if c.field != "" {
		var ie *claim.InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s = %v (%T), want an *InputError naming %s", c.op, err, err, c.field)
		} else if ie.Field != c.field {
			t.Errorf("%s: InputError.Field = %q, want %q", c.op, ie.Field, c.field)
		}
	}
	if c.retract != nil {
		var re *claim.RetractError
		if !errors.As(err, &re) {
			t.Errorf("%s = %v (%T), want a *RetractError", c.op, err, err)
		} else if diff := cmp.Diff(c.retract, re.Reasons, claimtest.CmpOptions()); diff != "" || len(c.retract) != len(re.Reasons) {
			t.Errorf("%s: RetractError.Reasons = %v, want %v (R7 order)", c.op, re.Reasons, c.retract)
		} else {
			for i := range c.retract {
				if re.Reasons[i] != c.retract[i] {
					t.Errorf("%s: RetractError.Reasons[%d] = %v, want %v", c.op, i, re.Reasons[i], c.retract[i])
				}
			}
		}
	}
	if c.reasons != nil {
		var re *claim.RefusalError
		if !errors.As(err, &re) {
			t.Errorf("%s = %v (%T), want a *RefusalError", c.op, err, err)
		} else if diff := cmp.Diff(c.reasons, re.Reasons); diff != "" {
			t.Errorf("%s: RefusalError.Reasons mismatch (-want +got):\n%s", c.op, diff)
		}
	}
}

// editPolicy returns WithPolicy of the default policy changed by edit.
func editPolicy(edit func(*claim.Policy)) claim.Option {
	p := claim.DefaultPolicy()
	edit(&p)
	return claim.WithPolicy(p)
}

// checkInputError fails unless err is an *InputError wrapping sentinel
// with a bounded message and value.
func checkInputError(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	var ie *claim.InputError
	if !errors.As(err, &ie) || !errors.Is(err, sentinel) {
		t.Fatalf("%s = %v (%T), want an *InputError wrapping %v", what, err, err, sentinel)
	}
	if len(err.Error()) > maxErrorBytes || len(ie.Value) > 64 {
		t.Fatalf("%s: a message of %d bytes and a Value of %d, want at most %d and 64", what, len(err.Error()), len(ie.Value), maxErrorBytes)
	}
}

// maxErrorBytes bounds the message of any *InputError: a 64-byte prefix
// quoted (at most four bytes a byte), a bounded reason, the field and
// the sentinel.
const maxErrorBytes = 1024

// ---- Races: a fresh world per run, and functions released at once.

func newRace(t *testing.T, mode claim.Mode, prev claim.State, claimIt bool) *raceWorld {
	t.Helper()
	e := newEnv(t)
	e.mustOrg(t, "a", claim.Individual, oldOrgDate, claim.Settings{AutoLicenses: []string{"Messaging"}})
	for _, b := range []claim.OrgID{"b", "c"} {
		e.mustOrg(t, b, claim.Enterprise, t0, claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}})
		e.mustVerify(t, b, "race.example")
	}
	var u claim.User
	switch prev {
	case claim.NotVerified: // a has not verified the domain
		u = e.mustUser(t, "a", "pat@race.example", 30)
	case claim.Verified:
		u = e.mustUser(t, "a", "pat@race.example", 30)
		var err error
		if u, err = e.svc.VerifyEmail(e.ctx, u.ID); err != nil {
			t.Fatalf("VerifyEmail() = %v", err)
		}
	case claim.Active:
		u = e.mustActive(t, "a", "pat@race.example", 30)
	}
	e.clock.Advance(time.Hour)
	r := &raceWorld{e: e, u: e.mustGet(t, u.ID), mode: mode}
	if claimIt {
		res := e.mustClaim(t, "b", claim.ClaimOptions{ImmediateOnly: mode == claim.Immediate}, u.ID)
		if res[0].Mode != mode {
			t.Fatalf("claim mode = %v, want %v", res[0].Mode, mode)
		}
		o, err := e.svc.UserByEmail(e.ctx, u.Email+claim.OriginalSuffix)
		if err != nil {
			t.Fatalf("original: %v", err)
		}
		r.orig = o.ID
	}
	return r
}

// raceWorld is a fresh world for one race: org "a" (an Individual org from
// 2019: delayed-eligible), claiming orgs "b" and "c" that have verified
// the domain, and one user of a, claimed by b unless told otherwise.
type raceWorld struct {
	e    *env
	u    claim.User // the user before the claim
	orig claim.UserID
	mode claim.Mode
}

const raceRuns = 100

// runTogether runs the functions at once, released by one barrier.
func runTogether(fns ...func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, fn := range fns {
		wg.Go(func() {
			<-start
			fn()
		})
	}
	close(start)
	wg.Wait()
}

// ---- Stores: a failing store, a PostgreSQL store per test, and a dump of a
// store's records for dry-run comparisons.

// faultStore decorates a Store: the n-th write of an Update (counted from
// 1 across the Update's Tx calls) fails with err. It shows the Store and
// Tx interfaces can be wrapped, and lets tests break any write.
type faultStore struct {
	claim.Store
	failAt int   // 0: never
	err    error // what the failing write returns
}

func (s *faultStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	return s.Store.Update(ctx, func(tx claim.Tx) error {
		return fn(&faultTx{Tx: tx, s: s})
	})
}

type faultTx struct {
	claim.Tx
	s      *faultStore
	writes int
}

func (t *faultTx) AppendEvent(e claim.Event) error {
	if err := t.fault(); err != nil {
		return err
	}
	return t.Tx.AppendEvent(e)
}

func (t *faultTx) CreateUser(u claim.User) error {
	if err := t.fault(); err != nil {
		return err
	}
	return t.Tx.CreateUser(u)
}

func (t *faultTx) DeleteUser(id claim.UserID) error {
	if err := t.fault(); err != nil {
		return err
	}
	return t.Tx.DeleteUser(id)
}

func (t *faultTx) UpdateUser(u claim.User) error {
	if err := t.fault(); err != nil {
		return err
	}
	return t.Tx.UpdateUser(u)
}

func (t *faultTx) fault() error {
	t.writes++
	if t.writes == t.s.failAt {
		return t.s.err
	}
	return nil
}

// postgresStore returns a migrated PostgreSQL store in a new schema, and
// a function that empties it: no orgs, domains, users, events or
// BroadWorks records, and the event sequence back at 1. The schema is dropped when the test ends.
func postgresStore(t *testing.T) (*postgres.Store, func(testing.TB)) {
	t.Helper()
	dsn := os.Getenv("CLAIM_POSTGRES_DSN")
	require := os.Getenv("CLAIM_REQUIRE_POSTGRES") == "1"
	if dsn == "" {
		if require {
			t.Fatal("CLAIM_REQUIRE_POSTGRES=1 but CLAIM_POSTGRES_DSN is not set")
		}
		t.Skip("CLAIM_POSTGRES_DSN is not set; skipping the PostgreSQL tests")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	admin, err := pgxpool.New(ctx, dsn)
	if err == nil {
		if err = admin.Ping(ctx); err != nil {
			admin.Close()
		}
	}
	if err != nil {
		if require {
			t.Fatalf("PostgreSQL at CLAIM_POSTGRES_DSN cannot be reached: %v", err)
		}
		t.Skipf("PostgreSQL at CLAIM_POSTGRES_DSN cannot be reached: %v", err)
	}
	t.Cleanup(admin.Close)

	var b [8]byte
	_, _ = crand.Read(b[:])
	schema := "claimtest_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("CREATE SCHEMA %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	store, err := postgres.Open(ctx, withSearchPath(dsn, schema))
	if err != nil {
		t.Fatalf("postgres.Open() = %v", err)
	}
	t.Cleanup(store.Close) // before the schema is dropped
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("Migrate() = %v", err)
	}

	var tables []string
	for _, name := range []string{"orgs", "domains", "users", "events", "bw_enterprises", "bw_subscribers", "bw_org_profiles", "sites", "site_access"} {
		tables = append(tables, pgx.Identifier{schema, name}.Sanitize())
	}
	// RESTART IDENTITY also restarts events_seq, which events.seq owns.
	truncate := "TRUNCATE " + strings.Join(tables, ", ") + " RESTART IDENTITY"
	return store, func(tb testing.TB) {
		tb.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, truncate); err != nil {
			tb.Fatalf("emptying the store: %v", err)
		}
	}
}

// withSearchPath returns dsn with its search_path set to schema.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// dumpStore reads the store's records of orgs through a Tx.
func dumpStore(tb testing.TB, store claim.Store, orgs ...claim.OrgID) storeDump {
	tb.Helper()
	d := storeDump{Orgs: map[claim.OrgID]claim.Org{}, Domains: map[claim.OrgID][]claim.Domain{}, Users: map[claim.OrgID][]claim.User{},
		Sites: map[claim.OrgID][]claim.Site{}, SiteAccess: map[claim.UserID][]claim.SiteAccess{}}
	err := store.View(context.Background(), func(tx claim.Tx) error {
		for _, o := range orgs {
			org, err := tx.Org(o)
			if err != nil && !errors.Is(err, claim.ErrNotFound) {
				return err
			}
			d.Orgs[o] = org
			if d.Domains[o], err = tx.Domains(o, "", 1000); err != nil {
				return err
			}
			for after := ""; ; {
				us, err := tx.UsersByOrg(o, after, 500)
				if err != nil {
					return err
				}
				d.Users[o] = append(d.Users[o], us...)
				for _, u := range us {
					as, err := tx.SiteAccessByUser(u.ID, "", 500)
					if err != nil {
						return err
					}
					if len(as) > 0 {
						d.SiteAccess[u.ID] = as
					}
				}
				if len(us) < 500 {
					break
				}
				after = us[len(us)-1].Email
			}
			if d.Sites[o], err = tx.SitesByOrg(o, "", 500); err != nil {
				return err
			}
		}
		for after := uint64(0); ; {
			evs, err := tx.Events(after, 500)
			if err != nil {
				return err
			}
			d.Events = append(d.Events, evs...)
			if len(evs) < 500 {
				return nil
			}
			after = evs[len(evs)-1].Seq
		}
	})
	if err != nil {
		tb.Fatalf("dumping the store: %v", err)
	}
	return d
}

// storeDump is everything a Store holds for the orgs: each org, its
// domain records and its users, and the whole event log. Comparing dumps
// compares the store itself, not what the Service shows.
type storeDump struct {
	Orgs       map[claim.OrgID]claim.Org
	Domains    map[claim.OrgID][]claim.Domain
	Users      map[claim.OrgID][]claim.User
	Sites      map[claim.OrgID][]claim.Site
	SiteAccess map[claim.UserID][]claim.SiteAccess
	Events     []claim.Event
}

// resultsView is a Result as a dry run is compared with: the error by its
// text and the sentinels it wraps.
type resultView struct {
	Input, User string
	Mode        claim.Mode
	Err         string
	Is          []string
}

var resultSentinels = []error{claim.ErrNotFound, claim.ErrNotEligible, claim.ErrInvalidEmail, claim.ErrInvalidValue,
	claim.ErrDuplicate, claim.ErrStaleMode}

func viewResults(rs []claim.Result) []resultView {
	out := make([]resultView, len(rs))
	for i, r := range rs {
		v := resultView{Input: r.Input, User: string(r.User), Mode: r.Mode}
		if r.Err != nil {
			v.Err = r.Err.Error()
			for _, s := range resultSentinels {
				if errors.Is(r.Err, s) {
					v.Is = append(v.Is, s.Error())
				}
			}
		}
		out[i] = v
	}
	return out
}

// ---- Property tests (rapid): the number of checks, testing.TB adapters, and
// the drawn orgs and users shared by the properties of several units.

// rapidChecks runs check in rapid checks, checks of them in all unless the
// caller chose rapid's number of checks, seed or fail file (see smRun).
func rapidChecks(t *testing.T, checks int, check func(rt *rapid.T)) {
	rounds, budget := 1, -1 // budget < 0: no limit
	if !rapidChecksChosen() {
		n := flag.Lookup("rapid.checks").Value.(flag.Getter).Get().(int)
		rounds = (checks + n - 1) / n
		budget = checks
		if testing.Short() {
			budget = max(1, checks/5)
		}
	}
	ran, failing := 0, false
	for range rounds {
		rapid.Check(t, func(rt *rapid.T) {
			if budget >= 0 && ran >= budget && !failing {
				return
			}
			ok := false
			defer func() {
				if !ok || rt.Failed() {
					failing = true
				}
			}()
			check(rt)
			ran++
			ok = true
		})
	}
	if !failing {
		t.Logf("ran %d checks", ran)
	}
}

// rapidChecksChosen reports whether the caller set rapid's number of checks,
// seed or fail file, by flag or by environment.
func rapidChecksChosen() bool {
	chosen := false
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rapid.checks", "rapid.seed", "rapid.failfile":
			chosen = true
		}
	})
	for _, v := range []string{"RAPID_CHECKS", "RAPID_SEED", "RAPID_FAILFILE"} {
		if _, ok := os.LookupEnv(v); ok {
			chosen = true
		}
	}
	return chosen
}

// expectErr fails unless err is want (nil: no error).
func expectErr(t *rapid.T, what string, err, want error) {
	t.Helper()
	if !claimtest.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}

// rapidCheck runs prop as a rapid property, handing it a testing.TB for the
// shared helpers.
func rapidCheck(t *testing.T, prop func(rt *rapid.T, tb testing.TB)) {
	t.Helper()
	rapid.Check(t, func(rt *rapid.T) { prop(rt, rapidTB{TB: t, rt: rt}) })
}

// rapidCheckPostgres runs prop as a rapid property checks times on a
// PostgreSQL store (see postgresStore), emptied before each check.
func rapidCheckPostgres(t *testing.T, checks int, prop func(rt *rapid.T, tb testing.TB, store claim.Store)) {
	t.Helper()
	store, empty := postgresStore(t)
	rapidChecks(t, checks, func(rt *rapid.T) {
		empty(t)
		prop(rt, rapidTB{TB: t, rt: rt}, store)
	})
}

// rapidTB lets the shared helpers, which take a testing.TB, report to a
// rapid.T: a failing helper fails the property, and rapid shrinks it.
// Methods not listed go to the test's own testing.TB.
type rapidTB struct {
	testing.TB
	rt *rapid.T
}

func (a rapidTB) Error(args ...any) { a.rt.Error(args...) }

func (a rapidTB) Errorf(format string, args ...any) { a.rt.Errorf(format, args...) }

func (a rapidTB) Fail() { a.rt.Fail() }

func (a rapidTB) FailNow() { a.rt.FailNow() }

func (a rapidTB) Failed() bool { return a.rt.Failed() }

func (a rapidTB) Fatal(args ...any) { a.rt.Fatal(args...) }

func (a rapidTB) Fatalf(format string, args ...any) { a.rt.Fatalf(format, args...) }

func (a rapidTB) Helper() {}

func (a rapidTB) Log(args ...any) { a.rt.Log(args...) }

func (a rapidTB) Logf(format string, args ...any) { a.rt.Logf(format, args...) }

func (a rapidTB) Skip(args ...any) { a.rt.Skip(args...) }

func (a rapidTB) SkipNow() { a.rt.SkipNow() }

func (a rapidTB) Skipf(format string, args ...any) { a.rt.Skipf(format, args...) }

// drawDur draws a duration in [lo, hi], each bound with probability about
// 1/3, together with the extra edges that lie inside.
func drawDur(t *rapid.T, label string, lo, hi time.Duration, edges ...time.Duration) time.Duration {
	gens := []*rapid.Generator[int64]{rapid.Just(int64(lo)), rapid.Just(int64(hi)), rapid.Int64Range(int64(lo), int64(hi))}
	for _, e := range edges {
		if e >= lo && e <= hi {
			gens = append(gens, rapid.Just(int64(e)))
		}
	}
	return time.Duration(rapid.OneOf(gens...).Draw(t, label))
}

// sourceKind is how a source org is drawn.
type sourceKind string

const (
	sourceIndividualOld sourceKind = "Individual, before the cutoff" // delayed-eligible (M2)
	sourceIndividualNew sourceKind = "Individual, at or after the cutoff"
	sourceEnterprise    sourceKind = "Enterprise"
	sourceConsumer      sourceKind = "Consumer"
)

var (
	delayedCutoff = claim.DefaultPolicy().DelayedClaimCutoff
	drawnLicenses = []string{"Meetings", "Messaging", "Calling", "Webinars"}
	drawnDomains  = []string{"example.com", "Corp.Example.ORG", "mail.test"}
)

// drawSettings draws settings that keep an org's users claimable (no SSO,
// no directory sync).
func drawSettings(t *rapid.T, label string, allowMigration bool) claim.Settings {
	return claim.Settings{
		AllowContentMigration: allowMigration,
		AutoLicenses:          rapid.SliceOfNDistinct(rapid.SampledFrom(drawnLicenses), 0, 3, rapid.ID[string]).Draw(t, label+" AutoLicenses"),
		Retention:             rapid.SampledFrom([]time.Duration{0, 30 * 24 * time.Hour, 365 * 24 * time.Hour}).Draw(t, label+" Retention"),
	}
}

// drawOrg creates an org of the drawn kind, with a creation date drawn for
// it: up to a nanosecond before the cutoff for sourceIndividualOld, from the
// cutoff on for the others.
func drawOrg(t *rapid.T, e *env, tb testing.TB, id claim.OrgID, kind sourceKind, st claim.Settings) {
	old := time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)
	var k claim.OrgKind
	var created time.Time
	switch kind {
	case sourceIndividualOld:
		k, created = claim.Individual, delayedCutoff.Add(-drawDur(t, string(id)+" age before cutoff", 1, delayedCutoff.Sub(old)))
	case sourceIndividualNew:
		k, created = claim.Individual, delayedCutoff.Add(drawDur(t, string(id)+" age after cutoff", 0, t0.Sub(delayedCutoff)))
	case sourceEnterprise:
		k, created = claim.Enterprise, delayedCutoff.Add(drawDur(t, string(id)+" created", -delayedCutoff.Sub(old), t0.Sub(delayedCutoff)))
	case sourceConsumer:
		k, created = claim.Consumer, old
	}
	e.mustOrg(tb, id, k, created, st)
}

var (
	allStates     = []claim.State{claim.NotVerified, claim.Verified, claim.Active, claim.Inactive}
	choicesByMode = map[claim.Mode][]claim.Action{claim.Delayed: {claim.ChangeEmail, claim.MigrateContent, claim.DeleteOriginal}, claim.Immediate: {claim.ChangeEmail, claim.DeleteOriginal}}
)

// noPurge keeps the sweep from purging inactive users within the times
// these properties draw (at most weeks): retraction is their subject,
// purging has its own tests (TestPurgeTiming, TestPurgeClaims).
func noPurge() claim.Option {
	p := claim.DefaultPolicy()
	p.InactivePurge = 10 * 365 * 24 * time.Hour
	return claim.WithPolicy(p)
}

const purgeAfter = 30 * 24 * time.Hour

// populateOn is populate on the given (empty) store.
func populateOn(t *rapid.T, tb testing.TB, store claim.Store, claimants ...claim.OrgID) *population {
	e := newEnvOn(tb, store, noPurge())
	e.clock.Set(t0.Add(drawDur(t, "start", 0, 365*24*time.Hour)))
	p := &population{e: e, tb: tb}
	drawOrg(t, e, tb, "p0", sourceEnterprise, drawSettings(t, "p0", rapid.Bool().Draw(t, "p0 AllowContentMigration")))
	e.mustVerify(tb, "p0", "d.example")
	drawOrg(t, e, tb, "a1", sourceIndividualOld, drawSettings(t, "a1", rapid.Bool().Draw(t, "a1 AllowContentMigration")))
	drawOrg(t, e, tb, "a2", rapid.SampledFrom([]sourceKind{sourceIndividualOld, sourceIndividualNew, sourceEnterprise, sourceConsumer}).Draw(t, "a2 kind"),
		drawSettings(t, "a2", false))
	e.mustOrg(tb, "sso", claim.Enterprise, t0, claim.Settings{SSO: true})
	p.orgs = []claim.OrgID{"a1", "a2", "sso", "p0"}
	for _, b := range claimants {
		drawOrg(t, e, tb, b, sourceEnterprise, drawSettings(t, string(b), rapid.Bool().Draw(t, string(b)+" AllowContentMigration")))
		e.mustVerify(tb, b, "d.example")
		p.orgs = append(p.orgs, b)
	}
	for _, o := range []claim.OrgID{"a1", "a2", "sso"} {
		if rapid.Bool().Draw(t, string(o)+" verifies d.example") {
			e.mustVerify(tb, o, "d.example")
		}
	}
	n := rapid.IntRange(2, 10).Draw(t, "users")
	for i := range n {
		org := rapid.SampledFrom(append([]claim.OrgID{"a1", "a2", "a1", "a2"}, p.orgs...)).Draw(t, "org")
		dom := rapid.SampledFrom([]string{"d.example", "d.example", "u.example"}).Draw(t, "user domain")
		email := string(rune('a'+i)) + rapid.StringMatching(`[a-z0-9]{0,6}`).Draw(t, "local part") + "@" + dom
		u := e.mustUser(tb, org, email, rapid.IntRange(0, 500).Draw(t, "content"))
		var err error
		if rapid.Bool().Draw(t, "verify") {
			e.clock.Advance(drawDur(t, "pause", 0, 10*24*time.Hour))
			if u, err = e.svc.VerifyEmail(e.ctx, u.ID); err != nil {
				t.Fatalf("VerifyEmail() = %v", err)
			}
		}
		if u.State == claim.Verified && rapid.Bool().Draw(t, "sign in") {
			e.clock.Advance(drawDur(t, "pause", 0, 10*24*time.Hour))
			if u, err = e.svc.SignIn(e.ctx, u.ID); err != nil {
				t.Fatalf("SignIn() = %v", err)
			}
		}
		if rapid.Bool().Draw(t, "deactivate") {
			e.clock.Advance(drawDur(t, "pause", 0, 10*24*time.Hour))
			if u, err = e.svc.Deactivate(e.ctx, org, u.ID); err != nil {
				t.Fatalf("Deactivate() = %v", err)
			}
		}
		p.users = append(p.users, u)
	}
	for i := range p.users {
		p.history(t, i)
	}
	e.clock.Advance(drawDur(t, "pause before claims", 0, 30*24*time.Hour))
	return p
}

// population is several users in several orgs, some of them claimable
// by the claimants.
type population struct {
	e     *env
	tb    testing.TB
	orgs  []claim.OrgID
	users []claim.User // as they are now, in creation order
}

// claimable reports whether b may claim u: u is in a1, a2 or p0 on
// d.example (E1, E2, E4; nobody claims the domain, no claim is pending).
func (p *population) claimable(u claim.User, b claim.OrgID) bool {
	return u.Org != b && (u.Org == "a1" || u.Org == "a2" || u.Org == "p0") && domainOfEmail(u.Email) == "d.example"
}

// history may give user i a past: p0 claims it and the claim ends — the
// user signs in and chooses, the delayed claim expires, or p0 retracts —
// so that the claims under test also meet users with an earlier claim
// record. A ChangeEmail leaves the original as a new ordinary user, on
// d.example too.
func (p *population) history(t *rapid.T, i int) {
	e, u := p.e, p.users[i]
	if !p.claimable(u, "p0") || u.Org == "p0" {
		return
	}
	how := rapid.SampledFrom([]string{"none", "none", "choice", "expiry", "retraction"}).Draw(t, "history")
	if how == "none" {
		return
	}
	res, err := e.svc.ClaimUsers(e.ctx, "p0", []claim.UserID{u.ID}, claim.ClaimOptions{Acknowledge: true, ImmediateOnly: rapid.Bool().Draw(t, "p0 ImmediateOnly")})
	if err != nil || res[0].Err != nil {
		t.Fatalf("ClaimUsers(p0, %s) = %v, %v", u.Email, res, err)
	}
	mode := res[0].Mode
	e.clock.Advance(drawDur(t, "history pause", 0, window-1))
	if how == "choice" {
		if _, err := e.svc.SignIn(e.ctx, u.ID); err != nil {
			how = "retraction" // claimed while Inactive: it cannot sign in (U4)
		} else {
			ch := claim.Choice{Action: rapid.SampledFrom(choicesByMode[mode]).Draw(t, "history choice")}
			if ch.Action == claim.ChangeEmail {
				ch.NewEmail = "old." + u.Email
			}
			if _, err := e.svc.Choose(e.ctx, u.ID, ch); err != nil {
				t.Fatalf("Choose(%v) = %v", ch, err)
			}
			if ch.Action == claim.ChangeEmail {
				kept, err := e.svc.UserByEmail(e.ctx, ch.NewEmail)
				if err != nil {
					t.Fatalf("UserByEmail(%s) = %v", ch.NewEmail, err)
				}
				p.users = append(p.users, kept)
			}
		}
	}
	if how == "expiry" && mode == claim.Immediate {
		how = "retraction" // an immediate claim never expires (X2)
	}
	switch how {
	case "expiry":
		e.clock.Advance(window)
	case "retraction":
		if err := e.svc.Retract(e.ctx, "p0", u.ID); err != nil {
			t.Fatalf("Retract(p0, %s) = %v", u.Email, err)
		}
	}
	got, err := e.svc.User(e.ctx, u.ID)
	if err != nil {
		t.Fatalf("User(%s) = %v", u.Email, err)
	}
	p.users[i] = got
}

func domainOfEmail(email string) string {
	for i := len(email) - 1; i >= 0; i-- {
		if email[i] == '@' {
			return email[i+1:]
		}
	}
	return ""
}

// ---- CSV import worlds.

// importEnv is org b (Enterprise, content migration on, licenses Meetings
// and Calling, example.com verified) and users to claim on example.com:
// ann and cy of an Individual org from before the cutoff (Delayed), bob
// of an Enterprise org (Immediate), and dee, already a member of b.
func importEnv(tb testing.TB) *env {
	tb.Helper()
	return importEnvOn(tb, claim.NewMemoryStore())
}

// importEnvOn is importEnv on the store.
func importEnvOn(tb testing.TB, store claim.Store) *env {
	tb.Helper()
	e := newEnvOn(tb, store)
	e.mustOrg(tb, "b", claim.Enterprise, t0, claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings", "Calling"}})
	e.mustOrg(tb, "old", claim.Individual, oldOrgDate, claim.Settings{})
	e.mustOrg(tb, "ent", claim.Enterprise, t0, claim.Settings{})
	e.mustVerify(tb, "b", "example.com")
	e.mustActive(tb, "old", "ann@example.com", 3)
	e.mustActive(tb, "old", "cy@example.com", 1)
	e.mustUser(tb, "ent", "bob@example.com", 2)
	e.mustUser(tb, "b", "dee@example.com", 0)
	return e
}

// importString runs ImportClaims on text with Acknowledge set.
func (e *env) importString(org claim.OrgID, text string, opts claim.ImportOptions) (claim.ImportReport, error) {
	opts.Acknowledge = true
	return e.svc.ImportClaims(e.ctx, org, strings.NewReader(text), opts)
}

// importWorldOn is importWorld on the store.
func importWorldOn(tb testing.TB, store claim.Store, n int) (*env, []byte) {
	tb.Helper()
	e := newEnvOn(tb, store)
	e.mustOrg(tb, "b", claim.Enterprise, t0, claim.Settings{AutoLicenses: []string{"Meetings", "Calling"}})
	e.mustVerify(tb, "b", "example.com")
	for i := range n {
		if i%1000 == 0 {
			e.mustOrg(tb, claim.OrgID(fmt.Sprintf("o%d", i/1000)), claim.Enterprise, t0, claim.Settings{})
		}
		if _, err := e.svc.AddUser(e.ctx, claim.OrgID(fmt.Sprintf("o%d", i/1000)), claim.NewUser{
			Email: fmt.Sprintf("user%07d@example.com", i), FirstName: "Given", LastName: fmt.Sprintf("Family%d", i),
			DisplayName: fmt.Sprintf("Given Family%d", i), Content: 3}); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := e.svc.ExportClaimable(e.ctx, "b", &buf); err != nil {
		tb.Fatal(err)
	}
	return e, buf.Bytes()
}

// ---- BroadWorks (B1–B6) worlds and helpers, for the tests of the attach
// rules, the three consent flows, the first provisioning and detach.

const (
	partnerOrg  claim.OrgID = "partner"  // the service provider
	consumerOrg claim.OrgID = "consumer" // the free consumer org
	indOrg      claim.OrgID = "ind"      // a self-signup org
	custOrg     claim.OrgID = "cust"     // an existing customer org
	otherOrg    claim.OrgID = "other"    // another customer org

	templateAdmin = "pat@partner.example" // the template's partner admin
)

// broadWorksWorld creates the partner, consumer, individual and two customer
// orgs on a memory store; cust has SSO on (its authentication settings,
// B4).
func broadWorksWorld(tb testing.TB) *env {
	tb.Helper()
	return broadWorksWorldOn(tb, claim.NewMemoryStore())
}

// broadWorksWorldOn is broadWorksWorld on an empty store.
func broadWorksWorldOn(tb testing.TB, store claim.Store) *env {
	tb.Helper()
	e := newEnvOn(tb, store)
	e.mustOrg(tb, partnerOrg, claim.Enterprise, oldOrgDate, claim.Settings{})
	e.mustOrg(tb, consumerOrg, claim.Consumer, oldOrgDate, claim.Settings{})
	e.mustOrg(tb, indOrg, claim.Individual, oldOrgDate, claim.Settings{})
	e.mustOrg(tb, custOrg, claim.Enterprise, oldOrgDate, claim.Settings{SSO: true, AutoLicenses: []string{"Meetings"}})
	e.mustOrg(tb, otherOrg, claim.Enterprise, oldOrgDate, claim.Settings{})
	return e
}

// fataler is what the helpers below need of a *testing.T or *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// mustEnterprise creates an enterprise of the partner.
func (e *env) mustEnterprise(tb testing.TB, id claim.EnterpriseID, trusted bool, target claim.OrgID) claim.BroadWorksEnterprise {
	tb.Helper()
	ent, err := e.svc.BroadWorks().CreateEnterprise(e.ctx, claim.BroadWorksEnterprise{ID: id, Partner: partnerOrg, Name: "Enterprise " + string(id),
		Template: claim.Template{PartnerAdmin: templateAdmin, TrustedEmail: trusted}, Target: target})
	if err != nil {
		tb.Fatalf("CreateEnterprise(%s) = %v", id, err)
	}
	return ent
}

func (e *env) mustEnterpriseGet(tb fataler, id claim.EnterpriseID) claim.BroadWorksEnterprise {
	tb.Helper()
	ent, err := e.svc.BroadWorks().Enterprise(e.ctx, partnerOrg, id)
	if err != nil {
		tb.Fatalf("Enterprise(%s) = %v", id, err)
	}
	return ent
}

func (e *env) mustProfile(tb testing.TB, org claim.OrgID) claim.OrgProfile {
	tb.Helper()
	p, err := e.svc.BroadWorks().OrgProfile(e.ctx, org)
	if err != nil {
		tb.Fatalf("OrgProfile(%s) = %v", org, err)
	}
	return p
}

// mustProvision provisions a subscriber (an empty email for untrusted
// templates).
func (e *env) mustProvision(tb testing.TB, ent claim.EnterpriseID, id claim.SubscriberID, email string) claim.Subscriber {
	tb.Helper()
	s, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, partnerOrg, ent, claim.NewSubscriber{ID: id, Email: email, FirstName: "F", LastName: "L"})
	if err != nil {
		tb.Fatalf("ProvisionSubscriber(%s, %s, %q) = %v", ent, id, email, err)
	}
	return s
}

// events returns the events after seq.
func (e *env) events(tb fataler, after uint64) []claim.Event {
	tb.Helper()
	var out []claim.Event
	for ev, err := range e.svc.Events(e.ctx, after) {
		if err != nil {
			tb.Fatalf("Events() = %v", err)
		}
		out = append(out, ev)
	}
	return out
}

// lastSeq returns the sequence number of the last event.
func (e *env) lastSeq(tb fataler) uint64 {
	tb.Helper()
	var seq uint64
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			tb.Fatalf("Events() = %v", err)
		}
		seq = ev.Seq
	}
	return seq
}

// types returns the types of evs.
func types(evs []claim.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func adminOf(p claim.OrgProfile, email string) (claim.Admin, bool) {
	for _, a := range p.Admins {
		if a.Email == email {
			return a, true
		}
	}
	return claim.Admin{}, false
}

func mustLicenses(tb testing.TB, e *env, org claim.OrgID, ls ...claim.OrgLicense) {
	tb.Helper()
	if err := e.svc.BroadWorks().SetOrgLicenses(e.ctx, org, ls); err != nil {
		tb.Fatalf("SetOrgLicenses(%s) = %v", org, err)
	}
}

var (
	broadWorksOrgs        = []claim.OrgID{partnerOrg, consumerOrg, indOrg, custOrg, otherOrg, "claimer"}
	broadWorksEnterprises = []claim.EnterpriseID{"ent", "entU", "entV", "ent3", "fresh"}
)

// broadWorksRefusalWorld: ent (trusted, attached to cust) with s1 (ann,
// provisioned) and s2 (carl of the consumer org, pending consent); entU
// (untrusted) with su (pending_email_input) and sv (vic, pending
// validation); entV (trusted, targets other, which verified its domain)
// with sw (olga, waiting for approval); ent3 (trusted, targets cust too);
// fresh (trusted, no target, no subscriber). hank of ind is claimed by
// claimer (pending).
func broadWorksRefusalWorld(tb testing.TB) *env {
	tb.Helper()
	e := broadWorksWorld(tb)
	e.mustOrg(tb, "claimer", claim.Enterprise, oldOrgDate, claim.Settings{})
	e.mustVerify(tb, "claimer", "held.example")
	hank := e.mustActive(tb, indOrg, "hank@held.example", 1)
	e.mustClaim(tb, "claimer", claim.ClaimOptions{ImmediateOnly: true}, hank.ID)
	e.mustActive(tb, custOrg, "ann@cust.example", 0)
	e.mustActive(tb, custOrg, "amy@cust.example", 0)
	e.mustActive(tb, otherOrg, "olga@other.example", 0)
	e.mustActive(tb, otherOrg, "oscar@other.example", 0)
	e.mustActive(tb, consumerOrg, "carl@x.example", 2)
	e.mustVerify(tb, otherOrg, "other.example")
	e.mustEnterprise(tb, "ent", true, custOrg)
	e.mustEnterprise(tb, "entU", false, "")
	e.mustEnterprise(tb, "entV", true, otherOrg)
	e.mustEnterprise(tb, "ent3", true, custOrg)
	e.mustEnterprise(tb, "fresh", true, "")
	e.mustProvision(tb, "ent", "s1", "ann@cust.example")
	e.mustProvision(tb, "ent", "s2", "carl@x.example")
	e.mustProvision(tb, "entU", "su", "")
	e.mustProvision(tb, "entU", "sv", "")
	if _, err := e.svc.BroadWorks().EnterEmail(e.ctx, "sv", "vic@x.example"); err != nil {
		tb.Fatalf("EnterEmail(sv) = %v", err)
	}
	if s := e.mustProvision(tb, "entV", "sw", "olga@other.example"); s.Status != claim.StatusError {
		tb.Fatalf("sw = %+v, want status error", s)
	}
	return e
}

// broadWorksState is everything BroadWorks keeps, for the enterprises and orgs of
// the refusal world.
type broadWorksState struct {
	World       world
	Enterprises map[claim.EnterpriseID]claim.BroadWorksEnterprise
	Subscribers map[claim.EnterpriseID][]claim.Subscriber
	Profiles    map[claim.OrgID]claim.OrgProfile
}

// broadWorksSnapshotOf reads the enterprises of each partner (by ID; missing ones
// are left out) with their subscribers, the users and profiles of the
// orgs and of the orgs the enterprises belong to (an org that does not
// exist has no users and the zero profile), and the event log.
func (e *env) broadWorksSnapshotOf(tb testing.TB, ents map[claim.OrgID][]claim.EnterpriseID, orgs []claim.OrgID) broadWorksState {
	tb.Helper()
	st := broadWorksState{Enterprises: map[claim.EnterpriseID]claim.BroadWorksEnterprise{},
		Subscribers: map[claim.EnterpriseID][]claim.Subscriber{}, Profiles: map[claim.OrgID]claim.OrgProfile{}}
	orgs = slices.Clone(orgs)
	for partner, ids := range ents {
		for _, id := range ids {
			ent, err := e.svc.BroadWorks().Enterprise(e.ctx, partner, id)
			if err != nil {
				continue
			}
			st.Enterprises[id] = ent
			if ent.Org != "" && !slices.Contains(orgs, ent.Org) {
				orgs = append(orgs, ent.Org)
			}
			for s, err := range e.svc.BroadWorks().Subscribers(e.ctx, partner, id) {
				if err != nil {
					tb.Fatalf("Subscribers(%s) = %v", id, err)
				}
				st.Subscribers[id] = append(st.Subscribers[id], s)
			}
		}
	}
	st.World = e.snapshot(tb, orgs...)
	for _, o := range orgs {
		p, err := e.svc.BroadWorks().OrgProfile(e.ctx, o)
		if err != nil && !errors.Is(err, claim.ErrNotFound) {
			tb.Fatalf("OrgProfile(%s) = %v", o, err)
		}
		st.Profiles[o] = p
	}
	return st
}

// ---- Sites.

// siteWorld is org b (example.com verified) with three sites: sa, still
// in Site Admin; ch, moved to Control Hub; and oc, a moved site of
// another org o. Users to claim are in the Individual org a.
type siteWorld struct {
	e          *env
	sa, ch, oc claim.Site
}

func newSiteWorld(tb testing.TB, store claim.Store) *siteWorld {
	tb.Helper()
	e := newEnvOn(tb, store)
	e.mustOrg(tb, "b", claim.Enterprise, t0, claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}})
	e.mustOrg(tb, "o", claim.Enterprise, t0, claim.Settings{})
	e.mustOrg(tb, "a", claim.Individual, oldOrgDate, claim.Settings{})
	e.mustVerify(tb, "b", "example.com")
	w := &siteWorld{e: e}
	var err error
	for _, s := range []struct {
		site *claim.Site
		org  claim.OrgID
		url  string
		move bool
	}{{&w.sa, "b", "b-sa.webex.example", false}, {&w.ch, "b", "b.webex.example", true}, {&w.oc, "o", "o.webex.example", true}} {
		if *s.site, err = e.svc.AddSite(e.ctx, s.org, s.url); err != nil {
			tb.Fatalf("AddSite(%s, %s) = %v", s.org, s.url, err)
		}
		if s.move {
			if *s.site, err = e.svc.MoveSiteToControlHub(e.ctx, s.org, s.site.ID); err != nil {
				tb.Fatalf("MoveSiteToControlHub(%s) = %v", s.site.ID, err)
			}
		}
	}
	return w
}

// grant sets what user holds on site.
func (w *siteWorld) grant(tb testing.TB, site claim.Site, user claim.UserID, license, admin bool) {
	tb.Helper()
	a := claim.SiteAccess{Site: site.ID, User: user, License: license, ExternalAdmin: admin}
	if err := w.e.svc.SetSiteAccess(w.e.ctx, site.Org, a); err != nil {
		tb.Fatalf("SetSiteAccess(%+v) = %v", a, err)
	}
}

var atRisk = []claim.Warning{claim.WarningSiteAccessAtRisk}
