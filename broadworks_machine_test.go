package claim_test

// A model-based test of subscriber provisioning (B1–B5)
// in all three flows: rapid drives the Service and a plain model through
// random sequences of provisioning, address entry and validation,
// self-activation, consent, retries, removals and new consumer accounts,
// and checks after every step that
//
//   - every subscriber and every account is as the model predicts;
//   - no subscriber whose address had an account of a Consumer or
//     Individual org reaches provisioned except through Consent (B1);
//   - an old account is deleted exactly by the Consent that moves its
//     address, never before, and that step's events record its content
//     loss (content.deleted) — no other step deletes any account;
//   - an enterprise, once in an org, stays in it, and no org ever belongs
//     to two enterprises (B5).

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/claimkit/claim"
)

// TestBWStateMachine runs the provisioning machine on memory stores.
func TestBWStateMachine(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		rt.Repeat(rapid.StateMachineActions(newBWMachine(t, claim.NewMemoryStore())))
	})
}

// bwPostgresChecks is the number of rapid checks TestBWStateMachinePostgres
// runs when the caller does not choose (see rapidChecks): every step is a few
// dozen round trips to the server (the step, then Check's reads), so a
// check costs about a third of a second under -race, and the test should
// stay well under 30 s. The memory-store run (TestBWStateMachine) explores
// more.
const bwPostgresChecks = 30

// TestBWStateMachinePostgres runs the provisioning machine of
// TestBWStateMachine on the PostgreSQL store: one store in a schema of its
// own, emptied before each check (see TestStateMachinePostgres). It skips
// when CLAIM_POSTGRES_DSN is unset or the server cannot be reached, and
// fails instead when CLAIM_REQUIRE_POSTGRES=1.
func TestBWStateMachinePostgres(t *testing.T) {
	store, empty := postgresStore(t)
	rapidChecks(t, bwPostgresChecks, func(rt *rapid.T) {
		empty(t)
		rt.Repeat(rapid.StateMachineActions(newBWMachine(t, store)))
	})
}

// The machine's enterprises: et (trusted), eu (untrusted), ea and ex
// (trusted, both target cust: only one can have it, B5), eb (trusted,
// targets big, whose verified domain makes its attach wait for approval).
var (
	bwmEnts    = []claim.EnterpriseID{"et", "eu", "ea", "ex", "eb"}
	bwmTargets = map[claim.EnterpriseID]claim.OrgID{"ea": custOrg, "ex": custOrg, "eb": "big"}
	bwmSubs    = []claim.SubscriberID{"s1", "s2", "s3", "s4", "s5", "s6"}
	bwmFree    = []string{"a@x.example", "b@x.example", "c@x.example", "d@x.example"} // consumer accounts come and go
	bwmAddrs   = append(slices.Clone(bwmFree), "ann@cust.example", "bob@cust.example", "bea@big.example", "oscar@other.example")
)

// bwmUser is the model's account.
type bwmUser struct {
	id      claim.UserID
	org     claim.OrgID
	content int
}

// bwmSub is the model's subscriber.
type bwmSub struct {
	ent    claim.EnterpriseID
	email  string
	status claim.SubscriberStatus
	admin  bool
	user   claim.UserID
	old    claim.UserID
}

type bwMachine struct {
	e        *env
	kinds    map[claim.OrgID]claim.OrgKind
	users    map[string]bwmUser // by address
	subs     map[claim.SubscriberID]bwmSub
	entOrg   map[claim.EnterpriseID]claim.OrgID
	hadOld   map[claim.SubscriberID]bool // was ever pending_user_migration
	consents map[claim.SubscriberID]bool // the service logged bw.consent for it
	seq      uint64                      // the last event seen
}

// newBWMachine builds the machine's world on store, which must be empty.
func newBWMachine(tb testing.TB, store claim.Store) *bwMachine {
	e := broadWorksWorldOn(tb, store)
	e.mustOrg(tb, "big", claim.Enterprise, oldOrgDate, claim.Settings{})
	e.mustVerify(tb, "big", "big.example")
	m := &bwMachine{e: e, users: map[string]bwmUser{}, subs: map[claim.SubscriberID]bwmSub{},
		entOrg: map[claim.EnterpriseID]claim.OrgID{}, hadOld: map[claim.SubscriberID]bool{}, consents: map[claim.SubscriberID]bool{},
		kinds: map[claim.OrgID]claim.OrgKind{consumerOrg: claim.Consumer, indOrg: claim.Individual, custOrg: claim.Enterprise,
			otherOrg: claim.Enterprise, "big": claim.Enterprise, partnerOrg: claim.Enterprise}}
	for _, a := range []struct {
		org   claim.OrgID
		email string
	}{{custOrg, "ann@cust.example"}, {custOrg, "bob@cust.example"}, {"big", "bea@big.example"}, {otherOrg, "oscar@other.example"}} {
		u := e.mustUser(tb, a.org, a.email, 1)
		m.users[a.email] = bwmUser{u.ID, a.org, 1}
	}
	for _, id := range bwmEnts {
		e.mustEnterprise(tb, id, id != "eu", bwmTargets[id])
	}
	m.seq = e.lastSeq(tb)
	return m
}

