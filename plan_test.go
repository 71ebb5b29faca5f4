package claim_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// planOutcome is what a plan entry and what then happens are compared
// on.
type planOutcome struct {
	Claimed     bool
	Is          []string // the sentinels of the error
	Reasons     []claim.Reason
	User        claim.UserID
	Mode        claim.Mode
	ContentLoss bool
	Content     int // claimed: what stays with the original account
	Licenses    []string
	Deactivated bool
	PurgeAt     time.Time
}

func sentinels(err error) []string {
	var out []string
	for _, s := range resultSentinels {
		if errors.Is(err, s) {
			out = append(out, s.Error())
		}
	}
	return out
}

// TestPlanClaimsProperty (L2): for drawn worlds (populate), directories
// (any of the world's addresses, in any case, and others) and lists of
// user IDs, PlanClaims changes nothing, and its per-user predictions
// equal what then happens when ClaimUsers claims the users with the same
// options and a full directory sync runs at the same instant: claimed or
// the same refusal and reasons, the mode, content kept or left with the
// original account (M2), the licenses, and deactivated or not with the
// date the purge would delete the user (Y2, Y4).
func TestPlanClaimsProperty(t *testing.T) {
	rapidCheck(t, func(rt *rapid.T, tb testing.TB) { planProperty(rt, tb, claim.NewMemoryStore()) })
}

func planProperty(rt *rapid.T, tb testing.TB, store claim.Store) {
	p := populateOn(rt, tb, store, "b")
	e := p.e
	var pool []claim.UserID
	var addrs []string
	for _, u := range p.users {
		pool = append(pool, u.ID)
		addrs = append(addrs, u.Email)
	}
	pool = append(pool, "usr_unknown", "")
	ids := rapid.SliceOfN(rapid.SampledFrom(pool), 0, 10).Draw(rt, "ids")
	var dir []claim.DirectoryEntry
	for range rapid.IntRange(0, len(addrs)+2).Draw(rt, "directory entries") {
		a := rapid.SampledFrom(append(addrs, "new@d.example", "not an address")).Draw(rt, "entry")
		if rapid.Bool().Draw(rt, "upper case") {
			a = strings.ToUpper(a)
		}
		dir = append(dir, claim.DirectoryEntry{Email: a})
	}
	opts := claim.ClaimOptions{
		Acknowledge:   true,
		ImmediateOnly: rapid.Bool().Draw(rt, "ImmediateOnly"),
		Licenses:      rapid.SliceOfN(rapid.SampledFrom(drawnLicenses), 0, 2).Draw(rt, "licenses"),
	}
	orgs := append(p.orgs, "a1", "a2")
	before := dumpStore(tb, store, orgs...)
	plan, err := e.svc.PlanClaims(e.ctx, "b", claim.PlanRequest{IDs: ids, Options: opts, Directory: dir, CheckDirectory: true})
	if err != nil {
		rt.Fatalf("PlanClaims() = %v", err)
	}
	if diff := cmp.Diff(before, dumpStore(tb, store, orgs...), claimtest.CmpOptions()); diff != "" {
		rt.Fatalf("the plan changed the store (-before +after):\n%s", diff)
	}
	if plan.DirectorySyncOn || len(plan.Entries) != len(ids) || !plan.At.Equal(e.clock.Now()) {
		rt.Fatalf("plan %+v for %d IDs at %v", plan, len(ids), e.clock.Now())
	}
	res, err := e.svc.ClaimUsers(e.ctx, "b", ids, opts)
	if err != nil {
		rt.Fatalf("ClaimUsers() = %v", err)
	}
	claimed := map[claim.UserID]claim.User{}
	for _, r := range res {
		if r.Err == nil {
			claimed[r.User] = e.mustGet(tb, r.User)
		}
	}
	if _, err := e.svc.SyncDirectory(e.ctx, "b", dir, claim.SyncOptions{Full: true, IgnoreThreshold: true}); err != nil {
		rt.Fatalf("SyncDirectory() = %v", err)
	}
	purge := e.svc.Policy().InactivePurge
	var want, got []planOutcome
	for i, pe := range plan.Entries {
		got = append(got, planOutcome{Claimed: pe.Err == nil, Is: sentinels(pe.Err), Reasons: pe.Reasons, User: pe.User,
			Mode: pe.Mode, ContentLoss: pe.ContentLoss, Content: map[bool]int{true: pe.Content}[pe.Err == nil],
			Licenses: pe.Licenses, Deactivated: pe.Deactivated, PurgeAt: pe.PurgeAt})
		r := res[i]
		w := planOutcome{Claimed: r.Err == nil, Is: sentinels(r.Err), User: r.User, Mode: r.Mode}
		var re *claim.RefusalError
		if errors.As(r.Err, &re) {
			w.Reasons = re.Reasons
		}
		if c, ok := claimed[r.User]; ok && r.Err == nil {
			b, err := e.svc.Org(e.ctx, "b")
			if err != nil {
				rt.Fatal(err)
			}
			orig, err := e.svc.User(e.ctx, c.Claim.Original)
			if err != nil {
				rt.Fatalf("the original of %s: %v", c.Email, err)
			}
			w.ContentLoss = r.Mode == claim.Immediate && b.Settings.AllowContentMigration
			w.Content, w.Licenses = orig.Content, c.Licenses
			after := e.mustGet(tb, r.User)
			w.Deactivated = after.State == claim.Inactive
			if w.Deactivated {
				w.PurgeAt = after.InactiveSince.Add(purge)
			}
		}
		want = append(want, w)
	}
	if diff := cmp.Diff(want, got, claimtest.CmpOptions()); diff != "" {
		rt.Fatalf("ids %q, %+v: plan (+) against what happened (-):\n%s", ids, opts, diff)
	}
}

