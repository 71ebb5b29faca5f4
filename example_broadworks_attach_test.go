package claim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Telco attaches its enterprise to Acme, an existing customer org with a
// few users, no domain and no licenses: the attach is automatic, Telco's
// admin becomes Full Admin, and Acme keeps its name and sign-in settings.
func ExampleBroadWorks_ProvisionSubscriber_attach() {
	svc, ctx := attachWorld()
	ann, _ := svc.AddUser(ctx, "acme", claim.NewUser{Email: "ann@acme.example"})

	sub, _ := svc.BroadWorks().ProvisionSubscriber(ctx, "telco", "bw-100", claim.NewSubscriber{ID: "u1", Email: "ann@acme.example"})
	fmt.Println(sub.Status, "as ann:", sub.User == ann.ID, "admin:", sub.Admin)

	ent, _ := svc.BroadWorks().Enterprise(ctx, "telco", "bw-100")
	fmt.Println("enterprise in", ent.Org, ent.Attach)
	acme, _ := svc.Org(ctx, "acme")
	fmt.Println(acme.Name, "SSO:", acme.Settings.SSO)
	p, _ := svc.BroadWorks().OrgProfile(ctx, "acme")
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

// attachWorld is a partner, Telco, with a BroadWorks enterprise whose
// onboarding template trusts e-mail addresses and targets Acme, a
// customer org that uses single sign-on.
func attachWorld() (*claim.Service, context.Context) {
	ctx := context.Background()
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock))
	if err != nil {
		panic(err)
	}
	for _, o := range []claim.Org{
		{ID: "telco", Name: "Telco", Kind: claim.Enterprise},
		{ID: "acme", Name: "Acme", Kind: claim.Enterprise, Settings: claim.Settings{SSO: true}},
	} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			panic(err)
		}
	}
	_, err = svc.BroadWorks().CreateEnterprise(ctx, claim.BroadWorksEnterprise{ID: "bw-100", Partner: "telco", Name: "Corner Shop",
		Template: claim.Template{PartnerAdmin: "pat@telco.example", TrustedEmail: true}, Target: "acme"})
	if err != nil {
		panic(err)
	}
	return svc, ctx
}
