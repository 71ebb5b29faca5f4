package claim_test

import (
	"context"
	"fmt"

	"github.com/claimkit/claim"
)

// A console lists Acme's users two at a time: each page's Next is the
// cursor of the following one, and an empty Next ends the listing. A
// page costs what it holds, however far into the listing it is.
func ExampleService_UsersPage() {
	ctx := context.Background()
	svc, err := claim.New(claim.NewMemoryStore())
	if err != nil {
		panic(err)
	}
	if _, err := svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
		panic(err)
	}
	for _, email := range []string{"eve@acme.example", "ann@acme.example", "dan@acme.example", "bob@acme.example", "cat@acme.example"} {
		if _, err := svc.AddUser(ctx, "acme", claim.NewUser{Email: email}); err != nil {
			panic(err)
		}
	}

	opts := claim.ListOptions{Limit: 2}
	for {
		page, err := svc.UsersPage(ctx, "acme", opts)
		if err != nil {
			panic(err)
		}
		for _, u := range page.Items {
			fmt.Print(u.Email, " ")
		}
		fmt.Printf("| next %q\n", page.Next)
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	// Output:
	// ann@acme.example bob@acme.example | next "bob@acme.example"
	// cat@acme.example dan@acme.example | next "dan@acme.example"
	// eve@acme.example | next ""
}
