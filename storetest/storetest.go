// Package storetest is the conformance suite of claim.Store: every Store
// must pass it, so it is the executable definition of the Store and Tx
// contracts (in the manner of testing/fstest.TestFS).
//
// Run checks, in named subtests: the create, read, update and delete
// methods of orgs, domains and users with their errors (ErrNotFound,
// ErrDuplicate, ErrEmailTaken, ErrDomainClaimedByOther, ErrInvalidValue for
// a limit <= 0); that values passed in and returned are copies; that
// UpdateUser and DeleteUser keep every index in step; the order, the
// exclusive after key and the paging of every list; the event sequence;
// that an Update whose fn fails or panics leaves no trace, not even a used
// event number; that a View cannot write; that concurrent Updates are
// serializable; the Webex-for-BroadWorks records (enterprises with one org
// each, B5, also under racing Updates; subscribers with unique addresses
// and their list by enterprise; org profiles; their rollback); meeting
// sites and what users hold on them (S1), removed with the site and with
// the user, and their rollback; that the
// store holds byte for byte every string the Service's limits accept —
// the longest IDs, names and addresses, and every byte and notable
// character inside them — while the Service refuses the rest before the
// store (limits.go); the leases of a claim.Leaser, if the store is one
// (lease.go); that followers of the event log (Service.WaitEvents,
// Follow) see every committed event once, in order, and wake within
// MaxWakeLatency of a commit on a store that notifies them (follow.go);
// and, in a rapid state-machine test, that random sequences
// of writes keep every query equal to a model built of plain maps.
//
// Run it under the race detector:
//
//	func TestMemoryStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) claim.Store { return claim.NewMemoryStore() })
//	}
//
//	go test -race ./...
package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claimkit/claim"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// Run runs the conformance suite against the stores newStore makes. Each
// subtest calls newStore once, the model-based subtest once per rapid
// check, and expects a new, empty store each time: no orgs, domains or
// users, and an event log whose first event gets Seq 1. newStore may
// register cleanups with t. Run is meant to run under -race: one subtest
// runs 16 goroutines of Updates and Views at once.
//
// Times the suite stores are UTC and whole microseconds, the precision
// of PostgreSQL; nil and empty slices are treated as equal.
func Run(t *testing.T, newStore func(t *testing.T) claim.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s claim.Store)
	}{
		{"Orgs", testOrgs},
		{"Domains", testDomains},
		{"DomainClaimant", testDomainClaimant},
		{"Users", testUsers},
		{"Copies", testCopies},
		{"UpdateUserReindexes", testUpdateUserReindexes},
		{"DeleteUserUnindexes", testDeleteUserUnindexes},
		{"UsersByOrg", testUsersByOrg},
		{"EmailsByOrg", testEmailsByOrg},
		{"UsersByDomain", testUsersByDomain},
		{"PendingClaimsBy", testPendingClaimsBy},
		{"DueClaims", testDueClaims},
		{"InactiveUsers", testInactiveUsers},
		{"Events", testEvents},
		{"InvalidLimit", testInvalidLimit},
		{"UpdateReturnsFnError", testUpdateReturnsFnError},
		{"RollbackOnError", testRollbackOnError},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"CanceledContext", testCanceledContext},
		{"Serializable", testSerializable},
		{"Bulk", testBulk},
		{"Enterprises", testEnterprises},
		{"EnterpriseRace", testEnterpriseRace},
		{"EnterprisesByPartner", testEnterprisesByPartner},
		{"Subscribers", testSubscribers},
		{"OrgProfiles", testOrgProfiles},
		{"BroadWorksRollback", testBroadWorksRollback},
		{"Limits", testLimits}, // storetest/limits.go
		{"Leases", testLeases}, // storetest/lease.go
		{"Sites", testSites},   // storetest/sites.go
		{"SiteAccess", testSiteAccess},
		{"SiteRollback", testSiteRollback},
		{"Follow", Follow}, // storetest/follow.go
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
	t.Run("Model", func(t *testing.T) {
		testModel(t, newStore)
	})
}

// t0 is the suite's "now": UTC, whole microseconds.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// cmpOpts are the options of every comparison: nil and empty slices are
// equal (a store need not tell them apart), times compare with Equal.
var cmpOpts = []gocmp.Option{cmpopts.EquateEmpty()}

// big is a limit larger than any list of the suite.
const big = 1000

// update runs fn in an Update and fails the test if it returns an error.
func update(t *testing.T, s claim.Store, fn func(tx claim.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update() = %v, want nil", err)
	}
}

// view runs fn in a View and fails the test if it returns an error.
func view(t *testing.T, s claim.Store, fn func(tx claim.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View() = %v, want nil", err)
	}
}

// must fails the test if err is not nil.
func must(t *testing.T, err error, call string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v, want nil", call, err)
	}
}

// wantErr fails the test unless errors.Is(err, want).
func wantErr(t *testing.T, err, want error, call string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want an error wrapping %v", call, err, want)
	}
}

// newUser returns a user with every field set, so round trips check them.
func newUser(id claim.UserID, email string, org claim.OrgID) claim.User {
	return claim.User{
		ID:             id,
		Email:          email,
		FirstName:      "First " + string(id),
		LastName:       "Last " + string(id),
		DisplayName:    "Display " + string(id),
		Org:            org,
		State:          claim.Active,
		Licenses:       []string{"messaging", "meetings"},
		Content:        7,
		CreatedAt:      t0.Add(-90 * 24 * time.Hour),
		LastSignIn:     t0.Add(-time.Hour),
		InactiveSince:  t0.Add(-2 * time.Hour),
		ActivationSent: t0.Add(-3 * time.Hour),
		HeldBy:         "holder-" + org,
	}
}

// newClaim returns a pending claim of the given mode by org with the
// given deadline, every field set.
func newClaim(by claim.OrgID, mode claim.Mode, deadline time.Time) *claim.ClaimInfo {
	return &claim.ClaimInfo{
		By:        by,
		From:      "from-" + by,
		Mode:      mode,
		PrevState: claim.Verified,
		At:        deadline.Add(-14 * 24 * time.Hour),
		Deadline:  deadline,
		SignedIn:  true,
		Original:  "original-of-" + claim.UserID(by),
	}
}

// ended returns c ended at t0 with ChangeEmail.
func ended(c *claim.ClaimInfo) *claim.ClaimInfo {
	c.Ended = t0
	c.Outcome = claim.ChangeEmail
	return c
}

// newOrg returns an org with every field set.
func newOrg(id claim.OrgID) claim.Org {
	return claim.Org{
		ID:        id,
		Name:      "Org " + string(id),
		Kind:      claim.Enterprise,
		CreatedAt: t0.Add(-365 * 24 * time.Hour),
		Settings: claim.Settings{
			AllowContentMigration: true,
			AutoLicenses:          []string{"messaging", "calling"},
			DirectorySync:         true,
			SSO:                   true,
			Retention:             30 * 24 * time.Hour,
		},
	}
}

// createUsers creates the users in one Update.
func createUsers(t *testing.T, s claim.Store, users ...claim.User) {
	t.Helper()
	update(t, s, func(tx claim.Tx) error {
		for _, u := range users {
			if err := tx.CreateUser(u); err != nil {
				return fmt.Errorf("CreateUser(%s): %w", u.ID, err)
			}
		}
		return nil
	})
}

// ids returns the IDs of users, in order.
func ids(users []claim.User) []claim.UserID {
	out := make([]claim.UserID, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// emails returns the addresses of users, in order.
func emails(users []claim.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Email
	}
	return out
}

// diffList fails the test if got differs from want.
func diffList[V any](t *testing.T, call string, got, want V) {
	t.Helper()
	if d := gocmp.Diff(want, got, cmpOpts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", call, d)
	}
}

func testOrgs(t *testing.T, s claim.Store) {
	a, b := newOrg("acme"), newOrg("acme-2")
	b.Kind = claim.Individual
	b.Settings = claim.Settings{}
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.CreateOrg(a), "CreateOrg(acme)")
		must(t, tx.CreateOrg(b), "CreateOrg(acme-2)")
		dup := newOrg("acme")
		dup.Name = "Impostor"
		wantErr(t, tx.CreateOrg(dup), claim.ErrDuplicate, "CreateOrg(acme) again")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		for _, want := range []claim.Org{a, b} {
			got, err := tx.Org(want.ID)
			must(t, err, "Org("+string(want.ID)+")")
			diffList(t, "Org("+string(want.ID)+")", got, want)
		}
		_, err := tx.Org("nobody")
		wantErr(t, err, claim.ErrNotFound, "Org(nobody)")
		_, err = tx.Org("acm")
		wantErr(t, err, claim.ErrNotFound, "Org(acm)")
		return nil
	})

	a2 := a
	a2.Name = "Acme Renamed"
	a2.Kind = claim.Consumer
	a2.Settings = claim.Settings{AutoLicenses: []string{"webinar"}, Retention: time.Hour}
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.UpdateOrg(a2), "UpdateOrg(acme)")
		wantErr(t, tx.UpdateOrg(newOrg("nobody")), claim.ErrNotFound, "UpdateOrg(nobody)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Org("acme")
		must(t, err, "Org(acme)")
		diffList(t, "Org(acme) after UpdateOrg", got, a2)
		got, err = tx.Org("acme-2")
		must(t, err, "Org(acme-2)")
		diffList(t, "Org(acme-2) after UpdateOrg(acme)", got, b)
		_, err = tx.Org("nobody")
		wantErr(t, err, claim.ErrNotFound, "Org(nobody) after UpdateOrg(nobody)")
		return nil
	})

	// DeleteOrg removes the org record only: its users and domains stay.
	u := newUser("u1", "ann@acme.com", "acme")
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.CreateUser(u), "CreateUser(u1)")
		must(t, tx.PutDomain(claim.Domain{Org: "acme", Name: "acme.com", Verified: true, Claimed: true}), "PutDomain(acme.com)")
		return nil
	})
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.DeleteOrg("acme"), "DeleteOrg(acme)")
		wantErr(t, tx.DeleteOrg("acme"), claim.ErrNotFound, "DeleteOrg(acme) again")
		wantErr(t, tx.DeleteOrg("nobody"), claim.ErrNotFound, "DeleteOrg(nobody)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		_, err := tx.Org("acme")
		wantErr(t, err, claim.ErrNotFound, "Org(acme) after DeleteOrg")
		got, err := tx.Org("acme-2")
		must(t, err, "Org(acme-2) after DeleteOrg(acme)")
		diffList(t, "Org(acme-2) after DeleteOrg(acme)", got, b)
		users, err := tx.UsersByOrg("acme", "", big)
		must(t, err, "UsersByOrg(acme)")
		diffList(t, "UsersByOrg(acme) after DeleteOrg", users, []claim.User{u})
		doms, err := tx.Domains("acme", "", 1000)
		must(t, err, "Domains(acme)")
		if len(doms) != 1 {
			t.Errorf("Domains(acme) after DeleteOrg = %v, want the one record", doms)
		}
		return nil
	})
	// The ID is free again.
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.CreateOrg(a), "CreateOrg(acme) after DeleteOrg")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Org("acme")
		must(t, err, "Org(acme)")
		diffList(t, "Org(acme) after re-creating it", got, a)
		return nil
	})
}

