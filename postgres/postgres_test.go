package postgres_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
	"github.com/claimkit/claim/postgres"
	"github.com/claimkit/claim/storetest"
)

// The environment of the tests: the DSN of a database in which they may
// create and drop schemas, whether its absence fails them, and whether
// the DSN leads to a pooler in transaction mode (PgBouncer, as .ci/run
// starts it), which keeps no session state between transactions.
const (
	envDSN     = "CLAIM_POSTGRES_DSN"
	envRequire = "CLAIM_REQUIRE_POSTGRES"
	envPooler  = "CLAIM_POSTGRES_TXPOOLER"
)

// behindPooler reports whether the tests run through a transaction-mode
// pooler.
func behindPooler() bool { return os.Getenv(envPooler) == "1" }

// skipBehindPooler skips a test of what a pooler cannot pass on, when
// the tests run through one; the direct run of .ci/run runs it.
func skipBehindPooler(t *testing.T, why string) {
	t.Helper()
	if behindPooler() {
		t.Skipf("behind a transaction-mode pooler: %s", why)
	}
}

// admin is a pool on the test database without a schema of the tests,
// for creating, inspecting and dropping them. Shared by all tests.
var admin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if admin.pool != nil {
		admin.pool.Close()
	}
	os.Exit(code)
}

// baseDSN returns the DSN of the test database. It skips the test when
// none is set, and fails it instead when CLAIM_REQUIRE_POSTGRES=1.
func baseDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		if os.Getenv(envRequire) == "1" {
			tb.Fatalf("%s=1 but %s is not set", envRequire, envDSN)
		}
		tb.Skipf("%s is not set; skipping the PostgreSQL tests", envDSN)
	}
	return dsn
}

// adminPool returns the admin pool. It skips the test when the server
// cannot be reached, and fails it instead when CLAIM_REQUIRE_POSTGRES=1.
func adminPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dsn := baseDSN(tb)
	admin.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		p, err := pgxpool.New(ctx, dsn)
		if err == nil {
			if err = p.Ping(ctx); err != nil {
				p.Close()
			}
		}
		admin.pool, admin.err = p, err
	})
	if admin.err != nil {
		if os.Getenv(envRequire) == "1" {
			tb.Fatalf("PostgreSQL at %s cannot be reached: %v", envDSN, admin.err)
		}
		tb.Skipf("PostgreSQL at %s cannot be reached: %v", envDSN, admin.err)
	}
	return admin.pool
}

// withParam returns dsn with the connection parameter key set to value.
func withParam(dsn, key, value string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "='" + strings.ReplaceAll(value, "'", `\'`) + "'"
}

// createSchema creates a schema with a random name and returns the name
// and a DSN whose search_path is it. The caller drops it.
func createSchema(tb testing.TB) (schema, dsn string) {
	tb.Helper()
	pool := adminPool(tb)
	var b [8]byte
	_, _ = crand.Read(b[:])
	schema = "claimtest_" + hex.EncodeToString(b[:])
	if behindPooler() {
		// A transaction-mode pooler (PgBouncer 1.18) passes on no
		// search_path: the schema is the default one of a role of its
		// own, which the store connects as.
		_, err := pool.Exec(context.Background(), fmt.Sprintf(`CREATE ROLE %[1]s LOGIN;
			CREATE SCHEMA %[1]s AUTHORIZATION %[1]s;
			ALTER ROLE %[1]s SET search_path = %[1]s`, schema))
		if err != nil {
			tb.Fatalf("CREATE ROLE and SCHEMA %s: %v", schema, err)
		}
		return schema, withParam(baseDSN(tb), "user", schema)
	}
	if _, err := pool.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("CREATE SCHEMA %s: %v", schema, err)
	}
	return schema, withParam(baseDSN(tb), "search_path", schema)
}

// dropSchema drops the schema and everything in it.
func dropSchema(tb testing.TB, schema string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adminPool(tb).Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		tb.Errorf("DROP SCHEMA %s: %v", schema, err)
	}
	if behindPooler() {
		// The pooler may still hold server connections of the role;
		// a role left behind holds nothing.
		_, _ = adminPool(tb).Exec(ctx, "DROP ROLE IF EXISTS "+schema)
	}
}

// newSchema creates a schema that is dropped when the test ends, and
// returns its name and a DSN whose search_path is it.
func newSchema(tb testing.TB) (schema, dsn string) {
	tb.Helper()
	schema, dsn = createSchema(tb)
	tb.Cleanup(func() { dropSchema(tb, schema) })
	return schema, dsn
}

// open opens a store on dsn and migrates it; the store is closed when
// the test ends.
func open(tb testing.TB, dsn string) *postgres.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("Open() = %v, want nil", err)
	}
	tb.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("Migrate() = %v, want nil", err)
	}
	return s
}

// newStore returns a migrated store in a schema of its own, both gone
// when the test ends.
func newStore(tb testing.TB) (*postgres.Store, string) {
	tb.Helper()
	schema, dsn := newSchema(tb)
	return open(tb, dsn), schema
}

// qualified returns the table's name in the schema, quoted.
func qualified(schema, table string) string {
	return pgx.Identifier{schema, table}.Sanitize()
}

// verifyDomain has org verify the domain through the static resolver.
func verifyDomain(tb testing.TB, svc *claim.Service, dns *claimtest.Resolver, org claim.OrgID, domain string) {
	tb.Helper()
	tok, err := svc.StartDomainVerification(tb.Context(), org, domain)
	if err != nil {
		tb.Fatalf("StartDomainVerification(%s, %s) = %v, want nil", org, domain, err)
	}
	dns.Set(domain, tok)
	if err := svc.ConfirmDomain(tb.Context(), org, domain); err != nil {
		tb.Fatalf("ConfirmDomain(%s, %s) = %v, want nil", org, domain, err)
	}
}

func mustUpdate(t *testing.T, s claim.Store, fn func(tx claim.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update() = %v, want nil", err)
	}
}

func mustView(t *testing.T, s claim.Store, fn func(tx claim.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View() = %v, want nil", err)
	}
}

// mustHaveUser fails the test unless a View finds the user with the id;
// want says what it should be, for the message.
func mustHaveUser(t *testing.T, s claim.Store, id claim.UserID, want string) {
	t.Helper()
	mustView(t, s, func(tx claim.Tx) error {
		if _, err := tx.User(id); err != nil {
			t.Errorf("User(%s) = %v; want %s", id, err, want)
		}
		return nil
	})
}

// user returns a valid user.
func user(id claim.UserID, email string, org claim.OrgID) claim.User {
	return claim.User{ID: id, Email: email, Org: org, State: claim.Active, Licenses: []string{"messaging"}}
}

// pgCode returns the SQLSTATE of the *pgconn.PgError in err's chain, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// TestConformance runs the conformance suite, each store in a fresh
// schema, with pgx's default query exec mode (named statements, cached
// per connection).
func TestConformance(t *testing.T) {
	t.Parallel()
	adminPool(t)
	storetest.Run(t, conformingStores(""))
}

// TestConformanceQueryExecModes runs the conformance suite with each
// query exec mode the package documentation names for a pooler, where
// pgx sends statements without preparing them: exec and simple_protocol,
// where pgx does not learn the parameters' types from the server and
// encodes each argument by its Go type. (The run through PgBouncer in
// .ci/run uses cache_describe.) The model-based subtest, whose hundred
// random histories take most of the suite's time, runs in
// TestConformance only: the modes differ in how pgx sends a statement's
// arguments, and the other subtests send every statement of the store.
func TestConformanceQueryExecModes(t *testing.T) {
	t.Parallel()
	adminPool(t)
	for _, mode := range []string{"exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, conformingStores(mode))
		})
	}
}

