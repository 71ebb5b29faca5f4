package claim_test

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

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
)

// Concurrency (Q1): 64 goroutines running mixed
// operations on shared users, then the invariants that no interleaving
// may break; and the races Q1 names, each run many times on fresh state:
// exactly one operation wins and the other gets the error it would get
// had it run second. Meant to run under -race. The races (TestRace…)
// are in the test files of the operations they race.

// TestConcurrentMixedOperations runs 64 goroutines of mixed operations on
// 40 shared users — claims by three orgs, retractions, sign-ins, choices,
// (de)activations, deletions, sweeps, domain claims, clock steps and
// reads — then checks the invariants, before and after a final sweep.
func TestConcurrentMixedOperations(t *testing.T) {
	w := mixedSetup(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const goroutines, ops = 64, 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			<-start
			mixedWorker(t, w, g, ops, rng)
		})
	}
	close(start)
	wg.Wait()
	mixedStats.Lock()
	t.Logf("operations (calls, successes): %v", mixedStats.m)
	mixedStats.Unlock()
	checkInvariants(t, w)
	w.e.clock.Advance(window)
	if _, err := w.e.svc.Sweep(w.e.ctx); err != nil {
		t.Fatalf("Sweep() = %v", err)
	}
	checkInvariants(t, w)
}

// checkMixedErr fails unless err is nil or wraps one of allowed. allowed is
// the business errors the operation may meet in the mixed run; anything
// else — a store inconsistency, a sentinel the operation never returns,
// an error wrapping none of the package's sentinels — is a bug.
func checkMixedErr(t *testing.T, op string, err error, allowed ...error) {
	tally(op, err)
	if err == nil {
		return
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return
		}
	}
	kind := "an error wrapping no sentinel of the package"
	for _, s := range allSentinels {
		if errors.Is(err, s) {
			kind = "an unexpected sentinel"
			break
		}
	}
	t.Errorf("%s = %v: %s (allowed: %v)", op, err, kind, allowed)
}

