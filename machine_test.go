package claim_test

// A model-based test of the whole claim workflow (the rules of
// docs/rules.md on users, claims, choices, expiry, retraction and the
// sweep): rapid drives a Service and a plain model side by side through
// random sequences of operations, and after every step Check compares the
// two with cmp.Diff.
//
// The model is a second implementation of the rules, written as plain Go
// over maps: it never calls the engine's unexported code. It keeps the
// accounts as the store holds them (persisted) and derives what reads
// show from its clock (X3), so it can tell a delayed claim that has
// expired but was never written (reads show it resolved; the sweep still
// has to persist it) from one a write or the sweep has persisted.

import (
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// smMinChecks is the least number of rapid checks TestStateMachine runs
// when the caller does not choose (rapid's default is 100).
const smMinChecks = 200

// smRepeats is how many times each check runs Repeat on one machine:
// Repeat runs -rapid.steps actions (30 on average), short for chains such
// as claim, sign-in, deactivation, expiry, choice among this many actions;
// Repeats in a row are one longer run, with Check after every action as
// usual.
const smRepeats = 4

// TestStateMachine runs the state machine on memory stores, smMinChecks
// checks in all (see smRun).
func TestStateMachine(t *testing.T) {
	smRun(t, smMinChecks, func(testing.TB) claim.Store { return claim.NewMemoryStore() })
}

// smRun runs the state machine, each check on a fresh, empty store from
// newStore. rapid reads its number of checks from the -rapid.checks flag
// (or RAPID_CHECKS) when Check is called; changing that package-wide flag
// from a test would race with other rapid tests of the package running in
// parallel. So when the caller has not chosen the number of checks (nor a
// seed or a fail file, which make every run the same), smRun runs
// rapid.Check as many times as it takes to reach checks, each round from
// fresh random seeds, and lets the checks past that number pass without
// running the machine; after a failure every check runs, so that rapid
// can shrink it. With -short, rapid runs a fifth of the checks, and so
// does smRun. When the caller has chosen, rapid.Check runs once, as told.
func smRun(t *testing.T, checks int, newStore func(testing.TB) claim.Store) {
	rapidChecks(t, checks, func(rt *rapid.T) {
		actions := rapid.StateMachineActions(smNewMachine(t, rt, newStore))
		for range smRepeats {
			rt.Repeat(actions)
		}
	})
}

// The world of every check: two claiming orgs and a source org of each
// kind that matters to eligibility (E4, E5) and mode (M2).
const (
	smB1      claim.OrgID = "b1"       // claims; AllowContentMigration, AutoLicenses L1
	smB2      claim.OrgID = "b2"       // claims; no content migration
	smIndOld  claim.OrgID = "ind-old"  // Individual, created 1 ns before the cutoff: delayed-eligible
	smIndNew  claim.OrgID = "ind-new"  // Individual, created at the cutoff: not delayed-eligible
	smEnt     claim.OrgID = "ent"      // Enterprise, verifies x.example, AutoLicenses E1
	smCons    claim.OrgID = "consumer" // Consumer, created before the cutoff
	smSSO     claim.OrgID = "sso"      // uses SSO: its users are never eligible (E4)
	smDirSync claim.OrgID = "dirsync"  // synchronizes from a directory (E5)

	smDomX = "x.example" // verified by b1, b2 and ent
	smDomY = "y.example" // verified by nobody: domain_not_verified
	smDomZ = "z.example" // nobody's; only new addresses of ChangeEmail use it

	smUnknownID   claim.UserID = "usr_unknown"
	smSuffix                   = ".convert-user.local" // K6, N4
	smDay                      = 24 * time.Hour
	smPurgeWindow              = 30 * smDay // Policy.InactivePurge (Y4)
)

// smCutoff is Policy.DelayedClaimCutoff (M2).
var smCutoff = time.Date(2020, 5, 6, 0, 0, 0, 0, time.UTC)

// smOrg is one org of the world.
type smOrg struct {
	id       claim.OrgID
	kind     claim.OrgKind
	created  time.Time
	settings claim.Settings
	verifies []string // the domains it has verified (D1)
}

var smWorld = []smOrg{
	{smB1, claim.Enterprise, oldOrgDate, claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"L1"}}, []string{smDomX}},
	{smB2, claim.Enterprise, oldOrgDate, claim.Settings{}, []string{smDomX}},
	{smIndOld, claim.Individual, smCutoff.Add(-time.Nanosecond), claim.Settings{}, nil},
	{smIndNew, claim.Individual, smCutoff, claim.Settings{}, nil},
	{smEnt, claim.Enterprise, oldOrgDate, claim.Settings{AutoLicenses: []string{"E1"}}, []string{smDomX}},
	{smCons, claim.Consumer, oldOrgDate, claim.Settings{}, nil},
	{smSSO, claim.Enterprise, oldOrgDate, claim.Settings{SSO: true}, nil},
	{smDirSync, claim.Enterprise, oldOrgDate, claim.Settings{DirectorySync: true}, nil},
}

func smOrgOf(id claim.OrgID) smOrg {
	for _, o := range smWorld {
		if o.id == id {
			return o
		}
	}
	panic("unknown org " + string(id))
}

// smSourceOrgs are the orgs new users join, weighted towards the one
// whose users get delayed claims.
func smSourceOrgs() []claim.OrgID { return append(smOrgIDs(), smIndOld, smIndOld) }

// smOften draws true three times in four.
func smOften(t *rapid.T, label string) bool { return rapid.IntRange(0, 3).Draw(t, label) > 0 }

func smOrgIDs() []claim.OrgID {
	ids := make([]claim.OrgID, len(smWorld))
	for i, o := range smWorld {
		ids[i] = o.id
	}
	return ids
}

// smClock steps: around a day, and around the 14-day window (X3), so that
// over a run the clock lands just before, on and just after deadlines.
var smClockSteps = []time.Duration{
	time.Hour,
	smDay,
	14*smDay - time.Nanosecond,
	14 * smDay,
	14*smDay + time.Nanosecond,
	13*smDay + 23*time.Hour + 59*time.Minute + 59*time.Second,
	smPurgeWindow - time.Nanosecond, // the purge window (Y4), and its edges
	smPurgeWindow,
	smPurgeWindow + time.Nanosecond,
}

