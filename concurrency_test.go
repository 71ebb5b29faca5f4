package claim_test

// Concurrency (Q1): 64 goroutines running mixed
// operations on shared users, then the invariants that no interleaving
// may break; and the races Q1 names, each run many times on fresh state:
// exactly one operation wins and the other gets the error it would get
// had it run second. Meant to run under -race.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claimkit/claim"
)

// ccSentinels are every sentinel error of the package.
var ccSentinels = []error{
	claim.ErrNotFound, claim.ErrInvalidEmail, claim.ErrInvalidDomain, claim.ErrEmailTaken,
	claim.ErrNotVerified, claim.ErrInactive, claim.ErrHeldByClaim, claim.ErrDomainNotVerified,
	claim.ErrDomainClaimedByOther, claim.ErrDirectorySyncEnabled, claim.ErrNotAcknowledged,
	claim.ErrTooMany, claim.ErrNotEligible, claim.ErrNotClaimant, claim.ErrSignedIn,
	claim.ErrRetractWindowClosed, claim.ErrDomainClaimed, claim.ErrChoiceNotAllowed,
	claim.ErrNoPendingClaim, claim.ErrSyncThreshold, claim.ErrPendingClaims, claim.ErrStaleMode,
	claim.ErrAlreadyClaimed, claim.ErrDuplicate, claim.ErrInvalidValue, claim.ErrConflict,
}

// ccCheckErr fails unless err is nil or wraps one of allowed. allowed is
// the business errors the operation may meet in the mixed run; anything
// else — a store inconsistency, a sentinel the operation never returns,
// an error wrapping none of the package's sentinels — is a bug.
func ccCheckErr(t *testing.T, op string, err error, allowed ...error) {
	ccTally(op, err)
	if err == nil {
		return
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return
		}
	}
	kind := "an error wrapping no sentinel of the package"
	for _, s := range ccSentinels {
		if errors.Is(err, s) {
			kind = "an unexpected sentinel"
			break
		}
	}
	t.Errorf("%s = %v: %s (allowed: %v)", op, err, kind, allowed)
}

// ccStats counts, per operation, the calls and the successes of the mixed
// run, so that its log shows the run exercised what it claims to.
var ccStats struct {
	sync.Mutex
	m map[string][2]int
}

func ccTally(op string, err error) {
	ccStats.Lock()
	defer ccStats.Unlock()
	if ccStats.m == nil {
		ccStats.m = map[string][2]int{}
	}
	c := ccStats.m[op]
	c[0]++
	if err == nil {
		c[1]++
	}
	ccStats.m[op] = c
}

// ccRetractOrder is the order of R7 for a *RetractError's reasons.
var ccRetractOrder = []error{claim.ErrNotClaimant, claim.ErrSignedIn, claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}

// ccCheckRetractErr checks the shape of a refused retraction: a
// *RetractError whose reasons are in R7 order, ErrNotClaimant alone
// (R1, R7); or ErrNotFound, ErrNoPendingClaim.
func ccCheckRetractErr(t *testing.T, op string, err error) {
	if err == nil {
		ccTally(op, nil)
		return
	}
	var re *claim.RetractError
	if !errors.As(err, &re) {
		ccCheckErr(t, op, err, claim.ErrNotFound, claim.ErrNoPendingClaim)
		return
	}
	ccTally(op, err)
	if len(re.Reasons) == 0 {
		t.Errorf("%s = %v: a RetractError without reasons", op, err)
	}
	if slices.Contains(re.Reasons, claim.ErrNotClaimant) && len(re.Reasons) != 1 {
		t.Errorf("%s = %v: ErrNotClaimant with other reasons (R1)", op, err)
	}
	i := 0
	for _, r := range re.Reasons {
		for i < len(ccRetractOrder) && ccRetractOrder[i] != r {
			i++
		}
		if i == len(ccRetractOrder) {
			t.Errorf("%s reasons = %v: not a subsequence of %v (R7)", op, re.Reasons, ccRetractOrder)
			return
		}
		i++
	}
}

