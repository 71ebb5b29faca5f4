package claim_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/claimkit/claim"
)

// --- Section 9: retraction (R1–R9) ---

func TestRefuseRetract(t *testing.T) {
	// claimed builds ann claimed by b, then applies the conditions.
	type cond struct{ signedIn, windowClosed, domainClaimed bool }
	claimed := func(c cond) func(t *testing.T, e *env) claim.User {
		return func(t *testing.T, e *env) claim.User {
			_, ann := rfClaimed(t, e)
			if c.signedIn {
				rfMustSignIn(t, e, ann.ID)
			}
			if c.domainClaimed {
				rfMustClaimDomain(t, e, "b", "example.com")
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
	rfRun(t, []rfCase{
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
				_, ivy := rfDelayed(t, e)
				e.clock.Advance(window)
				return ivy
			}), want: claim.ErrNotClaimant, not: others, retract: []error{claim.ErrNotClaimant}},
		{reason: "R2: not after the user signed in", op: "Retract(b, ann) signed in",
			setup: retract("b", claimed(cond{signedIn: true})), want: claim.ErrSignedIn, retract: []error{claim.ErrSignedIn}},
		{reason: "R2: not after a delayed-claimed user signed in", op: "Retract(b, ivy) signed in",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
				rfMustSignIn(t, e, ivy.ID)
				return ivy
			}), want: claim.ErrSignedIn, retract: []error{claim.ErrSignedIn}},
		{reason: "R3: not at claim time + 14 days (immediate claim)", op: "Retract(b, ann) at 14d",
			setup: retract("b", claimed(cond{windowClosed: true})), want: claim.ErrRetractWindowClosed, retract: []error{claim.ErrRetractWindowClosed}},
		{reason: "R3, R9: not at claim time + 14 days (delayed claim, expired, not yet swept)", op: "Retract(b, ivy) at 14d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
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
				rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				return ann
			}), want: claim.ErrSignedIn, not: []error{claim.ErrNoPendingClaim}, retract: []error{claim.ErrSignedIn}},
		{reason: "R9: a chosen claim past its window reports both reasons", op: "Retract(b, ann) after ChangeEmail at 20d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{signedIn: true})(t, e)
				rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann.old@example.com"})
				e.clock.Advance(20 * 24 * time.Hour)
				return ann
			}), want: claim.ErrSignedIn, also: []error{claim.ErrRetractWindowClosed},
			retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
		{reason: "R9: a delayed claim ended by expiry and swept: the window is closed", op: "Retract(b, ivy) after Sweep",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
				e.clock.Advance(window)
				if rep, err := e.svc.Sweep(e.ctx); err != nil || rep.Expired != 1 {
					t.Fatalf("Sweep() = %+v, %v; want 1 expired", rep, err)
				}
				return ivy
			}), want: claim.ErrRetractWindowClosed, not: []error{claim.ErrNoPendingClaim, claim.ErrSignedIn},
			retract: []error{claim.ErrRetractWindowClosed}},
		{reason: "R9: a delayed claim signed in and then expired reports both reasons", op: "Retract(b, ivy) signed in, at 14d",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				_, ivy := rfDelayed(t, e)
				rfMustSignIn(t, e, ivy.ID)
				e.clock.Advance(window)
				return ivy
			}), want: claim.ErrSignedIn, also: []error{claim.ErrRetractWindowClosed},
			retract: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
		{reason: "R9: an ended claim made by another org is ErrNotClaimant", op: "Retract(c, ann) after DeleteOriginal",
			setup: retract("c", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{signedIn: true})(t, e)
				rfMustChoose(t, e, ann.ID, claim.Choice{Action: claim.DeleteOriginal})
				return ann
			}), want: claim.ErrNotClaimant, not: []error{claim.ErrSignedIn}, retract: []error{claim.ErrNotClaimant}},
		{reason: "R9: a retracted claim leaves no record: ErrNoPendingClaim", op: "Retract(b, ann) twice",
			setup: retract("b", func(t *testing.T, e *env) claim.User {
				ann := claimed(cond{})(t, e)
				rfMustRetract(t, e, "b", ann.ID)
				return ann
			}), want: claim.ErrNoPendingClaim},
		{reason: "R9: a never-claimed user: ErrNoPendingClaim", op: "Retract(b, nora)",
			setup: retract("b", func(t *testing.T, e *env) claim.User { return rfBase(t, e).nora }),
			want:  claim.ErrNoPendingClaim},
		{reason: "R9, H2: an original account has no claim record of its own", op: "Retract(b, original)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				return func() error { return e.svc.Retract(e.ctx, "b", ann.Claim.Original) }
			}, want: claim.ErrNoPendingClaim},
		{reason: "R9, H2: an original account carrying its user's earlier ended claim record is not judged by that record", op: "Retract(c, original of a re-claimed user)",
			setup: func(t *testing.T, e *env) func() error {
				f := rfBase(t, e)
				e.mustVerify(t, "c", "example.com")
				e.mustClaim(t, "c", claim.ClaimOptions{}, f.ann.ID)
				rfMustSignIn(t, e, f.ann.ID)
				rfMustChoose(t, e, f.ann.ID, claim.Choice{Action: claim.DeleteOriginal})
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
				_, u = rfClaimed(t, e)
			} else {
				_, u = rfDelayed(t, e)
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
				_, u = rfClaimed(t, e)
			} else {
				_, u = rfDelayed(t, e)
			}
			e.clock.Advance(window)
			before := e.snapshot(t, rfOrgs...)
			if err := e.svc.Retract(e.ctx, "b", u.ID); !errors.Is(err, claim.ErrRetractWindowClosed) {
				t.Fatalf("Retract() at 14d = %v, want %v", err, claim.ErrRetractWindowClosed)
			}
			e.unchanged(t, before, rfOrgs...)
		})
	}
	t.Run("R8: Retractable lists the claim at 14d-1ns and not at 14d", func(t *testing.T) {
		e := newEnv(t)
		_, ann := rfClaimed(t, e)
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
