package postgres_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/postgres"
)

// TestRoundTrips counts the round trips of the service's main operations
// on one connection whose statements are already prepared, and holds
// each to the figure the package documentation gives ("Round trips"): a
// change that sends one more request per operation fails here.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	_, dsn := newSchema(t)
	var rt roundTrips
	var st statements
	store := postgres.New(countedPoolOf(t, dsn, 1, &rt, &st))
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	f, ids := claimWorld(t, store, 600)
	svc, clock := f.svcs[0], f.clock
	ctx := t.Context()
	next := 0
	claimOne := func() claim.UserID {
		id := ids[next]
		next++
		mustClaim(t, svc, "acme", []claim.UserID{id}, claim.Delayed)
		return id
	}
	var csv bytes.Buffer
	csv.WriteString(claim.ColumnEmail + "," + claim.ColumnClaim + "\n")
	for _, id := range ids[300:556] {
		fmt.Fprintf(&csv, "%s,TRUE\n", strings.Replace(strings.TrimPrefix(string(id), "usr_"), "_", "-", 1)+"@target.example")
	}
	var claimed claim.UserID
	ops := []struct {
		name    string
		max     float64
		prepare func() // before run, not counted
		run     func()
	}{
		{"ClaimUsers, one user", 4, nil, func() { claimOne() }},
		{"Retract", 3, func() { claimed = claimOne() }, func() {
			if err := svc.Retract(ctx, "acme", claimed); err != nil {
				t.Errorf("Retract() = %v", err)
			}
		}},
		{"Events, a page", 1, nil, func() {
			for _, err := range svc.Events(ctx, 0) {
				if err != nil {
					t.Errorf("Events() = %v", err)
				}
			}
		}},
		{"Sweep, 3 claims due", 5, func() {
			for range 3 {
				claimOne()
			}
			clock.Advance(15 * 24 * time.Hour)
		}, func() {
			if rep, err := svc.Sweep(ctx); err != nil || rep.Expired < 3 {
				t.Errorf("Sweep() = %+v, %v", rep, err)
			}
		}},
		{"ImportClaims, dry run, 256 rows", 5, nil, func() {
			rep, err := svc.ImportClaims(ctx, "acme", bytes.NewReader(csv.Bytes()), claim.ImportOptions{Acknowledge: true, DryRun: true})
			if err != nil || rep.Claimed != 256 {
				t.Errorf("ImportClaims(dry run) = %+v, %v; want 256 claimed", rep, err)
			}
		}},
		{"ImportClaims, 256 rows", 6, func() {
			// Release what the last run claimed.
			for u, err := range svc.Retractable(ctx, "acme") {
				if err != nil {
					t.Fatal(err)
				}
				if err := svc.Retract(ctx, "acme", u.ID); err != nil {
					t.Fatal(err)
				}
			}
		}, func() {
			rep, err := svc.ImportClaims(ctx, "acme", bytes.NewReader(csv.Bytes()), claim.ImportOptions{Acknowledge: true})
			if err != nil || rep.Claimed != 256 {
				t.Errorf("ImportClaims() = %+v, %v; want 256 claimed", rep.Claimed, err)
			}
		}},
	}
	for _, op := range ops {
		for range 2 { // the first run prepares the statements on the connection
			if op.prepare != nil {
				op.prepare()
			}
			rt.n.Store(0)
			op.run()
		}
		if op.prepare != nil {
			op.prepare()
		}
		trips, stmts := measure(&rt, &st, 1, op.run)
		t.Logf("%s: %.0f round trips; statements:\n%s", op.name, trips, strings.Join(stmts, "\n"))
		if op.max > 0 && trips > op.max {
			t.Errorf("%s took %.0f round trips, want at most %.0f", op.name, trips, op.max)
		}
	}
}