// conformingStores returns storetest.Run's newStore: a store in a fresh
// schema, with the query exec mode (pgx's default if ""). With a mode,
// it skips the model-based subtest, before making anything (see
// TestConformanceQueryExecModes). The model-based subtest asks for a
// store per rapid check on the same *testing.T; the previous one is then
// closed and its schema dropped at once, so that a hundred checks do not
// hold a hundred pools.
func conformingStores(mode string) func(t *testing.T) claim.Store {
	var mu sync.Mutex
	release := map[*testing.T]func(){}
	return func(t *testing.T) claim.Store {
		if mode != "" && strings.HasSuffix(t.Name(), "/Model") {
			t.Skip("the model-based subtest runs in TestConformance")
		}
		mu.Lock()
		prev := release[t]
		mu.Unlock()
		if prev != nil {
			prev()
		}
		schema, dsn := createSchema(t)
		if mode != "" {
			dsn = withParam(dsn, "default_query_exec_mode", mode)
		}
		var once sync.Once
		var s *postgres.Store
		drop := func() {
			once.Do(func() {
				if s != nil {
					s.Close()
				}
				dropSchema(t, schema)
			})
		}
		t.Cleanup(drop)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		if s, err = postgres.Open(ctx, dsn); err != nil {
			t.Fatalf("Open() = %v, want nil", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate() = %v, want nil", err)
		}
		mu.Lock()
		release[t] = drop
		mu.Unlock()
		return s
	}
}

// tables lists the tables of the schema.
func tables(t *testing.T, schema string) []string {
	t.Helper()
	rows, _ := adminPool(t).Query(t.Context(),
		`SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	return names
}

// migrationsApplied returns the versions claim_schema_migrations lists.
func migrationsApplied(t *testing.T, schema string) []int32 {
	t.Helper()
	rows, _ := adminPool(t).Query(t.Context(), `SELECT version FROM `+qualified(schema, "claim_schema_migrations")+` ORDER BY 1`)
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatalf("reading claim_schema_migrations: %v", err)
	}
	return vs
}

var wantTables = []string{"bw_enterprises", "bw_org_profiles", "bw_subscribers", "claim_leases", "claim_schema_migrations", "domains", "events", "orgs", "site_access", "sites", "users"}

// wantVersions are the versions of the embedded migrations.
var wantVersions = []int32{1, 2, 3, 4, 5, 6, 7}

// indexes lists the indexes of the schema's users table.
func indexes(t *testing.T, schema string) []string {
	t.Helper()
	rows, _ := adminPool(t).Query(t.Context(),
		`SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND tablename = 'users' ORDER BY 1`, schema)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("listing indexes: %v", err)
	}
	return names
}

// TestMigrateFromVersion1: a schema that an older build left at version 1,
// with data in it, is brought to the latest version by Migrate, once; the
// data stays and the new index serves InactiveUsers.
func TestMigrateFromVersion1(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	t.Cleanup(s.Close)
	if err := postgres.MigrateTo(t.Context(), s, 1); err != nil {
		t.Fatalf("MigrateTo(1) = %v, want nil", err)
	}
	if d := cmp.Diff([]int32{1}, migrationsApplied(t, schema)); d != "" {
		t.Fatalf("schema_migrations at version 1 mismatch (-want +got):\n%s", d)
	}
	if slices.Contains(indexes(t, schema), "users_inactive_idx") {
		t.Fatalf("users_inactive_idx exists at version 1")
	}
	u := user("u1", "ann@x.com", "acme")
	u.State, u.InactiveSince = claim.Inactive, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(u) })
	for i := range 2 { // the second Migrate finds nothing to do
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate() #%d from version 1 = %v, want nil", i+1, err)
		}
		if d := cmp.Diff(wantVersions, migrationsApplied(t, schema)); d != "" {
			t.Errorf("schema_migrations after Migrate() #%d mismatch (-want +got):\n%s", i+1, d)
		}
	}
	if !slices.Contains(indexes(t, schema), "users_inactive_idx") {
		t.Errorf("indexes after Migrate() = %v, want users_inactive_idx among them", indexes(t, schema))
	}
	mustView(t, s, func(tx claim.Tx) error {
		got, err := tx.InactiveUsers(u.InactiveSince, 10)
		if err != nil || len(got) != 1 || got[0].ID != "u1" {
			t.Errorf("InactiveUsers() after migrating = %v, %v; want u1", got, err)
		}
		return nil
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	s, schema := newStore(t) // migrated once
	mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(user("u1", "ann@x.com", "acme")) })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() a second time = %v, want nil", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() a third time = %v, want nil", err)
	}
	if d := cmp.Diff(wantTables, tables(t, schema)); d != "" {
		t.Errorf("tables mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantVersions, migrationsApplied(t, schema)); d != "" {
		t.Errorf("schema_migrations mismatch (-want +got):\n%s", d)
	}
	if !slices.Contains(indexes(t, schema), "users_inactive_idx") {
		t.Errorf("indexes = %v, want users_inactive_idx among them", indexes(t, schema))
	}
	mustHaveUser(t, s, "u1", "the user kept after migrating again")
}

// TestMigrateConcurrently migrates a fresh schema from four stores, as
// four processes would, at once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	const n = 4
	stores := make([]*postgres.Store, n)
	for i := range stores {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("Open() = %v, want nil", err)
		}
		t.Cleanup(s.Close)
		stores[i] = s
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate() in goroutine %d = %v, want nil", i, err)
		}
	}
	if d := cmp.Diff(wantTables, tables(t, schema)); d != "" {
		t.Errorf("tables mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantVersions, migrationsApplied(t, schema)); d != "" {
		t.Errorf("schema_migrations mismatch (-want +got):\n%s", d)
	}
	for i, s := range stores {
		id := claim.UserID(fmt.Sprint("u", i))
		mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(user(id, string(id)+"@x.com", "acme")) })
	}
}

func TestMigrateWithoutSchema(t *testing.T) {
	t.Parallel()
	skipBehindPooler(t, "it sets search_path in the DSN, a startup parameter PgBouncer 1.18 refuses")
	adminPool(t)
	s, err := postgres.Open(t.Context(), withParam(baseDSN(t), "search_path", "claimtest_does_not_exist"))
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Errorf("Migrate() with no schema = %v, want an error saying no schema exists", err)
	}
}

// TestOpenHonoursSearchPath opens stores with the search_path set in the
// two ways a DSN can, and finds their tables in the schema.
func TestOpenHonoursSearchPath(t *testing.T) {
	t.Parallel()
	skipBehindPooler(t, "it sets search_path in the DSN, a startup parameter PgBouncer 1.18 refuses")
	base := baseDSN(t)
	if u, err := url.Parse(base); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skipf("%s is not a URL", envDSN)
	}
	for _, tt := range []struct {
		reason string
		dsn    func(schema string) string
	}{
		{"a search_path runtime parameter", func(schema string) string {
			return withParam(base, "search_path", schema)
		}},
		{"options=-csearch_path=…", func(schema string) string {
			return withParam(base, "options", "-csearch_path="+schema)
		}},
	} {
		t.Run(tt.reason, func(t *testing.T) {
			t.Parallel()
			schema, _ := newSchema(t)
			s := open(t, tt.dsn(schema))
			mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(user("u1", "ann@x.com", "acme")) })
			var n int
			err := adminPool(t).QueryRow(t.Context(), `SELECT count(*) FROM `+qualified(schema, "users")).Scan(&n)
			if err != nil || n != 1 {
				t.Errorf("users in schema %s = %d, %v; want 1, nil", schema, n, err)
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil {
		s.Close()
		t.Fatal("Open() of a server that is not there = nil, want an error")
	}
	if !strings.HasPrefix(err.Error(), "postgres store: open: ") {
		t.Errorf("Open() = %q, want it to start with %q", err, "postgres store: open: ")
	}
	if _, err := postgres.Open(ctx, "postgres://%zz"); err == nil {
		t.Error("Open() of a malformed DSN = nil, want an error")
	}
}

// TestConstraints writes around the store, as another program might, and
// finds the schema refusing what the store must never hold.
func TestConstraints(t *testing.T) {
	t.Parallel()
	s, schema := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error {
		if err := tx.CreateUser(user("u1", "ann@x.com", "acme")); err != nil {
			return err
		}
		return tx.PutDomain(claim.Domain{Org: "acme", Name: "x.com", Verified: true, Claimed: true})
	})
	users, domains := qualified(schema, "users"), qualified(schema, "domains")
	n := 0
	// insertUser returns an INSERT of a valid user of a new ID and address,
	// but for the columns set sets ("col=value; …").
	insertUser := func(set string) string {
		n++
		cols := map[string]string{"id": fmt.Sprintf("'r%d'", n), "email": fmt.Sprintf("'r%d@x.com'", n),
			"first_name": "''", "last_name": "''", "display_name": "''", "org_id": "'acme'", "state": "3",
			"licenses": "'{}'", "content": "0"}
		for _, kv := range strings.Split(set, ";") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				cols[strings.TrimSpace(k)] = v
			}
		}
		var names, values []string
		for k, v := range cols {
			names = append(names, k)
			values = append(values, v)
		}
		return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", users, strings.Join(names, ", "), strings.Join(values, ", "))
	}
	claimCols := "claim_by='beta'; claim_from='acme'; claim_mode=2; claim_prev_state=3; claim_signed_in=false; claim_original='o'; claim_outcome=0"
	tests := []struct {
		reason         string
		sql            string
		code           string // "": accepted
		constraintName string
	}{
		{"a new user", insertUser(""), "", ""},
		{"a new user with a pending claim", insertUser("id='u3'; email='cat@x.com'; " + claimCols), "", ""},
		{"the same address in upper case", insertUser("email='ANN@x.com'"), "23514", "users_email_lower_check"},
		{"the same address in mixed case", insertUser("email='Ann@X.com'"), "23514", "users_email_lower_check"},
		{"the same address", insertUser("email='ann@x.com'"), "23505", "users_email_key"},
		{"the same ID", insertUser("id='u1'"), "23505", "users_pkey"},
		{"state 0", insertUser("state=0"), "23514", "users_state_check"},
		{"state 6", insertUser("state=6"), "23514", "users_state_check"},
		{"negative content", insertUser("content=-1"), "23514", "users_content_check"},
		{"a claim without its claimant", insertUser(strings.Replace(claimCols, "claim_by='beta'", "claim_by=NULL", 1)), "23514", "users_claim_check"},
		{"half a claim", insertUser("claim_by='beta'; claim_mode=2"), "23514", "users_claim_check"},
		{"a deadline without a claim", insertUser("claim_deadline=1"), "23514", "users_claim_check"},
		{"a second claimant of a domain", fmt.Sprintf("INSERT INTO %s (org_id, name, token, verified, claimed) VALUES ('beta', 'x.com', '', true, true)", domains), "23505", "domains_claimant_key"},
		{"a second, unclaimed record of a domain", fmt.Sprintf("INSERT INTO %s (org_id, name, token, verified, claimed) VALUES ('gamma', 'x.com', '', true, false)", domains), "", ""},
	}
	for _, tt := range tests {
		_, err := adminPool(t).Exec(t.Context(), tt.sql)
		var pgErr *pgconn.PgError
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%s: %v, want it accepted", tt.reason, err)
		case tt.code == "":
		case !errors.As(err, &pgErr):
			t.Errorf("%s: %v, want SQLSTATE %s on %s", tt.reason, err, tt.code, tt.constraintName)
		case pgErr.Code != tt.code || pgErr.ConstraintName != tt.constraintName:
			t.Errorf("%s: SQLSTATE %s on %q, want %s on %s", tt.reason, pgErr.Code, pgErr.ConstraintName, tt.code, tt.constraintName)
		}
	}
	var domain string
	if err := adminPool(t).QueryRow(t.Context(), `SELECT domain FROM `+users+` WHERE id = 'u3'`).Scan(&domain); err != nil || domain != "x.com" {
		t.Errorf("generated domain of cat@x.com = %q, %v; want x.com", domain, err)
	}
	mustView(t, s, func(tx claim.Tx) error {
		got, err := tx.PendingClaimsBy("beta", "", 10)
		if err != nil || len(got) != 1 || got[0].ID != "u3" || got[0].Claim == nil || got[0].Claim.Mode != claim.Delayed {
			t.Errorf("PendingClaimsBy(beta) = %v, %v; want u3 with its delayed claim", got, err)
		}
		return nil
	})
}

// TestConstraintErrors checks the sentinel errors of the store: refused
// values, and violations of the schema's constraints by a statement that
// did not look first (as a concurrent writer's row makes them).
func TestConstraintErrors(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error {
		if err := tx.CreateOrg(claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
			return err
		}
		if err := tx.CreateUser(user("u1", "ann@x.com", "acme")); err != nil {
			return err
		}
		return tx.PutDomain(claim.Domain{Org: "acme", Name: "x.com", Claimed: true})
	})
	bad := func(change func(u *claim.User)) claim.User {
		u := user("u2", "bob@x.com", "acme")
		change(&u)
		return u
	}
	tests := []struct {
		reason string
		fn     func(tx claim.Tx) error
		want   error
	}{
		{"CreateUser with upper-case letters", func(tx claim.Tx) error {
			return tx.CreateUser(bad(func(u *claim.User) { u.Email = "Bob@x.com" }))
		}, claim.ErrInvalidValue},
		{"CreateUser with State 0", func(tx claim.Tx) error {
			return tx.CreateUser(bad(func(u *claim.User) { u.State = 0 }))
		}, claim.ErrInvalidValue},
		{"CreateUser with negative Content", func(tx claim.Tx) error {
			return tx.CreateUser(bad(func(u *claim.User) { u.Content = -1 }))
		}, claim.ErrInvalidValue},
		{"CreateUser with a NUL byte", func(tx claim.Tx) error {
			return tx.CreateUser(bad(func(u *claim.User) { u.FirstName = "a\x00b" }))
		}, claim.ErrInvalidValue},
		{"UpdateUser with upper-case letters", func(tx claim.Tx) error {
			return tx.UpdateUser(bad(func(u *claim.User) { u.ID = "u1"; u.Email = "ANN@x.com" }))
		}, claim.ErrInvalidValue},
		{"a raw insert of a taken address", func(tx claim.Tx) error {
			return postgres.Exec(tx, `INSERT INTO users (id, email, first_name, last_name, display_name, org_id, state, licenses, content)
				VALUES ('u9', 'ann@x.com', '', '', '', 'acme', 3, '{}', 0)`)
		}, claim.ErrEmailTaken},
		{"a raw insert of a taken ID", func(tx claim.Tx) error {
			return postgres.Exec(tx, `INSERT INTO users (id, email, first_name, last_name, display_name, org_id, state, licenses, content)
				VALUES ('u1', 'new@x.com', '', '', '', 'acme', 3, '{}', 0)`)
		}, claim.ErrDuplicate},
		{"a raw insert of a taken org ID", func(tx claim.Tx) error {
			return postgres.Exec(tx, `INSERT INTO orgs (id, name, kind, allow_content_migration, auto_licenses, directory_sync, sso, retention)
				VALUES ('acme', '', 1, false, '{}', false, false, 0)`)
		}, claim.ErrDuplicate},
		{"a raw insert of a second claimant", func(tx claim.Tx) error {
			return postgres.Exec(tx, `INSERT INTO domains (org_id, name, token, verified, claimed) VALUES ('beta', 'x.com', '', true, true)`)
		}, claim.ErrDomainClaimedByOther},
	}
	for _, tt := range tests {
		var fnErr error
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			fnErr = tt.fn(tx)
			return fnErr
		})
		if !errors.Is(fnErr, tt.want) {
			t.Errorf("%s: %v, want an error wrapping %v", tt.reason, fnErr, tt.want)
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Update() = %v, want an error wrapping %v", tt.reason, err, tt.want)
		}
		// The same failure, ignored by fn: Update must not commit.
		err = s.Update(t.Context(), func(tx claim.Tx) error {
			_ = tt.fn(tx)
			return tx.CreateOrg(claim.Org{ID: "after-" + claim.OrgID(tt.reason), Name: "x", Kind: claim.Enterprise})
		})
		if err == nil {
			t.Errorf("%s, ignored: Update() = nil, want an error", tt.reason)
		}
	}
	mustView(t, s, func(tx claim.Tx) error {
		users, err := tx.UsersByOrg("acme", "", 10)
		if err != nil || len(users) != 1 || users[0].Email != "ann@x.com" {
			t.Errorf("UsersByOrg(acme) = %v, %v; want ann@x.com alone", users, err)
		}
		for _, tt := range tests {
			if _, err := tx.Org("after-" + claim.OrgID(tt.reason)); !errors.Is(err, claim.ErrNotFound) {
				t.Errorf("%s, ignored: the Update committed", tt.reason)
			}
		}
		return nil
	})
}

// TestValuesOutOfRange: values the schema cannot hold are refused before
// they reach the database, so the transaction goes on.
func TestValuesOutOfRange(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error {
		for _, u := range []claim.User{
			func() claim.User {
				u := user("u1", "a@x.com", "o")
				u.CreatedAt = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
				return u
			}(),
			func() claim.User {
				u := user("u1", "a@x.com", "o")
				u.LastSignIn = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
				return u
			}(),
			func() claim.User { u := user("u1", "a@x.com", "o"); u.State = 1 << 20; return u }(),
		} {
			if err := tx.CreateUser(u); !errors.Is(err, claim.ErrInvalidValue) {
				t.Errorf("CreateUser(%+v) = %v, want an error wrapping %v", u, err, claim.ErrInvalidValue)
			}
		}
		err := tx.AppendEvent(claim.Event{Type: "x", At: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)})
		if !errors.Is(err, claim.ErrInvalidValue) {
			t.Errorf("AppendEvent(At in the year 1000) = %v, want an error wrapping %v", err, claim.ErrInvalidValue)
		}
		return tx.CreateUser(user("u1", "a@x.com", "o"))
	})
	mustHaveUser(t, s, "u1", "the user the transaction went on to create")
}

// TestNanoseconds: times keep their nanoseconds, come back in UTC, and
// the zero time stays zero; DueClaims compares at nanosecond precision.
func TestNanoseconds(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	zone := time.FixedZone("UTC+1", 3600)
	deadline := time.Date(2026, 3, 16, 9, 0, 0, 123456789, zone)
	u := user("u1", "ann@x.com", "acme")
	u.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 987654321, zone)
	u.ActivationSent = time.Date(1700, 1, 1, 0, 0, 0, 1, time.UTC)
	u.Claim = &claim.ClaimInfo{By: "beta", From: "acme", Mode: claim.Delayed, PrevState: claim.Active,
		At: deadline.Add(-14 * 24 * time.Hour), Deadline: deadline, Original: "u0"}
	e := claim.Event{At: u.CreatedAt, Type: claim.EventClaimCreated, Retention: 30*24*time.Hour + time.Nanosecond}
	mustUpdate(t, s, func(tx claim.Tx) error {
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		return tx.AppendEvent(e)
	})
	mustView(t, s, func(tx claim.Tx) error {
		got, err := tx.User("u1")
		if err != nil {
			return err
		}
		if d := cmp.Diff(u, got); d != "" {
			t.Errorf("User(u1) mismatch (-want +got):\n%s", d)
		}
		for name, tm := range map[string]time.Time{"CreatedAt": got.CreatedAt, "ActivationSent": got.ActivationSent,
			"Claim.At": got.Claim.At, "Claim.Deadline": got.Claim.Deadline} {
			if tm.Location() != time.UTC {
				t.Errorf("User(u1).%s = %v, want it in UTC", name, tm)
			}
		}
		if !got.LastSignIn.IsZero() || !got.Claim.Ended.IsZero() {
			t.Errorf("User(u1): LastSignIn %v, Claim.Ended %v; want zero times", got.LastSignIn, got.Claim.Ended)
		}
		for _, tt := range []struct {
			now  time.Time
			want int
		}{{deadline.Add(-time.Nanosecond), 0}, {deadline, 1}, {deadline.Add(time.Nanosecond), 1}, {time.Time{}, 0}, {time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 1}} {
			due, err := tx.DueClaims(tt.now, 10)
			if err != nil || len(due) != tt.want {
				t.Errorf("DueClaims(%v) = %d users, %v; want %d", tt.now, len(due), err, tt.want)
			}
		}
		evs, err := tx.Events(0, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Events(0) = %v, %v; want one event", evs, err)
		}
		e.Seq = 1
		if d := cmp.Diff(e, evs[0]); d != "" {
			t.Errorf("Events(0)[0] mismatch (-want +got):\n%s", d)
		}
		return nil
	})
}

// TestZeroDeadlineIsDue: a pending delayed claim whose deadline is the
// zero time is due at any instant, and first, as in the memory store.
func TestZeroDeadlineIsDue(t *testing.T) {
	t.Parallel()
	pg, _ := newStore(t)
	for _, s := range []claim.Store{claim.NewMemoryStore(), pg} {
		a, b := user("a", "a@x.com", "o"), user("b", "b@x.com", "o")
		a.Claim = &claim.ClaimInfo{By: "p", Mode: claim.Delayed, Deadline: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
		b.Claim = &claim.ClaimInfo{By: "p", Mode: claim.Delayed}
		mustUpdate(t, s, func(tx claim.Tx) error {
			if err := tx.CreateUser(a); err != nil {
				return err
			}
			return tx.CreateUser(b)
		})
		mustView(t, s, func(tx claim.Tx) error {
			for _, tt := range []struct {
				now  time.Time
				want []claim.UserID
			}{{time.Time{}, []claim.UserID{"b"}}, {time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC), []claim.UserID{"b"}}, {time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), []claim.UserID{"b", "a"}}} {
				due, err := tx.DueClaims(tt.now, 10)
				var got []claim.UserID
				for _, u := range due {
					got = append(got, u.ID)
				}
				if err != nil || !slices.Equal(got, tt.want) {
					t.Errorf("%T: DueClaims(%v) = %v, %v; want %v", s, tt.now, got, err, tt.want)
				}
			}
			return nil
		})
	}
}

// TestInactiveUsers: InactiveUsers lists the Inactive users not held by
// a claim whose InactiveSince is at or before the given instant, to the
// nanosecond, in InactiveSince order, ties by ID in byte order, a page of
// limit at a time; and so does the memory store.
func TestInactiveUsers(t *testing.T) {
	t.Parallel()
	pg, _ := newStore(t)
	before := time.Date(2026, 3, 16, 9, 0, 0, 123456789, time.UTC)
	t0 := before.Add(-24 * time.Hour)
	users := []struct {
		id     claim.UserID
		state  claim.State
		since  time.Time
		heldBy claim.OrgID
	}{
		{"a0", claim.Inactive, t0, ""},
		{"B0", claim.Inactive, t0, ""}, // "B0" < "a0" in byte order, not in most collations
		{"first", claim.Inactive, t0.Add(-time.Hour), ""},
		{"at-before", claim.Inactive, before, ""},                         // == before: listed
		{"after-before", claim.Inactive, before.Add(time.Nanosecond), ""}, // before+1ns: not listed
		{"held", claim.Inactive, t0.Add(-2 * time.Hour), "acme2"},         // held by a claim
		{"stale", claim.Active, t0.Add(-3 * time.Hour), ""},               // not Inactive
		{"zero", claim.Inactive, time.Time{}, ""},                         // zero InactiveSince
		{"suspended", claim.NotVerified, t0.Add(-4 * time.Hour), "acme3"}, // neither
	}
	want := []claim.UserID{"first", "B0", "a0", "at-before"}
	ids := func(us []claim.User) []claim.UserID {
		var got []claim.UserID
		for _, u := range us {
			got = append(got, u.ID)
		}
		return got
	}
	for _, s := range []claim.Store{claim.NewMemoryStore(), pg} {
		mustUpdate(t, s, func(tx claim.Tx) error {
			for _, x := range users {
				u := user(x.id, strings.ToLower(string(x.id))+"@x.com", "acme")
				u.State, u.InactiveSince, u.HeldBy = x.state, x.since, x.heldBy
				if err := tx.CreateUser(u); err != nil {
					return err
				}
			}
			return nil
		})
		mustView(t, s, func(tx claim.Tx) error {
			for limit := 1; limit <= len(want)+1; limit++ {
				got, err := tx.InactiveUsers(before, limit)
				if w := want[:min(limit, len(want))]; err != nil || !slices.Equal(ids(got), w) {
					t.Errorf("%T: InactiveUsers(before, %d) = %v, %v; want %v", s, limit, ids(got), err, w)
				}
			}
			for _, tt := range []struct {
				before time.Time
				want   []claim.UserID
			}{
				{before.Add(-time.Nanosecond), []claim.UserID{"first", "B0", "a0"}},
				{before.Add(time.Nanosecond), []claim.UserID{"first", "B0", "a0", "at-before", "after-before"}},
				{t0.Add(-time.Hour - time.Nanosecond), nil},
				{time.Time{}, nil},
				{time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC), nil},
				{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), []claim.UserID{"first", "B0", "a0", "at-before", "after-before"}},
			} {
				got, err := tx.InactiveUsers(tt.before, 10)
				if err != nil || !slices.Equal(ids(got), tt.want) {
					t.Errorf("%T: InactiveUsers(%v, 10) = %v, %v; want %v", s, tt.before, ids(got), err, tt.want)
				}
			}
			for _, limit := range []int{0, -1} {
				if got, err := tx.InactiveUsers(before, limit); !errors.Is(err, claim.ErrInvalidValue) {
					t.Errorf("%T: InactiveUsers(before, %d) = %v, %v; want an error wrapping ErrInvalidValue", s, limit, ids(got), err)
				}
			}
			return nil
		})
		// Paging as the sweep does: purge each page, then ask again.
		var pages [][]claim.UserID
		for range len(want) {
			var page []claim.UserID
			mustUpdate(t, s, func(tx claim.Tx) error {
				us, err := tx.InactiveUsers(before, 3)
				if err != nil {
					return err
				}
				page = ids(us)
				for _, u := range us {
					if err := tx.DeleteUser(u.ID); err != nil {
						return err
					}
				}
				return nil
			})
			if len(page) == 0 {
				break
			}
			pages = append(pages, page)
		}
		if d := cmp.Diff([][]claim.UserID{{"first", "B0", "a0"}, {"at-before"}}, pages); d != "" {
			t.Errorf("%T: pages of InactiveUsers(before, 3), purged in turn, mismatch (-want +got):\n%s", s, d)
		}
		// Releasing the held user lists it; reactivating one unlists it.
		mustUpdate(t, s, func(tx claim.Tx) error {
			h, err := tx.User("held")
			if err != nil {
				return err
			}
			h.HeldBy = ""
			if err := tx.UpdateUser(h); err != nil {
				return err
			}
			a, err := tx.User("after-before")
			if err != nil {
				return err
			}
			a.State = claim.Active
			return tx.UpdateUser(a)
		})
		mustView(t, s, func(tx claim.Tx) error {
			got, err := tx.InactiveUsers(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 10)
			if w := []claim.UserID{"held"}; err != nil || !slices.Equal(ids(got), w) {
				t.Errorf("%T: InactiveUsers(3000) after the updates = %v, %v; want %v", s, ids(got), err, w)
			}
			return nil
		})
	}
}

// TestUpdateWaitsForWriter: two Updates read the same user and write it
// back incremented. The second one's read waits for the first's lock on
// the user (it is seen waiting), then reads the first's write: both
// increments count, and neither Update runs its fn again.
func TestUpdateWaitsForWriter(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(user("u1", "ann@x.com", "acme")) })
	calls := inTurn(t, s, func(tx claim.Tx, first bool, blocked func()) error {
		u, err := tx.User("u1")
		if err != nil {
			return err
		}
		blocked()
		u.Content++
		return tx.UpdateUser(u)
	}, func(error) bool { return true })
	mustView(t, s, func(tx claim.Tx) error {
		u, err := tx.User("u1")
		if err != nil || u.Content != 2 {
			t.Errorf("User(u1).Content = %d, %v after two increments; want 2", u.Content, err)
		}
		return nil
	})
	if calls != 2 {
		t.Errorf("fn ran %d times, want 2 (a wait, no retry)", calls)
	}
}

// inTurn runs fn in two concurrent Updates and returns how many times fn
// ran in all. The first Update runs fn, which calls blocked once it has
// read what it decides on; blocked returns once the second Update, which
// starts then, waits for a lock the first holds (or fails after 10s).
// The first then writes and commits; the second's fn gets blocked as a
// no-op. ok tells the errors the Updates may return (a refusal that the
// serial order gives).
func inTurn(t *testing.T, s *postgres.Store, fn func(tx claim.Tx, first bool, blocked func()) error, ok func(error) bool) int {
	t.Helper()
	var calls atomic.Int32
	read := make(chan struct{})
	pid := make(chan int32, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		once := true
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			calls.Add(1)
			return fn(tx, true, func() {
				if once {
					once = false
					close(read)
					awaitLockWait(t, <-pid)
				}
			})
		})
		if err != nil && !ok(err) {
			t.Errorf("first Update() = %v", err)
		}
	})
	wg.Go(func() {
		<-read
		once := true
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			calls.Add(1)
			if once {
				once = false
				p, err := postgres.BackendPID(tx)
				if err != nil {
					pid <- 0
					return err
				}
				pid <- p
			}
			return fn(tx, false, func() {})
		})
		if err != nil && !ok(err) {
			t.Errorf("second Update() = %v", err)
		}
	})
	wg.Wait()
	return int(calls.Load())
}

// awaitLockWait returns once the server process pid waits for a lock, or
// fails the test after 10s.
func awaitLockWait(t *testing.T, pid int32) {
	t.Helper()
	lockWaitOrDone(t, pid, nil)
}

// lockWaitOrDone polls the server process pid until it waits for a lock
// (true) or done is closed (false); it fails the test, and returns false,
// on an error or when neither happens within 10s.
func lockWaitOrDone(t *testing.T, pid int32, done <-chan struct{}) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return false
		default:
		}
		var waiting bool
		err := adminPool(t).QueryRow(t.Context(), `SELECT coalesce(bool_or(wait_event_type = 'Lock'), false)
			FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting)
		switch {
		case err != nil:
			t.Errorf("reading pg_stat_activity: %v", err)
			return false
		case waiting:
			return true
		case time.Now().After(deadline):
			t.Errorf("server process %d neither waited for a lock nor ended in 10s", pid)
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNewKeyWriteWaitsForCoarseRead: an Update that has found more IDs
// (or addresses) missing than it locks one by one (NewUserKeys) holds
// only the coarse key of the next one it finds missing. A write that
// gives that ID (address) to a user in another Update must wait for it
// all the same, so that the first, which read it free, can take it: the
// second is then refused, as in the serial order.
func TestNewKeyWriteWaitsForCoarseRead(t *testing.T) {
	t.Parallel()
	for _, byEmail := range []bool{false, true} {
		t.Run(fmt.Sprintf("byEmail=%v", byEmail), func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			inTurn(t, s, func(tx claim.Tx, first bool, blocked func()) error {
				if !first {
					if byEmail {
						return tx.CreateUser(user("y", "x@d.com", "acme"))
					}
					return tx.CreateUser(user("x", "other@e.com", "acme"))
				}
				for i := range postgres.NewUserKeys + 1 {
					var err error
					if byEmail {
						_, err = tx.UserByEmail(fmt.Sprintf("m%d@d.com", i))
					} else {
						_, err = tx.User(claim.UserID(fmt.Sprintf("m%d", i)))
					}
					if !errors.Is(err, claim.ErrNotFound) {
						t.Errorf("reading missing user %d: %v, want ErrNotFound", i, err)
					}
				}
				var err error
				if byEmail {
					_, err = tx.UserByEmail("x@d.com")
				} else {
					_, err = tx.User("x")
				}
				if !errors.Is(err, claim.ErrNotFound) {
					return fmt.Errorf("reading x: %w, want ErrNotFound", err)
				}
				blocked()
				return tx.CreateUser(user("x", "x@d.com", "acme"))
			}, func(err error) bool { return errors.Is(err, claim.ErrDuplicate) || errors.Is(err, claim.ErrEmailTaken) })
			mustView(t, s, func(tx claim.Tx) error {
				u, err := tx.UserByEmail("x@d.com")
				if err != nil || u.ID != "x" {
					t.Errorf("UserByEmail(x@d.com) = %s, %v; want x, the first Update's, which read it free", u.ID, err)
				}
				return nil
			})
		})
	}
}

// TestCoarseReadTakesItsKeysInOrder: an Update's first coarse read of a
// missing address takes the domain's two coarse keys in key order, the
// writers' first, so that it waits for another Update that read an
// address of the domain missing (holding the writers' key shared) before
// it holds the readers' key, which that Update's CreateUser takes shared:
// both run once, without the deadlock that the other order makes. (An
// Update that creates first and then reads takes the two keys in the
// other order and may still deadlock with a coarse read, and run again:
// see the package documentation.)
func TestCoarseReadTakesItsKeysInOrder(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	var calls1, calls2 atomic.Int32
	read, found := make(chan struct{}), make(chan struct{})
	first := make(chan int32, 1)
	missing := func(tx claim.Tx, email string) {
		if _, err := tx.UserByEmail(email); !errors.Is(err, claim.ErrNotFound) {
			t.Errorf("UserByEmail(%s) = %v, want ErrNotFound", email, err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		sent := false
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			once := calls1.Add(1) == 1
			if err := sendPIDOnce(tx, &sent, first); err != nil {
				return err
			}
			// Each locks its address's key and, the first, the domain's
			// writers' key shared: NewUserKeys in all, after which the
			// next read is coarse.
			for i := range postgres.NewUserKeys - 1 {
				missing(tx, fmt.Sprintf("m%d@d.com", i))
			}
			if once {
				close(read)
				<-found
			}
			missing(tx, "coarse@d.com")
			return nil
		})
		if err != nil {
			t.Errorf("the reader of many addresses: %v", err)
		}
	})
	wg.Go(func() {
		<-read
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			missing(tx, "z@d.com")
			if calls2.Add(1) == 1 {
				close(found)
				awaitLockWait(t, <-first)
			}
			return tx.CreateUser(user("z", "z@d.com", "acme"))
		})
		if err != nil {
			t.Errorf("the creator: %v", err)
		}
	})
	wg.Wait()
	if c1, c2 := calls1.Load(), calls2.Load(); c1 != 1 || c2 != 1 {
		t.Errorf("the Updates ran %d and %d times; want once each (a retry is a deadlock)", c1, c2)
	}
	mustHaveUser(t, s, "z", "the creator's user")
}