// ccWorld is the shared state of the mixed run.
type ccWorld struct {
	e         *env
	claimers  []claim.OrgID
	sources   []claim.OrgID
	orgs      []claim.OrgID
	ids       []claim.UserID
	emails    []string
	content   int // the total content at the start
	newEmails atomic.Int64
}

const (
	ccDomain     = "shared.example" // verified by every claiming org
	ccSoloDomain = "solo.example"   // verified by cc-b0 only
)

// ccSetup makes three claiming orgs, six source orgs of every kind (one
// with SSO) and 40 users with content in various states.
func ccSetup(t *testing.T) *ccWorld {
	e := newEnv(t)
	w := &ccWorld{e: e}
	for i := range 3 {
		id := claim.OrgID(fmt.Sprintf("cc-b%d", i))
		e.mustOrg(t, id, claim.Enterprise, t0, claim.Settings{AllowContentMigration: i != 1, AutoLicenses: []string{"Meetings"}[:i%2]})
		e.mustVerify(t, id, ccDomain)
		w.claimers = append(w.claimers, id)
	}
	e.mustVerify(t, "cc-b0", ccSoloDomain)
	srcs := []struct {
		kind    claim.OrgKind
		created time.Time
		st      claim.Settings
	}{
		{claim.Individual, oldOrgDate, claim.Settings{}},
		{claim.Individual, oldOrgDate, claim.Settings{AutoLicenses: []string{"Messaging"}}},
		{claim.Enterprise, oldOrgDate, claim.Settings{AutoLicenses: []string{"Calling", "Meetings"}}},
		{claim.Consumer, oldOrgDate, claim.Settings{}},
		{claim.Individual, t0.AddDate(-1, 0, 0), claim.Settings{}},
		{claim.Enterprise, oldOrgDate, claim.Settings{SSO: true}},
	}
	for i, s := range srcs {
		id := claim.OrgID(fmt.Sprintf("cc-a%d", i))
		e.mustOrg(t, id, s.kind, s.created, s.st)
		w.sources = append(w.sources, id)
	}
	e.mustVerify(t, "cc-a2", ccDomain)
	w.orgs = append(slices.Clone(w.claimers), w.sources...)
	for i := range 40 {
		dom := ccDomain
		if i%5 == 4 {
			dom = ccSoloDomain
		}
		org := w.sources[i%len(w.sources)]
		content := 1 + i*7%50
		u := e.mustUser(t, org, fmt.Sprintf("user%02d@%s", i, dom), content)
		var err error
		switch i % 4 {
		case 1:
			_, err = e.svc.VerifyEmail(e.ctx, u.ID)
		case 2:
			if _, err = e.svc.VerifyEmail(e.ctx, u.ID); err == nil {
				_, err = e.svc.SignIn(e.ctx, u.ID)
			}
		case 3:
			_, err = e.svc.Deactivate(e.ctx, org, u.ID)
		}
		if err != nil {
			t.Fatalf("setting up user %d: %v", i, err)
		}
		w.ids = append(w.ids, u.ID)
		w.emails = append(w.emails, u.Email)
		w.content += content
	}
	return w
}

