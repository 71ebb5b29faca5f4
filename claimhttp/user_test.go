package claimhttp_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
)

// TestUserSide: a claimed user signs in and chooses through the user
// handler; the retraction of a user who signed in is refused with its
// reason as a code; the user handler acts on the user its host names and
// on no other.
func TestUserSide(t *testing.T) {
	forEachStore(t, claimhttp.Options{}, func(t *testing.T, w *world) {
		ann := string(w.id["ann@acme.example"])
		if _, err := w.svc.ClaimUsers(t.Context(), "acme", []claim.UserID{claim.UserID(ann)}, claim.ClaimOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		as := func(user, method, target, body string) reply {
			t.Helper()
			hdr := []string{"X-User", user}
			if body != "" {
				hdr = append(hdr, "Content-Type", "application/json")
			}
			return serve(t, w.user, method, target, strings.NewReader(body), hdr...)
		}
		var u claim.User
		as(ann, "GET", "/me", "").decode(t, 200, &u)
		if u.ID != claim.UserID(ann) || u.State != claim.DelayedClaim {
			t.Errorf("GET /me: %+v", u)
		}
		var dl claimhttp.DaysLeft
		as(ann, "GET", "/me/days-left", "").decode(t, 200, &dl)
		if dl.Days != 14 || dl.User != claim.UserID(ann) {
			t.Errorf("days left %+v", dl)
		}
		// A user that is not verified cannot sign in: a 403 problem.
		bob := string(w.id["bob@acme.example"])
		if p := as(bob, "POST", "/me/sign-in", "").problem(t); p.Status != 403 || p.Code != "not_verified" {
			t.Errorf("bob's sign-in: %+v", p)
		}
		as(ann, "POST", "/me/sign-in", "").decode(t, 200, &u)
		if !u.Claim.SignedIn {
			t.Errorf("ann after sign-in: %+v", u.Claim)
		}
		p := w.as(t, "acme", "POST", "/users/"+ann+"/retract", nil).problem(t)
		if p.Status != 409 || p.Code != "signed_in" || !slices.Equal(p.Reasons, []string{"signed_in"}) {
			t.Errorf("retraction after sign-in: %+v", p)
		}
		if p := as(ann, "POST", "/me/choice", `{"Action":"Teleport"}`).problem(t); p.Status != 400 || p.Field == "" {
			t.Errorf("a choice that is none: %+v", p)
		}
		as(ann, "POST", "/me/choice", `{"Action":"MigrateContent"}`).decode(t, 200, &u)
		if u.State != claim.Active {
			t.Errorf("after the choice: %+v", u)
		}
		if p := as(ann, "POST", "/me/choice", `{"Action":"MigrateContent"}`).problem(t); p.Code != "no_pending_claim" {
			t.Errorf("a second choice: %+v", p)
		}
		if p := serve(t, w.user, "GET", "/me", nil).problem(t); p.Status != 403 || p.Code != "forbidden" {
			t.Errorf("no user: %+v", p)
		}
		if p := as("usr_nobody", "GET", "/me", "").problem(t); p.Status != 404 {
			t.Errorf("an unknown user: %+v", p)
		}
	})
}
