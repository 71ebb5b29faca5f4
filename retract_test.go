package claim_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// --- Section 9: retraction (R1–R9) ---

func TestRefuseRetract(t *testing.T) {
	// claimed builds ann claimed by b, then applies the conditions.
	type cond struct{ signedIn, windowClosed, domainClaimed bool }
	claimed := func(c cond) func(t *testing.T, e *env) claim.User {
		return func(t *testing.T, e *env) claim.User {
			_, ann := claimedFixture(t, e)
			if c.signedIn {
				mustSignIn(t, e, ann.ID)
			}
			if c.domainClaimed {
				mustClaimDomain(t, e, "b", "example.com")
			}
			if c.windowClosed {
				e.clock.Advance(window)
			}
			return ann
		}
	}
	retract := func(org claim.OrgID, build func(t *testing.T, e *env) claim.User) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			u := build(t, e)
			return func() error { return e.svc.Retract(e.ctx, org, u.ID) }
		}
	}
	all := cond{true, true, true}
	others := []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}
	runRefusals(t, []refusalCase{
		{reason: "R1: an org that did not make the claim cannot retract it", op: "Retract(c, ann)",
			setup: retract("c", claimed(cond{})), want: claim.ErrNotClaimant, retract: []error{claim.ErrNotClaimant}},
		{reason: "R1: nor can the org the user was claimed from", op: "Retract(a, ann)",
			setup: retract("a", claimed(cond{})), want: claim.ErrNotClaimant, retract: []error{claim.ErrNotClaimant}},
		{reason: "R1, R7: another org learns only ErrNotClaimant, though R2, R3 and R4 apply", op: "Retract(c, ann) all reasons",
			setup: retract("c", claimed(all)), want: claim.ErrNotClaimant, not: others, retract: []error{claim.ErrNotClaimant}},
		{reason: "R1, R7: the source org learns only ErrNotClaimant, though R2, R3 and R4 apply", op: "Retract(a, ann) all reasons",
			setup: retract("a", claimed(all)), want: claim.ErrNotClaimant, not: others, retract: []error{claim.ErrNotClaimant}},
		{reason: "R1, R7: a stranger learns only ErrNotClaimant about a delayed claim past its deadline", op: "Retract(c, ivy) at 14d",
			setup: retract("c", func(t *testing.T, e *env) claim.User {
				_, ivy := delayedFixture(t, e)
				e.clock.Advance(window)
				return ivy
			}), want: claim.ErrNotClaimant, not: others, retract: []error{claim.ErrNotClaimant}},
		{reason: "R2: not after the user signed in", op: "Retract(b, ann) signed in",
			setup: retract("b", claimed(cond{signedIn: true})), want: claim.ErrSignedIn, retract: []error{claim.ErrSignedIn}},
		{reason: "R2: not after a delayed-claimed user signed in", op: "Retract(b, ivy) signed in",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := delayedFixture(t, e)
				mustSignIn(t, e, ivy.ID)
				return ivy
			}), want: claim.ErrSignedIn, retract: []error{claim.ErrSignedIn}},
		{reason: "R3: not at claim time + 14 days (immediate claim)", op: "Retract(b, ann) at 14d",
			setup: retract("b", claimed(cond{windowClosed: true})), want: claim.ErrRetractWindowClosed, retract: []error{claim.ErrRetractWindowClosed}},
		{reason: "R3, R9: not at claim time + 14 days (delayed claim, expired, not yet swept)", op: "Retract(b, ivy) at 14d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := delayedFixture(t, e)
				e.clock.Advance(window)
				return ivy
			}), want: claim.ErrRetractWindowClosed, retract: []error{claim.ErrRetractWindowClosed}},
		{reason: "R4: not while the claiming org claims the user's domain", op: "Retract(b, ann) domain claimed",
			setup: retract("b", claimed(cond{domainClaimed: true})), want: claim.ErrDomainClaimed, retract: []error{claim.ErrDomainClaimed}},
		{reason: "R7: signed in and window closed, both reported in order", op: "Retract(b, ann) R2+R3",
			setup: retract("b", claimed(cond{signedIn: true, windowClosed: true})), want: claim.ErrSignedIn,
			also: []error{claim.ErrRetractWindowClosed}, retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
		{reason: "R7: signed in and domain claimed, both reported in order", op: "Retract(b, ann) R2+R4",
			setup: retract("b", claimed(cond{signedIn: true, domainClaimed: true})), want: claim.ErrSignedIn,
			also: []error{claim.ErrDomainClaimed}, retract: []error{claim.ErrSignedIn, claim.ErrDomainClaimed}},
		{reason: "R7: window closed and domain claimed, both reported in order", op: "Retract(b, ann) R3+R4",
			setup: retract("b", claimed(cond{windowClosed: true, domainClaimed: true})), want: claim.ErrRetractWindowClosed,
			also: []error{claim.ErrDomainClaimed}, retract: []error{claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}},
		{reason: "R7: signed in, window closed and domain claimed, all three reported by one error in order", op: "Retract(b, ann) R2+R3+R4",
			setup: retract("b", claimed(all)), want: claim.ErrSignedIn,
			also: []error{claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}, not: []error{claim.ErrNotClaimant},
			retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed, claim.ErrDomainClaimed}},
		{reason: "R9: a claim ended by a choice is judged like a pending one: signed in", op: "Retract(b, ann) after DeleteOriginal",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{signedIn: true})(t, e)
				mustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				return ann
			}), want: claim.ErrSignedIn, not: []error{claim.ErrNoPendingClaim}, retract: []error{claim.ErrSignedIn}},
		{reason: "R9: a chosen claim past its window reports both reasons", op: "Retract(b, ann) after ChangeEmail at 20d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{signedIn: true})(t, e)
				mustChoose(t, e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
				e.clock.Advance(20 * 24 * time.Hour)
				return ann
			}), want: claim.ErrSignedIn, also: []error{claim.ErrRetractWindowClosed},
			retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
		{reason: "R9: a delayed claim ended by expiry and swept: the window is closed", op: "Retract(b, ivy) after Sweep",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := delayedFixture(t, e)
				e.clock.Advance(window)
				if rep, err := e.svc.Sweep(e.ctx); err != nil || rep.Expired != 1 {
					t.Fatalf("Sweep() = %+v, %v; want 1 expired", rep, err)
				}
				return ivy
			}), want: claim.ErrRetractWindowClosed, not: []error{claim.ErrNoPendingClaim, claim.ErrSignedIn},
			retract: []error{claim.ErrRetractWindowClosed}},
		{reason: "R9: a delayed claim signed in and then expired reports both reasons", op: "Retract(b, ivy) signed in, at 14d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := delayedFixture(t, e)
				mustSignIn(t, e, ivy.ID)
				e.clock.Advance(window)
				return ivy
			}), want: claim.ErrSignedIn, also: []error{claim.ErrRetractWindowClosed},
			retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
		{reason: "R9: an ended claim made by another org is ErrNotClaimant", op: "Retract(c, ann) after DeleteOriginal",
			setup: retract("c", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{signedIn: true})(t, e)
				mustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				return ann
			}), want: claim.ErrNotClaimant, not: []error{claim.ErrSignedIn}, retract: []error{claim.ErrNotClaimant}},
		{reason: "R9: a retracted claim leaves no record: ErrNoPendingClaim", op: "Retract(b, ann) twice",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{})(t, e)
				mustRetract(t, e, "b", ann.ID)
				return ann
			}), want: claim.ErrNoPendingClaim},
		{reason: "R9: a never-claimed user: ErrNoPendingClaim", op: "Retract(b, nora)",
			setup: retract("b", func(t *testing.T, e *env) claim.User { return baseFixture(t, e).nora }),
			want:  claim.ErrNoPendingClaim},
		{reason: "R9, H2: an original account has no claim record of its own", op: "Retract(b, original)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				return func() error { return e.svc.Retract(e.ctx, "b", ann.Claim.Original) }
			}, want: claim.ErrNoPendingClaim},
		{reason: "R9, H2: an original account carrying its user's earlier ended claim record is not judged by that record", op: "Retract(c, original of a re-claimed user)",
			setup: func(t *testing.T, e *env) func() error {
				f := baseFixture(t, e)
				e.mustVerify(t, "c", "example.com")
				e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
				mustSignIn(t, e, f.ann.ID)
				mustChoose(t, e, f.ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				e.mustClaim(t, "b", claim.ClaimOptions{}, f.ann.ID)
				orig := e.mustGet(t, f.ann.ID).Claim.Original
				return func() error { return e.svc.Retract(e.ctx, "c", orig) }
			}, want: claim.ErrNoPendingClaim, not: []error{claim.ErrSignedIn, claim.ErrNotClaimant}},
	})
}

