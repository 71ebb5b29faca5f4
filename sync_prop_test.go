package claim_test

import (
	"context"
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

// Properties of directory synchronization (must-shows 1 and 2 of the
// directory-sync issue), on drawn worlds around org d, the org that
// synchronizes: its own users in every state on a domain it has verified
// (v.example) and one it has not (u.example), users it claimed (delayed
// from Individual org i, immediate from Enterprise org x; some signed in,
// some deactivated, some past their deadline), users org b claimed away
// from it (their originals stay in d, held), and a directory naming any
// of them in any case, other orgs' accounts, new addresses, addresses on
// c.example (which org c has claimed), originals' addresses and invalid
// ones, repeated at will.

// syOrgs are the orgs of a drawn world.
var syOrgs = []claim.OrgID{"d", "i", "x", "b", "c"}

// syDrawn is a drawn world and sync.
type syDrawn struct {
	e    *env
	dir  []claim.DirectoryEntry
	addr []string // the address each entry names, as drawn (before case and display-name changes)
	opts claim.SyncOptions
}

// syUserSpec is how one of d's own users is made.
type syUserSpec struct {
	dom                        string
	early                      bool // added before d verified v.example: Not Verified there
	verify, signIn, deactivate bool
	away                       bool // claimed away by b (v.example only)
}

// syPlainStore decorates a Store so that its Tx has no optional
// capability: the sync then takes its fallback path (UsersByOrg instead of
// claim.OrgEmailLister).
type syPlainStore struct{ claim.Store }

func (s syPlainStore) View(ctx context.Context, fn func(claim.Tx) error) error {
	return s.Store.View(ctx, func(tx claim.Tx) error { return fn(struct{ claim.Tx }{tx}) })
}

func (s syPlainStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	return s.Store.Update(ctx, func(tx claim.Tx) error { return fn(struct{ claim.Tx }{tx}) })
}

func syDraw(tt *testing.T, t *rapid.T, store claim.Store) *syDrawn {
	tb := smTB{tt, t}
	if rapid.Bool().Draw(t, "a Tx without OrgEmailLister") {
		store = syPlainStore{store}
	}
	pol := claim.DefaultPolicy()
	pol.SyncDeleteMinimum = rapid.IntRange(0, 4).Draw(t, "Policy.SyncDeleteMinimum")
	pol.SyncDeleteThreshold = rapid.SampledFrom([]float64{0, 0.2, 0.5, 1}).Draw(t, "Policy.SyncDeleteThreshold")
	e := newEnvOn(tb, store, claim.WithPolicy(pol))
	migrate := rapid.Bool().Draw(t, "d allows content migration")
	e.mustOrg(tb, "d", claim.Enterprise, t0, claim.Settings{AllowContentMigration: migrate, AutoLicenses: []string{"Meetings"}})
	e.mustOrg(tb, "i", claim.Individual, oldOrgDate, claim.Settings{})
	e.mustOrg(tb, "x", claim.Enterprise, t0, claim.Settings{})
	e.mustOrg(tb, "b", claim.Enterprise, t0, claim.Settings{})
	e.mustOrg(tb, "c", claim.Enterprise, t0, claim.Settings{})
	e.mustVerify(tb, "c", "c.example")
	rfMustClaimDomain(tb, e, "c", "c.example")
	pool := []string{e.mustUser(tb, "c", "cara@c.example", 0).Email,
		e.mustUser(tb, "x", "xo@v.example", 0).Email, e.mustUser(tb, "x", "xo@x.example", 0).Email,
		e.mustUser(tb, "i", "io@v.example", 0).Email,
		"new0@v.example", "new1@v.example", "new2@v.example", "new0@u.example", "new1@u.example", "new@c.example",
		"bad@", "not an address"}

	specs := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) syUserSpec {
		s := syUserSpec{dom: rapid.SampledFrom([]string{"v.example", "u.example"}).Draw(t, "domain")}
		s.early = rapid.Bool().Draw(t, "early")
		s.verify = rapid.Bool().Draw(t, "verify")
		s.signIn = s.verify && rapid.Bool().Draw(t, "sign in")
		s.deactivate = rapid.Bool().Draw(t, "deactivate")
		s.away = s.dom == "v.example" && rapid.IntRange(0, 4).Draw(t, "away") == 0
		return s
	}), 0, 10).Draw(t, "d's users")
	addrOf := func(k int, s syUserSpec) string { return fmt.Sprintf("d%d@%s", k, s.dom) }
	for k, s := range specs {
		if s.early {
			pool = append(pool, e.mustUser(tb, "d", addrOf(k, s), 0).Email)
		}
	}
	e.mustVerify(tb, "d", "v.example")
	e.mustVerify(tb, "b", "v.example")
	for k, s := range specs {
		addr := addrOf(k, s)
		if !s.early {
			pool = append(pool, e.mustUser(tb, "d", addr, 0).Email)
		}
		u := syByEmail(tb, e, addr)
		if s.verify {
			if _, err := e.svc.VerifyEmail(e.ctx, u.ID); err != nil {
				t.Fatalf("VerifyEmail(%s) = %v", addr, err)
			}
		}
		if s.signIn {
			rfMustSignIn(tb, e, u.ID)
		}
		if s.deactivate {
			rfMustDeactivate(tb, e, "d", u.ID)
		}
		if s.away {
			e.mustClaim(tb, "b", claim.ClaimOptions{}, u.ID)
			pool = append(pool, addr+claim.OriginalSuffix)
		}
	}

	// Users d claims: delayed from i when d allows migration, immediate from x.
	var claimed []claim.UserID
	for k := range rapid.IntRange(0, 3).Draw(t, "claimed from i") {
		u := e.mustUser(tb, "i", fmt.Sprintf("i%d@v.example", k), k)
		claimed = append(claimed, u.ID)
		pool = append(pool, u.Email)
	}
	for k := range rapid.IntRange(0, 3).Draw(t, "claimed from x") {
		u := e.mustActive(tb, "x", fmt.Sprintf("x%d@v.example", k), k)
		claimed = append(claimed, u.ID)
		pool = append(pool, u.Email)
	}
	if len(claimed) > 0 {
		e.mustClaim(tb, "d", claim.ClaimOptions{}, claimed...)
	}
	for _, id := range claimed {
		if rapid.Bool().Draw(t, "claimed user signs in") {
			_, _ = e.svc.SignIn(e.ctx, id) // refused for a Not Verified user: no matter
		}
		if rapid.Bool().Draw(t, "claimed user deactivated") {
			rfMustDeactivate(tb, e, "d", id)
		}
	}
	e.clock.Advance(rapid.SampledFrom([]time.Duration{0, window - time.Nanosecond, window, 20 * 24 * time.Hour}).Draw(t, "time passes"))

	w := &syDrawn{e: e}
	for range rapid.IntRange(0, 25).Draw(t, "entries") {
		a := rapid.SampledFrom(pool).Draw(t, "entry address")
		s := a
		if rapid.Bool().Draw(t, "upper case") {
			s = strings.ToUpper(s)
		}
		if rapid.IntRange(0, 3).Draw(t, "display-name form") == 0 {
			s = "Some One <" + s + ">"
		}
		w.addr = append(w.addr, a)
		w.dir = append(w.dir, claim.DirectoryEntry{Email: s, FirstName: "F", LastName: "L"})
	}
	w.opts.Full = rapid.Bool().Draw(t, "Full")
	w.opts.IgnoreThreshold = w.opts.Full && rapid.Bool().Draw(t, "IgnoreThreshold")
	return w
}

