package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

// The isolation tests: engine operations, through claim.Service on four
// services with pools of their own on one schema (a fleet), race on the
// same data, and the outcome must be one that some serial order of them
// gives (claim.Store: "Transactions on the same data are serializable").
// Each race is repeated isoRounds times on fresh data; after each, what
// the calls returned, the records read back through the services and the
// event log must tell the same serial story. An error that a serial order
// allows (ErrEmailTaken, ErrNotFound after a delete, ErrNoPendingClaim,
// …) is checked to be the one that order gives; claim.ErrConflict, which
// the store should never let escape so few racing transactions, fails
// the test (noConflict).
//
// While the races run, a reader follows the log with Events(after) and
// must see exactly the events the log holds at the end (isoFollower):
// Events never skips an event that commits later.
//
// Not covered, for want of an observable invariant: UpdateSettings
// racing claims and Choose. A claim reads its org's settings (the mode,
// AutoLicenses, DirectorySync) and Choose reads the claiming org's
// Retention, but neither writes the org, and UpdateSettings reads no
// user: every interleaving of the two is the serial order "the reader
// first", so no outcome could show a missing lock.

// isoRounds is the number of races of each kind.
const isoRounds = 40

// isoContext is the context of an isolation test: generous, so that a
// lock that never comes fails the test instead of hanging it.
func isoContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// isoEvents returns the events after seq after.
func isoEvents(t *testing.T, svc *claim.Service, after uint64) []claim.Event {
	t.Helper()
	var evs []claim.Event
	for ev, err := range svc.Events(t.Context(), after) {
		if err != nil {
			t.Fatalf("Events(%d) = %v", after, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// isoCount counts the events of type typ that match.
func isoCount(evs []claim.Event, typ string, match func(claim.Event) bool) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ && match(ev) {
			n++
		}
	}
	return n
}

// ofUser matches the events about user id.
func ofUser(id claim.UserID) func(claim.Event) bool {
	return func(ev claim.Event) bool { return ev.User == id }
}

// ofOrg matches the events of org id.
func ofOrg(id claim.OrgID) func(claim.Event) bool {
	return func(ev claim.Event) bool { return ev.Org == id }
}

// isoFollower reads the event log with Events(after) again and again
// while the races run, as a consumer following the log would.
type isoFollower struct {
	svc   *claim.Service
	from  uint64
	stop  chan struct{}
	done  chan struct{}
	seen  []claim.Event
	reads int
	err   error
}

// isoFollow starts following the log after seq from.
func isoFollow(ctx context.Context, svc *claim.Service, from uint64) *isoFollower {
	f := &isoFollower{svc: svc, from: from, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		after := from
		for {
			for ev, err := range svc.Events(ctx, after) {
				if err != nil {
					f.err = err
					return
				}
				f.seen = append(f.seen, ev)
				after = ev.Seq
			}
			f.reads++
			select {
			case <-f.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return f
}

// check stops the follower and fails unless what it saw, and one last
// read after it, is exactly the log after its start: every event in
// Seq order, none missed, none that the log does not hold.
func (f *isoFollower) check(t *testing.T) {
	t.Helper()
	close(f.stop)
	<-f.done
	if f.err != nil {
		t.Fatalf("following Events() = %v", f.err)
	}
	after := f.from
	if len(f.seen) > 0 {
		after = f.seen[len(f.seen)-1].Seq
	}
	got := append(slices.Clip(f.seen), isoEvents(t, f.svc, after)...)
	want := isoEvents(t, f.svc, f.from)
	for i := 1; i < len(want); i++ {
		if want[i].Seq <= want[i-1].Seq {
			t.Errorf("the log lists event %d after event %d", want[i].Seq, want[i-1].Seq)
		}
	}
	followed := make(map[uint64]claim.Event, len(got))
	for _, ev := range got {
		followed[ev.Seq] = ev
	}
	var missed []uint64
	for _, ev := range want {
		g, ok := followed[ev.Seq]
		if !ok {
			missed = append(missed, ev.Seq)
			continue
		}
		if diff := cmp.Diff(ev, g); diff != "" {
			t.Errorf("event %d as followed differs from the log (-log +followed):\n%s", ev.Seq, diff)
		}
	}
	if len(missed) > 0 {
		if len(missed) > 10 {
			missed = missed[:10]
		}
		t.Errorf("a reader following Events(after) in %d reads missed events the log holds: %v…", f.reads, missed)
	}
	if len(got) != len(want) {
		t.Errorf("the follower saw %d events, the log holds %d after %d", len(got), len(want), f.from)
	}
	t.Logf("the follower read the log %d times and saw all %d events", f.reads, len(want))
}

// isoOriginal returns the account with the address email carries plus
// the original suffix, or its error.
func isoOriginal(ctx context.Context, svc *claim.Service, email string) (claim.User, error) {
	return svc.UserByEmail(ctx, email+claim.OriginalSuffix)
}

// isoEmail is the address mustUsers gives user i of prefix on domain.
func isoEmail(prefix string, i int, domain string) string {
	return fmt.Sprintf("%s-%05d@%s", prefix, i, domain)
}

// TestIsolationDeleteOrg races, isoRounds times on fresh orgs and users,
// DeleteOrg of an org against ClaimUsers into it, and DeleteOrg of
// another org against ClaimUsers of its users (from it as the source),
// immediate and delayed claims by turns. A serial order allows exactly:
//
//   - the delete first: the claim into the deleted org is ErrNotFound and
//     its users stay where they were, unclaimed; the claim of the deleted
//     org's users refuses each with ErrNotFound, and they are gone.
//   - the claim first: the delete is refused with ErrPendingClaims
//     (claims inside their window involve the org) and the users are
//     claimed, their originals held by the claimant.
//
// Afterwards no user belongs to, is claimed by or from, or is held by a
// deleted org, content is conserved, and the events say the same:
// org.deleted for the deletions that won, claim.created only for the
// claims that won, user.deleted for the deleted org's users.
func TestIsolationDeleteOrg(t *testing.T) {
	f := newFleet(t)
	ctx := isoContext(t)
	const domain = "del.example"
	f.mustOrg(t, "src", claim.Individual, raceOldOrg, claim.Settings{})
	f.mustOrg(t, "b", claim.Enterprise, raceOldOrg, claim.Settings{AllowContentMigration: true})
	f.mustVerify(t, "b", domain)
	type round struct {
		mode                claim.Mode
		claimer, source     claim.OrgID
		claimIDs, sourceIDs []claim.UserID
	}
	rounds := make([]round, isoRounds)
	content := 0
	for r := range rounds {
		rd := &rounds[r]
		rd.mode = []claim.Mode{claim.Immediate, claim.Delayed}[r%2]
		rd.claimer = claim.OrgID(fmt.Sprintf("k%02d", r))
		f.mustOrg(t, rd.claimer, claim.Enterprise, raceOldOrg, claim.Settings{AllowContentMigration: true})
		f.mustVerify(t, rd.claimer, domain)
		var c int
		rd.claimIDs, c = f.mustUsers(t, "src", string(rd.claimer), domain, 2, claim.Active)
		content += c
		rd.source = claim.OrgID(fmt.Sprintf("s%02d", r))
		f.mustOrg(t, rd.source, claim.Individual, raceOldOrg, claim.Settings{})
		rd.sourceIDs, c = f.mustUsers(t, rd.source, string(rd.source), domain, 2, claim.Active)
		content += c
	}
	f.clock.Advance(time.Minute)

	seq0 := lastSeq(t, f.svcs[0])
	fol := isoFollow(ctx, f.svcs[3], seq0)
	start := time.Now()
	claimWon := map[claim.OrgID]bool{} // by deleted-or-not org: did the claim come first?
	won := map[string]int{}
	for r, rd := range rounds {
		what := fmt.Sprintf("round %d (%v claims)", r, rd.mode)
		opts := claim.ClaimOptions{Acknowledge: true, ImmediateOnly: rd.mode == claim.Immediate}
		var delClaimer, delSource, intoErr, fromErr error
		var intoRes, fromRes []claim.Result
		together(
			func() { delClaimer = f.svcs[0].DeleteOrg(ctx, rd.claimer) },
			func() { intoRes, intoErr = f.svcs[1].ClaimUsers(ctx, rd.claimer, rd.claimIDs, opts) },
			func() { delSource = f.svcs[2].DeleteOrg(ctx, rd.source) },
			func() { fromRes, fromErr = f.svcs[3].ClaimUsers(ctx, "b", rd.sourceIDs, opts) },
		)
		noConflict(t, what+": DeleteOrg(claimer)", delClaimer)
		noConflict(t, what+": ClaimUsers(into the claimer)", intoErr)
		noConflict(t, what+": DeleteOrg(source)", delSource)
		noConflict(t, what+": ClaimUsers(from the source)", fromErr)

		// DeleteOrg(claimer) against ClaimUsers into it.
		_, orgErr := f.svcs[0].Org(ctx, rd.claimer)
		switch {
		case delClaimer == nil:
			won["delete the claimer"]++
			if !errors.Is(intoErr, claim.ErrNotFound) {
				t.Fatalf("%s: DeleteOrg(%s) won but ClaimUsers into it = %+v, %v; want ErrNotFound", what, rd.claimer, intoRes, intoErr)
			}
			if !errors.Is(orgErr, claim.ErrNotFound) {
				t.Fatalf("%s: DeleteOrg(%s) won but Org() = %v, want ErrNotFound", what, rd.claimer, orgErr)
			}
			for _, id := range rd.claimIDs {
				u, err := f.svcs[1].User(ctx, id)
				if err != nil || u.Org != "src" || u.Claim != nil || u.HeldBy != "" {
					t.Fatalf("%s: DeleteOrg(%s) won but user %s is %+v, %v; want unclaimed in src", what, rd.claimer, id, u, err)
				}
				if o, err := isoOriginal(ctx, f.svcs[2], u.Email); !errors.Is(err, claim.ErrNotFound) {
					t.Fatalf("%s: DeleteOrg(%s) won but %s has an original %+v, %v", what, rd.claimer, u.Email, o, err)
				}
			}
		case errors.Is(delClaimer, claim.ErrPendingClaims):
			won["claim into"]++
			claimWon[rd.claimer] = true
			if orgErr != nil {
				t.Fatalf("%s: DeleteOrg(%s) refused with pending claims, but Org() = %v", what, rd.claimer, orgErr)
			}
			isoClaimed(ctx, t, f, what, intoRes, intoErr, rd.claimIDs, rd.claimer, "src", rd.mode)
		default:
			t.Fatalf("%s: DeleteOrg(%s) = %v racing ClaimUsers into it (%v); want nil or ErrPendingClaims", what, rd.claimer, delClaimer, intoErr)
		}

		// DeleteOrg(source) against ClaimUsers of its users.
		_, orgErr = f.svcs[0].Org(ctx, rd.source)
		switch {
		case delSource == nil:
			won["delete the source"]++
			if fromErr != nil || len(fromRes) != len(rd.sourceIDs) || !errors.Is(orgErr, claim.ErrNotFound) {
				t.Fatalf("%s: DeleteOrg(%s) won but ClaimUsers from it = %+v, %v and Org() = %v", what, rd.source, fromRes, fromErr, orgErr)
			}
			for i, id := range rd.sourceIDs {
				if !errors.Is(fromRes[i].Err, claim.ErrNotFound) {
					t.Fatalf("%s: DeleteOrg(%s) won but the claim of its user %s = %v, want ErrNotFound", what, rd.source, id, fromRes[i].Err)
				}
				if u, err := f.svcs[1].User(ctx, id); !errors.Is(err, claim.ErrNotFound) {
					t.Fatalf("%s: DeleteOrg(%s) won but its user %s is %+v, %v", what, rd.source, id, u, err)
				}
				if o, err := isoOriginal(ctx, f.svcs[2], isoEmail(string(rd.source), i, domain)); !errors.Is(err, claim.ErrNotFound) {
					t.Fatalf("%s: DeleteOrg(%s) won but its user %s has an original %+v, %v", what, rd.source, id, o, err)
				}
			}
		case errors.Is(delSource, claim.ErrPendingClaims):
			won["claim from"]++
			claimWon[rd.source] = true
			if orgErr != nil {
				t.Fatalf("%s: DeleteOrg(%s) refused with pending claims, but Org() = %v", what, rd.source, orgErr)
			}
			isoClaimed(ctx, t, f, what, fromRes, fromErr, rd.sourceIDs, "b", rd.source, rd.mode)
		default:
			t.Fatalf("%s: DeleteOrg(%s) = %v racing ClaimUsers of its users (%v); want nil or ErrPendingClaims", what, rd.source, delSource, fromErr)
		}
	}
	t.Logf("%d rounds in %v: %v", len(rounds), time.Since(start).Round(time.Millisecond), won)
	fol.check(t)

	// No account anywhere involves a deleted org.
	orgs := []claim.OrgID{"src", "b"}
	deleted := map[claim.OrgID]bool{}
	for _, rd := range rounds {
		for _, o := range []claim.OrgID{rd.claimer, rd.source} {
			if claimWon[o] {
				orgs = append(orgs, o)
			} else {
				deleted[o] = true
			}
		}
	}
	for _, org := range orgs {
		for u, err := range f.svcs[0].Users(ctx, org) {
			if err != nil {
				t.Fatalf("Users(%s) = %v", org, err)
			}
			if deleted[u.HeldBy] || (u.Claim != nil && (deleted[u.Claim.By] || deleted[u.Claim.From])) {
				t.Errorf("%s in %s involves a deleted org: held by %q, claim %+v", u.Email, u.Org, u.HeldBy, u.Claim)
			}
		}
	}
	for o := range deleted {
		for u, err := range f.svcs[1].Users(ctx, o) {
			if err == nil {
				t.Errorf("deleted org %s lists user %s", o, u.Email)
			} else if !errors.Is(err, claim.ErrNotFound) {
				t.Errorf("Users(%s) of a deleted org = %v, want ErrNotFound", o, err)
			}
		}
	}
	checkFleet(t, f, orgs, content)

	// The events tell the same story.
	evs := isoEvents(t, f.svcs[0], seq0)
	for _, rd := range rounds {
		for _, c := range []struct {
			org, claimer claim.OrgID
			ids          []claim.UserID
		}{{rd.claimer, rd.claimer, rd.claimIDs}, {rd.source, "b", rd.sourceIDs}} {
			wantDeleted, wantCreated := 1, 0
			if claimWon[c.org] {
				wantDeleted, wantCreated = 0, 1
			}
			if n := isoCount(evs, claim.EventOrgDeleted, ofOrg(c.org)); n != wantDeleted {
				t.Errorf("org.deleted events of %s = %d, want %d", c.org, n, wantDeleted)
			}
			for _, id := range c.ids {
				if n := isoCount(evs, claim.EventClaimCreated, ofUser(id)); n != wantCreated {
					t.Errorf("claim.created events of %s = %d, want %d", id, n, wantCreated)
				}
				if c.org == rd.source && !claimWon[c.org] {
					if n := isoCount(evs, claim.EventUserDeleted, ofUser(id)); n != 1 {
						t.Errorf("user.deleted events of %s (deleted with %s) = %d, want 1", id, c.org, n)
					}
				}
			}
		}
	}
}

// TestIsolationSync races, isoRounds times on a fresh Enterprise org d
// with a verified domain, a full directory sync of d against three calls
// on the same data, each on a service of its own:
//
//   - AddUser(d, x), where the directory names x too: AddUser first, it
//     adds x Verified and the sync promotes it (Promoted); the sync
//     first, it creates x (Created) and AddUser is ErrEmailTaken.
//   - ClaimUsers by another org of z, a user of d the directory does not
//     name: the claim first, z and its original are out of the sync's
//     reach (z is in the other org, the original held, H2) and stay
//     Active; the sync first, it deactivates z (Deactivated), which the
//     claim then takes as it is: z and its original Inactive.
//   - ClaimUsers by d of y, a user of another org the directory does not
//     name: the claim first, the sync deactivates y in d; the sync first,
//     y stays Active.
//
// The three calls touch disjoint records, so every mix of "before the
// sync" and "after the sync" is a serial order. The sync's report must
// say which (and name w, a Verified user of d in the directory, as
// Promoted); d's users and their states must be exactly those of that
// order (compared with go-cmp); the events must count one
// user.deactivated per deactivation and one directory.synced per sync.
func TestIsolationSync(t *testing.T) {
	f := newFleet(t)
	ctx := isoContext(t)
	const domain = "sync.example"
	f.mustOrg(t, "src", claim.Individual, raceOldOrg, claim.Settings{})
	f.mustOrg(t, "other", claim.Enterprise, raceOldOrg, claim.Settings{})
	f.mustVerify(t, "other", domain)
	type round struct {
		org                       claim.OrgID
		z, w, y                   claim.UserID
		zEmail, wEmail, yEmail, x string
	}
	rounds := make([]round, isoRounds)
	content := 0
	orgs := []claim.OrgID{"src", "other"}
	for r := range rounds {
		rd := &rounds[r]
		rd.org = claim.OrgID(fmt.Sprintf("d%02d", r))
		orgs = append(orgs, rd.org)
		f.mustOrg(t, rd.org, claim.Enterprise, time.Time{}, claim.Settings{})
		f.mustVerify(t, rd.org, domain)
		for _, u := range []struct {
			id     *claim.UserID
			email  *string
			org    claim.OrgID
			prefix string
			state  claim.State
		}{
			{&rd.z, &rd.zEmail, rd.org, fmt.Sprintf("z%02d", r), claim.Active},
			{&rd.w, &rd.wEmail, rd.org, fmt.Sprintf("w%02d", r), claim.Verified},
			{&rd.y, &rd.yEmail, "src", fmt.Sprintf("y%02d", r), claim.Active},
		} {
			ids, c := f.mustUsers(t, u.org, u.prefix, domain, 1, u.state)
			*u.id, *u.email = ids[0], isoEmail(u.prefix, 0, domain)
			content += c
		}
		rd.x = fmt.Sprintf("x%02d@%s", r, domain)
	}
	f.clock.Advance(time.Minute)

	seq0 := lastSeq(t, f.svcs[0])
	fol := isoFollow(ctx, f.svcs[3], seq0)
	start := time.Now()
	immediate := claim.ClaimOptions{Acknowledge: true, ImmediateOnly: true}
	reports := make([]claim.SyncReport, len(rounds))
	counts := map[string]int{}
	for r, rd := range rounds {
		what := fmt.Sprintf("round %d", r)
		var syncErr, addErr, zErr, yErr error
		var rep claim.SyncReport
		var zRes, yRes []claim.Result
		together(
			func() {
				rep, syncErr = f.svcs[0].SyncDirectory(ctx, rd.org,
					[]claim.DirectoryEntry{{Email: rd.wEmail}, {Email: rd.x, FirstName: "X", LastName: "Sync"}},
					claim.SyncOptions{Full: true, IgnoreThreshold: true})
			},
			func() {
				_, addErr = f.svcs[1].AddUser(ctx, rd.org, claim.NewUser{Email: rd.x, FirstName: "X", LastName: "Add"})
			},
			func() { zRes, zErr = f.svcs[2].ClaimUsers(ctx, "other", []claim.UserID{rd.z}, immediate) },
			func() { yRes, yErr = f.svcs[3].ClaimUsers(ctx, rd.org, []claim.UserID{rd.y}, immediate) },
		)
		reports[r] = rep
		noConflict(t, what+": SyncDirectory()", syncErr)
		noConflict(t, what+": AddUser()", addErr)
		noConflict(t, what+": ClaimUsers(z)", zErr)
		noConflict(t, what+": ClaimUsers(y)", yErr)
		if syncErr != nil || zErr != nil || yErr != nil {
			t.Fatalf("%s: SyncDirectory() = %v, ClaimUsers(z) = %v, ClaimUsers(y) = %v; want nil", what, syncErr, zErr, yErr)
		}
		for _, res := range [][]claim.Result{zRes, yRes} {
			if len(res) != 1 || res[0].Err != nil || res[0].Mode != claim.Immediate {
				t.Fatalf("%s: a claim's results %+v, want one immediate claim", what, res)
			}
		}
		if len(rep.Refused) > 0 || len(rep.Reactivated) > 0 || len(rep.Unchanged) > 0 {
			t.Fatalf("%s: the sync refused %+v, reactivated %v, left unchanged %v; want none", what, rep.Refused, rep.Reactivated, rep.Unchanged)
		}
		// x: who created it?
		wantPromoted := []string{rd.wEmail}
		var wantCreated []string
		switch {
		case addErr == nil:
			counts["AddUser first"]++
			wantPromoted = []string{rd.wEmail, rd.x}
			slices.Sort(wantPromoted)
		case errors.Is(addErr, claim.ErrEmailTaken):
			counts["sync created x"]++
			wantCreated = []string{rd.x}
		default:
			t.Fatalf("%s: AddUser(%s) = %v, want nil or ErrEmailTaken", what, rd.x, addErr)
		}
		if !slices.Equal(rep.Created, wantCreated) || !slices.Equal(rep.Promoted, wantPromoted) {
			t.Fatalf("%s: AddUser(x) = %v but the sync created %v and promoted %v; want %v and %v",
				what, addErr, rep.Created, rep.Promoted, wantCreated, wantPromoted)
		}
		zDeact := slices.Contains(rep.Deactivated, rd.zEmail)
		yDeact := slices.Contains(rep.Deactivated, rd.yEmail)
		if n := len(rep.Deactivated); n != btoi(zDeact)+btoi(yDeact) {
			t.Fatalf("%s: the sync deactivated %v, want at most %s and %s", what, rep.Deactivated, rd.zEmail, rd.yEmail)
		}
		stateIf := func(deact bool) claim.State {
			if deact {
				return claim.Inactive
			}
			return claim.Active
		}
		if zDeact {
			counts["z: sync first"]++
		} else {
			counts["z: claim first"]++
		}
		if yDeact {
			counts["y: claim first"]++
		} else {
			counts["y: sync first"]++
		}

		// d's users are those of the serial order the report tells.
		want := map[string]claim.State{
			rd.wEmail:                        claim.Active,
			rd.x:                             claim.Active,
			rd.yEmail:                        stateIf(yDeact),
			rd.zEmail + claim.OriginalSuffix: stateIf(zDeact),
		}
		got := map[string]claim.State{}
		for u, err := range f.svcs[1].Users(ctx, rd.org) {
			if err != nil {
				t.Fatalf("%s: Users(%s) = %v", what, rd.org, err)
			}
			got[u.Email] = u.State
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: the users of %s after the races (report %+v, AddUser %v) differ from a serial order's (-want +got):\n%s", what, rd.org, rep, addErr, diff)
		}
		z, err := f.svcs[2].User(ctx, rd.z)
		if err != nil || z.Org != "other" || z.Claim == nil || z.Claim.By != "other" || z.Claim.From != rd.org || z.State != stateIf(zDeact) {
			t.Fatalf("%s: z is %+v, %v; want claimed by other from %s, %v", what, z, err, rd.org, stateIf(zDeact))
		}
		if o, err := f.svcs[2].User(ctx, z.Claim.Original); err != nil || o.HeldBy != "other" || o.Org != rd.org {
			t.Fatalf("%s: z's original is %+v, %v; want in %s held by other", what, o, err, rd.org)
		}
		y, err := f.svcs[3].User(ctx, rd.y)
		if err != nil || y.Org != rd.org || y.Claim == nil || y.Claim.By != rd.org {
			t.Fatalf("%s: y is %+v, %v; want claimed by %s", what, y, err, rd.org)
		}
		if o, err := f.svcs[3].User(ctx, y.Claim.Original); err != nil || o.HeldBy != rd.org || o.Org != "src" || o.State != claim.Active {
			t.Fatalf("%s: y's original is %+v, %v; want Active in src held by %s", what, o, err, rd.org)
		}
	}
	t.Logf("%d rounds in %v: %v", len(rounds), time.Since(start).Round(time.Millisecond), counts)
	fol.check(t)
	checkFleet(t, f, orgs, content)

	evs := isoEvents(t, f.svcs[0], seq0)
	for r, rd := range rounds {
		if n := isoCount(evs, claim.EventDirectorySynced, ofOrg(rd.org)); n != 1 {
			t.Errorf("directory.synced events of %s = %d, want 1", rd.org, n)
		}
		for _, u := range []struct {
			id    claim.UserID
			email string
		}{{rd.z, rd.zEmail}, {rd.y, rd.yEmail}} {
			want := btoi(slices.Contains(reports[r].Deactivated, u.email))
			if n := isoCount(evs, claim.EventUserDeactivated, ofUser(u.id)); n != want {
				t.Errorf("user.deactivated events of %s = %d, want %d", u.email, n, want)
			}
		}
		if n := isoCount(evs, claim.EventUserAdded, ofOrg(rd.org)); n != 1 {
			t.Errorf("user.added events of %s = %d, want 1 (x)", rd.org, n)
		}
	}
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestIsolationSweep races, isoRounds times on fresh delayed claims that
// have just reached their deadline (X3), Sweep against the users' own
// calls on the same claims, each on a service of its own: SignIn of
// users that had not signed in, Choose (MigrateContent and DeleteOriginal
// by turns) of users that had, and Retract of users that had not. Every
// call of a user past its deadline first resolves the claim as expired
// (a write persists what reads show, X1), so whatever the order each
// claim ends exactly once, as claim.expired with content.migrated, and
// never also as claim.resolved or claim.retracted:
//
//   - SignIn succeeds: the user is in the claiming org, its claim ended.
//   - Choose is ErrNoPendingClaim; Retract is a *RetractError with
//     ErrRetractWindowClosed; neither writes anything.
//   - The user holds the original's content, the original is gone, and
//     content is conserved (checkFleet); no sweep fails, and the sweeps'
//     counts are no more than the claims.
func TestIsolationSweep(t *testing.T) {
	f := newFleet(t)
	ctx := isoContext(t)
	const domain, per = "sweep.example", 4
	f.mustOrg(t, "old", claim.Individual, raceOldOrg, claim.Settings{})
	f.mustOrg(t, "b", claim.Enterprise, raceOldOrg, claim.Settings{AllowContentMigration: true})
	f.mustVerify(t, "b", domain)
	window := f.svcs[0].Policy().ClaimWindow
	seq0 := lastSeq(t, f.svcs[0])
	fol := isoFollow(ctx, f.svcs[0], seq0)
	content := 0
	counts := map[string]int{}
	var elapsed time.Duration
	for r := range isoRounds {
		prefix := fmt.Sprintf("w%02d", r)
		ids, c := f.mustUsers(t, "old", prefix, domain, 3*per, claim.Active)
		content += c
		mustClaim(t, f.svcs[0], "b", ids, claim.Delayed)
		choosers, signers, retracted := ids[:per], ids[per:2*per], ids[2*per:]
		for _, id := range choosers {
			if u, err := f.svcs[0].SignIn(ctx, id); err != nil || u.Claim == nil || !u.Claim.SignedIn {
				t.Fatalf("SignIn(%s) after the claim = %+v, %v; want signed in during the claim", id, u, err)
			}
		}
		contentOf := map[claim.UserID]int{}
		for i, id := range ids {
			u, err := f.svcs[0].User(ctx, id)
			if err != nil {
				t.Fatalf("User(%s) = %v", id, err)
			}
			o, err := isoOriginal(ctx, f.svcs[0], isoEmail(prefix, i, domain))
			if err != nil {
				t.Fatalf("the original of %s: %v", id, err)
			}
			contentOf[id] = u.Content + o.Content
		}
		f.clock.Advance(window) // exactly the deadline: expired (X3)
		seqR := lastSeq(t, f.svcs[0])

		var rep claim.SweepReport
		var sweepErr error
		signIn := make([]claim.User, per)
		signErr, chooseErr, retractErr := make([]error, per), make([]error, per), make([]error, per)
		start := time.Now()
		together(
			func() { rep, sweepErr = f.svcs[0].Sweep(ctx) },
			func() {
				for i, id := range signers {
					signIn[i], signErr[i] = f.svcs[1].SignIn(ctx, id)
				}
			},
			func() {
				for i, id := range choosers {
					action := []claim.Action{claim.MigrateContent, claim.DeleteOriginal}[i%2]
					_, chooseErr[i] = f.svcs[2].Choose(ctx, id, claim.Choice{Action: action})
				}
			},
			func() {
				for i, id := range slices.Backward(retracted) {
					retractErr[i] = f.svcs[3].Retract(ctx, "b", id)
				}
			},
		)
		elapsed += time.Since(start)
		what := fmt.Sprintf("round %d", r)
		noConflict(t, what+": Sweep()", sweepErr)
		if sweepErr != nil || rep.Expired > len(ids) || rep.Purged != 0 {
			t.Fatalf("%s: Sweep() = %+v, %v; want at most %d expired, none purged", what, rep, sweepErr, len(ids))
		}
		counts["expired by the sweep"] += rep.Expired
		for i := range per {
			noConflict(t, what+": SignIn()", signErr[i])
			noConflict(t, what+": Choose()", chooseErr[i])
			noConflict(t, what+": Retract()", retractErr[i])
			if u := signIn[i]; signErr[i] != nil || u.Org != "b" || u.Claim != nil || u.State != claim.Active {
				t.Fatalf("%s: SignIn(%s) past the deadline = %+v, %v; want Active in b, the claim ended", what, signers[i], u, signErr[i])
			}
			if !errors.Is(chooseErr[i], claim.ErrNoPendingClaim) {
				t.Fatalf("%s: Choose(%s) past the deadline = %v, want ErrNoPendingClaim", what, choosers[i], chooseErr[i])
			}
			var re *claim.RetractError
			if !errors.As(retractErr[i], &re) || !errors.Is(retractErr[i], claim.ErrRetractWindowClosed) {
				t.Fatalf("%s: Retract(%s) past the deadline = %v, want a *RetractError with ErrRetractWindowClosed", what, retracted[i], retractErr[i])
			}
		}
		evs := isoEvents(t, f.svcs[1], seqR)
		for i, id := range ids {
			for typ, want := range map[string]int{
				claim.EventClaimExpired: 1, claim.EventContentMigrated: 1,
				claim.EventClaimResolved: 0, claim.EventClaimRetracted: 0, claim.EventOriginalReleased: 0,
			} {
				if n := isoCount(evs, typ, ofUser(id)); n != want {
					t.Errorf("%s: %s events of %s = %d, want %d", what, typ, id, n, want)
				}
			}
			u, err := f.svcs[2].User(ctx, id)
			if err != nil || u.Org != "b" || u.Claim != nil || u.Content != contentOf[id] {
				t.Fatalf("%s: user %s after the races = %+v, %v; want in b, no pending claim, content %d", what, id, u, err, contentOf[id])
			}
			if o, err := isoOriginal(ctx, f.svcs[2], isoEmail(prefix, i, domain)); !errors.Is(err, claim.ErrNotFound) {
				t.Fatalf("%s: the original of %s after its claim expired: %+v, %v; want ErrNotFound", what, id, o, err)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d rounds of %d claims raced in %v: %v", isoRounds, 3*per, elapsed.Round(time.Millisecond), counts)
	fol.check(t)
	if rep, err := f.svcs[3].Sweep(ctx); err != nil || rep != (claim.SweepReport{}) {
		t.Errorf("Sweep() after the races = %+v, %v; want nothing to do", rep, err)
	}
	checkFleet(t, f, []claim.OrgID{"old", "b"}, content)
}

// TestIsolationDomain races, isoRounds times on a fresh domain that four
// orgs have started verifying (its TXT records hold all four tokens),
// each org's ConfirmDomain then ClaimDomain, on a service each. A domain
// has one claimant (D3, D7): exactly one org's calls succeed and every
// other's fail with ErrDomainClaimedByOther (at ConfirmDomain or
// ClaimDomain, whichever saw the claim). Afterwards exactly the winner's
// record is claimed, and the log holds one domain.claimed, the winner's.
//
// In the same rounds, on another fresh domain that o1 has verified,
// UnverifyDomain against ClaimDomain by o1 itself, which no unique index
// decides: the unverify first, the record is gone and ClaimDomain is
// ErrDomainNotVerified; the claim first, UnverifyDomain is
// ErrDomainClaimed (D4) and the record is claimed. Never both, and the
// log holds domain.claimed or domain.unverified for it, not both.
func TestIsolationDomain(t *testing.T) {
	f := newFleet(t)
	ctx := isoContext(t)
	orgs := []claim.OrgID{"o1", "o2", "o3", "o4"}
	for _, o := range orgs {
		f.mustOrg(t, o, claim.Enterprise, time.Time{}, claim.Settings{})
	}
	seq0 := lastSeq(t, f.svcs[0])
	fol := isoFollow(ctx, f.svcs[0], seq0)
	wonBy := map[claim.OrgID]int{}
	winners := map[string]claim.OrgID{}
	unverifyWon := map[string]bool{}
	counts := map[string]int{}
	var elapsed time.Duration
	for r := range isoRounds {
		domain := fmt.Sprintf("r%02d.example", r)
		other := fmt.Sprintf("u%02d.example", r)
		f.mustVerify(t, "o1", other)
		var toks []string
		for _, o := range orgs {
			tok, err := f.svcs[0].StartDomainVerification(ctx, o, domain)
			if err != nil {
				t.Fatalf("StartDomainVerification(%s, %s) = %v", o, domain, err)
			}
			toks = append(toks, tok)
		}
		f.dns.Set(domain, toks...)
		errs := make([]error, len(orgs))
		var fns []func()
		for i, o := range orgs {
			fns = append(fns, func() {
				if errs[i] = f.svcs[i].ConfirmDomain(ctx, o, domain); errs[i] == nil {
					errs[i] = f.svcs[i].ClaimDomain(ctx, o, domain)
				}
			})
		}
		var unverifyErr, claimErr error
		fns[0] = func() {
			together(
				func() {
					if errs[0] = f.svcs[0].ConfirmDomain(ctx, "o1", domain); errs[0] == nil {
						errs[0] = f.svcs[0].ClaimDomain(ctx, "o1", domain)
					}
				},
				func() { unverifyErr = f.svcs[0].UnverifyDomain(ctx, "o1", other) },
				func() { claimErr = f.svcs[1].ClaimDomain(ctx, "o1", other) },
			)
		}
		start := time.Now()
		together(fns...)
		elapsed += time.Since(start)
		noConflict(t, other+": UnverifyDomain()", unverifyErr)
		noConflict(t, other+": ClaimDomain()", claimErr)
		doms, err := f.svcs[2].Domains(ctx, "o1")
		if err != nil {
			t.Fatalf("Domains(o1) = %v", err)
		}
		i := slices.IndexFunc(doms, func(d claim.Domain) bool { return d.Name == other })
		switch {
		case unverifyErr == nil && errors.Is(claimErr, claim.ErrDomainNotVerified) && i < 0:
			unverifyWon[other] = true
			counts["unverify first"]++
		case claimErr == nil && errors.Is(unverifyErr, claim.ErrDomainClaimed) && i >= 0 && doms[i].Claimed && doms[i].Verified:
			counts["claim first"]++
		default:
			var rec any = "none"
			if i >= 0 {
				rec = doms[i]
			}
			t.Fatalf("%s: UnverifyDomain() = %v racing ClaimDomain() = %v by o1, its record %+v; want one nil and the other ErrDomainNotVerified (no record) or ErrDomainClaimed (claimed)",
				other, unverifyErr, claimErr, rec)
		}
		var winner claim.OrgID
		for i, o := range orgs {
			noConflict(t, fmt.Sprintf("%s: %s's ConfirmDomain/ClaimDomain", domain, o), errs[i])
			switch {
			case errs[i] == nil && winner == "":
				winner = o
			case errs[i] == nil:
				t.Fatalf("%s: both %s and %s claimed it", domain, winner, o)
			case !errors.Is(errs[i], claim.ErrDomainClaimedByOther):
				t.Fatalf("%s: %s's ConfirmDomain/ClaimDomain = %v, want nil or ErrDomainClaimedByOther", domain, o, errs[i])
			}
		}
		if winner == "" {
			t.Fatalf("%s: no org claimed it: %v", domain, errs)
		}
		wonBy[winner]++
		winners[domain] = winner
		for _, o := range orgs {
			doms, err := f.svcs[1].Domains(ctx, o)
			if err != nil {
				t.Fatalf("Domains(%s) = %v", o, err)
			}
			i := slices.IndexFunc(doms, func(d claim.Domain) bool { return d.Name == domain })
			if i < 0 {
				t.Fatalf("%s: %s has no record of it", domain, o)
			}
			if d := doms[i]; d.Claimed != (o == winner) || (o == winner && !d.Verified) {
				t.Fatalf("%s: %s's record is %+v; the winner is %s", domain, o, d, winner)
			}
		}
	}
	t.Logf("%d domains raced for in %v: won by %v; o1's unverify against its claim: %v", isoRounds, elapsed.Round(time.Millisecond), wonBy, counts)
	fol.check(t)
	evs := isoEvents(t, f.svcs[2], seq0)
	for domain, winner := range winners {
		var by []claim.OrgID
		for _, ev := range evs {
			if ev.Type == claim.EventDomainClaimed && ev.Detail == domain {
				by = append(by, ev.Org)
			}
		}
		if !slices.Equal(by, []claim.OrgID{winner}) {
			t.Errorf("domain.claimed events of %s by %v, want one by %s", domain, by, winner)
		}
		other := "u" + strings.TrimPrefix(domain, "r")
		ofDomain := func(ev claim.Event) bool { return ev.Detail == other }
		claimed, unverified := isoCount(evs, claim.EventDomainClaimed, ofDomain), isoCount(evs, claim.EventDomainUnverified, ofDomain)
		if want := btoi(unverifyWon[other]); claimed != 1-want || unverified != want {
			t.Errorf("%s: %d domain.claimed and %d domain.unverified events; the unverify won: %v", other, claimed, unverified, unverifyWon[other])
		}
	}
}

// TestIsolationSameAddress races, isoRounds times on a fresh address,
// four ways of creating an account with it in four orgs, on a service
// each: AddUser in two orgs and an incremental directory sync in two
// Enterprise orgs, half of them giving the address in upper case (N1:
// addresses are one whatever their case). One address, one account (U1):
// exactly one creates it; each AddUser that loses is ErrEmailTaken, each
// sync that loses succeeds with the entry refused with ErrEmailTaken
// (Y3). The account is the winner's, and the log holds one user.added
// for the address, the winner's.
func TestIsolationSameAddress(t *testing.T) {
	f := newFleet(t)
	ctx := isoContext(t)
	f.mustOrg(t, "a1", claim.Individual, time.Time{}, claim.Settings{})
	f.mustOrg(t, "a2", claim.Enterprise, time.Time{}, claim.Settings{})
	f.mustOrg(t, "s3", claim.Enterprise, time.Time{}, claim.Settings{})
	f.mustOrg(t, "s4", claim.Enterprise, time.Time{}, claim.Settings{})
	orgs := []claim.OrgID{"a1", "a2", "s3", "s4"}
	seq0 := lastSeq(t, f.svcs[0])
	fol := isoFollow(ctx, f.svcs[0], seq0)
	wonBy := map[claim.OrgID]int{}
	winners := map[claim.UserID]claim.OrgID{}
	var elapsed time.Duration
	for r := range isoRounds {
		addr := fmt.Sprintf("dup%02d@same.example", r)
		upper := strings.ToUpper(addr[:5]) + addr[5:]
		addrOf := []string{addr, upper, upper, addr}
		errs := make([]error, len(orgs))
		reps := make([]claim.SyncReport, len(orgs))
		fns := []func(){
			func() { _, errs[0] = f.svcs[0].AddUser(ctx, "a1", claim.NewUser{Email: addrOf[0]}) },
			func() { _, errs[1] = f.svcs[1].AddUser(ctx, "a2", claim.NewUser{Email: addrOf[1]}) },
		}
		for i := 2; i < 4; i++ {
			fns = append(fns, func() {
				reps[i], errs[i] = f.svcs[i].SyncDirectory(ctx, orgs[i], []claim.DirectoryEntry{{Email: addrOf[i]}}, claim.SyncOptions{})
			})
		}
		start := time.Now()
		together(fns...)
		elapsed += time.Since(start)
		what := fmt.Sprintf("round %d (%s)", r, addr)
		var winner claim.OrgID
		for i, o := range orgs {
			noConflict(t, fmt.Sprintf("%s: %s's call", what, o), errs[i])
			created := errs[i] == nil && (i < 2 || len(reps[i].Created) == 1)
			if created {
				if winner != "" {
					t.Fatalf("%s: both %s and %s created it (%+v)", what, winner, o, reps)
				}
				winner = o
				continue
			}
			if i < 2 {
				if !errors.Is(errs[i], claim.ErrEmailTaken) {
					t.Fatalf("%s: AddUser in %s = %v, want nil or ErrEmailTaken", what, o, errs[i])
				}
				continue
			}
			rep := reps[i]
			if errs[i] != nil || len(rep.Refused) != 1 || !errors.Is(rep.Refused[0].Err, claim.ErrEmailTaken) ||
				len(rep.Created)+len(rep.Promoted)+len(rep.Unchanged)+len(rep.Reactivated)+len(rep.Deactivated) != 0 {
				t.Fatalf("%s: the sync of %s = %+v, %v; want it created or refused with ErrEmailTaken", what, o, rep, errs[i])
			}
		}
		if winner == "" {
			t.Fatalf("%s: nobody created it: %v %+v", what, errs, reps)
		}
		wonBy[winner]++
		u, err := f.svcs[1].UserByEmail(ctx, addr)
		if err != nil || u.Org != winner {
			t.Fatalf("%s: UserByEmail() = %+v, %v; want the account of %s", what, u, err, winner)
		}
		if v, err := f.svcs[2].UserByEmail(ctx, upper); err != nil || v.ID != u.ID {
			t.Fatalf("%s: UserByEmail(%s) = %+v, %v; want %s", what, upper, v, err, u.ID)
		}
		winners[u.ID] = winner
	}
	t.Logf("%d addresses raced for in %v: won by %v", isoRounds, elapsed.Round(time.Millisecond), wonBy)
	fol.check(t)
	evs := isoEvents(t, f.svcs[3], seq0)
	if n := isoCount(evs, claim.EventUserAdded, func(claim.Event) bool { return true }); n != isoRounds {
		t.Errorf("user.added events = %d, want %d", n, isoRounds)
	}
	for id, winner := range winners {
		var by []claim.OrgID
		for _, ev := range evs {
			if ev.Type == claim.EventUserAdded && ev.User == id {
				by = append(by, ev.Org)
			}
		}
		if !slices.Equal(by, []claim.OrgID{winner}) {
			t.Errorf("user.added events of %s in %v, want one in %s", id, by, winner)
		}
	}
	n := 0
	for _, o := range orgs {
		for _, err := range f.svcs[0].Users(ctx, o) {
			if err != nil {
				t.Fatalf("Users(%s) = %v", o, err)
			}
			n++
		}
	}
	if n != isoRounds {
		t.Errorf("the orgs hold %d accounts, want %d", n, isoRounds)
	}
}

// TestIsolationPurge races, isoRounds times on fresh users that have
// been Inactive for exactly Policy.InactivePurge (due for the purge,
// Y4), two Sweeps against Reactivate of each user (in order) and SignIn
// of each (in reverse order), on a service each. Per user a serial order
// allows exactly:
//
//   - the purge first: user.purged once; Reactivate is ErrNotFound;
//     SignIn is ErrNotFound or, before the purge, ErrInactive; the user
//     is gone.
//   - Reactivate first: no purge; the user is Active (it had signed in
//     before), with one user.reactivated; SignIn succeeded (after
//     Reactivate, one user.signed_in) or was ErrInactive (before it).
//
// A purged user was Inactive at its purge: never user.reactivated and
// user.purged both. The sweeps' Purged counts add up to the purges, and
// content is conserved (content.deleted for the purged).
func TestIsolationPurge(t *testing.T) {
	f := newFleet(t)
	ctx := isoContext(t)
	const per = 6
	f.mustOrg(t, "p", claim.Enterprise, time.Time{}, claim.Settings{})
	purge := f.svcs[0].Policy().InactivePurge
	seq0 := lastSeq(t, f.svcs[0])
	fol := isoFollow(ctx, f.svcs[0], seq0)
	content := 0
	counts := map[string]int{}
	var elapsed time.Duration
	for r := range isoRounds {
		now := f.clock.Now()
		ids := make([]claim.UserID, per)
		mustUpdate(t, f.stores[0], func(tx claim.Tx) error {
			for i := range ids {
				ids[i] = claim.UserID(fmt.Sprintf("usr_p%02d_%d", r, i))
				u := claim.User{ID: ids[i], Email: fmt.Sprintf("p%02d-%d@purge.example", r, i), FirstName: "F", LastName: "L", DisplayName: "F L",
					Org: "p", State: claim.Inactive, Content: 1 + i%3, CreatedAt: now.Add(-time.Hour),
					LastSignIn: now.Add(-time.Hour), InactiveSince: now}
				if err := tx.CreateUser(u); err != nil {
					return err
				}
			}
			return nil
		})
		for i := range ids {
			content += 1 + i%3
		}
		f.clock.Advance(purge) // exactly due (Y4)
		seqR := lastSeq(t, f.svcs[0])
		var reps [2]claim.SweepReport
		var sweepErrs [2]error
		reactErr, signErr := make([]error, per), make([]error, per)
		start := time.Now()
		together(
			func() { reps[0], sweepErrs[0] = f.svcs[0].Sweep(ctx) },
			func() {
				for i, id := range ids {
					_, reactErr[i] = f.svcs[1].Reactivate(ctx, "p", id)
				}
			},
			func() {
				for i, id := range slices.Backward(ids) {
					_, signErr[i] = f.svcs[2].SignIn(ctx, id)
				}
			},
			func() { reps[1], sweepErrs[1] = f.svcs[3].Sweep(ctx) },
		)
		elapsed += time.Since(start)
		what := fmt.Sprintf("round %d", r)
		purged := 0
		for i, err := range sweepErrs {
			noConflict(t, fmt.Sprintf("%s: Sweep() %d", what, i), err)
			if err != nil || reps[i].Expired != 0 {
				t.Fatalf("%s: Sweep() %d = %+v, %v", what, i, reps[i], err)
			}
			purged += reps[i].Purged
		}
		evs := isoEvents(t, f.svcs[1], seqR)
		n := 0
		for i, id := range ids {
			noConflict(t, what+": Reactivate()", reactErr[i])
			noConflict(t, what+": SignIn()", signErr[i])
			p := isoCount(evs, claim.EventUserPurged, ofUser(id))
			re := isoCount(evs, claim.EventUserReactivated, ofUser(id))
			si := isoCount(evs, claim.EventUserSignedIn, ofUser(id))
			u, err := f.svcs[2].User(ctx, id)
			switch {
			case p == 1:
				n++
				counts["purge first"]++
				if !errors.Is(reactErr[i], claim.ErrNotFound) || re != 0 || si != 0 || !errors.Is(err, claim.ErrNotFound) ||
					!(errors.Is(signErr[i], claim.ErrNotFound) || errors.Is(signErr[i], claim.ErrInactive)) {
					t.Fatalf("%s: %s purged, but Reactivate() = %v, SignIn() = %v, User() = %+v, %v, %d user.reactivated, %d user.signed_in",
						what, id, reactErr[i], signErr[i], u, err, re, si)
				}
			case p == 0:
				counts["reactivate first"]++
				if reactErr[i] != nil || re != 1 || err != nil || u.State != claim.Active {
					t.Fatalf("%s: %s not purged, but Reactivate() = %v, User() = %+v, %v, %d user.reactivated", what, id, reactErr[i], u, err, re)
				}
				switch {
				case signErr[i] == nil && si == 1:
					counts["signed in after"]++
				case errors.Is(signErr[i], claim.ErrInactive) && si == 0:
				default:
					t.Fatalf("%s: %s reactivated, SignIn() = %v with %d user.signed_in; want nil with 1 or ErrInactive with 0", what, id, signErr[i], si)
				}
			default:
				t.Fatalf("%s: user.purged events of %s = %d", what, id, p)
			}
		}
		if purged != n {
			t.Fatalf("%s: the sweeps purged %d users, the log has %d user.purged", what, purged, n)
		}
	}
	t.Logf("%d rounds of %d users raced in %v: %v", isoRounds, per, elapsed.Round(time.Millisecond), counts)
	fol.check(t)
	checkFleet(t, f, []claim.OrgID{"p"}, content)
}

// TestIsolationBroadWorks races, isoRounds times on two fresh enterprises
// E and F of one partner (trusted addresses, no attach target), four
// ProvisionSubscriber calls on a service each:
//
//	A: E, subscriber a, address a     C: E, subscriber a, address c
//	B: E, subscriber b, address b     D: F, subscriber d, address b
//
// A and C provision the same subscriber: exactly one succeeds, the other
// is ErrDuplicate. B and D the same address: exactly one succeeds, the
// other is ErrEmailTaken. Whatever the order, E's first subscriber
// creates E's org (B2) and a second one joins it: E belongs to exactly
// one org, every provisioned subscriber of E is a user of it, exactly one
// of them is its Admin, and one org.created is logged per enterprise
// that got a subscriber. No address has two subscribers or two accounts,
// and the losers' addresses have neither.
func TestIsolationBroadWorks(t *testing.T) {
	f := newFleet(t)
	ctx := isoContext(t)
	const partner = claim.OrgID("pt")
	f.mustOrg(t, partner, claim.Enterprise, time.Time{}, claim.Settings{})
	bw := func(i int) *claim.BroadWorks { return f.svcs[i].BroadWorks() }
	seq0 := lastSeq(t, f.svcs[0])
	fol := isoFollow(ctx, f.svcs[0], seq0)
	counts := map[string]int{}
	var elapsed time.Duration
	for r := range isoRounds {
		e, fe := claim.EnterpriseID(fmt.Sprintf("e%02d", r)), claim.EnterpriseID(fmt.Sprintf("f%02d", r))
		for _, id := range []claim.EnterpriseID{e, fe} {
			_, err := bw(0).CreateEnterprise(ctx, claim.BroadWorksEnterprise{ID: id, Partner: partner, Name: "Ent " + string(id),
				Template: claim.Template{PartnerAdmin: "admin@partner.example", TrustedEmail: true}})
			if err != nil {
				t.Fatalf("CreateEnterprise(%s) = %v", id, err)
			}
		}
		sub := func(s string) claim.SubscriberID { return claim.SubscriberID(fmt.Sprintf("%s%02d", s, r)) }
		addr := func(s string) string { return fmt.Sprintf("%s%02d@bw.example", s, r) }
		calls := []struct {
			ent   claim.EnterpriseID
			sub   claim.SubscriberID
			email string
		}{{e, sub("a"), addr("a")}, {e, sub("b"), addr("b")}, {e, sub("a"), addr("c")}, {fe, sub("d"), addr("b")}}
		subs := make([]claim.Subscriber, len(calls))
		errs := make([]error, len(calls))
		var fns []func()
		for i, c := range calls {
			fns = append(fns, func() {
				subs[i], errs[i] = bw(i).ProvisionSubscriber(ctx, partner, c.ent, claim.NewSubscriber{ID: c.sub, Email: c.email, FirstName: "S", LastName: "B"})
			})
		}
		seqR := lastSeq(t, f.svcs[0])
		start := time.Now()
		together(fns...)
		elapsed += time.Since(start)
		what := fmt.Sprintf("round %d", r)
		for i := range calls {
			noConflict(t, fmt.Sprintf("%s: ProvisionSubscriber %d", what, i), errs[i])
		}
		// The pairs: exactly one of each wins, the other with its error.
		won := map[int]bool{}
		for _, pair := range []struct {
			x, y int
			want error
		}{{0, 2, claim.ErrDuplicate}, {1, 3, claim.ErrEmailTaken}} {
			switch {
			case errs[pair.x] == nil && errors.Is(errs[pair.y], pair.want):
				won[pair.x] = true
			case errs[pair.y] == nil && errors.Is(errs[pair.x], pair.want):
				won[pair.y] = true
			default:
				t.Fatalf("%s: provisioning %+v and %+v = %v and %v; want one nil, the other %v",
					what, calls[pair.x], calls[pair.y], errs[pair.x], errs[pair.y], pair.want)
			}
		}
		counts[fmt.Sprintf("A/C won by %c, B/D by %c", "A?C"[btoi(won[2])*2], "?BD"[1+btoi(won[3])])]++
		orgOf := map[claim.EnterpriseID]claim.OrgID{}
		for _, id := range []claim.EnterpriseID{e, fe} {
			ent, err := bw(1).Enterprise(ctx, partner, id)
			if err != nil {
				t.Fatalf("%s: Enterprise(%s) = %v", what, id, err)
			}
			orgOf[id] = ent.Org
		}
		if orgOf[e] == "" || (orgOf[fe] == "") != !won[3] || orgOf[e] == orgOf[fe] {
			t.Fatalf("%s: the enterprises belong to %v; winners %v", what, orgOf, won)
		}
		admins := map[claim.EnterpriseID]int{}
		for i, c := range calls {
			s, err := bw(2).Subscriber(ctx, c.sub)
			if !won[i] {
				if c.sub == sub("a") {
					continue // the winner's
				}
				if !errors.Is(err, claim.ErrNotFound) {
					t.Fatalf("%s: the loser %+v has subscriber %+v, %v", what, c, s, err)
				}
			} else {
				if err != nil || s.Enterprise != c.ent || s.Email != c.email || s.Status != claim.StatusProvisioned || s.User == "" {
					t.Fatalf("%s: the winner %+v's subscriber is %+v, %v; want provisioned in %s with its address", what, c, s, err, c.ent)
				}
				if diff := cmp.Diff(subs[i], s); diff != "" {
					t.Errorf("%s: ProvisionSubscriber(%s) returned what Subscriber() does not read (-returned +read):\n%s", what, c.sub, diff)
				}
				if s.Admin {
					admins[c.ent]++
				}
				u, err := f.svcs[3].UserByEmail(ctx, c.email)
				if err != nil || u.ID != s.User || u.Org != orgOf[c.ent] {
					t.Fatalf("%s: the account of %s is %+v, %v; want %s in %s", what, c.email, u, err, s.User, orgOf[c.ent])
				}
			}
		}
		for i, c := range calls {
			if !won[i] && c.email != addr("b") {
				if u, err := f.svcs[3].UserByEmail(ctx, c.email); !errors.Is(err, claim.ErrNotFound) {
					t.Fatalf("%s: the loser %+v's address has an account %+v, %v", what, c, u, err)
				}
			}
		}
		var inE []claim.SubscriberID
		for s, err := range bw(3).Subscribers(ctx, partner, e) {
			if err != nil {
				t.Fatalf("%s: Subscribers(%s) = %v", what, e, err)
			}
			inE = append(inE, s.ID)
		}
		wantE := []claim.SubscriberID{sub("a")}
		if won[1] {
			wantE = append(wantE, sub("b"))
		}
		if !slices.Equal(inE, wantE) || admins[e] != 1 || admins[fe] != btoi(won[3]) {
			t.Fatalf("%s: E's subscribers are %v (want %v), admins %v (want one in E, %d in F)", what, inE, wantE, admins, btoi(won[3]))
		}
		evs := isoEvents(t, f.svcs[1], seqR)
		if n, want := isoCount(evs, claim.EventOrgCreated, func(claim.Event) bool { return true }), 1+btoi(won[3]); n != want {
			t.Fatalf("%s: org.created events = %d, want %d", what, n, want)
		}
		for _, id := range []claim.EnterpriseID{e, fe} {
			var users []string
			if orgOf[id] == "" {
				continue
			}
			for u, err := range f.svcs[2].Users(ctx, orgOf[id]) {
				if err != nil {
					t.Fatalf("%s: Users(%s) = %v", what, orgOf[id], err)
				}
				users = append(users, u.Email)
			}
			var want []string
			for i, c := range calls {
				if won[i] && c.ent == id {
					want = append(want, c.email)
				}
			}
			slices.Sort(want)
			if !slices.Equal(users, want) {
				t.Fatalf("%s: the users of %s's org are %v, want %v", what, id, users, want)
			}
		}
	}
	t.Logf("%d rounds raced in %v: %v", isoRounds, elapsed.Round(time.Millisecond), counts)
	fol.check(t)
}

// TestIsolationDeleteUser races, isoRounds times on two fresh users u1
// and u2 of org src, one ClaimUsers of both by org b (immediate and
// delayed by turns) against DeleteUser of each by src, on a service each,
// and a SignIn of u1 on the fourth. Per user a serial order allows
// exactly:
//
//   - the delete first: its claim result is ErrNotFound, the user and
//     any original are gone, and the log holds its user.deleted and no
//     claim.created.
//   - the claim first: DeleteUser is ErrNotFound (the user is no longer
//     src's, N3) and the user is b's, its original src's held by b; the
//     log holds its claim.created and no user.deleted.
//
// SignIn of u1 succeeds (before or after the claim) unless the delete
// came first, when it may be ErrNotFound. Content is conserved.
func TestIsolationDeleteUser(t *testing.T) {
	f := newFleet(t)
	ctx := isoContext(t)
	const domain = "deluser.example"
	f.mustOrg(t, "src", claim.Individual, raceOldOrg, claim.Settings{})
	f.mustOrg(t, "b", claim.Enterprise, raceOldOrg, claim.Settings{AllowContentMigration: true})
	f.mustVerify(t, "b", domain)
	seq0 := lastSeq(t, f.svcs[0])
	fol := isoFollow(ctx, f.svcs[0], seq0)
	content := 0
	counts := map[string]int{}
	var elapsed time.Duration
	for r := range isoRounds {
		prefix := fmt.Sprintf("du%02d", r)
		ids, c := f.mustUsers(t, "src", prefix, domain, 2, claim.Active)
		content += c
		mode := []claim.Mode{claim.Immediate, claim.Delayed}[r%2]
		seqR := lastSeq(t, f.svcs[0])
		var res []claim.Result
		var claimErr, signErr error
		delErr := make([]error, 2)
		start := time.Now()
		together(
			func() {
				res, claimErr = f.svcs[0].ClaimUsers(ctx, "b", ids, claim.ClaimOptions{Acknowledge: true, ImmediateOnly: mode == claim.Immediate})
			},
			func() { delErr[0] = f.svcs[1].DeleteUser(ctx, "src", ids[0]) },
			func() { delErr[1] = f.svcs[2].DeleteUser(ctx, "src", ids[1]) },
			func() { _, signErr = f.svcs[3].SignIn(ctx, ids[0]) },
		)
		elapsed += time.Since(start)
		what := fmt.Sprintf("round %d (%v claim)", r, mode)
		noConflict(t, what+": ClaimUsers()", claimErr)
		noConflict(t, what+": SignIn()", signErr)
		if claimErr != nil || len(res) != 2 {
			t.Fatalf("%s: ClaimUsers() = %+v, %v; want two results", what, res, claimErr)
		}
		evs := isoEvents(t, f.svcs[1], seqR)
		for i, id := range ids {
			noConflict(t, what+": DeleteUser()", delErr[i])
			u, err := f.svcs[2].User(ctx, id)
			o, oErr := isoOriginal(ctx, f.svcs[3], isoEmail(prefix, i, domain))
			created, deleted := isoCount(evs, claim.EventClaimCreated, ofUser(id)), isoCount(evs, claim.EventUserDeleted, ofUser(id))
			switch {
			case delErr[i] == nil:
				counts["delete first"]++
				if !errors.Is(res[i].Err, claim.ErrNotFound) || !errors.Is(err, claim.ErrNotFound) || !errors.Is(oErr, claim.ErrNotFound) || created != 0 || deleted != 1 {
					t.Fatalf("%s: DeleteUser(%s) won, but its claim result is %v, User() = %+v, %v, its original %+v, %v, %d claim.created, %d user.deleted",
						what, id, res[i].Err, u, err, o, oErr, created, deleted)
				}
				if i == 0 && signErr != nil && !errors.Is(signErr, claim.ErrNotFound) {
					t.Fatalf("%s: SignIn() of a deleted user = %v, want nil or ErrNotFound", what, signErr)
				}
			case errors.Is(delErr[i], claim.ErrNotFound):
				counts["claim first"]++
				if res[i].Err != nil || res[i].Mode != mode || err != nil || u.Org != "b" || u.Claim == nil || u.Claim.Original != o.ID ||
					oErr != nil || o.Org != "src" || o.HeldBy != "b" || created != 1 || deleted != 0 {
					t.Fatalf("%s: the claim of %s won, but its result is %v %v, User() = %+v, %v, its original %+v, %v, %d claim.created, %d user.deleted",
						what, id, res[i].Mode, res[i].Err, u, err, o, oErr, created, deleted)
				}
				if i == 0 && signErr != nil {
					t.Fatalf("%s: SignIn() of a user never deleted = %v, want nil", what, signErr)
				}
			default:
				t.Fatalf("%s: DeleteUser(%s) = %v, want nil or ErrNotFound", what, id, delErr[i])
			}
		}
	}
	t.Logf("%d rounds raced in %v: %v", isoRounds, elapsed.Round(time.Millisecond), counts)
	fol.check(t)
	checkFleet(t, f, []claim.OrgID{"src", "b"}, content)
}

// isoClaimed fails unless ClaimUsers, returning res and err, claimed each
// user of ids into org by from org from in mode, its original left in
// from and held by by.
func isoClaimed(ctx context.Context, t *testing.T, f *fleet, what string, res []claim.Result, err error, ids []claim.UserID, by, from claim.OrgID, mode claim.Mode) {
	t.Helper()
	if err != nil || len(res) != len(ids) {
		t.Fatalf("%s: ClaimUsers into %s won but returned %d results, %v; want %d", what, by, len(res), err, len(ids))
	}
	for i, r := range res {
		if r.Err != nil || r.Mode != mode {
			t.Fatalf("%s: ClaimUsers into %s won but result %d is %v, %v; want claimed %v", what, by, i, r.Mode, r.Err, mode)
		}
	}
	for _, id := range ids {
		u, err := f.svcs[1].User(ctx, id)
		if err != nil || u.Org != by || u.Claim == nil || u.Claim.By != by || u.Claim.From != from {
			t.Fatalf("%s: ClaimUsers into %s won but user %s is %+v, %v; want claimed from %s", what, by, id, u, err, from)
		}
		o, err := f.svcs[2].User(ctx, u.Claim.Original)
		if err != nil || o.Org != from || o.HeldBy != by {
			t.Fatalf("%s: the original of %s is %+v, %v; want in %s held by %s", what, id, o, err, from, by)
		}
	}
}
