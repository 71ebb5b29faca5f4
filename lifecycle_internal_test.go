package claim

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lifecycleFields are the fields of a user that only apply sets: its
// state, its claim record and the dates that follow them.
var lifecycleFields = map[string]bool{
	"State": true, "Claim": true, "InactiveSince": true, "LastSignIn": true,
	"SignedIn": true, "Ended": true, "Outcome": true,
}

// applyExempt are the places outside lifecycle.go that may still set
// them, and why: the memory store copies records it keeps, and public
// is the view callers get, with an ended claim hidden.
var applyExempt = map[string]string{
	"memstore.go": "the store's deep copy of a record",
	"public":      "the callers' view of a user, not a change",
}

// TestOneApply: no non-test file of the package but lifecycle.go assigns
// a user's lifecycle fields or builds a ClaimInfo, so that every state
// change goes through apply and its two tables. It reads the package's
// source.
func TestOneApply(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "lifecycle.go" || applyExempt[name] != "" {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || applyExempt[fn.Name.Name] != "" {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					for _, l := range n.Lhs {
						if sel, ok := l.(*ast.SelectorExpr); ok && lifecycleFields[sel.Sel.Name] {
							t.Errorf("%s: %s sets %s outside apply", fset.Position(n.Pos()), fn.Name.Name, sel.Sel.Name)
						}
					}
				case *ast.CompositeLit:
					if id, ok := n.Type.(*ast.Ident); ok && id.Name == "ClaimInfo" {
						t.Errorf("%s: %s builds a ClaimInfo outside apply", fset.Position(n.Pos()), fn.Name.Name)
					}
				}
				return true
			})
		}
	}
	if checked < 20 {
		t.Errorf("read %d files; want the package's", checked)
	}
}

