package postgres_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
	"github.com/claimkit/claim/postgres"
)

// The multi-process tests (P1, Q1, Q2): four services, each on a
// store with a pool of its own, share one schema, as four processes
// sharing one database would. They share one fake clock, as processes
// share the time of day.

// fleet is four services on one schema.
type fleet struct {
	svcs   [4]*claim.Service
	stores [4]*postgres.Store
	clock  *claimtest.Clock
	dns    *claimtest.Resolver
}

// newFleet opens four stores on a new schema, each with its own pool,
// and a service on each.
func newFleet(t *testing.T) *fleet {
	t.Helper()
	_, dsn := newSchema(t)
	return newFleetOn(t, dsn)
}

// newFleetOn is newFleet on the schema of dsn.
func newFleetOn(t *testing.T, dsn string) *fleet {
	t.Helper()
	f := &fleet{clock: claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), dns: claimtest.NewResolver()}
	for i := range f.svcs {
		f.stores[i] = open(t, dsn)
		svc, err := claim.New(f.stores[i], claim.WithClock(f.clock), claim.WithResolver(f.dns))
		if err != nil {
			t.Fatalf("claim.New() = %v, want nil", err)
		}
		f.svcs[i] = svc
	}
	return f
}

// claimWorld returns one service on store, as a fleet of one, with an
// org "acme" that has verified target.example and n Active users of an
// older org "src" on that domain.
func claimWorld(t *testing.T, store *postgres.Store, n int) (*fleet, []claim.UserID) {
	t.Helper()
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(store, claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{svcs: [4]*claim.Service{svc, svc, svc, svc}, stores: [4]*postgres.Store{store, store, store, store}, clock: clock, dns: dns}
	f.mustOrg(t, "acme", claim.Enterprise, time.Time{}, claim.Settings{AllowContentMigration: true})
	f.mustOrg(t, "src", claim.Individual, raceOldOrg, claim.Settings{})
	f.mustVerify(t, "acme", "target.example")
	ids, _ := f.mustUsers(t, "src", "u", "target.example", n, claim.Active)
	return f, ids
}

// raceOldOrg is when the source orgs were created: before
// Policy.DelayedClaimCutoff, so that their users may be claimed delayed.
var raceOldOrg = time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)

// mustOrg creates an org through the first service.
func (f *fleet) mustOrg(t *testing.T, id claim.OrgID, kind claim.OrgKind, created time.Time, st claim.Settings) {
	t.Helper()
	_, err := f.svcs[0].CreateOrg(t.Context(), claim.Org{ID: id, Name: "Org " + string(id), Kind: kind, CreatedAt: created, Settings: st})
	if err != nil {
		t.Fatalf("CreateOrg(%s) = %v, want nil", id, err)
	}
}

// mustVerify verifies the domain for org through the static resolver.
func (f *fleet) mustVerify(t *testing.T, org claim.OrgID, domain string) {
	t.Helper()
	verifyDomain(t, f.svcs[0], f.dns, org, domain)
}