func TestRefuseRetractWindowBoundary(t *testing.T) {
	for _, mode := range []string{"immediate", "delayed"} {
		t.Run("R3: "+mode+" claim retractable at 14d-1ns", func(t *testing.T) {
			e := newEnv(t)
			var u claim.User
			if mode == "immediate" {
				_, u = claimedFixture(t, e)
			} else {
				_, u = delayedFixture(t, e)
			}
			e.clock.Advance(window - 1)
			if err := e.svc.Retract(e.ctx, "b", u.ID); err != nil {
				t.Fatalf("Retract() at 14d-1ns = %v, want nil", err)
			}
			if got := e.mustGet(t, u.ID); got.Org == "b" || got.Claim != nil {
				t.Errorf("User() after Retract = org %s, claim %+v; want back in its org, no claim", got.Org, got.Claim)
			}
		})
		t.Run("R3: "+mode+" claim not retractable at exactly 14d", func(t *testing.T) {
			e := newEnv(t)
			var u claim.User
			if mode == "immediate" {
				_, u = claimedFixture(t, e)
			} else {
				_, u = delayedFixture(t, e)
			}
			e.clock.Advance(window)
			before := e.snapshot(t, refusalOrgs...)
			if err := e.svc.Retract(e.ctx, "b", u.ID); !errors.Is(err, claim.ErrRetractWindowClosed) {
				t.Fatalf("Retract() at 14d = %v, want %v", err, claim.ErrRetractWindowClosed)
			}
			e.unchanged(t, before, refusalOrgs...)
		})
	}
	t.Run("R8: Retractable lists the claim at 14d-1ns and not at 14d", func(t *testing.T) {
		e := newEnv(t)
		_, ann := claimedFixture(t, e)
		for _, c := range []struct {
			at   time.Duration
			want int
		}{{window - 1, 1}, {window, 0}} {
			e.clock.Set(t0.Add(c.at))
			n := 0
			for u, err := range e.svc.Retractable(e.ctx, "b") {
				if err != nil {
					t.Fatalf("Retractable() = %v", err)
				}
				if u.ID == ann.ID {
					n++
				}
			}
			if n != c.want {
				t.Errorf("Retractable(b) at claim+%v lists ann %d times, want %d", c.at, n, c.want)
			}
		}
	})
}