func testDomains(t *testing.T, s claim.Store) {
	// Names inserted out of order, in orgs whose IDs prefix each other.
	recs := []claim.Domain{
		{Org: "acme", Name: "zeta.com", Token: "t1"},
		{Org: "acme", Name: "acme.com", Token: "t2", Verified: true, VerifiedAt: t0, Claimed: true},
		{Org: "acme-2", Name: "beta.com", Token: "t3"},
		{Org: "acme", Name: "mid.acme.com", Token: "t4", Verified: true, VerifiedAt: t0.Add(time.Minute)},
		{Org: "acm", Name: "acme.com", Token: "t5"},
		{Org: "acme-2", Name: "acme.com", Token: "t6", Verified: true},
	}
	update(t, s, func(tx claim.Tx) error {
		for _, d := range recs {
			must(t, tx.PutDomain(d), "PutDomain("+string(d.Org)+", "+d.Name+")")
		}
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		for _, want := range recs {
			got, err := tx.Domain(want.Org, want.Name)
			must(t, err, "Domain("+string(want.Org)+", "+want.Name+")")
			diffList(t, "Domain("+string(want.Org)+", "+want.Name+")", got, want)
		}
		_, err := tx.Domain("acme", "beta.com")
		wantErr(t, err, claim.ErrNotFound, "Domain(acme, beta.com)")
		_, err = tx.Domain("nobody", "acme.com")
		wantErr(t, err, claim.ErrNotFound, "Domain(nobody, acme.com)")

		got, err := tx.Domains("acme", "", 1000)
		must(t, err, "Domains(acme)")
		diffList(t, "Domains(acme)", got, []claim.Domain{recs[1], recs[3], recs[0]})
		got, err = tx.Domains("acme-2", "", 1000)
		must(t, err, "Domains(acme-2)")
		diffList(t, "Domains(acme-2)", got, []claim.Domain{recs[5], recs[2]})
		got, err = tx.Domains("acm", "", 1000)
		must(t, err, "Domains(acm)")
		diffList(t, "Domains(acm)", got, []claim.Domain{recs[4]})
		got, err = tx.Domains("nobody", "", 1000)
		must(t, err, "Domains(nobody)")
		diffList(t, "Domains(nobody)", got, []claim.Domain(nil))

		// Paging: at most limit, after the name given.
		got, err = tx.Domains("acme", "", 2)
		must(t, err, "Domains(acme, \"\", 2)")
		diffList(t, "Domains(acme, \"\", 2)", got, []claim.Domain{recs[1], recs[3]})
		got, err = tx.Domains("acme", recs[3].Name, 2)
		must(t, err, "Domains(acme, "+recs[3].Name+", 2)")
		diffList(t, "Domains(acme, "+recs[3].Name+", 2)", got, []claim.Domain{recs[0]})
		got, err = tx.Domains("acme", recs[1].Name+"a", 1)
		must(t, err, "Domains(acme, "+recs[1].Name+"a, 1)")
		diffList(t, "Domains(acme, "+recs[1].Name+"a, 1): after a name that is not stored", got, []claim.Domain{recs[3]})
		return nil
	})

	// PutDomain replaces; DeleteDomain removes one record only.
	repl := claim.Domain{Org: "acme", Name: "zeta.com", Token: "t7", Verified: true, VerifiedAt: t0.Add(time.Hour)}
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutDomain(repl), "PutDomain(acme, zeta.com) again")
		must(t, tx.DeleteDomain("acme", "mid.acme.com"), "DeleteDomain(acme, mid.acme.com)")
		wantErr(t, tx.DeleteDomain("acme", "mid.acme.com"), claim.ErrNotFound, "DeleteDomain(acme, mid.acme.com) again")
		wantErr(t, tx.DeleteDomain("acme", "beta.com"), claim.ErrNotFound, "DeleteDomain(acme, beta.com)")
		wantErr(t, tx.DeleteDomain("nobody", "acme.com"), claim.ErrNotFound, "DeleteDomain(nobody, acme.com)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Domains("acme", "", 1000)
		must(t, err, "Domains(acme)")
		diffList(t, "Domains(acme) after PutDomain and DeleteDomain", got, []claim.Domain{recs[1], repl})
		_, err = tx.Domain("acme", "mid.acme.com")
		wantErr(t, err, claim.ErrNotFound, "Domain(acme, mid.acme.com) after DeleteDomain")
		got, err = tx.Domains("acme-2", "", 1000)
		must(t, err, "Domains(acme-2)")
		diffList(t, "Domains(acme-2) after DeleteDomain(acme, …)", got, []claim.Domain{recs[5], recs[2]})
		return nil
	})
}

func testDomainClaimant(t *testing.T, s claim.Store) {
	claimant := func(tx claim.Tx, name string, want claim.OrgID) {
		t.Helper()
		got, err := tx.DomainClaimant(name)
		if want == "" {
			wantErr(t, err, claim.ErrNotFound, "DomainClaimant("+name+")")
			return
		}
		must(t, err, "DomainClaimant("+name+")")
		if got != want {
			t.Errorf("DomainClaimant(%s) = %s, want %s", name, got, want)
		}
	}
	aClaims := claim.Domain{Org: "a", Name: "example.com", Verified: true, Claimed: true}
	bVerifies := claim.Domain{Org: "b", Name: "example.com", Verified: true}
	bClaims := bVerifies
	bClaims.Claimed = true
	update(t, s, func(tx claim.Tx) error {
		claimant(tx, "example.com", "")
		must(t, tx.PutDomain(claim.Domain{Org: "a", Name: "example.com", Verified: true}), "PutDomain(a, unclaimed)")
		claimant(tx, "example.com", "")
		must(t, tx.PutDomain(aClaims), "PutDomain(a, claimed)")
		claimant(tx, "example.com", "a")
		claimant(tx, "sub.example.com", "")
		claimant(tx, "example.co", "")
		must(t, tx.PutDomain(bVerifies), "PutDomain(b, unclaimed)")
		wantErr(t, tx.PutDomain(bClaims), claim.ErrDomainClaimedByOther, "PutDomain(b, claimed) while a claims")
		claimant(tx, "example.com", "a")
		got, err := tx.Domain("b", "example.com")
		must(t, err, "Domain(b, example.com)")
		diffList(t, "Domain(b, example.com) after a refused PutDomain", got, bVerifies)
		// The claimant may put its own record again.
		again := aClaims
		again.Token = "new"
		must(t, tx.PutDomain(again), "PutDomain(a, claimed) again")
		claimant(tx, "example.com", "a")
		// Claims of other names are independent.
		must(t, tx.PutDomain(claim.Domain{Org: "b", Name: "sub.example.com", Claimed: true}), "PutDomain(b, sub.example.com, claimed)")
		claimant(tx, "sub.example.com", "b")
		claimant(tx, "example.com", "a")
		return nil
	})
	// Un-claiming frees the name; another org may then claim it.
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.PutDomain(claim.Domain{Org: "a", Name: "example.com", Verified: true}), "PutDomain(a, unclaimed)")
		claimant(tx, "example.com", "")
		must(t, tx.PutDomain(bClaims), "PutDomain(b, claimed) after a released it")
		claimant(tx, "example.com", "b")
		wantErr(t, tx.PutDomain(aClaims), claim.ErrDomainClaimedByOther, "PutDomain(a, claimed) while b claims")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		claimant(tx, "example.com", "b")
		return nil
	})
	// Deleting an unclaimed record keeps the claim; deleting the claimant's
	// record frees the name.
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.DeleteDomain("a", "example.com"), "DeleteDomain(a, example.com)")
		claimant(tx, "example.com", "b")
		must(t, tx.DeleteDomain("b", "example.com"), "DeleteDomain(b, example.com)")
		claimant(tx, "example.com", "")
		claimant(tx, "sub.example.com", "b")
		must(t, tx.PutDomain(aClaims), "PutDomain(a, claimed) after b's record was deleted")
		claimant(tx, "example.com", "a")
		return nil
	})
}

func testUsers(t *testing.T, s claim.Store) {
	u1 := newUser("u1", "ann@example.com", "acme")
	u1.Claim = newClaim("acme", claim.Delayed, t0)
	u2 := newUser("u2", "bob@example.com", "acme")
	u2.Licenses = nil
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.CreateUser(u1), "CreateUser(u1)")
		must(t, tx.CreateUser(u2), "CreateUser(u2)")
		wantErr(t, tx.CreateUser(newUser("u1", "new@example.com", "acme")), claim.ErrDuplicate, "CreateUser(u1 again)")
		wantErr(t, tx.CreateUser(newUser("u3", "ann@example.com", "other")), claim.ErrEmailTaken, "CreateUser(u3, ann@example.com)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		for _, want := range []claim.User{u1, u2} {
			got, err := tx.User(want.ID)
			must(t, err, "User("+string(want.ID)+")")
			diffList(t, "User("+string(want.ID)+")", got, want)
			got, err = tx.UserByEmail(want.Email)
			must(t, err, "UserByEmail("+want.Email+")")
			diffList(t, "UserByEmail("+want.Email+")", got, want)
		}
		for _, id := range []claim.UserID{"u3", "u", "u10"} {
			_, err := tx.User(id)
			wantErr(t, err, claim.ErrNotFound, "User("+string(id)+")")
		}
		for _, e := range []string{"new@example.com", "ann@example.co", "ann@example.comx"} {
			_, err := tx.UserByEmail(e)
			wantErr(t, err, claim.ErrNotFound, "UserByEmail("+e+")")
		}
		return nil
	})

	u1b := u1
	u1b.FirstName = "Annie"
	u1b.State = claim.DelayedClaim
	u1b.Licenses = []string{"webinar"}
	u1b.Claim = newClaim("acme", claim.Delayed, t0)
	u1b.Claim.SignedIn = false
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.UpdateUser(u1b), "UpdateUser(u1)")
		wantErr(t, tx.UpdateUser(newUser("u3", "cat@example.com", "acme")), claim.ErrNotFound, "UpdateUser(u3)")
		taken := u2
		taken.Email = "ann@example.com"
		taken.FirstName = "Changed"
		wantErr(t, tx.UpdateUser(taken), claim.ErrEmailTaken, "UpdateUser(u2, ann@example.com)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.User("u1")
		must(t, err, "User(u1)")
		diffList(t, "User(u1) after UpdateUser", got, u1b)
		got, err = tx.User("u2")
		must(t, err, "User(u2)")
		diffList(t, "User(u2) after a refused UpdateUser", got, u2)
		got, err = tx.UserByEmail("ann@example.com")
		must(t, err, "UserByEmail(ann@example.com)")
		diffList(t, "UserByEmail(ann@example.com) after a refused UpdateUser", got, u1b)
		_, err = tx.User("u3")
		wantErr(t, err, claim.ErrNotFound, "User(u3) after UpdateUser(u3)")
		return nil
	})

	update(t, s, func(tx claim.Tx) error {
		must(t, tx.DeleteUser("u1"), "DeleteUser(u1)")
		wantErr(t, tx.DeleteUser("u1"), claim.ErrNotFound, "DeleteUser(u1) again")
		wantErr(t, tx.DeleteUser("u3"), claim.ErrNotFound, "DeleteUser(u3)")
		_, err := tx.User("u1")
		wantErr(t, err, claim.ErrNotFound, "User(u1) after DeleteUser")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		_, err := tx.User("u1")
		wantErr(t, err, claim.ErrNotFound, "User(u1) after DeleteUser")
		_, err = tx.UserByEmail("ann@example.com")
		wantErr(t, err, claim.ErrNotFound, "UserByEmail(ann@example.com) after DeleteUser")
		got, err := tx.User("u2")
		must(t, err, "User(u2) after DeleteUser(u1)")
		diffList(t, "User(u2) after DeleteUser(u1)", got, u2)
		return nil
	})
	// Both the ID and the address are free again.
	u1c := newUser("u1", "ann@example.com", "other")
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.CreateUser(u1c), "CreateUser(u1) after DeleteUser")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.UserByEmail("ann@example.com")
		must(t, err, "UserByEmail(ann@example.com)")
		diffList(t, "UserByEmail(ann@example.com) after re-creating u1", got, u1c)
		return nil
	})
}