// TestSyncDryRunProperty (Y1): for drawn orgs and directories, the dry
// run leaves every user and the event log unchanged, and its report and
// error equal the real run's. A real run refused by Y5 changes nothing
// either.
func TestSyncDryRunProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) { syDryRunProperty(t, rt, claim.NewMemoryStore()) })
}

func syDryRunProperty(tt *testing.T, t *rapid.T, store claim.Store) {
	w := syDraw(tt, t, store)
	tb := smTB{tt, t}
	e := w.e
	before := e.snapshot(tb, syOrgs...)
	dryOpts := w.opts
	dryOpts.DryRun = true
	dry, dryErr := e.svc.SyncDirectory(e.ctx, "d", w.dir, dryOpts)
	if dryErr != nil && !errors.Is(dryErr, claim.ErrSyncThreshold) {
		t.Fatalf("dry run = %v", dryErr)
	}
	e.unchanged(tb, before, syOrgs...)
	got, realErr := e.svc.SyncDirectory(e.ctx, "d", w.dir, w.opts)
	if diff := cmp.Diff(dry, got, syCmp); diff != "" {
		t.Fatalf("reports differ (-dry +real):\n%s", diff)
	}
	var dt, rt *claim.SyncThresholdError
	switch {
	case dryErr == nil && realErr == nil:
	case errors.As(dryErr, &dt) && errors.As(realErr, &rt) && *dt == *rt:
		e.unchanged(tb, before, syOrgs...)
	default:
		t.Fatalf("dry run's error %v, real run's %v; want the same", dryErr, realErr)
	}
}