// ccWorker runs n operations drawn from rng against the shared world.
func ccWorker(t *testing.T, w *ccWorld, g, n int, rng *rand.Rand) {
	e := w.e
	ctx := e.ctx
	pick := func() claim.UserID { return w.ids[rng.IntN(len(w.ids))] }
	claimer := func() claim.OrgID { return w.claimers[rng.IntN(len(w.claimers))] }
	anyOrg := func() claim.OrgID { return w.orgs[rng.IntN(len(w.orgs))] }
	// orgOf is the user's org now (it may have changed by the time it is
	// used: the operation then meets ErrNotFound, as a real admin would).
	orgOf := func(id claim.UserID) claim.OrgID {
		if rng.IntN(10) == 0 {
			return anyOrg()
		}
		u, err := e.svc.User(ctx, id)
		ccCheckErr(t, "User", err, claim.ErrNotFound)
		if err != nil {
			return anyOrg()
		}
		return u.Org
	}
	for range n {
		switch p := rng.IntN(100); {
		case p < 14:
			k := 1 + rng.IntN(4)
			ids := make([]claim.UserID, k)
			for i := range ids {
				ids[i] = pick()
			}
			org := claimer()
			res, err := e.svc.ClaimUsers(ctx, org, ids, claim.ClaimOptions{Acknowledge: true, ImmediateOnly: rng.IntN(4) == 0})
			if err != nil {
				t.Errorf("ClaimUsers(%s) = %v", org, err)
				continue
			}
			for _, r := range res {
				if r.Err == nil {
					ccTally("ClaimUsers result", nil)
					if r.Mode != claim.Immediate && r.Mode != claim.Delayed {
						t.Errorf("ClaimUsers(%s): %s claimed with mode %v", org, r.Input, r.Mode)
					}
					continue
				}
				ccCheckErr(t, "ClaimUsers result", r.Err, claim.ErrNotEligible, claim.ErrNotFound, claim.ErrDuplicate)
				var re *claim.RefusalError
				if errors.Is(r.Err, claim.ErrNotEligible) && (!errors.As(r.Err, &re) || len(re.Reasons) == 0) {
					t.Errorf("ClaimUsers result %v: not a *RefusalError with reasons", r.Err)
				}
			}
		case p < 28:
			org, id := claimer(), pick()
			switch rng.IntN(4) {
			case 0:
				org = anyOrg()
			case 1, 2: // a user the org may retract a moment ago
				for u, err := range e.svc.Retractable(ctx, org) {
					if err != nil {
						t.Errorf("Retractable(%s) = %v", org, err)
						break
					}
					id = u.ID
					if rng.IntN(3) == 0 {
						break
					}
				}
			}
			ccCheckRetractErr(t, "Retract", e.svc.Retract(ctx, org, id))
		case p < 42:
			_, err := e.svc.SignIn(ctx, pick())
			ccCheckErr(t, "SignIn", err, claim.ErrNotFound, claim.ErrHeldByClaim, claim.ErrNotVerified, claim.ErrInactive)
		case p < 52:
			ch := claim.Choice{Action: claim.Action(1 + rng.IntN(3))}
			if ch.Action == claim.ChangeEmail {
				ch.NewEmail = fmt.Sprintf("moved%d@elsewhere.example", w.newEmails.Add(1))
			}
			_, err := e.svc.Choose(ctx, pick(), ch)
			ccCheckErr(t, "Choose", err, claim.ErrNotFound, claim.ErrNoPendingClaim, claim.ErrChoiceNotAllowed)
		case p < 57:
			id := pick()
			_, err := e.svc.Deactivate(ctx, orgOf(id), id)
			ccCheckErr(t, "Deactivate", err, claim.ErrNotFound, claim.ErrHeldByClaim)
		case p < 62:
			id := pick()
			_, err := e.svc.Reactivate(ctx, orgOf(id), id)
			ccCheckErr(t, "Reactivate", err, claim.ErrNotFound, claim.ErrHeldByClaim)
		case p < 63:
			if rng.IntN(8) != 0 { // rare: each deletion shrinks the shared pool
				continue
			}
			id := pick()
			ccCheckErr(t, "DeleteUser", e.svc.DeleteUser(ctx, orgOf(id), id), claim.ErrNotFound, claim.ErrHeldByClaim)
		case p < 66:
			if _, err := e.svc.Sweep(ctx); err != nil {
				t.Errorf("Sweep() = %v", err)
			}
		case p < 73:
			e.clock.Advance(time.Duration(rng.Int64N(int64(4 * time.Hour))))
		case p < 75:
			org := claimer()
			if rng.IntN(3) == 0 {
				ccCheckErr(t, "ClaimDomain", e.svc.ClaimDomain(ctx, org, ccDomain), claim.ErrDomainClaimedByOther)
			} else {
				ccCheckErr(t, "ReleaseDomain", e.svc.ReleaseDomain(ctx, org, ccDomain), claim.ErrDomainClaimedByOther, claim.ErrNotFound)
			}
		case p < 78:
			// The source org's side of a claim: the original is frozen (H2).
			email := w.emails[rng.IntN(len(w.emails))] + claim.OriginalSuffix
			o, err := e.svc.UserByEmail(ctx, email)
			ccCheckErr(t, "UserByEmail(original)", err, claim.ErrNotFound)
			if err != nil {
				continue
			}
			if o.HeldBy == "" {
				t.Errorf("UserByEmail(%s): an original address not held by a claim", email)
			}
			// Between the lookup and the operation the claim may have
			// ended and released the original (P2, C2) — it is then an
			// ordinary account, which never becomes an original again.
			if rng.IntN(2) == 0 {
				_, err = e.svc.SignIn(ctx, o.ID)
				ccCheckErr(t, "SignIn(original)", err, claim.ErrHeldByClaim, claim.ErrNotFound, claim.ErrNotVerified, claim.ErrInactive)
			} else {
				err = e.svc.DeleteUser(ctx, o.Org, o.ID)
				ccCheckErr(t, "DeleteUser(original)", err, claim.ErrHeldByClaim, claim.ErrNotFound)
			}
			if err == nil || !errors.Is(err, claim.ErrHeldByClaim) {
				if now, err2 := e.svc.User(ctx, o.ID); err2 == nil && (now.HeldBy != "" || strings.HasSuffix(now.Email, claim.OriginalSuffix)) {
					t.Errorf("operation on held original %s was not refused with ErrHeldByClaim (H2): %v", o.Email, err)
				}
			}
		case p < 81:
			_, err := e.svc.VerifyEmail(ctx, pick())
			ccCheckErr(t, "VerifyEmail", err, claim.ErrNotFound, claim.ErrHeldByClaim)
		case p < 84:
			_, err := e.svc.DaysLeft(ctx, pick())
			ccCheckErr(t, "DaysLeft", err, claim.ErrNotFound, claim.ErrNoPendingClaim)
		case p < 88:
			id := pick()
			u, err := e.svc.User(ctx, id)
			ccCheckErr(t, "User", err, claim.ErrNotFound)
			if err == nil && u.ID != id {
				t.Errorf("User(%s) returned %s", id, u.ID)
			}
		case p < 93:
			org := anyOrg()
			for u, err := range e.svc.Users(ctx, org) {
				if err != nil {
					t.Errorf("Users(%s) = %v", org, err)
					break
				}
				if u.Org != org {
					t.Errorf("Users(%s) yields %s of org %s", org, u.Email, u.Org)
				}
			}
		case p < 97:
			org := claimer()
			for c, err := range e.svc.Claimable(ctx, org) {
				if err != nil {
					t.Errorf("Claimable(%s) = %v", org, err)
					break
				}
				if c.User.Org == org || c.User.HeldBy != "" || c.User.Claim != nil {
					t.Errorf("Claimable(%s) yields %s (org %s, held by %q, claim %v)", org, c.User.Email, c.User.Org, c.User.HeldBy, c.User.Claim)
				}
			}
		default:
			org := claimer()
			for u, err := range e.svc.Retractable(ctx, org) {
				if err != nil {
					t.Errorf("Retractable(%s) = %v", org, err)
					break
				}
				if u.Claim == nil || u.Claim.By != org || u.Claim.SignedIn {
					t.Errorf("Retractable(%s) yields %s with claim %+v", org, u.Email, u.Claim)
				}
			}
		}
	}
}