// mustUsers adds n users to org in one store transaction, as AddUser
// would have made them but without its n transactions: address
// prefix-NNNNN@domain, the state, content 1 to 3 (returned as the total).
func (f *fleet) mustUsers(t *testing.T, org claim.OrgID, prefix, domain string, n int, state claim.State) (ids []claim.UserID, content int) {
	t.Helper()
	now := f.clock.Now()
	users := make([]claim.User, n)
	for i := range users {
		users[i] = claim.User{
			ID:        claim.UserID(fmt.Sprintf("usr_%s_%05d", prefix, i)),
			Email:     fmt.Sprintf("%s-%05d@%s", prefix, i, domain),
			FirstName: "F", LastName: "L", DisplayName: "F L",
			Org: org, State: state, Content: 1 + i%3, CreatedAt: now,
		}
		if state == claim.Active {
			users[i].LastSignIn = now
		}
		ids = append(ids, users[i].ID)
		content += users[i].Content
	}
	mustUpdate(t, f.stores[0], func(tx claim.Tx) error {
		ws := make([]claim.Write, len(users))
		for i, u := range users {
			ws[i] = claim.Write{Op: claim.WriteCreateUser, User: u}
		}
		for chunk := range slices.Chunk(ws, 5000) { // pipelined: a round trip a chunk
			if err := tx.(claim.BulkTx).Apply(chunk); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, content
}

// mustClaim claims the users into org through svc in calls of at most
// 250 (Policy.ListLimit), and fails unless every one is claimed in mode.
func mustClaim(t *testing.T, svc *claim.Service, org claim.OrgID, ids []claim.UserID, mode claim.Mode) {
	t.Helper()
	opts := claim.ClaimOptions{Acknowledge: true, ImmediateOnly: mode == claim.Immediate}
	for batch := range slices.Chunk(ids, 250) {
		res, err := svc.ClaimUsers(t.Context(), org, batch, opts)
		if err != nil {
			t.Fatalf("ClaimUsers(%s, %d users) = %v, want nil", org, len(batch), err)
		}
		for _, r := range res {
			if r.Err != nil || r.Mode != mode {
				t.Fatalf("ClaimUsers(%s): %s: mode %v, %v; want claimed %v", org, r.Input, r.Mode, r.Err, mode)
			}
		}
	}
}

// together runs the functions at once, released by one barrier.
func together(fns ...func()) {
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

// noConflict fails if err is claim.ErrConflict: transactions racing on
// the same records wait for each other's locks, and the store retries
// the rare deadlock PostgreSQL breaks, so so few of them never use up
// its attempts.
func noConflict(t *testing.T, op string, err error) {
	t.Helper()
	if errors.Is(err, claim.ErrConflict) {
		t.Fatalf("%s = %v: ErrConflict escaped the store", op, err)
	}
}

// raceRuns is the number of races of each kind.
const raceRuns = 200

// TestFourProcessesRace races, on four services with separate pools on
// one schema, Retract (service 1) against SignIn (service 2) on a
// freshly claimed user, and ClaimUsers from org b1 (service 3) against
// ClaimUsers from org b2 (service 4) on the same user, 200 times each,
// each race on users of its own (Q1, Q2). Exactly one side wins every
// race and the loser gets the error it would get had it run second:
//
//   - Retract wins: the user is back in its old org with no claim and no
//     original, and SignIn acts on that user (ErrNotVerified for a Not
//     Verified one, else Active in the old org); or SignIn wins: the user
//     is signed in in the claiming org, its original still held, and
//     Retract fails with a *RetractError of ErrSignedIn alone (R2).
//   - One ClaimUsers claims the user; the other's result is a
//     *RefusalError with pending_claim alone (E6).
//
// No error wraps claim.ErrConflict. Afterwards, the invariants: one
// original per pending claim and one pending claim per held original,
// content conserved (C5: what the accounts hold plus the content.deleted
// events equals what they started with), an event log without gaps, and
// exactly one claim.created per claim that was made: the setup's for the
// retraction races, the winner's for the claim races.
func TestFourProcessesRace(t *testing.T) {
	t.Parallel()
	f := newFleet(t)
	ctx := t.Context()
	f.mustOrg(t, "a", claim.Individual, raceOldOrg, claim.Settings{})
	for _, b := range []claim.OrgID{"b1", "b2"} {
		f.mustOrg(t, b, claim.Enterprise, raceOldOrg, claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}})
		f.mustVerify(t, b, "race.example")
	}
	// The retraction races' users, in the states a user can be claimed
	// from and sign in after a retraction in or not, each claimed by b1,
	// half immediately and half delayed.
	states := []claim.State{claim.NotVerified, claim.Verified, claim.Active}
	var retractIDs []claim.UserID
	prevState := map[claim.UserID]claim.State{}
	content := 0
	for i, st := range states {
		n := raceRuns / len(states)
		if i == 0 {
			n += raceRuns % len(states)
		}
		ids, c := f.mustUsers(t, "a", "r"+strings.ToLower(st.String()[:1]), "race.example", n, st)
		for _, id := range ids {
			prevState[id] = st
		}
		retractIDs = append(retractIDs, ids...)
		content += c
	}
	claimIDs, c := f.mustUsers(t, "a", "c", "race.example", raceRuns, claim.Verified)
	content += c
	f.clock.Advance(time.Hour)
	modeOf := func(i int) claim.Mode { return []claim.Mode{claim.Immediate, claim.Delayed}[i%2] }
	var immediate, delayed []claim.UserID
	for i, id := range retractIDs {
		if modeOf(i) == claim.Immediate {
			immediate = append(immediate, id)
		} else {
			delayed = append(delayed, id)
		}
	}
	mustClaim(t, f.svcs[0], "b1", immediate, claim.Immediate)
	mustClaim(t, f.svcs[0], "b1", delayed, claim.Delayed)
	originals := map[claim.UserID]claim.UserID{}
	for _, id := range retractIDs {
		u, err := f.svcs[0].User(ctx, id)
		if err != nil || u.Claim == nil {
			t.Fatalf("User(%s) after the claim = %+v, %v; want a pending claim", id, u, err)
		}
		originals[id] = u.Claim.Original
	}
	f.clock.Advance(time.Minute)

	start := time.Now()
	retractWon := map[claim.UserID]bool{}
	won := map[string]int{}
	for i, id := range retractIDs {
		what := fmt.Sprintf("race %d (%v claim of a %v user)", i, modeOf(i), prevState[id])
		var retractErr, signInErr error
		var signedIn claim.User
		together(
			func() { retractErr = f.svcs[0].Retract(ctx, "b1", id) },
			func() { signedIn, signInErr = f.svcs[1].SignIn(ctx, id) },
		)
		noConflict(t, what+": Retract()", retractErr)
		noConflict(t, what+": SignIn()", signInErr)
		got, err := f.svcs[2].User(ctx, id)
		if err != nil {
			t.Fatalf("%s: User() = %v, want nil", what, err)
		}
		_, origErr := f.svcs[3].User(ctx, originals[id])
		if retractErr == nil {
			won["retract"]++
			retractWon[id] = true
			if got.Org != "a" || got.Claim != nil {
				t.Fatalf("%s: Retract won but the user is in %s with claim %+v", what, got.Org, got.Claim)
			}
			if !errors.Is(origErr, claim.ErrNotFound) {
				t.Fatalf("%s: Retract won but User(original) = %v, want ErrNotFound", what, origErr)
			}
			if prevState[id] == claim.NotVerified {
				if !errors.Is(signInErr, claim.ErrNotVerified) || got.State != claim.NotVerified {
					t.Fatalf("%s: SignIn after Retract = %v, state %v; want ErrNotVerified, Not Verified", what, signInErr, got.State)
				}
				continue
			}
			if signInErr != nil || signedIn.Org != "a" || signedIn.State != claim.Active || got.State != claim.Active {
				t.Fatalf("%s: SignIn after Retract = %+v, %v; want Active in a", what, signedIn, signInErr)
			}
			continue
		}
		won["sign-in"]++
		var re *claim.RetractError
		if !errors.As(retractErr, &re) || !slices.Equal(re.Reasons, []error{claim.ErrSignedIn}) {
			t.Fatalf("%s: Retract lost with %v, want a *RetractError with ErrSignedIn alone", what, retractErr)
		}
		if signInErr != nil || signedIn.Org != "b1" || signedIn.Claim == nil || !signedIn.Claim.SignedIn {
			t.Fatalf("%s: SignIn won with %+v, %v; want signed in in b1", what, signedIn, signInErr)
		}
		if got.Org != "b1" || got.Claim == nil || !got.Claim.SignedIn {
			t.Fatalf("%s: after SignIn won the user is %+v", what, got)
		}
		if origErr != nil {
			t.Fatalf("%s: after SignIn won User(original) = %v, want the original", what, origErr)
		}
	}
	t.Logf("Retract against SignIn, %d races in %v: %v", len(retractIDs), time.Since(start).Round(time.Millisecond), won)

	start = time.Now()
	claimWinner := map[claim.UserID]claim.OrgID{}
	wonBy := map[claim.OrgID]int{}
	for i, id := range claimIDs {
		mode := modeOf(i)
		what := fmt.Sprintf("race %d (%v claims)", i, mode)
		res := map[claim.OrgID][]claim.Result{}
		errs := map[claim.OrgID]error{}
		var mu sync.Mutex
		claimBy := func(svc *claim.Service, org claim.OrgID) func() {
			return func() {
				got, err := svc.ClaimUsers(ctx, org, []claim.UserID{id},
					claim.ClaimOptions{Acknowledge: true, ImmediateOnly: mode == claim.Immediate})
				mu.Lock()
				res[org], errs[org] = got, err
				mu.Unlock()
			}
		}
		together(claimBy(f.svcs[2], "b1"), claimBy(f.svcs[3], "b2"))
		for org, err := range errs {
			noConflict(t, fmt.Sprintf("%s: ClaimUsers(%s)", what, org), err)
			if err != nil {
				t.Fatalf("%s: ClaimUsers(%s) = %v, want nil", what, org, err)
			}
		}
		if len(res["b1"]) != 1 || len(res["b2"]) != 1 {
			t.Fatalf("%s: results %+v, want one each", what, res)
		}
		winner, loser := claim.OrgID("b1"), claim.OrgID("b2")
		if res["b1"][0].Err != nil {
			winner, loser = loser, winner
		}
		if err := res[winner][0].Err; err != nil {
			t.Fatalf("%s: neither claim succeeded: b1: %v, b2: %v", what, res["b1"][0].Err, err)
		}
		wonBy[winner]++
		claimWinner[id] = winner
		if res[winner][0].Mode != mode {
			t.Fatalf("%s: the winner's mode = %v, want %v", what, res[winner][0].Mode, mode)
		}
		var re *claim.RefusalError
		if err := res[loser][0].Err; !errors.As(err, &re) || !slices.Equal(re.Reasons, []claim.Reason{claim.ReasonPendingClaim}) {
			noConflict(t, what+": the loser's result", err)
			t.Fatalf("%s: loser %s got %v, want a *RefusalError with pending_claim alone", what, loser, err)
		}
		got, err := f.svcs[0].User(ctx, id)
		if err != nil || got.Org != winner || got.Claim == nil || got.Claim.By != winner {
			t.Fatalf("%s: the user after the race = %+v, %v; want claimed by %s", what, got, err, winner)
		}
	}
	t.Logf("ClaimUsers against ClaimUsers, %d races in %v: won by %v", len(claimIDs), time.Since(start).Round(time.Millisecond), wonBy)

	checkFleet(t, f, []claim.OrgID{"a", "b1", "b2"}, content)

	// One claim.created per claim made, by its claimant; one
	// claim.retracted per retraction that won.
	created := map[claim.UserID][]claim.OrgID{}
	retracted := map[claim.UserID]int{}
	for ev, err := range f.svcs[1].Events(ctx, 0) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		switch ev.Type {
		case claim.EventClaimCreated:
			created[ev.User] = append(created[ev.User], ev.Org)
		case claim.EventClaimRetracted:
			retracted[ev.User]++
		}
	}
	for _, id := range retractIDs {
		if got := created[id]; !slices.Equal(got, []claim.OrgID{"b1"}) {
			t.Errorf("claim.created events of %s by %v, want one by b1", id, got)
		}
		want := 0
		if retractWon[id] {
			want = 1
		}
		if retracted[id] != want {
			t.Errorf("claim.retracted events of %s = %d, want %d", id, retracted[id], want)
		}
	}
	for _, id := range claimIDs {
		if got := created[id]; !slices.Equal(got, []claim.OrgID{claimWinner[id]}) {
			t.Errorf("claim.created events of %s by %v, want one by the winner %s", id, got, claimWinner[id])
		}
	}
	if len(created) != len(retractIDs)+len(claimIDs) {
		t.Errorf("claim.created events for %d users, want %d", len(created), len(retractIDs)+len(claimIDs))
	}
}

// checkFleet checks, through the public API, what no interleaving may
// break: every address belongs to one account; every pending claim has
// exactly one original account, in the org it was claimed from, held by
// the claimant; every held original belongs to exactly one pending claim;
// the accounts of orgs hold content, and the content.deleted events
// count, content in all (C5); the event log has no gaps.
func checkFleet(t *testing.T, f *fleet, orgs []claim.OrgID, content int) {
	t.Helper()
	ctx := t.Context()
	var users []claim.User
	for _, org := range orgs {
		for u, err := range f.svcs[0].Users(ctx, org) {
			if err != nil {
				t.Fatalf("Users(%s) = %v", org, err)
			}
			users = append(users, u)
		}
	}
	byEmail := map[string]claim.User{}
	total := 0
	for _, u := range users {
		if _, dup := byEmail[u.Email]; dup {
			t.Errorf("address %s belongs to more than one account", u.Email)
		}
		byEmail[u.Email] = u
		total += u.Content
	}
	holders := map[claim.UserID]int{} // original ID → pending claims holding it
	pending := 0
	for _, u := range users {
		c := u.Claim
		if c == nil {
			continue
		}
		pending++
		holders[c.Original]++
		if c.By != u.Org {
			t.Errorf("%s in %s has a pending claim by %s", u.Email, u.Org, c.By)
		}
		o, ok := byEmail[u.Email+claim.OriginalSuffix]
		switch {
		case !ok:
			t.Errorf("the pending claim of %s has no original account", u.Email)
		case o.ID != c.Original || o.Org != c.From || o.HeldBy != u.Org:
			t.Errorf("the original of %s (claim %+v) is %s in %s held by %q", u.Email, c, o.ID, o.Org, o.HeldBy)
		}
	}
	held := 0
	for _, o := range users {
		if o.HeldBy == "" {
			if strings.HasSuffix(o.Email, claim.OriginalSuffix) {
				t.Errorf("%s has the original suffix but is not held (N4)", o.Email)
			}
			continue
		}
		held++
		if n := holders[o.ID]; n != 1 {
			t.Errorf("original %s (%s) is held by %d pending claims, want 1", o.Email, o.ID, n)
		}
	}
	var seq uint64
	lost := 0
	for ev, err := range f.svcs[0].Events(ctx, 0) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		// Numbers increase; a transaction whose COMMIT failed after
		// numbering its events (a serialization failure found at
		// commit, a process killed) skips them.
		if ev.Seq <= seq {
			t.Errorf("event %d follows event %d", ev.Seq, seq)
		}
		seq = ev.Seq
		if ev.Type == claim.EventContentDeleted {
			lost += ev.Content
		}
	}
	if total+lost != content {
		t.Errorf("content: %d in accounts + %d deleted = %d, want %d (C5)", total, lost, total+lost, content)
	}
	t.Logf("%d accounts, %d pending claims, %d held originals, %d events, content %d kept + %d deleted",
		len(users), pending, held, seq, total, lost)
}

