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

// exampleWorld is an org, Acme, that has verified acme.example, and Ann,
// a user of a personal account from 2019 on that domain.
func exampleWorld() (*claim.Service, *claimtest.Clock, claim.User) {
	ctx := context.Background()
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		panic(err)
	}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	_, err = svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise,
		Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}}})
	must(err)
	_, err = svc.CreateOrg(ctx, claim.Org{ID: "ann-personal", Name: "Ann", Kind: claim.Individual,
		CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)})
	must(err)
	token, err := svc.StartDomainVerification(ctx, "acme", "acme.example")
	must(err)
	dns.Set("acme.example", token)
	must(svc.ConfirmDomain(ctx, "acme", "acme.example"))
	ann, err := svc.AddUser(ctx, "ann-personal", claim.NewUser{Email: "ann@acme.example", Content: 40, SiteLinked: true})
	must(err)
	return svc, clock, ann
}

// A service on the in-memory store with a fixed-date clock.
func ExampleNew() {
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock))
	if err != nil {
		panic(err)
	}
	fmt.Println("claim window:", svc.Policy().ClaimWindow)

	_, err = claim.New(nil)
	fmt.Println(err)
	// Output:
	// claim window: 336h0m0s
	// claim: store "<nil>": a Store is required; use NewMemoryStore(): invalid value
}

// Acme claims Ann and an address nobody has; Ann gets a delayed claim.
func ExampleService_ClaimUsers() {
	svc, _, ann := exampleWorld()
	ctx := context.Background()

	res, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann.ID, "nobody"}, claim.ClaimOptions{Acknowledge: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("Ann:", res[0].Err, res[0].Mode)
	fmt.Println("nobody:", errors.Is(res[1].Err, claim.ErrNotFound))
	u, _ := svc.User(ctx, ann.ID)
	fmt.Println(u.Org, u.State, u.Licenses, u.Content)
	orig, _ := svc.UserByEmail(ctx, u.Email+claim.OriginalSuffix)
	fmt.Println(orig.Email, orig.Org, orig.Content, "held by", orig.HeldBy)
	// Output:
	// Ann: <nil> Delayed
	// nobody: true
	// acme Delayed Claim [Meetings] 0
	// ann@acme.example.convert-user.local ann-personal 40 held by acme
}

// Acme retracts its claim on Ann three days later; a second retraction
// fails, and so does one after Ann signed in.
func ExampleService_Retract() {
	svc, clock, ann := exampleWorld()
	ctx := context.Background()
	opts := claim.ClaimOptions{Acknowledge: true}

	svc.ClaimUsers(ctx, "acme", []claim.UserID{ann.ID}, opts)
	clock.Advance(3 * 24 * time.Hour)
	fmt.Println(svc.Retract(ctx, "acme", ann.ID))
	u, _ := svc.User(ctx, ann.ID)
	fmt.Println(u.Org, u.State, u.Content)
	fmt.Println(errors.Is(svc.Retract(ctx, "acme", ann.ID), claim.ErrNoPendingClaim))

	svc.ClaimUsers(ctx, "acme", []claim.UserID{ann.ID}, opts)
	svc.SignIn(ctx, ann.ID)
	err := svc.Retract(ctx, "acme", ann.ID)
	fmt.Println(errors.Is(err, claim.ErrSignedIn))
	// Output:
	// <nil>
	// ann-personal Verified 40
	// true
	// true
}

