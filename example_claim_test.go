package claim_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Acme claims Ann and an address nobody has; Ann gets a delayed claim,
// and her original account stays behind, held by the claim.
func ExampleService_ClaimUsers() {
	ctx := context.Background()
	svc, _, ann := claimWorld(ctx)

	res, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann, "nobody"}, claim.ClaimOptions{Acknowledge: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("Ann:", res[0].Err, res[0].Mode)
	fmt.Println("nobody:", errors.Is(res[1].Err, claim.ErrNotFound))
	u, _ := svc.User(ctx, ann)
	fmt.Println(u.Org, u.State, u.Licenses, u.Content)
	orig, _ := svc.UserByEmail(ctx, u.Email+claim.OriginalSuffix)
	fmt.Println(orig.Email, orig.Org, orig.Content, "held by", orig.HeldBy)
	// Output:
	// Ann: <nil> Delayed
	// nobody: true
	// acme Delayed Claim [Meetings] 0
	// ann@acme.example.convert-user.local ann-personal 40 held by acme
}

// claimWorld builds the world of the example: Acme has verified
// acme.example, lets claimed users bring their content along and gives
// them a Meetings license; Ann has a personal account from 2019 on that
// domain, with 40 items of content, and has verified her address.
func claimWorld(ctx context.Context) (*claim.Service, *claimtest.Clock, claim.UserID) {
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