// checkInvariants checks, through the public API, what no interleaving
// may break: every address belongs to one account; every pending claim
// has exactly one original account, in the org it was claimed from, held
// by the claimant; every held original belongs to exactly one pending
// claim; content is conserved (C5); the event log has no gaps.
func checkInvariants(t *testing.T, w *mixedWorld) {
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

// checkRetractErr checks the shape of a refused retraction: a
// *RetractError whose reasons are in R7 order, ErrNotClaimant alone
// (R1, R7); or ErrNotFound, ErrNoPendingClaim.
func checkRetractErr(t *testing.T, op string, err error) {
	if err == nil {
		tally(op, nil)
		return
	}
	var re *claim.RetractError
	if !errors.As(err, &re) {
		checkMixedErr(t, op, err, claim.ErrNotFound, claim.ErrNoPendingClaim)
		return
	}
	tally(op, err)
	if len(re.Reasons) == 0 {
		t.Errorf("%s = %v: a RetractError without reasons", op, err)
	}
	if slices.Contains(re.Reasons, claim.ErrNotClaimant) && len(re.Reasons) != 1 {
		t.Errorf("%s = %v: ErrNotClaimant with other reasons (R1)", op, err)
	}
	i := 0
	for _, r := range re.Reasons {
		for i < len(retractReasonOrder) && retractReasonOrder[i] != r {
			i++
		}
		if i == len(retractReasonOrder) {
			t.Errorf("%s reasons = %v: not a subsequence of %v (R7)", op, re.Reasons, retractReasonOrder)
			return
		}
		i++
	}
}

const (
	mixedDomain = "shared.example" // verified by every claiming org
	soloDomain  = "solo.example"   // verified by cc-b0 only
)

// retractReasonOrder is the order of R7 for a *RetractError's reasons.
var retractReasonOrder = []error{claim.ErrNotClaimant, claim.ErrSignedIn, claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}

// allSentinels are every sentinel error of the package.
var allSentinels = []error{
	claim.ErrNotFound, claim.ErrInvalidEmail, claim.ErrInvalidDomain, claim.ErrEmailTaken,
	claim.ErrNotVerified, claim.ErrInactive, claim.ErrHeldByClaim, claim.ErrDomainNotVerified,
	claim.ErrDomainClaimedByOther, claim.ErrDirectorySyncEnabled, claim.ErrNotAcknowledged,
	claim.ErrTooMany, claim.ErrNotEligible, claim.ErrNotClaimant, claim.ErrSignedIn,
	claim.ErrRetractWindowClosed, claim.ErrDomainClaimed, claim.ErrChoiceNotAllowed,
	claim.ErrNoPendingClaim, claim.ErrSyncThreshold, claim.ErrPendingClaims, claim.ErrStaleMode,
	claim.ErrAlreadyClaimed, claim.ErrDuplicate, claim.ErrInvalidValue, claim.ErrConflict,
}

// mixedSetup makes three claiming orgs, six source orgs of every kind (one
// with SSO) and 40 users with content in various states.
func mixedSetup(t *testing.T) *mixedWorld {
	e := newEnv(t)
	w := &mixedWorld{e: e}
	for i := range 3 {
		id := claim.OrgID(fmt.Sprintf("cc-b%d", i))
		e.mustOrg(t, id, claim.Enterprise, t0, claim.Settings{AllowContentMigration: i != 1, AutoLicenses: []string{"Meetings"}[:i%2]})
		e.mustVerify(t, id, mixedDomain)
		w.claimers = append(w.claimers, id)
	}
	e.mustVerify(t, "cc-b0", soloDomain)
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
	e.mustVerify(t, "cc-a2", mixedDomain)
	w.orgs = append(slices.Clone(w.claimers), w.sources...)
	for i := range 40 {
		dom := mixedDomain
		if i%5 == 4 {
			dom = soloDomain
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

// mixedStats counts, per operation, the calls and the successes of the mixed
// run, so that its log shows the run exercised what it claims to.
var mixedStats struct {
	sync.Mutex
	m map[string][2]int
}

func tally(op string, err error) {
	mixedStats.Lock()
	defer mixedStats.Unlock()
	if mixedStats.m == nil {
		mixedStats.m = map[string][2]int{}
	}
	c := mixedStats.m[op]
	c[0]++
	if err == nil {
		c[1]++
	}
	mixedStats.m[op] = c
}

// mixedWorker runs n operations drawn from rng against the shared world.
func mixedWorker(t *testing.T, w *mixedWorld, g, n int, rng *rand.Rand) {
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
		checkMixedErr(t, "User", err, claim.ErrNotFound)
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
					tally("ClaimUsers result", nil)
					if r.Mode != claim.Immediate && r.Mode != claim.Delayed {
						t.Errorf("ClaimUsers(%s): %s claimed with mode %v", org, r.Input, r.Mode)
					}
					continue
				}
				checkMixedErr(t, "ClaimUsers result", r.Err, claim.ErrNotEligible, claim.ErrNotFound, claim.ErrDuplicate)
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
			checkRetractErr(t, "Retract", e.svc.Retract(ctx, org, id))
		case p < 42:
			_, err := e.svc.SignIn(ctx, pick())
			checkMixedErr(t, "SignIn", err, claim.ErrNotFound, claim.ErrHeldByClaim, claim.ErrNotVerified, claim.ErrInactive)
		case p < 52:
			ch := claim.Choice{Action: claim.Action(1 + rng.IntN(3))}
			if ch.Action == claim.ChangeEmail {
				ch.NewEmail = fmt.Sprintf("moved%d@elsewhere.example", w.newEmails.Add(1))
			}
			_, err := e.svc.Choose(ctx, pick(), ch)
			checkMixedErr(t, "Choose", err, claim.ErrNotFound, claim.ErrNoPendingClaim, claim.ErrChoiceNotAllowed)
		case p < 57:
			id := pick()
			_, err := e.svc.Deactivate(ctx, orgOf(id), id)
			checkMixedErr(t, "Deactivate", err, claim.ErrNotFound, claim.ErrHeldByClaim)
		case p < 62:
			id := pick()
			_, err := e.svc.Reactivate(ctx, orgOf(id), id)
			checkMixedErr(t, "Reactivate", err, claim.ErrNotFound, claim.ErrHeldByClaim)
		case p < 63:
			if rng.IntN(8) != 0 { // rare: each deletion shrinks the shared pool
				continue
			}
			id := pick()
			checkMixedErr(t, "DeleteUser", e.svc.DeleteUser(ctx, orgOf(id), id), claim.ErrNotFound, claim.ErrHeldByClaim)
		case p < 66:
			if _, err := e.svc.Sweep(ctx); err != nil {
				t.Errorf("Sweep() = %v", err)
			}
		case p < 73:
			e.clock.Advance(time.Duration(rng.Int64N(int64(4 * time.Hour))))
		case p < 75:
			org := claimer()
			if rng.IntN(3) == 0 {
				checkMixedErr(t, "ClaimDomain", e.svc.ClaimDomain(ctx, org, mixedDomain), claim.ErrDomainClaimedByOther)
			} else {
				checkMixedErr(t, "ReleaseDomain", e.svc.ReleaseDomain(ctx, org, mixedDomain), claim.ErrDomainClaimedByOther, claim.ErrNotFound)
			}
		case p < 78:
			// The source org's side of a claim: the original is frozen (H2).
			email := w.emails[rng.IntN(len(w.emails))] + claim.OriginalSuffix
			o, err := e.svc.UserByEmail(ctx, email)
			checkMixedErr(t, "UserByEmail(original)", err, claim.ErrNotFound)
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
				checkMixedErr(t, "SignIn(original)", err, claim.ErrHeldByClaim, claim.ErrNotFound, claim.ErrNotVerified, claim.ErrInactive)
			} else {
				err = e.svc.DeleteUser(ctx, o.Org, o.ID)
				checkMixedErr(t, "DeleteUser(original)", err, claim.ErrHeldByClaim, claim.ErrNotFound)
			}
			if err == nil || !errors.Is(err, claim.ErrHeldByClaim) {
				if now, err2 := e.svc.User(ctx, o.ID); err2 == nil && (now.HeldBy != "" || strings.HasSuffix(now.Email, claim.OriginalSuffix)) {
					t.Errorf("operation on held original %s was not refused with ErrHeldByClaim (H2): %v", o.Email, err)
				}
			}
		case p < 81:
			_, err := e.svc.VerifyEmail(ctx, pick())
			checkMixedErr(t, "VerifyEmail", err, claim.ErrNotFound, claim.ErrHeldByClaim)
		case p < 84:
			_, err := e.svc.DaysLeft(ctx, pick())
			checkMixedErr(t, "DaysLeft", err, claim.ErrNotFound, claim.ErrNoPendingClaim)
		case p < 88:
			id := pick()
			u, err := e.svc.User(ctx, id)
			checkMixedErr(t, "User", err, claim.ErrNotFound)
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

// mixedWorld is the shared state of the mixed run.
type mixedWorld struct {
	e         *env
	claimers  []claim.OrgID
	sources   []claim.OrgID
	orgs      []claim.OrgID
	ids       []claim.UserID
	emails    []string
	content   int // the total content at the start
	newEmails atomic.Int64
}

// TestHostileInput feeds every exported method that takes a string its
// hostile values — empty, 10 MB, NUL, invalid UTF-8, a control
// character, a zero-width space, a right-to-left override, the reserved
// suffix in another case, a trailing dot — on the memory store and on
// PostgreSQL: each refused value is an *InputError with a bounded message
// that leaves the event log unchanged, each accepted one passes the input
// checks, and both stores give the same outcome, message for message
// (N1–N4).
func TestHostileInput(t *testing.T) {
	mem := runHostile(t, claim.NewMemoryStore())
	t.Run("PostgreSQL", func(t *testing.T) {
		store, _ := postgresStore(t)
		pg := runHostile(t, store)
		if diff := cmp.Diff(mem, pg); diff != "" {
			t.Errorf("outcomes differ between the stores (-memory +postgres):\n%s", diff)
		}
	})
}

// hostileOp is one exported method with one string argument made hostile.
type hostileOp struct {
	name     string
	kind     strKind
	create   bool // an address or ID of something new (the reserved suffix is refused; an empty ID is generated)
	required bool // a name that must not be empty
	run      func(f *trustFixture, v string, i int) error
}

// refused says whether the limits refuse variant v of op's argument.
func (op hostileOp) refused(v string) bool {
	switch v {
	case "empty":
		switch op.kind {
		case kindName:
			return op.required
		case kindID:
			return !op.create
		}
		return true
	case "10 MB", "NUL", "invalid UTF-8", "control":
		return true
	case "zero-width space", "right-to-left override":
		return op.kind != kindName
	case "reserved suffix in another case":
		return op.kind == kindDomain || op.kind == kindEmail && op.create
	}
	return false // a trailing dot is normalized away (N1, N2) or is a plain character
}

// hostileOps lists every exported method that takes a string, once per
// string argument.
func hostileOps() []hostileOp {
	org := func(name string, run func(f *trustFixture, o claim.OrgID) error) hostileOp {
		return hostileOp{name: name + "(org)", kind: kindID, run: func(f *trustFixture, v string, _ int) error { return run(f, claim.OrgID(v)) }}
	}
	user := func(name string, run func(f *trustFixture, u claim.UserID) error) hostileOp {
		return hostileOp{name: name + "(user)", kind: kindID, run: func(f *trustFixture, v string, _ int) error { return run(f, claim.UserID(v)) }}
	}
	domain := func(name string, run func(f *trustFixture, d string) error) hostileOp {
		return hostileOp{name: name + "(domain)", kind: kindDomain, run: func(f *trustFixture, v string, _ int) error { return run(f, v) }}
	}
	ops := []hostileOp{
		{name: "CreateOrg(Org.ID)", kind: kindID, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.CreateOrg(f.ctx, claim.Org{ID: claim.OrgID(v), Name: "N", Kind: claim.Enterprise})
			return err
		}},
		{name: "CreateOrg(Org.Name)", kind: kindName, required: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.CreateOrg(f.ctx, claim.Org{Name: v, Kind: claim.Enterprise})
			return err
		}},
		org("Org", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.Org(f.ctx, o); return err }),
		org("UpdateSettings", func(f *trustFixture, o claim.OrgID) error { return f.svc.UpdateSettings(f.ctx, o, claim.Settings{}) }),
		{name: "UpdateSettings(AutoLicenses)", kind: kindName, required: true, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.UpdateSettings(f.ctx, "acme", claim.Settings{AutoLicenses: []string{v}})
		}},
		org("DeleteOrg", func(f *trustFixture, o claim.OrgID) error { return f.svc.DeleteOrg(f.ctx, o) }),
		org("StartDomainVerification", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.StartDomainVerification(f.ctx, o, "acme.com")
			return err
		}),
		domain("StartDomainVerification", func(f *trustFixture, d string) error {
			_, err := f.svc.StartDomainVerification(f.ctx, "acme", d)
			return err
		}),
		org("ConfirmDomain", func(f *trustFixture, o claim.OrgID) error { return f.svc.ConfirmDomain(f.ctx, o, "acme.com") }),
		domain("ConfirmDomain", func(f *trustFixture, d string) error { return f.svc.ConfirmDomain(f.ctx, "acme", d) }),
		org("ClaimDomain", func(f *trustFixture, o claim.OrgID) error { return f.svc.ClaimDomain(f.ctx, o, "acme.com") }),
		domain("ClaimDomain", func(f *trustFixture, d string) error { return f.svc.ClaimDomain(f.ctx, "beta", d) }),
		org("ReleaseDomain", func(f *trustFixture, o claim.OrgID) error { return f.svc.ReleaseDomain(f.ctx, o, "beta.com") }),
		domain("ReleaseDomain", func(f *trustFixture, d string) error { return f.svc.ReleaseDomain(f.ctx, "acme", d) }),
		org("UnverifyDomain", func(f *trustFixture, o claim.OrgID) error { return f.svc.UnverifyDomain(f.ctx, o, "other.com") }),
		domain("UnverifyDomain", func(f *trustFixture, d string) error { return f.svc.UnverifyDomain(f.ctx, "beta", d) }),
		org("Domains", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.Domains(f.ctx, o); return err }),
		org("AddUser", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.AddUser(f.ctx, o, claim.NewUser{Email: "x@other.com"})
			return err
		}),
		{name: "AddUser(NewUser.Email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.AddUser(f.ctx, "acme", claim.NewUser{Email: v})
			return err
		}},
		{name: "AddUser(NewUser.FirstName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.AddUser(f.ctx, "acme", claim.NewUser{Email: fmt.Sprintf("f%d@acme.com", i), FirstName: v})
			return err
		}},
		{name: "AddUser(NewUser.LastName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.AddUser(f.ctx, "acme", claim.NewUser{Email: fmt.Sprintf("l%d@acme.com", i), LastName: v})
			return err
		}},
		{name: "AddUser(NewUser.DisplayName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.AddUser(f.ctx, "acme", claim.NewUser{Email: fmt.Sprintf("d%d@acme.com", i), DisplayName: v})
			return err
		}},
		user("User", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.User(f.ctx, u); return err }),
		{name: "UserByEmail(email)", kind: kindEmail, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.UserByEmail(f.ctx, v)
			return err
		}},
		org("Users", func(f *trustFixture, o claim.OrgID) error { return firstErr(f.svc.Users(f.ctx, o)) }),
		user("VerifyEmail", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.VerifyEmail(f.ctx, u); return err }),
		user("SignIn", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.SignIn(f.ctx, u); return err }),
		org("Deactivate", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.Deactivate(f.ctx, o, f.ann.ID); return err }),
		user("Deactivate", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.Deactivate(f.ctx, "acme", u); return err }),
		org("Reactivate", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.Reactivate(f.ctx, o, f.ann.ID); return err }),
		user("Reactivate", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.Reactivate(f.ctx, "acme", u); return err }),
		org("DeleteUser", func(f *trustFixture, o claim.OrgID) error { return f.svc.DeleteUser(f.ctx, o, f.bob.ID) }),
		user("DeleteUser", func(f *trustFixture, u claim.UserID) error { return f.svc.DeleteUser(f.ctx, "acme", u) }),
		org("NudgeUnverified", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.NudgeUnverified(f.ctx, o); return err }),
		org("Claimable", func(f *trustFixture, o claim.OrgID) error { return firstErr(f.svc.Claimable(f.ctx, o)) }),
		org("Eligibility", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.Eligibility(f.ctx, o, "bob@beta.com")
			return err
		}),
		{name: "Eligibility(email)", kind: kindEmail, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.Eligibility(f.ctx, "acme", v)
			return err
		}},
		org("ClaimUsers", func(f *trustFixture, o claim.OrgID) error {
			return resultErr(f.svc.ClaimUsers(f.ctx, o, []claim.UserID{f.bob.ID}, ack))
		}),
		user("ClaimUsers", func(f *trustFixture, u claim.UserID) error {
			return resultErr(f.svc.ClaimUsers(f.ctx, "acme", []claim.UserID{u}, ack))
		}),
		org("ClaimEmails", func(f *trustFixture, o claim.OrgID) error {
			return resultErr(f.svc.ClaimEmails(f.ctx, o, []string{"bob@beta.com"}, ack))
		}),
		{name: "ClaimEmails(addresses)", kind: kindEmail, run: func(f *trustFixture, v string, _ int) error {
			return resultErr(f.svc.ClaimEmails(f.ctx, "beta", []string{v}, ack))
		}},
		org("Retract", func(f *trustFixture, o claim.OrgID) error { return f.svc.Retract(f.ctx, o, f.ann.ID) }),
		user("Retract", func(f *trustFixture, u claim.UserID) error { return f.svc.Retract(f.ctx, "acme", u) }),
		org("Retractable", func(f *trustFixture, o claim.OrgID) error { return firstErr(f.svc.Retractable(f.ctx, o)) }),
		{name: "Choose(Choice.NewEmail)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.Choose(f.ctx, f.ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: v})
			return err
		}},
		user("Choose", func(f *trustFixture, u claim.UserID) error {
			_, err := f.svc.Choose(f.ctx, u, claim.Choice{Action: claim.DeleteOriginal})
			return err
		}),
		user("DaysLeft", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.DaysLeft(f.ctx, u); return err }),
		org("RemindDelayed", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.RemindDelayed(f.ctx, o); return err }),
		org("ExportClaimable", func(f *trustFixture, o claim.OrgID) error { return f.svc.ExportClaimable(f.ctx, o, &strings.Builder{}) }),
		org("ImportClaims", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.ImportClaims(f.ctx, o, strings.NewReader("User ID/Email (Required)\n"), claim.ImportOptions{Acknowledge: true})
			return err
		}),
		org("SyncDirectory", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.SyncDirectory(f.ctx, o, nil, claim.SyncOptions{DryRun: true})
			return err
		}),
		{name: "SyncDirectory(DirectoryEntry.Email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			return syncErr(f.env, claim.DirectoryEntry{Email: v})
		}},
		{name: "SyncDirectory(DirectoryEntry.DisplayName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			return syncErr(f.env, claim.DirectoryEntry{Email: fmt.Sprintf("s%d@acme.com", i), DisplayName: v})
		}},
		// BroadWorks (broadworks.go).
		{name: "CreateEnterprise(Enterprise.ID)", kind: kindID, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().CreateEnterprise(f.ctx, claim.BroadWorksEnterprise{ID: claim.EnterpriseID(v), Partner: "tel", Name: "N",
				Template: claim.Template{PartnerAdmin: "pat@tel.example"}})
			if v == "" && errors.Is(err, claim.ErrInvalidValue) {
				return nil // an enterprise's ID is the partner's, never generated: required
			}
			return err
		}},
		{name: "CreateEnterprise(Enterprise.Name)", kind: kindName, required: true, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().CreateEnterprise(f.ctx, claim.BroadWorksEnterprise{ID: claim.EnterpriseID(fmt.Sprintf("n%d", i)), Partner: "tel", Name: v,
				Template: claim.Template{PartnerAdmin: "pat@tel.example"}})
			return err
		}},
		{name: "CreateEnterprise(Template.PartnerAdmin)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().CreateEnterprise(f.ctx, claim.BroadWorksEnterprise{ID: claim.EnterpriseID(fmt.Sprintf("p%d", i)), Partner: "tel", Name: "N",
				Template: claim.Template{PartnerAdmin: v}})
			return err
		}},
		{name: "Enterprise(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().Enterprise(f.ctx, "tel", claim.EnterpriseID(v))
			return err
		}},
		{name: "Subscriber(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().Subscriber(f.ctx, claim.SubscriberID(v))
			return err
		}},
		{name: "Subscribers(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			return firstErr(f.svc.BroadWorks().Subscribers(f.ctx, "tel", claim.EnterpriseID(v)))
		}},
		org("OrgProfile", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.BroadWorks().OrgProfile(f.ctx, o)
			return err
		}),
		{name: "AddAdmin(Admin.Email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().AddAdmin(f.ctx, "acme", claim.Admin{Email: v, Role: claim.FullAdmin})
		}},
		{name: "SetOrgLicenses(OrgLicense.Name)", kind: kindName, required: true, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().SetOrgLicenses(f.ctx, "acme", []claim.OrgLicense{{Name: v, Status: claim.LicenseActive}})
		}},
		org("SetRestrictedAdminMode", func(f *trustFixture, o claim.OrgID) error {
			return f.svc.BroadWorks().SetRestrictedAdminMode(f.ctx, o, true)
		}),
		{name: "AddWorkspace(name)", kind: kindName, required: true, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().AddWorkspace(f.ctx, "tel", "ent", v)
		}},
		{name: "RemoveWorkspace(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().RemoveWorkspace(f.ctx, "tel", claim.EnterpriseID(v), "w")
		}},
		{name: "ProvisionSubscriber(NewSubscriber.ID)", kind: kindID, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().ProvisionSubscriber(f.ctx, "tel", "ent", claim.NewSubscriber{ID: claim.SubscriberID(v), Email: fmt.Sprintf("p%d@mail.example", i)})
			return err
		}},
		{name: "ProvisionSubscriber(NewSubscriber.Email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().ProvisionSubscriber(f.ctx, "tel", "ent", claim.NewSubscriber{ID: claim.SubscriberID(fmt.Sprintf("pe%d", i)), Email: v})
			return err
		}},
		{name: "ProvisionSubscriber(NewSubscriber.FirstName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().ProvisionSubscriber(f.ctx, "tel", "unt", claim.NewSubscriber{ID: claim.SubscriberID(fmt.Sprintf("pf%d", i)), FirstName: v})
			return err
		}},
		{name: "EnterEmail(email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().EnterEmail(f.ctx, "sub", v)
			return err
		}},
		{name: "SelfActivate(id)", kind: kindID, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().SelfActivate(f.ctx, claim.EnterpriseID(v), claim.NewSubscriber{ID: claim.SubscriberID(fmt.Sprintf("sa%d", i)), Email: "sa@mail.example"})
			return err
		}},
		{name: "SelfActivate(NewSubscriber.LastName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().SelfActivate(f.ctx, "unt", claim.NewSubscriber{ID: claim.SubscriberID(fmt.Sprintf("sl%d", i)),
				Email: fmt.Sprintf("sl%d@mail.example", i), LastName: v})
			return err
		}},
		{name: "ValidateEmail(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().ValidateEmail(f.ctx, claim.SubscriberID(v))
			return err
		}},
		{name: "Consent(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().Consent(f.ctx, claim.SubscriberID(v))
			return err
		}},
		{name: "RetrySubscriber(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().RetrySubscriber(f.ctx, "tel", claim.SubscriberID(v))
			return err
		}},
		{name: "RemoveSubscriber(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().RemoveSubscriber(f.ctx, "tel", claim.SubscriberID(v))
		}},
		{name: "Detach(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().Detach(f.ctx, "tel", claim.EnterpriseID(v), claim.DetachStandard)
		}},
	}
	return ops
}