func testCopies(t *testing.T, s claim.Store) {
	orig := newUser("u1", "ann@example.com", "acme")
	orig.Claim = newClaim("acme", claim.Delayed, t0)
	org := newOrg("acme")

	// Values passed in: the caller changes them after the write.
	in := orig
	in.Licenses = slices.Clone(orig.Licenses)
	in.Claim = newClaim("acme", claim.Delayed, t0)
	inOrg := org
	inOrg.Settings.AutoLicenses = slices.Clone(org.Settings.AutoLicenses)
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.CreateUser(in), "CreateUser(u1)")
		must(t, tx.CreateOrg(inOrg), "CreateOrg(acme)")
		in.Licenses[0] = "changed"
		in.Claim.By = "changed"
		in.Claim.Deadline = t0.Add(-time.Hour)
		inOrg.Settings.AutoLicenses[0] = "changed"
		// Read back in the same transaction…
		got, err := tx.User("u1")
		must(t, err, "User(u1)")
		diffList(t, "User(u1) after changing the value passed to CreateUser", got, orig)
		gotOrg, err := tx.Org("acme")
		must(t, err, "Org(acme)")
		diffList(t, "Org(acme) after changing the value passed to CreateOrg", gotOrg, org)
		return nil
	})
	check := func(when string) {
		t.Helper()
		view(t, s, func(tx claim.Tx) error {
			got, err := tx.User("u1")
			must(t, err, "User(u1)")
			diffList(t, "User(u1) "+when, got, orig)
			gotOrg, err := tx.Org("acme")
			must(t, err, "Org(acme)")
			diffList(t, "Org(acme) "+when, gotOrg, org)
			for _, q := range listQueries(tx, "acme", "example.com", t0) {
				if len(q.users) != 1 {
					t.Errorf("%s %s = %v, want u1 alone", q.call, when, ids(q.users))
					continue
				}
				diffList(t, q.call+" "+when, q.users[0], orig)
			}
			return nil
		})
	}
	check("after changing the values passed to CreateUser and CreateOrg")

	// Values returned: the caller changes them.
	view(t, s, func(tx claim.Tx) error {
		u, err := tx.User("u1")
		must(t, err, "User(u1)")
		scribble(&u)
		u, err = tx.UserByEmail("ann@example.com")
		must(t, err, "UserByEmail(ann@example.com)")
		scribble(&u)
		for _, q := range listQueries(tx, "acme", "example.com", t0) {
			for i := range q.users {
				scribble(&q.users[i])
			}
		}
		o, err := tx.Org("acme")
		must(t, err, "Org(acme)")
		o.Settings.AutoLicenses[0] = "changed"
		// …and read again in the same transaction.
		got, err := tx.User("u1")
		must(t, err, "User(u1)")
		diffList(t, "User(u1) after changing returned values", got, orig)
		gotOrg, err := tx.Org("acme")
		must(t, err, "Org(acme)")
		diffList(t, "Org(acme) after changing a returned value", gotOrg, org)
		return nil
	})
	check("after changing returned values")

	// Values passed to the Update methods.
	upd := orig
	upd.Licenses = slices.Clone(orig.Licenses)
	upd.Claim = newClaim("acme", claim.Delayed, t0)
	updOrg := org
	updOrg.Settings.AutoLicenses = slices.Clone(org.Settings.AutoLicenses)
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.UpdateUser(upd), "UpdateUser(u1)")
		must(t, tx.UpdateOrg(updOrg), "UpdateOrg(acme)")
		scribble(&upd)
		updOrg.Settings.AutoLicenses[0] = "changed"
		return nil
	})
	check("after changing the values passed to UpdateUser and UpdateOrg")

	// Events: changing a returned event, or appending to a returned page,
	// changes nothing in the log.
	var want []claim.Event
	update(t, s, func(tx claim.Tx) error {
		for i := range 3 {
			e := claim.Event{Type: claim.EventUserAdded, Detail: fmt.Sprint(i)}
			must(t, tx.AppendEvent(e), "AppendEvent")
			e.Seq = uint64(i + 1)
			want = append(want, e)
		}
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		page, err := tx.Events(0, 1)
		must(t, err, "Events(0, 1)")
		if len(page) != 1 {
			t.Fatalf("Events(0, 1) = %v, want 1 event", page)
		}
		page[0].Type = "changed"
		_ = append(page, claim.Event{Seq: 2, Type: "appended"})
		all, err := tx.Events(0, big)
		must(t, err, "Events(0)")
		all[2].Detail = "changed"
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Events(0, big)
		must(t, err, "Events(0)")
		diffList(t, "Events(0) after changing returned events", got, want)
		return nil
	})
}

// scribble changes what a User shares by reference.
func scribble(u *claim.User) {
	if len(u.Licenses) > 0 {
		u.Licenses[0] = "changed"
	}
	if u.Claim != nil {
		u.Claim.By = "changed"
		u.Claim.Deadline = t0.Add(time.Hour)
		u.Claim.Ended = t0
	}
}

// listQuery is the result of one list method.
type listQuery struct {
	call  string
	users []claim.User
}

// listQueries runs every user list method, for org, domain and now.
func listQueries(tx claim.Tx, org claim.OrgID, domain string, now time.Time) []listQuery {
	var out []listQuery
	add := func(call string, users []claim.User, err error) {
		if err != nil {
			call += " error " + err.Error()
		}
		out = append(out, listQuery{call, users})
	}
	users, err := tx.UsersByOrg(org, "", big)
	add(fmt.Sprintf("UsersByOrg(%s)", org), users, err)
	users, err = tx.UsersByDomain(domain, "", big)
	add(fmt.Sprintf("UsersByDomain(%s)", domain), users, err)
	users, err = tx.PendingClaimsBy(org, "", big)
	add(fmt.Sprintf("PendingClaimsBy(%s)", org), users, err)
	users, err = tx.DueClaims(now, big)
	add("DueClaims(now)", users, err)
	return out
}

// where lists the queries that list user id.
func where(t *testing.T, s claim.Store, id claim.UserID, orgs []claim.OrgID, domains []string, now time.Time) []string {
	t.Helper()
	var out []string
	view(t, s, func(tx claim.Tx) error {
		for _, o := range orgs {
			users, err := tx.UsersByOrg(o, "", big)
			must(t, err, "UsersByOrg")
			if slices.Contains(ids(users), id) {
				out = append(out, "UsersByOrg("+string(o)+")")
			}
			users, err = tx.PendingClaimsBy(o, "", big)
			must(t, err, "PendingClaimsBy")
			if slices.Contains(ids(users), id) {
				out = append(out, "PendingClaimsBy("+string(o)+")")
			}
		}
		for _, d := range domains {
			users, err := tx.UsersByDomain(d, "", big)
			must(t, err, "UsersByDomain")
			if slices.Contains(ids(users), id) {
				out = append(out, "UsersByDomain("+d+")")
			}
		}
		users, err := tx.DueClaims(now, big)
		must(t, err, "DueClaims")
		if slices.Contains(ids(users), id) {
			out = append(out, "DueClaims")
		}
		return nil
	})
	return out
}

func testUpdateUserReindexes(t *testing.T, s claim.Store) {
	orgs := []claim.OrgID{"acme", "beta", "gamma"}
	domains := []string{"x.com", "y.com"}
	// A neighbour in every index, which must stay where it is.
	nb := newUser("nb", "nb@x.com", "acme")
	nb.Claim = newClaim("beta", claim.Delayed, t0.Add(-time.Hour))
	u := newUser("u1", "ann@x.com", "acme")
	createUsers(t, s, nb, u)

	steps := []struct {
		reason   string
		change   func(u *claim.User)
		want     []string // where u is listed
		oldEmail string   // an address that must now be free
	}{{
		reason: "no claim",
		change: func(u *claim.User) {},
		want:   []string{"UsersByOrg(acme)", "UsersByDomain(x.com)"},
	}, {
		reason: "pending delayed claim by beta, due",
		change: func(u *claim.User) { u.Claim = newClaim("beta", claim.Delayed, t0) },
		want:   []string{"UsersByOrg(acme)", "PendingClaimsBy(beta)", "UsersByDomain(x.com)", "DueClaims"},
	}, {
		reason:   "e-mail changes domain",
		change:   func(u *claim.User) { u.Email = "ann@y.com" },
		want:     []string{"UsersByOrg(acme)", "PendingClaimsBy(beta)", "UsersByDomain(y.com)", "DueClaims"},
		oldEmail: "ann@x.com",
	}, {
		reason: "org changes",
		change: func(u *claim.User) { u.Org = "gamma" },
		want:   []string{"PendingClaimsBy(beta)", "UsersByOrg(gamma)", "UsersByDomain(y.com)", "DueClaims"},
	}, {
		reason: "claimant changes",
		change: func(u *claim.User) { u.Claim.By = "acme" },
		want:   []string{"PendingClaimsBy(acme)", "UsersByOrg(gamma)", "UsersByDomain(y.com)", "DueClaims"},
	}, {
		reason: "deadline moves past now",
		change: func(u *claim.User) { u.Claim.Deadline = t0.Add(time.Microsecond) },
		want:   []string{"PendingClaimsBy(acme)", "UsersByOrg(gamma)", "UsersByDomain(y.com)"},
	}, {
		reason: "deadline moves back before now",
		change: func(u *claim.User) { u.Claim.Deadline = t0.Add(-2 * time.Hour) },
		want:   []string{"PendingClaimsBy(acme)", "UsersByOrg(gamma)", "UsersByDomain(y.com)", "DueClaims"},
	}, {
		reason: "mode becomes immediate",
		change: func(u *claim.User) { u.Claim.Mode = claim.Immediate },
		want:   []string{"PendingClaimsBy(acme)", "UsersByOrg(gamma)", "UsersByDomain(y.com)"},
	}, {
		reason: "mode becomes delayed again",
		change: func(u *claim.User) { u.Claim.Mode = claim.Delayed },
		want:   []string{"PendingClaimsBy(acme)", "UsersByOrg(gamma)", "UsersByDomain(y.com)", "DueClaims"},
	}, {
		reason: "claim ends",
		change: func(u *claim.User) { ended(u.Claim) },
		want:   []string{"UsersByOrg(gamma)", "UsersByDomain(y.com)"},
	}, {
		reason: "a new pending claim",
		change: func(u *claim.User) { u.Claim = newClaim("gamma", claim.Delayed, t0) },
		want:   []string{"UsersByOrg(gamma)", "PendingClaimsBy(gamma)", "UsersByDomain(y.com)", "DueClaims"},
	}, {
		reason:   "everything at once",
		change:   func(u *claim.User) { u.Email = "ann@x.com"; u.Org = "beta"; u.Claim.By = "beta" },
		want:     []string{"UsersByOrg(beta)", "PendingClaimsBy(beta)", "UsersByDomain(x.com)", "DueClaims"},
		oldEmail: "ann@y.com",
	}, {
		reason: "claim removed",
		change: func(u *claim.User) { u.Claim = nil },
		want:   []string{"UsersByOrg(beta)", "UsersByDomain(x.com)"},
	}}
	for i, step := range steps {
		step.change(&u)
		update(t, s, func(tx claim.Tx) error {
			return tx.UpdateUser(u)
		})
		got := where(t, s, "u1", orgs, domains, t0)
		diffList(t, fmt.Sprintf("step %d (%s): lists of u1", i, step.reason), got, step.want)
		view(t, s, func(tx claim.Tx) error {
			gotU, err := tx.UserByEmail(u.Email)
			must(t, err, "UserByEmail("+u.Email+")")
			diffList(t, fmt.Sprintf("step %d (%s): UserByEmail(%s)", i, step.reason, u.Email), gotU, u)
			if step.oldEmail != "" {
				_, err := tx.UserByEmail(step.oldEmail)
				wantErr(t, err, claim.ErrNotFound, fmt.Sprintf("step %d (%s): UserByEmail(%s)", i, step.reason, step.oldEmail))
			}
			return nil
		})
		gotNb := where(t, s, "nb", orgs, domains, t0)
		diffList(t, fmt.Sprintf("step %d (%s): lists of the neighbour", i, step.reason), gotNb,
			[]string{"UsersByOrg(acme)", "PendingClaimsBy(beta)", "UsersByDomain(x.com)", "DueClaims"})
	}
	// A freed address can be taken by another user.
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.CreateUser(newUser("u2", "ann@y.com", "acme")), "CreateUser(u2, ann@y.com) after u1 left the address")
		return nil
	})
	// Keeping one's own address is not taking it.
	u.FirstName = "Same address"
	update(t, s, func(tx claim.Tx) error {
		must(t, tx.UpdateUser(u), "UpdateUser(u1) with its own address")
		return nil
	})
}

func testDeleteUserUnindexes(t *testing.T, s claim.Store) {
	orgs := []claim.OrgID{"acme", "beta"}
	domains := []string{"x.com"}
	u := newUser("u1", "ann@x.com", "acme")
	u.Claim = newClaim("beta", claim.Delayed, t0)
	nb := newUser("nb", "nb@x.com", "acme")
	nb.Claim = newClaim("beta", claim.Delayed, t0)
	createUsers(t, s, u, nb)
	all := []string{"UsersByOrg(acme)", "PendingClaimsBy(beta)", "UsersByDomain(x.com)", "DueClaims"}
	diffList(t, "lists of u1 before DeleteUser", where(t, s, "u1", orgs, domains, t0), all)
	update(t, s, func(tx claim.Tx) error { return tx.DeleteUser("u1") })
	diffList(t, "lists of u1 after DeleteUser", where(t, s, "u1", orgs, domains, t0), []string(nil))
	diffList(t, "lists of the neighbour after DeleteUser(u1)", where(t, s, "nb", orgs, domains, t0), all)
	view(t, s, func(tx claim.Tx) error {
		_, err := tx.UserByEmail("ann@x.com")
		wantErr(t, err, claim.ErrNotFound, "UserByEmail(ann@x.com) after DeleteUser")
		return nil
	})
}

// pages pages through a list with the given limit, checking each page's
// size, and returns the pages' e-mail addresses.
func pages(t *testing.T, s claim.Store, call string, limit int, list func(tx claim.Tx, after string, limit int) ([]claim.User, error)) [][]string {
	t.Helper()
	var out [][]string
	after := ""
	for range 100 {
		var page []claim.User
		view(t, s, func(tx claim.Tx) error {
			var err error
			page, err = list(tx, after, limit)
			must(t, err, fmt.Sprintf("%s after %q", call, after))
			return nil
		})
		if len(page) > limit {
			t.Fatalf("%s after %q returned %d users, want at most %d", call, after, len(page), limit)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, emails(page))
		after = page[len(page)-1].Email
	}
	t.Fatalf("%s: more than 100 pages", call)
	return nil
}

// chunk splits s into slices of n.
func chunk(s []string, n int) [][]string {
	var out [][]string
	for c := range slices.Chunk(s, n) {
		out = append(out, c)
	}
	return out
}