// ---- the model ----

// smClaim is the model's claim record (K6, R9): kept on the user after
// the claim ends.
type smClaim struct {
	by, from claim.OrgID
	mode     claim.Mode
	prev     claim.State
	at       time.Time
	deadline time.Time
	signedIn bool
	original claim.UserID
	ended    bool // ended by a choice or a persisted expiry
}

// smUser is an account as the store holds it.
type smUser struct {
	claim.User          // the account; its Claim field is unused (rec holds the claim)
	rec        *smClaim // the last claim record, pending or ended; nil if none
}

func (u smUser) clone() smUser {
	u.Licenses = slices.Clone(u.Licenses)
	if u.rec != nil {
		r := *u.rec
		u.rec = &r
	}
	return u
}

// smModel is the plain model: the accounts as persisted, the domain
// claims, the clock, and the content ledger (C5).
type smModel struct {
	now      time.Time
	users    map[claim.UserID]smUser
	claimant map[string]claim.OrgID // domain -> the org that claimed it (D3)
	added    int                    // content ever added
	lost     int                    // content deleted
	losses   int                    // content.deleted events: one per loss of content > 0
}

func smDomain(email string) string { return email[strings.LastIndexByte(email, '@')+1:] }

func smVerifies(org claim.OrgID, domain string) bool {
	return slices.Contains(smOrgOf(org).verifies, domain)
}

// due reports whether c is a delayed claim past its deadline that has not
// been persisted (X1, X3: the window [at, deadline) is half-open).
func (m *smModel) due(c *smClaim) bool {
	return c != nil && !c.ended && c.mode == claim.Delayed && !m.now.Before(c.deadline)
}

// holder returns the claimed user whose pending (or due) claim holds the
// original account.
func (m *smModel) holder(orig claim.UserID) smUser {
	for _, u := range m.users {
		if u.rec != nil && !u.rec.ended && u.rec.original == orig {
			return u
		}
	}
	panic(fmt.Sprintf("model: original %s has no holder", orig))
}

// expired is u, whose delayed claim is due, with it resolved as
// MigrateContent (X1): the original's content moves to u; the state is
// Active if u signed in during the claim, else its previous state (Not
// Verified becomes Verified); an Inactive user stays Inactive (U5). A
// user that was Inactive before the claim and is Inactive again keeps its
// InactiveSince from before the claim (the rules are silent; the engine's
// decision: the purge clock goes on).
func (m *smModel) expired(u smUser) smUser {
	orig := m.users[u.rec.original]
	r := u.clone()
	r.Content += orig.Content
	switch {
	case r.State == claim.Inactive:
	case r.rec.signedIn:
		r.State = claim.Active
	case r.rec.prev == claim.NotVerified:
		r.State = claim.Verified
	default:
		r.State = r.rec.prev
	}
	if r.State == claim.Inactive && r.InactiveSince.IsZero() {
		r.InactiveSince = orig.InactiveSince
	}
	r.rec.ended = true
	return r
}

// view returns the account as reads show it now (X3), and false if there
// is none: unknown, deleted, or an original whose delayed claim expired.
func (m *smModel) view(id claim.UserID) (smUser, bool) {
	u, ok := m.users[id]
	switch {
	case !ok:
		return smUser{}, false
	case u.HeldBy != "":
		if m.due(m.holder(id).rec) {
			return smUser{}, false
		}
	case m.due(u.rec):
		return m.expired(u), true
	}
	return u.clone(), true
}

// persist writes the expiry of id's delayed claim if it is due: a write
// that touches a user persists it (X3).
func (m *smModel) persist(id claim.UserID) {
	if u := m.users[id]; m.due(u.rec) {
		m.users[id] = m.expired(u)
		delete(m.users, u.rec.original)
	}
}

// pending reports whether id's claim is pending as reads show it.
func (m *smModel) pending(id claim.UserID) bool {
	u, ok := m.view(id)
	return ok && u.HeldBy == "" && u.rec != nil && !u.rec.ended
}

// public is u as the API shows it: Claim is the pending claim, nil once
// it has ended.
func (m *smModel) public(u smUser) claim.User {
	p := u.User
	p.Licenses = slices.Clone(u.Licenses)
	p.Claim = nil
	if c := u.rec; c != nil && !c.ended && u.HeldBy == "" {
		p.Claim = &claim.ClaimInfo{By: c.by, From: c.from, Mode: c.mode, PrevState: c.prev,
			At: c.at, Deadline: c.deadline, SignedIn: c.signedIn, Original: c.original}
	}
	return p
}

// orgUsers is what Users(org) shows, in e-mail order (H1: originals
// included).
func (m *smModel) orgUsers(org claim.OrgID) []claim.User {
	var out []claim.User
	for id := range m.users {
		if u, ok := m.view(id); ok && u.Org == org {
			out = append(out, m.public(u))
		}
	}
	slices.SortFunc(out, func(a, b claim.User) int { return strings.Compare(a.Email, b.Email) })
	return out
}

// byEmail returns the stored account with the normalized address.
func (m *smModel) byEmail(addr string) (smUser, bool) {
	for _, u := range m.users {
		if u.Email == addr {
			return u, true
		}
	}
	return smUser{}, false
}

// joinErr is why an account with the address may not be in org: another
// org claimed its domain (D6), or an account has it (U1).
func (m *smModel) joinErr(org claim.OrgID, addr string) error {
	if c := m.claimant[smDomain(addr)]; c != "" && c != org {
		return claim.ErrDomainClaimedByOther
	}
	if _, taken := m.byEmail(addr); taken {
		return claim.ErrEmailTaken
	}
	return nil
}

// addUser adds the account the service created as id (U1).
func (m *smModel) addUser(id claim.UserID, org claim.OrgID, addr string, content int) claim.User {
	st := claim.NotVerified
	if smVerifies(org, smDomain(addr)) {
		st = claim.Verified
	}
	u := smUser{User: claim.User{ID: id, Email: addr, FirstName: "F", LastName: "L", Org: org, State: st,
		Licenses: slices.Clone(smOrgOf(org).settings.AutoLicenses), Content: content, CreatedAt: m.now}}
	m.users[id] = u
	m.added += content
	return m.public(u)
}

