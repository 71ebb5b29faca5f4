package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/claimkit/claim/internal/pgtest"
)

// TestPostgresFlag: with -postgres DSN -migrate, adminapi migrates an
// empty schema and serves it: the API answers, and the org it acts for
// is not found until the host creates it. Skipped without
// CLAIM_POSTGRES_DSN, failed instead when CLAIM_REQUIRE_POSTGRES=1.
func TestPostgresFlag(t *testing.T) {
	dsn, pool := pgtest.Schema(t, "adminapi")

	ctx, cancel := context.WithCancel(t.Context())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-postgres", dsn, "-migrate", "-org", "acme"}, io.Discard, ready)
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
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&tables); err != nil || tables == 0 {
		t.Errorf("-migrate created %d tables (%v)", tables, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
