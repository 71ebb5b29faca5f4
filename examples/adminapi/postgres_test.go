package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPostgresFlag: with -postgres DSN -migrate, adminapi migrates an
// empty schema and serves it: the API answers, and the org it acts for
// is not found until the host creates it. Skipped without
// CLAIM_POSTGRES_DSN, failed instead when CLAIM_REQUIRE_POSTGRES=1.
func TestPostgresFlag(t *testing.T) {
	base := os.Getenv("CLAIM_POSTGRES_DSN")
	if base == "" {
		if os.Getenv("CLAIM_REQUIRE_POSTGRES") == "1" {
			t.Fatal("CLAIM_REQUIRE_POSTGRES=1 but CLAIM_POSTGRES_DSN is not set")
		}
		t.Skip("CLAIM_POSTGRES_DSN is not set")
	}
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "adminapi_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_")
	for _, q := range []string{"DROP SCHEMA IF EXISTS " + schema + " CASCADE", "CREATE SCHEMA " + schema} {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	ctx, cancel := context.WithCancel(t.Context())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-postgres", u.String(), "-migrate", "-org", "acme"}, io.Discard, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/api/org")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || !strings.Contains(string(b), `"code":"not_found"`) {
		t.Errorf("GET /api/org on an empty database: %d %s", res.StatusCode, b)
	}
	var tables int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema).Scan(&tables); err != nil || tables == 0 {
		t.Errorf("-migrate created %d tables (%v)", tables, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
