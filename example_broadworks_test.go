package claim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Telco moves Carl's free account into its BroadWorks organization with
// a trusted e-mail: Carl is asked, and only when he deletes his old
// account is the address provisioned there.
func ExampleBroadWorks_ProvisionSubscriber() {
	svc, ctx := provisionWorld()

	boss, _ := svc.BroadWorks().ProvisionSubscriber(ctx, "telco", "bw-100", claim.NewSubscriber{ID: "u1", Email: "boss@shop.example"})
	fmt.Println("first:", boss.Status, "admin:", boss.Admin)

	carl, _ := svc.BroadWorks().ProvisionSubscriber(ctx, "telco", "bw-100", claim.NewSubscriber{ID: "u2", Email: "carl@mail.example"})
	old, _ := svc.UserByEmail(ctx, "carl@mail.example")
	fmt.Println("carl:", carl.Status, "old account in", old.Org, "with", old.Content, "items")

	carl, _ = svc.BroadWorks().Consent(ctx, "u2")
	now, _ := svc.UserByEmail(ctx, "carl@mail.example")
	ent, _ := svc.BroadWorks().Enterprise(ctx, "telco", "bw-100")
	fmt.Println("carl:", carl.Status, "in the enterprise's org:", now.Org == ent.Org)
	for e := range svc.Events(ctx, 0) {
		switch e.Type {
		case claim.EventNotifyConsent:
			fmt.Println(e.Type, "to", e.Recipient)
		case claim.EventContentDeleted:
			fmt.Println(e.Type, e.Content, "items")
		}
	}
	// Output:
	// first: provisioned admin: true
	// carl: pending_user_migration old account in free with 12 items
	// carl: provisioned in the enterprise's org: true
	// notify.bw_consent to carl@mail.example
	// content.deleted 12 items
}

// provisionWorld is a partner, Telco, with a BroadWorks enterprise whose
// onboarding template trusts e-mail addresses, and Carl, who has a free
// Webex account with 12 items of content.
func provisionWorld() (*claim.Service, context.Context) {
	ctx := context.Background()
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock))
	if err != nil {
		panic(err)
	}
	for _, o := range []claim.Org{
		{ID: "telco", Name: "Telco", Kind: claim.Enterprise},
		{ID: "free", Name: "Webex Free", Kind: claim.Consumer},
	} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			panic(err)
		}
	}
	if _, err := svc.AddUser(ctx, "free", claim.NewUser{Email: "carl@mail.example", Content: 12}); err != nil {
		panic(err)
	}
	_, err = svc.BroadWorks().CreateEnterprise(ctx, claim.BroadWorksEnterprise{ID: "bw-100", Partner: "telco", Name: "Corner Shop",
		Template: claim.Template{PartnerAdmin: "pat@telco.example", TrustedEmail: true}})
	if err != nil {
		panic(err)
	}
	return svc, ctx
}