// shuffled returns a fixed permutation of users, so that insertion order
// is no list's order.
func shuffled(users []claim.User) []claim.User {
	out := slices.Clone(users)
	for i := range out {
		j := (i*7 + 3) % len(out)
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// testEmailsByOrg checks the optional claim.OrgEmailLister of a Tx: it
// lists exactly the addresses UsersByOrg lists, for every org, after key
// and limit, and refuses a limit that is not positive. It skips when the
// store's Tx lacks the capability.
func testEmailsByOrg(t *testing.T, s claim.Store) {
	var users []claim.User
	for i := range 12 {
		users = append(users, newUser(claim.UserID(fmt.Sprintf("u%02d", 99-i)), fmt.Sprintf("user%02d@acme.com", i), "acme"))
		for _, o := range []claim.OrgID{"acme-2", "acmf", "acm"} {
			users = append(users, newUser(claim.UserID(fmt.Sprintf("%s-%02d", o, i)), fmt.Sprintf("user%02d.%s@acme.com", i, o), o))
		}
	}
	createUsers(t, s, shuffled(users)...)
	view(t, s, func(tx claim.Tx) error {
		l, ok := tx.(claim.OrgEmailLister)
		if !ok {
			t.Skip("the store's Tx is not a claim.OrgEmailLister")
		}
		for _, org := range []claim.OrgID{"acme", "acme-2", "acm", "acmd"} {
			for _, after := range []string{"", "user03@acme.com", "user03@acme.coa", "user05.acm@acme.com", "user11@acme.com", "zzz"} {
				for _, limit := range []int{1, 4, 12, big} {
					want, err := tx.UsersByOrg(org, after, limit)
					must(t, err, "UsersByOrg")
					got, err := l.EmailsByOrg(org, after, limit)
					must(t, err, "EmailsByOrg")
					diffList(t, fmt.Sprintf("EmailsByOrg(%s, %q, %d)", org, after, limit), got, emails(want))
				}
			}
		}
		for _, limit := range []int{0, -1} {
			_, err := l.EmailsByOrg("acme", "", limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("EmailsByOrg(acme, \"\", %d)", limit))
		}
		return nil
	})
}

func testUsersByOrg(t *testing.T, s claim.Store) {
	var users, want []claim.User
	for i := range 25 {
		// IDs sort in the reverse of e-mail order.
		u := newUser(claim.UserID(fmt.Sprintf("u%02d", 99-i)), fmt.Sprintf("user%02d@acme.com", i), "acme")
		users = append(users, u)
		want = append(want, u)
		// Other orgs' users sort between acme's: "acme-2" has acme as a
		// prefix, "acmf" follows it, "acm" precedes it.
		for _, o := range []claim.OrgID{"acme-2", "acmf", "acm"} {
			users = append(users, newUser(claim.UserID(fmt.Sprintf("%s-%02d", o, i)), fmt.Sprintf("user%02d.%s@acme.com", i, o), o))
		}
	}
	createUsers(t, s, shuffled(users)...)
	wantEmails := emails(want)

	view(t, s, func(tx claim.Tx) error {
		got, err := tx.UsersByOrg("acme", "", big)
		must(t, err, "UsersByOrg(acme)")
		diffList(t, "UsersByOrg(acme)", got, want)

		got, err = tx.UsersByOrg("acme", "", 7)
		must(t, err, "UsersByOrg(acme, limit 7)")
		diffList(t, "UsersByOrg(acme, \"\", 7)", emails(got), wantEmails[:7])
		got, err = tx.UsersByOrg("acme", "", 25)
		must(t, err, "UsersByOrg(acme, limit 25)")
		diffList(t, "UsersByOrg(acme, \"\", 25)", emails(got), wantEmails)
		got, err = tx.UsersByOrg("acme", "", 1)
		must(t, err, "UsersByOrg(acme, limit 1)")
		diffList(t, "UsersByOrg(acme, \"\", 1)", emails(got), wantEmails[:1])

		// after is exclusive, and need not be an address in the list.
		got, err = tx.UsersByOrg("acme", "user10@acme.com", 3)
		must(t, err, "UsersByOrg(acme, user10)")
		diffList(t, "UsersByOrg(acme, user10@acme.com, 3)", emails(got), wantEmails[11:14])
		got, err = tx.UsersByOrg("acme", "user10@acme.coa", 3)
		must(t, err, "UsersByOrg(acme, user10@acme.coa)")
		diffList(t, "UsersByOrg(acme, user10@acme.coa, 3)", emails(got), wantEmails[10:13])
		got, err = tx.UsersByOrg("acme", "user11.acm@acme.com", 3)
		must(t, err, "UsersByOrg(acme, user11.acm)")
		diffList(t, "UsersByOrg(acme, user11.acm@acme.com, 3)", emails(got), wantEmails[11:14])
		got, err = tx.UsersByOrg("acme", "user24@acme.com", 3)
		must(t, err, "UsersByOrg(acme, user24)")
		diffList(t, "UsersByOrg(acme, user24@acme.com, 3)", emails(got), []string(nil))
		got, err = tx.UsersByOrg("acme", "zzz", 3)
		must(t, err, "UsersByOrg(acme, zzz)")
		diffList(t, "UsersByOrg(acme, zzz, 3)", emails(got), []string(nil))

		got, err = tx.UsersByOrg("acme-2", "", big)
		must(t, err, "UsersByOrg(acme-2)")
		if len(got) != 25 {
			t.Errorf("UsersByOrg(acme-2) returned %d users, want 25", len(got))
		}
		for _, u := range got {
			if u.Org != "acme-2" {
				t.Errorf("UsersByOrg(acme-2) lists %s of org %s", u.ID, u.Org)
			}
		}
		got, err = tx.UsersByOrg("acmd", "", big)
		must(t, err, "UsersByOrg(acmd)")
		diffList(t, "UsersByOrg(acmd)", got, []claim.User(nil))
		return nil
	})

	got := pages(t, s, "UsersByOrg(acme)", 7, func(tx claim.Tx, after string, limit int) ([]claim.User, error) {
		return tx.UsersByOrg("acme", after, limit)
	})
	diffList(t, "pages of UsersByOrg(acme, after, 7)", got, chunk(wantEmails, 7))
}

func testUsersByDomain(t *testing.T, s claim.Store) {
	match := []claim.User{
		newUser("u-ann", "ann@example.com", "acme"),
		newUser("u-bob", "bob@example.com", "beta"),
		newUser("u-cat", "cat@example.com", "acme"),
		newUser("u-dan", "dan@example.com", "beta"),
		newUser("u-eve", "eve@example.com", "gamma"),
	}
	other := []claim.User{
		newUser("o-sub", "ann@sub.example.com", "acme"),
		newUser("o-orig", "ann@example.com"+".convert-user.local", "acme"),
		newUser("o-orig2", "bob@example.com.convert-user.local", "beta"),
		newUser("o-co", "bob@example.co", "beta"),
		newUser("o-x", "bob@xexample.com", "beta"),
		newUser("o-comx", "cat@example.comx", "acme"),
		newUser("o-up", "ann@com", "acme"),
	}
	createUsers(t, s, shuffled(append(slices.Clone(match), other...))...)
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.UsersByDomain("example.com", "", big)
		must(t, err, "UsersByDomain(example.com)")
		diffList(t, "UsersByDomain(example.com)", got, match)
		got, err = tx.UsersByDomain("example.com", "bob@example.com", 2)
		must(t, err, "UsersByDomain(example.com, bob, 2)")
		diffList(t, "UsersByDomain(example.com, bob@example.com, 2)", ids(got), []claim.UserID{"u-cat", "u-dan"})
		got, err = tx.UsersByDomain("example.com", "c", 2)
		must(t, err, "UsersByDomain(example.com, c, 2)")
		diffList(t, "UsersByDomain(example.com, c, 2)", ids(got), []claim.UserID{"u-cat", "u-dan"})
		got, err = tx.UsersByDomain("example.com", "eve@example.com", 2)
		must(t, err, "UsersByDomain(example.com, eve, 2)")
		diffList(t, "UsersByDomain(example.com, eve@example.com, 2)", ids(got), []claim.UserID(nil))
		got, err = tx.UsersByDomain("sub.example.com", "", big)
		must(t, err, "UsersByDomain(sub.example.com)")
		diffList(t, "UsersByDomain(sub.example.com)", ids(got), []claim.UserID{"o-sub"})
		got, err = tx.UsersByDomain("example.com.convert-user.local", "", big)
		must(t, err, "UsersByDomain(example.com.convert-user.local)")
		diffList(t, "UsersByDomain(example.com.convert-user.local)", ids(got), []claim.UserID{"o-orig", "o-orig2"})
		got, err = tx.UsersByDomain("com", "", big)
		must(t, err, "UsersByDomain(com)")
		diffList(t, "UsersByDomain(com)", ids(got), []claim.UserID{"o-up"})
		got, err = tx.UsersByDomain("nowhere.org", "", big)
		must(t, err, "UsersByDomain(nowhere.org)")
		diffList(t, "UsersByDomain(nowhere.org)", ids(got), []claim.UserID(nil))
		return nil
	})
	got := pages(t, s, "UsersByDomain(example.com)", 2, func(tx claim.Tx, after string, limit int) ([]claim.User, error) {
		return tx.UsersByDomain("example.com", after, limit)
	})
	diffList(t, "pages of UsersByDomain(example.com, after, 2)", got, chunk(emails(match), 2))
}

func testPendingClaimsBy(t *testing.T, s claim.Store) {
	var want []claim.User
	var users []claim.User
	for i := range 9 {
		u := newUser(claim.UserID(fmt.Sprintf("u%d", 9-i)), fmt.Sprintf("p%d@x.com", i), claim.OrgID(fmt.Sprintf("org%d", i%3)))
		mode := claim.Delayed
		if i%2 == 0 {
			mode = claim.Immediate
		}
		u.Claim = newClaim("acme", mode, t0.Add(time.Duration(i-4)*time.Hour))
		want = append(want, u)
		users = append(users, u)
	}
	endedU := newUser("ended", "p3a@x.com", "acme")
	endedU.Claim = ended(newClaim("acme", claim.Delayed, t0))
	otherBy := newUser("other", "p3b@x.com", "acme")
	otherBy.Claim = newClaim("acme-2", claim.Delayed, t0)
	none := newUser("none", "p3c@x.com", "acme")
	users = append(users, endedU, otherBy, none)
	createUsers(t, s, shuffled(users)...)

	view(t, s, func(tx claim.Tx) error {
		got, err := tx.PendingClaimsBy("acme", "", big)
		must(t, err, "PendingClaimsBy(acme)")
		diffList(t, "PendingClaimsBy(acme)", got, want)
		got, err = tx.PendingClaimsBy("acme", "p3@x.com", 2)
		must(t, err, "PendingClaimsBy(acme, p3, 2)")
		diffList(t, "PendingClaimsBy(acme, p3@x.com, 2)", emails(got), []string{"p4@x.com", "p5@x.com"})
		got, err = tx.PendingClaimsBy("acme-2", "", big)
		must(t, err, "PendingClaimsBy(acme-2)")
		diffList(t, "PendingClaimsBy(acme-2)", ids(got), []claim.UserID{"other"})
		got, err = tx.PendingClaimsBy("acm", "", big)
		must(t, err, "PendingClaimsBy(acm)")
		diffList(t, "PendingClaimsBy(acm)", ids(got), []claim.UserID(nil))
		// A claim is listed under its claiming org, not the user's org.
		got, err = tx.PendingClaimsBy("org0", "", big)
		must(t, err, "PendingClaimsBy(org0)")
		diffList(t, "PendingClaimsBy(org0)", ids(got), []claim.UserID(nil))
		return nil
	})
	got := pages(t, s, "PendingClaimsBy(acme)", 4, func(tx claim.Tx, after string, limit int) ([]claim.User, error) {
		return tx.PendingClaimsBy("acme", after, limit)
	})
	diffList(t, "pages of PendingClaimsBy(acme, after, 4)", got, chunk(emails(want), 4))
}

