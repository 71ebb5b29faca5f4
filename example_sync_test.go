package claim_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

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
