package claimtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// A test of code that uses the library: the fake resolver answers the
// domain check, the fake clock makes the 14-day window pass at once, and
// CmpOptions compares what a store returns with what the test expects.
func Example() {
	ctx := context.Background()
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		panic(err)
	}
	if _, err := svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
		panic(err)
	}
	token, err := svc.StartDomainVerification(ctx, "acme", "acme.example")
	if err != nil {
		panic(err)
	}
	dns.Set("acme.example", token) // the TXT record the admin would publish
	fmt.Println("domain confirmed:", svc.ConfirmDomain(ctx, "acme", "acme.example"))

	ann, err := svc.AddUser(ctx, "acme", claim.NewUser{Email: "ann@acme.example"})
	if err != nil {
		panic(err)
	}
	want := claim.User{ID: ann.ID, Email: "ann@acme.example", DisplayName: ann.DisplayName, Org: "acme",
		State: claim.Verified, CreatedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	got, err := svc.User(ctx, ann.ID)
	fmt.Printf("diff: %q, err: %v\n", cmp.Diff(want, got, claimtest.CmpOptions()), err)

	clock.Advance(14 * 24 * time.Hour)
	fmt.Println("now:", clock.Now().Format(time.DateOnly))
	// Output:
	// domain confirmed: <nil>
	// diff: "", err: <nil>
	// now: 2026-03-16
}