func testDueClaims(t *testing.T, s claim.Store) {
	due := func(id claim.UserID, email string, mode claim.Mode, deadline time.Time) claim.User {
		u := newUser(id, email, "acme")
		u.Claim = newClaim("beta", mode, deadline)
		return u
	}
	// E-mail order, ID order and deadline order all differ.
	first := due("u5", "a@x.com", claim.Delayed, t0.Add(-48*time.Hour))
	tieA := due("u1", "d@x.com", claim.Delayed, t0.Add(-time.Hour))
	tieB := due("u2", "b@x.com", claim.Delayed, t0.Add(-time.Hour))
	atNow := due("u0", "c@x.com", claim.Delayed, t0)
	later := due("u3", "e@x.com", claim.Delayed, t0.Add(time.Microsecond))
	muchLater := due("u4", "f@x.com", claim.Delayed, t0.Add(24*time.Hour))
	immediate := due("i1", "g@x.com", claim.Immediate, t0.Add(-time.Hour))
	endedU := due("e1", "h@x.com", claim.Delayed, t0.Add(-time.Hour))
	ended(endedU.Claim)
	noClaim := newUser("n1", "i@x.com", "acme")
	createUsers(t, s, muchLater, atNow, endedU, tieB, noClaim, later, first, immediate, tieA)

	tests := []struct {
		reason string
		now    time.Time
		limit  int
		want   []claim.UserID
	}{
		{"deadline == now is due, deadline > now is not", t0, big, []claim.UserID{"u5", "u1", "u2", "u0"}},
		{"limit", t0, 2, []claim.UserID{"u5", "u1"}},
		{"limit within a tie", t0, 3, []claim.UserID{"u5", "u1", "u2"}},
		{"a nanosecond before a deadline", t0.Add(-time.Nanosecond), big, []claim.UserID{"u5", "u1", "u2"}},
		{"later", t0.Add(time.Microsecond), big, []claim.UserID{"u5", "u1", "u2", "u0", "u3"}},
		{"all", t0.Add(48 * time.Hour), big, []claim.UserID{"u5", "u1", "u2", "u0", "u3", "u4"}},
		{"none yet", t0.Add(-49 * time.Hour), big, nil},
	}
	view(t, s, func(tx claim.Tx) error {
		for _, tt := range tests {
			got, err := tx.DueClaims(tt.now, tt.limit)
			must(t, err, "DueClaims")
			diffList(t, fmt.Sprintf("DueClaims(%v, %d) (%s)", tt.now, tt.limit, tt.reason), ids(got), tt.want)
		}
		got, err := tx.DueClaims(t0, big)
		must(t, err, "DueClaims")
		diffList(t, "DueClaims(t0)", got, []claim.User{first, tieA, tieB, atNow})
		// Now in another location is the same instant.
		got, err = tx.DueClaims(t0.In(time.FixedZone("UTC-5", -5*3600)), big)
		must(t, err, "DueClaims")
		diffList(t, "DueClaims(t0 in UTC-5)", ids(got), []claim.UserID{"u5", "u1", "u2", "u0"})
		return nil
	})
}

func testInactiveUsers(t *testing.T, s claim.Store) {
	inactive := func(id claim.UserID, email string, since time.Time) claim.User {
		u := newUser(id, email, "acme")
		u.State, u.InactiveSince, u.HeldBy = claim.Inactive, since, ""
		return u
	}
	// E-mail order, ID order and InactiveSince order all differ.
	first := inactive("u5", "a@x.com", t0.Add(-48*time.Hour))
	tieA := inactive("u1", "d@x.com", t0.Add(-time.Hour))
	tieB := inactive("u2", "b@x.com", t0.Add(-time.Hour))
	atBefore := inactive("u0", "c@x.com", t0)
	later := inactive("u3", "e@x.com", t0.Add(time.Microsecond))
	held := inactive("h1", "f@x.com.convert-user.local", t0.Add(-72*time.Hour))
	held.HeldBy = "beta"
	active := newUser("a1", "g@x.com", "acme") // a stale InactiveSince does not make it inactive
	active.InactiveSince = t0.Add(-72 * time.Hour)
	createUsers(t, s, later, held, atBefore, tieB, active, first, tieA)

	tests := []struct {
		reason string
		before time.Time
		limit  int
		want   []claim.UserID
	}{
		{"InactiveSince == before is listed, later is not; held and active users never", t0, big, []claim.UserID{"u5", "u1", "u2", "u0"}},
		{"limit", t0, 2, []claim.UserID{"u5", "u1"}},
		{"a nanosecond before", t0.Add(-time.Nanosecond), big, []claim.UserID{"u5", "u1", "u2"}},
		{"all", t0.Add(time.Hour), big, []claim.UserID{"u5", "u1", "u2", "u0", "u3"}},
		{"none yet", t0.Add(-49 * time.Hour), big, nil},
	}
	view(t, s, func(tx claim.Tx) error {
		for _, tt := range tests {
			got, err := tx.InactiveUsers(tt.before, tt.limit)
			must(t, err, "InactiveUsers")
			diffList(t, fmt.Sprintf("InactiveUsers(%v, %d) (%s)", tt.before, tt.limit, tt.reason), ids(got), tt.want)
		}
		return nil
	})
	// Reactivated, released or held: the index follows UpdateUser.
	update(t, s, func(tx claim.Tx) error {
		r := first
		r.State, r.InactiveSince = claim.Active, time.Time{}
		must(t, tx.UpdateUser(r), "UpdateUser(reactivate u5)")
		h := held
		h.HeldBy, h.Email = "", "f@x.com"
		must(t, tx.UpdateUser(h), "UpdateUser(release h1)")
		b := tieB
		b.HeldBy = "beta"
		must(t, tx.UpdateUser(b), "UpdateUser(hold u2)")
		return nil
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.InactiveUsers(t0, big)
		must(t, err, "InactiveUsers")
		diffList(t, "InactiveUsers(t0) after updates", ids(got), []claim.UserID{"h1", "u1", "u0"})
		return nil
	})
}

func testEvents(t *testing.T, s claim.Store) {
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Events(0, big)
		must(t, err, "Events(0)")
		diffList(t, "Events(0) of an empty log", got, []claim.Event(nil))
		return nil
	})
	var want []claim.Event
	for i := range 10 {
		e := claim.Event{
			Seq:       99, // ignored
			At:        t0.Add(time.Duration(i) * time.Second),
			Type:      claim.EventClaimCreated,
			Org:       "acme",
			From:      "beta",
			User:      claim.UserID(fmt.Sprintf("u%d", i)),
			Recipient: "ann@example.com",
			Content:   i,
			Mode:      claim.Delayed,
			Action:    claim.MigrateContent,
			Retention: time.Hour,
			Detail:    fmt.Sprintf("event %d", i),
		}
		// Three transactions, so numbering continues across them.
		if i == 0 || i == 4 || i == 7 {
			update(t, s, func(tx claim.Tx) error { return nil })
		}
		update(t, s, func(tx claim.Tx) error {
			must(t, tx.AppendEvent(e), "AppendEvent")
			return nil
		})
		e.Seq = uint64(i + 1) // numbered at commit: Seq 99 is not kept
		want = append(want, e)
	}
	view(t, s, func(tx claim.Tx) error {
		tests := []struct {
			after uint64
			limit int
			want  []claim.Event
		}{
			{0, big, want},
			{0, 10, want},
			{0, 3, want[:3]},
			{2, 2, want[2:4]},
			{3, big, want[3:]},
			{9, big, want[9:]},
			{9, 1, want[9:]},
			{10, big, nil},
			{11, big, nil},
			{1 << 40, 5, nil},
		}
		for _, tt := range tests {
			got, err := tx.Events(tt.after, tt.limit)
			must(t, err, "Events")
			diffList(t, fmt.Sprintf("Events(%d, %d)", tt.after, tt.limit), got, tt.want)
		}
		// Paging by the last Seq seen.
		var seqs [][]uint64
		after := uint64(0)
		for range 20 {
			page, err := tx.Events(after, 3)
			must(t, err, "Events")
			if len(page) == 0 {
				break
			}
			var s []uint64
			for _, e := range page {
				s = append(s, e.Seq)
			}
			seqs = append(seqs, s)
			after = page[len(page)-1].Seq
		}
		diffList(t, "pages of Events(after, 3)", seqs, [][]uint64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10}})
		return nil
	})
}

func testInvalidLimit(t *testing.T, s claim.Store) {
	u := newUser("u1", "ann@x.com", "acme")
	u.Claim = newClaim("acme", claim.Delayed, t0)
	createUsers(t, s, u)
	update(t, s, func(tx claim.Tx) error {
		return tx.AppendEvent(claim.Event{Type: claim.EventUserAdded})
	})
	view(t, s, func(tx claim.Tx) error {
		for _, limit := range []int{0, -1} {
			_, err := tx.UsersByOrg("acme", "", limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("UsersByOrg(acme, \"\", %d)", limit))
			_, err = tx.UsersByDomain("x.com", "", limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("UsersByDomain(x.com, \"\", %d)", limit))
			_, err = tx.PendingClaimsBy("acme", "", limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("PendingClaimsBy(acme, \"\", %d)", limit))
			_, err = tx.DueClaims(t0, limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("DueClaims(t0, %d)", limit))
			_, err = tx.Events(0, limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("Events(0, %d)", limit))
			_, err = tx.SubscribersByEnterprise("ent", "", limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("SubscribersByEnterprise(ent, \"\", %d)", limit))
			_, err = tx.EnterprisesByPartner("partner", "", limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("EnterprisesByPartner(partner, \"\", %d)", limit))
			_, err = tx.Domains("acme", "", limit)
			wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("Domains(acme, \"\", %d)", limit))
		}
		return nil
	})
}

func testUpdateReturnsFnError(t *testing.T, s claim.Store) {
	errFn := errors.New("fn failed")
	wrapped := fmt.Errorf("context: %w", errFn)
	if err := s.Update(t.Context(), func(tx claim.Tx) error { return wrapped }); !errors.Is(err, errFn) {
		t.Errorf("Update() = %v, want an error wrapping %v", err, errFn)
	}
	if err := s.View(t.Context(), func(tx claim.Tx) error { return wrapped }); !errors.Is(err, errFn) {
		t.Errorf("View() = %v, want an error wrapping %v", err, errFn)
	}
	if err := s.Update(t.Context(), func(tx claim.Tx) error { return nil }); err != nil {
		t.Errorf("Update() = %v, want nil", err)
	}
	if err := s.View(t.Context(), func(tx claim.Tx) error { return nil }); err != nil {
		t.Errorf("View() = %v, want nil", err)
	}
}

// lookup is the outcome of one read: the value, or the error.
type lookup[V any] struct {
	V   V
	Err string // "" for nil, "not found" for ErrNotFound, otherwise the message
}

func found[V any](v V, err error) lookup[V] {
	switch {
	case err == nil:
		return lookup[V]{V: v}
	case errors.Is(err, claim.ErrNotFound):
		return lookup[V]{Err: "not found"}
	}
	return lookup[V]{Err: err.Error()}
}

// universe is the keys a state reads.
type universe struct {
	orgs    []claim.OrgID
	users   []claim.UserID
	emails  []string
	domains []string // names; read as records of every org, as claimants and as e-mail domains
}

// state is everything a store answers about a universe of keys.
type state struct {
	Orgs      map[claim.OrgID]lookup[claim.Org]
	Domains   map[claim.OrgID]lookup[[]claim.Domain]
	Domain    map[string]lookup[claim.Domain] // org + " " + name
	Claimants map[string]lookup[claim.OrgID]
	Users     map[claim.UserID]lookup[claim.User]
	ByEmail   map[string]lookup[claim.User]
	ByOrg     map[claim.OrgID]lookup[[]claim.User]
	Pending   map[claim.OrgID]lookup[[]claim.User]
	ByDomain  map[string]lookup[[]claim.User]
	Due       lookup[[]claim.User]
	Events    lookup[[]claim.Event]
}

// readState reads u's state of s in one View.
func readState(t *testing.T, s claim.Store, u universe) state {
	t.Helper()
	st := state{
		Orgs:      map[claim.OrgID]lookup[claim.Org]{},
		Domains:   map[claim.OrgID]lookup[[]claim.Domain]{},
		Domain:    map[string]lookup[claim.Domain]{},
		Claimants: map[string]lookup[claim.OrgID]{},
		Users:     map[claim.UserID]lookup[claim.User]{},
		ByEmail:   map[string]lookup[claim.User]{},
		ByOrg:     map[claim.OrgID]lookup[[]claim.User]{},
		Pending:   map[claim.OrgID]lookup[[]claim.User]{},
		ByDomain:  map[string]lookup[[]claim.User]{},
	}
	view(t, s, func(tx claim.Tx) error {
		for _, o := range u.orgs {
			st.Orgs[o] = found(tx.Org(o))
			st.Domains[o] = found(tx.Domains(o, "", 1000))
			st.ByOrg[o] = found(tx.UsersByOrg(o, "", big))
			st.Pending[o] = found(tx.PendingClaimsBy(o, "", big))
			for _, d := range u.domains {
				st.Domain[string(o)+" "+d] = found(tx.Domain(o, d))
			}
		}
		for _, d := range u.domains {
			st.Claimants[d] = found(tx.DomainClaimant(d))
			st.ByDomain[d] = found(tx.UsersByDomain(d, "", big))
		}
		for _, id := range u.users {
			st.Users[id] = found(tx.User(id))
		}
		for _, e := range u.emails {
			st.ByEmail[e] = found(tx.UserByEmail(e))
		}
		st.Due = found(tx.DueClaims(t0.Add(365*24*time.Hour), big))
		st.Events = found(tx.Events(0, big))
		return nil
	})
	return st
}

