package postgres_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/postgres"
)

// logBuffer collects a JSON slog handler's records; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// logger returns a logger writing every level to b.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records returns the records logged so far with message msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var rs []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			rs = append(rs, r)
		}
	}
	return rs
}

// migrateLogged opens a store on dsn with a logger, migrates it and
// returns the store and the log.
func migrateLogged(t *testing.T, dsn string) (*postgres.Store, *logBuffer) {
	t.Helper()
	log := &logBuffer{}
	s, err := postgres.Open(t.Context(), dsn, postgres.WithLogger(log.logger()))
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() = %v, want nil", err)
	}
	return s, log
}

// appliedVersions returns the versions of the "migration applied" records.
func appliedVersions(t *testing.T, log *logBuffer) []int32 {
	t.Helper()
	var vs []int32
	for _, r := range log.records(t, "postgres store: migration applied") {
		vs = append(vs, int32(r["version"].(float64)))
	}
	return vs
}

// TestMigrateBesideGolangMigrate: a schema where golang-migrate keeps its
// schema_migrations table (version bigint, dirty boolean) is migrated
// cleanly, and golang-migrate's table keeps its shape and its rows.
func TestMigrateBesideGolangMigrate(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	admin := adminPool(t)
	other := qualified(schema, "schema_migrations")
	if _, err := admin.Exec(t.Context(), `CREATE TABLE `+other+` (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(t.Context(), `INSERT INTO `+other+` VALUES (20240101120000, false)`); err != nil {
		t.Fatal(err)
	}

	s, log := migrateLogged(t, dsn)
	if err := s.Migrate(t.Context()); err != nil { // and again: nothing to do
		t.Fatalf("Migrate() a second time = %v, want nil", err)
	}

	want := slices.Sorted(slices.Values(append(slices.Clone(wantTables), "schema_migrations")))
	if d := cmp.Diff(want, tables(t, schema)); d != "" {
		t.Errorf("tables mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantVersions, migrationsApplied(t, schema)); d != "" {
		t.Errorf("claim_schema_migrations mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantVersions, appliedVersions(t, log)); d != "" {
		t.Errorf("logged migrations mismatch (-want +got):\n%s", d)
	}
	if n := len(log.records(t, "postgres store: renamed the migrations table")); n != 0 {
		t.Errorf("logged %d renames of golang-migrate's table, want none", n)
	}
	if n := len(log.records(t, "postgres store: schema up to date")); n != 1 {
		t.Errorf("logged %d 'schema up to date', want 1 (the second Migrate)", n)
	}

	type row struct {
		Version int64
		Dirty   bool
	}
	rows, _ := admin.Query(t.Context(), `SELECT version, dirty FROM `+other)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatalf("reading golang-migrate's table: %v", err)
	}
	if d := cmp.Diff([]row{{20240101120000, false}}, got); d != "" {
		t.Errorf("golang-migrate's rows mismatch (-want +got):\n%s", d)
	}
	rows, _ = admin.Query(t.Context(), `SELECT column_name::text || ' ' || data_type::text FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'schema_migrations' ORDER BY ordinal_position`, schema)
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"version bigint", "dirty boolean"}, cols); d != "" {
		t.Errorf("golang-migrate's columns mismatch (-want +got):\n%s", d)
	}
	mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(user("u1", "ann@x.com", "acme")) })
}

// TestMigrateRenamesLegacyTable: a schema an older build migrated, whose
// table is schema_migrations, is renamed to claim_schema_migrations with
// its rows, and only the newer migrations are applied.
func TestMigrateRenamesLegacyTable(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	old, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	t.Cleanup(old.Close)
	if err := postgres.MigrateTo(t.Context(), old, 2); err != nil {
		t.Fatalf("MigrateTo(2) = %v, want nil", err)
	}
	mustUpdate(t, old, func(tx claim.Tx) error { return tx.CreateUser(user("u1", "ann@x.com", "acme")) })
	// What an older build left: the same table under its old name.
	admin := adminPool(t)
	if _, err := admin.Exec(t.Context(), `ALTER TABLE `+qualified(schema, "claim_schema_migrations")+` RENAME TO schema_migrations;
		ALTER INDEX `+qualified(schema, "claim_schema_migrations_pkey")+` RENAME TO schema_migrations_pkey`); err != nil {
		t.Fatal(err)
	}
	var before time.Time
	if err := admin.QueryRow(t.Context(), `SELECT applied_at FROM `+qualified(schema, "schema_migrations")+` WHERE version = 1`).Scan(&before); err != nil {
		t.Fatal(err)
	}

	s, log := migrateLogged(t, dsn)

	if d := cmp.Diff(wantTables, tables(t, schema)); d != "" {
		t.Errorf("tables mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantVersions, migrationsApplied(t, schema)); d != "" {
		t.Errorf("claim_schema_migrations mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantVersions[2:], appliedVersions(t, log)); d != "" {
		t.Errorf("migrations applied after the rename mismatch (-want +got):\n%s", d)
	}
	if n := len(log.records(t, "postgres store: renamed the migrations table")); n != 1 {
		t.Errorf("logged %d renames, want 1", n)
	}
	var after time.Time
	if err := admin.QueryRow(t.Context(), `SELECT applied_at FROM `+qualified(schema, "claim_schema_migrations")+` WHERE version = 1`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if !after.Equal(before) {
		t.Errorf("version 1 applied_at = %v after the rename, want %v kept", after, before)
	}
	var idx int
	if err := admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'claim_schema_migrations_pkey'`, schema).Scan(&idx); err != nil || idx != 1 {
		t.Errorf("claim_schema_migrations_pkey: %d indexes, %v; want the renamed primary key", idx, err)
	}
	mustHaveUser(t, s, "u1", "the user kept after the upgrade")
}

