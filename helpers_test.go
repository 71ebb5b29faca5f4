package claim_test

import (
	"context"
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
