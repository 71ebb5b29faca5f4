package claim_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Acme retracts its claim on Ann three days later; a second retraction
// fails, and so does one after Ann signed in.
func ExampleService_Retract() {
	ctx := context.Background()
	svc, clock, ann := retractWorld(ctx)
	opts := claim.ClaimOptions{Acknowledge: true}

	if _, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, opts); err != nil {
		panic(err)
	}
	clock.Advance(3 * 24 * time.Hour)
	fmt.Println(svc.Retract(ctx, "acme", ann))
	u, _ := svc.User(ctx, ann)
	fmt.Println(u.Org, u.State, u.Content)
	fmt.Println(errors.Is(svc.Retract(ctx, "acme", ann), claim.ErrNoPendingClaim))

	if _, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, opts); err != nil {
		panic(err)
	}
	if _, err := svc.SignIn(ctx, ann); err != nil {
		panic(err)
	}
	err := svc.Retract(ctx, "acme", ann)
	fmt.Println(errors.Is(err, claim.ErrSignedIn))
	// Output:
	// <nil>
	// ann-personal Verified 40
	// true
	// true
}

// retractWorld builds the world of the example: Acme has verified
// acme.example, lets claimed users bring their content along and gives
// them a Meetings license; Ann has a personal account from 2019 on that
// domain, with 40 items of content, and has verified her address.
func retractWorld(ctx context.Context) (*claim.Service, *claimtest.Clock, claim.UserID) {
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
