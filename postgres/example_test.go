package postgres_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/postgres"
)

// A service on PostgreSQL: open a pool on the DSN, bring the schema up to
// date, and hand the store to claim.New. (This example needs a server, so
// it is compiled but not run; the package's tests run the same steps.)
func ExampleOpen() {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	store, err := postgres.Open(ctx, "postgres://app@db.internal:5432/claims?sslmode=verify-full",
		postgres.WithLogger(logger))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}
	svc, err := claim.New(store, claim.WithLogger(logger))
	if err != nil {
		panic(err)
	}
	org, err := svc.CreateOrg(ctx, claim.Org{Name: "Acme", Kind: claim.Enterprise})
	if err != nil {
		panic(err)
	}
	logger.Info("org created", "org", org.ID)
}
