package claim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Acme moved its meeting site to Control Hub before claiming Ann, who
// holds a license on it: the claim warns, and with Relicense the library
// removes her license, claims her and grants it again.
func ExampleClaimOptions_relicense() {
	ctx := context.Background()
	svc, site, ann := siteExampleWorld(ctx)
	for c, err := range svc.Claimable(ctx, "acme") {
		if err != nil {
			panic(err)
		}
		fmt.Println("claimable:", c.User.Email, c.Warnings)
	}
	res, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, claim.ClaimOptions{Acknowledge: true, Relicense: true})
	if err != nil || res[0].Err != nil {
		panic(fmt.Sprint(err, res))
	}
	acc, _ := svc.SiteAccess(ctx, "acme", ann)
	fmt.Println("license kept:", acc[0].Site == site && acc[0].License)
	for ev, err := range svc.Events(ctx, 0) {
		if err != nil {
			panic(err)
		}
		if ev.User == ann && ev.Type != claim.EventUserAdded && ev.Type != claim.EventUserVerified {
			fmt.Println(ev.Seq, ev.Type)
		}
	}
	// Output:
	// claimable: ann@acme.example [site_access_at_risk]
	// license kept: true
	// 7 site.access_granted
	// 9 site.access_removed
	// 10 claim.created
	// 11 notify.claim
	// 12 site.access_granted
}

// siteExampleWorld builds the world of the example: Acme has verified
// acme.example and has a meeting site, moved to Control Hub, on which Ann
// (of a personal org) holds a license.
func siteExampleWorld(ctx context.Context) (*claim.Service, claim.SiteID, claim.UserID) {
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		panic(err)
	}
	for _, o := range []claim.Org{
		{ID: "acme", Name: "Acme", Kind: claim.Enterprise},
		{ID: "ann-personal", Name: "Ann", Kind: claim.Individual},
	} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			panic(err)
		}
	}
	token, err := svc.StartDomainVerification(ctx, "acme", "acme.example")
	if err != nil {
		panic(err)
	}
	dns.Set("acme.example", token)
	if err := svc.ConfirmDomain(ctx, "acme", "acme.example"); err != nil {
		panic(err)
	}
	ann, err := svc.AddUser(ctx, "ann-personal", claim.NewUser{Email: "ann@acme.example", SiteLinked: true})
	if err != nil {
		panic(err)
	}
	site, err := svc.AddSite(ctx, "acme", "acme.webex.example")
	if err != nil {
		panic(err)
	}
	if err := svc.SetSiteAccess(ctx, "acme", claim.SiteAccess{Site: site.ID, User: ann.ID, License: true}); err != nil {
		panic(err)
	}
	if _, err := svc.MoveSiteToControlHub(ctx, "acme", site.ID); err != nil {
		panic(err)
	}
	return svc, site.ID, ann.ID
}
