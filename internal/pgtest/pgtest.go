// Package pgtest gives the module's tests outside the postgres package a
// PostgreSQL schema of their own, on the server CLAIM_POSTGRES_DSN names.
package pgtest

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema creates a schema named prefix_<random hex> in the database of
// CLAIM_POSTGRES_DSN, dropped when the test ends, and returns a DSN
// whose search_path is it and a pool on that DSN, closed when the test
// ends. It skips the test when CLAIM_POSTGRES_DSN is unset, and fails it
// instead when CLAIM_REQUIRE_POSTGRES=1.
func Schema(tb testing.TB, prefix string) (dsn string, pool *pgxpool.Pool) {
	tb.Helper()
	base := os.Getenv("CLAIM_POSTGRES_DSN")
	if base == "" {
		if os.Getenv("CLAIM_REQUIRE_POSTGRES") == "1" {
			tb.Fatal("CLAIM_REQUIRE_POSTGRES=1 but CLAIM_POSTGRES_DSN is not set")
		}
		tb.Skip("CLAIM_POSTGRES_DSN is not set; skipping the PostgreSQL tests")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("CLAIM_POSTGRES_DSN is not a URL: %v", err)
	}
	var b [8]byte
	_, _ = crand.Read(b[:])
	schema := prefix + "_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(tb.Context(), base)
	if err != nil {
		tb.Fatalf("connecting to %s: %v", base, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			_ = c.Close(ctx)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn = u.String()
	pool, err = pgxpool.New(tb.Context(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return dsn, pool
}