// TestCoarseWriteDoesNotHoldUpOthers: an Update that has created more
// users than it locks IDs and addresses of one by one (a sync) holds the
// writers' coarse keys; another Update does not wait for it when it
// creates a user of the same domain (as a claim creates a held
// original), nor when it gives a user it has read access to a site (as
// a claim that relicenses does): writes of new IDs and addresses
// conflict with reads that find them missing, not with each other, and a
// user read is no missing ID.
func TestCoarseWriteDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	for name, other := range map[string]func(tx claim.Tx) error{
		"create": func(tx claim.Tx) error { return tx.CreateUser(user("o", "o@d.com", "acme")) },
		"site access": func(tx claim.Tx) error {
			if _, err := tx.User("u"); err != nil {
				return err
			}
			return tx.PutSiteAccess(claim.SiteAccess{Site: "s1", User: "u", License: true})
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			mustUpdate(t, s, func(tx claim.Tx) error {
				if err := tx.CreateUser(user("u", "u@x.com", "acme")); err != nil {
					return err
				}
				return tx.PutSite(claim.Site{ID: "s1", Org: "acme", URL: "https://acme.example.com"})
			})
			created := make(chan struct{})
			pids, done := make(chan int32, 1), make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				once := true
				err := s.Update(t.Context(), func(tx claim.Tx) error {
					for i := range postgres.NewUserKeys + 2 {
						if err := tx.CreateUser(user(claim.UserID(fmt.Sprintf("s%d", i)), fmt.Sprintf("s%d@d.com", i), "acme")); err != nil {
							return err
						}
					}
					if once {
						once = false
						close(created)
						if pid := <-pids; lockWaitOrDone(t, pid, done) {
							t.Errorf("the other Update (server process %d) waits for a lock of the sync", pid)
						}
					}
					return nil
				})
				if err != nil {
					t.Errorf("the sync: %v", err)
				}
			})
			wg.Go(func() {
				<-created
				defer close(done)
				sent := false
				err := s.Update(t.Context(), func(tx claim.Tx) error {
					if err := sendPIDOnce(tx, &sent, pids); err != nil {
						return err
					}
					return other(tx)
				})
				if err != nil {
					t.Errorf("the other Update: %v", err)
				}
			})
			wg.Wait()
		})
	}
}