// step checks the events of the step that just ran: only a successful
// Consent deletes an account, and then exactly the old one, with its
// content loss recorded (B1). It notes the subscribers whose consent the
// service logged.
func (m *bwMachine) step(t *rapid.T, consented *bwmUser) {
	evs := m.e.events(t, m.seq)
	if len(evs) > 0 {
		m.seq = evs[len(evs)-1].Seq
	}
	var deleted []claim.UserID
	lost := map[claim.UserID]int{}
	for _, ev := range evs {
		switch ev.Type {
		case claim.EventUserDeleted:
			deleted = append(deleted, ev.User)
		case claim.EventContentDeleted:
			lost[ev.User] += ev.Content
		case claim.EventConsent:
			m.consents[ev.Subscriber] = true
		}
	}
	if consented == nil {
		if len(deleted) > 0 || len(lost) > 0 {
			t.Fatalf("accounts %v deleted (content %v) outside a consent (B1)", deleted, lost)
		}
		return
	}
	if !slices.Equal(deleted, []claim.UserID{consented.id}) || lost[consented.id] != consented.content || len(lost) > 1 {
		t.Fatalf("consent deleted %v with content %v, want exactly %s with %d items lost (B1)", deleted, lost, consented.id, consented.content)
	}
}

// home is the org a customer user must be in to be placed for ent.
func (m *bwMachine) home(ent claim.EnterpriseID) claim.OrgID {
	if o := m.entOrg[ent]; o != "" {
		return o
	}
	return bwmTargets[ent]
}

// emailErr predicts emailFree and checkAddress.
func (m *bwMachine) emailErr(ent claim.EnterpriseID, id claim.SubscriberID, email string) error {
	for sid, s := range m.subs {
		if sid != id && s.email == email {
			return claim.ErrEmailTaken
		}
	}
	if u, ok := m.users[email]; ok && m.kinds[u.org] == claim.Enterprise && (u.org != m.home(ent) || m.home(ent) == "") {
		return claim.ErrUseAttach
	}
	return nil
}

// approvalErr predicts approvalPending.
func (m *bwMachine) approvalErr(ent claim.EnterpriseID, id claim.SubscriberID) error {
	if m.entOrg[ent] != "" {
		return nil
	}
	for sid, s := range m.subs {
		if sid != id && s.ent == ent && s.status == claim.StatusError {
			return claim.ErrApprovalRequired
		}
	}
	return nil
}

// place predicts placing s's address: the error, or the new subscriber
// (with what only the service knows filled in from got).
func (m *bwMachine) place(t *rapid.T, id claim.SubscriberID, s bwmSub, got claim.Subscriber, err error, call string) {
	u, found := m.users[s.email]
	org := m.entOrg[s.ent]
	if org == "" {
		target := bwmTargets[s.ent]
		if target != "" && found && u.org == target {
			for other, o := range m.entOrg {
				if o == target && other != s.ent {
					expectErr(t, call, err, claim.ErrOrgMapped)
					return
				}
			}
			expectErr(t, call, err, nil)
			if target == "big" { // a verified domain: approval needed (B3)
				s.status = claim.StatusError
				m.subs[id] = s
				if r := got.Err(); !errors.Is(r, claim.ErrApprovalRequired) {
					t.Fatalf("%s: Err() = %v, want ErrApprovalRequired", call, r)
				}
				return
			}
			m.entOrg[s.ent] = target
			s.status, s.user = claim.StatusProvisioned, u.id // B4: not an admin
			m.subs[id] = s
			return
		}
		if found && m.kinds[u.org] == claim.Enterprise {
			expectErr(t, call, err, claim.ErrUseAttach)
			return
		}
		expectErr(t, call, err, nil)
		ent := m.e.mustEnterpriseGet(t, s.ent)
		if ent.Org == "" || ent.Attach != claim.AttachNew {
			t.Fatalf("%s: enterprise %+v, want a new org (B2)", call, ent)
		}
		org = ent.Org
		m.entOrg[s.ent], m.kinds[org] = org, claim.Enterprise
		s.admin = true
	}
	switch {
	case !found:
		expectErr(t, call, err, nil)
		s.status, s.user = claim.StatusProvisioned, got.User
		m.users[s.email] = bwmUser{got.User, org, 0}
	case u.org == org:
		expectErr(t, call, err, nil)
		s.status, s.user = claim.StatusProvisioned, u.id
	case m.kinds[u.org] == claim.Enterprise:
		expectErr(t, call, err, claim.ErrUseAttach)
		return
	default:
		expectErr(t, call, err, nil)
		s.status, s.old = claim.StatusPendingUserMigration, u.id
		m.hadOld[id] = true
	}
	m.subs[id] = s
}