const (
	kindID     strKind = iota // an org, user, enterprise or subscriber ID
	kindEmail                 // an e-mail address
	kindDomain                // a domain name
	kindName                  // a name: org, user, license, workspace, enterprise
)

func newTrustFixture(tb testing.TB, store claim.Store) *trustFixture {
	tb.Helper()
	f := &trustFixture{env: newEnvOn(tb, store)}
	f.mustOrg(tb, "acme", claim.Enterprise, t0, claim.Settings{})
	f.mustOrg(tb, "beta", claim.Enterprise, t0, claim.Settings{SSO: true})
	f.mustOrg(tb, "tel", claim.Enterprise, t0, claim.Settings{})
	f.mustVerify(tb, "acme", "acme.com")
	f.mustVerify(tb, "beta", "beta.com")
	if err := f.svc.ClaimDomain(f.ctx, "beta", "beta.com"); err != nil {
		tb.Fatalf("ClaimDomain = %v", err)
	}
	f.ann = f.mustUser(tb, "acme", "ann@acme.com", 1)
	f.bob = f.mustUser(tb, "beta", "bob@beta.com", 1)
	for _, e := range []claim.BroadWorksEnterprise{
		{ID: "ent", Partner: "tel", Name: "Trusted", Template: claim.Template{PartnerAdmin: "pat@tel.example", TrustedEmail: true}},
		{ID: "unt", Partner: "tel", Name: "Untrusted", Template: claim.Template{PartnerAdmin: "pat@tel.example"}},
	} {
		if _, err := f.svc.BroadWorks().CreateEnterprise(f.ctx, e); err != nil {
			tb.Fatalf("CreateEnterprise(%s) = %v", e.ID, err)
		}
	}
	if _, err := f.svc.BroadWorks().ProvisionSubscriber(f.ctx, "tel", "unt", claim.NewSubscriber{ID: "sub"}); err != nil {
		tb.Fatalf("ProvisionSubscriber = %v", err)
	}
	return f
}

