package claim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Ann never chooses: 14 days after the claim, reads already show her
// content migrated, and the sweep (a cron job's work) records it.
func ExampleService_Sweep() {
	ctx := context.Background()
	svc, clock, ann := sweepWorld(ctx)

	if _, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, claim.ClaimOptions{Acknowledge: true}); err != nil {
		panic(err)
	}
	days, _ := svc.DaysLeft(ctx, ann)
	fmt.Println("days left:", days)

	clock.Advance(14 * 24 * time.Hour)
	u, _ := svc.User(ctx, ann)
	fmt.Println("read:", u.State, u.Content)
	rep, err := svc.Sweep(ctx)
	fmt.Printf("sweep: %+v %v\n", rep, err)
	rep, err = svc.Sweep(ctx)
	fmt.Printf("again: %+v %v\n", rep, err)
	// Output:
	// days left: 14
	// read: Verified 40
	// sweep: {Expired:1 Purged:0} <nil>
	// again: {Expired:0 Purged:0} <nil>
}

// sweepWorld builds the world of the example: Acme has verified
// acme.example, lets claimed users bring their content along and gives
// them a Meetings license; Ann has a personal account from 2019 on that
// domain, with 40 items of content, and has verified her address. The
// service has the options opts besides its clock and resolver.
func sweepWorld(ctx context.Context, opts ...claim.Option) (*claim.Service, *claimtest.Clock, claim.UserID) {
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), append([]claim.Option{claim.WithClock(clock), claim.WithResolver(dns)}, opts...)...)
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
