package claim

import (
	"bytes"
	"fmt"
	"strings"
)

// trigger is what happens to a user: an operation or a rule firing.
type trigger int

const (
	onAdd            trigger = iota + 1 // AddUser (U1)
	onVerifyEmail                       // VerifyEmail (U3)
	onSignIn                            // SignIn (U4, I1)
	onDeactivate                        // Deactivate (U5)
	onReactivate                        // Reactivate (U5)
	onClaimImmediate                    // an immediate claim (K6)
	onClaimDelayed                      // a delayed claim (K6)
	onChoose                            // the claimed user's choice (C6)
	onExpire                            // a delayed claim's deadline passes (X1)
	onRetract                           // the claiming org retracts (R6)
	onSync                              // a directory entry names the user (Y3)
	onOrgDeleted                        // the org of the user's original account is deleted (DeleteOrg)
)

var triggerNames = [...]string{"", "add", "verify_email", "sign_in", "deactivate", "reactivate",
	"claim_immediate", "claim_delayed", "choose", "expire", "retract", "sync", "original_org_deleted"}

func (t trigger) String() string { return triggerNames[t] }

// anyState in a transition's from-state matches every state.
const anyState State = -1

// facts are what guards look at.
type facts struct {
	domainVerified bool  // the user's org has verified the e-mail's domain; on add, also a site-linked user (U1)
	signedInBefore bool  // the user has ever signed in (LastSignIn set)
	claimSignedIn  bool  // the user signed in during its pending claim (I1)
	delayedPending bool  // the user has a pending delayed claim
	prev           State // the claim's PrevState
}

// guard is a named condition on a transition; the name is what a state
// diagram prints.
type guard struct {
	name string
	ok   func(facts) bool
}

var (
	always         = guard{"", func(facts) bool { return true }}
	domainVerified = guard{"domain verified", func(f facts) bool { return f.domainVerified }}
	signedInBefore = guard{"signed in before", func(f facts) bool { return f.signedInBefore }}
	delayedPending = guard{"delayed claim pending", func(f facts) bool { return f.delayedPending }}
	claimSignedIn  = guard{"signed in during claim", func(f facts) bool { return f.claimSignedIn }}
)

func prevWas(s State) guard {
	return guard{"was " + s.String(), func(f facts) bool { return f.prev == s }}
}

// transition is one row of the user state machine: in state from, on
// trigger on, when guard holds, the user moves to state to and event is
// written (when the step changes the record; see apply) — or, when err
// is set, the operation is refused with err and nothing changes.
type transition struct {
	from  State
	on    trigger
	guard guard
	to    State
	err   error
	event string
}

// transitions is the user state machine (docs/rules.md: the user states, claims, choices and retraction). The
// engine consults it for every state change: the first row whose from,
// trigger and guard match decides. from 0 is "no user yet". A trigger
// with no matching row is a bug in the engine, never a silent no-op, so
// "no change" is written out as a row to the same state.
var transitions = []transition{
	// U1: no user is created Inactive or DelayedClaim.
	{0, onAdd, domainVerified, Verified, nil, EventUserAdded},
	{0, onAdd, always, NotVerified, nil, EventUserAdded},

	// U3
	{NotVerified, onVerifyEmail, always, Verified, nil, EventUserVerified},
	{anyState, onVerifyEmail, always, anyState, nil, ""}, // no change

	// U4, I1. A delayed claim puts the user in Delayed Claim whatever its
	// state was, and signing in during a pending claim is allowed (I1).
	{NotVerified, onSignIn, always, 0, ErrNotVerified, ""},
	{Inactive, onSignIn, always, 0, ErrInactive, ""},
	{Verified, onSignIn, always, Active, nil, EventUserSignedIn},
	{Active, onSignIn, always, Active, nil, EventUserSignedIn},
	{DelayedClaim, onSignIn, always, DelayedClaim, nil, EventUserSignedIn},

	// U5
	{anyState, onDeactivate, always, Inactive, nil, EventUserDeactivated},
	{Inactive, onReactivate, delayedPending, DelayedClaim, nil, EventUserReactivated},
	{Inactive, onReactivate, signedInBefore, Active, nil, EventUserReactivated},
	{Inactive, onReactivate, domainVerified, Verified, nil, EventUserReactivated},
	{Inactive, onReactivate, always, NotVerified, nil, EventUserReactivated},
	{anyState, onReactivate, always, anyState, nil, ""}, // no change

	// K6: immediate keeps the state, but the claiming org has verified the
	// domain (E2), so Not Verified becomes Verified. The claim's events
	// are the claim lifecycle's (claimSteps).
	{NotVerified, onClaimImmediate, always, Verified, nil, ""},
	{anyState, onClaimImmediate, always, anyState, nil, ""},
	{anyState, onClaimDelayed, always, DelayedClaim, nil, ""},

	// C6: the chooser signed in; Inactive stays Inactive (U5).
	{Inactive, onChoose, always, Inactive, nil, ""},
	{anyState, onChoose, always, Active, nil, ""},

	// X1, U5.
	{Inactive, onExpire, always, Inactive, nil, ""},
	{DelayedClaim, onExpire, claimSignedIn, Active, nil, ""},
	{DelayedClaim, onExpire, prevWas(NotVerified), Verified, nil, ""},
	{DelayedClaim, onExpire, prevWas(Verified), Verified, nil, ""},
	{DelayedClaim, onExpire, prevWas(Active), Active, nil, ""},
	{DelayedClaim, onExpire, prevWas(Inactive), Inactive, nil, ""},

	// R6: back to the previous state, whatever happened in between.
	{anyState, onRetract, prevWas(NotVerified), NotVerified, nil, ""},
	{anyState, onRetract, prevWas(Verified), Verified, nil, ""},
	{anyState, onRetract, prevWas(Active), Active, nil, ""},
	{anyState, onRetract, prevWas(Inactive), Inactive, nil, ""},

	// Y3, U5: a directory entry creates the user, or promotes it to Active
	// on a verified domain, or reactivates it by U5's rule; a Delayed
	// Claim user's state belongs to its claim. (A full sync's
	// deactivation of users without an entry, Y2, is onDeactivate.)
	{0, onSync, domainVerified, Active, nil, EventUserAdded},
	{0, onSync, always, NotVerified, nil, EventUserAdded},
	{Inactive, onSync, delayedPending, DelayedClaim, nil, EventUserReactivated},
	{DelayedClaim, onSync, always, DelayedClaim, nil, ""},
	{Inactive, onSync, domainVerified, Active, nil, EventUserReactivated},
	{anyState, onSync, domainVerified, Active, nil, EventUserPromoted},
	{Inactive, onSync, signedInBefore, Active, nil, EventUserReactivated},
	{Inactive, onSync, always, NotVerified, nil, EventUserReactivated},
	{anyState, onSync, always, anyState, nil, ""}, // no change

	// X2: the user keeps its state when its original's org goes; the
	// claim ends (claimSteps).
	{anyState, onOrgDeleted, always, anyState, nil, ""},
}