// TestMigrationsFS applies the files of postgres.Migrations by hand, as
// another tool would (in order, one transaction each), and finds the
// schema Migrate makes, and a store that works on it.
func TestMigrationsFS(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	fsys := postgres.Migrations()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	// One file per version, NNNN_name.sql, in version order.
	if len(names) != len(wantVersions) || names[0] != "0001_initial.sql" {
		t.Fatalf("Migrations() files = %v, want %d starting with 0001_initial.sql", names, len(wantVersions))
	}
	for i, name := range names {
		if want := fmt.Sprintf("%04d_", wantVersions[i]); !strings.HasPrefix(name, want) {
			t.Errorf("Migrations() file %d = %s, want a name starting with %s", i, name, want)
		}
	}
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, name := range names {
		sql, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(t.Context(), string(sql))
			return err
		}); err != nil {
			t.Fatalf("applying %s: %v", name, err)
		}
	}
	want := slices.DeleteFunc(slices.Clone(wantTables), func(s string) bool { return s == "claim_schema_migrations" })
	if d := cmp.Diff(want, tables(t, schema)); d != "" {
		t.Errorf("tables mismatch (-want +got):\n%s", d)
	}
	s := postgres.New(pool)
	mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(user("u1", "ann@x.com", "acme")) })
	mustHaveUser(t, s, "u1", "the user, on a schema migrated from Migrations()")
}

// TestMigrateLogsFailure: a migration that fails is logged at level Error
// with its version, Migrate returns its error, and nothing of it is
// recorded.
func TestMigrateLogsFailure(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	// A table of the same name as the first migration's makes it fail.
	if _, err := adminPool(t).Exec(t.Context(), `CREATE TABLE `+qualified(schema, "orgs")+` (x int)`); err != nil {
		t.Fatal(err)
	}
	log := &logBuffer{}
	s, err := postgres.Open(t.Context(), dsn, postgres.WithLogger(log.logger()))
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(t.Context()); err == nil || !strings.Contains(err.Error(), "0001_initial.sql") {
		t.Fatalf("Migrate() = %v, want the error of 0001_initial.sql", err)
	}
	rs := log.records(t, "postgres store: migration failed")
	if len(rs) != 1 || rs[0]["level"] != "ERROR" || rs[0]["version"] != float64(1) || rs[0]["error"] == "" {
		t.Errorf("failure records = %v, want one ERROR record of version 1 with the error", rs)
	}
	if vs := appliedVersions(t, log); len(vs) != 0 {
		t.Errorf("logged as applied: %v, want none", vs)
	}
	if vs := migrationsApplied(t, schema); len(vs) != 0 {
		t.Errorf("claim_schema_migrations = %v after the failure, want empty", vs)
	}
}

// TestRetryIsLogged: a transaction run again after a serialization
// failure is logged at level Debug through the logger of the context
// (the service's), with its attempt and SQLSTATE; one that commits at
// once logs nothing.
func TestRetryIsLogged(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	log := &logBuffer{}
	ctx := claim.ContextWithLogger(t.Context(), log.logger())
	calls := 0
	err := s.Update(ctx, func(tx claim.Tx) error {
		calls++
		if calls == 1 {
			return postgres.Exec(tx, raise("40001"))
		}
		return tx.CreateOrg(claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise})
	})
	if err != nil || calls != 2 {
		t.Fatalf("Update() = %v after %d calls, want nil after 2", err, calls)
	}
	rs := log.records(t, "postgres store: transaction retried")
	if len(rs) != 1 || rs[0]["level"] != "DEBUG" || rs[0]["sqlstate"] != "40001" || rs[0]["attempt"] != float64(2) {
		t.Errorf("retry records = %v, want one DEBUG record of attempt 2 with sqlstate 40001", rs)
	}
	mustUpdate(t, s, func(tx claim.Tx) error { return nil })
	err = s.Update(ctx, func(tx claim.Tx) error {
		return tx.CreateOrg(claim.Org{ID: "beta", Name: "Beta", Kind: claim.Enterprise})
	})
	if err != nil {
		t.Fatal(err)
	}
	if rs := log.records(t, "postgres store: transaction retried"); len(rs) != 1 {
		t.Errorf("retry records after a transaction that committed at once = %v, want still one", rs)
	}
}