// TestFourSweepers: four services with separate pools sweep 10,000
// delayed claims past their deadline at once (1,000 with -short). The
// sweeps' reports add up to every claim, and the event log has exactly
// one claim.expired per claim: each is resolved exactly once (P1). None
// fails, ErrConflict included; afterwards the users hold their content in
// the claiming org, no original is left, and another sweep finds nothing.
func TestFourSweepers(t *testing.T) {
	t.Parallel()
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	f := newFleet(t)
	ctx := t.Context()
	f.mustOrg(t, "old", claim.Individual, raceOldOrg, claim.Settings{})
	f.mustOrg(t, "b", claim.Enterprise, raceOldOrg, claim.Settings{AllowContentMigration: true})
	f.mustVerify(t, "b", "sweep.example")
	start := time.Now()
	ids, content := f.mustUsers(t, "old", "s", "sweep.example", n, claim.Verified)
	t.Logf("%d users added in %v", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	mustClaim(t, f.svcs[0], "b", ids, claim.Delayed)
	t.Logf("%d users claimed in %v", n, time.Since(start).Round(time.Millisecond))
	seqBefore := lastSeq(t, f.svcs[0])

	f.clock.Advance(14 * 24 * time.Hour) // exactly the deadline: expired (X3)
	start = time.Now()
	var reports [len(f.svcs)]claim.SweepReport
	var errs [len(f.svcs)]error
	var fns []func()
	for i, svc := range f.svcs {
		fns = append(fns, func() { reports[i], errs[i] = svc.Sweep(ctx) })
	}
	together(fns...)
	expired := 0
	for i := range f.svcs {
		noConflict(t, fmt.Sprintf("Sweep() on service %d", i+1), errs[i])
		if errs[i] != nil {
			t.Errorf("Sweep() on service %d = %v, want nil", i+1, errs[i])
		}
		expired += reports[i].Expired
	}
	t.Logf("four sweepers in %v: %+v", time.Since(start).Round(time.Millisecond), reports)
	if expired != n {
		t.Errorf("the sweeps expired %d claims in all, want %d", expired, n)
	}

	perUser := map[claim.UserID]int{}
	events := 0
	for ev, err := range f.svcs[1].Events(ctx, seqBefore) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		if ev.Type == claim.EventClaimExpired {
			events++
			perUser[ev.User]++
		}
	}
	if events != n || len(perUser) != n {
		t.Errorf("claim.expired events = %d for %d users, want %d for %d", events, len(perUser), n, n)
	}
	for _, id := range ids {
		if perUser[id] != 1 {
			t.Errorf("claim.expired events of %s = %d, want 1", id, perUser[id])
		}
	}

	rep, err := f.svcs[2].Sweep(ctx)
	if err != nil || rep != (claim.SweepReport{}) {
		t.Errorf("Sweep() after the sweepers = %+v, %v; want nothing to do", rep, err)
	}
	inB, inOld := 0, 0
	for u, err := range f.svcs[3].Users(ctx, "b") {
		if err != nil {
			t.Fatalf("Users(b) = %v", err)
		}
		if u.Claim != nil || u.State != claim.Verified {
			t.Fatalf("%s after its claim expired: state %v, claim %+v; want Verified, no pending claim", u.Email, u.State, u.Claim)
		}
		inB++
	}
	for range f.svcs[3].Users(ctx, "old") {
		inOld++
	}
	if inB != n || inOld != 0 {
		t.Errorf("after the sweep, b has %d users and old %d, want %d and 0", inB, inOld, n)
	}
	checkFleet(t, f, []claim.OrgID{"old", "b"}, content)
}

// lastSeq returns the sequence number of the last event.
func lastSeq(t *testing.T, svc *claim.Service) uint64 {
	t.Helper()
	var seq uint64
	for ev, err := range svc.Events(t.Context(), 0) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		seq = ev.Seq
	}
	return seq
}