// TestApply runs each kind of step through apply and compares the whole
// outcome: the record, whether it changed, the events, the refusal.
func TestApply(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	verified := User{ID: "u", Email: "ann@b.example", Org: "a", State: Verified, Content: 3, Licenses: []string{"a-lic"}}
	orig := verified
	orig.ID, orig.Email, orig.HeldBy = "o", verified.Email+OriginalSuffix, "b"
	pending := func(mode Mode, signedIn bool, prev State) *ClaimInfo {
		return &ClaimInfo{By: "b", From: "a", Mode: mode, PrevState: prev, At: now.Add(-day), Deadline: now.Add(13 * day), SignedIn: signedIn, Original: "o"}
	}
	claimed := func(st State, c *ClaimInfo) User {
		u := verified
		u.Org, u.State, u.Claim, u.Content, u.Licenses = "b", st, c, 0, []string{"b-lic"}
		return u
	}
	with := func(u User, fn func(*User)) User { fn(&u); return u }
	ended := func(c *ClaimInfo, at time.Time, a Action) *ClaimInfo {
		e := *c
		e.Ended, e.Outcome = at, a
		return &e
	}
	for _, tc := range []struct {
		name    string
		u       User
		s       step
		want    User
		changed bool
		events  []Event
		err     error
	}{{
		name:    "delayed claim (K6)",
		u:       verified,
		s:       step{on: onClaimDelayed, by: "b", licenses: []string{"b-lic"}, original: orig, window: 14 * day},
		want:    claimed(DelayedClaim, &ClaimInfo{By: "b", From: "a", Mode: Delayed, PrevState: Verified, At: now, Deadline: now.Add(14 * day), Original: "o"}),
		changed: true,
		events: []Event{{Type: EventClaimCreated, Org: "b", From: "a", User: "u", Mode: Delayed},
			{Type: EventNotifyClaim, Org: "b", From: "a", User: "u", Mode: Delayed, Recipient: "ann@b.example"}},
	}, {
		name:    "sign in during a claim (I1, U4)",
		u:       claimed(DelayedClaim, pending(Delayed, false, Verified)),
		s:       step{on: onSignIn},
		want:    with(claimed(DelayedClaim, pending(Delayed, true, Verified)), func(u *User) { u.LastSignIn = now }),
		changed: true,
		events:  []Event{{Type: EventUserSignedIn, Org: "b", User: "u", Detail: "Delayed Claim"}},
	}, {
		name: "a choice before signing in is refused (C6)",
		u:    claimed(DelayedClaim, pending(Delayed, false, Verified)),
		s:    step{on: onChoose, action: DeleteOriginal},
		want: claimed(DelayedClaim, pending(Delayed, false, Verified)),
		err:  ErrChoiceNotAllowed,
	}, {
		name:    "a choice ends the claim (C6)",
		u:       claimed(DelayedClaim, pending(Delayed, true, Verified)),
		s:       step{on: onChoose, action: DeleteOriginal},
		want:    claimed(Active, ended(pending(Delayed, true, Verified), now, DeleteOriginal)),
		changed: true,
		events:  []Event{{Type: EventClaimResolved, Org: "b", From: "a", User: "u", Mode: Delayed, Action: DeleteOriginal}},
	}, {
		name: "expiry of an Inactive user's claim: its clock goes on (X1, Y4)",
		u:    claimed(DelayedClaim, pending(Delayed, false, Inactive)),
		s:    step{on: onExpire, original: with(orig, func(u *User) { u.State, u.InactiveSince, u.Content = Inactive, now.Add(-40*day), 5 })},
		want: with(claimed(Inactive, ended(pending(Delayed, false, Inactive), now.Add(13*day), MigrateContent)), func(u *User) {
			u.InactiveSince, u.Content = now.Add(-40*day), 5
		}),
		changed: true,
		events:  []Event{{Type: EventClaimExpired, Org: "b", From: "a", User: "u", Mode: Delayed, Action: MigrateContent}},
	}, {
		name:    "retraction restores the original (R6)",
		u:       with(claimed(DelayedClaim, pending(Delayed, false, Verified)), func(u *User) { u.Content = 2 }),
		s:       step{on: onRetract, original: orig},
		want:    with(verified, func(u *User) { u.Content = 5 }),
		changed: true,
		events: []Event{{Type: EventClaimRetracted, Org: "b", From: "a", User: "u", Mode: Delayed},
			{Type: EventOriginalReleased, Org: "a", From: "b", User: "u", Recipient: "ann@b.example"}},
	}, {
		name: "a retraction after signing in is refused (R7)",
		u:    claimed(DelayedClaim, pending(Delayed, true, Verified)),
		s:    step{on: onRetract, original: orig},
		want: claimed(DelayedClaim, pending(Delayed, true, Verified)),
		err:  ErrSignedIn,
	}, {
		name:    "the original's org deleted: the claim ends, the state stays (X2)",
		u:       claimed(Verified, pending(Immediate, false, Verified)),
		s:       step{on: onOrgDeleted, action: DeleteOriginal},
		want:    claimed(Verified, ended(pending(Immediate, false, Verified), now, DeleteOriginal)),
		changed: true,
		events: []Event{{Type: EventClaimResolved, Org: "b", From: "a", User: "u", Mode: Immediate, Action: DeleteOriginal,
			Detail: "the original account's organization was deleted"}},
	}, {
		name:    "deactivation starts the clock (U5)",
		u:       verified,
		s:       step{on: onDeactivate},
		want:    with(verified, func(u *User) { u.State, u.InactiveSince = Inactive, now }),
		changed: true,
		events:  []Event{{Type: EventUserDeactivated, Org: "a", User: "u", Detail: "Inactive"}},
	}, {
		name: "deactivating an Inactive user changes nothing",
		u:    with(verified, func(u *User) { u.State, u.InactiveSince = Inactive, now.Add(-day) }),
		s:    step{on: onDeactivate},
		want: with(verified, func(u *User) { u.State, u.InactiveSince = Inactive, now.Add(-day) }),
	}, {
		name:    "a sync reactivates on a verified domain and stops the clock (Y3)",
		u:       with(verified, func(u *User) { u.State, u.InactiveSince = Inactive, now.Add(-day) }),
		s:       step{on: onSync, verified: true},
		want:    with(verified, func(u *User) { u.State = Active }),
		changed: true,
		events:  []Event{{Type: EventUserReactivated, Org: "a", User: "u", Detail: "Active"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, evs, err := apply(tc.u, tc.s, now)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("record mismatch (-want +got):\n%s", d)
			}
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if d := cmp.Diff(tc.events, evs); d != "" {
				t.Errorf("events mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// TestClaimDiagram: every phase a row of the claim table reaches is an
// arrow's target in its diagram, and every ended phase leads out.
func TestClaimDiagram(t *testing.T) {
	d := claimDiagram()
	for _, r := range claimSteps {
		if r.err == nil && r.to != r.from && !strings.Contains(d, " --> "+r.to.String()+": "+r.on.String()) {
			t.Errorf("no arrow into %v on %v in the diagram", r.to, r.on)
		}
	}
	for p := phaseChosen; p <= phaseOrgDeleted; p++ {
		if !strings.Contains(d, "    "+p.String()+" --> [*]\n") {
			t.Errorf("ended phase %v does not lead to [*]", p)
		}
	}
}