// ccCheckInvariants checks, through the public API, what no interleaving
// may break: every address belongs to one account; every pending claim
// has exactly one original account, in the org it was claimed from, held
// by the claimant; every held original belongs to exactly one pending
// claim; content is conserved (C5); the event log has no gaps.
func ccCheckInvariants(t *testing.T, w *ccWorld) {
	t.Helper()
	e := w.e
	var users []claim.User
	for _, org := range w.orgs {
		for u, err := range e.svc.Users(e.ctx, org) {
			if err != nil {
				t.Fatalf("Users(%s) = %v", org, err)
			}
			users = append(users, u)
		}
	}
	byEmail := map[string]claim.User{}
	byID := map[claim.UserID]claim.User{}
	total := 0
	for _, u := range users {
		if _, dup := byEmail[u.Email]; dup {
			t.Errorf("address %s belongs to more than one account", u.Email)
		}
		if _, dup := byID[u.ID]; dup {
			t.Errorf("user %s is listed twice", u.ID)
		}
		byEmail[u.Email], byID[u.ID] = u, u
		total += u.Content
	}
	now := e.clock.Now()
	holders := map[claim.UserID]int{} // original ID → pending claims holding it
	for _, u := range users {
		if u.Claim == nil {
			continue
		}
		c := u.Claim
		if c.By != u.Org {
			t.Errorf("%s in %s has a pending claim by %s", u.Email, u.Org, c.By)
		}
		if c.Mode == claim.Delayed && !now.Before(c.Deadline) {
			t.Errorf("%s shows a delayed claim past its deadline %v (X3)", u.Email, c.Deadline)
		}
		holders[c.Original]++
		o, ok := byEmail[u.Email+claim.OriginalSuffix]
		switch {
		case !ok:
			t.Errorf("pending claim of %s has no original account", u.Email)
		case o.ID != c.Original || o.Org != c.From || o.HeldBy != u.Org:
			t.Errorf("original of %s (claim %+v) is %s in %s held by %q", u.Email, c, o.ID, o.Org, o.HeldBy)
		}
	}
	for _, o := range users {
		if o.HeldBy == "" {
			if strings.HasSuffix(o.Email, claim.OriginalSuffix) {
				t.Errorf("%s has the original suffix but is not held (N4)", o.Email)
			}
			continue
		}
		if n := holders[o.ID]; n != 1 {
			t.Errorf("original %s (%s) is held by %d pending claims, want 1", o.Email, o.ID, n)
		}
	}
	var seq uint64
	lost := 0
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		if ev.Seq != seq+1 {
			t.Errorf("event %d follows event %d", ev.Seq, seq)
		}
		seq = ev.Seq
		if ev.Type == claim.EventContentDeleted {
			lost += ev.Content
		}
	}
	if total+lost != w.content {
		t.Errorf("content: %d in accounts + %d deleted = %d, want %d (C5)", total, lost, total+lost, w.content)
	}
	t.Logf("%d accounts, %d pending claims, %d events, content %d kept + %d deleted", len(users), len(holders), seq, total, lost)
}