// outcome summarizes an error the same way on every store: an
// *InputError by its whole message (it must be the same), anything else
// by its sentinel.
func outcome(err error) string {
	var ie *claim.InputError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ie):
		return "InputError: " + err.Error()
	}
	for _, s := range []error{claim.ErrNotFound, claim.ErrInvalidValue, claim.ErrInvalidEmail, claim.ErrInvalidDomain,
		claim.ErrEmailTaken, claim.ErrDomainClaimedByOther, claim.ErrDomainNotVerified, claim.ErrNotEligible, claim.ErrDuplicate,
		claim.ErrNoPendingClaim, claim.ErrDomainClaimed, claim.ErrSubscriberStatus, claim.ErrPendingClaims, claim.ErrNotClaimant} {
		if errors.Is(err, s) {
			return "error: " + s.Error()
		}
	}
	return "other: " + err.Error()
}

// resultErr returns a batch's error or its first result's.
func resultErr(rs []claim.Result, err error) error {
	if err != nil || len(rs) == 0 {
		return err
	}
	return rs[0].Err
}

// runHostile feeds every hostile value to every method on a fixture on
// store and returns the outcomes, checking each refusal as it goes.
func runHostile(t *testing.T, store claim.Store) []string {
	f := newTrustFixture(t, store)
	var out []string
	i := 0
	for _, op := range hostileOps() {
		for _, v := range variants {
			i++
			val := v.make(op.kind)
			before := lastSeq(t, f.env)
			err := op.run(f, val, i)
			out = append(out, op.name+" / "+v.name+": "+outcome(err))
			if !op.refused(v.name) {
				var ie *claim.InputError
				if errors.As(err, &ie) {
					t.Errorf("%s with %s = %v, want it past the input checks", op.name, v.name, err)
				}
				continue
			}
			var ie *claim.InputError
			if !errors.As(err, &ie) {
				t.Errorf("%s with %s = %v, want an *InputError", op.name, v.name, err)
				continue
			}
			if n := len(err.Error()); n > 512 {
				t.Errorf("%s with %s: a message of %d bytes, want at most 512", op.name, v.name, n)
			}
			if len(ie.Value) > 64 {
				t.Errorf("%s with %s: InputError.Value holds %d bytes, want at most 64", op.name, v.name, len(ie.Value))
			}
			if after := lastSeq(t, f.env); after != before {
				t.Errorf("%s with %s: the event log went from %d to %d, want it unchanged", op.name, v.name, before, after)
			}
		}
	}
	return out
}

