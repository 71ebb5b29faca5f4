package claimhttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
)

// The host authenticates its administrators and tells the handler which
// org each administers; here a header stands in for that.
func ExampleNewHandler() {
	ctx := context.Background()
	svc, _ := claim.New(claim.NewMemoryStore())
	_, _ = svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise})

	h, err := claimhttp.NewHandler(svc, claimhttp.Options{
		Org: func(r *http.Request) (claim.OrgID, error) {
			if org := r.Header.Get("X-Demo-Org"); org != "" { // a real host checks a session or a token
				return claim.OrgID(org), nil
			}
			return "", errors.New("not signed in")
		},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/api/claims", strings.NewReader(`{"userIds":["usr_1"]}`))
	req.Header.Set("X-Demo-Org", "acme")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	fmt.Println(strings.Contains(string(body), `"type":"urn:claimkit:problem:not_acknowledged"`))
	// Output:
	// 400 application/problem+json
	// true
}

// A host with its own router answers with the same problems.
func ExampleProblemFor() {
	err := &claim.RefusalError{User: "usr_1", Reasons: []claim.Reason{claim.ReasonSourceSSO}}
	p := claimhttp.ProblemFor(err)
	fmt.Println(p.Status, p.Type, p.Reasons)
	// Output:
	// 409 urn:claimkit:problem:not_eligible [source_sso]
}

// The claimed user's side goes behind the host's own user sign-in; here
// a header names the user.
func ExampleNewUserHandler() {
	ctx := context.Background()
	svc, _ := claim.New(claim.NewMemoryStore())
	_, _ = svc.CreateOrg(ctx, claim.Org{ID: "home", Name: "Home", Kind: claim.Individual})
	ann, _ := svc.AddUser(ctx, "home", claim.NewUser{Email: "ann@example.com"})

	h, err := claimhttp.NewUserHandler(svc, claimhttp.UserOptions{
		User: func(r *http.Request) (claim.UserID, error) {
			return claim.UserID(r.Header.Get("X-Demo-User")), nil // a real host reads its session
		},
	})
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest("POST", "/me/sign-in", nil)
	req.Header.Set("X-Demo-User", string(ann.ID))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.Contains(rec.Body.String(), `"code":"not_verified"`))
	// Output:
	// 403 true
}