// TestDeleteSiteLocksTheOrgItIsIn: DeleteSite waits for a writer that
// moves the site to another org, then locks that org's list of sites,
// which the site leaves: a reader of that list that starts before the
// delete commits waits for it, and does not see the site.
func TestDeleteSiteLocksTheOrgItIsIn(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error {
		return tx.PutSite(claim.Site{ID: "s1", Org: "a", URL: "https://a.example.com"})
	})
	moved, deleted, read := make(chan struct{}), make(chan struct{}), make(chan struct{})
	deleter, reader := make(chan int32, 1), make(chan int32, 1)
	var listed []claim.Site
	var wg sync.WaitGroup
	wg.Go(func() {
		once := true
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			if err := tx.PutSite(claim.Site{ID: "s1", Org: "b", URL: "https://b.example.com"}); err != nil {
				return err
			}
			if once {
				once = false
				close(moved)
				awaitLockWait(t, <-deleter)
			}
			return nil
		})
		if err != nil {
			t.Errorf("moving the site: %v", err)
		}
	})
	wg.Go(func() {
		<-moved
		sent := false
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			first := !sent
			if err := sendPIDOnce(tx, &sent, deleter); err != nil {
				return err
			}
			if err := tx.DeleteSite("s1"); err != nil {
				return err
			}
			if first {
				close(deleted)
				lockWaitOrDone(t, <-reader, read)
			}
			return nil
		})
		if err != nil {
			t.Errorf("deleting the site: %v", err)
		}
	})
	wg.Go(func() {
		<-deleted
		defer close(read)
		sent := false
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			if err := sendPIDOnce(tx, &sent, reader); err != nil {
				return err
			}
			var err error
			listed, err = tx.SitesByOrg("b", "", 10)
			return err
		})
		if err != nil {
			t.Errorf("listing b's sites: %v", err)
		}
	})
	wg.Wait()
	if len(listed) != 0 {
		t.Errorf("SitesByOrg(b) = %v while the site was being deleted; want none: the reader must wait for the delete", listed)
	}
}

