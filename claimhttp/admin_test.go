package claimhttp_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
)

// TestAdminWorkflow walks acme's administrator through every admin route
// on both stores, checking each answer against the Service's own view.
func TestAdminWorkflow(t *testing.T) {
	forEachStore(t, claimhttp.Options{AllowSweep: true}, func(t *testing.T, w *world) {
		var pol claimhttp.PolicyInfo
		w.as(t, "acme", "GET", "/policy", nil).decode(t, 200, &pol)
		if want := (claimhttp.PolicyInfo{ListLimit: 250, ManualLimit: 25, ClaimWindowDays: 14, MaxPageLimit: 1000}); pol != want {
			t.Errorf("policy %+v, want %+v", pol, want)
		}
		var org claim.Org
		w.as(t, "acme", "GET", "/org", nil).decode(t, 200, &org)
		if org.ID != "acme" || org.Name != "Acme Inc." {
			t.Errorf("GET /org = %+v", org)
		}
		st := org.Settings
		st.AutoLicenses = []string{"Meetings", "Messaging"}
		w.as(t, "acme", "PUT", "/org/settings", st).decode(t, 200, &org)
		if got, _ := w.svc.Org(t.Context(), "acme"); !slices.Equal(got.Settings.AutoLicenses, st.AutoLicenses) {
			t.Errorf("settings not stored: %+v", got.Settings)
		}

		// Domains: start, confirm, claim, release, unverify.
		var vs claimhttp.VerificationStarted
		w.as(t, "acme", "POST", "/domains/ACME-labs.example/verification", nil).decode(t, 200, &vs)
		if vs.Token == "" || vs.Domain != "ACME-labs.example" {
			t.Errorf("verification %+v", vs)
		}
		if p := w.as(t, "acme", "POST", "/domains/acme-labs.example/confirm", nil).problem(t); p.Code != "domain_not_verified" && p.Status != 409 {
			t.Errorf("confirm without the TXT record: %+v", p)
		}
		w.dns.Set("acme-labs.example", vs.Token)
		for _, act := range []string{"confirm", "claim", "release", "unverify"} {
			w.as(t, "acme", "POST", "/domains/acme-labs.example/"+act, nil).decode(t, 204, nil)
		}
		var doms struct{ Domains []claim.Domain }
		w.as(t, "acme", "GET", "/domains", nil).decode(t, 200, &doms)
		want, _ := w.svc.Domains(t.Context(), "acme")
		if diff := cmp.Diff(want, doms.Domains); diff != "" {
			t.Errorf("GET /domains (-service +http):\n%s", diff)
		}

		// Listings.
		var claimable claim.Page[claim.Candidate]
		w.as(t, "acme", "GET", "/claimable?limit=2", nil).decode(t, 200, &claimable)
		if got := emails(claimable.Items); !slices.Equal(got, []string{"ann@acme.example", "bob@acme.example"}) || claimable.Next != "bob@acme.example" {
			t.Errorf("claimable page 1: %v next %q", got, claimable.Next)
		}
		w.as(t, "acme", "GET", "/claimable?limit=2&after="+claimable.Next, nil).decode(t, 200, &claimable)
		if got := emails(claimable.Items); !slices.Equal(got, []string{"cy@acme.example"}) || claimable.Items[0].Mode != claim.Delayed {
			t.Errorf("claimable page 2: %+v", claimable)
		}
		var el claimhttp.Eligibility
		w.as(t, "acme", "GET", "/eligibility?email=dee@acme.example", nil).decode(t, 200, &el)
		if !slices.Equal(el.Reasons, []claim.Reason{claim.ReasonSourceSSO}) {
			t.Errorf("eligibility of dee: %+v", el)
		}

		// Claims: one result per input, in order; dee refused with her reason.
		var res claimhttp.ClaimResults
		ids := []claim.UserID{w.id["dee@acme.example"], w.id["ann@acme.example"], w.id["bob@acme.example"]}
		w.as(t, "acme", "POST", "/claims", claimhttp.ClaimRequest{UserIDs: ids, Acknowledge: true}).decode(t, 200, &res)
		if len(res.Results) != 3 {
			t.Fatalf("results %+v", res.Results)
		}
		for i, r := range res.Results {
			if r.Input != string(ids[i]) {
				t.Errorf("result %d is of %q, want %q", i, r.Input, ids[i])
			}
		}
		var refusal *claim.RefusalError
		if claim.ErrorCode(res.Results[0].Err) != "not_eligible" || !errorsAs(res.Results[0].Err, &refusal) || !refusal.Has(claim.ReasonSourceSSO) {
			t.Errorf("dee's result %+v, want refused for source_sso", res.Results[0])
		}
		if res.Results[1].Err != nil || res.Results[1].Mode != claim.Delayed || res.Results[2].Err != nil {
			t.Errorf("ann's and bob's results %+v", res.Results[1:])
		}
		w.as(t, "acme", "POST", "/claims/by-email", claimhttp.ClaimRequest{Emails: []string{"Cy <CY@acme.example>", "nobody@acme.example"}, Acknowledge: true}).decode(t, 200, &res)
		if len(res.Results) != 2 || res.Results[0].Err != nil || claim.ErrorCode(res.Results[1].Err) != "not_found" {
			t.Errorf("by-email results %+v", res.Results)
		}

		// Pending claims, days left, retraction.
		var pend claim.Page[claim.User]
		w.as(t, "acme", "GET", "/retractable", nil).decode(t, 200, &pend)
		if got := userEmails(pend.Items); !slices.Equal(got, []string{"ann@acme.example", "bob@acme.example", "cy@acme.example"}) {
			t.Errorf("retractable %v", got)
		}
		w.clock.Advance(3 * 24 * time.Hour)
		var dl claimhttp.DaysLeft
		w.as(t, "acme", "GET", "/users/"+string(w.id["ann@acme.example"])+"/days-left", nil).decode(t, 200, &dl)
		if dl.Days != 11 {
			t.Errorf("days left %+v, want 11", dl)
		}
		w.as(t, "acme", "POST", "/users/"+string(w.id["bob@acme.example"])+"/retract", nil).decode(t, 204, nil)
		if u, _ := w.svc.User(t.Context(), w.id["bob@acme.example"]); u.Org != "home" {
			t.Errorf("bob after retraction is in %q", u.Org)
		}
		p := w.as(t, "acme", "POST", "/users/"+string(w.id["bob@acme.example"])+"/retract", nil).problem(t)
		if p.Status != 404 || p.Code != "not_found" { // bob is home's again
			t.Errorf("second retraction: %+v", p)
		}
		var u claim.User
		w.as(t, "acme", "GET", "/users/"+string(w.id["ann@acme.example"]), nil).decode(t, 200, &u)
		if u.Email != "ann@acme.example" || u.State != claim.DelayedClaim {
			t.Errorf("GET /users/ann: %+v", u)
		}
		var users claim.Page[claim.User]
		w.as(t, "acme", "GET", "/users?state=Delayed+Claim&state=active", nil).decode(t, 200, &users)
		if got := userEmails(users.Items); !slices.Equal(got, []string{"ann@acme.example", "cy@acme.example"}) {
			t.Errorf("users in Delayed Claim or Active: %v", got)
		}

		var n claimhttp.Count
		w.as(t, "acme", "POST", "/reminders", nil).decode(t, 200, &n)
		if n.Sent != 2 {
			t.Errorf("reminders sent %d, want 2", n.Sent)
		}
		w.as(t, "acme", "POST", "/nudges", nil).decode(t, 200, &n)

		// CSV export, then a dry-run import of it and a real one.
		exp := w.as(t, "acme", "GET", "/export.csv", nil)
		if exp.status != 200 || !strings.HasPrefix(exp.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("export: %d %s", exp.status, exp.header)
		}
		rows, err := csv.NewReader(strings.NewReader(string(exp.body))).ReadAll()
		if err != nil || len(rows) != 2 || rows[1][3] != "bob@acme.example" {
			t.Fatalf("export rows %v %v", rows, err)
		}
		var rep claim.ImportReport
		serve(t, w.admin, "POST", "/import?acknowledge=true&dryRun=true", strings.NewReader(string(exp.body)),
			"X-Org", "acme", "Content-Type", "text/csv").decode(t, 200, &rep)
		if rep.Claimed != 1 {
			t.Errorf("dry run %+v", rep)
		}
		if u, _ := w.svc.User(t.Context(), w.id["bob@acme.example"]); u.Org != "home" {
			t.Errorf("a dry run claimed bob")
		}
		// Streamed progress, then the report.
		prog := serve(t, w.admin, "POST", "/import?acknowledge=true", strings.NewReader(string(exp.body)),
			"X-Org", "acme", "Content-Type", "text/csv", "Accept", "application/x-ndjson")
		lines := strings.Split(strings.TrimSpace(string(prog.body)), "\n")
		var last claimhttp.ImportProgress
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Report == nil || last.Report.Claimed != 1 {
			t.Errorf("streamed import %q", prog.body)
		}
		var first claimhttp.ImportProgress
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Progress == nil || *first.Progress != 1 {
			t.Errorf("first progress line %q", lines[0])
		}

		// Directory sync: a dry run changes nothing.
		var sr claim.SyncReport
		serve(t, w.admin, "POST", "/sync?dryRun=true", strings.NewReader(`{"Email":"amy@acme.example"}`+"\n"+`{"Email":"new@acme.example","FirstName":"New"}`),
			"X-Org", "acme", "Content-Type", "application/x-ndjson").decode(t, 200, &sr)
		if !slices.Equal(sr.Created, []string{"new@acme.example"}) {
			t.Errorf("sync report %+v", sr)
		}
		if _, err := w.svc.UserByEmail(t.Context(), "new@acme.example"); claim.ErrorCode(err) != "not_found" {
			t.Errorf("a dry-run sync created a user: %v", err)
		}

		// Sweep: the delayed claims expire after the window.
		w.clock.Advance(15 * 24 * time.Hour)
		var sw claim.SweepReport
		w.as(t, "acme", "POST", "/sweep", nil).decode(t, 200, &sw)
		if sw.Expired != 3 {
			t.Errorf("sweep %+v, want 3 expired (ann, bob, cy)", sw)
		}

		// Events: only acme's, in order, paged by the cursor.
		var ep claimhttp.EventPage
		var seen []claim.Event
		for after := uint64(0); ; after = ep.Next {
			w.as(t, "acme", "GET", "/events?limit=5&after="+itoa(after), nil).decode(t, 200, &ep)
			seen = append(seen, ep.Events...)
			if ep.Next == after {
				break
			}
		}
		var want2 []claim.Event
		for e, err := range w.svc.Events(t.Context(), 0) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Org == "acme" || e.From == "acme" {
				want2 = append(want2, e)
			}
		}
		if diff := cmp.Diff(want2, seen); diff != "" || len(seen) < 10 {
			t.Errorf("acme's events (-log +http), %d seen:\n%s", len(seen), diff)
		}
	})
}