// rollbackUniverse is the keys of setUpRollback and writeMany.
var rollbackUniverse = universe{
	orgs:    []claim.OrgID{"acme", "beta", "gamma", "new"},
	users:   []claim.UserID{"u1", "u2", "u3", "u4", "new"},
	emails:  []string{"ann@x.com", "bob@x.com", "cat@y.com", "dan@y.com", "new@x.com", "moved@y.com"},
	domains: []string{"x.com", "y.com", "z.com"},
}

// setUpRollback commits the state that writeMany's transaction changes.
func setUpRollback(t *testing.T, s claim.Store) {
	t.Helper()
	u1 := newUser("u1", "ann@x.com", "acme")
	u1.Claim = newClaim("beta", claim.Delayed, t0)
	u2 := newUser("u2", "bob@x.com", "acme")
	u3 := newUser("u3", "cat@y.com", "beta")
	u3.Claim = newClaim("acme", claim.Delayed, t0.Add(-time.Hour))
	u4 := newUser("u4", "dan@y.com", "gamma")
	update(t, s, func(tx claim.Tx) error {
		for _, o := range []claim.OrgID{"acme", "beta", "gamma"} {
			must(t, tx.CreateOrg(newOrg(o)), "CreateOrg")
		}
		for _, u := range []claim.User{u1, u2, u3, u4} {
			must(t, tx.CreateUser(u), "CreateUser")
		}
		must(t, tx.PutDomain(claim.Domain{Org: "acme", Name: "x.com", Verified: true, Claimed: true}), "PutDomain")
		must(t, tx.PutDomain(claim.Domain{Org: "beta", Name: "y.com", Verified: true, Claimed: true}), "PutDomain")
		must(t, tx.PutDomain(claim.Domain{Org: "beta", Name: "x.com", Token: "b"}), "PutDomain")
		for i := range 3 {
			must(t, tx.AppendEvent(claim.Event{Type: claim.EventUserAdded, Detail: fmt.Sprint(i)}), "AppendEvent")
		}
		return nil
	})
}

// writeMany makes many writes of every kind, several to the same record,
// each checked to be seen by the transaction itself.
func writeMany(t *testing.T, tx claim.Tx, committedEvents int) {
	t.Helper()
	// Users: move u1 off its address and give the address to a new user;
	// update u1 again; delete u2; re-index u3 and u4.
	u1, err := tx.User("u1")
	must(t, err, "User(u1)")
	u1.Email = "moved@y.com"
	u1.Org = "gamma"
	u1.Claim = nil
	must(t, tx.UpdateUser(u1), "UpdateUser(u1)")
	must(t, tx.CreateUser(newUser("new", "ann@x.com", "acme")), "CreateUser(new)")
	u1.FirstName = "Twice"
	u1.Claim = newClaim("gamma", claim.Delayed, t0.Add(-time.Minute))
	must(t, tx.UpdateUser(u1), "UpdateUser(u1) again")
	must(t, tx.DeleteUser("u2"), "DeleteUser(u2)")
	u3, err := tx.User("u3")
	must(t, err, "User(u3)")
	ended(u3.Claim)
	must(t, tx.UpdateUser(u3), "UpdateUser(u3)")
	u4, err := tx.User("u4")
	must(t, err, "User(u4)")
	must(t, tx.DeleteUser("u4"), "DeleteUser(u4)")
	u4.Email = "new@x.com"
	must(t, tx.CreateUser(u4), "CreateUser(u4) again")
	// Orgs.
	must(t, tx.CreateOrg(newOrg("new")), "CreateOrg(new)")
	acme := newOrg("acme")
	acme.Name = "Changed"
	must(t, tx.UpdateOrg(acme), "UpdateOrg(acme)")
	must(t, tx.DeleteOrg("beta"), "DeleteOrg(beta)")
	// Domains: move the claim of x.com from acme to beta, release y.com,
	// add z.com.
	must(t, tx.PutDomain(claim.Domain{Org: "acme", Name: "x.com", Verified: true}), "PutDomain(acme, x.com)")
	must(t, tx.PutDomain(claim.Domain{Org: "beta", Name: "x.com", Verified: true, Claimed: true}), "PutDomain(beta, x.com)")
	must(t, tx.DeleteDomain("beta", "y.com"), "DeleteDomain(beta, y.com)")
	must(t, tx.PutDomain(claim.Domain{Org: "new", Name: "z.com", Claimed: true}), "PutDomain(new, z.com)")
	// Events.
	for range 3 {
		must(t, tx.AppendEvent(claim.Event{Type: claim.EventUserDeleted}), "AppendEvent")
	}
	// Events lists what committed before the transaction, not its own.
	own, err := tx.Events(0, big)
	must(t, err, "Events(0) in the writing transaction")
	if len(own) != committedEvents {
		t.Errorf("Events(0) in the writing transaction lists %d events, want the %d committed before it", len(own), committedEvents)
	}

	// The transaction sees its own writes.
	got, err := tx.UserByEmail("ann@x.com")
	must(t, err, "UserByEmail(ann@x.com)")
	if got.ID != "new" {
		t.Errorf("UserByEmail(ann@x.com).ID = %s in the writing transaction, want new", got.ID)
	}
	claimant, err := tx.DomainClaimant("x.com")
	must(t, err, "DomainClaimant(x.com)")
	if claimant != "beta" {
		t.Errorf("DomainClaimant(x.com) = %s in the writing transaction, want beta", claimant)
	}
	due, err := tx.DueClaims(t0, big)
	must(t, err, "DueClaims")
	diffList(t, "DueClaims(t0) in the writing transaction", ids(due), []claim.UserID{"u1"})
	_, err = tx.Org("beta")
	wantErr(t, err, claim.ErrNotFound, "Org(beta) in the writing transaction")
}

func testRollbackOnError(t *testing.T, s claim.Store) {
	setUpRollback(t, s)
	before := readState(t, s, rollbackUniverse)
	errFn := errors.New("fn failed after writing")
	err := s.Update(t.Context(), func(tx claim.Tx) error {
		writeMany(t, tx, 3)
		return errFn
	})
	if !errors.Is(err, errFn) {
		t.Fatalf("Update() = %v, want an error wrapping %v", err, errFn)
	}
	after := readState(t, s, rollbackUniverse)
	if d := gocmp.Diff(before, after, cmpOpts...); d != "" {
		t.Errorf("state after a failed Update differs (-want +got):\n%s", d)
	}
	checkNextSeq(t, s, 4)
	// The same writes commit when fn succeeds, so the comparison above
	// was not vacuous.
	update(t, s, func(tx claim.Tx) error {
		writeMany(t, tx, 4)
		return nil
	})
	if d := gocmp.Diff(before, readState(t, s, rollbackUniverse), cmpOpts...); d == "" {
		t.Errorf("state after committing the writes of the failed Update is unchanged, want it changed")
	}
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.UserByEmail("ann@x.com")
		must(t, err, "UserByEmail(ann@x.com)")
		if got.ID != "new" {
			t.Errorf("UserByEmail(ann@x.com).ID = %s after commit, want new", got.ID)
		}
		events, err := tx.Events(0, big)
		must(t, err, "Events")
		if len(events) != 7 {
			t.Errorf("Events(0) after commit has %d events, want 7", len(events))
		}
		return nil
	})
}

// checkNextSeq appends an event and fails the test unless it is
// committed with Seq want (and is the last event).
func checkNextSeq(t *testing.T, s claim.Store, want uint64) {
	t.Helper()
	update(t, s, func(tx claim.Tx) error {
		return tx.AppendEvent(claim.Event{Type: claim.EventOrgCreated, Detail: "next"})
	})
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.Events(want-1, big)
		must(t, err, "Events")
		if len(got) != 1 || got[0].Seq != want || got[0].Detail != "next" {
			t.Errorf("Events(%d) after appending one event = %v, want it alone with Seq %d", want-1, got, want)
		}
		return nil
	})
}

func testRollbackOnPanic(t *testing.T, s claim.Store) {
	setUpRollback(t, s)
	before := readState(t, s, rollbackUniverse)
	type boom struct{ n int }
	func() {
		defer func() {
			if r := recover(); r != (boom{42}) {
				t.Errorf("Update() panicked with %v, want %v", r, boom{42})
			}
		}()
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			writeMany(t, tx, 3)
			panic(boom{42})
		})
		t.Errorf("Update() = %v, want a panic", err)
	}()
	// The store must be usable again: a lock left held would hang here.
	done := make(chan error, 1)
	go func() {
		done <- s.Update(t.Context(), func(claim.Tx) error { return nil })
	}()
	select {
	case err := <-done:
		must(t, err, "Update() after a panicking Update")
	case <-time.After(10 * time.Second):
		t.Fatal("the store did not run an Update within 10s of a panicking Update")
	}
	after := readState(t, s, rollbackUniverse)
	if d := gocmp.Diff(before, after, cmpOpts...); d != "" {
		t.Errorf("state after a panicking Update differs (-want +got):\n%s", d)
	}
	checkNextSeq(t, s, 4)
}

