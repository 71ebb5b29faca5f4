package claim_test

import (
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

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
