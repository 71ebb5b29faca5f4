package postgres

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

// TestCacheKeepsRead: what a read brings along (fetchUser, UsersByEmails)
// fills the cache where it knows nothing, records an org the read did
// not find as absent, and leaves alone what the transaction knows
// already.
func TestCacheKeepsRead(t *testing.T) {
	var c cache
	known := claim.User{ID: "u1", Email: "ann@acme.example", Org: "acme", FirstName: "known"}
	c.putUser(known)
	c.putOrg("acme", &claim.Org{ID: "acme", Name: "known"})
	c.domains = map[string][]claim.Domain{"acme.example": nil}

	read := []claim.User{
		{ID: "u1", Email: "ann@acme.example", Org: "acme", FirstName: "read"},
		{ID: "u2", Email: "bob@globex.example", Org: "globex"},
		{ID: "u3", Email: "cy@gone.example", Org: "gone"},
	}
	c.keepUsers(read)
	c.keepOrgsOf(read, []claim.Org{{ID: "acme", Name: "read"}, {ID: "globex", Name: "Globex"}})
	c.keepDomain("acme.example", []claim.Domain{{Org: "acme", Name: "acme.example"}})
	c.keepDomain("globex.example", []claim.Domain{{Org: "globex", Name: "globex.example"}})

	users := map[claim.UserID]string{}
	for id, u := range c.users {
		users[id] = u.FirstName + "@" + string(u.Org)
	}
	orgs := map[claim.OrgID]string{}
	for id, o := range c.orgs {
		orgs[id] = "<none>"
		if o != nil {
			orgs[id] = o.Name
		}
	}
	domains := map[string]int{}
	for name, ds := range c.domains {
		domains[name] = len(ds)
	}
	want := struct {
		Users   map[claim.UserID]string
		Orgs    map[claim.OrgID]string
		Domains map[string]int
	}{
		map[claim.UserID]string{"u1": "known@acme", "u2": "@globex", "u3": "@gone"},
		map[claim.OrgID]string{"acme": "known", "globex": "Globex", "gone": "<none>"},
		map[string]int{"acme.example": 0, "globex.example": 1},
	}
	got := want
	got.Users, got.Orgs, got.Domains = users, orgs, domains
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cache after the read (-want +got):\n%s", diff)
	}
	if id := c.emails["bob@globex.example"]; id != "u2" {
		t.Errorf("the cache finds bob@globex.example as %q, want u2", id)
	}
}