// account returns the account id for an operation on it: ErrNotFound if
// reads do not show it or, with org set, it is not in org (N3);
// ErrHeldByClaim for an original account (H2).
func (m *smModel) account(org claim.OrgID, id claim.UserID) (smUser, error) {
	u, ok := m.view(id)
	if !ok || (org != "" && u.Org != org) {
		return smUser{}, claim.ErrNotFound
	}
	if u.HeldBy != "" {
		return smUser{}, claim.ErrHeldByClaim
	}
	return u, nil
}

// write persists what time decided about id and returns it for changing.
func (m *smModel) write(id claim.UserID) smUser {
	m.persist(id)
	return m.users[id].clone()
}

func (m *smModel) verifyEmail(id claim.UserID) (claim.User, error) { // U3
	if _, err := m.account("", id); err != nil {
		return claim.User{}, err
	}
	u := m.write(id)
	if u.State == claim.NotVerified {
		u.State = claim.Verified
	}
	m.users[id] = u
	return m.public(u), nil
}

func (m *smModel) signIn(id claim.UserID) (claim.User, error) { // U4, I1
	u, err := m.account("", id)
	if err != nil {
		return claim.User{}, err
	}
	switch {
	case u.State == claim.NotVerified:
		return claim.User{}, claim.ErrNotVerified
	case u.State == claim.Inactive:
		return claim.User{}, claim.ErrInactive
	}
	u = m.write(id)
	if u.State == claim.Verified {
		u.State = claim.Active
	}
	u.LastSignIn = m.now
	if u.rec != nil && !u.rec.ended {
		u.rec.signedIn = true
	}
	m.users[id] = u
	return m.public(u), nil
}

func (m *smModel) deactivate(org claim.OrgID, id claim.UserID) (claim.User, error) { // U5
	if _, err := m.account(org, id); err != nil {
		return claim.User{}, err
	}
	u := m.write(id)
	if u.State != claim.Inactive {
		u.State, u.InactiveSince = claim.Inactive, m.now
	}
	m.users[id] = u
	return m.public(u), nil
}

func (m *smModel) reactivate(org claim.OrgID, id claim.UserID) (claim.User, error) { // U5
	if _, err := m.account(org, id); err != nil {
		return claim.User{}, err
	}
	u := m.write(id)
	if u.State == claim.Inactive {
		switch {
		case u.rec != nil && !u.rec.ended && u.rec.mode == claim.Delayed:
			u.State = claim.DelayedClaim // the state belongs to the claim
		case !u.LastSignIn.IsZero():
			u.State = claim.Active
		case smVerifies(u.Org, smDomain(u.Email)):
			u.State = claim.Verified
		default:
			u.State = claim.NotVerified
		}
		u.InactiveSince = time.Time{}
	}
	m.users[id] = u
	return m.public(u), nil
}

// deleteUser deletes id with its content (U6); a pending claim releases
// its original to its org with its address (P2).
func (m *smModel) deleteUser(org claim.OrgID, id claim.UserID) error {
	if _, err := m.account(org, id); err != nil {
		return err
	}
	m.remove(id)
	return nil
}

// remove deletes id with its content (C5); a pending claim releases its
// original to its org with its address (P2).
func (m *smModel) remove(id claim.UserID) {
	u := m.write(id)
	m.lose(u.Content)
	delete(m.users, id)
	if u.rec != nil && !u.rec.ended {
		o := m.users[u.rec.original]
		o.Email, o.HeldBy = u.Email, ""
		m.users[o.ID] = o
	}
}

func (m *smModel) lose(content int) {
	if content > 0 {
		m.lost += content
		m.losses++
	}
}

// reasons are why b cannot claim u, in the order of E1–E6; of a user b
// may not see (another org's, on a domain b has not verified)
// domain_not_verified only (N3); an original account has pending_claim
// only.
func (m *smModel) reasons(b claim.OrgID, u smUser) []claim.Reason {
	dom, src := smDomain(strings.TrimSuffix(u.Email, claim.OriginalSuffix)), smOrgOf(u.Org)
	if u.Org != b && !smVerifies(b, dom) {
		return []claim.Reason{claim.ReasonDomainNotVerified}
	}
	if u.HeldBy != "" {
		return []claim.Reason{claim.ReasonPendingClaim}
	}
	var rs []claim.Reason
	if u.Org == b {
		rs = append(rs, claim.ReasonAlreadyMember)
	}
	if !smVerifies(b, dom) {
		rs = append(rs, claim.ReasonDomainNotVerified)
	}
	if c := m.claimant[dom]; c != "" && c != b {
		rs = append(rs, claim.ReasonDomainClaimedByOther)
	}
	if src.settings.SSO {
		rs = append(rs, claim.ReasonSourceSSO)
	}
	if src.settings.DirectorySync {
		rs = append(rs, claim.ReasonSourceDirectorySync)
	}
	if u.rec != nil && !u.rec.ended {
		rs = append(rs, claim.ReasonPendingClaim)
	}
	return rs
}

// mode is the mode of b's claim of a user of src (M1, M2).
func (m *smModel) mode(b, src claim.OrgID, immediateOnly bool) claim.Mode {
	s := smOrgOf(src)
	if smOrgOf(b).settings.AllowContentMigration && !immediateOnly && s.kind == claim.Individual && s.created.Before(smCutoff) {
		return claim.Delayed
	}
	return claim.Immediate
}

// claimUser claims id into b (K6); the service named the original origID.
func (m *smModel) claimUser(b claim.OrgID, id claim.UserID, mode claim.Mode, licenses []string, origID claim.UserID) {
	u := m.write(id)
	orig := u.clone() // keeps state, licenses, content, timestamps and the earlier claim record
	orig.ID, orig.Email, orig.HeldBy = origID, u.Email+smSuffix, b
	c := u.clone()
	c.Org, c.Licenses, c.Content = b, slices.Clone(licenses), 0
	switch {
	case mode == claim.Delayed:
		c.State = claim.DelayedClaim
	case u.State == claim.NotVerified:
		c.State = claim.Verified // b has verified the domain (E2)
	}
	if c.State != claim.Inactive {
		c.InactiveSince = time.Time{}
	}
	c.rec = &smClaim{by: b, from: u.Org, mode: mode, prev: u.State, at: m.now, deadline: m.now.Add(window), original: origID}
	m.users[id], m.users[origID] = c, orig
}