// A hostile value of a kind of string, made from a harmless base value.
type (
	strKind int
	variant struct {
		name string
		make func(k strKind) string
	}
)

// base returns a harmless value of k, and where a hostile character goes.
func (k strKind) base() (string, int) {
	switch k {
	case kindEmail:
		return "ann9@acme.com", 3
	case kindDomain:
		return "acme.com", 2
	case kindName:
		return "Ann", 2
	}
	return "acme", 2
}

// syncErr runs an incremental dry-run SyncDirectory of acme with the
// entry and returns its error or the entry's refusal. (A real run that
// refuses an entry still writes directory.synced: the rest proceeds, Y3.)
func syncErr(e *env, entry claim.DirectoryEntry) error {
	rep, err := e.svc.SyncDirectory(e.ctx, "acme", []claim.DirectoryEntry{entry}, claim.SyncOptions{DryRun: true})
	if err != nil || len(rep.Refused) == 0 {
		return err
	}
	return rep.Refused[0].Err
}

// trustFixture is a world of three orgs on one store: acme (acme.com
// verified, user ann), beta (beta.com verified and claimed, SSO, user bob)
// and the BroadWorks partner tel with an enterprise of each flow.
type trustFixture struct {
	*env
	ann, bob claim.User
}

var variants = []variant{
	{"empty", func(strKind) string { return "" }},
	{"10 MB", func(k strKind) string { b, _ := k.base(); return strings.Repeat("a", 10<<20) + b }},
	{"NUL", with("\x00")},
	{"invalid UTF-8", with("\xff\xfe")},
	{"control", with("\x1b")},
	{"zero-width space", with("\u200b")},
	{"right-to-left override", with("\u202e")},
	{"reserved suffix in another case", func(k strKind) string { b, _ := k.base(); return b + ".Convert-User.LOCAL" }},
	{"trailing dot", func(k strKind) string { b, _ := k.base(); return strings.ToUpper(b[:1]) + b[1:] + "." }},
}