// TestConcurrentMixedOperations runs 64 goroutines of mixed operations on
// 40 shared users — claims by three orgs, retractions, sign-ins, choices,
// (de)activations, deletions, sweeps, domain claims, clock steps and
// reads — then checks the invariants, before and after a final sweep.
func TestConcurrentMixedOperations(t *testing.T) {
	w := ccSetup(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const goroutines, ops = 64, 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			<-start
			ccWorker(t, w, g, ops, rng)
		})
	}
	close(start)
	wg.Wait()
	ccStats.Lock()
	t.Logf("operations (calls, successes): %v", ccStats.m)
	ccStats.Unlock()
	ccCheckInvariants(t, w)
	w.e.clock.Advance(window)
	if _, err := w.e.svc.Sweep(w.e.ctx); err != nil {
		t.Fatalf("Sweep() = %v", err)
	}
	ccCheckInvariants(t, w)
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

const ccRaceRuns = 100

// TestRaceRetractSignIn: Retract and SignIn race on a freshly claimed
// user. Either SignIn wins — it signs the user in in the claiming org and
// Retract is refused with ErrSignedIn alone (R2) — or Retract wins — the
// user is back in its old org as before, with no claim and no original,
// and SignIn acts on that user: ErrNotVerified for a Not Verified user,
// Active in the old org for a Verified or Active one.
func TestRaceRetractSignIn(t *testing.T) {
	won := map[string]int{}
	for i := range ccRaceRuns {
		mode := []claim.Mode{claim.Immediate, claim.Delayed}[i%2]
		prev := []claim.State{claim.NotVerified, claim.Verified, claim.Active}[i/2%3]
		r := ccNewRace(t, mode, prev, true)
		e := r.e
		var retractErr, signInErr error
		var signedIn claim.User
		ccTogether(
			func() { retractErr = e.svc.Retract(e.ctx, "b", r.u.ID) },
			func() { signedIn, signInErr = e.svc.SignIn(e.ctx, r.u.ID) },
		)
		got := e.mustGet(t, r.u.ID)
		if retractErr == nil {
			won["retract"]++
			if got.Org != "a" || got.Claim != nil {
				t.Fatalf("%v/%v: Retract won but the user is in %s with claim %+v", mode, prev, got.Org, got.Claim)
			}
			if _, err := e.svc.User(e.ctx, r.orig); !errors.Is(err, claim.ErrNotFound) {
				t.Fatalf("%v/%v: Retract won but User(original) = %v", mode, prev, err)
			}
			if prev == claim.NotVerified {
				if !errors.Is(signInErr, claim.ErrNotVerified) || got.State != claim.NotVerified {
					t.Fatalf("%v/%v: SignIn after Retract = %v, state %v; want ErrNotVerified, Not Verified", mode, prev, signInErr, got.State)
				}
				continue
			}
			if signInErr != nil || signedIn.Org != "a" || signedIn.State != claim.Active || got.State != claim.Active {
				t.Fatalf("%v/%v: SignIn after Retract = %+v, %v; want Active in a", mode, prev, signedIn, signInErr)
			}
			continue
		}
		won["sign-in"]++
		var re *claim.RetractError
		if !errors.As(retractErr, &re) || !slices.Equal(re.Reasons, []error{claim.ErrSignedIn}) {
			t.Fatalf("%v/%v: Retract lost with %v, want a RetractError with ErrSignedIn alone", mode, prev, retractErr)
		}
		if signInErr != nil || signedIn.Org != "b" || signedIn.Claim == nil || !signedIn.Claim.SignedIn {
			t.Fatalf("%v/%v: SignIn won with %+v, %v; want signed in in b", mode, prev, signedIn, signInErr)
		}
		if got.Org != "b" || got.Claim == nil || !got.Claim.SignedIn {
			t.Fatalf("%v/%v: after SignIn won the user is %+v", mode, prev, got)
		}
		if o, err := e.svc.User(e.ctx, r.orig); err != nil || o.HeldBy != "b" {
			t.Fatalf("%v/%v: after SignIn won the original is %+v, %v", mode, prev, o, err)
		}
	}
	t.Logf("winners: %v", won)
}

