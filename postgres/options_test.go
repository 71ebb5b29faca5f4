package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
	"github.com/claimkit/claim/postgres"
)

// retryFirst runs the first attempt of the first Update it is asked to
// fail with a serialization failure raised by the server, so that the
// store runs the transaction again.
type retryFirst struct {
	claim.Store
	armed bool
}

func (s *retryFirst) Update(ctx context.Context, fn func(claim.Tx) error) error {
	first := s.armed
	s.armed = false
	return s.Store.Update(ctx, func(tx claim.Tx) error {
		if first {
			first = false
			return postgres.Exec(tx, raise("40001"))
		}
		return fn(tx)
	})
}

// TestServiceLogs: the Service's logger receives, on the PostgreSQL
// store, the store's record of a transaction it ran again with its
// SQLSTATE, the start and end of an import with its counts and duration,
// the end of a sweep with its counts and duration, and addresses only at
// Debug.
func TestServiceLogs(t *testing.T) {
	t.Parallel()
	pg, _ := newStore(t)
	store := &retryFirst{Store: pg}
	log := &logBuffer{}
	dns := claimtest.NewResolver()
	ctx := t.Context()
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc, err := claim.New(store, claim.WithLogger(log.logger()), claim.WithResolver(dns), claim.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	store.armed = true
	if _, err := svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise,
		Settings: claim.Settings{AllowContentMigration: true}}); err != nil {
		t.Fatal(err)
	}
	if rs := log.records(t, "postgres store: transaction retried"); len(rs) != 1 || rs[0]["level"] != "DEBUG" || rs[0]["sqlstate"] != "40001" {
		t.Errorf("retry records = %v, want one at DEBUG with sqlstate 40001", rs)
	}
	if _, err := svc.CreateOrg(ctx, claim.Org{ID: "home", Name: "Home", Kind: claim.Individual,
		CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	verifyDomain(t, svc, dns, "acme", "acme.example")
	for _, a := range []string{"ann@acme.example", "bob@acme.example"} {
		if _, err := svc.AddUser(ctx, "home", claim.NewUser{Email: a}); err != nil {
			t.Fatal(err)
		}
	}
	file := claim.ColumnEmail + "," + claim.ColumnClaim + "\n" + "ann@acme.example,TRUE\nbob@acme.example,TRUE\nnobody@acme.example,TRUE\n"
	rep, err := svc.ImportClaims(ctx, "acme", strings.NewReader(file), claim.ImportOptions{Acknowledge: true})
	if err != nil || rep.Claimed != 2 || rep.Refused != 1 {
		t.Fatalf("ImportClaims() = %+v, %v; want 2 claimed and 1 refused", rep, err)
	}
	start := log.records(t, "claim: import started")
	end := log.records(t, "claim: import done")
	if len(start) != 1 || start[0]["level"] != "INFO" || start[0]["org"] != "acme" {
		t.Errorf("import start records = %v, want one at INFO for org acme", start)
	}
	if len(end) != 1 || end[0]["level"] != "INFO" || end[0]["claimed"] != float64(2) || end[0]["refused"] != float64(1) || end[0]["took"] == nil {
		t.Errorf("import end records = %v, want one at INFO with claimed 2, refused 1 and the duration", end)
	}
	rows := log.records(t, "claim: import row")
	if len(rows) != 1 || rows[0]["level"] != "DEBUG" || rows[0]["email"] != "nobody@acme.example" || rows[0]["code"] != "not_found" {
		t.Errorf("import row records = %v, want one at DEBUG naming nobody@acme.example with code not_found", rows)
	}
	// A sweep that resolves the two delayed claims (the org allows content
	// migration, the users' org is old: M2).
	clock.Advance(15 * 24 * time.Hour)
	if rep, err := svc.Sweep(ctx); err != nil || rep.Expired != 2 {
		t.Fatalf("Sweep() = %+v, %v; want 2 expired", rep, err)
	}
	if rs := log.records(t, "claim: sweep done"); len(rs) != 1 || rs[0]["level"] != "INFO" || rs[0]["expired"] != float64(2) || rs[0]["took"] == nil {
		t.Errorf("sweep records = %v, want one at INFO with expired 2 and the duration", rs)
	}
	log.mu.Lock()
	all := log.buf.String()
	log.mu.Unlock()
	for line := range strings.Lines(all) {
		if !strings.Contains(line, `"level":"DEBUG"`) && strings.Contains(line, "@") {
			t.Errorf("an address logged above Debug: %s", line)
		}
	}
}
