package claim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// Acme exports the users it may claim, the admin adds a row by hand, and
// the import claims Ann and reports the bad row.
func ExampleService_ImportClaims() {
	ctx := context.Background()
	svc, _, _ := csvExampleWorld(ctx)
	var file strings.Builder
	if err := svc.ExportClaimable(ctx, "acme", &file); err != nil {
		panic(err)
	}
	fmt.Print(file.String())
	file.WriteString(",,,bob@acme.example,,Immediate,TRUE,TRUE\n") // nobody has this address

	rep, err := svc.ImportClaims(ctx, "acme", strings.NewReader(file.String()), claim.ImportOptions{Acknowledge: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("claimed %d, refused %d, skipped %d\n", rep.Claimed, rep.Refused, rep.Skipped)
	for _, r := range rep.Rows {
		fmt.Printf("line %d: %s: not found: %v\n", r.Line, r.Email, errors.Is(r.Err, claim.ErrNotFound))
	}
	ann, _ := svc.UserByEmail(ctx, "ann@acme.example")
	fmt.Printf("%s: %s (%s claim), licenses %v\n", ann.Org, ann.State, ann.Claim.Mode, ann.Licenses)
	// Output:
	// First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim,Meetings
	// ,,,ann@acme.example,Verified,Delayed,TRUE,TRUE
	// claimed 1, refused 1, skipped 0
	// line 3: bob@acme.example: not found: true
	// acme: Delayed Claim (Delayed claim), licenses [Meetings]
}

// Acme downloads the CSV template, the admin types in Ann's address, and
// the import claims her.
func ExampleService_ExportTemplate() {
	ctx := context.Background()
	svc, _, _ := csvExampleWorld(ctx)
	var file strings.Builder
	if err := svc.ExportTemplate(ctx, "acme", &file); err != nil {
		panic(err)
	}
	fmt.Print(file.String())
	file.WriteString(",,,ann@acme.example,,,,\n") // typed in by hand

	rep, err := svc.ImportClaims(ctx, "acme", strings.NewReader(file.String()), claim.ImportOptions{Acknowledge: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("claimed %d, refused %d\n", rep.Claimed, rep.Refused)
	// Output:
	// First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim,Meetings
	// claimed 1, refused 0
}

// csvExampleWorld builds the world of the example: Acme has verified
// acme.example, lets claimed users bring their content along and gives
// them a Meetings license; Ann has a personal account from 2019 on that
// domain, with 40 items of content, and has verified her address.
func csvExampleWorld(ctx context.Context) (*claim.Service, *claimtest.Clock, claim.UserID) {
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
