package claim_test

import (
	"context"
	"fmt"

	"github.com/claimkit/claim"
)

// Before claiming Ann, Acme asks for the plan against its directory,
// which does not name her: the claim would be delayed, and the next full
// sync would deactivate her, to be purged 30 days later.
func ExampleService_PlanClaims() {
	ctx := context.Background()
	svc, _, ann := dryRunWorld(ctx)
	plan, err := svc.PlanClaims(ctx, "acme", claim.PlanRequest{
		IDs:            []claim.UserID{ann, "usr_nobody"},
		Directory:      []claim.DirectoryEntry{{Email: "bob@acme.example"}},
		CheckDirectory: true,
	})
	if err != nil {
		panic(err)
	}
	for _, e := range plan.Entries {
		if e.Err != nil {
			fmt.Println(e.Input, "refused:", e.Err)
			continue
		}
		fmt.Println(e.Email, e.Mode, e.Licenses, "deactivated:", e.Deactivated, "purged:", e.PurgeAt.Format("2006-01-02"))
	}
	fmt.Printf("%d of %d claimable\n", plan.Totals.Claimable, plan.Totals.Inputs)
	// Output:
	// ann@acme.example Delayed [Meetings] deactivated: true purged: 2026-04-01
	// usr_nobody refused: claim: user "usr_nobody": not found
	// 1 of 2 claimable
}