func (m *bwMachine) AddConsumerAccount(t *rapid.T) {
	email := rapid.SampledFrom(bwmFree).Draw(t, "email")
	if _, ok := m.users[email]; ok {
		t.Skip("address in use")
	}
	org := rapid.SampledFrom([]claim.OrgID{consumerOrg, indOrg}).Draw(t, "org")
	content := rapid.IntRange(0, 5).Draw(t, "content")
	u, err := m.e.svc.AddUser(m.e.ctx, org, claim.NewUser{Email: email, Content: content})
	if err != nil {
		t.Fatalf("AddUser(%s, %s) = %v", org, email, err)
	}
	m.users[email] = bwmUser{u.ID, org, content}
	m.step(t, nil)
}

func (m *bwMachine) Provision(t *rapid.T) {
	ent := rapid.SampledFrom(bwmEnts).Draw(t, "enterprise")
	id := rapid.SampledFrom(bwmSubs).Draw(t, "subscriber")
	email := ""
	if ent != "eu" {
		email = rapid.SampledFrom(bwmAddrs).Draw(t, "email")
	}
	got, err := m.e.svc.BroadWorks().ProvisionSubscriber(m.e.ctx, partnerOrg, ent, claim.NewSubscriber{ID: id, Email: email})
	call := fmt.Sprintf("ProvisionSubscriber(%s, %s, %q)", ent, id, email)
	defer m.step(t, nil)
	if _, ok := m.subs[id]; ok {
		expectErr(t, call, err, claim.ErrDuplicate)
		return
	}
	if ent == "eu" {
		expectErr(t, call, err, nil)
		m.subs[id] = bwmSub{ent: ent, status: claim.StatusPendingEmailInput}
		return
	}
	for _, s := range m.subs {
		if s.email == email {
			expectErr(t, call, err, claim.ErrEmailTaken)
			return
		}
	}
	if werr := m.approvalErr(ent, id); werr != nil {
		expectErr(t, call, err, werr)
		return
	}
	m.place(t, id, bwmSub{ent: ent, email: email}, got, err, call)
}

func (m *bwMachine) EnterEmail(t *rapid.T) {
	id := rapid.SampledFrom(bwmSubs).Draw(t, "subscriber")
	email := rapid.SampledFrom(bwmAddrs).Draw(t, "email")
	_, err := m.e.svc.BroadWorks().EnterEmail(m.e.ctx, id, email)
	call := fmt.Sprintf("EnterEmail(%s, %q)", id, email)
	defer m.step(t, nil)
	s, ok := m.subs[id]
	switch {
	case !ok:
		expectErr(t, call, err, claim.ErrNotFound)
	case s.status != claim.StatusPendingEmailInput:
		expectErr(t, call, err, claim.ErrSubscriberStatus)
	default:
		werr := m.emailErr(s.ent, id, email)
		expectErr(t, call, err, werr)
		if werr == nil {
			s.email, s.status = email, claim.StatusPendingEmailValidation
			m.subs[id] = s
		}
	}
}

func (m *bwMachine) SelfActivate(t *rapid.T) {
	ent := rapid.SampledFrom(bwmEnts).Draw(t, "enterprise")
	id := rapid.SampledFrom(bwmSubs).Draw(t, "subscriber")
	email := rapid.SampledFrom(bwmAddrs).Draw(t, "email")
	_, err := m.e.svc.BroadWorks().SelfActivate(m.e.ctx, ent, claim.NewSubscriber{ID: id, Email: email})
	call := fmt.Sprintf("SelfActivate(%s, %s, %q)", ent, id, email)
	defer m.step(t, nil)
	if _, ok := m.subs[id]; ok {
		expectErr(t, call, err, claim.ErrDuplicate)
		return
	}
	werr := m.emailErr(ent, id, email)
	expectErr(t, call, err, werr)
	if werr == nil {
		m.subs[id] = bwmSub{ent: ent, email: email, status: claim.StatusPendingEmailValidation}
	}
}

func (m *bwMachine) ValidateEmail(t *rapid.T) {
	id := rapid.SampledFrom(bwmSubs).Draw(t, "subscriber")
	got, err := m.e.svc.BroadWorks().ValidateEmail(m.e.ctx, id)
	call := fmt.Sprintf("ValidateEmail(%s)", id)
	defer m.step(t, nil)
	s, ok := m.subs[id]
	switch {
	case !ok:
		expectErr(t, call, err, claim.ErrNotFound)
	case s.status != claim.StatusPendingEmailValidation:
		expectErr(t, call, err, claim.ErrSubscriberStatus)
	case m.approvalErr(s.ent, id) != nil:
		expectErr(t, call, err, claim.ErrApprovalRequired)
	default:
		m.place(t, id, s, got, err, call)
	}
}

