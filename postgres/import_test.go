package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// The store runs Updates side by side (claim.ParallelStore), so
// ImportClaims overlaps its batches: each one's transaction starts once
// the one before has read its users, and commits only after it. The tests
// below import files of several batches and check what that must not
// change: the rows committed are the file's first ones whatever stops the
// import, and the outcome is the memory store's, which runs batches one
// at a time.

// importNow is the clock of the import tests.
var importNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// importService returns a service on store with org src (individual,
// created in 2019: its users' claims are delayed), org ent (enterprise:
// immediate) and org acme, which allows content migration, has verified
// target.example and grants messaging and calling.
func importService(t *testing.T, store claim.Store, opts ...claim.Option) *claim.Service {
	t.Helper()
	ctx := t.Context()
	dns := claimtest.NewResolver()
	svc, err := claim.New(store, append([]claim.Option{claim.WithClock(claimtest.NewClock(importNow)), claim.WithResolver(dns)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []claim.Org{
		{ID: "src", Name: "Src", Kind: claim.Individual, CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "ent", Name: "Ent", Kind: claim.Enterprise},
		{ID: "acme", Name: "Acme", Kind: claim.Enterprise, Settings: claim.Settings{AllowContentMigration: true,
			AutoLicenses: []string{"messaging", "calling"}}},
	} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			t.Fatalf("CreateOrg(%s) = %v", o.ID, err)
		}
	}
	verifyDomain(t, svc, dns, "acme", "target.example")
	return svc
}

// addSrcUsers adds n active users of org src, created and last signed
// in on 1 March 2026, at prefix-000000@target.example and on, in one
// statement, and returns their addresses in order.
func addSrcUsers(tb testing.TB, schema, prefix string, n int) []string {
	tb.Helper()
	_, err := adminPool(tb).Exec(tb.Context(), fmt.Sprintf(`
		INSERT INTO %s (id, email, first_name, last_name, display_name, org_id, state, licenses, content, created_at, last_sign_in)
		SELECT 'usr_' || substr(md5($1 || '.' || g::text), 1, 20), $1 || '-' || lpad(g::text, 6, '0') || '@target.example',
			'F', 'L', 'F L', 'src', 3, '{}', 1, $3::bigint, $3::bigint
		FROM generate_series(0, $2::int - 1) AS g`, qualified(schema, "users")), prefix, n,
		time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	if err != nil {
		tb.Fatalf("adding the users: %v", err)
	}
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("%s-%06d@target.example", prefix, i)
	}
	return emails
}

// claimFile is an import file claiming the addresses, in order.
func claimFile(emails []string) string {
	var b strings.Builder
	b.WriteString(claim.ColumnEmail + "," + claim.ColumnClaim + "\n")
	for _, e := range emails {
		b.WriteString(e + ",TRUE\n")
	}
	return b.String()
}

// claimedRows returns how many of the addresses, in order, acme has
// claimed, failing the test unless they are the first ones; and the
// claim.created events of those users.
func claimedRows(t *testing.T, schema string, emails []string) (rows, events int) {
	t.Helper()
	ctx := t.Context()
	r, err := adminPool(t).Query(ctx, fmt.Sprintf(`SELECT email FROM %s WHERE email = ANY($1) AND claim_by = 'acme'`,
		qualified(schema, "users")), emails)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	claimed := make(map[string]bool, len(list))
	for _, e := range list {
		claimed[e] = true
	}
	for i, e := range emails {
		if claimed[e] != (i < len(claimed)) {
			t.Fatalf("%d of the %d rows are claimed, and row %d (%s) is claimed: %v; want the file's first %d rows claimed",
				len(claimed), len(emails), i+1, e, claimed[e], len(claimed))
		}
	}
	err = adminPool(t).QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s e JOIN %s u ON u.id = e.user_id
		WHERE e.type = $1 AND u.email = ANY($2) AND u.held_by IS NULL`, qualified(schema, "events"), qualified(schema, "users")),
		claim.EventClaimCreated, emails).Scan(&events)
	if err != nil {
		t.Fatal(err)
	}
	return len(claimed), events
}

// importOutcome is what an import leaves: its report, the report rows'
// error codes (apart, as errors of two stores do not compare), every
// user of orgs src, ent and acme in address order (org, state, licenses,
// claim), and the events in the log's order.
type importOutcome struct {
	Report claim.ImportReport
	Codes  []string
	Users  []string
	Events []string
}

// outcomeOf returns what the import that reported rep left in svc.
func outcomeOf(t *testing.T, svc *claim.Service, rep claim.ImportReport) importOutcome {
	t.Helper()
	ctx := t.Context()
	out := importOutcome{Report: rep}
	for i, r := range out.Report.Rows {
		out.Codes = append(out.Codes, claim.ErrorCode(r.Err))
		out.Report.Rows[i].Err = nil
	}
	for _, o := range []claim.OrgID{"src", "ent", "acme"} {
		for u, err := range svc.Users(ctx, o) {
			if err != nil {
				t.Fatal(err)
			}
			line := fmt.Sprintf("%s org=%s state=%v licenses=%v content=%d held=%s", u.Email, u.Org, u.State, u.Licenses, u.Content, u.HeldBy)
			if c := u.Claim; c != nil {
				line += fmt.Sprintf(" claim=%s from %s %v prev=%v at=%v deadline=%v", c.By, c.From, c.Mode, c.PrevState, c.At, c.Deadline)
			}
			out.Users = append(out.Users, line)
		}
	}
	for e, err := range svc.Events(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		out.Events = append(out.Events, fmt.Sprintf("%s org=%s from=%s to=%s mode=%v", e.Type, e.Org, e.From, e.Recipient, e.Mode))
	}
	return out
}

// importOnBoth makes a service on a memory store and one on a
// PostgreSQL store (importService), runs prepare on each, imports the
// file prepare returns into acme, and fails the test unless both imports
// leave the same outcome, which it returns.
func importOnBoth(t *testing.T, prepare func(svc *claim.Service) string) importOutcome {
	t.Helper()
	pg, _ := newStore(t)
	var outs []importOutcome
	for _, store := range []claim.Store{claim.NewMemoryStore(), pg} {
		svc := importService(t, store)
		file := prepare(svc)
		rep, err := svc.ImportClaims(t.Context(), "acme", strings.NewReader(file), claim.ImportOptions{Acknowledge: true})
		if err != nil {
			t.Fatalf("ImportClaims() = %v", err)
		}
		outs = append(outs, outcomeOf(t, svc, rep))
	}
	if d := cmp.Diff(outs[0], outs[1]); d != "" {
		t.Errorf("the import on PostgreSQL differs from the memory store's (-memory +postgres):\n%s", d)
	}
	return outs[0]
}

// TestImportParallelMatchesMemoryStore imports a file of three batches
// and a part into a PostgreSQL store, whose batches overlap, and into a
// memory store, whose batches run one at a time, and compares the
// reports, the users and the events in the log's order. Every batch has
// addresses of no account on the claimed domain (whose keys the batches
// then lock exclusive, one waiting for the other), an address repeats
// one of the batch before (that batch then runs alone), and rows claim
// immediately, withhold a license, or are not selected.
func TestImportParallelMatchesMemoryStore(t *testing.T) {
	const rows = 3*claim.ImportBatchRows + 400
	mem := importOnBoth(t, func(svc *claim.Service) string {
		ctx := t.Context()
		var file strings.Builder
		file.WriteString(claim.ColumnEmail + "," + claim.ColumnClaim + "," + claim.ColumnClaimType + ",messaging\n")
		for i := range rows {
			org := claim.OrgID("src")
			if i%5 == 0 {
				org = "ent"
			}
			email := fmt.Sprintf("u%05d@target.example", i)
			switch {
			case i%97 == 3:
				email = fmt.Sprintf("nobody%05d@target.example", i)
			case i == claim.ImportBatchRows+100:
				email = "u00007@target.example" // a row of the first batch
			default:
				if _, err := svc.AddUser(ctx, org, claim.NewUser{Email: email, Content: i % 3}); err != nil {
					t.Fatalf("AddUser(%s) = %v", email, err)
				}
			}
			selected, mode, messaging := "TRUE", "", ""
			switch {
			case i%150 == 1:
				selected = "FALSE"
			case i%7 == 2:
				mode = "Immediate"
			case i%11 == 4:
				messaging = "FALSE"
			}
			fmt.Fprintf(&file, "%s,%s,%s,%s\n", email, selected, mode, messaging)
		}
		return file.String()
	})
	if r := mem.Report; r.Claimed < rows*3/4 || r.Refused == 0 || r.Skipped < 2 {
		t.Errorf("the memory store's report: %d claimed, %d refused, %d skipped; want most rows claimed, some refused and some skipped",
			r.Claimed, r.Refused, r.Skipped)
	}
}

// TestImportParallelCancel cancels imports of several batches at points
// spread over their run, in this process: the rows committed are always
// the file's first ones, as many as the report says were claimed, each
// with its claim.created event, and Progress ends at that number.
func TestImportParallelCancel(t *testing.T) {
	const rows = 4*claim.ImportBatchRows + 300
	store, schema := newStore(t)
	svc := importService(t, store)
	var stopped, whole int
	for i, after := range []time.Duration{0, 5, 15, 30, 50, 80, 120, 180, 260, 400} {
		emails := addSrcUsers(t, schema, fmt.Sprintf("c%d", i), rows)
		ctx, cancel := context.WithCancel(t.Context())
		timer := time.AfterFunc(after*time.Millisecond, cancel)
		progress := 0
		rep, err := svc.ImportClaims(ctx, "acme", strings.NewReader(claimFile(emails)), claim.ImportOptions{Acknowledge: true,
			Progress: func(n int) { progress = n }})
		timer.Stop()
		cancel()
		claimed, events := claimedRows(t, schema, emails)
		if claimed != rep.Claimed || events != claimed || progress != claimed {
			t.Errorf("cancelled after %v: report %d claimed, Progress %d; the database has %d rows claimed and %d claim.created events",
				after*time.Millisecond, rep.Claimed, progress, claimed, events)
		}
		switch {
		case err == nil && claimed == rows:
			whole++
		case errors.Is(err, context.Canceled) && claimed < rows:
			stopped++
		default:
			t.Errorf("cancelled after %v: ImportClaims() = %v with %d of %d rows claimed", after*time.Millisecond, err, claimed, rows)
		}
	}
	t.Logf("%d imports stopped part way, %d finished before their cancellation", stopped, whole)
	if stopped < 3 {
		t.Errorf("only %d imports stopped part way: the cancellations came too late to test anything", stopped)
	}
}

// TestImportParallelPredecessorFails makes the second batch of an import
// of three fail (a trigger refuses the update of its first user) while
// the third runs beside it: the import returns the second batch's error
// and reports the first batch, the only one committed.
func TestImportParallelPredecessorFails(t *testing.T) {
	const rows = 3 * claim.ImportBatchRows
	store, schema := newStore(t)
	svc := importService(t, store)
	emails := addSrcUsers(t, schema, "f", rows)
	_, err := adminPool(t).Exec(t.Context(), fmt.Sprintf(`
		CREATE FUNCTION %[1]s.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.email = %[3]s AND NEW.claim_by IS NOT NULL THEN
				RAISE EXCEPTION 'test: the update of %% is refused', NEW.email;
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse BEFORE UPDATE ON %[2]s FOR EACH ROW EXECUTE FUNCTION %[1]s.refuse()`,
		pgx.Identifier{schema}.Sanitize(), qualified(schema, "users"), "'"+emails[claim.ImportBatchRows]+"'"))
	if err != nil {
		t.Fatal(err)
	}
	onRow := 0
	rep, err := svc.ImportClaims(t.Context(), "acme", strings.NewReader(claimFile(emails)), claim.ImportOptions{Acknowledge: true,
		OnRow: func(claim.RowResult) { onRow++ }})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "P0001" {
		t.Fatalf("ImportClaims() = %v, want the trigger's error (P0001)", err)
	}
	if rep.Claimed != claim.ImportBatchRows || onRow != claim.ImportBatchRows {
		t.Errorf("report %d claimed, OnRow %d rows; want the first batch's %d", rep.Claimed, onRow, claim.ImportBatchRows)
	}
	if claimed, events := claimedRows(t, schema, emails); claimed != claim.ImportBatchRows || events != claimed {
		t.Errorf("the database has %d rows claimed and %d claim.created events; want the first batch's %d", claimed, events, claim.ImportBatchRows)
	}
}

// TestImportParallelYields builds the wait the store cannot see: the
// first batch of an import, in its writes, waits for a lock that the
// second batch, its writes done, holds while it waits for the first to
// commit. (Here a trigger takes the lock; in production it may be a lock
// the first batch takes again after its first attempt failed, or one a
// third transaction queued behind the second makes it wait for.) The
// second batch gives up after its patience, runs again after the first,
// and the import claims every row, logging the second batch's new run at
// Debug.
func TestImportParallelYields(t *testing.T) {
	const rows = claim.ImportBatchRows + 500
	store, schema := newStore(t)
	log := &logBuffer{}
	svc := importService(t, store, claim.WithLogger(log.logger()))
	emails := addSrcUsers(t, schema, "y", rows)
	_, err := adminPool(t).Exec(t.Context(), fmt.Sprintf(`
		CREATE FUNCTION %[1]s.entangle() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.claim_by IS NOT NULL AND OLD.claim_by IS NULL THEN
				IF NEW.email = %[3]s THEN -- the first batch's first row
					PERFORM pg_sleep(0.5);
					-- Waiting for ever would hang the test; 20 s fails it.
					PERFORM set_config('lock_timeout', '20s', true);
					PERFORM pg_advisory_xact_lock(4242);
				ELSIF NEW.email = %[4]s THEN -- the second batch's
					PERFORM pg_advisory_xact_lock(4242);
				END IF;
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER entangle BEFORE UPDATE ON %[2]s FOR EACH ROW EXECUTE FUNCTION %[1]s.entangle()`,
		pgx.Identifier{schema}.Sanitize(), qualified(schema, "users"),
		"'"+emails[0]+"'", "'"+emails[claim.ImportBatchRows]+"'"))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		rep claim.ImportReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := svc.ImportClaims(context.Background(), "acme", strings.NewReader(claimFile(emails)), claim.ImportOptions{Acknowledge: true})
		done <- result{rep, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("ImportClaims has not returned after a minute")
	}
	if r.err != nil || r.rep.Claimed != rows {
		t.Fatalf("ImportClaims() = %d claimed, %v; want all %d", r.rep.Claimed, r.err, rows)
	}
	if claimed, events := claimedRows(t, schema, emails); claimed != rows || events != rows {
		t.Errorf("the database has %d rows claimed and %d claim.created events; want %d", claimed, events, rows)
	}
	again := log.records(t, "claim: import batch runs again after the one before it")
	if len(again) != 1 || again[0]["line"] != float64(claim.ImportBatchRows+2) || again[0]["level"] != "DEBUG" {
		t.Errorf("logged %v; want the second batch (line %d) run again once, at Debug", again, claim.ImportBatchRows+2)
	}
}

// TestImportParallelCallbackWaits has OnRow, while it reports the second
// batch, claim a user of the third batch, which runs beside it and holds
// that user until the second batch is reported: the third batch gives up
// after its patience, OnRow's claim goes through, and the third batch,
// run again, skips that user as already claimed.
func TestImportParallelCallbackWaits(t *testing.T) {
	const rows = 3 * claim.ImportBatchRows
	store, schema := newStore(t)
	svc := importService(t, store)
	emails := addSrcUsers(t, schema, "w", rows)
	var taken claim.UserID
	if err := adminPool(t).QueryRow(t.Context(), fmt.Sprintf(`SELECT id FROM %s WHERE email = $1`, qualified(schema, "users")),
		emails[rows-1]).Scan(&taken); err != nil {
		t.Fatal(err)
	}
	n := 0
	var claimErr error
	done := make(chan struct{})
	var rep claim.ImportReport
	var err error
	go func() {
		defer close(done)
		rep, err = svc.ImportClaims(context.Background(), "acme", strings.NewReader(claimFile(emails)), claim.ImportOptions{Acknowledge: true,
			OnRow: func(claim.RowResult) {
				if n++; n == claim.ImportBatchRows+1 {
					// Waiting for ever would hang the test; 20s fails it.
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					_, claimErr = svc.ClaimUsers(ctx, "acme", []claim.UserID{taken}, claim.ClaimOptions{Acknowledge: true})
				}
			}})
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("ImportClaims has not returned after a minute")
	}
	if err != nil || claimErr != nil || rep.Claimed != rows-1 || rep.Skipped != 1 || !errors.Is(rep.Rows[0].Err, claim.ErrAlreadyClaimed) {
		t.Fatalf("ImportClaims() = %d claimed, %d skipped (%v), %v; OnRow's ClaimUsers: %v; want all but the last claimed, the last skipped as already claimed",
			rep.Claimed, rep.Skipped, rep.Rows, err, claimErr)
	}
	if claimed, events := claimedRows(t, schema, emails); claimed != rows || events != rows {
		t.Errorf("the database has %d rows claimed and %d claim.created events; want %d", claimed, events, rows)
	}
}
