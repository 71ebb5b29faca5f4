package postgres_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// The crash test's child process: the environment tells it the schema's
// DSN and the file to import.
const (
	envCrashDSN  = "CLAIM_CRASH_CHILD_DSN"
	envCrashFile = "CLAIM_CRASH_CHILD_FILE"
)

// crashNow is the clock of the parent and the child.
var crashNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestImportCrash: a process importing a 50,000-row CSV file (5,000 with
// -short) is killed with SIGKILL in the middle of the import. The
// database is consistent: each row is claimed entirely (the user in the
// claiming org with its pending claim, its original held in the old org
// with the content, claim.created and notify.claim) or not at all (the
// user untouched, no event), and the claimed rows are the file's first
// ones, the rows the child reported done among them. Importing the same file again claims the rest and skips the
// rows already claimed (V4).
func TestImportCrash(t *testing.T) {
	if dsn := os.Getenv(envCrashDSN); dsn != "" {
		crashChild(t, dsn, os.Getenv(envCrashFile))
		return
	}
	t.Parallel()
	n := 50_000
	if testing.Short() {
		n = 5_000
	}
	_, dsn := newSchema(t)
	f := newFleetOn(t, dsn)
	f.clock.Set(crashNow)
	ctx := t.Context()
	f.mustOrg(t, "ent", claim.Enterprise, raceOldOrg, claim.Settings{})
	f.mustOrg(t, "b", claim.Enterprise, raceOldOrg, claim.Settings{AutoLicenses: []string{"Meetings"}})
	f.mustVerify(t, "b", "crash.example")
	ids, content := f.mustUsers(t, "ent", "c", "crash.example", n, claim.Verified)
	var file strings.Builder
	file.WriteString("User ID/Email (Required),Claim Type,Claim\n")
	for i := range n {
		fmt.Fprintf(&file, "c-%05d@crash.example,Immediate,TRUE\n", i)
	}
	path := filepath.Join(t.TempDir(), "claims.csv")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	seqBefore := lastSeq(t, f.svcs[0])

	// The child imports; it prints the rows done after every committed
	// batch. It is killed once a fifth of the file is done.
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestImportCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDSN+"="+dsn, envCrashFile+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reported := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "crash-child: done "); ok {
			t.Fatalf("the child finished before it was killed (%s): make the file longer", rest)
		}
		if rest, ok := strings.CutPrefix(line, "crash-child: rows "); ok {
			reported, _ = strconv.Atoi(rest)
			if reported >= n/5 {
				if err := cmd.Process.Kill(); err != nil { // SIGKILL
					t.Fatal(err)
				}
				break
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("child: %v, want killed by a signal", err)
	}
	t.Logf("child killed after %v, having reported %d rows done", time.Since(start).Round(time.Millisecond), reported)

	claimed := crashCheck(t, f, ids, seqBefore)
	if len(claimed) < reported || len(claimed) >= n {
		t.Fatalf("%d rows claimed after the kill; the child reported %d done of %d", len(claimed), reported, n)
	}
	// Batches commit in file order: the claimed rows are the file's first
	// ones, those reported done among them.
	for i, id := range ids[:len(claimed)] {
		if !claimed[id] {
			t.Fatalf("row %d (%s) is not claimed, yet %d rows are", i+1, id, len(claimed))
		}
	}
	checkFleet(t, f, []claim.OrgID{"ent", "b"}, content)

	// Importing the file again finishes the rest and claims nothing twice.
	start = time.Now()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	rep, err := f.svcs[1].ImportClaims(ctx, "b", in, claim.ImportOptions{Acknowledge: true})
	if err != nil {
		t.Fatalf("ImportClaims again = %v", err)
	}
	t.Logf("re-import of %d rows in %v: %d claimed, %d skipped", n, time.Since(start).Round(time.Millisecond), rep.Claimed, rep.Skipped)
	if rep.Claimed != n-len(claimed) || rep.Skipped != len(claimed) || rep.Refused != 0 {
		t.Errorf("re-import: %d claimed, %d skipped, %d refused; want %d, %d, 0", rep.Claimed, rep.Skipped, rep.Refused, n-len(claimed), len(claimed))
	}
	for _, r := range rep.Rows {
		if !errors.Is(r.Err, claim.ErrAlreadyClaimed) {
			t.Fatalf("re-import row %d: %v, want ErrAlreadyClaimed", r.Line, r.Err)
		}
	}
	if all := crashCheck(t, f, ids, seqBefore); len(all) != n {
		t.Errorf("after the re-import %d of %d rows are claimed", len(all), n)
	}
	checkFleet(t, f, []claim.OrgID{"ent", "b"}, content)
}

// crashChild is the child process of TestImportCrash.
func crashChild(t *testing.T, dsn, path string) {
	st := open(t, dsn)
	svc, err := claim.New(st, claim.WithClock(claimtest.NewClock(crashNow)))
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	rep, err := svc.ImportClaims(t.Context(), "b", in, claim.ImportOptions{Acknowledge: true,
		Progress: func(rows int) { fmt.Printf("crash-child: rows %d\n", rows) }})
	fmt.Printf("crash-child: done %d claimed, %v\n", rep.Claimed, err)
}

// crashCheck checks that each of the users is claimed entirely or not at
// all, with exactly the events of its claim since seqBefore, and returns
// the claimed ones.
func crashCheck(t *testing.T, f *fleet, ids []claim.UserID, seqBefore uint64) map[claim.UserID]bool {
	t.Helper()
	ctx := t.Context()
	claimed := map[claim.UserID]bool{}
	for u, err := range f.svcs[2].Users(ctx, "b") {
		if err != nil {
			t.Fatalf("Users(b) = %v", err)
		}
		c := u.Claim
		if c == nil || c.By != "b" || c.From != "ent" || c.Mode != claim.Immediate || u.Content != 0 ||
			!slices.Equal(u.Licenses, []string{"Meetings"}) || !c.At.Equal(crashNow) {
			t.Fatalf("%s in b: %+v, claim %+v; want an immediate claim from ent made at the crash test's time", u.Email, u, c)
		}
		claimed[u.ID] = true
	}
	for u, err := range f.svcs[2].Users(ctx, "ent") {
		if err != nil {
			t.Fatalf("Users(ent) = %v", err)
		}
		if u.HeldBy == "" && (u.Claim != nil || u.Content == 0) {
			t.Fatalf("unclaimed %s in ent: %+v; want untouched", u.Email, u)
		}
	}
	events := map[claim.UserID][]string{}
	for ev, err := range f.svcs[2].Events(ctx, seqBefore) {
		if err != nil {
			t.Fatalf("Events() = %v", err)
		}
		events[ev.User] = append(events[ev.User], ev.Type)
	}
	for _, id := range ids {
		want := []string(nil)
		if claimed[id] {
			want = []string{claim.EventClaimCreated, claim.EventNotifyClaim}
		}
		if got := events[id]; !slices.Equal(got, want) {
			t.Fatalf("events of %s (claimed %v): %v, want %v", id, claimed[id], got, want)
		}
	}
	if len(events) != len(claimed) {
		t.Errorf("events name %d users, %d are claimed", len(events), len(claimed))
	}
	return claimed
}
