package claimhttp_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
)

// acmeView is everything about acme: its org, domains, users (held
// originals included) and the events that name it.
type acmeView struct {
	Org     claim.Org
	Domains []claim.Domain
	Users   []claim.User
	Events  []claim.Event
}

func viewOf(t *testing.T, w *world, org claim.OrgID) acmeView {
	t.Helper()
	var v acmeView
	var err error
	if v.Org, err = w.svc.Org(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	if v.Domains, err = w.svc.Domains(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	for u, err := range w.svc.Users(t.Context(), org) {
		if err != nil {
			t.Fatal(err)
		}
		v.Users = append(v.Users, u)
	}
	for e, err := range w.svc.Events(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Org == org || e.From == org {
			v.Events = append(v.Events, e)
		}
	}
	return v
}

// TestOtherOrgsIDs: globex's administrator calls every admin route with
// acme's IDs (its users, its pending claim, its domain, its addresses).
// Nothing of acme changes, no event names acme, and no answer mentions
// acme's users except where globex gave the address itself (eligibility,
// a claim by address, a sync entry), as the claim rules allow.
func TestOtherOrgsIDs(t *testing.T) {
	forEachStore(t, claimhttp.Options{AllowSweep: false}, func(t *testing.T, w *world) {
		ann, amy := string(w.id["ann@acme.example"]), string(w.id["amy@acme.example"])
		if _, err := w.svc.ClaimUsers(t.Context(), "acme", []claim.UserID{w.id["ann@acme.example"]}, claim.ClaimOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		before := viewOf(t, w, "acme")
		csvBody := "First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim\n,,,amy@acme.example,Active,Immediate,TRUE\n,,,ann@acme.example,Delayed Claim,Delayed,TRUE\n"
		type hostile struct {
			method, target string
			body           any
			ctype          string
			status         int    // 0: any
			code           string // the problem's code, when a problem
			mayMention     bool   // globex gave acme's address itself
		}
		for _, c := range []hostile{
			{method: "GET", target: "/users/" + amy, status: 404, code: "not_found"},
			{method: "GET", target: "/users/" + ann, status: 404, code: "not_found"},
			{method: "GET", target: "/users/" + ann + "/days-left", status: 404, code: "not_found"},
			{method: "POST", target: "/users/" + ann + "/retract", status: 404, code: "not_found"},
			{method: "POST", target: "/users/" + amy + "/retract", status: 404, code: "not_found"},
			{method: "POST", target: "/domains/acme.example/confirm"},
			{method: "POST", target: "/domains/acme.example/claim"},
			{method: "POST", target: "/domains/acme.example/release"},
			{method: "POST", target: "/domains/acme.example/unverify"},
			{method: "GET", target: "/users", status: 200},
			{method: "GET", target: "/users?after=a&state=Active", status: 200},
			{method: "GET", target: "/claimable", status: 200},
			{method: "GET", target: "/retractable", status: 200},
			{method: "GET", target: "/events", status: 200},
			{method: "GET", target: "/export.csv", status: 200},
			{method: "POST", target: "/reminders", status: 200},
			{method: "POST", target: "/nudges", status: 200},
			{method: "GET", target: "/eligibility?email=amy@acme.example", status: 200, mayMention: true},
			{method: "POST", target: "/claims", body: claimhttp.ClaimRequest{UserIDs: []claim.UserID{claim.UserID(amy), claim.UserID(ann)}, Acknowledge: true}, status: 200},
			{method: "POST", target: "/claims/by-email", body: claimhttp.ClaimRequest{Emails: []string{"amy@acme.example", "ann@acme.example"}, Acknowledge: true}, status: 200, mayMention: true},
			{method: "POST", target: "/import?acknowledge=true", body: csvBody, ctype: "text/csv", status: 200, mayMention: true},
			{method: "POST", target: "/sync?full=true&dryRun=true", body: `{"Email":"amy@acme.example"}`, ctype: "application/x-ndjson", status: 200, mayMention: true},
			{method: "PUT", target: "/org/settings", body: claim.Settings{SSO: true}, status: 200},
		} {
			var r reply
			if c.ctype != "" {
				r = serve(t, w.admin, c.method, c.target, strings.NewReader(c.body.(string)), "X-Org", "globex", "Content-Type", c.ctype)
			} else {
				r = w.as(t, "globex", c.method, c.target, c.body)
			}
			if c.status != 0 && r.status != c.status {
				t.Errorf("%s %s: status %d, want %d: %s", c.method, c.target, r.status, c.status, r.body)
			}
			if c.status == 0 && r.status < 400 {
				t.Errorf("%s %s by globex succeeded: %d %s", c.method, c.target, r.status, r.body)
			}
			if c.code != "" {
				if p := r.problem(t); p.Code != c.code {
					t.Errorf("%s %s: problem %+v, want code %s", c.method, c.target, p, c.code)
				}
			}
			if !c.mayMention && (strings.Contains(string(r.body), "@acme.example") || strings.Contains(string(r.body), `"acme"`)) {
				t.Errorf("%s %s: globex's answer mentions acme's users: %s", c.method, c.target, r.body)
			}
		}
		if diff := cmp.Diff(before, viewOf(t, w, "acme")); diff != "" {
			t.Errorf("globex's requests changed acme (-before +after):\n%s", diff)
		}
	})
}