// smInput is one input of a claim call.
type smInput struct {
	raw   string       // as given
	key   string       // the duplicate key (ID or normalized address); "" for a malformed input
	err   error        // a malformed input's error
	id    claim.UserID // the user ID given (ClaimUsers)
	email bool         // key is an address, looked up when the call reaches it (ClaimEmails)
}

// claimCall runs a ClaimUsers or ClaimEmails call (K5): one result per
// input in input order; the reasons of each refusal for ErrNotEligible.
func (m *smModel) claimCall(b claim.OrgID, in []smInput, opts claim.ClaimOptions, origIDs map[claim.UserID]claim.UserID) ([]claim.Result, [][]claim.Reason) {
	licenses := slices.Clone(smOrgOf(b).settings.AutoLicenses)
	for _, l := range opts.Licenses {
		if !slices.Contains(licenses, l) {
			licenses = append(licenses, l)
		}
	}
	results := make([]claim.Result, len(in))
	reasons := make([][]claim.Reason, len(in))
	seen := map[string]bool{}
	for i, x := range in {
		r := &results[i]
		r.Input = x.raw
		if x.err != nil {
			r.Err = x.err
			continue
		}
		if seen[x.key] {
			r.Err = claim.ErrDuplicate // the first stands (K3)
			continue
		}
		seen[x.key] = true
		id := x.id
		if a, ok := m.byEmail(x.key); x.email && ok {
			id = a.ID // maybe an original an earlier input of the call created
		}
		u, ok := m.view(id)
		if !ok {
			r.Err = claim.ErrNotFound
			continue
		}
		r.User = u.ID
		if rs := m.reasons(b, u); len(rs) > 0 {
			r.Err, reasons[i] = claim.ErrNotEligible, rs
			if x.email && u.Org != b && rs[0] == claim.ReasonDomainNotVerified {
				r.User = "" // N3: not the ID of a user b may not see, asked for by address
			}
			continue
		}
		r.Mode = m.mode(b, u.Org, opts.ImmediateOnly)
		m.claimUser(b, u.ID, r.Mode, licenses, origIDs[u.ID])
	}
	return results, reasons
}

// smAddr is an address input: as given, normalized, or why it is not one.
type smAddr struct {
	raw, norm string
	err       error
}

// choose runs the claimed user's choice (C1–C6).
func (m *smModel) choose(id claim.UserID, a claim.Action, addr smAddr) (claim.User, error) {
	switch {
	case a != claim.ChangeEmail && a != claim.MigrateContent && a != claim.DeleteOriginal:
		return claim.User{}, claim.ErrInvalidValue
	case a == claim.ChangeEmail && addr.err != nil:
		return claim.User{}, addr.err
	case a != claim.ChangeEmail && addr.raw != "":
		return claim.User{}, claim.ErrInvalidValue
	}
	u, ok := m.view(id)
	switch {
	case !ok:
		return claim.User{}, claim.ErrNotFound
	case !m.pending(id):
		return claim.User{}, claim.ErrNoPendingClaim
	case !u.rec.signedIn:
		return claim.User{}, claim.ErrChoiceNotAllowed
	case a == claim.MigrateContent && u.rec.mode != claim.Delayed:
		return claim.User{}, claim.ErrChoiceNotAllowed
	}
	orig := m.users[u.rec.original]
	if a == claim.ChangeEmail {
		if err := m.joinErr(orig.Org, addr.norm); err != nil {
			return claim.User{}, err
		}
	}
	switch a {
	case claim.ChangeEmail: // C2
		orig.Email, orig.HeldBy, orig.rec = addr.norm, "", nil
		m.users[orig.ID] = orig
	case claim.DeleteOriginal: // C3
		m.lose(orig.Content)
		delete(m.users, orig.ID)
	case claim.MigrateContent: // C4
		u.Content += orig.Content
		delete(m.users, orig.ID)
	}
	if u.State != claim.Inactive { // C6
		u.State = claim.Active
	}
	u.rec.ended = true
	m.users[id] = u
	return m.public(u), nil
}

// retractRefusal judges Retract (R1–R4, R7, R9) without doing it: err
// for no account or no claim record, else the refusal reasons in the
// order of R7; nil and nil: it may retract. An original account has no
// claim record of its own (the record it carries is the person's, to
// restore on retraction). An ended claim is judged like a pending one.
func (m *smModel) retractRefusal(org claim.OrgID, id claim.UserID) ([]error, error) {
	u, ok := m.view(id)
	switch {
	case !ok:
		return nil, claim.ErrNotFound
	case u.HeldBy != "" || u.rec == nil:
		return nil, claim.ErrNoPendingClaim
	case u.rec.by != org:
		return []error{claim.ErrNotClaimant}, nil
	}
	var rs []error
	if u.rec.signedIn {
		rs = append(rs, claim.ErrSignedIn)
	}
	if !m.now.Before(u.rec.deadline) {
		rs = append(rs, claim.ErrRetractWindowClosed)
	}
	if m.claimant[smDomain(u.Email)] == org {
		rs = append(rs, claim.ErrDomainClaimed)
	}
	return rs, nil
}

// retract runs Retract: when retractRefusal allows it, the user is again
// exactly what the frozen original holds (R6, H2), with its own ID and
// address.
func (m *smModel) retract(org claim.OrgID, id claim.UserID) ([]error, error) {
	rs, err := m.retractRefusal(org, id)
	if err != nil || len(rs) > 0 {
		return rs, err
	}
	u := m.users[id]
	orig := m.users[u.rec.original]
	r := orig.clone()
	r.ID, r.Email, r.HeldBy = u.ID, u.Email, ""
	r.Content += u.Content
	delete(m.users, orig.ID)
	m.users[id] = r
	return nil, nil
}