// TestSyncOutcomeProperty (Y2, Y3, U5, H2): after a full sync every user
// of d the directory names is Active on the verified domain, or keeps its
// state on the other (an Inactive one reactivated by U5's rule), a Delayed
// Claim user keeps its state, and every other user of d is Inactive, its
// InactiveSince the sync's instant unless it was Inactive already; held
// originals are untouched; new addresses on d's domains are created, those
// of another org's claimed domain are not; other orgs do not change. After
// an incremental sync no one was deactivated. The report says the same.
func TestSyncOutcomeProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) { syOutcomeProperty(t, rt, claim.NewMemoryStore()) })
}

func syOutcomeProperty(tt *testing.T, t *rapid.T, store claim.Store) {
	w := syDraw(tt, t, store)
	tb := smTB{tt, t}
	e := w.e
	now := e.clock.Now()
	before := e.snapshot(tb, syOrgs...)
	rep, err := e.svc.SyncDirectory(e.ctx, "d", w.dir, w.opts)
	if errors.Is(err, claim.ErrSyncThreshold) {
		if !w.opts.Full || w.opts.IgnoreThreshold {
			t.Fatalf("SyncDirectory(%+v) = %v; Y5 applies only to a full sync without IgnoreThreshold", w.opts, err)
		}
		e.unchanged(tb, before, syOrgs...)
		return
	}
	if err != nil {
		t.Fatalf("SyncDirectory(%+v) = %v", w.opts, err)
	}
	after := e.snapshot(tb, syOrgs...)

	named := map[string]bool{} // normalized addresses of the valid entries
	for _, a := range w.addr {
		if n, err := claim.NormalizeEmail(a); err == nil {
			named[n] = true
		}
	}
	got := map[string]claim.User{}
	for _, u := range after.Users["d"] {
		got[u.Email] = u
	}
	var wantDeact, wantProm, wantReact, wantUnch []string
	for _, u := range before.Users["d"] {
		g, ok := got[u.Email]
		if !ok {
			t.Fatalf("%s is gone from d after the sync", u.Email)
		}
		delete(got, u.Email)
		if u.HeldBy != "" {
			if diff := cmp.Diff(u, g, claimtest.CmpOptions()); diff != "" {
				t.Fatalf("held original %s changed (H2) (-before +after):\n%s", u.Email, diff)
			}
			continue
		}
		delayed := u.Claim != nil && u.Claim.Mode == claim.Delayed
		want := u.State
		switch {
		case named[u.Email] && (u.State == claim.DelayedClaim || u.State == claim.Inactive && delayed):
			want = claim.DelayedClaim
		case named[u.Email] && strings.HasSuffix(u.Email, "@v.example"):
			want = claim.Active
		case named[u.Email] && u.State == claim.Inactive && !u.LastSignIn.IsZero():
			want = claim.Active
		case named[u.Email] && u.State == claim.Inactive:
			want = claim.NotVerified
		case !named[u.Email] && w.opts.Full:
			want = claim.Inactive
		}
		if g.State != want {
			t.Fatalf("%s: %v → %v, want %v (named %v, %+v)", u.Email, u.State, g.State, want, named[u.Email], w.opts)
		}
		switch {
		case !named[u.Email]:
		case u.State == claim.Inactive && want != claim.Inactive:
			wantReact = append(wantReact, u.Email)
		case want == claim.Active && u.State != claim.Active:
			wantProm = append(wantProm, u.Email)
		default:
			wantUnch = append(wantUnch, u.Email)
		}
		switch {
		case want != claim.Inactive && !g.InactiveSince.IsZero():
			t.Fatalf("%s: InactiveSince %v on a %v user", u.Email, g.InactiveSince, g.State)
		case want == claim.Inactive && u.State == claim.Inactive && !g.InactiveSince.Equal(u.InactiveSince):
			t.Fatalf("%s: InactiveSince %v → %v; an Inactive user's purge clock runs on", u.Email, u.InactiveSince, g.InactiveSince)
		case want == claim.Inactive && u.State != claim.Inactive:
			wantDeact = append(wantDeact, u.Email)
			if !g.InactiveSince.Equal(now) {
				t.Fatalf("%s: InactiveSince %v, want the sync's instant %v (Y2)", u.Email, g.InactiveSince, now)
			}
		}
	}
	for _, l := range []struct {
		name      string
		got, want []string
	}{{"Deactivated", rep.Deactivated, wantDeact}, {"Promoted", rep.Promoted, wantProm},
		{"Reactivated", rep.Reactivated, wantReact}, {"Unchanged", rep.Unchanged, wantUnch}} {
		if !slices.Equal(l.got, l.want) {
			t.Fatalf("%s = %v, want %v (%+v)", l.name, l.got, l.want, w.opts)
		}
	}
	var wantNew []string
	for a := range named {
		if strings.HasPrefix(a, "new") && !strings.HasSuffix(a, "@c.example") {
			wantNew = append(wantNew, a)
		}
	}
	slices.Sort(wantNew)
	var created []string
	for a, u := range got { // the users d did not have before
		created = append(created, a)
		if want := map[bool]claim.State{true: claim.Active, false: claim.NotVerified}[strings.HasSuffix(a, "@v.example")]; u.State != want {
			t.Fatalf("created %s is %v, want %v (Y3)", a, u.State, want)
		}
	}
	slices.Sort(created)
	if !slices.Equal(created, wantNew) || !slices.Equal(rep.Created, wantNew) {
		t.Fatalf("created %v, report %v; want %v", created, rep.Created, wantNew)
	}
	for _, o := range syOrgs[1:] {
		if diff := cmp.Diff(before.Users[o], after.Users[o], claimtest.CmpOptions()); diff != "" {
			t.Fatalf("org %s changed (-before +after):\n%s", o, diff)
		}
	}
}

// TestSyncPropertiesPostgres runs both properties on the PostgreSQL store
// (see TestStateMachinePostgres for the environment), 30 checks each.
func TestSyncPropertiesPostgres(t *testing.T) {
	store, empty := smPostgresStore(t)
	const checks = 30
	t.Run("dry run", func(t *testing.T) {
		smChecks(t, checks, func(rt *rapid.T) {
			empty(t)
			syDryRunProperty(t, rt, store)
		})
	})
	t.Run("outcome", func(t *testing.T) {
		smChecks(t, checks, func(rt *rapid.T) {
			empty(t)
			syOutcomeProperty(t, rt, store)
		})
	})
}