// TestRaceRetractSignIn: Retract and SignIn race on a freshly claimed
// user. Either SignIn wins — it signs the user in in the claiming org and
// Retract is refused with ErrSignedIn alone (R2) — or Retract wins — the
// user is back in its old org as before, with no claim and no original,
// and SignIn acts on that user: ErrNotVerified for a Not Verified user,
// Active in the old org for a Verified or Active one.
func TestRaceRetractSignIn(t *testing.T) {
	won := map[string]int{}
	for i := range raceRuns {
		mode := []claim.Mode{claim.Immediate, claim.Delayed}[i%2]
		prev := []claim.State{claim.NotVerified, claim.Verified, claim.Active}[i/2%3]
		r := newRace(t, mode, prev, true)
		e := r.e
		var retractErr, signInErr error
		var signedIn claim.User
		runTogether(
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

// Property tests of retraction (R1–R9): one property per cell of
// the retraction table, R4, R6 and R8. Each property draws the orgs
// (kind, creation date, settings), the user (address, names, content,
// the state reached through the API), licenses and every time interval
// inside its cell, edges included.

// TestRetractAfterClaimIsIdentity is R6 as a property: ClaimUsers of
// several users, some eligible and some not, followed — at a drawn time
// inside the window, after the claimant deactivated or reactivated some of
// them — by the retraction of every claimed user leaves the users of every
// org exactly as before. Before retracting, Retractable lists exactly the
// claimed users (R8).
func TestRetractAfterClaimIsIdentity(t *testing.T) {
	rapidCheck(t, func(t *rapid.T, tb testing.TB) {
		p := populate(t, tb, "b")
		e := p.e
		before := e.snapshot(tb, p.orgs...)
		ids := make([]claim.UserID, len(p.users))
		for i, u := range p.users {
			ids[i] = u.ID
		}
		ids = rapid.Permutation(ids).Draw(t, "claim order")
		res, err := e.svc.ClaimUsers(e.ctx, "b", ids, claim.ClaimOptions{
			Acknowledge:   true,
			ImmediateOnly: rapid.Bool().Draw(t, "ImmediateOnly"),
			Licenses:      rapid.SliceOfNDistinct(rapid.SampledFrom(drawnLicenses), 0, 2, rapid.ID[string]).Draw(t, "claim licenses"),
		})
		if err != nil {
			t.Fatalf("ClaimUsers() = %v", err)
		}
		at := e.clock.Now()
		var claimed []claim.UserID
		for i, r := range res {
			u := p.users[slices.IndexFunc(p.users, func(u claim.User) bool { return u.ID == ids[i] })]
			if want := p.claimable(u, "b"); (r.Err == nil) != want {
				t.Fatalf("ClaimUsers(): %s (%s in %s) err = %v, want claimed: %v", r.Input, u.Email, u.Org, r.Err, want)
			}
			if r.Err == nil {
				claimed = append(claimed, r.User)
			}
		}
		// The claimant acts on some claimed users, none signs in.
		r := drawInWindow(t, "retract after")
		for range rapid.IntRange(0, 3).Draw(t, "claimant actions") {
			if len(claimed) == 0 {
				break
			}
			id := rapid.SampledFrom(claimed).Draw(t, "acted on")
			e.clock.Set(at.Add(drawDur(t, "acts after", 0, r)))
			var err error
			if rapid.Bool().Draw(t, "deactivate") {
				_, err = e.svc.Deactivate(e.ctx, "b", id)
			} else {
				_, err = e.svc.Reactivate(e.ctx, "b", id)
			}
			if err != nil {
				t.Fatalf("claimant action on %s = %v", id, err)
			}
		}
		e.clock.Set(at.Add(r))

		listed := retractableIDs(t, e, "b")
		want := slices.Sorted(slices.Values(claimed))
		if diff := cmp.Diff(want, listed, claimtest.CmpOptions()); diff != "" {
			t.Fatalf("Retractable() (-claimed +listed):\n%s", diff)
		}
		for _, id := range rapid.Permutation(claimed).Draw(t, "retract order") {
			if err := e.svc.Retract(e.ctx, "b", id); err != nil {
				t.Fatalf("Retract(%s) = %v", id, err)
			}
		}
		after := e.snapshot(tb, p.orgs...)
		if diff := cmp.Diff(before.Users, after.Users, claimtest.CmpOptions()); diff != "" {
			t.Fatalf("users after claim and retract (-before +after):\n%s", diff)
		}
	})
}

func TestRetractDelayedInWindow(t *testing.T) { rapidCheck(t, notSignedInInWindow(claim.Delayed)) }

func TestRetractDelayedSignedIn(t *testing.T) { rapidCheck(t, signedInCase(claim.Delayed)) }

func TestRetractDelayedWindowClosed(t *testing.T) {
	rapidCheck(t, notSignedInWindowClosed(claim.Delayed))
}

// TestRetractDomainClaimed is R4 as a property: inside the window, while
// the claimant has claimed the user's domain, Retract is refused with
// ErrDomainClaimed alone; once the claimant releases the domain it
// succeeds and undoes the claim.
func TestRetractDomainClaimed(t *testing.T) {
	rapidCheck(t, func(t *rapid.T, tb testing.TB) {
		mode := rapid.SampledFrom([]claim.Mode{claim.Delayed, claim.Immediate}).Draw(t, "mode")
		c := setupRetract(t, tb, mode, allStates)
		e := c.e
		claimAt := drawInWindow(t, "claim domain after")
		c.setAt(claimAt)
		if err := e.svc.ClaimDomain(e.ctx, c.b, c.domain); err != nil {
			t.Fatalf("ClaimDomain() = %v", err)
		}
		tryAt := drawDur(t, "retract after", claimAt, window-1)
		c.setAt(tryAt)
		c.refused(t, claim.ErrDomainClaimed)
		releaseAt := drawDur(t, "release after", tryAt, window-1)
		c.setAt(releaseAt)
		if err := e.svc.ReleaseDomain(e.ctx, c.b, c.domain); err != nil {
			t.Fatalf("ReleaseDomain() = %v", err)
		}
		c.setAt(drawDur(t, "retract again after", releaseAt, window-1))
		c.retracted(t)
	})
}

func TestRetractImmediateInWindow(t *testing.T) {
	rapidCheck(t, notSignedInInWindow(claim.Immediate))
}

func TestRetractImmediateSignedIn(t *testing.T) { rapidCheck(t, signedInCase(claim.Immediate)) }

func TestRetractImmediateWindowClosed(t *testing.T) {
	rapidCheck(t, notSignedInWindowClosed(claim.Immediate))
}

// TestRetractableListsExactlyRetractable is R8 as a property: two orgs
// claim users at drawn times, some users sign in, the claimant may claim
// the domain, time passes; Retractable(b) then lists exactly the users
// whose claim b made, who have not signed in, whose claim is less than 14
// days old while b does not claim the domain — and Retract(b, u) succeeds
// for exactly those users.
func TestRetractableListsExactlyRetractable(t *testing.T) {
	rapidCheck(t, func(t *rapid.T, tb testing.TB) {
		p := populate(t, tb, "b", "b2")
		e := p.e
		type claimRec struct {
			at       time.Time
			signedIn bool
		}
		byB := map[claim.UserID]*claimRec{}
		var all []claim.UserID
		for _, u := range p.users {
			all = append(all, u.ID)
			claimant := rapid.SampledFrom([]claim.OrgID{"b", "b2"}).Draw(t, "claimant")
			if !p.claimable(u, claimant) || !rapid.Bool().Draw(t, "claim it") {
				continue
			}
			e.clock.Advance(drawDur(t, "pause before claim", 0, 10*24*time.Hour, window-1, window))
			res := e.mustClaim(tb, claimant, claim.ClaimOptions{ImmediateOnly: rapid.Bool().Draw(t, "ImmediateOnly")}, u.ID)
			if claimant == "b" {
				byB[res[0].User] = &claimRec{at: e.clock.Now()}
			}
		}
		for _, id := range all {
			if !rapid.Bool().Draw(t, "signs in") {
				continue
			}
			e.clock.Advance(drawDur(t, "pause before sign-in", 0, 5*24*time.Hour))
			_, err := e.svc.SignIn(e.ctx, id)
			if err == nil && byB[id] != nil && e.clock.Now().Before(byB[id].at.Add(window)) {
				byB[id].signedIn = true
			}
		}
		domainClaimed := rapid.Bool().Draw(t, "b claims d.example")
		if domainClaimed {
			if err := e.svc.ClaimDomain(e.ctx, "b", "d.example"); err != nil {
				t.Fatalf("ClaimDomain() = %v", err)
			}
		}
		e.clock.Advance(drawDur(t, "pause before listing", 0, 20*24*time.Hour, window-1, window))
		now := e.clock.Now()
		var want []claim.UserID
		for id, c := range byB {
			if !c.signedIn && now.Before(c.at.Add(window)) && !domainClaimed {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		listed := retractableIDs(t, e, "b")
		if diff := cmp.Diff(want, listed, claimtest.CmpOptions()); diff != "" {
			t.Fatalf("Retractable() (-want +got):\n%s", diff)
		}
		for _, id := range all {
			err := e.svc.Retract(e.ctx, "b", id)
			if _, ok := slices.BinarySearch(listed, id); ok != (err == nil) {
				t.Fatalf("Retract(%s) = %v, but Retractable lists it: %v", id, err, ok)
			}
		}
	})
}

// retractCase is one user claimed by org b from org a, with a third org c
// that has nothing to do with the claim.
type retractCase struct {
	e       *env
	tb      testing.TB
	a, b, c claim.OrgID
	domain  string
	id      claim.UserID
	email   string
	pre     claim.User // the user just before the claim
	before  world      // users of a, b and c just before the claim
	mode    claim.Mode
	at      time.Time    // when the claim was made
	orig    claim.UserID // the original account
}

// listed reports whether Retractable(b) lists the user.
func (c *retractCase) listed(t *rapid.T) bool {
	found := false
	for u, err := range c.e.svc.Retractable(c.e.ctx, c.b) {
		if err != nil {
			t.Fatalf("Retractable(%s) = %v", c.b, err)
		}
		found = found || u.ID == c.id
	}
	return found
}

// noise runs drawn operations that do not sign the claimed user in, at
// drawn times in [0, until] after the claim: the claimant deactivates or
// reactivates the user, verification, reminders, nudges, sweeps, and the
// source org's attempts on the frozen original (H2).
func (c *retractCase) noise(t *rapid.T, until time.Duration) {
	e := c.e
	ops := rapid.SliceOfN(rapid.SampledFrom([]string{"deactivate", "reactivate", "verify", "remind",
		"nudge", "sweep", "sign in original", "delete original", "claimable"}), 0, 4).Draw(t, "noise")
	offs := make([]time.Duration, len(ops))
	for i := range ops {
		offs[i] = drawDur(t, "noise at", 0, until, window-1, window)
	}
	slices.Sort(offs)
	for i, op := range ops {
		c.setAt(offs[i])
		var err error
		switch op {
		case "deactivate":
			_, err = e.svc.Deactivate(e.ctx, c.b, c.id)
		case "reactivate":
			_, err = e.svc.Reactivate(e.ctx, c.b, c.id)
		case "verify":
			_, err = e.svc.VerifyEmail(e.ctx, c.id)
		case "remind":
			_, err = e.svc.RemindDelayed(e.ctx, c.b)
		case "nudge":
			_, err = e.svc.NudgeUnverified(e.ctx, c.a)
		case "sweep":
			_, err = e.svc.Sweep(e.ctx)
		case "claimable":
			for cand, cerr := range e.svc.Claimable(e.ctx, c.b) {
				if cerr != nil {
					err = cerr
					break
				}
				if cand.User.ID == c.id || cand.User.ID == c.orig {
					t.Fatalf("Claimable(%s) lists %s during its claim (E1, E6)", c.b, cand.User.Email)
				}
			}
		case "sign in original", "delete original":
			if op == "sign in original" {
				_, err = e.svc.SignIn(e.ctx, c.orig)
			} else {
				err = e.svc.DeleteUser(e.ctx, c.a, c.orig)
			}
			want := claim.ErrHeldByClaim // H2
			if c.mode == claim.Delayed && offs[i] >= window {
				want = claim.ErrNotFound // expired: the original is gone (X1, X3)
			}
			if !errors.Is(err, want) {
				t.Fatalf("%s at claim+%v = %v, want %v", op, offs[i], err, want)
			}
			err = nil
		}
		if err != nil {
			t.Fatalf("%s at claim+%v = %v", op, offs[i], err)
		}
	}
}

// nonClaimants checks R1: the source org and a third org get
// ErrNotClaimant and nothing more, and change nothing. The original
// account has no claim record of its own: retracting it is
// ErrNoPendingClaim (R9), or ErrNotFound once an expiry removed it.
func (c *retractCase) nonClaimants(t *rapid.T) {
	before := c.e.snapshot(c.tb, c.a, c.b, c.c)
	for _, org := range []claim.OrgID{c.a, c.c} {
		wantRetractReasons(t, c.e.svc.Retract(c.e.ctx, org, c.id), claim.ErrNotClaimant)
	}
	_, gone := c.e.svc.User(c.e.ctx, c.orig)
	want := claim.ErrNoPendingClaim
	if errors.Is(gone, claim.ErrNotFound) {
		want = claim.ErrNotFound
	}
	if err := c.e.svc.Retract(c.e.ctx, c.b, c.orig); !errors.Is(err, want) {
		t.Fatalf("Retract(original) = %v, want %v", err, want)
	}
	c.e.unchanged(c.tb, before, c.a, c.b, c.c)
}

// refused checks a refused retraction by the claimant: exactly the
// reasons want, the user is not listed as retractable, and nothing
// changed, events included (R7, R8, X3).
func (c *retractCase) refused(t *rapid.T, want ...error) {
	if c.listed(t) {
		t.Fatalf("Retractable(%s) lists %s, whose retraction is refused with %v", c.b, c.id, want)
	}
	before := c.e.snapshot(c.tb, c.a, c.b, c.c)
	wantRetractReasons(t, c.e.svc.Retract(c.e.ctx, c.b, c.id), want...)
	c.e.unchanged(c.tb, before, c.a, c.b, c.c)
}

// retracted checks a successful retraction (R6): the user is exactly as
// before the claim, so are all three orgs' users, the original is gone,
// and the user has no claim record left.
func (c *retractCase) retracted(t *rapid.T) {
	e := c.e
	if !c.listed(t) {
		t.Fatalf("Retractable(%s) does not list %s, which is retractable", c.b, c.id)
	}
	if err := e.svc.Retract(e.ctx, c.b, c.id); err != nil {
		t.Fatalf("Retract() = %v, want nil", err)
	}
	if diff := cmp.Diff(c.pre, e.mustGet(c.tb, c.id), claimtest.CmpOptions()); diff != "" {
		t.Fatalf("user after Retract() (-want +got):\n%s", diff)
	}
	after := e.snapshot(c.tb, c.a, c.b, c.c)
	if diff := cmp.Diff(c.before.Users, after.Users, claimtest.CmpOptions()); diff != "" {
		t.Fatalf("users after Retract() (-before claim +after retract):\n%s", diff)
	}
	if _, err := e.svc.User(e.ctx, c.orig); !errors.Is(err, claim.ErrNotFound) {
		t.Fatalf("User(original) = %v, want ErrNotFound", err)
	}
	if _, err := e.svc.UserByEmail(e.ctx, c.email+claim.OriginalSuffix); !errors.Is(err, claim.ErrNotFound) {
		t.Fatalf("UserByEmail(original address) = %v, want ErrNotFound", err)
	}
	if err := e.svc.Retract(e.ctx, c.b, c.id); !errors.Is(err, claim.ErrNoPendingClaim) {
		t.Fatalf("second Retract() = %v, want ErrNoPendingClaim (R9)", err)
	}
	if c.listed(t) {
		t.Fatalf("Retractable(%s) lists %s after its retraction", c.b, c.id)
	}
}

// at sets the clock to d after the claim.
func (c *retractCase) setAt(d time.Duration) { c.e.clock.Set(c.at.Add(d)) }

// drawInWindow draws "less than 14 days": [0, 14d-1ns].
func drawInWindow(t *rapid.T, label string) time.Duration { return drawDur(t, label, 0, window-1) }

const maxDelay = 60 * 24 * time.Hour // the latest retraction drawn: 60 days after the claim

// notSignedInInWindow is the "Yes" cell: not signed in, less than 14
// days since the claim. Retract succeeds and undoes the claim.
func notSignedInInWindow(mode claim.Mode) func(*rapid.T, testing.TB) {
	return func(t *rapid.T, tb testing.TB) {
		c := setupRetract(t, tb, mode, allStates)
		r := drawInWindow(t, "retract after")
		c.noise(t, r)
		c.setAt(r)
		c.nonClaimants(t)
		c.retracted(t)
	}
}

// notSignedInWindowClosed is the "14 days or more" cell: No,
// ErrRetractWindowClosed (and ErrDomainClaimed when the claimant has
// claimed the domain). A delayed claim has expired by then: its content
// has migrated whether or not a sweep ran.
func notSignedInWindowClosed(mode claim.Mode) func(*rapid.T, testing.TB) {
	return func(t *rapid.T, tb testing.TB) {
		c := setupRetract(t, tb, mode, allStates)
		r := drawWindowOrMore(t, "retract after")
		c.noise(t, r)
		c.setAt(r)
		if mode == claim.Delayed {
			if rapid.Bool().Draw(t, "sweep first") {
				if _, err := c.e.svc.Sweep(c.e.ctx); err != nil {
					t.Fatalf("Sweep() = %v", err)
				}
			}
			u := c.e.mustGet(tb, c.id)
			if u.Claim != nil || u.Org != c.b || u.Content != c.pre.Content {
				t.Fatalf("delayed claim %v after the claim: user = %+v, want it expired in %s with content %d (X1)", r, u, c.b, c.pre.Content)
			}
		} else if u := c.e.mustGet(tb, c.id); u.Claim == nil {
			t.Fatalf("immediate claim %v after the claim has no claim: it never expires (X2)", r)
		}
		want := []error{claim.ErrRetractWindowClosed}
		if rapid.Bool().Draw(t, "claimant claims the domain") {
			if err := c.e.svc.ClaimDomain(c.e.ctx, c.b, c.domain); err != nil {
				t.Fatalf("ClaimDomain() = %v", err)
			}
			want = append(want, claim.ErrDomainClaimed)
		}
		c.nonClaimants(t)
		c.refused(t, want...)
	}
}

// populate draws users into a1 (an old Individual org: delayed-eligible),
// a2 (any kind), sso (an org with SSO: ineligible, E4), p0 (an org that
// claims some of them first: see rpHistory) and the claimants themselves
// (E1), on domain "d.example", which the claimants have verified, or
// "u.example", which they have not (E2). Each user's state is reached
// through the API.
func populate(t *rapid.T, tb testing.TB, claimants ...claim.OrgID) *population {
	return populateOn(t, tb, claim.NewMemoryStore(), claimants...)
}

// retractableIDs returns the IDs Retractable(org) lists, sorted.
func retractableIDs(t *rapid.T, e *env, org claim.OrgID) []claim.UserID {
	var ids []claim.UserID
	for u, err := range e.svc.Retractable(e.ctx, org) {
		if err != nil {
			t.Fatalf("Retractable(%s) = %v", org, err)
		}
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	return ids
}

// setupRetract draws the orgs and the user and makes the claim, of the given
// mode. states are the pre-claim states to draw from, in the order
// NotVerified, Verified, Active[, Inactive].
func setupRetract(t *rapid.T, tb testing.TB, mode claim.Mode, states []claim.State) *retractCase {
	e := newEnv(tb, noPurge())
	e.clock.Set(t0.Add(drawDur(t, "start", 0, 2*365*24*time.Hour)))
	c := &retractCase{e: e, tb: tb, a: "a", b: "b", c: "c", mode: mode}
	c.domain = rapid.SampledFrom(drawnDomains).Draw(t, "domain")

	// The mode: Delayed needs an old Individual source org, a claiming org
	// that allows content migration and no ImmediateOnly (M1, M2).
	kind := sourceIndividualOld
	allow, immediateOnly := true, false
	if mode == claim.Immediate {
		kind = rapid.SampledFrom([]sourceKind{sourceIndividualOld, sourceIndividualNew, sourceEnterprise, sourceConsumer}).Draw(t, "source kind")
		allow = rapid.Bool().Draw(t, "AllowContentMigration")
		immediateOnly = rapid.Bool().Draw(t, "ImmediateOnly")
		if kind == sourceIndividualOld && allow && !immediateOnly {
			if rapid.Bool().Draw(t, "immediate by ImmediateOnly") {
				immediateOnly = true
			} else {
				allow = false
			}
		}
	}
	drawOrg(t, e, tb, c.a, kind, drawSettings(t, "source", rapid.Bool().Draw(t, "source AllowContentMigration")))
	bKind := rapid.SampledFrom([]sourceKind{sourceEnterprise, sourceIndividualNew, sourceIndividualOld}).Draw(t, "claimant kind")
	drawOrg(t, e, tb, c.b, bKind, drawSettings(t, "claimant", allow))
	drawOrg(t, e, tb, c.c, sourceEnterprise, drawSettings(t, "third", rapid.Bool().Draw(t, "third AllowContentMigration")))
	e.mustVerify(tb, c.b, c.domain)
	if rapid.Bool().Draw(t, "third org verifies the domain") {
		e.mustVerify(tb, c.c, c.domain)
	}
	aVerified := rapid.Bool().Draw(t, "source org verifies the domain")
	if aVerified {
		e.mustVerify(tb, c.a, c.domain)
	}

	// Bystanders in every org, so that "both orgs exactly as before" has
	// something to compare.
	// Their addresses have a dot, which the claimed user's never has, and
	// they are verified, so that nudging the source org (a noise step)
	// changes none of them.
	for i := range rapid.IntRange(0, 3).Draw(t, "bystanders") {
		org := rapid.SampledFrom([]claim.OrgID{c.a, c.b, c.c}).Draw(t, "bystander org")
		by := e.mustUser(tb, org, "by."+string(rune('a'+i))+"@"+c.domain, rapid.IntRange(0, 50).Draw(t, "bystander content"))
		if _, err := e.svc.VerifyEmail(e.ctx, by.ID); err != nil {
			t.Fatalf("VerifyEmail(bystander) = %v", err)
		}
	}

	c.email = rapid.StringMatching(`[a-zA-Z][a-zA-Z0-9_-]{0,15}`).Draw(t, "local part") + "@" + c.domain
	u := drawPreClaimUser(t, c, c.email, states, aVerified)
	c.id, c.email = u.ID, u.Email
	e.clock.Advance(drawDur(t, "pause before claim", 0, 30*24*time.Hour))

	c.pre = e.mustGet(tb, c.id)
	c.before = e.snapshot(tb, c.a, c.b, c.c)
	opts := claim.ClaimOptions{
		ImmediateOnly: immediateOnly,
		Licenses:      rapid.SliceOfNDistinct(rapid.SampledFrom(drawnLicenses), 0, 2, rapid.ID[string]).Draw(t, "claim licenses"),
	}
	res := e.mustClaim(tb, c.b, opts, c.id)
	if res[0].Mode != mode {
		t.Fatalf("ClaimUsers() mode = %v, want %v", res[0].Mode, mode)
	}
	c.at = e.clock.Now()
	o, err := e.svc.UserByEmail(e.ctx, c.email+claim.OriginalSuffix)
	if err != nil || o.HeldBy != c.b || o.Org != c.a {
		t.Fatalf("original account = %+v, %v; want one in %s held by %s", o, err, c.a, c.b)
	}
	c.orig = o.ID
	return c
}

// signedInCase is the "signed in (and chosen)" cell: the user signs in at a
// drawn time inside the window, may choose, and the claimant retracts at
// any time after: No, ErrSignedIn, with ErrRetractWindowClosed from 14
// days on and ErrDomainClaimed when the claimant has claimed the domain.
// A user immediately claimed while Inactive stays Inactive and cannot sign
// in (U4), so the claimant reactivates it first; a delayed-claimed one is
// in Delayed Claim and signs in (I1).
func signedInCase(mode claim.Mode) func(*rapid.T, testing.TB) {
	return func(t *rapid.T, tb testing.TB) {
		c := setupRetract(t, tb, mode, allStates)
		e := c.e
		s := drawInWindow(t, "sign in after")
		c.setAt(s)
		if c.pre.State == claim.Inactive {
			if _, err := e.svc.Reactivate(e.ctx, c.b, c.id); err != nil {
				t.Fatalf("Reactivate() = %v", err)
			}
		}
		u, err := e.svc.SignIn(e.ctx, c.id)
		if err != nil {
			t.Fatalf("SignIn() = %v", err)
		}
		if u.Claim == nil || !u.Claim.SignedIn {
			t.Fatalf("SignIn() claim = %+v, want signed in (I1)", u.Claim)
		}
		lo := s
		if rapid.Bool().Draw(t, "chooses") {
			hi := maxDelay
			if mode == claim.Delayed {
				hi = window - 1 // a delayed claim expires at its deadline
			}
			ch := rapid.SampledFrom(choicesByMode[mode]).Draw(t, "choice")
			lo = drawDur(t, "choose after", s, hi, window-1, window)
			c.setAt(lo)
			choice := claim.Choice{Action: ch}
			if ch == claim.ChangeEmail {
				choice.NewEmail = "kept-" + c.email[:len(c.email)-len(c.domain)-1] + "@elsewhere.test"
			}
			if _, err := e.svc.Choose(e.ctx, c.id, choice); err != nil {
				t.Fatalf("Choose(%v) = %v", ch, err)
			}
		}
		r := drawDur(t, "retract after", lo, maxDelay, window-1, window)
		c.setAt(r)
		want := []error{claim.ErrSignedIn}
		if r >= window {
			want = append(want, claim.ErrRetractWindowClosed)
		}
		if rapid.Bool().Draw(t, "claimant claims the domain") {
			if err := e.svc.ClaimDomain(e.ctx, c.b, c.domain); err != nil {
				t.Fatalf("ClaimDomain() = %v", err)
			}
			want = append(want, claim.ErrDomainClaimed)
		}
		c.nonClaimants(t)
		c.refused(t, want...)
	}
}

// rpUserState draws a pre-claim state among states and brings a new user
// of c.a there through the API (AddUser, VerifyEmail, SignIn,
// Deactivate), with drawn pauses between the steps.
func drawPreClaimUser(t *rapid.T, c *retractCase, email string, states []claim.State, aVerified bool) claim.User {
	e, tb := c.e, c.tb
	pause := func(label string) { e.clock.Advance(drawDur(t, label, 0, 30*24*time.Hour)) }
	if aVerified {
		states = slices.DeleteFunc(slices.Clone(states), func(s claim.State) bool { return s == claim.NotVerified })
	}
	want := rapid.SampledFrom(states).Draw(t, "state before claim")
	u, err := e.svc.AddUser(e.ctx, c.a, claim.NewUser{
		Email:       email,
		FirstName:   rapid.StringMatching(`[A-Za-z ]{0,8}`).Draw(t, "first name"),
		LastName:    rapid.StringMatching(`[A-Za-z ]{0,8}`).Draw(t, "last name"),
		DisplayName: rapid.StringMatching(`[A-Za-z ]{0,12}`).Draw(t, "display name"),
		Content:     rapid.IntRange(0, 10000).Draw(t, "content"),
	})
	if err != nil {
		t.Fatalf("AddUser(%s) = %v", email, err)
	}
	base := want
	if want == claim.Inactive {
		base = rapid.SampledFrom(states[:len(states)-1]).Draw(t, "state before deactivation")
	}
	if base != claim.NotVerified && u.State == claim.NotVerified {
		pause("pause before VerifyEmail")
		if u, err = e.svc.VerifyEmail(e.ctx, u.ID); err != nil {
			t.Fatalf("VerifyEmail() = %v", err)
		}
	}
	if base == claim.Active {
		pause("pause before SignIn")
		if u, err = e.svc.SignIn(e.ctx, u.ID); err != nil {
			t.Fatalf("SignIn() = %v", err)
		}
	}
	if want == claim.Inactive {
		pause("pause before Deactivate")
		if u, err = e.svc.Deactivate(e.ctx, c.a, u.ID); err != nil {
			t.Fatalf("Deactivate() = %v", err)
		}
	}
	if u.State != want {
		t.Fatalf("user reached state %v, want %v", u.State, want)
	}
	return e.mustGet(tb, u.ID)
}

// wantRetractReasons fails unless err is a *claim.RetractError with exactly
// the reasons want, in that order (R7).
func wantRetractReasons(t *rapid.T, err error, want ...error) {
	var re *claim.RetractError
	if !errors.As(err, &re) {
		t.Fatalf("Retract() = %v, want a *RetractError with %v", err, want)
	}
	if !slices.Equal(re.Reasons, want) {
		t.Fatalf("Retract() reasons = %v, want %v", re.Reasons, want)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Fatalf("errors.Is(Retract(), %v) = false", w)
		}
	}
}

// drawWindowOrMore draws "14 days or more": [14d, 60d].
func drawWindowOrMore(t *rapid.T, label string) time.Duration {
	return drawDur(t, label, window, maxDelay, window+1)
}