// retractable is what Retractable(org) lists (R8): the pending claims
// Retract would take back now.
func (m *smModel) retractable(org claim.OrgID) []claim.User {
	var out []claim.User
	for _, u := range m.orgUsers(org) {
		if rs, err := m.retractRefusal(org, u.ID); m.pending(u.ID) && err == nil && len(rs) == 0 {
			out = append(out, u)
		}
	}
	return out
}

// daysLeft is DaysLeft (X4).
func (m *smModel) daysLeft(id claim.UserID) (int, error) {
	u, ok := m.view(id)
	switch {
	case !ok:
		return 0, claim.ErrNotFound
	case u.HeldBy != "" || u.rec == nil:
		return 0, claim.ErrNoPendingClaim
	case u.rec.ended:
		return 0, nil
	}
	d := u.rec.deadline.Sub(m.now)
	if d <= 0 {
		return 0, nil
	}
	n := int(d / smDay)
	if d%smDay != 0 {
		n++
	}
	return n, nil
}

// dueCount is how many expiries the sweep has to persist.
func (m *smModel) dueCount() int {
	n := 0
	for _, u := range m.users {
		if m.due(u.rec) {
			n++
		}
	}
	return n
}

// purge deletes, with their content, the users the sweep purges (P1,
// Y4): Inactive for Policy.InactivePurge and not held by a claim. A
// purged user's pending claim releases its original (P2), which a later
// sweep may purge in turn. It returns how many it purged.
func (m *smModel) purge() int {
	var due []claim.UserID
	for id, u := range m.users {
		if u.HeldBy == "" && u.State == claim.Inactive && !m.now.Before(u.InactiveSince.Add(smPurgeWindow)) {
			due = append(due, id)
		}
	}
	for _, id := range due {
		m.remove(id)
	}
	return len(due)
}

// ---- the machine ----

// smMachine drives the service and the model together.
type smMachine struct {
	e     *env
	m     *smModel
	ids   []claim.UserID // every user ID seen: originals and deleted ones included
	fresh int            // numbers fresh addresses
	seq   uint64         // the last event Check saw
	// lost and losses sum the content.deleted events up to seq.
	lost, losses int
}

func smNewMachine(tt *testing.T, t *rapid.T, newStore func(testing.TB) claim.Store) *smMachine {
	tb := rapidTB{TB: tt, rt: t}
	s := &smMachine{
		e: newEnvOn(tb, newStore(tb)),
		m: &smModel{now: t0, users: map[claim.UserID]smUser{}, claimant: map[string]claim.OrgID{}},
	}
	for _, o := range smWorld {
		s.e.mustOrg(tb, o.id, o.kind, o.created, o.settings)
		for _, d := range o.verifies {
			s.e.mustVerify(tb, o.id, d)
		}
	}
	// A few users to start with, so that runs reach claims early.
	for range rapid.IntRange(2, 6).Draw(t, "initial users") {
		org := rapid.SampledFrom(smSourceOrgs()).Draw(t, "initial org")
		dom := rapid.SampledFrom([]string{smDomX, smDomX, smDomY}).Draw(t, "initial domain")
		s.addUser(t, org, s.freshAddr(dom), rapid.IntRange(0, 5).Draw(t, "initial content"))
	}
	return s
}

// smSame fails unless got equals want.
func smSame(t *rapid.T, what string, want, got any) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return // a fast path: cmp.Diff's options only make more things equal
	}
	if diff := cmp.Diff(want, got, claimtest.CmpOptions()); diff != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

func smCollect[T any](t *rapid.T, what string, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for x, err := range seq {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		out = append(out, x)
	}
	return out
}

// noEvents fails if the service logged an event since Check: a refused
// operation writes nothing (O2, N3), not even an expiry it noticed (X3).
func (s *smMachine) noEvents(t *rapid.T, what string) {
	t.Helper()
	for ev, err := range s.e.svc.Events(s.e.ctx, s.seq) {
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		t.Fatalf("%s was refused but logged %s (%+v)", what, ev.Type, ev)
	}
}

func (s *smMachine) freshAddr(domain string) smAddr {
	s.fresh++
	a := fmt.Sprintf("u%d@%s", s.fresh, domain)
	return smAddr{raw: a, norm: a}
}

// drawUser draws a user ID: often one that focus accepts (when there is
// one), else any seen ID or an unknown one.
func (s *smMachine) drawUser(t *rapid.T, label string, focus func(claim.UserID) bool) claim.UserID {
	var focused []claim.UserID
	for _, id := range s.ids {
		if focus(id) {
			focused = append(focused, id)
		}
	}
	if len(focused) > 0 && smOften(t, label+" focused") {
		return rapid.SampledFrom(focused).Draw(t, label)
	}
	return rapid.SampledFrom(slices.Concat(s.ids, []claim.UserID{smUnknownID})).Draw(t, label)
}

// drawAddr draws an address input for AddUser or ChangeEmail: fresh on a
// domain, one an account has, malformed, reserved (N4) or empty; valid
// ones sometimes in upper case (N1).
func (s *smMachine) drawAddr(t *rapid.T, label string) smAddr {
	var a smAddr
	switch rapid.SampledFrom([]string{"fresh", "fresh", "fresh", "fresh", "fresh", "fresh", "taken", "malformed", "reserved", "empty"}).Draw(t, label+" kind") {
	case "fresh":
		a = s.freshAddr(rapid.SampledFrom([]string{smDomX, smDomY, smDomZ}).Draw(t, label+" domain"))
	case "taken":
		var taken []string
		for _, id := range s.ids {
			if u, ok := s.m.view(id); ok && u.HeldBy == "" {
				taken = append(taken, u.Email)
			}
		}
		if len(taken) == 0 {
			return s.freshAddr(smDomX)
		}
		e := rapid.SampledFrom(taken).Draw(t, label+" taken")
		a = smAddr{raw: e, norm: e}
	case "malformed":
		return smAddr{raw: "not-an-address", err: claim.ErrInvalidEmail}
	case "reserved":
		return smAddr{raw: "r@x.example" + smSuffix, err: claim.ErrInvalidEmail}
	case "empty":
		return smAddr{raw: "", err: claim.ErrInvalidEmail}
	}
	if rapid.Bool().Draw(t, label+" upper") {
		a.raw = strings.ToUpper(a.raw)
	}
	return a
}

