package claim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Acme has verified acme.example. Ann has a personal account from 2019 on
// that domain; Bob's company uses single sign-on; Cat is on a domain Acme
// has not verified. Acme lists whom it may claim, and asks why not Bob
// and Cat.
func ExampleService_Eligibility() {
	ctx := context.Background()
	svc := eligibilityWorld(ctx)

	for c, err := range svc.Claimable(ctx, "acme") {
		if err != nil {
			panic(err)
		}
		fmt.Println("claimable:", c.User.Email, c.Mode, "content lost:", c.ContentLoss)
	}
	for _, email := range []string{"ann@acme.example", "bob@acme.example", "cat@elsewhere.example"} {
		reasons, err := svc.Eligibility(ctx, "acme", email)
		fmt.Println(email, reasons, err)
	}
	// Output:
	// claimable: ann@acme.example Delayed content lost: false
	// ann@acme.example [] <nil>
	// bob@acme.example [source_sso] <nil>
	// cat@elsewhere.example [domain_not_verified] <nil>
}

// eligibilityWorld builds the orgs and users of the example.
func eligibilityWorld(ctx context.Context) *claim.Service {
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		panic(err)
	}
	for _, o := range []claim.Org{
		{ID: "acme", Name: "Acme", Kind: claim.Enterprise, Settings: claim.Settings{AllowContentMigration: true}},
		{ID: "ann-personal", Name: "Ann", Kind: claim.Individual, CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "bobco", Name: "Bob & Co", Kind: claim.Enterprise, Settings: claim.Settings{SSO: true}},
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
	for _, u := range []struct {
		org   claim.OrgID
		email string
	}{
		{"ann-personal", "ann@acme.example"},
		{"bobco", "bob@acme.example"},
		{"ann-personal", "cat@elsewhere.example"},
	} {
		if _, err := svc.AddUser(ctx, u.org, claim.NewUser{Email: u.email}); err != nil {
			panic(err)
		}
	}
	return svc
}