// TestDeleteUserWaitsBeforeTheEventLock: DeleteUser, deferred to the
// batch that commits, removes what the user holds on sites by a cascade.
// When another Update has listed that, the delete waits for it before
// its batch takes the event lock (by the key of the user's site access),
// not after: a writer waiting while it holds the event lock would hold
// up every reader of the events, and every writer behind them.
func TestDeleteUserWaitsBeforeTheEventLock(t *testing.T) {
	t.Parallel()
	s, schema := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error {
		if err := tx.CreateUser(user("u", "u@x.com", "acme")); err != nil {
			return err
		}
		if err := tx.PutSite(claim.Site{ID: "s1", Org: "acme", URL: "https://acme.example.com"}); err != nil {
			return err
		}
		return tx.PutSiteAccess(claim.SiteAccess{Site: "s1", User: "u", License: true})
	})
	inTurn(t, s, func(tx claim.Tx, first bool, blocked func()) error {
		if first {
			if as, err := tx.SiteAccessByUser("u", "", 10); err != nil || len(as) != 1 {
				return fmt.Errorf("SiteAccessByUser(u) = %v, %v; want one", as, err)
			}
			blocked()
			var held int
			err := adminPool(t).QueryRow(t.Context(), `SELECT count(*) FROM pg_locks
				WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2::regclass::oid`,
				postgres.EventLockClass, qualified(schema, "events")).Scan(&held)
			if err != nil || held != 0 {
				t.Errorf("%d event locks held while the delete waits (%v); want none", held, err)
			}
			return nil
		}
		if _, err := tx.User("u"); err != nil {
			return err
		}
		if err := tx.DeleteUser("u"); err != nil {
			return err
		}
		return tx.AppendEvent(claim.Event{Type: "user.deleted", Org: "acme", User: "u", At: time.Now()})
	}, func(error) bool { return false })
	mustView(t, s, func(tx claim.Tx) error {
		if _, err := tx.User("u"); !errors.Is(err, claim.ErrNotFound) {
			t.Errorf("User(u) = %v after the delete; want ErrNotFound", err)
		}
		return nil
	})
}

// sendPIDOnce sends to pids the server process that runs tx, the first
// time it is called (*sent false, which it sets): a function that an
// Update may run again tells its process once.
func sendPIDOnce(tx claim.Tx, sent *bool, pids chan<- int32) error {
	if *sent {
		return nil
	}
	*sent = true
	pid, err := postgres.BackendPID(tx)
	pids <- pid
	return err
}

// TestWriteSkew: two Updates each read two users and, finding neither
// flagged, flag their own — the write skew that snapshot isolation
// (REPEATABLE READ) lets through. The first's reads lock both users, so
// the second's waits, then finds the first's flag: exactly one flag
// ends up set, with no retry.
func TestWriteSkew(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error {
		if err := tx.CreateUser(user("a", "a@x.com", "acme")); err != nil {
			return err
		}
		return tx.CreateUser(user("b", "b@x.com", "acme"))
	})
	calls := inTurn(t, s, func(tx claim.Tx, first bool, blocked func()) error {
		a, err := tx.User("a")
		if err != nil {
			return err
		}
		b, err := tx.User("b")
		if err != nil {
			return err
		}
		blocked()
		if a.Content+b.Content > 0 {
			return nil // the other one is flagged
		}
		u := a
		if !first {
			u = b
		}
		u.Content = 1
		return tx.UpdateUser(u)
	}, func(error) bool { return false })
	mustView(t, s, func(tx claim.Tx) error {
		users, err := tx.UsersByOrg("acme", "", 10)
		flagged := 0
		for _, u := range users {
			flagged += u.Content
		}
		if err != nil || flagged != 1 {
			t.Errorf("%d users flagged, %v; want exactly 1", flagged, err)
		}
		return nil
	})
	if calls != 2 {
		t.Errorf("fn ran %d times, want 2 (a wait, no retry)", calls)
	}
}

// raise is a statement that fails with the SQLSTATE code.
func raise(code string) string {
	return fmt.Sprintf(`DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '%s'; END $$`, code)
}

func TestUpdateRetries(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	tests := []struct {
		reason    string
		code      string
		failures  int  // attempts that fail
		swallow   bool // fn ignores the failure and returns nil
		wantCalls int
		wantErr   error // nil: committed
	}{
		{"a serialization failure every time", "40001", 100, false, 10, claim.ErrConflict},
		{"a serialization failure every time, ignored by fn", "40001", 100, true, 10, claim.ErrConflict},
		{"two serialization failures", "40001", 2, false, 3, nil},
		{"two deadlocks, ignored by fn", "40P01", 2, true, 3, nil},
		{"an error that a retry cannot cure", "22012", 100, false, 1, errors.New("22012")},
		{"an error that a retry cannot cure, ignored by fn", "22012", 100, true, 1, errors.New("22012")},
	}
	for i, tt := range tests {
		calls := 0
		org := claim.OrgID(fmt.Sprint("org", i))
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			calls++
			if err := tx.CreateOrg(claim.Org{ID: org, Name: "x", Kind: claim.Enterprise}); err != nil {
				return err
			}
			if calls <= tt.failures {
				err := postgres.Exec(tx, raise(tt.code))
				if !tt.swallow {
					return err
				}
			}
			return nil
		})
		if calls != tt.wantCalls {
			t.Errorf("%s: fn ran %d times, want %d", tt.reason, calls, tt.wantCalls)
		}
		_, orgErr := viewOrg(t, s, org)
		switch {
		case tt.wantErr == nil:
			if err != nil || orgErr != nil {
				t.Errorf("%s: Update() = %v and Org() = %v, want nil and nil", tt.reason, err, orgErr)
			}
			continue
		case err == nil:
			t.Errorf("%s: Update() = nil, want an error", tt.reason)
			continue
		case !errors.Is(orgErr, claim.ErrNotFound):
			t.Errorf("%s: Org() = %v after a failed Update, want ErrNotFound", tt.reason, orgErr)
		}
		if errors.Is(tt.wantErr, claim.ErrConflict) != errors.Is(err, claim.ErrConflict) {
			t.Errorf("%s: Update() = %v; want errors.Is(err, ErrConflict) = %v", tt.reason, err, errors.Is(tt.wantErr, claim.ErrConflict))
		}
		if code := pgCode(err); code != tt.code {
			t.Errorf("%s: Update() = %v, want it to wrap the *pgconn.PgError with SQLSTATE %s", tt.reason, err, tt.code)
		}
	}
}

func viewOrg(t *testing.T, s claim.Store, id claim.OrgID) (claim.Org, error) {
	t.Helper()
	var o claim.Org
	var err error
	mustView(t, s, func(tx claim.Tx) error {
		o, err = tx.Org(id)
		return nil
	})
	return o, err
}

// TestConcurrentRefusals: two Updates race to take one address, or to
// claim one domain; one wins, and the other gets the error it would get
// had it run second (Q1). An Update that reads an address locks it, so
// the second waits for the first and then finds the address taken. Both
// may read a domain's records (a shared lock): the two then deadlock on
// their writes, PostgreSQL breaks the deadlock, and the loser runs again
// and finds the domain claimed.
func TestConcurrentRefusals(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	isTaken := func(err error) bool { return errors.Is(err, claim.ErrEmailTaken) }
	errs := 0
	calls := inTurn(t, s, func(tx claim.Tx, first bool, blocked func()) error {
		_, err := tx.UserByEmail("race@x.com")
		blocked()
		switch {
		case err == nil:
			errs++
			return fmt.Errorf("race@x.com: %w", claim.ErrEmailTaken)
		case !errors.Is(err, claim.ErrNotFound):
			return err
		}
		id := "racer1"
		if !first {
			id = "racer2"
		}
		return tx.CreateUser(user(claim.UserID(id), "race@x.com", "acme"))
	}, isTaken)
	if calls != 2 || errs != 1 {
		t.Errorf("CreateUser of one address: fn ran %d times and found the address taken %d times, want 2 and 1", calls, errs)
	}

	bothRead := newBarrier(2)
	results := make([]error, 2)
	var n atomic.Int32
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			first := true
			results[i] = s.Update(t.Context(), func(tx claim.Tx) error {
				n.Add(1)
				var x claim.Tx = tx
				if first {
					first = false
					x = readThenWait{tx, bothRead} // both read before either writes
				}
				switch _, err := x.DomainClaimant("race.com"); {
				case err == nil:
					return fmt.Errorf("race.com: %w", claim.ErrDomainClaimedByOther)
				case !errors.Is(err, claim.ErrNotFound):
					return err
				}
				return tx.PutDomain(claim.Domain{Org: claim.OrgID(fmt.Sprint("org", i)), Name: "race.com", Claimed: true})
			})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, claim.ErrDomainClaimedByOther):
			t.Errorf("PutDomain claiming one name: Update() = %v, want nil or an error wrapping ErrDomainClaimedByOther", err)
		}
	}
	if ok != 1 || n.Load() != 3 {
		t.Errorf("PutDomain claiming one name: %d Updates succeeded and fn ran %d times, want 1 and 3 (errors %v)", ok, n.Load(), results)
	}
}

// readThenWait is a Tx that, after its first read, waits at the barrier.
type readThenWait struct {
	claim.Tx
	b *barrier
}

func (r readThenWait) DomainClaimant(name string) (claim.OrgID, error) {
	defer r.wait()
	return r.Tx.DomainClaimant(name)
}

func (r readThenWait) wait() { r.b.wait() }