// TestEventsLongPoll: a waiting GET /events answers with the first event
// of the org committed after it started, and an empty page when the wait
// ends with none.
func TestEventsLongPoll(t *testing.T) {
	forEachStore(t, claimhttp.Options{}, func(t *testing.T, w *world) {
		var ep claimhttp.EventPage
		w.as(t, "acme", "GET", "/events?limit=1000", nil).decode(t, 200, &ep)
		cursor := ep.Next
		done := make(chan reply)
		go func() {
			done <- w.as(t, "acme", "GET", "/events?wait=20s&after="+itoa(cursor), nil)
		}()
		time.Sleep(50 * time.Millisecond)
		// Another org's event does not end the wait; acme's does.
		if _, err := w.svc.AddUser(t.Context(), "globex", claim.NewUser{Email: "gil@globex.example"}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.AddUser(t.Context(), "acme", claim.NewUser{Email: "al@acme.example"}); err != nil {
			t.Fatal(err)
		}
		r := <-done
		r.decode(t, 200, &ep)
		if len(ep.Events) != 1 || ep.Events[0].Type != claim.EventUserAdded || ep.Events[0].Org != "acme" {
			t.Errorf("long poll answered %+v", ep)
		}
		w.as(t, "acme", "GET", "/events?wait=30ms&after="+itoa(ep.Next), nil).decode(t, 200, &ep)
		if len(ep.Events) != 0 {
			t.Errorf("a wait with nothing new answered %+v", ep)
		}
	})
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func emails(cs []claim.Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.User.Email)
	}
	return out
}

func userEmails(us []claim.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Email)
	}
	return out
}

func errorsAs(err error, target **claim.RefusalError) bool {
	r, ok := errors.AsType[*claim.RefusalError](err)
	*target = r
	return ok
}

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
