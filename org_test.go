package claim_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

func TestRefuseOrgInput(t *testing.T) {
	create := func(o claim.Org) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			baseFixture(t, e)
			return func() error {
				_, err := e.svc.CreateOrg(e.ctx, o)
				return err
			}
		}
	}
	update := func(st claim.Settings) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			baseFixture(t, e)
			return func() error { return e.svc.UpdateSettings(e.ctx, "a", st) }
		}
	}
	runRefusals(t, []refusalCase{
		{reason: "N3: CreateOrg refuses an empty Name", op: "CreateOrg(Name \"\")",
			setup: create(claim.Org{ID: "zz", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.Name"},
		{reason: "N3: CreateOrg refuses a blank Name", op: "CreateOrg(Name \"  \")",
			setup: create(claim.Org{ID: "zz", Name: "  ", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.Name"},
		{reason: "N5: CreateOrg refuses Kind 0 (none)", op: "CreateOrg(Kind 0)",
			setup: create(claim.Org{ID: "zz", Name: "Z"}), want: claim.ErrInvalidValue, field: "Org.Kind"},
		{reason: "N5: CreateOrg refuses an unknown Kind", op: "CreateOrg(Kind 99)",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: 99}), want: claim.ErrInvalidValue, field: "Org.Kind"},
		{reason: "N3: CreateOrg refuses an ID with surrounding spaces", op: "CreateOrg(ID \" zz\")",
			setup: create(claim.Org{ID: " zz", Name: "Z", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.ID"},
		{reason: "N3: CreateOrg refuses an ID that exists", op: "CreateOrg(ID a)",
			setup: create(claim.Org{ID: "a", Name: "Again", Kind: claim.Consumer}), want: claim.ErrDuplicate},
		{reason: "N3: CreateOrg refuses a negative Retention", op: "CreateOrg(Retention -1ns)",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: claim.Enterprise, Settings: claim.Settings{Retention: -1}}), want: claim.ErrInvalidValue, field: "Settings.Retention"},
		{reason: "N3: CreateOrg refuses an empty license name", op: "CreateOrg(AutoLicenses [\" \"])",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: claim.Enterprise, Settings: claim.Settings{AutoLicenses: []string{"Meetings", " "}}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "N3: UpdateSettings refuses a negative Retention", op: "UpdateSettings(a, Retention -1h)",
			setup: update(claim.Settings{Retention: -time.Hour, SSO: true}), want: claim.ErrInvalidValue, field: "Settings.Retention"},
		{reason: "N3: UpdateSettings refuses an empty license name", op: "UpdateSettings(a, AutoLicenses [\"\"])",
			setup: update(claim.Settings{AutoLicenses: []string{""}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "V1: UpdateSettings refuses a license named like a CSV column", op: "UpdateSettings(a, AutoLicenses [\"claim type\"])",
			setup: update(claim.Settings{AutoLicenses: []string{"Meetings", "claim type"}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "V7: UpdateSettings refuses two licenses differing only in case", op: "UpdateSettings(a, AutoLicenses [Meetings MEETINGS])",
			setup: update(claim.Settings{AutoLicenses: []string{"Meetings", "Calling", "MEETINGS"}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "N5: Users refuses State 0 (none)", op: "Users(a, 0)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error { return firstErr(e.svc.Users(e.ctx, "a", 0)) }
			}, want: claim.ErrInvalidValue, field: "states"},
		{reason: "N5: Users refuses an unknown State", op: "Users(a, 99)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error { return firstErr(e.svc.Users(e.ctx, "a", claim.Active, 99)) }
			}, want: claim.ErrInvalidValue, field: "states"},
	})
}

// --- G1: DeleteOrg ---

func TestRefuseDeleteOrg(t *testing.T) {
	runRefusals(t, []refusalCase{
		{reason: "G1: an org that made a claim inside its window cannot be deleted", op: "DeleteOrg(b)",
			setup: func(t *testing.T, e *env) func() error {
				claimedFixture(t, e)
				return func() error { return e.svc.DeleteOrg(e.ctx, "b") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: nor the org one of whose users is claimed, inside the window", op: "DeleteOrg(a)",
			setup: func(t *testing.T, e *env) func() error {
				claimedFixture(t, e)
				return func() error { return e.svc.DeleteOrg(e.ctx, "a") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: a signed-in claim still inside its window blocks too, up to its last nanosecond", op: "DeleteOrg(b) at 14d-1ns",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				mustSignIn(t, e, ann.ID)
				e.clock.Advance(window - 1)
				return func() error { return e.svc.DeleteOrg(e.ctx, "b") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: a delayed claim's source org, in the window's last nanosecond", op: "DeleteOrg(i) at 14d-1ns",
			setup: func(t *testing.T, e *env) func() error {
				delayedFixture(t, e)
				e.clock.Advance(window - 1)
				return func() error { return e.svc.DeleteOrg(e.ctx, "i") }
			}, want: claim.ErrPendingClaims},
	})
	t.Run("G1: at exactly 14 days both orgs may be deleted", func(t *testing.T) {
		e := newEnv(t)
		claimedFixture(t, e)
		e.clock.Advance(window)
		for _, o := range []claim.OrgID{"a", "b"} {
			if err := e.svc.DeleteOrg(e.ctx, o); err != nil {
				t.Errorf("DeleteOrg(%s) = %v, want nil", o, err)
			}
		}
	})
}

// DeleteOrg and Webex for BroadWorks (B5, B6): an org an enterprise
// belongs to, or a partner whose enterprises still hold something, is not
// deleted; otherwise the org's profile and a partner's empty enterprises
// go with it.

// TestDeleteOrgBroadWorks: once detached, an attached org and an org
// created for an enterprise are deleted, each with its profile; a partner
// whose enterprises are empty and belong to no org is deleted with them.
func TestDeleteOrgBroadWorks(t *testing.T) {
	store := claim.NewMemoryStore()
	e := newEnvOn(t, store)
	for _, o := range []struct {
		id   claim.OrgID
		kind claim.OrgKind
	}{{partnerOrg, claim.Enterprise}, {consumerOrg, claim.Consumer}, {indOrg, claim.Individual}, {custOrg, claim.Enterprise}} {
		e.mustOrg(t, o.id, o.kind, oldOrgDate, claim.Settings{})
	}
	ann := e.mustActive(t, custOrg, "ann@cust.example", 0)
	e.mustEnterprise(t, "att", true, custOrg) // attached to cust
	e.mustEnterprise(t, "new", true, "")      // gets an org of its own
	e.mustEnterprise(t, "hyb", true, custOrg) // attached to cust after att, detached (hybrid)
	e.mustEnterprise(t, "idle", false, "")    // never provisioned
	e.mustProvision(t, "att", "s1", ann.Email)
	e.mustProvision(t, "new", "s2", "boss@new.example")
	newOrg := e.mustEnterpriseGet(t, "new").Org
	e.mustActive(t, consumerOrg, "carl@x.example", 4)
	if s := e.mustProvision(t, "new", "s3", "carl@x.example"); s.Status != claim.StatusPendingUserMigration {
		t.Fatalf("s3 = %+v, want pending consent", s)
	}

	// The attached org: detach (standard), then delete.
	e.mustRemoveSub(t, "s1")
	e.mustDetach(t, "att", claim.DetachStandard)
	seq := e.lastSeq(t)
	if err := e.svc.DeleteOrg(e.ctx, custOrg); err != nil {
		t.Fatalf("DeleteOrg(cust) after detaching = %v", err)
	}
	if diff := cmp.Diff([]string{claim.EventUserDeleted, claim.EventOrgDeleted}, types(e.events(t, seq))); diff != "" {
		t.Errorf("DeleteOrg(cust) events (-want +got):\n%s", diff)
	}
	noProfile(t, store, custOrg)
	// The same ID again is a new org, with the zero profile.
	e.mustOrg(t, custOrg, claim.Enterprise, oldOrgDate, claim.Settings{})
	if diff := cmp.Diff(claim.OrgProfile{Org: custOrg}, e.mustProfile(t, custOrg)); diff != "" {
		t.Errorf("profile of a new org with a deleted one's ID (-want +got):\n%s", diff)
	}

	// The org created for "new": detaching is allowed (B6), standard
	// cancels the BroadWorks license and the partner's access and deletes
	// the enterprise; the org stays until deleted.
	e.mustRemoveSub(t, "s2", "s3")
	e.mustDetach(t, "new", claim.DetachStandard)
	if _, err := e.svc.BroadWorks().Enterprise(e.ctx, partnerOrg, "new"); !errors.Is(err, claim.ErrNotFound) {
		t.Errorf("Enterprise(new) after a standard detach = %v, want ErrNotFound", err)
	}
	wantProf := claim.OrgProfile{Org: newOrg, Admins: []claim.Admin{{Email: "boss@new.example", Role: claim.FullAdmin}},
		Licenses: []claim.OrgLicense{{Name: claim.BroadWorksLicense, Status: claim.LicenseCancelled}}}
	if diff := cmp.Diff(wantProf, e.mustProfile(t, newOrg)); diff != "" {
		t.Errorf("profile of the org created for new, detached (-want +got):\n%s", diff)
	}
	if err := e.svc.DeleteOrg(e.ctx, newOrg); err != nil {
		t.Fatalf("DeleteOrg(%s) after detaching = %v", newOrg, err)
	}
	noProfile(t, store, newOrg)
	if u, err := e.svc.UserByEmail(e.ctx, "carl@x.example"); err != nil || u.Org != consumerOrg || u.Content != 4 {
		t.Errorf("carl = %+v, %v; want untouched in the consumer org (his move was removed, never consented)", u, err)
	}

	// The partner: hyb attaches to the new cust and is detached (hybrid:
	// the partner's admin entry in cust stays); idle never had an org.
	ann2 := e.mustActive(t, custOrg, "ann@cust.example", 0)
	e.mustProvision(t, "hyb", "s4", ann2.Email)
	e.mustRemoveSub(t, "s4")
	e.mustDetach(t, "hyb", claim.DetachHybrid)
	seq = e.lastSeq(t)
	if err := e.svc.DeleteOrg(e.ctx, partnerOrg); err != nil {
		t.Fatalf("DeleteOrg(partner) with empty enterprises in no org = %v", err)
	}
	evs := e.events(t, seq)
	if diff := cmp.Diff([]string{claim.EventEnterpriseDeleted, claim.EventEnterpriseDeleted, claim.EventOrgDeleted}, types(evs)); diff != "" {
		t.Fatalf("DeleteOrg(partner) events (-want +got):\n%s", diff)
	}
	if evs[0].Detail != "hyb" || evs[1].Detail != "idle" || evs[0].Org != partnerOrg {
		t.Errorf("bw.enterprise_deleted events = %+v, want hyb then idle, of the partner", evs[:2])
	}
	noProfile(t, store, partnerOrg)
	e.mustOrg(t, partnerOrg, claim.Enterprise, oldOrgDate, claim.Settings{})
	for _, id := range []claim.EnterpriseID{"att", "new", "hyb", "idle"} {
		if _, err := e.svc.BroadWorks().Enterprise(e.ctx, partnerOrg, id); !errors.Is(err, claim.ErrNotFound) {
			t.Errorf("Enterprise(%s) of a deleted partner = %v, want ErrNotFound", id, err)
		}
	}
	e.mustEnterprise(t, "idle", false, "") // the ID is free again
	if u := e.mustGet(t, ann2.ID); u.Org != custOrg {
		t.Errorf("ann of cust = %+v, want kept: cust was only detached from hyb", u)
	}
	if _, ok := adminOf(e.mustProfile(t, custOrg), templateAdmin); !ok {
		t.Errorf("partner admin entry in cust gone, want it left to cust's admins (documented)")
	}
}

// TestRefuseDeleteOrgBroadWorks: every BroadWorks refusal of DeleteOrg,
// on the refusal world plus a second partner p2 with enterprises q1 (no
// subscriber, no workspace) and q2; each leaves users, events,
// enterprises, subscribers and profiles as they were.
func TestRefuseDeleteOrgBroadWorks(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		setup  func(tb testing.TB, e *env) // after the world, before the snapshot
		org    func(tb testing.TB, e *env) claim.OrgID
		want   error
		remain *claim.DetachError // for ErrDetachBlocked: what remains
	}{
		{
			name:   "attached customer org",
			reason: "ent is attached to cust: detach it first (B6)",
			org:    func(testing.TB, *env) claim.OrgID { return custOrg },
			want:   claim.ErrEnterpriseAttached,
		},
		{
			name:   "org created for an enterprise",
			reason: "fresh's first provisioning created an org (B2); its subscribers are accounts of it",
			setup:  func(tb testing.TB, e *env) { e.mustProvision(tb, "fresh", "sf", "new@else.example") },
			org:    func(tb testing.TB, e *env) claim.OrgID { return e.mustEnterpriseGet(tb, "fresh").Org },
			want:   claim.ErrEnterpriseAttached,
		},
		{
			name:   "org created for an enterprise, no subscriber left",
			reason: "removing the subscribers is not enough: the enterprise still belongs to the org until it is detached",
			setup: func(tb testing.TB, e *env) {
				e.mustProvision(tb, "fresh", "sf", "new@else.example")
				e.mustRemoveSub(tb, "sf")
			},
			org:  func(tb testing.TB, e *env) claim.OrgID { return e.mustEnterpriseGet(tb, "fresh").Org },
			want: claim.ErrEnterpriseAttached,
		},
		{
			name:   "partner with an attached enterprise",
			reason: "the partner's ent belongs to cust: detach it first",
			org:    func(testing.TB, *env) claim.OrgID { return partnerOrg },
			want:   claim.ErrEnterpriseAttached,
		},
		{
			name:   "partner whose enterprise has a workspace",
			reason: "q2 has a BroadWorks workspace (B6); q1, empty, is not deleted either",
			setup: func(tb testing.TB, e *env) {
				if err := e.svc.BroadWorks().AddWorkspace(e.ctx, partner2Org, "q2", "lobby"); err != nil {
					tb.Fatalf("AddWorkspace() = %v", err)
				}
			},
			org:    func(testing.TB, *env) claim.OrgID { return partner2Org },
			want:   claim.ErrDetachBlocked,
			remain: &claim.DetachError{Enterprise: "q2", Workspaces: 1},
		},
		{
			name:   "partner whose enterprise has a pending user",
			reason: "q2's untrusted subscriber waits for its address (pending_email_input)",
			setup:  func(tb testing.TB, e *env) { e.mustProvisionOf(tb, partner2Org, "q2", "sq", "") },
			org:    func(testing.TB, *env) claim.OrgID { return partner2Org },
			want:   claim.ErrDetachBlocked,
			remain: &claim.DetachError{Enterprise: "q2", Pending: 1},
		},
		{
			name:   "partner whose enterprise waits for approval",
			reason: "q3's first subscriber waits for other's admin to approve the attach (status error, B3): a subscriber",
			setup: func(tb testing.TB, e *env) {
				e.mustEnterpriseOf(tb, partner2Org, "q3", true, otherOrg)
				if s := e.mustProvisionOf(tb, partner2Org, "q3", "sq", "oscar@other.example"); s.Status != claim.StatusError {
					tb.Fatalf("sq = %+v, want status error", s)
				}
			},
			org:    func(testing.TB, *env) claim.OrgID { return partner2Org },
			want:   claim.ErrDetachBlocked,
			remain: &claim.DetachError{Enterprise: "q3", Subscribers: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := broadWorksRefusalWorld(t)
			e.mustOrg(t, partner2Org, claim.Enterprise, oldOrgDate, claim.Settings{})
			e.mustEnterpriseOf(t, partner2Org, "q1", true, "")
			e.mustEnterpriseOf(t, partner2Org, "q2", false, "")
			if tt.setup != nil {
				tt.setup(t, e)
			}
			org := tt.org(t, e)
			snap := func() broadWorksState {
				return e.broadWorksSnapshotOf(t, map[claim.OrgID][]claim.EnterpriseID{
					partnerOrg: broadWorksEnterprises, partner2Org: {"q1", "q2", "q3"}}, append(broadWorksOrgs, partner2Org))
			}
			before := snap()
			err := e.svc.DeleteOrg(e.ctx, org)
			if !errors.Is(err, tt.want) {
				t.Fatalf("%s: DeleteOrg(%s) = %v, want %v", tt.reason, org, err, tt.want)
			}
			var de *claim.DetachError
			if errors.As(err, &de) != (tt.remain != nil) {
				t.Errorf("%s: DeleteOrg(%s) = %#v, want a *DetachError: %v", tt.reason, org, err, tt.remain != nil)
			} else if de != nil {
				if diff := cmp.Diff(*tt.remain, *de); diff != "" {
					t.Errorf("%s: what remains (-want +got):\n%s", tt.reason, diff)
				}
			}
			if diff := cmp.Diff(before, snap(), claimtest.CmpOptions()); diff != "" {
				t.Errorf("%s: a refused DeleteOrg changed the world (-before +after):\n%s", tt.reason, diff)
			}
			if _, err := e.svc.Org(e.ctx, org); err != nil {
				t.Errorf("%s: Org(%s) after the refusal = %v, want it kept", tt.reason, org, err)
			}
		})
	}
}

// noProfile fails unless the store holds no profile of org.
func noProfile(tb testing.TB, store claim.Store, org claim.OrgID) {
	tb.Helper()
	err := store.View(tb.Context(), func(tx claim.Tx) error {
		_, err := tx.OrgProfile(org)
		return err
	})
	if !errors.Is(err, claim.ErrNotFound) {
		tb.Errorf("store's OrgProfile(%s) after DeleteOrg = %v, want ErrNotFound", org, err)
	}
}

const partner2Org claim.OrgID = "p2" // a second partner, whose enterprises belong to no org

// mustDetach detaches the partner's enterprise.
func (e *env) mustDetach(tb testing.TB, id claim.EnterpriseID, flow claim.DetachFlow) {
	tb.Helper()
	if err := e.svc.BroadWorks().Detach(e.ctx, partnerOrg, id, flow); err != nil {
		tb.Fatalf("Detach(%s, %s) = %v", id, flow, err)
	}
}

// mustEnterpriseOf creates an enterprise of partner.
func (e *env) mustEnterpriseOf(tb testing.TB, partner claim.OrgID, id claim.EnterpriseID, trusted bool, target claim.OrgID) {
	tb.Helper()
	if _, err := e.svc.BroadWorks().CreateEnterprise(e.ctx, claim.BroadWorksEnterprise{ID: id, Partner: partner, Name: "Enterprise " + string(id),
		Template: claim.Template{PartnerAdmin: templateAdmin, TrustedEmail: trusted}, Target: target}); err != nil {
		tb.Fatalf("CreateEnterprise(%s, %s) = %v", partner, id, err)
	}
}

// mustProvisionOf provisions a subscriber of partner's enterprise.
func (e *env) mustProvisionOf(tb testing.TB, partner claim.OrgID, ent claim.EnterpriseID, id claim.SubscriberID, email string) claim.Subscriber {
	tb.Helper()
	s, err := e.svc.BroadWorks().ProvisionSubscriber(e.ctx, partner, ent, claim.NewSubscriber{ID: id, Email: email})
	if err != nil {
		tb.Fatalf("ProvisionSubscriber(%s, %s, %s) = %v", partner, ent, id, err)
	}
	return s
}

// mustRemoveSub removes subscribers of the partner's enterprises.
func (e *env) mustRemoveSub(tb testing.TB, ids ...claim.SubscriberID) {
	tb.Helper()
	for _, id := range ids {
		if err := e.svc.BroadWorks().RemoveSubscriber(e.ctx, partnerOrg, id); err != nil {
			tb.Fatalf("RemoveSubscriber(%s) = %v", id, err)
		}
	}
}
