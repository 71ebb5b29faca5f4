package claim_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// TestSiteAccessAtRiskProperty (S1): for drawn users, each holding any
// mix of license and external-admin rights on b's Site Admin site, b's
// moved site and another org's moved site, Claimable, ClaimablePage, a
// dry run and the real ClaimUsers carry site_access_at_risk exactly for
// the users holding something on b's moved site, and every one of them
// is claimed all the same.
func TestSiteAccessAtRiskProperty(t *testing.T) {
	rapidCheck(t, func(rt *rapid.T, tb testing.TB) { siteRiskProperty(rt, tb, claim.NewMemoryStore()) })
}

// TestSiteAccessAtRiskPropertyPostgres is TestSiteAccessAtRiskProperty on
// the PostgreSQL store (see TestStateMachinePostgres for the environment).
func TestSiteAccessAtRiskPropertyPostgres(t *testing.T) {
	rapidCheckPostgres(t, 15, siteRiskProperty)
}

func siteRiskProperty(rt *rapid.T, tb testing.TB, store claim.Store) {
	w := newSiteWorld(tb, store)
	e := w.e
	n := rapid.IntRange(1, 6).Draw(rt, "users")
	want := map[claim.UserID][]claim.Warning{}
	var ids []claim.UserID
	for i := range n {
		u := e.mustActive(tb, "a", fmt.Sprintf("u%d@example.com", i), i)
		ids = append(ids, u.ID)
		for _, s := range []claim.Site{w.sa, w.ch, w.oc} {
			lic := rapid.Bool().Draw(rt, "license on "+s.URL)
			adm := rapid.Bool().Draw(rt, "external admin on "+s.URL)
			if lic || adm {
				w.grant(tb, s, u.ID, lic, adm)
			}
			if s == w.ch && (lic || adm) {
				want[u.ID] = atRisk
			}
		}
	}
	got := map[claim.UserID][]claim.Warning{}
	for c, err := range e.svc.Claimable(e.ctx, "b") {
		if err != nil {
			rt.Fatalf("Claimable(b) = %v", err)
		}
		if c.Warnings != nil {
			got[c.User.ID] = c.Warnings
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		rt.Fatalf("Claimable warnings (-want +got):\n%s", diff)
	}
	p, err := e.svc.ClaimablePage(e.ctx, "b", claim.ListOptions{Limit: 100})
	if err != nil {
		rt.Fatalf("ClaimablePage(b) = %v", err)
	}
	clear(got)
	for _, c := range p.Items {
		if c.Warnings != nil {
			got[c.User.ID] = c.Warnings
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		rt.Fatalf("ClaimablePage warnings (-want +got):\n%s", diff)
	}
	for _, dry := range []bool{true, false} {
		res, err := e.svc.ClaimUsers(e.ctx, "b", ids, claim.ClaimOptions{Acknowledge: true, DryRun: dry})
		if err != nil {
			rt.Fatalf("ClaimUsers(DryRun %v) = %v", dry, err)
		}
		clear(got)
		for _, r := range res {
			if r.Err != nil {
				rt.Fatalf("ClaimUsers(DryRun %v): %s: %v; the claim happens all the same", dry, r.Input, r.Err)
			}
			if r.Warnings != nil {
				got[r.User] = r.Warnings
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			rt.Fatalf("ClaimUsers(DryRun %v) warnings (-want +got):\n%s", dry, diff)
		}
	}
	for _, id := range ids {
		if u := e.mustGet(tb, id); u.Org != "b" {
			rt.Fatalf("%s is in %s after the claim, want b", u.Email, u.Org)
		}
	}
}

// relicenseWorld is a siteWorld with ann, who holds a license and
// external-admin rights on b's moved site and a license on its Site
// Admin site, and bob, who holds nothing.
func relicenseWorld(tb testing.TB, store claim.Store) (w *siteWorld, ann, bob claim.User) {
	tb.Helper()
	w = newSiteWorld(tb, store)
	ann = w.e.mustActive(tb, "a", "ann@example.com", 4)
	bob = w.e.mustActive(tb, "a", "bob@example.com", 0)
	w.grant(tb, w.ch, ann.ID, true, true)
	w.grant(tb, w.sa, ann.ID, true, false)
	return w, ann, bob
}

// TestRelicense (S1): with Relicense, ann ends claimed holding the same
// licenses and rights on b's sites, with no warning; the events of the
// call are site.access_removed, the claim's, then site.access_granted,
// all of one transaction (consecutive, one instant), and bob's claim has
// no site event.
func TestRelicense(t *testing.T) { relicense(t, claim.NewMemoryStore()) }

// TestRelicensePostgres is TestRelicense, and TestRelicenseDryRun, on
// the PostgreSQL store (see TestStateMachinePostgres for the
// environment).
func TestRelicensePostgres(t *testing.T) {
	store, empty := postgresStore(t)
	t.Run("Relicense", func(t *testing.T) { empty(t); relicense(t, store) })
	t.Run("DryRun", func(t *testing.T) { empty(t); relicenseDryRun(t, store) })
}

func relicense(t *testing.T, store claim.Store) {
	w, ann, bob := relicenseWorld(t, store)
	e := w.e
	before, err := e.svc.SiteAccess(e.ctx, "b", ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := len(e.snapshot(t).Events)
	res := e.mustClaim(t, "b", claim.ClaimOptions{Relicense: true}, ann.ID, bob.ID)
	for _, r := range res {
		if r.Warnings != nil {
			t.Errorf("%s: warnings %v with Relicense, want none", r.Input, r.Warnings)
		}
	}
	after, err := e.svc.SiteAccess(e.ctx, "b", ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" || len(after) != 2 {
		t.Errorf("ann's site access (-before +after):\n%s", diff)
	}
	if u := e.mustGet(t, ann.ID); u.Org != "b" || u.Claim == nil {
		t.Errorf("ann = %+v, want claimed by b", u)
	}
	evs := e.snapshot(t).Events[last:]
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type+" "+map[bool]string{true: "ann", false: "bob"}[ev.User == ann.ID])
		if !ev.At.Equal(evs[0].At) || ev.Seq != evs[0].Seq+uint64(len(types)-1) {
			t.Errorf("event %+v is not of the claim's transaction", ev)
		}
	}
	want := []string{"site.access_removed ann", "claim.created ann", "notify.claim ann", "site.access_granted ann",
		"claim.created bob", "notify.claim bob"}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if evs[0].Detail != string(w.ch.ID)+": license, external_admin" || evs[3].Detail != evs[0].Detail {
		t.Errorf("site events' Detail %q, %q; want the site and what ann holds", evs[0].Detail, evs[3].Detail)
	}
}

// TestRelicenseDryRun (S1, L1): a dry run with Relicense returns the
// real call's results and changes nothing.
func TestRelicenseDryRun(t *testing.T) { relicenseDryRun(t, claim.NewMemoryStore()) }

func relicenseDryRun(t *testing.T, store claim.Store) {
	w, ann, bob := relicenseWorld(t, store)
	e := w.e
	orgs := []claim.OrgID{"a", "b", "o"}
	before := dumpStore(t, store, orgs...)
	opts := claim.ClaimOptions{Acknowledge: true, Relicense: true, DryRun: true}
	dry, err := e.svc.ClaimUsers(e.ctx, "b", []claim.UserID{ann.ID, bob.ID}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, dumpStore(t, store, orgs...), claimtest.CmpOptions()); diff != "" {
		t.Fatalf("the dry run changed the store (-before +after):\n%s", diff)
	}
	opts.DryRun = false
	real, err := e.svc.ClaimUsers(e.ctx, "b", []claim.UserID{ann.ID, bob.ID}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(viewResults(dry), viewResults(real)); diff != "" {
		t.Errorf("results (-dry +real):\n%s", diff)
	}
}

// callFaultStore decorates a Store: the n-th Tx call of an Update
// (counted from 1 across its calls, reads included) fails with err. Its
// Tx forwards only the methods a claim calls; any other call panics on
// the nil embedded Tx, so a claim that calls a new method fails the test
// until the method is counted here too.
type callFaultStore struct {
	claim.Store
	on     bool // off: Updates run on the store's own Tx
	failAt int  // 0: never
	calls  int  // the calls of the last Update
	err    error
}

func (s *callFaultStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	if !s.on {
		return s.Store.Update(ctx, fn)
	}
	s.calls = 0
	return s.Store.Update(ctx, func(tx claim.Tx) error { return fn(&callFaultTx{in: tx, s: s}) })
}

type callFaultTx struct {
	claim.Tx // nil: an unlisted call panics
	in       claim.Tx
	s        *callFaultStore
}

func (t *callFaultTx) fault() error {
	t.s.calls++
	if t.s.calls == t.s.failAt {
		return t.s.err
	}
	return nil
}

func callFault[V any](t *callFaultTx, call func() (V, error)) (V, error) {
	if err := t.fault(); err != nil {
		var zero V
		return zero, err
	}
	return call()
}

func (t *callFaultTx) Org(id claim.OrgID) (claim.Org, error) {
	return callFault(t, func() (claim.Org, error) { return t.in.Org(id) })
}
func (t *callFaultTx) Domain(org claim.OrgID, name string) (claim.Domain, error) {
	return callFault(t, func() (claim.Domain, error) { return t.in.Domain(org, name) })
}
func (t *callFaultTx) DomainClaimant(name string) (claim.OrgID, error) {
	return callFault(t, func() (claim.OrgID, error) { return t.in.DomainClaimant(name) })
}
func (t *callFaultTx) User(id claim.UserID) (claim.User, error) {
	return callFault(t, func() (claim.User, error) { return t.in.User(id) })
}
func (t *callFaultTx) UserByEmail(email string) (claim.User, error) {
	return callFault(t, func() (claim.User, error) { return t.in.UserByEmail(email) })
}
func (t *callFaultTx) CreateUser(u claim.User) error {
	_, err := callFault(t, func() (struct{}, error) { return struct{}{}, t.in.CreateUser(u) })
	return err
}
func (t *callFaultTx) UpdateUser(u claim.User) error {
	_, err := callFault(t, func() (struct{}, error) { return struct{}{}, t.in.UpdateUser(u) })
	return err
}
func (t *callFaultTx) AppendEvent(e claim.Event) error {
	_, err := callFault(t, func() (struct{}, error) { return struct{}{}, t.in.AppendEvent(e) })
	return err
}
func (t *callFaultTx) Site(id claim.SiteID) (claim.Site, error) {
	return callFault(t, func() (claim.Site, error) { return t.in.Site(id) })
}
func (t *callFaultTx) SitesByOrg(org claim.OrgID, after claim.SiteID, limit int) ([]claim.Site, error) {
	return callFault(t, func() ([]claim.Site, error) { return t.in.SitesByOrg(org, after, limit) })
}
func (t *callFaultTx) SiteAccessByUser(user claim.UserID, after claim.SiteID, limit int) ([]claim.SiteAccess, error) {
	return callFault(t, func() ([]claim.SiteAccess, error) { return t.in.SiteAccessByUser(user, after, limit) })
}
func (t *callFaultTx) PutSiteAccess(a claim.SiteAccess) error {
	_, err := callFault(t, func() (struct{}, error) { return struct{}{}, t.in.PutSiteAccess(a) })
	return err
}

// TestRelicenseFaults (S1, O2): a store error at any call of a claim with
// Relicense — every read and every write, counted on a clean run — fails
// the call with that error and leaves the store as it was.
func TestRelicenseFaults(t *testing.T) {
	relicenseFaults(t, claim.NewMemoryStore(), claim.NewMemoryStore())
}

// TestRelicenseFaultsPostgres is TestRelicenseFaults on the PostgreSQL
// store, whose rollback undoes the writes.
func TestRelicenseFaultsPostgres(t *testing.T) {
	store, _ := postgresStore(t)
	clean, _ := postgresStore(t)
	relicenseFaults(t, store, clean)
}

// relicenseFaults runs TestRelicenseFaults on store, counting the calls
// of a clean run on the other, empty store clean.
func relicenseFaults(t *testing.T, store, cleanStore claim.Store) {
	fs := &callFaultStore{Store: store}
	w, ann, bob := relicenseWorld(t, fs)
	e := w.e
	orgs := []claim.OrgID{"a", "b", "o"}
	before := dumpStore(t, store, orgs...)
	ids := []claim.UserID{bob.ID, ann.ID}
	opts := claim.ClaimOptions{Acknowledge: true, Relicense: true}
	// Count the calls of a clean run in a world of its own.
	clean := &callFaultStore{Store: cleanStore}
	cw, cann, cbob := relicenseWorld(t, clean)
	clean.on = true
	if _, err := cw.e.svc.ClaimUsers(cw.e.ctx, "b", []claim.UserID{cbob.ID, cann.ID}, opts); err != nil {
		t.Fatal(err)
	}
	total := clean.calls
	fs.on = true
	if total < 10 {
		t.Fatalf("a clean claim made %d store calls; the fault wrapper misses some", total)
	}
	for at := 1; at <= total; at++ {
		injected := errors.New("injected")
		fs.failAt, fs.err = at, fmt.Errorf("call %d: %w", at, injected)
		res, err := e.svc.ClaimUsers(e.ctx, "b", ids, opts)
		fs.failAt = 0
		if !errors.Is(err, injected) || res != nil {
			t.Fatalf("call %d of %d fails: ClaimUsers() = %v, %v; want nil and the injected error", at, total, res, err)
		}
		if diff := cmp.Diff(before, dumpStore(t, store, orgs...), claimtest.CmpOptions()); diff != "" {
			t.Fatalf("call %d of %d fails: the store changed (-before +after):\n%s", at, total, diff)
		}
	}
	// And without a fault the same call claims both.
	if res, err := e.svc.ClaimUsers(e.ctx, "b", ids, opts); err != nil || slices.ContainsFunc(res, func(r claim.Result) bool { return r.Err != nil }) {
		t.Fatalf("ClaimUsers() = %v, %v after the faults; want both claimed", res, err)
	}
}

// TestSiteRefusals: the site methods refuse bad input and what org may
// not touch, changing nothing; DeleteOrg removes the org's sites and what
// users held on them.
func TestSiteRefusals(t *testing.T) {
	store := claim.NewMemoryStore()
	w, ann, _ := relicenseWorld(t, store)
	e := w.e
	orgs := []claim.OrgID{"a", "b", "o"}
	before := dumpStore(t, store, orgs...)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"AddSite(empty url)", func() error { _, err := e.svc.AddSite(e.ctx, "b", ""); return err }(), claim.ErrInvalidValue},
		{"AddSite(url with a space)", func() error { _, err := e.svc.AddSite(e.ctx, "b", "a b"); return err }(), claim.ErrInvalidValue},
		{"AddSite(unknown org)", func() error { _, err := e.svc.AddSite(e.ctx, "nope", "x.example"); return err }(), claim.ErrNotFound},
		{"MoveSiteToControlHub(another org's site)", func() error { _, err := e.svc.MoveSiteToControlHub(e.ctx, "b", w.oc.ID); return err }(), claim.ErrNotFound},
		{"MoveSiteToControlHub(unknown site)", func() error { _, err := e.svc.MoveSiteToControlHub(e.ctx, "b", "st_nope"); return err }(), claim.ErrNotFound},
		{"SetSiteAccess(another org's site)", e.svc.SetSiteAccess(e.ctx, "b", claim.SiteAccess{Site: w.oc.ID, User: ann.ID, License: true}), claim.ErrNotFound},
		{"SetSiteAccess(unknown user)", e.svc.SetSiteAccess(e.ctx, "b", claim.SiteAccess{Site: w.sa.ID, User: "usr_nope", License: true}), claim.ErrNotFound},
		{"SetSiteAccess(what ann holds already)", e.svc.SetSiteAccess(e.ctx, "b", claim.SiteAccess{Site: w.sa.ID, User: ann.ID, License: true}), nil},
		{"SiteAccess(unknown user)", func() error { _, err := e.svc.SiteAccess(e.ctx, "b", "usr_nope"); return err }(), claim.ErrNotFound},
		{"Sites(unknown org)", func() error { _, err := e.svc.Sites(e.ctx, "nope"); return err }(), claim.ErrNotFound},
	} {
		if !errors.Is(c.err, c.want) || (c.want == nil) != (c.err == nil) {
			t.Errorf("%s = %v, want %v", c.name, c.err, c.want)
		}
	}
	if diff := cmp.Diff(before, dumpStore(t, store, orgs...), claimtest.CmpOptions()); diff != "" {
		t.Fatalf("refused calls changed the store (-before +after):\n%s", diff)
	}
	if err := e.svc.SetSiteAccess(e.ctx, "b", claim.SiteAccess{Site: w.sa.ID, User: ann.ID}); err != nil {
		t.Fatal(err)
	}
	if acc, err := e.svc.SiteAccess(e.ctx, "b", ann.ID); err != nil || len(acc) != 1 || acc[0].Site != w.ch.ID {
		t.Errorf("SiteAccess(b, ann) = %v, %v; want the moved site alone", acc, err)
	}
	if err := e.svc.DeleteOrg(e.ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, e, claim.EventSiteDeleted); n != 2 {
		t.Errorf("%d site.deleted events, want b's 2", n)
	}
	if ss, err := e.svc.Sites(e.ctx, "o"); err != nil || len(ss) != 1 {
		t.Errorf("Sites(o) = %v, %v; want o's site kept", ss, err)
	}
	err := store.View(e.ctx, func(tx claim.Tx) error {
		acc, err := tx.SiteAccessByUser(ann.ID, "", 10)
		if len(acc) != 0 {
			t.Errorf("ann holds %v after b was deleted, want nothing", acc)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