// addUser adds a user to org through the service and the model.
func (s *smMachine) addUser(t *rapid.T, org claim.OrgID, a smAddr, content int) {
	t.Helper()
	var want error
	switch {
	case a.err != nil:
		want = a.err
	case content < 0:
		want = claim.ErrInvalidValue
	default:
		want = s.m.joinErr(org, a.norm)
	}
	got, err := s.e.svc.AddUser(s.e.ctx, org, claim.NewUser{Email: a.raw, FirstName: "F", LastName: "L", Content: content})
	expectErr(t, fmt.Sprintf("AddUser(%s, %q)", org, a.raw), err, want)
	if want != nil {
		s.noEvents(t, "AddUser")
		return
	}
	s.ids = append(s.ids, got.ID)
	smSame(t, "AddUser", s.m.addUser(got.ID, org, a.norm, content), got)
}

// ---- actions ----

func (s *smMachine) AddUser(t *rapid.T) {
	org := rapid.SampledFrom(smSourceOrgs()).Draw(t, "org")
	a := s.drawAddr(t, "email")
	content := rapid.IntRange(0, 5).Draw(t, "content")
	if rapid.IntRange(0, 9).Draw(t, "negative content") == 0 {
		content = -1
	}
	s.addUser(t, org, a, content)
}

func (s *smMachine) VerifyEmail(t *rapid.T) {
	id := s.drawUser(t, "user", func(id claim.UserID) bool {
		u, ok := s.m.view(id)
		return ok && u.State == claim.NotVerified
	})
	want, wantErr := s.m.verifyEmail(id)
	got, err := s.e.svc.VerifyEmail(s.e.ctx, id)
	s.compare(t, "VerifyEmail", want, wantErr, got, err)
}

func (s *smMachine) SignIn(t *rapid.T) {
	id := s.drawUser(t, "user", func(id claim.UserID) bool { return s.m.pending(id) && !s.m.users[id].rec.signedIn })
	want, wantErr := s.m.signIn(id)
	got, err := s.e.svc.SignIn(s.e.ctx, id)
	s.compare(t, "SignIn", want, wantErr, got, err)
}

func (s *smMachine) Deactivate(t *rapid.T) {
	id := s.drawUser(t, "user", func(id claim.UserID) bool {
		u, ok := s.m.view(id)
		return ok && u.HeldBy == "" && u.State != claim.Inactive
	})
	org := s.drawActingOrg(t, id)
	want, wantErr := s.m.deactivate(org, id)
	got, err := s.e.svc.Deactivate(s.e.ctx, org, id)
	s.compare(t, "Deactivate", want, wantErr, got, err)
}

func (s *smMachine) Reactivate(t *rapid.T) {
	id := s.drawUser(t, "user", func(id claim.UserID) bool {
		u, ok := s.m.view(id)
		return ok && u.State == claim.Inactive
	})
	org := s.drawActingOrg(t, id)
	want, wantErr := s.m.reactivate(org, id)
	got, err := s.e.svc.Reactivate(s.e.ctx, org, id)
	s.compare(t, "Reactivate", want, wantErr, got, err)
}

func (s *smMachine) DeleteUser(t *rapid.T) {
	id := s.drawUser(t, "user", s.m.pending)
	org := s.drawActingOrg(t, id)
	wantErr := s.m.deleteUser(org, id)
	err := s.e.svc.DeleteUser(s.e.ctx, org, id)
	expectErr(t, fmt.Sprintf("DeleteUser(%s, %s)", org, id), err, wantErr)
	if wantErr != nil {
		s.noEvents(t, "DeleteUser")
	}
}

// drawActingOrg draws the org acting on id: usually its own.
func (s *smMachine) drawActingOrg(t *rapid.T, id claim.UserID) claim.OrgID {
	if u, ok := s.m.view(id); ok && smOften(t, "own org") {
		return u.Org
	}
	return rapid.SampledFrom(smOrgIDs()).Draw(t, "org")
}

// compare checks a single-user operation's outcome against the model's.
func (s *smMachine) compare(t *rapid.T, op string, want claim.User, wantErr error, got claim.User, err error) {
	t.Helper()
	expectErr(t, op, err, wantErr)
	if wantErr != nil {
		s.noEvents(t, op)
		return
	}
	smSame(t, op, want, got)
}

func (s *smMachine) drawClaimOptions(t *rapid.T) claim.ClaimOptions {
	return claim.ClaimOptions{
		Acknowledge:   rapid.IntRange(0, 9).Draw(t, "acknowledge") > 0,
		ImmediateOnly: !smOften(t, "delayed allowed"),
		Licenses:      rapid.SampledFrom([][]string{nil, {"L2"}, {"L1", "L2"}}).Draw(t, "licenses"),
	}
}

func (s *smMachine) ClaimUsers(t *rapid.T) {
	b := rapid.SampledFrom([]claim.OrgID{smB1, smB2}).Draw(t, "claiming org")
	opts := s.drawClaimOptions(t)
	pool := slices.Concat(s.ids, s.ids, s.ids, []claim.UserID{smUnknownID, ""})
	var claimable []claim.UserID
	for _, id := range s.ids {
		if u, ok := s.m.view(id); ok && len(s.m.reasons(b, u)) == 0 {
			claimable = append(claimable, id)
		}
	}
	var in []smInput
	var ids []claim.UserID
	for range rapid.IntRange(1, 3).Draw(t, "inputs") {
		var id claim.UserID
		if len(claimable) > 0 && smOften(t, "claimable") {
			id = rapid.SampledFrom(claimable).Draw(t, "claimable id")
		} else {
			id = rapid.SampledFrom(pool).Draw(t, "id")
		}
		x := smInput{raw: string(id), key: string(id), id: id}
		if id == "" {
			x.err = claim.ErrInvalidValue
		}
		in, ids = append(in, x), append(ids, id)
	}
	got, err := s.e.svc.ClaimUsers(s.e.ctx, b, ids, opts)
	s.claimed(t, "ClaimUsers", b, in, opts, got, err)
}