// TestRaceClaimClaim: two orgs claim the same user at once. Exactly one
// claims it; the other's result is a *RefusalError with pending_claim as
// its only reason (E6); there is one original, held by the winner.
func TestRaceClaimClaim(t *testing.T) {
	won := map[claim.OrgID]int{}
	for i := range ccRaceRuns {
		mode := []claim.Mode{claim.Immediate, claim.Delayed}[i%2]
		r := ccNewRace(t, mode, claim.Verified, false)
		e := r.e
		res := map[claim.OrgID][]claim.Result{}
		var mu sync.Mutex
		claimBy := func(org claim.OrgID) func() {
			return func() {
				got, err := e.svc.ClaimUsers(e.ctx, org, []claim.UserID{r.u.ID},
					claim.ClaimOptions{Acknowledge: true, ImmediateOnly: mode == claim.Immediate})
				if err != nil {
					t.Errorf("ClaimUsers(%s) = %v", org, err)
				}
				mu.Lock()
				res[org] = got
				mu.Unlock()
			}
		}
		ccTogether(claimBy("b"), claimBy("c"))
		if len(res["b"]) != 1 || len(res["c"]) != 1 {
			t.Fatalf("results: %+v", res)
		}
		var winner, loser claim.OrgID = "b", "c"
		if res["b"][0].Err != nil {
			winner, loser = "c", "b"
		}
		won[winner]++
		if err := res[winner][0].Err; err != nil {
			t.Fatalf("neither claim succeeded: b: %v, c: %v", res["b"][0].Err, err)
		}
		if res[winner][0].Mode != mode {
			t.Fatalf("winner's mode = %v, want %v", res[winner][0].Mode, mode)
		}
		var re *claim.RefusalError
		if err := res[loser][0].Err; !errors.As(err, &re) || !slices.Equal(re.Reasons, []claim.Reason{claim.ReasonPendingClaim}) {
			t.Fatalf("loser %s got %v, want a RefusalError with pending_claim alone", loser, err)
		}
		got := e.mustGet(t, r.u.ID)
		if got.Org != winner || got.Claim == nil || got.Claim.By != winner {
			t.Fatalf("user after the race: %+v, want claimed by %s", got, winner)
		}
		o, err := e.svc.UserByEmail(e.ctx, r.u.Email+claim.OriginalSuffix)
		if err != nil || o.ID != got.Claim.Original || o.HeldBy != winner || o.Org != "a" || o.Content != r.u.Content {
			t.Fatalf("original after the race: %+v, %v", o, err)
		}
		n := 0
		for range e.svc.Users(e.ctx, "a") {
			n++
		}
		if n != 1 {
			t.Fatalf("org a has %d accounts, want the one original", n)
		}
	}
	t.Logf("winners: %v", won)
}