func testViewIsReadOnly(t *testing.T, s claim.Store) {
	setUpRollback(t, s)
	before := readState(t, s, rollbackUniverse)
	err := s.View(t.Context(), func(tx claim.Tx) error {
		u, err := tx.User("u1")
		must(t, err, "User(u1)")
		u.FirstName = "Changed"
		o, err := tx.Org("acme")
		must(t, err, "Org(acme)")
		o.Name = "Changed"
		writes := []struct {
			call string
			err  error
		}{
			{"CreateOrg", tx.CreateOrg(newOrg("new"))},
			{"UpdateOrg", tx.UpdateOrg(o)},
			{"DeleteOrg", tx.DeleteOrg("acme")},
			{"PutDomain", tx.PutDomain(claim.Domain{Org: "new", Name: "z.com", Claimed: true})},
			{"DeleteDomain", tx.DeleteDomain("acme", "x.com")},
			{"CreateUser", tx.CreateUser(newUser("new", "new@x.com", "acme"))},
			{"UpdateUser", tx.UpdateUser(u)},
			{"DeleteUser", tx.DeleteUser("u2")},
		}
		err = tx.AppendEvent(claim.Event{Type: claim.EventOrgCreated})
		writes = append(writes, struct {
			call string
			err  error
		}{"AppendEvent", err})
		for _, w := range writes {
			if w.err == nil {
				t.Errorf("%s in a View = nil, want an error", w.call)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("View() = %v, want nil", err)
	}
	after := readState(t, s, rollbackUniverse)
	if d := gocmp.Diff(before, after, cmpOpts...); d != "" {
		t.Errorf("state after writes in a View differs (-want +got):\n%s", d)
	}
	checkNextSeq(t, s, 4)
}

func testCanceledContext(t *testing.T, s claim.Store) {
	setUpRollback(t, s)
	before := readState(t, s, rollbackUniverse)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx claim.Tx) error {
		if err := tx.DeleteUser("u1"); err != nil {
			return err
		}
		return tx.AppendEvent(claim.Event{Type: claim.EventUserDeleted})
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update(canceled context) = %v, want an error wrapping %v", err, context.Canceled)
	}
	err = s.View(ctx, func(tx claim.Tx) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("View(canceled context) = %v, want an error wrapping %v", err, context.Canceled)
	}
	after := readState(t, s, rollbackUniverse)
	if d := gocmp.Diff(before, after, cmpOpts...); d != "" {
		t.Errorf("state after an Update with a canceled context differs (-want +got):\n%s", d)
	}
}

func testSerializable(t *testing.T, s claim.Store) {
	const writers, updates, readers = 16, 50, 4
	createUsers(t, s, newUser("counter", "counter@x.com", "acme"), newUser("mirror", "mirror@x.com", "acme"))
	setContent := func(u claim.User, n int) claim.User {
		u.Content = n
		return u
	}
	update(t, s, func(tx claim.Tx) error {
		for _, id := range []claim.UserID{"counter", "mirror"} {
			u, err := tx.User(id)
			if err != nil {
				return err
			}
			if err := tx.UpdateUser(setContent(u, 0)); err != nil {
				return err
			}
		}
		return nil
	})

	ctx := t.Context()
	var wg, readersWG sync.WaitGroup
	stop := make(chan struct{})
	for range readers {
		readersWG.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.View(ctx, func(tx claim.Tx) error {
					c, err := tx.User("counter")
					if err != nil {
						return err
					}
					runtime.Gosched()
					m, err := tx.UserByEmail("mirror@x.com")
					if err != nil {
						return err
					}
					if c.Content != m.Content {
						t.Errorf("a View saw counter %d and mirror %d, want them equal", c.Content, m.Content)
					}
					users, err := tx.UsersByOrg("acme", "", big)
					if err != nil {
						return err
					}
					if len(users) != 2 || users[0].Content != users[1].Content {
						t.Errorf("a View's UsersByOrg(acme) = %v, want counter and mirror, equal", users)
					}
					return nil
				})
				if err != nil {
					t.Errorf("View() = %v, want nil", err)
					return
				}
			}
		})
	}
	for range writers {
		wg.Go(func() {
			for range updates {
				for {
					err := s.Update(ctx, func(tx claim.Tx) error {
						c, err := tx.User("counter")
						if err != nil {
							return err
						}
						runtime.Gosched()
						m, err := tx.User("mirror")
						if err != nil {
							return err
						}
						if err := tx.UpdateUser(setContent(c, c.Content+1)); err != nil {
							return err
						}
						runtime.Gosched()
						return tx.UpdateUser(setContent(m, m.Content+1))
					})
					if errors.Is(err, claim.ErrConflict) {
						continue // the store gave up; try again, as a caller would
					}
					if err != nil {
						t.Errorf("Update() = %v, want nil", err)
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readersWG.Wait()
	view(t, s, func(tx claim.Tx) error {
		for _, id := range []claim.UserID{"counter", "mirror"} {
			u, err := tx.User(id)
			must(t, err, "User("+string(id)+")")
			if u.Content != writers*updates {
				t.Errorf("User(%s).Content = %d after %d increments, want %d", id, u.Content, writers*updates, writers*updates)
			}
		}
		return nil
	})
}

// The model-based test.

// The model's key spaces are small, so that draws collide: IDs repeat,
// addresses are taken, claims compete for a domain.
var (
	modelOrgs    = []claim.OrgID{"o1", "o2", "o3"}
	modelIDs     = []claim.UserID{"u1", "u2", "u3", "u4", "u5", "u6", "u7"}
	modelLocals  = []string{"a", "b", "c", "d"}
	modelDomains = []string{"x.com", "sub.x.com", "y.org"}
	modelTypes   = []string{claim.EventUserAdded, claim.EventClaimCreated, claim.EventDomainClaimed}
	modelLics    = []string{"messaging", "meetings", "calling"}
	// modelNows are the instants DueClaims is asked about: the drawn
	// deadlines are whole hours around t0.
	modelNows = []time.Time{t0.Add(-2 * time.Hour), t0.Add(-time.Nanosecond), t0, t0.Add(time.Hour), t0.Add(5 * time.Hour)}
)

var errModelAbort = errors.New("model: abort")

// machine is the rapid state machine: a store and the plain model it must
// agree with.
type machine struct {
	ctx     context.Context
	s       claim.Store
	users   map[claim.UserID]claim.User
	orgs    map[claim.OrgID]claim.Org
	domains map[modelDomainKey]claim.Domain
	events  []claim.Event
}

type modelDomainKey struct {
	org  claim.OrgID
	name string
}

func testModel(t *testing.T, newStore func(t *testing.T) claim.Store) {
	rapid.Check(t, func(rt *rapid.T) {
		m := &machine{
			ctx:     t.Context(),
			s:       newStore(t),
			users:   map[claim.UserID]claim.User{},
			orgs:    map[claim.OrgID]claim.Org{},
			domains: map[modelDomainKey]claim.Domain{},
		}
		rt.Repeat(rapid.StateMachineActions(m))
	})
}

func drawEmail(t *rapid.T, label string) string {
	return rapid.SampledFrom(modelLocals).Draw(t, label+" local part") + "@" + rapid.SampledFrom(modelDomains).Draw(t, label+" domain")
}

func drawHours(t *rapid.T, label string) time.Time {
	return t0.Add(time.Duration(rapid.IntRange(-3, 3).Draw(t, label)) * time.Hour)
}

func drawClaim(t *rapid.T) *claim.ClaimInfo {
	if !rapid.Bool().Draw(t, "has claim") {
		return nil
	}
	c := &claim.ClaimInfo{
		By:        rapid.SampledFrom(modelOrgs).Draw(t, "claim by"),
		From:      rapid.SampledFrom(modelOrgs).Draw(t, "claim from"),
		Mode:      rapid.SampledFrom([]claim.Mode{claim.Immediate, claim.Delayed}).Draw(t, "claim mode"),
		PrevState: claim.Verified,
		At:        t0.Add(-14 * 24 * time.Hour),
		Deadline:  drawHours(t, "claim deadline (hours from t0)"),
		SignedIn:  rapid.Bool().Draw(t, "claim signed in"),
	}
	if rapid.Bool().Draw(t, "claim ended") {
		ended(c)
	}
	return c
}

func drawUser(t *rapid.T, id claim.UserID) claim.User {
	return claim.User{
		ID:        id,
		Email:     drawEmail(t, "email"),
		FirstName: rapid.SampledFrom([]string{"", "Ann", "Bob"}).Draw(t, "first name"),
		Org:       rapid.SampledFrom(modelOrgs).Draw(t, "org"),
		State:     rapid.SampledFrom([]claim.State{claim.NotVerified, claim.Verified, claim.Active, claim.Inactive, claim.DelayedClaim}).Draw(t, "state"),
		Licenses:  rapid.SliceOfN(rapid.SampledFrom(modelLics), 0, 3).Draw(t, "licenses"),
		Content:   rapid.IntRange(0, 9).Draw(t, "content"),
		CreatedAt: drawHours(t, "created at (hours from t0)"),
		Claim:     drawClaim(t),
	}
}

func drawDomain(t *rapid.T) claim.Domain {
	return claim.Domain{
		Org:      rapid.SampledFrom(modelOrgs).Draw(t, "domain org"),
		Name:     rapid.SampledFrom(modelDomains).Draw(t, "domain name"),
		Token:    rapid.SampledFrom([]string{"t1", "t2"}).Draw(t, "domain token"),
		Verified: rapid.Bool().Draw(t, "domain verified"),
		Claimed:  rapid.Bool().Draw(t, "domain claimed"),
	}
}

// update runs fn in an Update of the store.
func (m *machine) update(fn func(tx claim.Tx) error) error {
	return m.s.Update(m.ctx, fn)
}

// checkErr fails unless err is nil when want is, or wraps want.
func checkErr(t *rapid.T, call string, err, want error) {
	t.Helper()
	if want == nil && err != nil {
		t.Fatalf("%s = %v, want nil", call, err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("%s = %v, want an error wrapping %v", call, err, want)
	}
}

// emailOwner returns the model's user with the address.
func (m *machine) emailOwner(email string) (claim.UserID, bool) {
	for id, u := range m.users {
		if u.Email == email {
			return id, true
		}
	}
	return "", false
}

func (m *machine) CreateUser(t *rapid.T) {
	u := drawUser(t, rapid.SampledFrom(modelIDs).Draw(t, "id"))
	var want error
	if _, ok := m.users[u.ID]; ok {
		want = claim.ErrDuplicate
	} else if _, ok := m.emailOwner(u.Email); ok {
		want = claim.ErrEmailTaken
	}
	err := m.update(func(tx claim.Tx) error { return tx.CreateUser(u) })
	checkErr(t, "CreateUser("+string(u.ID)+", "+u.Email+")", err, want)
	if want == nil {
		m.users[u.ID] = u
	}
}

func (m *machine) UpdateUser(t *rapid.T) {
	id := rapid.SampledFrom(modelIDs).Draw(t, "id")
	u, ok := m.users[id]
	if !ok {
		u := drawUser(t, id)
		err := m.update(func(tx claim.Tx) error { return tx.UpdateUser(u) })
		checkErr(t, "UpdateUser("+string(id)+")", err, claim.ErrNotFound)
		return
	}
	u.Licenses = slices.Clone(u.Licenses)
	if rapid.Bool().Draw(t, "change email") {
		u.Email = drawEmail(t, "new email")
	}
	if rapid.Bool().Draw(t, "change org") {
		u.Org = rapid.SampledFrom(modelOrgs).Draw(t, "new org")
	}
	switch rapid.IntRange(0, 3).Draw(t, "claim change") {
	case 1:
		u.Claim = drawClaim(t)
	case 2: // end it
		if u.Claim != nil {
			c := *u.Claim
			u.Claim = ended(&c)
		}
	case 3: // move its deadline
		if u.Claim != nil {
			c := *u.Claim
			c.Deadline = drawHours(t, "new deadline (hours from t0)")
			u.Claim = &c
		}
	}
	u.Content = rapid.IntRange(0, 9).Draw(t, "new content")
	var want error
	if owner, ok := m.emailOwner(u.Email); ok && owner != id {
		want = claim.ErrEmailTaken
	}
	err := m.update(func(tx claim.Tx) error { return tx.UpdateUser(u) })
	checkErr(t, "UpdateUser("+string(id)+", "+u.Email+")", err, want)
	if want == nil {
		m.users[id] = u
	}
}

func (m *machine) DeleteUser(t *rapid.T) {
	id := rapid.SampledFrom(modelIDs).Draw(t, "id")
	var want error
	if _, ok := m.users[id]; !ok {
		want = claim.ErrNotFound
	}
	err := m.update(func(tx claim.Tx) error { return tx.DeleteUser(id) })
	checkErr(t, "DeleteUser("+string(id)+")", err, want)
	delete(m.users, id)
}

func (m *machine) CreateOrg(t *rapid.T) {
	o := claim.Org{
		ID:   rapid.SampledFrom(modelOrgs).Draw(t, "org id"),
		Name: rapid.SampledFrom([]string{"Acme", "Beta"}).Draw(t, "org name"),
		Kind: rapid.SampledFrom([]claim.OrgKind{claim.Enterprise, claim.Individual, claim.Consumer}).Draw(t, "org kind"),
		Settings: claim.Settings{
			AutoLicenses: rapid.SliceOfN(rapid.SampledFrom(modelLics), 0, 2).Draw(t, "auto licenses"),
			SSO:          rapid.Bool().Draw(t, "sso"),
		},
	}
	var want error
	if _, ok := m.orgs[o.ID]; ok {
		want = claim.ErrDuplicate
	}
	err := m.update(func(tx claim.Tx) error { return tx.CreateOrg(o) })
	checkErr(t, "CreateOrg("+string(o.ID)+")", err, want)
	if want == nil {
		m.orgs[o.ID] = o
	}
}

func (m *machine) UpdateOrg(t *rapid.T) {
	o := claim.Org{
		ID:        rapid.SampledFrom(modelOrgs).Draw(t, "org id"),
		Name:      rapid.SampledFrom([]string{"Acme", "Beta", "Gamma"}).Draw(t, "new org name"),
		Kind:      claim.Enterprise,
		CreatedAt: drawHours(t, "org created at (hours from t0)"),
		Settings: claim.Settings{
			AutoLicenses:          rapid.SliceOfN(rapid.SampledFrom(modelLics), 0, 2).Draw(t, "new auto licenses"),
			AllowContentMigration: rapid.Bool().Draw(t, "allow content migration"),
		},
	}
	var want error
	if _, ok := m.orgs[o.ID]; !ok {
		want = claim.ErrNotFound
	}
	err := m.update(func(tx claim.Tx) error { return tx.UpdateOrg(o) })
	checkErr(t, "UpdateOrg("+string(o.ID)+")", err, want)
	if want == nil {
		m.orgs[o.ID] = o
	}
}

func (m *machine) DeleteOrg(t *rapid.T) {
	id := rapid.SampledFrom(modelOrgs).Draw(t, "org id")
	var want error
	if _, ok := m.orgs[id]; !ok {
		want = claim.ErrNotFound
	}
	err := m.update(func(tx claim.Tx) error { return tx.DeleteOrg(id) })
	checkErr(t, "DeleteOrg("+string(id)+")", err, want)
	delete(m.orgs, id)
}

// claimant returns the model's org that claims the name.
func (m *machine) claimant(name string) (claim.OrgID, bool) {
	for k, d := range m.domains {
		if k.name == name && d.Claimed {
			return k.org, true
		}
	}
	return "", false
}

func (m *machine) PutDomain(t *rapid.T) {
	d := drawDomain(t)
	var want error
	if by, ok := m.claimant(d.Name); ok && d.Claimed && by != d.Org {
		want = claim.ErrDomainClaimedByOther
	}
	err := m.update(func(tx claim.Tx) error { return tx.PutDomain(d) })
	checkErr(t, "PutDomain("+string(d.Org)+", "+d.Name+")", err, want)
	if want == nil {
		m.domains[modelDomainKey{d.Org, d.Name}] = d
	}
}

func (m *machine) DeleteDomain(t *rapid.T) {
	k := modelDomainKey{
		org:  rapid.SampledFrom(modelOrgs).Draw(t, "domain org"),
		name: rapid.SampledFrom(modelDomains).Draw(t, "domain name"),
	}
	var want error
	if _, ok := m.domains[k]; !ok {
		want = claim.ErrNotFound
	}
	err := m.update(func(tx claim.Tx) error { return tx.DeleteDomain(k.org, k.name) })
	checkErr(t, "DeleteDomain("+string(k.org)+", "+k.name+")", err, want)
	delete(m.domains, k)
}

func (m *machine) AppendEvent(t *rapid.T) {
	e := claim.Event{
		At:   drawHours(t, "event at (hours from t0)"),
		Type: rapid.SampledFrom(modelTypes).Draw(t, "event type"),
		Org:  rapid.SampledFrom(modelOrgs).Draw(t, "event org"),
		User: rapid.SampledFrom(modelIDs).Draw(t, "event user"),
	}
	n := rapid.IntRange(1, 3).Draw(t, "events in one transaction")
	err := m.update(func(tx claim.Tx) error {
		for range n {
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	checkErr(t, "AppendEvent", err, nil)
	// Numbered at commit, consecutively; Check compares the log.
	for range n {
		want := e
		want.Seq = uint64(len(m.events) + 1)
		m.events = append(m.events, want)
	}
}

// FailingUpdate makes writes of every kind, ignoring their errors, then
// fails: the model does not change, and Check finds the store unchanged.
func (m *machine) FailingUpdate(t *rapid.T) {
	n := rapid.IntRange(1, 6).Draw(t, "writes before failing")
	kinds := make([]int, n)
	users := make([]claim.User, n)
	doms := make([]claim.Domain, n)
	for i := range n {
		kinds[i] = rapid.IntRange(0, 6).Draw(t, "write kind")
		users[i] = drawUser(t, rapid.SampledFrom(modelIDs).Draw(t, "write id"))
		doms[i] = drawDomain(t)
	}
	err := m.update(func(tx claim.Tx) error {
		for i := range n {
			u, d := users[i], doms[i]
			switch kinds[i] {
			case 0:
				_ = tx.CreateUser(u)
			case 1:
				_ = tx.UpdateUser(u)
			case 2:
				_ = tx.DeleteUser(u.ID)
			case 3:
				_ = tx.PutDomain(d)
			case 4:
				_ = tx.DeleteDomain(d.Org, d.Name)
			case 5:
				_ = tx.CreateOrg(claim.Org{ID: u.Org, Name: "failing"})
				_ = tx.DeleteOrg(d.Org)
			case 6:
				_ = tx.AppendEvent(claim.Event{Type: "failing"})
			}
		}
		return errModelAbort
	})
	checkErr(t, "Update(writes, then fails)", err, errModelAbort)
}

// observed is every answer of the store that Check compares with the
// model, normalized so that nil and empty slices are alike. One
// comparison of two observeds is much cheaper than one per query.
type observed struct {
	Users         map[claim.UserID]lookup[claim.User]
	ByEmail       map[string]lookup[claim.User]
	Orgs          map[claim.OrgID]lookup[claim.Org]
	Domain        map[modelDomainKey]lookup[claim.Domain]
	Domains       map[claim.OrgID]lookup[[]claim.Domain]
	Claimants     map[string]lookup[claim.OrgID]
	ByOrg         map[claim.OrgID][]claim.User // paged by 2
	Pending       map[claim.OrgID]lookup[[]claim.User]
	PendingPaged  map[claim.OrgID][]claim.User
	ByDomain      map[string]lookup[[]claim.User]
	ByDomainPaged map[string][]claim.User
	Due           map[string]lookup[[]claim.User] // by now and limit
	Events        lookup[[]claim.Event]
	EventsPage    lookup[[]claim.Event] // Events(len/2, 3)
}

func newObserved() observed {
	return observed{
		Users:         map[claim.UserID]lookup[claim.User]{},
		ByEmail:       map[string]lookup[claim.User]{},
		Orgs:          map[claim.OrgID]lookup[claim.Org]{},
		Domain:        map[modelDomainKey]lookup[claim.Domain]{},
		Domains:       map[claim.OrgID]lookup[[]claim.Domain]{},
		Claimants:     map[string]lookup[claim.OrgID]{},
		ByOrg:         map[claim.OrgID][]claim.User{},
		Pending:       map[claim.OrgID]lookup[[]claim.User]{},
		PendingPaged:  map[claim.OrgID][]claim.User{},
		ByDomain:      map[string]lookup[[]claim.User]{},
		ByDomainPaged: map[string][]claim.User{},
		Due:           map[string]lookup[[]claim.User]{},
	}
}

// dueKey names a DueClaims query of Check.
func dueKey(now time.Time, limit int) string {
	return fmt.Sprintf("DueClaims(t0%+v, %d)", now.Sub(t0), limit)
}

// normUser returns u with empty Licenses nil.
func normUser(u claim.User) claim.User {
	if len(u.Licenses) == 0 {
		u.Licenses = nil
	}
	return u
}

// normUsers returns users normalized, nil if empty.
func normUsers(users []claim.User) []claim.User {
	if len(users) == 0 {
		return nil
	}
	out := make([]claim.User, len(users))
	for i, u := range users {
		out[i] = normUser(u)
	}
	return out
}

// normOrg returns o with empty AutoLicenses nil.
func normOrg(o claim.Org) claim.Org {
	if len(o.Settings.AutoLicenses) == 0 {
		o.Settings.AutoLicenses = nil
	}
	return o
}

// nilIfEmpty returns s, nil if empty.
func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Check compares every query of the store with the model.
func (m *machine) Check(t *rapid.T) {
	got := newObserved()
	err := m.s.View(m.ctx, func(tx claim.Tx) error {
		m.observe(t, tx, &got)
		return nil
	})
	if err != nil {
		t.Fatalf("View() = %v, want nil", err)
	}
	want := m.expect()
	// reflect.DeepEqual is a fast path: it is enough where the store
	// returns times as given; gocmp.Equal compares times with Equal.
	if !reflect.DeepEqual(want, got) && !gocmp.Equal(want, got) {
		t.Fatalf("store differs from the model (-want +got):\n%s", gocmp.Diff(want, got))
	}
}

// observe reads every query of Check from the store.
func (m *machine) observe(t *rapid.T, tx claim.Tx, o *observed) {
	t.Helper()
	user := func(u claim.User, err error) lookup[claim.User] { return found(normUser(u), err) }
	users := func(us []claim.User, err error) lookup[[]claim.User] { return found(normUsers(us), err) }
	// pageAll pages through a list two at a time, checking page sizes.
	pageAll := func(call string, list func(after string, limit int) ([]claim.User, error)) []claim.User {
		t.Helper()
		var all []claim.User
		after := ""
		for range len(modelIDs) + 1 {
			page, err := list(after, 2)
			if err != nil {
				t.Fatalf("%s after %q = %v, want nil", call, after, err)
			}
			if len(page) > 2 {
				t.Fatalf("%s after %q returned %d users, want at most 2", call, after, len(page))
			}
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			after = page[len(page)-1].Email
		}
		return normUsers(all)
	}

	for _, id := range modelIDs {
		o.Users[id] = user(tx.User(id))
	}
	for _, l := range modelLocals {
		for _, d := range modelDomains {
			e := l + "@" + d
			o.ByEmail[e] = user(tx.UserByEmail(e))
		}
	}
	for _, org := range modelOrgs {
		og, err := tx.Org(org)
		o.Orgs[org] = found(normOrg(og), err)
		for _, name := range modelDomains {
			o.Domain[modelDomainKey{org, name}] = found(tx.Domain(org, name))
		}
		doms, err := tx.Domains(org, "", 1000)
		o.Domains[org] = found(nilIfEmpty(doms), err)
		o.ByOrg[org] = pageAll("UsersByOrg("+string(org)+")", func(after string, limit int) ([]claim.User, error) {
			return tx.UsersByOrg(org, after, limit)
		})
		o.Pending[org] = users(tx.PendingClaimsBy(org, "", big))
		o.PendingPaged[org] = pageAll("PendingClaimsBy("+string(org)+")", func(after string, limit int) ([]claim.User, error) {
			return tx.PendingClaimsBy(org, after, limit)
		})
	}
	for _, d := range modelDomains {
		o.Claimants[d] = found(tx.DomainClaimant(d))
		o.ByDomain[d] = users(tx.UsersByDomain(d, "", big))
		o.ByDomainPaged[d] = pageAll("UsersByDomain("+d+")", func(after string, limit int) ([]claim.User, error) {
			return tx.UsersByDomain(d, after, limit)
		})
	}
	for _, now := range modelNows {
		for _, limit := range []int{2, big} {
			o.Due[dueKey(now, limit)] = users(tx.DueClaims(now, limit))
		}
	}
	events, err := tx.Events(0, big)
	o.Events = found(nilIfEmpty(events), err)
	events, err = tx.Events(uint64(len(m.events)/2), 3)
	o.EventsPage = found(nilIfEmpty(events), err)
}

// byEmail orders users by address.
func byEmail(a, b claim.User) int { return cmp.Compare(a.Email, b.Email) }

func pending(u claim.User) bool { return u.Claim != nil && u.Claim.Ended.IsZero() }

// expect computes from the model what observe should read.
func (m *machine) expect() observed {
	o := newObserved()
	// usersWhere returns the model's users that keep, in e-mail order.
	usersWhere := func(keep func(u claim.User) bool) []claim.User {
		var out []claim.User
		for _, u := range m.users {
			if keep(u) {
				out = append(out, u)
			}
		}
		slices.SortFunc(out, byEmail)
		return normUsers(out)
	}
	notFound := func() string { return "not found" }

	for _, id := range modelIDs {
		if u, ok := m.users[id]; ok {
			o.Users[id] = lookup[claim.User]{V: normUser(u)}
		} else {
			o.Users[id] = lookup[claim.User]{Err: notFound()}
		}
	}
	for _, l := range modelLocals {
		for _, d := range modelDomains {
			e := l + "@" + d
			if id, ok := m.emailOwner(e); ok {
				o.ByEmail[e] = lookup[claim.User]{V: normUser(m.users[id])}
			} else {
				o.ByEmail[e] = lookup[claim.User]{Err: notFound()}
			}
		}
	}
	for _, org := range modelOrgs {
		if og, ok := m.orgs[org]; ok {
			o.Orgs[org] = lookup[claim.Org]{V: normOrg(og)}
		} else {
			o.Orgs[org] = lookup[claim.Org]{Err: notFound()}
		}
		var doms []claim.Domain
		for _, name := range modelDomains { // in name order below
			k := modelDomainKey{org, name}
			if d, ok := m.domains[k]; ok {
				o.Domain[k] = lookup[claim.Domain]{V: d}
				doms = append(doms, d)
			} else {
				o.Domain[k] = lookup[claim.Domain]{Err: notFound()}
			}
		}
		slices.SortFunc(doms, func(a, b claim.Domain) int { return cmp.Compare(a.Name, b.Name) })
		o.Domains[org] = lookup[[]claim.Domain]{V: doms}
		o.ByOrg[org] = usersWhere(func(u claim.User) bool { return u.Org == org })
		p := usersWhere(func(u claim.User) bool { return pending(u) && u.Claim.By == org })
		o.Pending[org] = lookup[[]claim.User]{V: p}
		o.PendingPaged[org] = p
	}
	for _, d := range modelDomains {
		if by, ok := m.claimant(d); ok {
			o.Claimants[d] = lookup[claim.OrgID]{V: by}
		} else {
			o.Claimants[d] = lookup[claim.OrgID]{Err: notFound()}
		}
		u := usersWhere(func(u claim.User) bool { return domainOf(u.Email) == d })
		o.ByDomain[d] = lookup[[]claim.User]{V: u}
		o.ByDomainPaged[d] = u
	}
	for _, now := range modelNows {
		var due []claim.User
		for _, u := range m.users {
			if pending(u) && u.Claim.Mode == claim.Delayed && !u.Claim.Deadline.After(now) {
				due = append(due, u)
			}
		}
		slices.SortFunc(due, func(a, b claim.User) int {
			if c := a.Claim.Deadline.Compare(b.Claim.Deadline); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		due = normUsers(due)
		o.Due[dueKey(now, big)] = lookup[[]claim.User]{V: due}
		o.Due[dueKey(now, 2)] = lookup[[]claim.User]{V: due[:min(2, len(due))]}
	}
	o.Events = lookup[[]claim.Event]{V: nilIfEmpty(m.events)}
	half := len(m.events) / 2
	o.EventsPage = lookup[[]claim.Event]{V: nilIfEmpty(m.events[half:min(half+3, len(m.events))])}
	return o
}

// domainOf returns the part of an address after its last '@'.
func domainOf(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}