// TestPlanClaimsPropertyPostgres is TestPlanClaimsProperty on the
// PostgreSQL store (see TestStateMachinePostgres for the environment).
func TestPlanClaimsPropertyPostgres(t *testing.T) {
	rapidCheckPostgres(t, 20, planProperty)
}

// TestPlanClaims: a plan of IDs, addresses and a CSV file in one, with
// org-level preconditions, site warnings, the directory and the totals.
func TestPlanClaims(t *testing.T) {
	w := newSiteWorld(t, claim.NewMemoryStore())
	e := w.e
	ann := e.mustActive(t, "a", "ann@example.com", 4) // delayed, at risk, in the directory
	bob := e.mustActive(t, "a", "bob@example.com", 2) // delayed, not in the directory
	e.mustOrg(t, "x", claim.Enterprise, t0, claim.Settings{})
	cy := e.mustUser(t, "x", "cy@example.com", 7) // immediate: content lost
	e.mustUser(t, "x", "dee@example.com", 1)      // by CSV, Claim FALSE
	e.mustUser(t, "x", "eve@example.com", 3)      // by CSV, Immediate, Meetings withheld
	w.grant(t, w.ch, ann.ID, true, false)
	req := claim.PlanRequest{
		IDs:    []claim.UserID{ann.ID, "usr_nope"},
		Emails: []string{"Bob <BOB@example.com>", "cy@example.com", "ann@example.com", "ann@example.com" + claim.OriginalSuffix},
		CSV: strings.NewReader("User ID/Email (Required),Claim Type,Claim,Meetings,Webinars\n" +
			"dee@example.com,,FALSE,,\n" +
			"eve@example.com,Immediate,,FALSE,\n"),
		Options:        claim.ClaimOptions{Licenses: []string{"Calling"}},
		Directory:      []claim.DirectoryEntry{{Email: "ANN@example.com"}, {Email: "nobody@example.com"}},
		CheckDirectory: true,
	}
	before := e.snapshot(t, "a", "b", "x")
	plan, err := e.svc.PlanClaims(e.ctx, "b", req)
	if err != nil {
		t.Fatalf("PlanClaims() = %v", err)
	}
	e.unchanged(t, before, "a", "b", "x")
	purge := t0.Add(e.svc.Policy().InactivePurge)
	type row struct {
		Input       string
		Line        int
		Is          []string
		Mode        claim.Mode
		ContentLoss bool
		Content     int
		Licenses    []string
		Warnings    []claim.Warning
		InDirectory bool
		Deactivated bool
		PurgeAt     time.Time
	}
	var got []row
	for _, pe := range plan.Entries {
		got = append(got, row{pe.Input, pe.Line, sentinels(pe.Err), pe.Mode, pe.ContentLoss, pe.Content, pe.Licenses, pe.Warnings, pe.InDirectory, pe.Deactivated, pe.PurgeAt})
	}
	both := []string{"Meetings", "Calling"}
	want := []row{
		{Input: string(ann.ID), Mode: claim.Delayed, Content: 4, Licenses: both, Warnings: atRisk, InDirectory: true},
		{Input: "usr_nope", Is: []string{claim.ErrNotFound.Error()}},
		{Input: "Bob <BOB@example.com>", Mode: claim.Delayed, Content: 2, Licenses: both, Deactivated: true, PurgeAt: purge},
		{Input: "cy@example.com", Mode: claim.Immediate, ContentLoss: true, Content: 7, Licenses: both, Deactivated: true, PurgeAt: purge},
		{Input: "ann@example.com", Is: []string{claim.ErrDuplicate.Error()}},
		{Input: "ann@example.com" + claim.OriginalSuffix, Is: []string{claim.ErrNotEligible.Error()}}, // the original her claim makes (E6)
		{Input: "dee@example.com", Line: 2},
		{Input: "eve@example.com", Line: 3, Mode: claim.Immediate, ContentLoss: true, Content: 3, Licenses: []string{"Calling"}, Deactivated: true, PurgeAt: purge},
	}
	if diff := cmp.Diff(want, got, claimtest.CmpOptions()); diff != "" {
		t.Errorf("plan entries (-want +got):\n%s", diff)
	}
	if !errors.Is(plan.Entries[6].Err, claim.ErrNotSelected) {
		t.Errorf("dee's row: %v, want ErrNotSelected", plan.Entries[6].Err)
	}
	if rs := plan.Entries[5].Reasons; !slices.Equal(rs, []claim.Reason{claim.ReasonPendingClaim}) {
		t.Errorf("the original's reasons %v, want pending_claim", rs)
	}
	wantTotals := claim.PlanTotals{Inputs: 8, Claimable: 4, Refused: 3, Skipped: 1, Immediate: 2, Delayed: 2,
		ContentLoss: 2, ContentLost: 10, AtRisk: 1, Deactivated: 3}
	if diff := cmp.Diff(wantTotals, plan.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Webinars"}, plan.UnknownColumns); diff != "" {
		t.Errorf("UnknownColumns (-want +got):\n%s", diff)
	}
	if plan.DirectorySyncOn {
		t.Errorf("DirectorySyncOn = true, want false")
	}

	// With directory sync on, the plan says so and still judges the users;
	// Relicense drops the warning; without CheckDirectory nobody is
	// deactivated.
	if err := e.svc.UpdateSettings(e.ctx, "b", claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}, DirectorySync: true}); err != nil {
		t.Fatal(err)
	}
	plan, err = e.svc.PlanClaims(e.ctx, "b", claim.PlanRequest{IDs: []claim.UserID{ann.ID, cy.ID, bob.ID}, Options: claim.ClaimOptions{Relicense: true}})
	if err != nil {
		t.Fatalf("PlanClaims(directory sync on) = %v", err)
	}
	if !plan.DirectorySyncOn || plan.Totals.Claimable != 3 || plan.Totals.AtRisk != 0 || plan.Totals.Deactivated != 0 {
		t.Errorf("plan with directory sync on, Relicense, no directory: %+v", plan)
	}
}