func (s *smMachine) ClaimEmails(t *rapid.T) {
	b := rapid.SampledFrom([]claim.OrgID{smB1, smB2}).Draw(t, "claiming org")
	opts := s.drawClaimOptions(t)
	var in []smInput
	var raws []string
	for range rapid.IntRange(1, 3).Draw(t, "inputs") {
		var accounts, originals []string
		for _, u := range s.m.users {
			if u.HeldBy == "" {
				accounts = append(accounts, u.Email)
			} else {
				originals = append(originals, u.Email) // reads may not show it: ErrNotFound
			}
		}
		slices.Sort(accounts)
		slices.Sort(originals)
		var addr string
		switch rapid.SampledFrom([]string{"account", "account", "account", "original", "unknown", "malformed"}).Draw(t, "address kind") {
		case "account":
			if len(accounts) > 0 {
				addr = rapid.SampledFrom(accounts).Draw(t, "account")
			}
		case "original":
			if len(originals) > 0 {
				addr = rapid.SampledFrom(originals).Draw(t, "original")
			}
		case "malformed":
			in, raws = append(in, smInput{raw: "not-an-address", err: claim.ErrInvalidEmail}), append(raws, "not-an-address")
			continue
		}
		if addr == "" {
			addr = rapid.SampledFrom([]string{"nobody1@x.example", "nobody2@y.example"}).Draw(t, "unknown")
		}
		raw := addr
		switch rapid.SampledFrom([]string{"plain", "upper", "named"}).Draw(t, "form") {
		case "upper":
			raw = strings.ToUpper(addr)
		case "named":
			raw = "Some One <" + addr + ">"
		}
		x := smInput{raw: raw, key: addr, email: true}
		in, raws = append(in, x), append(raws, raw)
	}
	got, err := s.e.svc.ClaimEmails(s.e.ctx, b, raws, opts)
	s.claimed(t, "ClaimEmails", b, in, opts, got, err)
}

// claimed checks the results of a claim call and applies it to the model.
func (s *smMachine) claimed(t *rapid.T, op string, b claim.OrgID, in []smInput, opts claim.ClaimOptions, got []claim.Result, err error) {
	t.Helper()
	if !opts.Acknowledge {
		expectErr(t, op, err, claim.ErrNotAcknowledged) // K1
		s.noEvents(t, op)
		return
	}
	if err != nil {
		t.Fatalf("%s(%s) = %v", op, b, err)
	}
	// The service names the original accounts: learn their IDs.
	origIDs := map[claim.UserID]claim.UserID{}
	for _, r := range got {
		if r.Err == nil {
			u, err := s.e.svc.User(s.e.ctx, r.User)
			if err != nil || u.Claim == nil {
				t.Fatalf("%s: claimed %s, but User() = %+v, %v", op, r.User, u, err)
			}
			origIDs[r.User] = u.Claim.Original
			s.ids = append(s.ids, u.Claim.Original)
		}
	}
	want, reasons := s.m.claimCall(b, in, opts, origIDs)
	smSame(t, fmt.Sprintf("%s(%s, %+v) results", op, b, opts), want, got)
	anyClaimed := false
	for i, r := range got {
		anyClaimed = anyClaimed || r.Err == nil
		if reasons[i] == nil {
			continue
		}
		var re *claim.RefusalError
		if !errors.As(r.Err, &re) {
			t.Fatalf("%s: result %d: %v is not a *RefusalError", op, i, r.Err)
		}
		smSame(t, fmt.Sprintf("%s: reasons of %s", op, r.Input), reasons[i], re.Reasons)
	}
	if !anyClaimed {
		s.noEvents(t, op)
	}
}

func (s *smMachine) Retract(t *rapid.T) {
	id := s.drawUser(t, "user", func(id claim.UserID) bool { return s.m.pending(id) && !s.m.users[id].rec.signedIn })
	var org claim.OrgID
	if u, ok := s.m.view(id); ok && u.rec != nil && smOften(t, "by the claimant") {
		org = u.rec.by
	} else {
		org = rapid.SampledFrom(smOrgIDs()).Draw(t, "org")
	}
	reasons, wantErr := s.m.retract(org, id)
	err := s.e.svc.Retract(s.e.ctx, org, id)
	what := fmt.Sprintf("Retract(%s, %s)", org, id)
	switch {
	case wantErr != nil:
		expectErr(t, what, err, wantErr)
	case len(reasons) > 0:
		for _, r := range []error{claim.ErrNotClaimant, claim.ErrSignedIn, claim.ErrRetractWindowClosed, claim.ErrDomainClaimed, claim.ErrNoPendingClaim, claim.ErrNotFound} {
			if errors.Is(err, r) != slices.Contains(reasons, r) {
				t.Fatalf("%s = %v, want the reasons %v", what, err, reasons)
			}
		}
		var re *claim.RetractError
		if !errors.As(err, &re) {
			t.Fatalf("%s = %v, want a *RetractError", what, err)
		}
		smSame(t, what+": reasons in the order of R7", reasons, re.Reasons)
	default:
		expectErr(t, what, err, nil)
	}
	if err != nil {
		s.noEvents(t, "Retract")
	}
}

func (s *smMachine) Choose(t *rapid.T) {
	id := s.drawUser(t, "user", func(id claim.UserID) bool { return s.m.pending(id) && s.m.users[id].rec.signedIn })
	valid := []claim.Action{claim.ChangeEmail, claim.MigrateContent, claim.DeleteOriginal}
	a := rapid.SampledFrom(slices.Concat(valid, valid, valid, []claim.Action{0, claim.DeleteOriginal + 1})).Draw(t, "action")
	var addr smAddr
	if a == claim.ChangeEmail {
		addr = s.drawAddr(t, "new email")
	} else if rapid.IntRange(0, 7).Draw(t, "stray new email") == 0 {
		addr = s.freshAddr(smDomZ) // a NewEmail with another action
	}
	want, wantErr := s.m.choose(id, a, addr)
	got, err := s.e.svc.Choose(s.e.ctx, id, claim.Choice{Action: a, NewEmail: addr.raw})
	s.compare(t, fmt.Sprintf("Choose(%s, %v, %q)", id, a, addr.raw), want, wantErr, got, err)
}