// row returns the state a user in state from moves to on trigger on, and
// the event the row writes.
func row(from State, on trigger, f facts) (State, string, error) {
	for _, tr := range transitions {
		if tr.on != on || (tr.from != from && tr.from != anyState) || !tr.guard.ok(f) {
			continue
		}
		if tr.err != nil {
			return from, "", tr.err
		}
		if tr.to == anyState {
			return from, tr.event, nil
		}
		return tr.to, tr.event, nil
	}
	panic(fmt.Sprintf("claim: no transition from %v on %v with %+v", from, on, f))
}

//go:generate go test -run ^(TestDocTransitions|TestDiagrams)$ -update .

// stateDiagram renders transitions as a Mermaid state diagram: for each
// state (and "no user yet", [*]) and trigger, the rows that can fire, in
// the table's order up to the first one without a guard, since those
// after it never do. A row to the same state (no change) and a refusal
// draw no arrow; an arrow's label is its trigger and guard. docs/states.md
// and the README show it (kept in step by TestStateDiagram).
func stateDiagram() string {
	node := func(s State) string {
		if s == 0 {
			return "[*]"
		}
		return strings.ReplaceAll(s.String(), " ", "")
	}
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	for st := NotVerified; st <= DelayedClaim; st++ {
		if n := node(st); n != st.String() {
			fmt.Fprintf(&b, "    state \"%s\" as %s\n", st, n)
		}
	}
	seen := map[string]bool{}
	for _, from := range []State{0, NotVerified, Verified, Active, Inactive, DelayedClaim} {
		for on := onAdd; on <= onOrgDeleted; on++ {
			for _, tr := range transitions {
				if tr.on != on || (tr.from != from && (tr.from != anyState || from == 0)) {
					continue
				}
				if tr.err == nil && tr.to != anyState && tr.to != from {
					label := on.String()
					if tr.guard.name != "" {
						label += " [" + tr.guard.name + "]"
					}
					edge := fmt.Sprintf("    %s --> %s: %s\n", node(from), node(tr.to), label)
					if !seen[edge] {
						seen[edge] = true
						b.WriteString(edge)
					}
				}
				if tr.guard.name == "" {
					break // the rows after it never fire for this state
				}
			}
		}
	}
	return b.String()
}

// transitionTable renders transitions as the aligned text table that
// doc.go shows (kept in step by TestDocTransitions).
func transitionTable() string {
	name := func(s State) string {
		switch s {
		case 0:
			return "(new)"
		case anyState:
			return "any"
		}
		return s.String()
	}
	rows := [][5]string{{"FROM", "ON", "WHEN", "TO", "EVENT"}}
	for _, tr := range transitions {
		to := name(tr.to)
		switch {
		case tr.err != nil:
			to = "refused: " + tr.err.Error()
		case tr.to == anyState:
			to = "unchanged"
		}
		rows = append(rows, [5]string{name(tr.from), tr.on.String(), tr.guard.name, to, tr.event})
	}
	var w [4]int
	for _, r := range rows {
		for i := range w {
			w[i] = max(w[i], len(r[i]))
		}
	}
	var b []byte
	for _, r := range rows {
		line := fmt.Appendf(nil, "%-*s  %-*s  %-*s  %-*s  %s", w[0], r[0], w[1], r[1], w[2], r[2], w[3], r[3], r[4])
		b = append(append(b, bytes.TrimRight(line, " ")...), '\n')
	}
	return string(b)
}