// barrier lets its n goroutines on once all of them have arrived, or
// after 10s, so that a goroutine that failed before arriving does not
// hang the test.
type barrier struct {
	left atomic.Int32
	all  chan struct{}
}

func newBarrier(n int) *barrier {
	b := &barrier{all: make(chan struct{})}
	b.left.Store(int32(n))
	return b
}

func (b *barrier) wait() {
	if b.left.Add(-1) == 0 {
		close(b.all)
	}
	select {
	case <-b.all:
	case <-time.After(10 * time.Second):
	}
}

// TestFailedUpdateLeavesNothing: an Update whose fn fails after writing
// leaves no record and no event, and uses up no event number.
func TestFailedUpdateLeavesNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	errFn := errors.New("fn failed")
	err := s.Update(t.Context(), func(tx claim.Tx) error {
		if err := tx.CreateOrg(claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
			return err
		}
		if err := tx.CreateUser(user("u1", "ann@x.com", "acme")); err != nil {
			return err
		}
		for range 3 {
			if err := tx.AppendEvent(claim.Event{Type: claim.EventUserAdded}); err != nil {
				return err
			}
		}
		return errFn
	})
	if !errors.Is(err, errFn) {
		t.Fatalf("Update() = %v, want %v", err, errFn)
	}
	mustView(t, s, func(tx claim.Tx) error {
		if _, err := tx.Org("acme"); !errors.Is(err, claim.ErrNotFound) {
			t.Errorf("Org(acme) = %v, want ErrNotFound", err)
		}
		if _, err := tx.User("u1"); !errors.Is(err, claim.ErrNotFound) {
			t.Errorf("User(u1) = %v, want ErrNotFound", err)
		}
		if evs, err := tx.Events(0, 10); err != nil || len(evs) != 0 {
			t.Errorf("Events(0) = %v, %v; want none", evs, err)
		}
		return nil
	})
	wantNextSeq(t, s, 1)
}

// wantNextSeq appends an event and fails the test unless it is committed
// with Seq want, as the last event.
func wantNextSeq(t *testing.T, s claim.Store, want uint64) {
	t.Helper()
	mustUpdate(t, s, func(tx claim.Tx) error {
		return tx.AppendEvent(claim.Event{Type: claim.EventOrgCreated, Detail: "next"})
	})
	mustView(t, s, func(tx claim.Tx) error {
		got, err := tx.Events(want-1, 10)
		if err != nil || len(got) != 1 || got[0].Seq != want || got[0].Detail != "next" {
			t.Errorf("Events(%d) after appending one event = %v, %v; want it alone with Seq %d", want-1, got, err, want)
		}
		return nil
	})
}

