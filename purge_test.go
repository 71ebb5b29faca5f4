package claim_test

import (
	"errors"
	"testing"
	"time"

	"github.com/claimkit/claim"
)

const purgeAfter = 30 * 24 * time.Hour

// TestPurgeTiming: a user Inactive for 30 days minus a second is kept; at
// exactly 30 days the sweep purges it with its content (Y4, C5); a
// reactivated user's clock starts again.
func TestPurgeTiming(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "a", claim.Enterprise, t0, claim.Settings{})
	ann := e.mustActive(t, "a", "ann@example.com", 7)
	bob := e.mustActive(t, "a", "bob@example.com", 0)
	for _, id := range []claim.UserID{ann.ID, bob.ID} {
		if _, err := e.svc.Deactivate(e.ctx, "a", id); err != nil {
			t.Fatalf("Deactivate() = %v", err)
		}
	}
	// Bob comes back after 10 days and leaves again: his clock restarts.
	e.clock.Advance(10 * 24 * time.Hour)
	if _, err := e.svc.Reactivate(e.ctx, "a", bob.ID); err != nil {
		t.Fatalf("Reactivate() = %v", err)
	}
	if _, err := e.svc.Deactivate(e.ctx, "a", bob.ID); err != nil {
		t.Fatalf("Deactivate() = %v", err)
	}

	e.clock.Set(t0.Add(purgeAfter - time.Second))
	rep, err := e.svc.Sweep(e.ctx)
	if err != nil || rep != (claim.SweepReport{}) {
		t.Fatalf("Sweep() at 30d-1s = %+v, %v; want nothing done", rep, err)
	}
	if _, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "ann@example.com"}); !errors.Is(err, claim.ErrEmailTaken) {
		t.Errorf("AddUser(ann) before the purge = %v, want %v: the address stays taken (Y4)", err, claim.ErrEmailTaken)
	}

	e.clock.Set(t0.Add(purgeAfter))
	seq := e.lastSeq(t)
	rep, err = e.svc.Sweep(e.ctx)
	if err != nil || rep != (claim.SweepReport{Purged: 1}) {
		t.Fatalf("Sweep() at 30d = %+v, %v; want Purged 1", rep, err)
	}
	if _, err := e.svc.User(e.ctx, ann.ID); !errors.Is(err, claim.ErrNotFound) {
		t.Errorf("User(ann) after the purge = %v, want %v", err, claim.ErrNotFound)
	}
	if got := e.mustGet(t, bob.ID); got.State != claim.Inactive {
		t.Errorf("bob = %v, want Inactive (his clock restarted on reactivation)", got.State)
	}
	var types []string
	for ev, err := range e.svc.Events(e.ctx, seq) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
		if ev.Type == claim.EventContentDeleted && (ev.Content != 7 || ev.User != ann.ID) {
			t.Errorf("content.deleted = %+v, want 7 items of ann", ev)
		}
	}
	if want := []string{claim.EventUserPurged, claim.EventContentDeleted}; !equalStrings(types, want) {
		t.Errorf("events of the purge = %v, want %v", types, want)
	}

	e.clock.Set(t0.Add(10*24*time.Hour + purgeAfter - time.Second))
	if rep, err := e.svc.Sweep(e.ctx); err != nil || rep != (claim.SweepReport{}) {
		t.Errorf("Sweep() at bob's 30 days minus a second = %+v, %v; want nothing done", rep, err)
	}
	e.clock.Set(t0.Add(10*24*time.Hour + purgeAfter))
	if rep, err := e.svc.Sweep(e.ctx); err != nil || rep.Purged != 1 {
		t.Errorf("Sweep() at bob's 30 days = %+v, %v; want Purged 1", rep, err)
	}
	if rep, err := e.svc.Sweep(e.ctx); err != nil || rep != (claim.SweepReport{}) {
		t.Errorf("second Sweep() = %+v, %v; want nothing (idempotent)", rep, err)
	}
}

// TestPurgeClaims: a held original is never purged (H2); purging a
// claimed user whose immediate claim is still pending releases its
// original with its address and content (P2).
func TestPurgeClaims(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "b", claim.Enterprise, t0, claim.Settings{})
	e.mustVerify(t, "b", "example.com")
	e.mustOrg(t, "a", claim.Enterprise, t0, claim.Settings{})
	ann := e.mustActive(t, "a", "ann@example.com", 5)
	if _, err := e.svc.Deactivate(e.ctx, "a", ann.ID); err != nil {
		t.Fatalf("Deactivate() = %v", err)
	}
	e.mustClaim(t, "b", claim.ClaimOptions{}, ann.ID) // immediate: stays Inactive, original Inactive and held
	orig, err := e.svc.UserByEmail(e.ctx, "ann@example.com"+claim.OriginalSuffix)
	if err != nil || orig.State != claim.Inactive {
		t.Fatalf("original = %+v, %v; want an Inactive original", orig, err)
	}

	e.clock.Set(t0.Add(3 * purgeAfter))
	rep, err := e.svc.Sweep(e.ctx)
	if err != nil || rep != (claim.SweepReport{Purged: 1}) {
		t.Fatalf("Sweep() = %+v, %v; want Purged 1 (the claimed user, not its held original)", rep, err)
	}
	got, err := e.svc.User(e.ctx, orig.ID)
	if err != nil {
		t.Fatalf("User(original) after the purge = %v; want it released (P2)", err)
	}
	if got.Email != "ann@example.com" || got.HeldBy != "" || got.Org != "a" || got.Content != 5 || got.State != claim.Inactive {
		t.Errorf("released original = %+v; want ann@example.com in a, not held, 5 items, Inactive", got)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
