package claim_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// A dry run reports what an import would do and claims nobody.
func ExampleImportOptions_dryRun() {
	ctx := context.Background()
	svc, _, ann := dryRunWorld(ctx)
	file := "User ID/Email (Required),Claim Type\nann@acme.example,Delayed\nann@acme.example,Delayed\n"
	rep, err := svc.ImportClaims(ctx, "acme", strings.NewReader(file), claim.ImportOptions{Acknowledge: true, DryRun: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("would claim %d, skip %d: %v\n", rep.Claimed, rep.Skipped, rep.Rows[0].Err)
	u, _ := svc.User(ctx, ann)
	fmt.Println("Ann is still in", u.Org)
	// Output:
	// would claim 1, skip 1: claim: ann@acme.example is already claimed by org "acme": user already claimed
	// Ann is still in ann-personal
}

// dryRunWorld builds the world of the example: Acme has verified
// acme.example, lets claimed users bring their content along and gives
// them a Meetings license; Ann has a personal account from 2019 on that
// domain, with 40 items of content, and has verified her address.
func dryRunWorld(ctx context.Context) (*claim.Service, *claimtest.Clock, claim.UserID) {
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		panic(err)
	}
	for _, o := range []claim.Org{
		{ID: "acme", Name: "Acme", Kind: claim.Enterprise,
			Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}}},
		{ID: "ann-personal", Name: "Ann", Kind: claim.Individual, CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			panic(err)
		}
	}
	token, err := svc.StartDomainVerification(ctx, "acme", "acme.example")
	if err != nil {
		panic(err)
	}
	dns.Set("acme.example", token) // what the admin publishes in DNS
	if err := svc.ConfirmDomain(ctx, "acme", "acme.example"); err != nil {
		panic(err)
	}
	ann, err := svc.AddUser(ctx, "ann-personal", claim.NewUser{Email: "ann@acme.example", Content: 40, SiteLinked: true})
	if err != nil {
		panic(err)
	}
	return svc, clock, ann.ID
}

// A dry run of ClaimUsers answers what the claim would do and claims
// nobody.
func ExampleClaimOptions_dryRun() {
	ctx := context.Background()
	svc, _, ann := dryRunWorld(ctx)
	res, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann, "usr_nobody"}, claim.ClaimOptions{Acknowledge: true, DryRun: true})
	if err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Println(r.Input == string(ann), r.Mode, r.Err)
	}
	u, _ := svc.User(ctx, ann)
	fmt.Println("Ann is still in", u.Org)
	// Output:
	// true Delayed <nil>
	// false none claim: user "usr_nobody": not found
	// Ann is still in ann-personal
}
