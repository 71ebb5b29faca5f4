package claim_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/postgres"
)

// smPostgresChecks is the number of rapid checks TestStateMachinePostgres
// runs when the caller does not choose: fewer than the memory store's
// smMinChecks, because every step of the machine is a few round trips to
// the server (about a second per check under -race), and the test should
// take well under a minute. The conformance suite's own model-based test
// (storetest) covers the store itself; this one covers the engine on it.
const smPostgresChecks = 30

// TestStateMachinePostgres runs the state machine of TestStateMachine on
// the PostgreSQL store (see the postgres package's tests for the
// environment): one store in a schema of its own, emptied before each
// check. It skips when CLAIM_POSTGRES_DSN is unset or the server cannot
// be reached, and fails instead when CLAIM_REQUIRE_POSTGRES=1.
func TestStateMachinePostgres(t *testing.T) {
	store, empty := smPostgresStore(t)
	smRun(t, smPostgresChecks, func(tb testing.TB) claim.Store {
		empty(tb)
		return store
	})
}

// smPostgresStore returns a migrated PostgreSQL store in a new schema, and
// a function that empties it: no orgs, domains, users, events or
// BroadWorks records, and the event sequence back at 1. The schema is dropped when the test ends.
func smPostgresStore(t *testing.T) (*postgres.Store, func(testing.TB)) {
	t.Helper()
	dsn := os.Getenv("CLAIM_POSTGRES_DSN")
	require := os.Getenv("CLAIM_REQUIRE_POSTGRES") == "1"
	if dsn == "" {
		if require {
			t.Fatal("CLAIM_REQUIRE_POSTGRES=1 but CLAIM_POSTGRES_DSN is not set")
		}
		t.Skip("CLAIM_POSTGRES_DSN is not set; skipping the PostgreSQL tests")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	admin, err := pgxpool.New(ctx, dsn)
	if err == nil {
		if err = admin.Ping(ctx); err != nil {
			admin.Close()
		}
	}
	if err != nil {
		if require {
			t.Fatalf("PostgreSQL at CLAIM_POSTGRES_DSN cannot be reached: %v", err)
		}
		t.Skipf("PostgreSQL at CLAIM_POSTGRES_DSN cannot be reached: %v", err)
	}
	t.Cleanup(admin.Close)

	var b [8]byte
	_, _ = crand.Read(b[:])
	schema := "claimtest_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("CREATE SCHEMA %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	store, err := postgres.Open(ctx, smWithSearchPath(dsn, schema))
	if err != nil {
		t.Fatalf("postgres.Open() = %v", err)
	}
	t.Cleanup(store.Close) // before the schema is dropped
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("Migrate() = %v", err)
	}

	var tables []string
	for _, name := range []string{"orgs", "domains", "users", "events", "bw_enterprises", "bw_subscribers", "bw_org_profiles", "sites", "site_access"} {
		tables = append(tables, pgx.Identifier{schema, name}.Sanitize())
	}
	// RESTART IDENTITY also restarts events_seq, which events.seq owns.
	truncate := "TRUNCATE " + strings.Join(tables, ", ") + " RESTART IDENTITY"
	return store, func(tb testing.TB) {
		tb.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, truncate); err != nil {
			tb.Fatalf("emptying the store: %v", err)
		}
	}
}

// smWithSearchPath returns dsn with its search_path set to schema.
func smWithSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}
