package claim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// bwExampleWorld is a partner, Telco, with a BroadWorks enterprise whose
// onboarding template trusts e-mail addresses, and Carl, who has a free
// Webex account with 12 items of content.
func bwExampleWorld(target claim.OrgID) (*claim.Service, context.Context) {
	ctx := context.Background()
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock))
	if err != nil {
		panic(err)
	}
	for _, o := range []claim.Org{
		{ID: "telco", Name: "Telco", Kind: claim.Enterprise},
		{ID: "free", Name: "Webex Free", Kind: claim.Consumer},
		{ID: "acme", Name: "Acme", Kind: claim.Enterprise, Settings: claim.Settings{SSO: true}},
	} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			panic(err)
		}
	}
	if _, err := svc.AddUser(ctx, "free", claim.NewUser{Email: "carl@mail.example", Content: 12}); err != nil {
		panic(err)
	}
	_, err = svc.CreateEnterprise(ctx, claim.BroadWorksEnterprise{ID: "bw-100", Partner: "telco", Name: "Corner Shop",
		Template: claim.Template{PartnerAdmin: "pat@telco.example", TrustedEmail: true}, Target: target})
	if err != nil {
		panic(err)
	}
	return svc, ctx
}

// Telco moves Carl's free account into its BroadWorks organization with
// a trusted e-mail: Carl is asked, and only when he deletes his old
// account is the address provisioned there.
func ExampleService_ProvisionSubscriber() {
	svc, ctx := bwExampleWorld("")

	boss, _ := svc.ProvisionSubscriber(ctx, "telco", "bw-100", claim.NewSubscriber{ID: "u1", Email: "boss@shop.example"})
	fmt.Println("first:", boss.Status, "admin:", boss.Admin)

	carl, _ := svc.ProvisionSubscriber(ctx, "telco", "bw-100", claim.NewSubscriber{ID: "u2", Email: "carl@mail.example"})
	old, _ := svc.UserByEmail(ctx, "carl@mail.example")
	fmt.Println("carl:", carl.Status, "old account in", old.Org, "with", old.Content, "items")

	carl, _ = svc.Consent(ctx, "u2")
	now, _ := svc.UserByEmail(ctx, "carl@mail.example")
	ent, _ := svc.Enterprise(ctx, "telco", "bw-100")
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

// Telco attaches its enterprise to Acme, an existing customer org with a
// few users, no domain and no licenses: the attach is automatic, Telco's
// admin becomes Full Admin, and Acme keeps its name and sign-in settings.
func ExampleService_ProvisionSubscriber_attach() {
	svc, ctx := bwExampleWorld("acme")
	ann, _ := svc.AddUser(ctx, "acme", claim.NewUser{Email: "ann@acme.example"})

	sub, _ := svc.ProvisionSubscriber(ctx, "telco", "bw-100", claim.NewSubscriber{ID: "u1", Email: "ann@acme.example"})
	fmt.Println(sub.Status, "as ann:", sub.User == ann.ID, "admin:", sub.Admin)

	ent, _ := svc.Enterprise(ctx, "telco", "bw-100")
	fmt.Println("enterprise in", ent.Org, ent.Attach)
	acme, _ := svc.Org(ctx, "acme")
	fmt.Println(acme.Name, "SSO:", acme.Settings.SSO)
	p, _ := svc.OrgProfile(ctx, "acme")
	for _, a := range p.Admins {
		fmt.Println("admin", a.Email, a.Role, "for", a.Partner)
	}
	fmt.Println("restricted admin mode:", p.RestrictedAdminMode)
	// Output:
	// provisioned as ann: true admin: false
	// enterprise in acme automatic
	// Acme SSO: true
	// admin pat@telco.example full_admin for telco
	// restricted admin mode: false
}
