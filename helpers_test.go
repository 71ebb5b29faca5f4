package claim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

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

// Refusals (must-show item 4): every refusal of the rules in docs/rules.md — and
// the input rules of section 2, G1 and the Policy — is checked with
// errors.Is against its sentinel, and the world (users of every org, the
// whole event log, org records and domain records) is compared before and
// after: a refused operation changes nothing (N3, O2).

// rfOrgs are the orgs a refusal row may touch; snapshots cover all of them
// (an org that does not exist is recorded as absent).
var rfOrgs = []claim.OrgID{"a", "b", "c", "i", "zz"}

// rfFix is the common world of a row: org a (Enterprise, has not verified
// example.com) with ann (Active, 7 content items) and nora (Not
// Verified); org b (Enterprise) has verified example.com; org c
// (Enterprise) has verified nothing.
type rfFix struct {
	ann, nora claim.User
}

func rfBase(tb testing.TB, e *env) rfFix {
	tb.Helper()
	e.mustOrg(tb, "a", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustOrg(tb, "b", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustOrg(tb, "c", claim.Enterprise, time.Time{}, claim.Settings{})
	e.mustVerify(tb, "b", "example.com")
	return rfFix{
		ann:  e.mustActive(tb, "a", "ann@example.com", 7),
		nora: e.mustUser(tb, "a", "nora@example.com", 2),
	}
}

// rfClaimed is rfBase with ann claimed (immediately) by b.
func rfClaimed(tb testing.TB, e *env) (rfFix, claim.User) {
	tb.Helper()
	f := rfBase(tb, e)
	e.mustClaim(tb, "b", claim.ClaimOptions{}, f.ann.ID)
	u := e.mustGet(tb, f.ann.ID)
	if u.Claim == nil || u.Claim.Mode != claim.Immediate {
		tb.Fatalf("claim of %s = %+v, want a pending Immediate claim", u.Email, u.Claim)
	}
	return f, u
}

// rfDelayed is rfBase plus org i (Individual, created before the cutoff)
// with ivy (Active, 3 content items), claimed by b with a delayed claim
// (b allows content migration).
func rfDelayed(tb testing.TB, e *env) (rfFix, claim.User) {
	tb.Helper()
	f := rfBase(tb, e)
	e.mustOrg(tb, "i", claim.Individual, oldOrgDate, claim.Settings{})
	ivy := e.mustActive(tb, "i", "ivy@example.com", 3)
	rfMustSettings(tb, e, "b", claim.Settings{AllowContentMigration: true})
	res := e.mustClaim(tb, "b", claim.ClaimOptions{}, ivy.ID)
	if res[0].Mode != claim.Delayed {
		tb.Fatalf("ClaimUsers(b, ivy) mode = %v, want Delayed", res[0].Mode)
	}
	return f, e.mustGet(tb, ivy.ID)
}

func rfMustSignIn(tb testing.TB, e *env, id claim.UserID) {
	tb.Helper()
	if _, err := e.svc.SignIn(e.ctx, id); err != nil {
		tb.Fatalf("SignIn(%s) = %v", id, err)
	}
}

func rfMustClaimDomain(tb testing.TB, e *env, org claim.OrgID, domain string) {
	tb.Helper()
	if err := e.svc.ClaimDomain(e.ctx, org, domain); err != nil {
		tb.Fatalf("ClaimDomain(%s, %s) = %v", org, domain, err)
	}
}

func rfMustChoose(tb testing.TB, e *env, id claim.UserID, ch claim.Choice) {
	tb.Helper()
	if _, err := e.svc.Choose(e.ctx, id, ch); err != nil {
		tb.Fatalf("Choose(%s, %+v) = %v", id, ch, err)
	}
}

func rfMustRetract(tb testing.TB, e *env, org claim.OrgID, id claim.UserID) {
	tb.Helper()
	if err := e.svc.Retract(e.ctx, org, id); err != nil {
		tb.Fatalf("Retract(%s, %s) = %v", org, id, err)
	}
}

func rfMustDeactivate(tb testing.TB, e *env, org claim.OrgID, id claim.UserID) {
	tb.Helper()
	if _, err := e.svc.Deactivate(e.ctx, org, id); err != nil {
		tb.Fatalf("Deactivate(%s, %s) = %v", org, id, err)
	}
}

// rfClaimOne claims one input into org with the acknowledgement and
// returns its Result.Err. A call-level error is reported as an error that
// wraps no sentinel, so a row wanting a per-user refusal fails on it.
func rfClaimOne(e *env, org claim.OrgID, input string, byEmail bool) error {
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

// rfFirstErr returns the first error of an iterator (nil if none).
func rfFirstErr[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// rfLongDomain is a valid 180-octet domain: labels of 63, 63, 48 and 3.
var rfLongDomain = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 48) + ".com"

// rfLongAddr returns an address of n octets on rfLongDomain (n between
// 183 and 245, so that the local part stays within 64).
func rfLongAddr(n int) string {
	return strings.Repeat("x", n-1-len(rfLongDomain)) + "@" + rfLongDomain
}

// rfDomainOf returns a valid-looking domain of exactly n octets whose
// labels are at most label octets long.
func rfDomainOf(n, label int) string {
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
		panic(fmt.Sprintf("rfDomainOf(%d, %d) = %q", n, label, s))
	}
	return s
}

// rfCase is one refusal: after setup, call must fail with want and change
// nothing.
type rfCase struct {
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

func rfRun(t *testing.T, cases []rfCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			call := c.setup(t, e)
			before, rest := e.snapshot(t, rfOrgs...), rfRestOf(t, e)

			err := call()

			if !errors.Is(err, c.want) {
				t.Errorf("%s = %v, want %v", c.op, err, c.want)
			}
			rfCheckErr(t, c, err)
			e.unchanged(t, before, rfOrgs...)
			if diff := cmp.Diff(rest, rfRestOf(t, e), claimtest.CmpOptions()); diff != "" {
				t.Errorf("orgs or domains changed by a refused %s (-before +after):\n%s", c.op, diff)
			}
		})
	}
}

func rfCheckErr(t *testing.T, c rfCase, err error) {
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

// rfPolicy returns WithPolicy of the default policy changed by edit.
func rfPolicy(edit func(*claim.Policy)) claim.Option {
	p := claim.DefaultPolicy()
	edit(&p)
	return claim.WithPolicy(p)
}

// rfCount counts the events of a type in the log.
func rfCount(tb testing.TB, e *env, typ string) int {
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

func ccNewRace(t *testing.T, mode claim.Mode, prev claim.State, claimIt bool) *ccRace {
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
	r := &ccRace{e: e, u: e.mustGet(t, u.ID), mode: mode}
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

// ccRace is a fresh world for one race: org "a" (an Individual org from
// 2019: delayed-eligible), claiming orgs "b" and "c" that have verified
// the domain, and one user of a, claimed by b unless told otherwise.
type ccRace struct {
	e    *env
	u    claim.User // the user before the claim
	orig claim.UserID
	mode claim.Mode
}

const ccRaceRuns = 100

// ccTogether runs the functions at once, released by one barrier.
func ccTogether(fns ...func()) {
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

var ack = claim.ClaimOptions{Acknowledge: true}

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
