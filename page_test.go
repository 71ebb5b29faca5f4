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

// readCountStore counts the user records the Tx of every transaction
// returns: the cost of a listing in store reads.
type readCountStore struct {
	claim.Store
	users int
}

func (s *readCountStore) View(ctx context.Context, fn func(claim.Tx) error) error {
	return s.Store.View(ctx, func(tx claim.Tx) error { return fn(readCountTx{tx, s}) })
}

func (s *readCountStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	return s.Store.Update(ctx, func(tx claim.Tx) error { return fn(readCountTx{tx, s}) })
}

type readCountTx struct {
	claim.Tx
	s *readCountStore
}

func (t readCountTx) count(us []claim.User, err error) ([]claim.User, error) {
	t.s.users += len(us)
	return us, err
}

func (t readCountTx) one(u claim.User, err error) (claim.User, error) {
	if err == nil {
		t.s.users++
	}
	return u, err
}

func (t readCountTx) User(id claim.UserID) (claim.User, error) { return t.one(t.Tx.User(id)) }
func (t readCountTx) UserByEmail(e string) (claim.User, error) { return t.one(t.Tx.UserByEmail(e)) }
func (t readCountTx) UsersByOrg(org claim.OrgID, after string, limit int) ([]claim.User, error) {
	return t.count(t.Tx.UsersByOrg(org, after, limit))
}
func (t readCountTx) UsersByDomain(d, after string, limit int) ([]claim.User, error) {
	return t.count(t.Tx.UsersByDomain(d, after, limit))
}
func (t readCountTx) PendingClaimsBy(org claim.OrgID, after string, limit int) ([]claim.User, error) {
	return t.count(t.Tx.PendingClaimsBy(org, after, limit))
}