// TestPlanClaimsRefusals: the call-level errors, nothing changed.
func TestPlanClaimsRefusals(t *testing.T) {
	e := importEnv(t)
	before := e.snapshot(t, "b", "old", "ent")
	for _, c := range []struct {
		name string
		org  claim.OrgID
		req  claim.PlanRequest
		want error
	}{
		{"unknown org", "nope", claim.PlanRequest{}, claim.ErrNotFound},
		{"empty license", "b", claim.PlanRequest{Options: claim.ClaimOptions{Licenses: []string{" "}}}, claim.ErrInvalidValue},
		{"CSV without an address column", "b", claim.PlanRequest{CSV: strings.NewReader("Claim\nTRUE\n")}, claim.ErrInvalidValue},
		{"malformed CSV", "b", claim.PlanRequest{CSV: strings.NewReader("User ID/Email (Required)\n\"ann@example.com\n")}, claim.ErrInvalidValue},
	} {
		if _, err := e.svc.PlanClaims(e.ctx, c.org, c.req); !errors.Is(err, c.want) {
			t.Errorf("PlanClaims(%s) = %v, want %v", c.name, err, c.want)
		}
	}
	e.unchanged(t, before, "b", "old", "ent")
}

// BenchmarkPlanClaims (L2): a plan of 20,000 users against a 20,000-entry
// directory, and, as its baseline in the same run, a dry run of
// ClaimUsers on the same users (the policy's ListLimit raised to take
// them in one call). The plan should cost at most 3× the dry run.
func BenchmarkPlanClaims(b *testing.B) {
	const n = 20000
	pol := claim.DefaultPolicy()
	pol.ListLimit = n
	e := newEnv(b, claim.WithPolicy(pol))
	e.mustOrg(b, "b", claim.Enterprise, t0, claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}})
	e.mustOrg(b, "a", claim.Individual, oldOrgDate, claim.Settings{})
	e.mustVerify(b, "b", "example.com")
	ids := make([]claim.UserID, n)
	dir := make([]claim.DirectoryEntry, n)
	for i := range n {
		u, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: fmt.Sprintf("u%05d@example.com", i), Content: i % 5})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
		dir[i] = claim.DirectoryEntry{Email: fmt.Sprintf("u%05d@example.com", (i+n/2)%(2*n))} // half of them named
	}
	b.Run("DryRun", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := e.svc.ClaimUsers(e.ctx, "b", ids, claim.ClaimOptions{Acknowledge: true, DryRun: true})
			if err != nil || len(res) != n || res[n-1].Err != nil {
				b.Fatalf("ClaimUsers(DryRun) = %d results, %v", len(res), err)
			}
		}
	})
	b.Run("Plan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := e.svc.PlanClaims(e.ctx, "b", claim.PlanRequest{IDs: ids, Directory: dir, CheckDirectory: true})
			if err != nil || p.Totals.Claimable != n || !slices.ContainsFunc(p.Entries, func(pe claim.PlanEntry) bool { return pe.Deactivated }) {
				b.Fatalf("PlanClaims() = %+v, %v", p.Totals, err)
			}
		}
	})
}