// ccSignedInDelayed claims a user with a delayed claim and signs it in.
func ccSignedInDelayed(t *testing.T) *ccRace {
	t.Helper()
	r := ccNewRace(t, claim.Delayed, claim.Verified, true)
	if _, err := r.e.svc.SignIn(r.e.ctx, r.u.ID); err != nil {
		t.Fatalf("SignIn() = %v", err)
	}
	return r
}

// ccCount counts the events of the type about the user.
func ccCount(t *testing.T, e *env, typ string, id claim.UserID) (n, content int) {
	t.Helper()
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		if ev.Type == typ && ev.User == id {
			n++
			content += ev.Content
		}
	}
	return n, content
}

// TestRaceChooseSweep: a signed-in user's choice races the sweep. With
// the clock exactly at the deadline the claim has expired (X3): Choose
// fails with ErrNoPendingClaim whichever runs first, and the sweep
// resolves the claim exactly once (a failed Choose writes nothing, not
// even the expiry it noticed). A nanosecond before the deadline the
// choice wins whichever runs first, and the sweep has nothing to do.
func TestRaceChooseSweep(t *testing.T) {
	for i := range ccRaceRuns {
		atDeadline := i%2 == 0
		r := ccSignedInDelayed(t)
		e := r.e
		u := e.mustGet(t, r.u.ID)
		if atDeadline {
			e.clock.Set(u.Claim.Deadline)
		} else {
			e.clock.Set(u.Claim.Deadline.Add(-1))
		}
		action := []claim.Action{claim.MigrateContent, claim.DeleteOriginal}[i/2%2]
		var chooseErr, sweepErr error
		var rep claim.SweepReport
		ccTogether(
			func() { _, chooseErr = e.svc.Choose(e.ctx, u.ID, claim.Choice{Action: action}) },
			func() { rep, sweepErr = e.svc.Sweep(e.ctx) },
		)
		if sweepErr != nil {
			t.Fatalf("Sweep() = %v", sweepErr)
		}
		expired, _ := ccCount(t, e, claim.EventClaimExpired, u.ID)
		resolved, _ := ccCount(t, e, claim.EventClaimResolved, u.ID)
		_, moved := ccCount(t, e, claim.EventContentMigrated, u.ID)
		got := e.mustGet(t, u.ID)
		if atDeadline {
			if !errors.Is(chooseErr, claim.ErrNoPendingClaim) {
				t.Fatalf("Choose(%v) at the deadline = %v, want ErrNoPendingClaim", action, chooseErr)
			}
			if rep.Expired != 1 || expired != 1 || resolved != 0 || moved != r.u.Content {
				t.Fatalf("at the deadline: sweep expired %d, events: %d claim.expired, %d claim.resolved, %d content migrated; want 1, 1, 0, %d",
					rep.Expired, expired, resolved, moved, r.u.Content)
			}
			if got.Claim != nil || got.Content != r.u.Content {
				t.Fatalf("after expiry the user is %+v, want no claim and content %d", got, r.u.Content)
			}
			continue
		}
		if chooseErr != nil {
			t.Fatalf("Choose(%v) a nanosecond before the deadline = %v, want nil", action, chooseErr)
		}
		if rep.Expired != 0 || expired != 0 || resolved != 1 {
			t.Fatalf("before the deadline: sweep expired %d, events: %d claim.expired, %d claim.resolved; want 0, 0, 1", rep.Expired, expired, resolved)
		}
		want := 0
		if action == claim.MigrateContent {
			want = r.u.Content
		}
		if got.Claim != nil || got.Content != want {
			t.Fatalf("after Choose(%v) the user is %+v, want no claim and content %d", action, got, want)
		}
	}
}

