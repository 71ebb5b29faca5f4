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
// store, the start and end of an import with its counts and duration,
// the store's record of a transaction it ran again with its SQLSTATE,
// and the addresses of refused rows only at Debug.
func TestServiceLogs(t *testing.T) {
	t.Parallel()
	pg, _ := newStore(t)
	store := &retryFirst{Store: pg}
	log := &logBuffer{}
	dns := claimtest.NewResolver()
	ctx := t.Context()
	svc, err := claim.New(store, claim.WithLogger(log.logger()), claim.WithResolver(dns),
		claim.WithClock(claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))))
	if err != nil {
		t.Fatal(err)
	}
	store.armed = true
	if _, err := svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
		t.Fatal(err)
	}
	if rs := log.records(t, "postgres store: transaction retried"); len(rs) != 1 || rs[0]["level"] != "DEBUG" || rs[0]["sqlstate"] != "40001" {
		t.Errorf("retry records = %v, want one at DEBUG with sqlstate 40001", rs)
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
	end := log.records(t, "claim: import finished")
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
	log.mu.Lock()
	all := log.buf.String()
	log.mu.Unlock()
	for line := range strings.Lines(all) {
		if !strings.Contains(line, `"level":"DEBUG"`) && strings.Contains(line, "@") {
			t.Errorf("an address logged above Debug: %s", line)
		}
	}
}