// TestFailedCommit makes COMMIT itself fail, with a deferred constraint
// trigger on the events table, with an error that is retried (40001) and
// one that is not: the failed attempts leave no event, and the log stays
// in order. (Their numbers are skipped: they were taken just before
// COMMIT, which the Tx contract allows.)
func TestFailedCommit(t *testing.T) {
	t.Parallel()
	s, schema := newStore(t)
	_, err := adminPool(t).Exec(t.Context(), fmt.Sprintf(`
		CREATE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $f$
		BEGIN
			IF NEW.detail LIKE 'fail:%%' THEN
				RAISE EXCEPTION 'injected at commit' USING ERRCODE = substr(NEW.detail, 6);
			END IF;
			RETURN NULL;
		END $f$;
		CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON %[2]s
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION %[1]s();`,
		qualified(schema, "fail_at_commit"), qualified(schema, "events")))
	if err != nil {
		t.Fatalf("creating the trigger: %v", err)
	}
	appendDetails := func(details ...string) func(tx claim.Tx) error {
		return func(tx claim.Tx) error {
			for _, d := range details {
				if err := tx.AppendEvent(claim.Event{Type: "test", Detail: d}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	mustUpdate(t, s, appendDetails("1", "2"))

	calls := 0
	err = s.Update(t.Context(), func(tx claim.Tx) error {
		calls++
		return appendDetails("x", "fail:22012")(tx)
	})
	if !strings.Contains(fmt.Sprint(err), "commit") || pgCode(err) != "22012" || calls != 1 {
		t.Errorf("Update() failing at COMMIT = %v after %d calls, want a commit error with SQLSTATE 22012 after 1", err, calls)
	}

	calls = 0
	err = s.Update(t.Context(), func(tx claim.Tx) error {
		calls++
		d := "3"
		if calls <= 2 {
			d = "fail:40001"
		}
		return tx.AppendEvent(claim.Event{Type: "test", Detail: d})
	})
	if err != nil || calls != 3 {
		t.Errorf("Update() failing at COMMIT twice with 40001 = %v after %d calls; want nil after 3", err, calls)
	}
	mustView(t, s, func(tx claim.Tx) error {
		evs, err := tx.Events(0, 10)
		var got []string
		for i, e := range evs {
			got = append(got, e.Detail)
			if i > 0 && e.Seq <= evs[i-1].Seq {
				t.Errorf("Events(0): Seq %d after %d", e.Seq, evs[i-1].Seq)
			}
		}
		if d := cmp.Diff([]string{"1", "2", "3"}, got); err != nil || d != "" {
			t.Errorf("Events(0) mismatch (-want +got), err %v:\n%s", err, d)
		}
		return nil
	})
}

// TestEventsNeverSkip runs 8 writers appending events on two stores (two
// pools, as two processes), holding their transactions open for a while
// after appending and again at COMMIT, while a reader pages through
// Events(after) as a consumer of the log does. The reader must get every
// committed event exactly once, in order, with no number missing: were
// it to list a number before a smaller one had become visible, it would
// never get the smaller one. (With the reader's wait for the event lock
// removed, this test fails on every run.)
func TestEventsNeverSkip(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	stores := []*postgres.Store{open(t, dsn), open(t, dsn)}
	// Each transaction sleeps at COMMIT, after its events got their
	// numbers, for a random while: transactions become visible in an
	// order other than the one in which they numbered their events.
	_, err := adminPool(t).Exec(t.Context(), fmt.Sprintf(`
		CREATE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $f$
		BEGIN
			PERFORM pg_sleep(random() * 0.002);
			RETURN NULL;
		END $f$;
		CREATE CONSTRAINT TRIGGER sleep_at_commit AFTER INSERT ON %[2]s
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION %[1]s();`,
		qualified(schema, "sleep_at_commit"), qualified(schema, "events")))
	if err != nil {
		t.Fatalf("creating the trigger: %v", err)
	}
	const writers, updates = 8, 40
	var committed atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for u := range updates {
				n := 1 + (w+u)%3
				err := s.Update(t.Context(), func(tx claim.Tx) error {
					for i := range n {
						if err := tx.AppendEvent(claim.Event{Type: "test", Detail: fmt.Sprintf("w%d u%d e%d", w, u, i)}); err != nil {
							return err
						}
					}
					time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
					return nil
				})
				if err != nil {
					t.Errorf("Update() = %v, want nil", err)
					return
				}
				committed.Add(int64(n))
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	defer func() { <-done }() // no writer outlives the test
	var after uint64
	var got int64
	finished := false
	for !finished {
		select {
		case <-done:
			finished = true // one more pass reads the rest
		default:
		}
		for {
			var page []claim.Event
			err := stores[0].View(t.Context(), func(tx claim.Tx) error {
				var err error
				page, err = tx.Events(after, 5)
				return err
			})
			if err != nil {
				t.Errorf("View() = %v, want nil", err)
				return
			}
			for _, e := range page {
				if e.Seq != after+1 {
					t.Errorf("the reader, after Seq %d, got Seq %d: events were skipped", after, e.Seq)
					return
				}
				after = e.Seq
				got++
			}
			if len(page) < 5 {
				break
			}
		}
	}
	if want := committed.Load(); got != want {
		t.Errorf("the reader got %d events, want the %d committed", got, want)
	}
}

// TestCanceledUpdate cancels an Update's context in the middle of fn:
// nothing commits, the event lock is released, and no number is lost.
func TestCanceledUpdate(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := s.Update(ctx, func(tx claim.Tx) error {
		if err := tx.CreateOrg(claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
			return err
		}
		if err := tx.AppendEvent(claim.Event{Type: claim.EventOrgCreated}); err != nil {
			return err
		}
		cancel()
		_, err := tx.Org("acme")
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update() canceled in fn = %v, want an error wrapping %v", err, context.Canceled)
	}
	if _, err := viewOrg(t, s, "acme"); !errors.Is(err, claim.ErrNotFound) {
		t.Errorf("Org(acme) = %v after a canceled Update, want ErrNotFound", err)
	}
	wantNextSeq(t, s, 1)
}

// TestFullPool: when the pool has no connection to give before the
// context is done, View and Update say so. A store from New leaves its
// pool open on Close.
func TestFullPool(t *testing.T) {
	t.Parallel()
	_, dsn := newSchema(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := postgres.New(pool)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() = %v, want nil", err)
	}
	held, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func(context.Context, func(claim.Tx) error) error{"Update": s.Update, "View": s.View} {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		err := run(ctx, func(claim.Tx) error { return nil })
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "postgres store: begin: ") {
			t.Errorf("%s() with the pool full = %v, want \"postgres store: begin: …\" wrapping %v", name, err, context.DeadlineExceeded)
		}
	}
	held.Release()
	mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(user("u1", "ann@x.com", "acme")) })
	s.Close()
	if err := pool.Ping(t.Context()); err != nil {
		t.Errorf("Ping() of the caller's pool after Close() = %v, want nil", err)
	}
}

// TestClosedStore: a store from Open closes its pool.
func TestClosedStore(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	s.Close()
	s.Close() // twice is fine
	if err := s.Update(t.Context(), func(claim.Tx) error { return nil }); err == nil || !strings.HasPrefix(err.Error(), "postgres store: begin: ") {
		t.Errorf("Update() after Close() = %v, want \"postgres store: begin: …\"", err)
	}
}

// TestDroppedConnection terminates the server process of a transaction
// in the middle of fn, before COMMIT: nothing of that attempt commits,
// and Update runs fn again on another connection, so the Update commits
// once, even if fn ignored the failure; the store goes on working.
func TestDroppedConnection(t *testing.T) {
	t.Parallel()
	_, dsn := newSchema(t)
	app := fmt.Sprintf("claimtest-drop-%d", rand.Int64())
	s := open(t, withParam(dsn, "application_name", app))
	kill := func() {
		t.Helper()
		var n int
		err := adminPool(t).QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND state LIKE 'idle in transaction%'`, app).Scan(&n)
		if err != nil || n != 1 {
			t.Errorf("terminating the transaction's backend: %d terminated, %v; want 1", n, err)
		}
	}
	for _, swallow := range []bool{false, true} {
		org := claim.OrgID(fmt.Sprint("org-", swallow))
		calls := 0
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			calls++
			if err := tx.CreateOrg(claim.Org{ID: org, Name: "x", Kind: claim.Enterprise}); err != nil {
				return err
			}
			if calls == 1 {
				kill()
			}
			_, err := tx.Domain(org, "x.example") // a statement on the dropped connection
			if swallow || errors.Is(err, claim.ErrNotFound) {
				return nil
			}
			return err
		})
		if err != nil || calls != 2 {
			t.Errorf("Update() with its connection dropped (fn ignoring it: %v) = %v after %d calls, want nil after 2", swallow, err, calls)
		}
		if _, err := viewOrg(t, s, org); err != nil {
			t.Errorf("Org(%s) = %v after the retried Update, want it", org, err)
		}
	}
	mustUpdate(t, s, func(tx claim.Tx) error {
		return tx.CreateOrg(claim.Org{ID: "after", Name: "x", Kind: claim.Enterprise})
	})
}

// TestListQueriesUseIndexes fills a schema with 50,000 users, events,
// BroadWorks subscribers (250 in each of 200 enterprises) and BroadWorks
// enterprises (250 for each of 200 partners, every other one in an org)
// — enough that neither reading a primary key in order and filtering nor
// sorting a whole enterprise's or partner's rows pays — and checks that
// each list query's plan, custom and generic, reads its index in order:
// an index scan of the right index, no sequential scan, no sort. The
// BroadWorks lookups by a partial unique index (SubscriberByEmail,
// EnterpriseByOrg) are checked the same way.
func TestListQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	schema, dsn := newSchema(t)
	s := open(t, dsn)
	defer s.Close()
	_, err := adminPool(t).Exec(t.Context(), fmt.Sprintf(`
		INSERT INTO %[1]s (id, email, first_name, last_name, display_name, org_id, state, licenses, content,
			inactive_since, held_by, claim_by, claim_from, claim_mode, claim_prev_state, claim_at, claim_deadline, claim_signed_in,
			claim_original, claim_ended, claim_outcome)
		SELECT 'id-' || lpad(i::text, 5, '0'), 'user-' || lpad(i::text, 5, '0') || '@d' || (i %% 10) || '.example',
			'', '', '', 'org-' || (i %% 20), c.state, '{}', 0, c.inactive, c.held, c.by, c.by, c.mode, c.mode, c.deadline, c.deadline, CASE WHEN c.by IS NOT NULL THEN false END,
			c.by, c.ended, c.mode
		FROM generate_series(1, 50000) AS i,
		LATERAL (SELECT
			CASE WHEN i %% 5 = 0 THEN 'claimer-' || (i %% 7) END AS by,
			CASE WHEN i %% 5 = 0 THEN (1 + (i %% 3 = 0)::int)::smallint END AS mode,
			CASE WHEN i %% 5 = 0 THEN 1600000000000000000 + i::bigint * 10000000000 END AS deadline,
			CASE WHEN i %% 10 = 0 THEN 1 END AS ended,
			-- Inactive (4): i %% 8 = 1, since a time that grows with i, held
			-- by a claim when i %% 24 = 1; and i %% 8 = 3, since the zero
			-- time. Active (3) with a stale InactiveSince: i %% 8 = 2.
			CASE WHEN i %% 8 IN (1, 3) THEN 4 ELSE 3 END AS state,
			CASE WHEN i %% 8 IN (1, 2) THEN 1600000000000000000 + i::bigint * 10000000000 END AS inactive,
			CASE WHEN i %% 24 = 1 THEN 'holder' END AS held) AS c;
		INSERT INTO %[2]s (seq, type, org_id, from_org, user_id, recipient, content, mode, action, retention, detail)
		SELECT i, 'test', '', '', '', '', 0, 0, 0, 0, '' FROM generate_series(1, 50000) AS i;
		INSERT INTO %[3]s (id, enterprise_id, flow, email, first_name, last_name, status, admin, user_id, old_user, reasons, created_at, updated_at)
		SELECT 'sub-' || lpad(i::text, 5, '0'), 'ent-' || lpad((i %% 200)::text, 3, '0'), 'trusted_email',
			CASE WHEN i %% 4 <> 0 THEN 'sub-' || lpad(i::text, 5, '0') || '@x.example' END, '', '', 'provisioned', false,
			NULL, NULL, '{}', NULL, NULL
		FROM generate_series(1, 50000) AS i;
		INSERT INTO %[4]s (id, partner_id, name, partner_admin, trusted_email, no_admin_invite, target_org, org_id, attach, workspaces, created_at)
		SELECT 'ent-' || lpad(i::text, 5, '0'), 'partner-' || (i %% 200), 'Enterprise', 'pat@x.example', true, false, NULL,
			CASE WHEN i %% 2 = 0 THEN 'org-' || lpad(i::text, 5, '0') END, CASE WHEN i %% 2 = 0 THEN 'new' ELSE '' END, '{}', NULL
		FROM generate_series(1, 50000) AS i;
		ANALYZE %[1]s; ANALYZE %[2]s; ANALYZE %[3]s; ANALYZE %[4]s;`,
		qualified(schema, "users"), qualified(schema, "events"), qualified(schema, "bw_subscribers"), qualified(schema, "bw_enterprises")))
	if err != nil {
		t.Fatalf("filling the tables: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	check := func(kind, name, index string, plan string) {
		t.Helper()
		t.Logf("%s plan of %s:\n%s", kind, name, plan)
		if !strings.Contains(plan, "Index Scan using "+index) && !strings.Contains(plan, "Index Only Scan using "+index) {
			t.Errorf("%s plan of %s does not scan %s:\n%s", kind, name, index, plan)
		}
		// The event sequence is one row: reading it is no table scan.
		scans := strings.ReplaceAll(plan, "Seq Scan on events_seq", "")
		if strings.Contains(scans, "Seq Scan") || strings.Contains(scans, "Sort") || strings.Contains(scans, "Bitmap") {
			t.Errorf("%s plan of %s scans or sorts more than it returns:\n%s", kind, name, plan)
		}
	}
	explain := func(sql string, args ...any) string {
		t.Helper()
		rows, _ := conn.Query(t.Context(), "EXPLAIN "+sql, args...)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", sql, err)
		}
		return strings.Join(lines, "\n")
	}
	if _, err := conn.Exec(t.Context(), "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	for i, q := range postgres.ListQueries {
		check("custom", q.Name, q.Index, explain(q.SQL, q.Args...))
		// The generic plan, which a prepared statement may settle on.
		var lits []string
		for _, a := range q.Args {
			if s, ok := a.(string); ok {
				lits = append(lits, "'"+s+"'")
			} else {
				lits = append(lits, fmt.Sprint(a))
			}
		}
		stmt := fmt.Sprintf("q%d", i)
		if _, err := conn.Exec(t.Context(), "PREPARE "+stmt+" AS "+q.SQL); err != nil {
			t.Fatalf("PREPARE %s: %v", q.Name, err)
		}
		check("generic", q.Name, q.Index, explain("EXECUTE "+stmt+"("+strings.Join(lits, ", ")+")"))
	}
	// And the queries return what they should from the big table.
	mustView(t, s, func(tx claim.Tx) error {
		us, err := tx.UsersByOrg("org-7", "user-00100@d3.example", 3)
		if err != nil || len(us) != 3 || us[0].Email != "user-00107@d7.example" {
			t.Errorf("UsersByOrg(org-7, user-00100@d3.example, 3) = %v, %v", us, err)
		}
		due, err := tx.DueClaims(time.Unix(0, 1600000000000000000+150*10000000000), 100)
		if err != nil || len(due) != 5 || due[0].ID != "id-00015" || due[4].ID != "id-00135" {
			t.Errorf("DueClaims(deadline of user 150) = %d users %v, %v; want 15, 45, 75, 105, 135", len(due), due, err)
		}
		in, err := tx.InactiveUsers(time.Unix(0, 1600000000000000000+50*10000000000), 100)
		var ids []claim.UserID
		for _, u := range in {
			ids = append(ids, u.ID)
		}
		if want := []claim.UserID{"id-00009", "id-00017", "id-00033", "id-00041"}; err != nil || !slices.Equal(ids, want) {
			t.Errorf("InactiveUsers(inactive since of user 50) = %v, %v; want %v", ids, err, want)
		}
		subs, err := tx.SubscribersByEnterprise("ent-007", "sub-00100", 3)
		if err != nil || len(subs) != 3 || subs[0].ID != "sub-00207" || subs[2].ID != "sub-00607" {
			t.Errorf("SubscribersByEnterprise(ent-007, sub-00100, 3) = %v, %v; want sub-00207, sub-00407, sub-00607", subs, err)
		}
		ents, err := tx.EnterprisesByPartner("partner-3", "ent-00100", 2)
		if err != nil || len(ents) != 2 || ents[0].ID != "ent-00203" || ents[1].ID != "ent-00403" {
			t.Errorf("EnterprisesByPartner(partner-3, ent-00100, 2) = %v, %v; want ent-00203, ent-00403", ents, err)
		}
		if sub, err := tx.SubscriberByEmail("sub-00101@x.example"); err != nil || sub.ID != "sub-00101" {
			t.Errorf("SubscriberByEmail(sub-00101@x.example) = %+v, %v; want sub-00101", sub, err)
		}
		if e, err := tx.EnterpriseByOrg("org-00100"); err != nil || e.ID != "ent-00100" {
			t.Errorf("EnterpriseByOrg(org-00100) = %+v, %v; want ent-00100", e, err)
		}
		return nil
	})
}

// TestEngine runs a whole scenario of the claim engine on the store —
// a domain verified, a user claimed, the claim retracted, the user
// claimed again, the 14-day window passing to the nanosecond, the sweep
// expiring the claim — and again on the memory store, and compares what
// they did.
func TestEngine(t *testing.T) {
	t.Parallel()
	pg, _ := newStore(t)
	gotPG := scenario(t, pg)
	gotMem := scenario(t, claim.NewMemoryStore())
	if d := cmp.Diff(gotMem, gotPG); d != "" {
		t.Errorf("the scenario on PostgreSQL differs from the memory store's (-memory +postgres):\n%s", d)
	}
}

// scenarioResult is what scenario observed, with user IDs, which are
// random, replaced by labels.
type scenarioResult struct {
	Steps  []string
	Ann    claim.User
	Events []claim.Event
}

func scenario(t *testing.T, store claim.Store) scenarioResult {
	t.Helper()
	ctx := t.Context()
	// A start with nanoseconds, so that a store keeping microseconds
	// would move the deadline.
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(store, claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		t.Fatalf("claim.New() = %v, want nil", err)
	}
	var res scenarioResult
	step := func(format string, args ...any) { res.Steps = append(res.Steps, fmt.Sprintf(format, args...)) }
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%T: %s = %v, want nil", store, what, err)
		}
	}
	_, err = svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise,
		Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}}})
	must("CreateOrg(acme)", err)
	_, err = svc.CreateOrg(ctx, claim.Org{ID: "personal", Name: "Ann", Kind: claim.Individual,
		CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)})
	must("CreateOrg(personal)", err)
	token, err := svc.StartDomainVerification(ctx, "acme", "acme.example")
	must("StartDomainVerification", err)
	dns.Set("acme.example", token)
	must("ConfirmDomain", svc.ConfirmDomain(ctx, "acme", "acme.example"))
	ann, err := svc.AddUser(ctx, "personal", claim.NewUser{Email: "Ann Lee <ann@acme.example>", Content: 120})
	must("AddUser(ann)", err)
	_, err = svc.AddUser(ctx, "personal", claim.NewUser{Email: "bob@acme.example"})
	must("AddUser(bob)", err)
	_, err = svc.VerifyEmail(ctx, ann.ID)
	must("VerifyEmail", err)
	_, err = svc.SignIn(ctx, ann.ID)
	must("SignIn", err)

	ack := claim.ClaimOptions{Acknowledge: true}
	r, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann.ID}, ack)
	must("ClaimUsers", err)
	step("claim: %v %v", r[0].Mode, r[0].Err)
	clock.Advance(3 * 24 * time.Hour)
	step("retract: %v", svc.Retract(ctx, "acme", ann.ID))
	clock.Advance(time.Hour)
	r, err = svc.ClaimUsers(ctx, "acme", []claim.UserID{ann.ID}, ack)
	must("ClaimUsers again", err)
	step("claim again: %v %v", r[0].Mode, r[0].Err)

	clock.Advance(14*24*time.Hour - time.Nanosecond)
	rep, err := svc.Sweep(ctx)
	must("Sweep", err)
	days, err := svc.DaysLeft(ctx, ann.ID)
	step("1ns before the deadline: sweep %+v, days left %d %v", rep, days, err)
	clock.Advance(time.Nanosecond)
	rep, err = svc.Sweep(ctx)
	must("Sweep", err)
	step("at the deadline: sweep %+v", rep)
	rep, err = svc.Sweep(ctx)
	must("Sweep", err)
	step("again: sweep %+v", rep)
	step("retract now: %v", svc.Retract(ctx, "acme", ann.ID))

	for i := range res.Steps {
		res.Steps[i] = strings.ReplaceAll(res.Steps[i], string(ann.ID), "ann")
	}
	res.Ann, err = svc.User(ctx, ann.ID)
	must("User(ann)", err)
	labels := map[claim.UserID]claim.UserID{}
	label := func(id claim.UserID) claim.UserID {
		if id == "" {
			return ""
		}
		if l, ok := labels[id]; ok {
			return l
		}
		labels[id] = claim.UserID(fmt.Sprint("user", len(labels)+1))
		return labels[id]
	}
	res.Ann.ID = label(res.Ann.ID)
	for e, err := range svc.Events(ctx, 0) {
		must("Events", err)
		e.User = label(e.User)
		res.Events = append(res.Events, e)
	}
	if res.Ann.Org != "acme" || res.Ann.Content != 120 || res.Ann.Claim != nil {
		t.Errorf("%T: Ann after the expiry = %+v, want in acme with her 120 items, no claim", store, res.Ann)
	}
	types := map[string]int{}
	for _, e := range res.Events {
		types[e.Type]++
	}
	if types[claim.EventClaimCreated] != 2 || types[claim.EventClaimRetracted] != 1 || types[claim.EventClaimExpired] != 1 || types[claim.EventContentMigrated] != 1 {
		t.Errorf("%T: events by type %v, want 2 claim.created, 1 claim.retracted, 1 claim.expired, 1 content.migrated", store, types)
	}
	return res
}

// TestEventsKeepAppendOrder: a transaction's events are numbered in the
// order it appended them, whether few (one statement of VALUES rows) or
// many (one over arrays).
func TestEventsKeepAppendOrder(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	var want []string
	for _, n := range []int{1, 3, 4, 5, 40} {
		mustUpdate(t, s, func(tx claim.Tx) error {
			for i := range n {
				if err := tx.AppendEvent(claim.Event{Type: "test", Detail: fmt.Sprintf("%d.%02d", n, i)}); err != nil {
					return err
				}
			}
			return nil
		})
		for i := range n {
			want = append(want, fmt.Sprintf("%d.%02d", n, i))
		}
	}
	mustView(t, s, func(tx claim.Tx) error {
		evs, err := tx.Events(0, 1000)
		var got []string
		for i, e := range evs {
			got = append(got, e.Detail)
			if e.Seq != uint64(i+1) {
				t.Errorf("event %d has Seq %d, want %d", i, e.Seq, i+1)
			}
		}
		if d := cmp.Diff(want, got); err != nil || d != "" {
			t.Errorf("Events(0) mismatch (-want +got), err %v:\n%s", err, d)
		}
		return nil
	})
}

// TestDeferredWriteGuard: a write deferred on the strength of the
// transaction's own reads fails on the server, in the batch that ends
// with COMMIT, if those reads turn out wrong, so that the batch commits
// nothing: here the row went behind the Tx's back (a raw DELETE), and the
// deferred UPDATE, sent with the events and COMMIT, writes no row.
func TestDeferredWriteGuard(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error { return tx.CreateUser(user("u1", "ann@x.com", "acme")) })
	calls := 0
	err := s.Update(t.Context(), func(tx claim.Tx) error {
		calls++
		if err := tx.CreateOrg(claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
			return err
		}
		u, err := tx.User("u1")
		if err != nil {
			return err
		}
		if err := postgres.Exec(tx, `DELETE FROM users WHERE id = 'u1'`); err != nil {
			return err
		}
		u.FirstName = "Changed"
		if err := tx.UpdateUser(u); err != nil { // deferred: the Tx read u1
			return fmt.Errorf("UpdateUser() = %w, want it deferred", err)
		}
		return tx.AppendEvent(claim.Event{Type: "test", Detail: "guard"})
	})
	if pgCode(err) != "22012" || !strings.Contains(fmt.Sprint(err), "commit") || !strings.Contains(fmt.Sprint(err), "UpdateUser u1") ||
		errors.Is(err, claim.ErrOutcomeUnknown) || calls != 1 {
		t.Errorf("Update() = %v after %d calls, want the commit to fail on the deferred UpdateUser of u1 (SQLSTATE 22012) once", err, calls)
	}
	mustView(t, s, func(tx claim.Tx) error {
		if u, err := tx.User("u1"); err != nil || u.FirstName == "Changed" {
			t.Errorf("User(u1) = %+v, %v; want it as it was", u, err)
		}
		if _, err := tx.Org("acme"); !errors.Is(err, claim.ErrNotFound) {
			t.Errorf("Org(acme) = %v, want ErrNotFound: nothing committed", err)
		}
		if evs, err := tx.Events(0, 10); err != nil || len(evs) != 0 {
			t.Errorf("Events(0) = %v, %v; want none", evs, err)
		}
		return nil
	})
}

// TestLeaseStatementErrors: a lease statement the server refuses is
// mapped to the claim sentinel as a transaction's statements are (a NUL
// byte, which no text column holds: claim.ErrInvalidValue), and the
// error names the call and the lease.
func TestLeaseStatementErrors(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	_, err := s.AcquireLease(t.Context(), "sweep\x00", "a", time.Minute)
	if !errors.Is(err, claim.ErrInvalidValue) || !strings.Contains(err.Error(), `acquire lease "sweep\x00"`) {
		t.Errorf("AcquireLease(NUL name) = %v, want ErrInvalidValue naming the lease", err)
	}
	err = s.ReleaseLease(t.Context(), "sweep", "a\x00")
	if !errors.Is(err, claim.ErrInvalidValue) || !strings.Contains(err.Error(), `release lease "sweep"`) {
		t.Errorf("ReleaseLease(NUL holder) = %v, want ErrInvalidValue naming the lease", err)
	}
}

// TestLargeTransactionsFitTheLockTable: transactions that create,
// list and delete thousands of users, a directory sync that creates
// thousands, or a batch that looks up a thousand missing addresses, hold
// a bounded number of advisory locks, not one or two a user, which would
// overflow PostgreSQL's lock table (max_locks_per_transaction, 64 by
// default, times the connections: "out of shared memory"). Each
// transaction's locks are counted in pg_locks when its function returns
// and must stay within 64, the default's share of one connection.
func TestLargeTransactionsFitTheLockTable(t *testing.T) {
	t.Parallel()
	pg, _ := newStore(t)
	s := &lockCounter{Store: pg, t: t}
	const n = 15_000
	mustUpdate(t, s, func(tx claim.Tx) error {
		if err := tx.CreateOrg(claim.Org{ID: "big", Name: "Big", Kind: claim.Enterprise}); err != nil {
			return err
		}
		for i := range n {
			if err := tx.CreateUser(user(claim.UserID(fmt.Sprintf("u%05d", i)), fmt.Sprintf("u%05d@big.example", i), "big")); err != nil {
				return err
			}
		}
		return nil
	})
	s.check("CreateUser of 15,000 users")
	svc, err := claim.New(s)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for i := range 1_000 {
		missing = append(missing, fmt.Sprintf("nobody%04d@big.example", i))
	}
	mustUpdate(t, s, func(tx claim.Tx) error {
		us, err := tx.(claim.BulkTx).UsersByEmails(missing)
		if err != nil || len(us) != 0 {
			return fmt.Errorf("UsersByEmails(1,000 missing) = %d users, %v; want none", len(us), err)
		}
		return nil
	})
	s.check("UsersByEmails of 1,000 missing addresses")
	// A directory sync that creates thousands of users, each looked up
	// missing first.
	if _, err := svc.CreateOrg(t.Context(), claim.Org{ID: "dir", Name: "Dir", Kind: claim.Enterprise}); err != nil {
		t.Fatal(err)
	}
	entries := make([]claim.DirectoryEntry, n)
	for i := range entries {
		entries[i] = claim.DirectoryEntry{Email: fmt.Sprintf("d%05d@dir.example", i)}
	}
	rep, err := svc.SyncDirectory(t.Context(), "dir", entries, claim.SyncOptions{})
	if err != nil || len(rep.Created) != n {
		t.Fatalf("SyncDirectory(%d new users) = %d created, %v; want %d, nil", n, len(rep.Created), err, n)
	}
	s.check("SyncDirectory creating 15,000 users")
	if err := svc.DeleteOrg(t.Context(), "big"); err != nil {
		t.Fatalf("DeleteOrg(big) of %d users = %v, want nil", n, err)
	}
	s.check("DeleteOrg of 15,000 users")
	mustView(t, s, func(tx claim.Tx) error {
		if us, err := tx.UsersByOrg("big", "", 10); err != nil || len(us) != 0 {
			t.Errorf("UsersByOrg(big) after DeleteOrg = %d users, %v; want none", len(us), err)
		}
		return nil
	})
}

// lockCounter is a Store whose Updates count, when their function has
// returned, the advisory locks their transaction holds, keeping the
// largest count since the last check.
type lockCounter struct {
	*postgres.Store
	t    *testing.T
	most atomic.Int64
}

func (s *lockCounter) Update(ctx context.Context, fn func(claim.Tx) error) error {
	return s.Store.Update(ctx, func(tx claim.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		// BackendPID's statement takes the locks the Tx has queued.
		pid, err := postgres.BackendPID(tx)
		if err != nil {
			return err
		}
		var held int64
		if err := adminPool(s.t).QueryRow(ctx, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND pid = $1`, pid).Scan(&held); err != nil {
			return err
		}
		for m := s.most.Load(); held > m && !s.most.CompareAndSwap(m, held); m = s.most.Load() {
		}
		return nil
	})
}

// check fails if a transaction since the last check held more than 64
// advisory locks.
func (s *lockCounter) check(what string) {
	s.t.Helper()
	if most := s.most.Swap(0); most > 64 {
		s.t.Errorf("%s: a transaction held %d advisory locks, want at most 64", what, most)
	} else if most == 0 {
		s.t.Errorf("%s: no transaction held an advisory lock: the count sees nothing", what)
	}
}