// TestRaceChooseChoose: two different choices race. Exactly one wins;
// the other gets ErrNoPendingClaim (C1), and the outcome is the winner's.
func TestRaceChooseChoose(t *testing.T) {
	won := map[claim.Action]int{}
	for i := range ccRaceRuns {
		var r *ccRace
		var actions [2]claim.Action
		if i%2 == 0 {
			r = ccSignedInDelayed(t)
			actions = [2]claim.Action{claim.MigrateContent, claim.DeleteOriginal}
		} else {
			r = ccNewRace(t, claim.Immediate, claim.Verified, true)
			if _, err := r.e.svc.SignIn(r.e.ctx, r.u.ID); err != nil {
				t.Fatalf("SignIn() = %v", err)
			}
			actions = [2]claim.Action{claim.ChangeEmail, claim.DeleteOriginal}
		}
		e := r.e
		var errs [2]error
		var fns []func()
		for k, a := range actions {
			ch := claim.Choice{Action: a}
			if a == claim.ChangeEmail {
				ch.NewEmail = "kept@elsewhere.example"
			}
			fns = append(fns, func() { _, errs[k] = e.svc.Choose(e.ctx, r.u.ID, ch) })
		}
		ccTogether(fns...)
		var winner claim.Action
		switch {
		case errs[0] == nil && errors.Is(errs[1], claim.ErrNoPendingClaim):
			winner = actions[0]
		case errs[1] == nil && errors.Is(errs[0], claim.ErrNoPendingClaim):
			winner = actions[1]
		default:
			t.Fatalf("Choose(%v) = %v, Choose(%v) = %v; want one nil and one ErrNoPendingClaim", actions[0], errs[0], actions[1], errs[1])
		}
		won[winner]++
		if resolved, _ := ccCount(t, e, claim.EventClaimResolved, r.u.ID); resolved != 1 {
			t.Fatalf("%d claim.resolved events, want 1", resolved)
		}
		got := e.mustGet(t, r.u.ID)
		_, deleted := ccCount(t, e, claim.EventContentDeleted, r.orig)
		kept, keptErr := e.svc.UserByEmail(e.ctx, "kept@elsewhere.example")
		switch winner {
		case claim.MigrateContent:
			if got.Content != r.u.Content || deleted != 0 {
				t.Fatalf("MigrateContent won: user content %d, %d deleted; want %d, 0", got.Content, deleted, r.u.Content)
			}
		case claim.DeleteOriginal:
			if got.Content != 0 || deleted != r.u.Content {
				t.Fatalf("DeleteOriginal won: user content %d, %d deleted; want 0, %d", got.Content, deleted, r.u.Content)
			}
		case claim.ChangeEmail:
			if keptErr != nil || kept.ID != r.orig || kept.Content != r.u.Content || kept.HeldBy != "" || deleted != 0 {
				t.Fatalf("ChangeEmail won: original %+v, %v; %d deleted", kept, keptErr, deleted)
			}
		}
		if winner != claim.ChangeEmail && !errors.Is(keptErr, claim.ErrNotFound) {
			t.Fatalf("%v won, but the ChangeEmail address exists: %v", winner, keptErr)
		}
		if _, err := e.svc.UserByEmail(e.ctx, r.u.Email+claim.OriginalSuffix); !errors.Is(err, claim.ErrNotFound) {
			t.Fatalf("after the choice UserByEmail(original address) = %v, want ErrNotFound", err)
		}
	}
	t.Logf("winners: %v", won)
}
