package claim_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Ann signs in after the claim and brings her content along.
func ExampleService_Choose() {
	ctx := context.Background()
	svc, clock, ann := chooseWorld(ctx)

	if _, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, claim.ClaimOptions{Acknowledge: true}); err != nil {
		panic(err)
	}
	_, err := svc.Choose(ctx, ann, claim.Choice{Action: claim.MigrateContent})
	fmt.Println("before signing in:", errors.Is(err, claim.ErrChoiceNotAllowed))

	clock.Advance(time.Hour)
	if _, err := svc.SignIn(ctx, ann); err != nil {
		panic(err)
	}
	u, err := svc.Choose(ctx, ann, claim.Choice{Action: claim.MigrateContent})
	fmt.Println(err, u.State, u.Content, u.Claim == nil)
	// Output:
	// before signing in: true
	// <nil> Active 40 true
}

// chooseWorld builds the world of the example: Acme has verified
// acme.example, lets claimed users bring their content along and gives
// them a Meetings license; Ann has a personal account from 2019 on that
// domain, with 40 items of content, and has verified her address.
func chooseWorld(ctx context.Context) (*claim.Service, *claimtest.Clock, claim.UserID) {
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