// with puts s inside k's base value.
func with(s string) func(strKind) string {
	return func(k strKind) string {
		b, at := k.base()
		return b[:at] + s + b[at:]
	}
}

// TestIsolation: for any sequence of operations by org A, no error A
// receives contains an address, ID, name or setting of another org that A
// may not see — A may see its own users and users on domains it has
// verified (N3, E2). Of a user A may not see, a claim's refusal is
// domain_not_verified alone and carries no address.
func TestIsolation(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := &isolationWorld{env: newEnv(t)}
		w.mustOrg(t, "acting", claim.Enterprise, t0, claim.Settings{})
		w.mustOrg(t, "orgbeta", claim.Individual, oldOrgDate, claim.Settings{
			SSO: rapid.Bool().Draw(rt, "beta SSO"), DirectorySync: rapid.Bool().Draw(rt, "beta directory sync")})
		w.mustOrg(t, "orgcharlie", claim.Enterprise, t0, claim.Settings{})
		w.mustVerify(t, "acting", "a.example")
		w.mustVerify(t, "orgbeta", "b.example")
		w.mustVerify(t, "orgcharlie", "shared.example")
		if rapid.Bool().Draw(rt, "beta claims b.example") {
			if err := w.svc.ClaimDomain(w.ctx, "orgbeta", "b.example"); err != nil {
				t.Fatalf("ClaimDomain = %v", err)
			}
		}
		n := 0
		add := func(org claim.OrgID, domain string) claim.User {
			n++
			u, err := w.svc.AddUser(w.ctx, org, claim.NewUser{Email: fmt.Sprintf("hidden%d@%s", n, domain),
				FirstName: fmt.Sprintf("Secretfirst%d", n), LastName: fmt.Sprintf("Secretlast%d", n)})
			if err != nil {
				t.Fatalf("AddUser = %v", err)
			}
			w.others = append(w.others, u.ID)
			return u
		}
		add("orgbeta", "b.example")
		held := add("orgbeta", "shared.example")
		add("orgbeta", "c.example")
		add("orgcharlie", "shared.example")
		if rapid.Bool().Draw(rt, "charlie claims a user of beta") {
			rs, err := w.svc.ClaimUsers(w.ctx, "orgcharlie", []claim.UserID{held.ID}, ack)
			if err != nil {
				t.Fatalf("ClaimUsers = %v", err)
			}
			if rs[0].Err == nil { // else beta's SSO or directory sync refused it
				held = w.mustGet(t, held.ID)
				w.others = append(w.others, held.Claim.Original)
			}
		}
		ops := []string{"ClaimUsers", "ClaimEmails", "Eligibility", "Deactivate", "Reactivate", "DeleteUser", "Retract",
			"AddUser", "ImportClaims", "SyncDirectory", "ConfirmDomain", "StartDomainVerification"}
		steps := rapid.IntRange(1, 10).Draw(rt, "steps")
		for range steps {
			id := rapid.SampledFrom(w.others).Draw(rt, "target")
			u, err := w.svc.User(w.ctx, id)
			if err != nil {
				continue // gone
			}
			dom := u.Email[strings.LastIndexByte(u.Email, '@')+1:]
			op := rapid.SampledFrom(ops).Draw(rt, "op")
			given := string(u.ID)
			switch op {
			case "ClaimEmails", "Eligibility", "AddUser", "ImportClaims", "SyncDirectory":
				given = u.Email
			case "ConfirmDomain", "StartDomainVerification":
				given = dom
			}
			visible := w.visible(t, u)
			var errs []error
			switch op {
			case "ClaimUsers":
				rs, err := w.svc.ClaimUsers(w.ctx, "acting", []claim.UserID{u.ID}, ack)
				errs = append(errs, err)
				for _, r := range rs {
					errs = append(errs, r.Err)
				}
			case "ClaimEmails":
				rs, err := w.svc.ClaimEmails(w.ctx, "acting", []string{u.Email}, ack)
				errs = append(errs, err)
				for _, r := range rs {
					errs = append(errs, r.Err)
				}
			case "Eligibility":
				rs, err := w.svc.Eligibility(w.ctx, "acting", u.Email)
				errs = append(errs, err)
				if err == nil && !visible && (len(rs) != 1 || rs[0] != claim.ReasonDomainNotVerified) {
					t.Fatalf("Eligibility(acting, %s) = %v of a user acting may not see, want [domain_not_verified]", u.Email, rs)
				}
			case "Deactivate":
				_, err := w.svc.Deactivate(w.ctx, "acting", u.ID)
				errs = append(errs, err)
			case "Reactivate":
				_, err := w.svc.Reactivate(w.ctx, "acting", u.ID)
				errs = append(errs, err)
			case "DeleteUser":
				errs = append(errs, w.svc.DeleteUser(w.ctx, "acting", u.ID))
			case "Retract":
				errs = append(errs, w.svc.Retract(w.ctx, "acting", u.ID))
			case "AddUser":
				_, err := w.svc.AddUser(w.ctx, "acting", claim.NewUser{Email: "new-" + u.Email})
				errs = append(errs, err)
				_, err = w.svc.AddUser(w.ctx, "acting", claim.NewUser{Email: u.Email})
				errs = append(errs, err)
			case "ImportClaims":
				rep, err := w.svc.ImportClaims(w.ctx, "acting", strings.NewReader("User ID/Email (Required)\n"+u.Email+"\n"),
					claim.ImportOptions{Acknowledge: true})
				errs = append(errs, err)
				for _, r := range rep.Rows {
					errs = append(errs, r.Err)
				}
			case "SyncDirectory":
				rep, err := w.svc.SyncDirectory(w.ctx, "acting", []claim.DirectoryEntry{{Email: u.Email}}, claim.SyncOptions{})
				errs = append(errs, err)
				for _, r := range rep.Refused {
					errs = append(errs, r.Err)
				}
			case "ConfirmDomain":
				if _, err := w.svc.StartDomainVerification(w.ctx, "acting", dom); err == nil {
					w.mustVerify(t, "acting", strings.TrimSuffix(dom, claim.OriginalSuffix))
				}
			case "StartDomainVerification":
				_, err := w.svc.StartDomainVerification(w.ctx, "acting", dom)
				errs = append(errs, err)
			}
			secrets := w.secrets(t, given)
			for _, err := range errs {
				if err == nil {
					continue
				}
				msg := err.Error()
				for _, s := range secrets {
					if strings.Contains(msg, s) {
						t.Fatalf("%s on %s: acting got %q, which holds %q, a secret of an org acting may not see", op, u.ID, msg, s)
					}
				}
				var re *claim.RefusalError
				if errors.As(err, &re) && !visible && u.Org != "acting" {
					if re.Email != "" && re.Email != given || len(re.Reasons) != 1 || re.Reasons[0] != claim.ReasonDomainNotVerified {
						t.Fatalf("%s on %s: refusal %+v of a user acting may not see, want domain_not_verified alone and no address but the one given", op, u.ID, re)
					}
					if re.User != "" && string(re.User) != given {
						t.Fatalf("%s on %s: refusal %+v names the ID of a user acting may not see", op, u.ID, re)
					}
				}
				if !visible {
					for _, r := range []string{"source_sso", "source_directory_sync", "domain_claimed_by_other", "pending_claim"} {
						if strings.Contains(msg, r) {
							t.Fatalf("%s on %s: acting got %q, which says %s of a user it may not see", op, u.ID, msg, r)
						}
					}
				}
			}
		}
	})
}

