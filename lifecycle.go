package claim

import (
	"fmt"
	"strings"
	"time"
)

// A user's lifecycle is two tables: transitions (state.go) decides the
// user's State, and claimSteps below decides its claim record. A step
// applies both in one function, apply, which is the only place of the
// engine that changes a user's State, its Claim record or the dates that
// follow them (InactiveSince, LastSignIn); TestOneApply checks that by
// reading the package's source. The callers read what the guards need,
// write the record apply returns and the events it lists, and do what is
// not the user's own lifecycle (an original account created, deleted or
// renamed, content moved).

// claimPhase is where a user's claim record stands, for claimSteps.
type claimPhase int

const (
	phaseNone       claimPhase = iota // no pending claim: never claimed, or ended
	phasePending                      // made (K6); the user has not signed in since
	phaseSignedIn                     // the user signed in during it (I1): it may choose (C6)
	phaseChosen                       // ended by the user's choice (C1–C6)
	phaseExpired                      // a delayed claim's deadline passed (X1)
	phaseRetracted                    // the claiming org took it back (R6); the record is the original's again
	phaseOrgDeleted                   // ended because the original account's org was deleted
)

var claimPhaseNames = [...]string{"none", "pending", "signed_in", "chosen", "expired", "retracted", "original_org_deleted"}

func (p claimPhase) String() string { return claimPhaseNames[p] }

// phaseOf is the phase of a user's claim record c: phaseNone unless it is
// pending.
func phaseOf(c *ClaimInfo) claimPhase {
	switch {
	case !c.pending():
		return phaseNone
	case c.SignedIn:
		return phaseSignedIn
	}
	return phasePending
}

// effect is a change a row makes to the user's record beyond its State;
// a row's effects are a set of them.
type effect int

const (
	// stampSignIn: LastSignIn is now (U4).
	stampSignIn effect = 1 << iota
	// originalClock: a user who becomes Inactive takes the original
	// account's InactiveSince when its own is unset, since its clock went
	// on under the claim (X1, Y4); without it, becoming Inactive starts
	// the clock now. Leaving Inactive always stops it.
	originalClock
	// startClaim: the user moves to the claiming org with the licenses it
	// gives and no content (the content stays with the original), under a
	// new pending claim record (K6).
	startClaim
	// markSignedIn: the pending claim records that the user signed in
	// (I1).
	markSignedIn
	// endClaim: the claim ends now with the step's action (a choice, or
	// DeleteOriginal when the original's org is deleted); expiry ends it
	// at its deadline with MigrateContent (X1). Ending with
	// MigrateContent moves the original's content to the user (C4).
	endClaim
	// restoreOriginal: the user becomes its original account again,
	// under its own ID and address, with the content of both (R6).
	restoreOriginal
)

// eventShape is how a row's event is filled from the step.
type eventShape int

const (
	userEvent    eventShape = iota // Org: the user's org, User, Detail: its new state
	claimEvent                     // Org: the claiming org, From, User, Mode, Action: the claim's outcome
	claimNotice                    // a claimEvent to the user's address (Recipient)
	releaseEvent                   // Org: the original's org, From: the claiming org, User, Recipient: the address
)

// eventSpec is an event a row writes.
type eventSpec struct {
	typ    string
	shape  eventShape
	detail string // for claim events: the Detail
}

// claimStep is one row of the claim lifecycle: in phase from, on trigger
// on, the claim record moves to phase to with the row's effects and
// events, or, when err is set, the operation is refused with err. A
// trigger with no row for the phase leaves the claim as it is.
type claimStep struct {
	from, to claimPhase
	on       trigger
	effects  effect
	events   []eventSpec
	err      error
}

// claimSteps is the claim lifecycle (docs/rules.md: claims, choices,
// expiry and retraction). Retraction's other refusals (R7) are judged
// before the step, together, by retractRefusals.
var claimSteps = []claimStep{
	// K6: a claim starts with its two events: the record, and the e-mail
	// to the user.
	{phaseNone, phasePending, onClaimImmediate, startClaim, []eventSpec{{EventClaimCreated, claimEvent, ""}, {EventNotifyClaim, claimNotice, ""}}, nil},
	{phaseNone, phasePending, onClaimDelayed, startClaim, []eventSpec{{EventClaimCreated, claimEvent, ""}, {EventNotifyClaim, claimNotice, ""}}, nil},

	// I1
	{phasePending, phaseSignedIn, onSignIn, markSignedIn, nil, nil},

	// C6: only a user who signed in since the claim chooses.
	{phaseNone, 0, onChoose, 0, nil, ErrNoPendingClaim},
	{phasePending, 0, onChoose, 0, nil, ErrChoiceNotAllowed},
	{phaseSignedIn, phaseChosen, onChoose, endClaim, []eventSpec{{EventClaimResolved, claimEvent, ""}}, nil},

	// X1
	{phasePending, phaseExpired, onExpire, endClaim | originalClock, []eventSpec{{EventClaimExpired, claimEvent, ""}}, nil},
	{phaseSignedIn, phaseExpired, onExpire, endClaim | originalClock, []eventSpec{{EventClaimExpired, claimEvent, ""}}, nil},

	// R6, R7
	{phaseNone, 0, onRetract, 0, nil, ErrNoPendingClaim},
	{phaseSignedIn, 0, onRetract, 0, nil, ErrSignedIn},
	{phasePending, phaseRetracted, onRetract, restoreOriginal | originalClock, []eventSpec{{EventClaimRetracted, claimEvent, ""}, {EventOriginalReleased, releaseEvent, ""}}, nil},

	// The original account's org is deleted once the claim's window has
	// closed (DeleteOrg): the claim ends as if the original were deleted,
	// and the user keeps its state (X2).
	{phasePending, phaseOrgDeleted, onOrgDeleted, endClaim, []eventSpec{{EventClaimResolved, claimEvent, "the original account's organization was deleted"}}, nil},
	{phaseSignedIn, phaseOrgDeleted, onOrgDeleted, endClaim, []eventSpec{{EventClaimResolved, claimEvent, "the original account's organization was deleted"}}, nil},
}

