package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
	"github.com/claimkit/claim/internal/pgtest"
	"github.com/claimkit/claim/postgres"
)

// tableCount returns how many tables the pool's schema has.
func tableCount(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// pgWorld migrates the schema and fills it: org acme with acme.example
// verified, and three users of a personal org on that domain, claimable.
func pgWorld(t *testing.T, pool *pgxpool.Pool) *claim.Service {
	t.Helper()
	ctx := t.Context()
	st := postgres.New(pool)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dns := claimtest.NewResolver()
	svc, err := claim.New(st, claim.WithResolver(dns))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateOrg(ctx, claim.Org{ID: "home", Name: "Home", Kind: claim.Individual}); err != nil {
		t.Fatal(err)
	}
	tok, err := svc.StartDomainVerification(ctx, "acme", "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	dns.Set("acme.example", tok)
	if err := svc.ConfirmDomain(ctx, "acme", "acme.example"); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"ann@acme.example", "bob@acme.example", "cy@acme.example"} {
		if _, err := svc.AddUser(ctx, "home", claim.NewUser{Email: e}); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// eventCount returns the number of events in the log.
func eventCount(t *testing.T, svc *claim.Service) int {
	t.Helper()
	n := 0
	for _, err := range svc.Events(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// inOrg returns how many of the org's users there are.
func inOrg(t *testing.T, svc *claim.Service, org claim.OrgID) int {
	t.Helper()
	n := 0
	for _, err := range svc.Users(t.Context(), org) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestPostgresNeedsMode: with -postgres and neither -export nor -import,
// bulkclaim prints its usage, exits 2 and changes nothing: a fresh schema
// stays empty (not even migrated), a filled one keeps its users and log.
func TestPostgresNeedsMode(t *testing.T) {
	dsn, pool := pgtest.Schema(t, "bulkclaim")
	for _, args := range [][]string{{"-postgres", dsn}, {"-postgres", dsn, "-acknowledge"}, {"-postgres", dsn, "-acknowledge", "-migrate"}} {
		out, errOut, err := runIn(t, t.TempDir(), args...)
		if exitCode(err) != 2 || out != "" || !strings.Contains(errOut, "usage: bulkclaim") {
			t.Errorf("run(%q) = %v (exit %d), stdout %q, stderr %q; want the usage and exit 2", args, err, exitCode(err), out, errOut)
		}
	}
	if n := tableCount(t, pool); n != 0 {
		t.Errorf("the fresh schema has %d tables after the refused runs, want none", n)
	}

	svc := pgWorld(t, pool)
	events := eventCount(t, svc)
	if _, _, err := runIn(t, t.TempDir(), "-postgres", dsn, "-org", "acme", "-acknowledge"); exitCode(err) != 2 {
		t.Errorf("run(-postgres, -acknowledge) = %v, want exit 2", err)
	}
	if got := eventCount(t, svc); got != events {
		t.Errorf("events after the refused run = %d, want %d (nothing changed)", got, events)
	}
	if n := inOrg(t, svc, "acme"); n != 0 {
		t.Errorf("acme has %d users after the refused run, want 0", n)
	}
}

// TestPostgresImportNeedsAcknowledge: an import without -acknowledge, a
// dry run included, claims nobody; with it the same file claims.
func TestPostgresImportNeedsAcknowledge(t *testing.T) {
	dsn, pool := pgtest.Schema(t, "bulkclaim")
	svc := pgWorld(t, pool)
	dir := t.TempDir()
	if _, errOut, err := runIn(t, dir, "-postgres", dsn, "-org", "acme", "-export", "c.csv"); err != nil {
		t.Fatalf("export = %v\n%s", err, errOut)
	}
	events := eventCount(t, svc)
	for _, args := range [][]string{{"-import", "c.csv"}, {"-import", "c.csv", "-dry-run"}} {
		_, _, err := runIn(t, dir, append([]string{"-postgres", dsn, "-org", "acme"}, args...)...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "-acknowledge") {
			t.Errorf("run(%q) = %v (exit %d), want a usage error naming -acknowledge", args, err, exitCode(err))
		}
	}
	if got := eventCount(t, svc); got != events {
		t.Errorf("events after imports without -acknowledge = %d, want %d", got, events)
	}
	if n := inOrg(t, svc, "acme"); n != 0 {
		t.Errorf("acme has %d users after imports without -acknowledge, want 0", n)
	}
	out, errOut, err := runIn(t, dir, "-postgres", dsn, "-org", "acme", "-import", "c.csv", "-acknowledge")
	if err != nil {
		t.Fatalf("import -acknowledge = %v\n%s", err, errOut)
	}
	if n := inOrg(t, svc, "acme"); n != 3 || count(t, out, "claimed") != 3 {
		t.Errorf("acme has %d users after the acknowledged import, want 3:\n%s", n, out)
	}
}

// TestPostgresMigrateOnlyWhenAsked: an export from a schema nobody
// migrated fails, saying -migrate would migrate it, and creates nothing;
// with -migrate it migrates and exports.
func TestPostgresMigrateOnlyWhenAsked(t *testing.T) {
	dsn, pool := pgtest.Schema(t, "bulkclaim")
	dir := t.TempDir()
	_, _, err := runIn(t, dir, "-postgres", dsn, "-org", "acme", "-export", "c.csv")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "-migrate") {
		t.Errorf("export from an unmigrated schema = %v (exit %d), want a failure naming -migrate", err, exitCode(err))
	}
	if n := tableCount(t, pool); n != 0 {
		t.Errorf("the schema has %d tables after an export without -migrate, want none", n)
	}
	_, _, err = runIn(t, dir, "-postgres", dsn, "-org", "acme", "-export", "c.csv", "-migrate")
	if !errors.Is(err, claim.ErrNotFound) { // migrated, and then no org acme
		t.Errorf("export -migrate = %v, want ErrNotFound for the org once migrated", err)
	}
	if n := tableCount(t, pool); n == 0 {
		t.Error("the schema has no tables after -migrate")
	}
}