// isolationWorld is the world of TestIsolation: org "acting" (A) acts; orgs
// "orgbeta" and "orgcharlie" hold users A may or may not see.
type isolationWorld struct {
	*env
	others []claim.UserID // every user of the other orgs, originals included
}

// secrets returns what A may not learn now: for each other org's user A
// may not see, its address, ID and names, except what A gave itself
// (given); and the other orgs' IDs and names, always.
func (w *isolationWorld) secrets(tb testing.TB, given string) []string {
	out := []string{"orgbeta", "orgcharlie"}
	for _, id := range w.others {
		u, err := w.svc.User(w.ctx, id)
		if errors.Is(err, claim.ErrNotFound) {
			continue // deleted, or an original whose claim ended
		}
		if err != nil {
			tb.Fatalf("User(%s) = %v", id, err)
		}
		if w.visible(tb, u) {
			continue
		}
		for _, s := range []string{u.Email, string(u.ID), u.FirstName, u.LastName} {
			if s != given && !strings.HasPrefix(given, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// visible reports whether A may see u: a user of its own, or on a domain
// it has verified (an original account: the domain it was claimed under).
func (w *isolationWorld) visible(tb testing.TB, u claim.User) bool {
	if u.Org == "acting" {
		return true
	}
	dom := u.Email[strings.LastIndexByte(u.Email, '@')+1:]
	dom = strings.TrimSuffix(dom, claim.OriginalSuffix)
	ds, err := w.svc.Domains(w.ctx, "acting")
	if err != nil {
		tb.Fatalf("Domains = %v", err)
	}
	for _, d := range ds {
		if d.Name == dom && d.Verified {
			return true
		}
	}
	return false
}