// pageAll pages through a listing with limit, checking each page's
// bounds, and returns the items and the number of pages read.
func pageAll[T any](tb testing.TB, limit int, page func(claim.ListOptions) (claim.Page[T], error)) ([]T, int) {
	tb.Helper()
	var all []T
	opts := claim.ListOptions{Limit: limit}
	for n := 1; ; n++ {
		p, err := page(opts)
		if err != nil {
			tb.Fatalf("page %d after %q: %v", n, opts.After, err)
		}
		if len(p.Items) > limit {
			tb.Fatalf("page %d holds %d items, limit %d", n, len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all, n
		}
		if p.Next <= opts.After {
			tb.Fatalf("page %d: Next %q does not move past After %q", n, p.Next, opts.After)
		}
		opts.After = p.Next
	}
}

// TestUsersPageReadsEachUserOnce pages through an org of 10,000 users 100
// at a time: every user comes once, in e-mail order, and the store
// returns each user record once over all the pages (a page costs what it
// holds, not what comes before it).
func TestUsersPageReadsEachUserOnce(t *testing.T) {
	t.Run("memory", func(t *testing.T) { usersPageOnce(t, claim.NewMemoryStore()) })
	t.Run("PostgreSQL", func(t *testing.T) {
		store, _ := postgresStore(t)
		usersPageOnce(t, store)
	})
}

func usersPageOnce(t *testing.T, store claim.Store) {
	const n = 10000
	count := &readCountStore{Store: store}
	e := newEnvOn(t, count)
	e.mustOrg(t, "acme", claim.Enterprise, t0, claim.Settings{})
	want := make([]string, n)
	err := store.Update(e.ctx, func(tx claim.Tx) error {
		for i := range n {
			want[i] = fmt.Sprintf("u%05d@acme.example", (i*7919)%n) // not in e-mail order
			err := tx.CreateUser(claim.User{ID: claim.UserID(fmt.Sprintf("usr_%05d", i)), Email: want[i],
				Org: "acme", State: claim.NotVerified, CreatedAt: t0})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	count.users = 0
	got, pages := pageAll(t, 100, func(o claim.ListOptions) (claim.Page[claim.User], error) {
		return e.svc.UsersPage(e.ctx, "acme", o)
	})
	var emails []string
	for _, u := range got {
		emails = append(emails, u.Email)
	}
	if diff := cmp.Diff(want, emails); diff != "" {
		t.Errorf("paged addresses (-want +got):\n%s", diff)
	}
	if count.users != n {
		t.Errorf("the store returned %d user records over the pages, want %d (each once)", count.users, n)
	}
	if pages != n/100+1 { // the last full page is followed by an empty one
		t.Errorf("%d pages, want %d", pages, n/100+1)
	}
}

// TestListingPagesMatchIterators: for any world and any limit, the pages
// of UsersPage (with and without a state filter), ClaimablePage and
// RetractablePage, put together, are exactly what Users, Claimable and
// Retractable yield.
func TestListingPagesMatchIterators(t *testing.T) {
	rapidCheck(t, func(rt *rapid.T, tb testing.TB) {
		e := newEnv(tb)
		e.mustOrg(tb, "acme", claim.Enterprise, t0, claim.Settings{})
		e.mustOrg(tb, "home", claim.Individual, oldOrgDate, claim.Settings{})
		e.mustOrg(tb, "other", claim.Enterprise, t0, claim.Settings{})
		doms := []string{"a.example", "b.example", "c.example"}
		verified := rapid.SliceOfNDistinct(rapid.SampledFrom(doms), 0, 3, rapid.ID).Draw(rt, "verified")
		for _, d := range verified {
			e.mustVerify(tb, "acme", d)
		}
		n := rapid.IntRange(0, 40).Draw(rt, "users")
		var claimable []claim.UserID
		for i := range n {
			org := rapid.SampledFrom([]claim.OrgID{"acme", "home", "other"}).Draw(rt, "org")
			addr := fmt.Sprintf("%s%d@%s", rapid.StringMatching(`[a-z]{1,3}`).Draw(rt, "local"), i,
				rapid.SampledFrom(doms).Draw(rt, "domain"))
			u := e.mustUser(tb, org, addr, 0)
			if rapid.Bool().Draw(rt, "active") {
				e.mustActive(tb, org, "x"+addr, 0)
			}
			if org != "acme" && rapid.IntRange(0, 3).Draw(rt, "claim") == 0 {
				claimable = append(claimable, u.ID)
			}
		}
		if len(claimable) > 0 {
			// Some claims go through (their users become retractable),
			// others are refused (a domain acme has not verified).
			_, err := e.svc.ClaimUsers(e.ctx, "acme", claimable, claim.ClaimOptions{Acknowledge: true})
			if err != nil {
				tb.Fatal(err)
			}
		}
		limit := rapid.IntRange(1, 7).Draw(rt, "limit")
		states := rapid.SliceOfN(rapid.SampledFrom([]claim.State{claim.NotVerified, claim.Verified, claim.Active, claim.Inactive}), 0, 2).Draw(rt, "states")

		for _, org := range []claim.OrgID{"acme", "home"} {
			want := collect(tb, e.svc.Users(e.ctx, org, states...))
			got, _ := pageAll(tb, limit, func(o claim.ListOptions) (claim.Page[claim.User], error) {
				o.States = states
				return e.svc.UsersPage(e.ctx, org, o)
			})
			if diff := cmp.Diff(want, got, claimtest.CmpOptions()); diff != "" {
				tb.Errorf("UsersPage(%s, %v) pages differ from Users (-iterator +pages):\n%s", org, states, diff)
			}
		}
		wantC := collect(tb, e.svc.Claimable(e.ctx, "acme"))
		gotC, _ := pageAll(tb, limit, func(o claim.ListOptions) (claim.Page[claim.Candidate], error) {
			return e.svc.ClaimablePage(e.ctx, "acme", o)
		})
		if diff := cmp.Diff(wantC, gotC, claimtest.CmpOptions()); diff != "" {
			tb.Errorf("ClaimablePage pages differ from Claimable (-iterator +pages):\n%s", diff)
		}
		wantR := collect(tb, e.svc.Retractable(e.ctx, "acme"))
		gotR, _ := pageAll(tb, limit, func(o claim.ListOptions) (claim.Page[claim.User], error) {
			return e.svc.RetractablePage(e.ctx, "acme", o)
		})
		if diff := cmp.Diff(wantR, gotR, claimtest.CmpOptions()); diff != "" {
			tb.Errorf("RetractablePage pages differ from Retractable (-iterator +pages):\n%s", diff)
		}
	})
}

// collect gathers an iterator's items, failing on an error.
func collect[T any](tb testing.TB, seq func(func(T, error) bool)) []T {
	tb.Helper()
	var out []T
	for it, err := range seq {
		if err != nil {
			tb.Fatalf("iteration: %v", err)
		}
		out = append(out, it)
	}
	return out
}

// TestPageStartsAfterAnyAddress: the cursor need not be an address of the
// listing; a page starts at the first address after it, and Limit bounds
// it.
func TestPageStartsAfterAnyAddress(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "acme", claim.Enterprise, t0, claim.Settings{})
	for _, a := range []string{"ann@acme.example", "bob@acme.example", "max@acme.example", "zoe@acme.example"} {
		e.mustUser(t, "acme", a, 0)
	}
	p, err := e.svc.UsersPage(e.ctx, "acme", claim.ListOptions{After: "m", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].Email != "max@acme.example" || p.Next != "max@acme.example" {
		t.Errorf("UsersPage(After m, Limit 1) = %d items %v, Next %q; want max@acme.example and Next at it", len(p.Items), p.Items, p.Next)
	}
	p, err = e.svc.UsersPage(e.ctx, "acme", claim.ListOptions{After: "max@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].Email != "zoe@acme.example" || p.Next != "" {
		t.Errorf("UsersPage(After max, default limit) = %v, Next %q; want zoe@acme.example alone and the end", p.Items, p.Next)
	}
}

// TestPageBadInput: a bad limit, cursor or state filter is an
// *InputError naming the field, before anything is read; an unknown org
// is ErrNotFound.
func TestPageBadInput(t *testing.T) {
	count := &readCountStore{Store: claim.NewMemoryStore()}
	e := newEnvOn(t, count)
	e.mustOrg(t, "acme", claim.Enterprise, t0, claim.Settings{})
	e.mustUser(t, "acme", "ann@acme.example", 0) // a user a listing would read
	// unread fails the test if the refused call read a user.
	unread := func(t *testing.T, call string) {
		t.Helper()
		if count.users != 0 {
			t.Errorf("%s read %d users before refusing; want none", call, count.users)
		}
		count.users = 0
	}
	long := make([]byte, claim.MaxInputBytes+1)
	for i := range long {
		long[i] = 'a'
	}
	cases := []struct {
		name  string
		opts  claim.ListOptions
		field string
	}{
		{"negative limit", claim.ListOptions{Limit: -1}, "ListOptions.Limit"},
		{"limit too large", claim.ListOptions{Limit: claim.MaxPageLimit + 1}, "ListOptions.Limit"},
		{"cursor with NUL", claim.ListOptions{After: "a\x00b"}, "ListOptions.After"},
		{"cursor not UTF-8", claim.ListOptions{After: "a\xffb"}, "ListOptions.After"},
		{"cursor too long", claim.ListOptions{After: string(long)}, "ListOptions.After"},
		{"unknown state", claim.ListOptions{States: []claim.State{claim.State(99)}}, "ListOptions.States"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			count.users = 0
			_, err := e.svc.UsersPage(e.ctx, "acme", c.opts)
			unread(t, "UsersPage")
			var ie *claim.InputError
			if !errors.As(err, &ie) || ie.Field != c.field || !errors.Is(err, claim.ErrInvalidValue) {
				t.Errorf("UsersPage(%+v) = %v; want an *InputError on %s wrapping ErrInvalidValue", c.opts, err, c.field)
			}
		})
	}
	for name, call := range map[string]func(claim.ListOptions) error{
		"ClaimablePage":   func(o claim.ListOptions) error { _, err := e.svc.ClaimablePage(e.ctx, "acme", o); return err },
		"RetractablePage": func(o claim.ListOptions) error { _, err := e.svc.RetractablePage(e.ctx, "acme", o); return err },
	} {
		var ie *claim.InputError
		count.users = 0
		if err := call(claim.ListOptions{States: []claim.State{claim.Active}}); !errors.As(err, &ie) || ie.Field != "ListOptions.States" {
			t.Errorf("%s with a state filter = %v; want an *InputError on ListOptions.States", name, err)
		}
		if err := call(claim.ListOptions{Limit: -1}); !errors.As(err, &ie) || ie.Field != "ListOptions.Limit" {
			t.Errorf("%s with limit -1 = %v; want an *InputError on ListOptions.Limit", name, err)
		}
		unread(t, name)
	}
	if _, err := e.svc.UsersPage(e.ctx, "nope", claim.ListOptions{}); !errors.Is(err, claim.ErrNotFound) {
		t.Errorf("UsersPage(unknown org) = %v; want ErrNotFound", err)
	}
}