// Ann signs in after the claim and brings her content along.
func ExampleService_Choose() {
	svc, clock, ann := exampleWorld()
	ctx := context.Background()

	svc.ClaimUsers(ctx, "acme", []claim.UserID{ann.ID}, claim.ClaimOptions{Acknowledge: true})
	_, err := svc.Choose(ctx, ann.ID, claim.Choice{Action: claim.MigrateContent})
	fmt.Println("before signing in:", errors.Is(err, claim.ErrChoiceNotAllowed))

	clock.Advance(time.Hour)
	svc.SignIn(ctx, ann.ID)
	u, err := svc.Choose(ctx, ann.ID, claim.Choice{Action: claim.MigrateContent})
	fmt.Println(err, u.State, u.Content, u.Claim == nil)
	for e := range svc.Events(ctx, 0) {
		if e.Type == claim.EventContentMigrated {
			fmt.Println(e.Type, e.Content, "items into", e.Org)
		}
	}
	// Output:
	// before signing in: true
	// <nil> Active 40 true
	// content.migrated 40 items into acme
}

// Acme exports the users it may claim, the admin un-ticks nobody and adds
// a row by hand, and the import claims Ann and reports the bad row.
func ExampleService_ImportClaims() {
	ctx := context.Background()
	svc, _, _ := exampleWorld()
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

// A dry run reports what an import would do and claims nobody.
func ExampleImportOptions_dryRun() {
	ctx := context.Background()
	svc, _, ann := exampleWorld()
	file := "User ID/Email (Required),Claim Type\nann@acme.example,Delayed\nann@acme.example,Delayed\n"
	rep, err := svc.ImportClaims(ctx, "acme", strings.NewReader(file), claim.ImportOptions{Acknowledge: true, DryRun: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("would claim %d, skip %d: %v\n", rep.Claimed, rep.Skipped, rep.Rows[0].Err)
	ann, _ = svc.User(ctx, ann.ID)
	fmt.Println("Ann is still in", ann.Org)
	// Output:
	// would claim 1, skip 1: claim: ann@acme.example is already claimed by org "acme": user already claimed
	// Ann is still in ann-personal
}

// Acme turns its directory synchronization back on after claiming users:
// a dry run first shows who the full sync would deactivate, then the sync
// runs for real once the directory lists them.
func ExampleService_SyncDirectory() {
	ctx := context.Background()
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, _ := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise})
	token, _ := svc.StartDomainVerification(ctx, "acme", "acme.example")
	dns.Set("acme.example", token)
	svc.ConfirmDomain(ctx, "acme", "acme.example")
	svc.AddUser(ctx, "acme", claim.NewUser{Email: "ann@acme.example"})
	svc.AddUser(ctx, "acme", claim.NewUser{Email: "bob@acme.example"}) // say, a user Acme claimed: not in the directory yet

	directory := []claim.DirectoryEntry{
		{Email: "Ann@Acme.example"}, // matched whatever the case (Y6)
		{Email: "cat@acme.example", FirstName: "Cat"},
		{Email: "not-an-address"},
	}
	dry, err := svc.SyncDirectory(ctx, "acme", directory, claim.SyncOptions{Full: true, DryRun: true})
	fmt.Println("dry run:", err)
	fmt.Println("  would create:", dry.Created)
	fmt.Println("  would promote:", dry.Promoted)
	fmt.Println("  would deactivate:", dry.Deactivated)
	for _, r := range dry.Refused {
		fmt.Println("  refused: line", r.Line, errors.Is(r.Err, claim.ErrInvalidEmail))
	}

	// Bob must not be deactivated: add him to the directory, then sync.
	directory = append(directory, claim.DirectoryEntry{Email: "bob@acme.example"})
	rep, err := svc.SyncDirectory(ctx, "acme", directory, claim.SyncOptions{Full: true})
	fmt.Println("sync:", err, rep.Created, rep.Promoted, rep.Deactivated)
	for u := range svc.Users(ctx, "acme") {
		fmt.Println(" ", u.Email, u.State)
	}
	// Output:
	// dry run: <nil>
	//   would create: [cat@acme.example]
	//   would promote: [ann@acme.example]
	//   would deactivate: [bob@acme.example]
	//   refused: line 3 true
	// sync: <nil> [cat@acme.example] [ann@acme.example bob@acme.example] []
	//   ann@acme.example Active
	//   bob@acme.example Active
	//   cat@acme.example Active
}