func (s *smMachine) DaysLeft(t *rapid.T) {
	id := s.drawUser(t, "user", func(id claim.UserID) bool { u, ok := s.m.view(id); return ok && u.rec != nil })
	want, wantErr := s.m.daysLeft(id)
	got, err := s.e.svc.DaysLeft(s.e.ctx, id)
	expectErr(t, fmt.Sprintf("DaysLeft(%s)", id), err, wantErr)
	if got != want {
		t.Fatalf("DaysLeft(%s) = %d, want %d", id, got, want)
	}
}

func (s *smMachine) ClaimDomain(t *rapid.T) {
	org := rapid.SampledFrom([]claim.OrgID{smB1, smB2, smEnt, smIndOld}).Draw(t, "org")
	dom := rapid.SampledFrom([]string{smDomX, smDomY}).Draw(t, "domain")
	var want error
	switch c := s.m.claimant[dom]; {
	case !smVerifies(org, dom):
		want = claim.ErrDomainNotVerified
	case c != "" && c != org:
		want = claim.ErrDomainClaimedByOther
	default:
		s.m.claimant[dom] = org
	}
	err := s.e.svc.ClaimDomain(s.e.ctx, org, dom)
	expectErr(t, fmt.Sprintf("ClaimDomain(%s, %s)", org, dom), err, want)
	if want != nil {
		s.noEvents(t, "ClaimDomain")
	}
}

func (s *smMachine) ReleaseDomain(t *rapid.T) {
	org := rapid.SampledFrom([]claim.OrgID{smB1, smB2, smEnt, smIndOld}).Draw(t, "org")
	dom := rapid.SampledFrom([]string{smDomX, smDomY}).Draw(t, "domain")
	var want error
	switch c := s.m.claimant[dom]; {
	case c == "":
		want = claim.ErrNotFound
	case c != org:
		want = claim.ErrDomainClaimedByOther
	default:
		delete(s.m.claimant, dom)
	}
	err := s.e.svc.ReleaseDomain(s.e.ctx, org, dom)
	expectErr(t, fmt.Sprintf("ReleaseDomain(%s, %s)", org, dom), err, want)
	if want != nil {
		s.noEvents(t, "ReleaseDomain")
	}
}

func (s *smMachine) AdvanceClock(t *rapid.T) {
	d := rapid.SampledFrom(smClockSteps).Draw(t, "step")
	s.e.clock.Advance(d)
	s.m.now = s.m.now.Add(d)
}

// AdvanceToDeadline moves the clock to a pending claim's deadline, or
// 1 ns before or after it (X3).
func (s *smMachine) AdvanceToDeadline(t *rapid.T) {
	var deadlines []time.Time
	for _, u := range s.m.users {
		if u.rec != nil && !u.rec.ended && u.rec.deadline.After(s.m.now) {
			deadlines = append(deadlines, u.rec.deadline)
		}
	}
	if len(deadlines) == 0 {
		t.Skip("no deadline ahead")
	}
	slices.SortFunc(deadlines, time.Time.Compare)
	to := rapid.SampledFrom(deadlines).Draw(t, "deadline").Add(rapid.SampledFrom([]time.Duration{-time.Nanosecond, 0, time.Nanosecond}).Draw(t, "offset"))
	s.e.clock.Set(to)
	s.m.now = to
}

// Sweep resolves the due delayed claims, then purges the users Inactive
// for Policy.InactivePurge (P1, Y4).
func (s *smMachine) Sweep(t *rapid.T) {
	want := claim.SweepReport{Expired: s.m.dueCount()}
	for id := range s.m.users {
		s.m.persist(id)
	}
	want.Purged = s.m.purge()
	got, err := s.e.svc.Sweep(s.e.ctx)
	expectErr(t, "Sweep", err, nil)
	smSame(t, "Sweep", want, got)
}

// Check compares the service with the model: every org's users as reads
// show them (originals included), what each claiming org may retract, and
// the content ledger (C5).
func (s *smMachine) Check(t *rapid.T) {
	total := 0
	for _, o := range smWorld {
		got := smCollect(t, "Users", s.e.svc.Users(s.e.ctx, o.id))
		smSame(t, fmt.Sprintf("Users(%s) at %v", o.id, s.m.now), s.m.orgUsers(o.id), got)
		for _, u := range got {
			total += u.Content
		}
	}
	for _, b := range []claim.OrgID{smB1, smB2} {
		got := smCollect(t, "Retractable", s.e.svc.Retractable(s.e.ctx, b))
		smSame(t, fmt.Sprintf("Retractable(%s)", b), s.m.retractable(b), got)
	}
	for ev, err := range s.e.svc.Events(s.e.ctx, s.seq) {
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		if ev.Type == claim.EventContentDeleted {
			s.lost, s.losses = s.lost+ev.Content, s.losses+1
		}
		s.seq = ev.Seq
	}
	if total+s.lost != s.m.added {
		t.Fatalf("C5: content of all users %d + content.deleted %d != content added %d", total, s.lost, s.m.added)
	}
	if s.lost != s.m.lost || s.losses != s.m.losses {
		t.Fatalf("content.deleted events: %d events, %d items; want %d events, %d items", s.losses, s.lost, s.m.losses, s.m.lost)
	}
}

// TestStateMachinePostgres runs the state machine of TestStateMachine on
// the PostgreSQL store (see the postgres package's tests for the
// environment): one store in a schema of its own, emptied before each
// check. It skips when CLAIM_POSTGRES_DSN is unset or the server cannot
// be reached, and fails instead when CLAIM_REQUIRE_POSTGRES=1.
func TestStateMachinePostgres(t *testing.T) {
	store, empty := postgresStore(t)
	smRun(t, smPostgresChecks, func(tb testing.TB) claim.Store {
		empty(tb)
		return store
	})
}

// smPostgresChecks is the number of rapid checks TestStateMachinePostgres
// runs when the caller does not choose: fewer than the memory store's
// smMinChecks, because every step of the machine is a few round trips to
// the server (about a second per check under -race), and the test should
// take well under a minute. The conformance suite's own model-based test
// (storetest) covers the store itself; this one covers the engine on it.
const smPostgresChecks = 30