func (m *bwMachine) Retry(t *rapid.T) {
	id := rapid.SampledFrom(bwmSubs).Draw(t, "subscriber")
	got, err := m.e.svc.BroadWorks().RetrySubscriber(m.e.ctx, partnerOrg, id)
	call := fmt.Sprintf("RetrySubscriber(%s)", id)
	defer m.step(t, nil)
	s, ok := m.subs[id]
	switch {
	case !ok:
		expectErr(t, call, err, claim.ErrNotFound)
	case s.status != claim.StatusError:
		expectErr(t, call, err, claim.ErrSubscriberStatus)
	default:
		m.place(t, id, s, got, err, call)
	}
}

func (m *bwMachine) Consent(t *rapid.T) {
	id := rapid.SampledFrom(bwmSubs).Draw(t, "subscriber")
	got, err := m.e.svc.BroadWorks().Consent(m.e.ctx, id)
	call := fmt.Sprintf("Consent(%s)", id)
	s, ok := m.subs[id]
	switch {
	case !ok:
		expectErr(t, call, err, claim.ErrNotFound)
	case s.status != claim.StatusPendingUserMigration:
		expectErr(t, call, err, claim.ErrSubscriberStatus)
	default:
		expectErr(t, call, err, nil)
		old, had := m.users[s.email]
		if !had {
			t.Fatalf("%s: the model lost the old account of %s", call, s.email)
		}
		m.step(t, &old)
		s.status, s.user, s.old = claim.StatusProvisioned, got.User, ""
		m.subs[id] = s
		m.users[s.email] = bwmUser{got.User, m.entOrg[s.ent], 0}
		return
	}
	m.step(t, nil)
}

func (m *bwMachine) Remove(t *rapid.T) {
	id := rapid.SampledFrom(bwmSubs).Draw(t, "subscriber")
	err := m.e.svc.BroadWorks().RemoveSubscriber(m.e.ctx, partnerOrg, id)
	if _, ok := m.subs[id]; !ok {
		expectErr(t, "RemoveSubscriber", err, claim.ErrNotFound)
	} else {
		expectErr(t, "RemoveSubscriber", err, nil)
		delete(m.subs, id) // its account, if any, stays
		delete(m.hadOld, id)
		delete(m.consents, id)
	}
	m.step(t, nil)
}

// Check compares the service with the model and checks the invariants.
func (m *bwMachine) Check(t *rapid.T) {
	for _, id := range bwmSubs {
		got, err := m.e.svc.BroadWorks().Subscriber(m.e.ctx, id)
		s, ok := m.subs[id]
		if !ok {
			if !errors.Is(err, claim.ErrNotFound) {
				t.Fatalf("Subscriber(%s) = %+v, %v; want ErrNotFound", id, got, err)
			}
			continue
		}
		if err != nil || got.Enterprise != s.ent || got.Email != s.email || got.Status != s.status ||
			got.Admin != s.admin || got.User != s.user || got.Old != s.old {
			t.Fatalf("Subscriber(%s) = %+v, %v; want %+v", id, got, err, s)
		}
		// B1: no subscriber whose address had an old account is provisioned
		// without the service having logged its consent.
		if s.status == claim.StatusProvisioned && m.hadOld[id] && !m.consents[id] {
			t.Fatalf("subscriber %s provisioned without consent (B1)", id)
		}
	}
	for _, email := range bwmAddrs {
		got, err := m.e.svc.UserByEmail(m.e.ctx, email)
		u, ok := m.users[email]
		if !ok {
			if !errors.Is(err, claim.ErrNotFound) {
				t.Fatalf("UserByEmail(%s) = %+v, %v; want ErrNotFound", email, got, err)
			}
			continue
		}
		if err != nil || got.ID != u.id || got.Org != u.org || got.Content != u.content {
			t.Fatalf("UserByEmail(%s) = %+v, %v; want %+v", email, got, err, u)
		}
	}
	seen := map[claim.OrgID]claim.EnterpriseID{}
	for _, id := range bwmEnts {
		ent := m.e.mustEnterpriseGet(t, id)
		if ent.Org != m.entOrg[id] {
			t.Fatalf("enterprise %s in org %q, want %q (B5: it never moves)", id, ent.Org, m.entOrg[id])
		}
		if other, dup := seen[ent.Org]; dup && ent.Org != "" {
			t.Fatalf("org %s belongs to enterprises %s and %s (B5)", ent.Org, other, id)
		}
		seen[ent.Org] = id
	}
}