// claimRow returns the claim lifecycle's row for phase from on trigger on,
// and false if there is none.
func claimRow(from claimPhase, on trigger) (claimStep, bool) {
	for _, r := range claimSteps {
		if r.from == from && r.on == on {
			return r, true
		}
	}
	return claimStep{}, false
}

// claimRefusal returns the claim table's refusal of trigger on for a
// user whose claim record is c, or nil, so that an operation can refuse
// before its other checks in the order its rules give; apply refuses the
// same.
func claimRefusal(c *ClaimInfo, on trigger) error {
	if cs, ok := claimRow(phaseOf(c), on); ok {
		return cs.err
	}
	return nil
}

// step is a trigger applied to a user, with what its guards, effects and
// events need beyond the user's record.
type step struct {
	on       trigger
	verified bool          // the user's org has verified the domain (guards of add, reactivate, sync)
	by       OrgID         // startClaim: the claiming org
	licenses []string      // startClaim: the licenses the claiming org gives
	original User          // startClaim: the original account (its ID); originalClock, restoreOriginal and MigrateContent: the original
	action   Action        // endClaim on choose or org deletion: how the claim ended
	window   time.Duration // startClaim: the claim window (Policy.ClaimWindow)
}

// factsOf returns the facts the guards read about u, in step s.
func factsOf(u User, s step) facts {
	f := facts{
		domainVerified: s.verified,
		signedInBefore: !u.LastSignIn.IsZero(),
		delayedPending: u.Claim.pending() && u.Claim.Mode == Delayed,
	}
	if u.Claim.pending() {
		f.prev, f.claimSignedIn = u.Claim.PrevState, u.Claim.SignedIn
	}
	return f
}

// apply applies step s, at now, to u (a new user has State 0): it finds
// the user's row in transitions and the claim's row in claimSteps, and
// returns the record after them, whether it changed, and the events to
// write with it, in order. It returns the first refusal of either table
// (the claim's first) and changes nothing then. It writes nothing: the
// caller stores the record and appends the events.
func apply(u User, s step, now time.Time) (User, bool, []Event, error) {
	cs, hasClaim := claimRow(phaseOf(u.Claim), s.on)
	if hasClaim && cs.err != nil {
		return u, false, nil, cs.err
	}
	to, userEv, err := row(u.State, s.on, factsOf(u, s))
	if err != nil {
		return u, false, nil, err
	}
	effects := triggerEffects(s.on)
	if hasClaim {
		effects |= cs.effects
	}
	r, acted := claimEffects(u, effects, s, now)
	if effects&stampSignIn != 0 {
		r.LastSignIn = now
	}
	r.InactiveSince = inactiveSince(u, r, to, effects, s, now)
	r.State = to
	if to == u.State && effects == 0 && r.InactiveSince == u.InactiveSince {
		return r, false, nil, nil
	}
	var evs []Event
	if userEv != "" {
		evs = append(evs, eventSpec{userEv, userEvent, ""}.event(r, acted))
	}
	for _, sp := range cs.events { // none without a claim row
		evs = append(evs, sp.event(r, acted))
	}
	return r, true, evs, nil
}

// triggerEffects returns the effects of a trigger whatever the rows.
func triggerEffects(on trigger) effect {
	if on == onSignIn {
		return stampSignIn
	}
	return 0
}

