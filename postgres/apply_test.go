package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
)

// TestApplyRunsKeepEveryColumn writes users with BulkTx.Apply as runs
// (creates, then updates of the users the transaction has read, each a
// statement over arrays) and reads them back: every column of every user
// comes back as written, whatever number of licenses each has (none,
// one, several, spelled with the characters an SQL array literal quotes),
// with or without a claim and with zero and non-zero times.
func TestApplyRunsKeepEveryColumn(t *testing.T) {
	s, _ := newStore(t)
	var round int
	rapid.Check(t, func(rt *rapid.T) {
		round++
		n := rapid.IntRange(1, 12).Draw(rt, "users")
		gen := func(label string) []claim.User {
			us := make([]claim.User, n)
			for i := range us {
				us[i] = drawUser(rt, fmt.Sprintf("%s%d", label, i), fmt.Sprintf("r%d-u%d@x.example", round, i),
					fmt.Sprintf("usr_r%d_%d", round, i))
			}
			return us
		}
		created, updated := gen("create"), gen("update")
		writes := func(op claim.WriteOp, us []claim.User) []claim.Write {
			ws := make([]claim.Write, len(us))
			for i, u := range us {
				ws[i] = claim.Write{Op: op, User: u}
			}
			return ws
		}
		for _, step := range []struct {
			op   claim.WriteOp
			want []claim.User
		}{{claim.WriteCreateUser, created}, {claim.WriteUpdateUser, updated}} {
			err := s.Update(t.Context(), func(tx claim.Tx) error {
				for _, u := range step.want { // read first: an update of a user read goes in a run
					if _, err := tx.User(u.ID); err != nil && step.op == claim.WriteUpdateUser {
						return err
					}
				}
				return tx.(claim.BulkTx).Apply(writes(step.op, step.want))
			})
			if err != nil {
				rt.Fatalf("Apply(%v) = %v", step.op, err)
			}
			mustViewRapid(rt, s, func(tx claim.Tx) error {
				for _, want := range step.want {
					got, err := tx.User(want.ID)
					if err != nil {
						return err
					}
					if d := cmp.Diff(want, got); d != "" {
						rt.Errorf("user %s after Apply(%v), -written +read:\n%s", want.ID, step.op, d)
					}
				}
				return nil
			})
		}
	})
}

// drawUser draws a storable user with the ID and address.
func drawUser(rt *rapid.T, label, email, id string) claim.User {
	anyTime := func(name string) time.Time {
		if rapid.Bool().Draw(rt, name+"Zero") {
			return time.Time{}
		}
		return time.Unix(0, rapid.Int64Range(-1<<60, 1<<60).Draw(rt, name)).UTC()
	}
	license := rapid.SampledFrom([]string{"a", "b,c", `"q"`, "{x}", "NULL", "", " s ", `back\slash`, "ü"})
	var lics []string
	if k := rapid.IntRange(0, 4).Draw(rt, label+"Licenses"); k > 0 {
		lics = rapid.SliceOfN(license, k, k).Draw(rt, label+"License")
	}
	u := claim.User{ID: claim.UserID(id), Email: email, FirstName: "F", LastName: label, DisplayName: "D",
		Org: "o", State: claim.State(rapid.IntRange(1, 5).Draw(rt, label+"State")), Licenses: lics,
		Content:   rapid.IntRange(0, 1<<40).Draw(rt, label+"Content"),
		CreatedAt: anyTime(label + "Created"), LastSignIn: anyTime(label + "SignIn"),
		InactiveSince: anyTime(label + "Inactive"), ActivationSent: anyTime(label + "Activation")}
	if rapid.Bool().Draw(rt, label+"Held") {
		u.HeldBy = "h"
	}
	if rapid.Bool().Draw(rt, label+"Claim") {
		u.Claim = &claim.ClaimInfo{By: "b", From: "f", Mode: claim.Mode(rapid.IntRange(1, 2).Draw(rt, label+"Mode")),
			PrevState: claim.State(rapid.IntRange(1, 5).Draw(rt, label+"Prev")), At: anyTime(label + "At"),
			Deadline: anyTime(label + "Deadline"), SignedIn: rapid.Bool().Draw(rt, label+"SignedIn"),
			Original: "usr_orig", Ended: anyTime(label + "Ended"),
			Outcome: claim.Action(rapid.IntRange(0, 3).Draw(rt, label+"Outcome"))}
	}
	return u
}

// mustViewRapid runs fn in a View, failing rt on an error.
func mustViewRapid(rt *rapid.T, s claim.Store, fn func(tx claim.Tx) error) {
	if err := s.View(rt.Context(), fn); err != nil {
		rt.Fatalf("View() = %v", err)
	}
}
