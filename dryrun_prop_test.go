package claim_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// storeDump is everything a Store holds for the orgs: each org, its
// domain records and its users, and the whole event log. Comparing dumps
// compares the store itself, not what the Service shows.
type storeDump struct {
	Orgs       map[claim.OrgID]claim.Org
	Domains    map[claim.OrgID][]claim.Domain
	Users      map[claim.OrgID][]claim.User
	Sites      map[claim.OrgID][]claim.Site
	SiteAccess map[claim.UserID][]claim.SiteAccess
	Events     []claim.Event
}

// dumpStore reads the store's records of orgs through a Tx.
func dumpStore(tb testing.TB, store claim.Store, orgs ...claim.OrgID) storeDump {
	tb.Helper()
	d := storeDump{Orgs: map[claim.OrgID]claim.Org{}, Domains: map[claim.OrgID][]claim.Domain{}, Users: map[claim.OrgID][]claim.User{},
		Sites: map[claim.OrgID][]claim.Site{}, SiteAccess: map[claim.UserID][]claim.SiteAccess{}}
	err := store.View(context.Background(), func(tx claim.Tx) error {
		for _, o := range orgs {
			org, err := tx.Org(o)
			if err != nil && !errors.Is(err, claim.ErrNotFound) {
				return err
			}
			d.Orgs[o] = org
			if d.Domains[o], err = tx.Domains(o, "", 1000); err != nil {
				return err
			}
			for after := ""; ; {
				us, err := tx.UsersByOrg(o, after, 500)
				if err != nil {
					return err
				}
				d.Users[o] = append(d.Users[o], us...)
				for _, u := range us {
					as, err := tx.SiteAccessByUser(u.ID, "", 500)
					if err != nil {
						return err
					}
					if len(as) > 0 {
						d.SiteAccess[u.ID] = as
					}
				}
				if len(us) < 500 {
					break
				}
				after = us[len(us)-1].Email
			}
			if d.Sites[o], err = tx.SitesByOrg(o, "", 500); err != nil {
				return err
			}
		}
		for after := uint64(0); ; {
			evs, err := tx.Events(after, 500)
			if err != nil {
				return err
			}
			d.Events = append(d.Events, evs...)
			if len(evs) < 500 {
				return nil
			}
			after = evs[len(evs)-1].Seq
		}
	})
	if err != nil {
		tb.Fatalf("dumping the store: %v", err)
	}
	return d
}

// resultsView is a Result as a dry run is compared with: the error by its
// text and the sentinels it wraps.
type resultView struct {
	Input, User string
	Mode        claim.Mode
	Err         string
	Is          []string
}

var resultSentinels = []error{claim.ErrNotFound, claim.ErrNotEligible, claim.ErrInvalidEmail, claim.ErrInvalidValue,
	claim.ErrDuplicate, claim.ErrStaleMode}

func viewResults(rs []claim.Result) []resultView {
	out := make([]resultView, len(rs))
	for i, r := range rs {
		v := resultView{Input: r.Input, User: string(r.User), Mode: r.Mode}
		if r.Err != nil {
			v.Err = r.Err.Error()
			for _, s := range resultSentinels {
				if errors.Is(r.Err, s) {
					v.Is = append(v.Is, s.Error())
				}
			}
		}
		out[i] = v
	}
	return out
}

// TestClaimDryRunProperty (L1): for drawn worlds (rpPopulate: users of
// several orgs in every state, some with an earlier claim) and drawn
// lists of inputs — the world's users, originals, unknown and malformed
// IDs or addresses, repeats — ClaimUsers and ClaimEmails with DryRun
// return exactly what the real call then returns, results and error, and
// the dry run leaves the store as it was (every record compared).
func TestClaimDryRunProperty(t *testing.T) {
	rpCheck(t, func(rt *rapid.T, tb testing.TB) { dryRunProperty(rt, tb, claim.NewMemoryStore()) })
}

// TestClaimDryRunPropertyPostgres is TestClaimDryRunProperty on the
// PostgreSQL store (see TestStateMachinePostgres for the environment).
func TestClaimDryRunPropertyPostgres(t *testing.T) {
	store, empty := smPostgresStore(t)
	smChecks(t, 20, func(rt *rapid.T) {
		empty(t)
		dryRunProperty(rt, rpTB{TB: t, rt: rt}, store)
	})
}

func dryRunProperty(t *rapid.T, tb testing.TB, store claim.Store) {
	p := rpPopulateOn(t, tb, store, "b")
	e := p.e
	byEmail := rapid.Bool().Draw(t, "ClaimEmails")
	var pool []string
	for _, u := range p.users {
		if byEmail {
			pool = append(pool, u.Email, u.Email+claim.OriginalSuffix, "Some One <"+u.Email+">")
		} else {
			pool = append(pool, string(u.ID))
		}
	}
	for u, err := range e.svc.Users(e.ctx, "p0") { // originals held by p0's claims, and p0's own
		if err != nil {
			t.Fatalf("Users(p0) = %v", err)
		}
		pool = append(pool, map[bool]string{true: u.Email, false: string(u.ID)}[byEmail])
	}
	pool = append(pool, "nobody@d.example", "usr_unknown", "", "not an address", "bad\x00id")
	inputs := rapid.SliceOfN(rapid.SampledFrom(pool), 0, 12).Draw(t, "inputs")
	opts := claim.ClaimOptions{
		Acknowledge:   rapid.IntRange(0, 9).Draw(t, "acknowledge") > 0,
		ImmediateOnly: rapid.Bool().Draw(t, "ImmediateOnly"),
		Licenses:      rapid.SliceOfN(rapid.SampledFrom(append(rpLicenses, " ")), 0, 2).Draw(t, "licenses"),
	}
	call := func(o claim.ClaimOptions) ([]claim.Result, error) {
		if byEmail {
			return e.svc.ClaimEmails(e.ctx, "b", inputs, o)
		}
		ids := make([]claim.UserID, len(inputs))
		for i, in := range inputs {
			ids[i] = claim.UserID(in)
		}
		return e.svc.ClaimUsers(e.ctx, "b", ids, o)
	}
	orgs := append(p.orgs, "a1", "a2")
	before := dumpStore(tb, store, orgs...)
	dryOpts := opts
	dryOpts.DryRun = true
	dry, dryErr := call(dryOpts)
	if diff := cmp.Diff(before, dumpStore(tb, store, orgs...), claimtest.CmpOptions()); diff != "" {
		t.Fatalf("the dry run changed the store (-before +after):\n%s", diff)
	}
	real, realErr := call(opts)
	if fmt.Sprint(dryErr) != fmt.Sprint(realErr) {
		t.Fatalf("dry run's error %v, the real call's %v", dryErr, realErr)
	}
	if byEmail { // the one thing a dry run cannot know: the ID of an original the call makes
		for i := range real {
			var re *claim.RefusalError
			pending := []claim.Reason{claim.ReasonPendingClaim}
			if dry[i].User == "" && errors.As(real[i].Err, &re) && re.Email == real[i].Input && cmp.Equal(re.Reasons, pending) {
				real[i].User = ""
			}
		}
	}
	if diff := cmp.Diff(viewResults(dry), viewResults(real)); diff != "" {
		t.Fatalf("inputs %q, %+v: results differ (-dry +real):\n%s", inputs, opts, diff)
	}
}