// claimEffects returns u after the claim effects among effects, and the
// claim record they acted on (nil if none): the new one, the ended one,
// or the one a retraction dropped.
func claimEffects(u User, effects effect, s step, now time.Time) (User, *ClaimInfo) {
	r := u
	switch {
	case effects&startClaim != 0:
		r.Org, r.Licenses, r.Content = s.by, append([]string(nil), s.licenses...), 0
		mode := Immediate
		if s.on == onClaimDelayed {
			mode = Delayed
		}
		r.Claim = &ClaimInfo{By: s.by, From: u.Org, Mode: mode, PrevState: u.State, At: now,
			Deadline: now.Add(s.window), Original: s.original.ID}
		return r, r.Claim
	case effects&markSignedIn != 0:
		c := *u.Claim
		c.SignedIn = true
		r.Claim = &c
		return r, nil
	case effects&endClaim != 0:
		c := *u.Claim
		c.Ended, c.Outcome = now, s.action
		if s.on == onExpire {
			c.Ended, c.Outcome = c.Deadline, MigrateContent
		}
		if c.Outcome == MigrateContent { // the original's content moves to the user (C4, X1)
			r.Content += s.original.Content
		}
		r.Claim = &c
		return r, &c
	case effects&restoreOriginal != 0:
		r = s.original // the frozen original is the user as it was (H2)
		r.ID, r.Email, r.HeldBy = u.ID, u.Email, ""
		r.Content += u.Content
		return r, u.Claim
	}
	return r, nil
}

// inactiveSince returns the InactiveSince of r, which was u, moving to
// state to: unset outside Inactive, kept while Inactive, and on becoming
// Inactive the original's (originalClock, when r has none) or now.
func inactiveSince(u, r User, to State, effects effect, s step, now time.Time) time.Time {
	switch {
	case to != Inactive:
		return time.Time{}
	case u.State == Inactive:
		return r.InactiveSince
	case effects&originalClock != 0:
		if r.InactiveSince.IsZero() {
			return s.original.InactiveSince
		}
		return r.InactiveSince
	}
	return now
}

// event returns the event sp describes, of user r (after the step) and
// the claim record c the step acted on.
func (sp eventSpec) event(r User, c *ClaimInfo) Event {
	switch sp.shape {
	case userEvent:
		return Event{Type: sp.typ, Org: r.Org, User: r.ID, Detail: r.State.String()}
	case releaseEvent:
		return Event{Type: sp.typ, Org: c.From, From: c.By, User: r.ID, Recipient: r.Email}
	}
	e := Event{Type: sp.typ, Org: c.By, From: c.From, User: r.ID, Mode: c.Mode, Action: c.Outcome, Detail: sp.detail}
	if sp.shape == claimNotice {
		e.Recipient = r.Email
	}
	return e
}

// apply is the package function at t's clock and policy.
func (t *txn) apply(u User, s step) (User, bool, []Event, error) {
	s.window = t.s.policy.ClaimWindow
	return apply(u, s, t.now)
}

// save writes u, changed by a step, and the step's events.
func (t *txn) save(u User, evs []Event) error {
	if err := t.tx.UpdateUser(u); err != nil {
		return err
	}
	return t.emitAll(evs)
}

// emitAll appends the events in order.
func (t *txn) emitAll(evs []Event) error {
	for _, e := range evs {
		if err := t.emit(e); err != nil {
			return err
		}
	}
	return nil
}

// mustApply is apply for steps no row refuses (TestInfallibleTriggers).
func mustApply(u User, s step, now time.Time) (User, []Event) {
	r, _, evs, err := apply(u, s, now)
	if err != nil {
		panic(fmt.Sprintf("claim: step %v of user %q refused (%v); the trigger must be infallible", s.on, u.ID, err))
	}
	return r, evs
}

// renamedOriginal is original account o released to its org under the
// address the claimed user chose (C2): an ordinary account again, without
// the earlier claim record it kept for its user.
func renamedOriginal(o User, email string) User {
	o.Email, o.HeldBy, o.Claim = email, "", nil
	return o
}

// releasedOriginal is original account o released to its org under its
// user's address, when the claimed user is deleted while the claim is
// pending (P2).
func releasedOriginal(o User, email string) User {
	o.Email, o.HeldBy = email, ""
	return o
}

// claimDiagram renders claimSteps as a Mermaid state diagram: an arrow
// for each row that moves the claim (refusals and rows that leave it as
// it is draw none), labelled with the trigger and the events written;
// [*] before a claim is "no pending claim", and the ended phases lead to
// [*]. docs/claims.md and the README show it (kept in step by
// TestDiagrams).
func claimDiagram() string {
	node := func(p claimPhase) string {
		if p == phaseNone {
			return "[*]"
		}
		return p.String()
	}
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	ended := map[claimPhase]bool{}
	for _, r := range claimSteps {
		if r.err != nil || r.to == r.from {
			continue
		}
		label := r.on.String()
		if len(r.events) > 0 {
			var evs []string
			for _, e := range r.events {
				evs = append(evs, e.typ)
			}
			label += " / " + strings.Join(evs, ", ")
		}
		fmt.Fprintf(&b, "    %s --> %s: %s\n", node(r.from), node(r.to), label)
		if r.to > phaseSignedIn && !ended[r.to] {
			ended[r.to] = true
		}
	}
	for p := phaseChosen; p <= phaseOrgDeleted; p++ {
		if ended[p] {
			fmt.Fprintf(&b, "    %s --> [*]\n", node(p))
		}
	}
	return b.String()
}
