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

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// TestApplyRunsKeepEveryColumn writes users with BulkTx.Apply as runs
// (creates, then updates of the users the transaction has read, each a
// statement over arrays) and reads them back: every column of every user
// comes back as written, whatever number of licenses each has (none,
// one, several, spelled with the characters an SQL array literal quotes),
// with or without a claim and with zero and non-zero times.
func TestApplyRunsKeepEveryColumn(t *testing.T) {
	s, _ := newStore(t)
	var round int
	rapid.Check(t, func(rt *rapid.T) {
		round++
		n := rapid.IntRange(1, 12).Draw(rt, "users")
		gen := func(label string) []claim.User {
			us := make([]claim.User, n)
			for i := range us {
				us[i] = drawUser(rt, fmt.Sprintf("%s%d", label, i), fmt.Sprintf("r%d-u%d@x.example", round, i),
					fmt.Sprintf("usr_r%d_%d", round, i))
			}
			return us
		}
		created, updated := gen("create"), gen("update")
		writes := func(op claim.WriteOp, us []claim.User) []claim.Write {
			ws := make([]claim.Write, len(us))
			for i, u := range us {
				ws[i] = claim.Write{Op: op, User: u}
			}
			return ws
		}
		for _, step := range []struct {
			op   claim.WriteOp
			want []claim.User
		}{{claim.WriteCreateUser, created}, {claim.WriteUpdateUser, updated}} {
			err := s.Update(t.Context(), func(tx claim.Tx) error {
				for _, u := range step.want { // read first: an update of a user read goes in a run
					if _, err := tx.User(u.ID); err != nil && step.op == claim.WriteUpdateUser {
						return err
					}
				}
				return tx.(claim.BulkTx).Apply(writes(step.op, step.want))
			})
			if err != nil {
				rt.Fatalf("Apply(%v) = %v", step.op, err)
			}
			mustViewRapid(rt, s, func(tx claim.Tx) error {
				for _, want := range step.want {
					got, err := tx.User(want.ID)
					if err != nil {
						return err
					}
					if d := cmp.Diff(want, got); d != "" {
						rt.Errorf("user %s after Apply(%v), -written +read:\n%s", want.ID, step.op, d)
					}
				}
				return nil
			})
		}
	})
}

// drawUser draws a storable user with the ID and address.
func drawUser(rt *rapid.T, label, email, id string) claim.User {
	anyTime := func(name string) time.Time {
		if rapid.Bool().Draw(rt, name+"Zero") {
			return time.Time{}
		}
		return time.Unix(0, rapid.Int64Range(-1<<60, 1<<60).Draw(rt, name)).UTC()
	}
	license := rapid.SampledFrom([]string{"a", "b,c", `"q"`, "{x}", "NULL", "", " s ", `back\slash`, "ü"})
	var lics []string
	if k := rapid.IntRange(0, 4).Draw(rt, label+"Licenses"); k > 0 {
		lics = rapid.SliceOfN(license, k, k).Draw(rt, label+"License")
	}
	u := claim.User{ID: claim.UserID(id), Email: email, FirstName: "F", LastName: label, DisplayName: "D",
		Org: "o", State: claim.State(rapid.IntRange(1, 5).Draw(rt, label+"State")), Licenses: lics,
		Content:   rapid.IntRange(0, 1<<40).Draw(rt, label+"Content"),
		CreatedAt: anyTime(label + "Created"), LastSignIn: anyTime(label + "SignIn"),
		InactiveSince: anyTime(label + "Inactive"), ActivationSent: anyTime(label + "Activation")}
	if rapid.Bool().Draw(rt, label+"Held") {
		u.HeldBy = "h"
	}
	if rapid.Bool().Draw(rt, label+"Claim") {
		u.Claim = &claim.ClaimInfo{By: "b", From: "f", Mode: claim.Mode(rapid.IntRange(1, 2).Draw(rt, label+"Mode")),
			PrevState: claim.State(rapid.IntRange(1, 5).Draw(rt, label+"Prev")), At: anyTime(label + "At"),
			Deadline: anyTime(label + "Deadline"), SignedIn: rapid.Bool().Draw(rt, label+"SignedIn"),
			Original: "usr_orig", Ended: anyTime(label + "Ended"),
			Outcome: claim.Action(rapid.IntRange(0, 3).Draw(rt, label+"Outcome"))}
	}
	return u
}

// mustViewRapid runs fn in a View, failing rt on an error.
func mustViewRapid(rt *rapid.T, s claim.Store, fn func(tx claim.Tx) error) {
	if err := s.View(rt.Context(), fn); err != nil {
		rt.Fatalf("View() = %v", err)
	}
}

// TestUsersByEmailsCachesWhatItReads reads users with UsersByEmails, which
// also reads their orgs and the records of their domains, then asks the
// transaction for those orgs and domains: its answers are those of a
// transaction that reads each one on its own, for an org that exists and
// one that does not, a domain with records of two orgs (one claiming it),
// a domain with none and an address of no account.
func TestUsersByEmailsCachesWhatItReads(t *testing.T) {
	s, _ := newStore(t)
	mustUpdate(t, s, func(tx claim.Tx) error {
		for _, o := range []claim.OrgID{"a", "b"} {
			if err := tx.CreateOrg(claim.Org{ID: o, Name: string(o), Kind: claim.Enterprise, Settings: claim.Settings{AutoLicenses: []string{"l-" + string(o)}}}); err != nil {
				return err
			}
		}
		for _, d := range []claim.Domain{{Org: "a", Name: "two.example", Token: "ta", Verified: true, Claimed: true},
			{Org: "b", Name: "two.example", Token: "tb"}, {Org: "b", Name: "other.example", Token: "to"}} {
			if err := tx.PutDomain(d); err != nil {
				return err
			}
		}
		for _, u := range []claim.User{{ID: "u1", Email: "u1@two.example", Org: "a", State: claim.Active},
			{ID: "u2", Email: "u2@none.example", Org: "gone", State: claim.Active}} {
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	// answers lists what tx says of the orgs and domains.
	answers := func(tx claim.Tx) []string {
		var out []string
		for _, o := range []claim.OrgID{"a", "gone"} {
			got, err := tx.Org(o)
			out = append(out, fmt.Sprintf("Org(%s) = %+v, %v", o, got, err))
		}
		for _, name := range []string{"two.example", "none.example", "nobody.example"} {
			for _, o := range []claim.OrgID{"a", "b"} {
				got, err := tx.Domain(o, name)
				out = append(out, fmt.Sprintf("Domain(%s, %s) = %+v, %v", o, name, got, err))
			}
			c, err := tx.DomainClaimant(name)
			out = append(out, fmt.Sprintf("DomainClaimant(%s) = %q, %v", name, c, err))
		}
		return out
	}
	var want, got []string
	mustView(t, s, func(tx claim.Tx) error { want = answers(tx); return nil })
	mustView(t, s, func(tx claim.Tx) error {
		us, err := tx.(claim.BulkTx).UsersByEmails([]string{"u1@two.example", "u2@none.example", "x@nobody.example"})
		if err != nil {
			return err
		}
		if len(us) != 2 {
			t.Errorf("UsersByEmails() = %d users, want 2", len(us))
		}
		got = answers(tx)
		return nil
	})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("answers after UsersByEmails, -read alone +after UsersByEmails:\n%s", d)
	}
}

// TestImportMatchesMemoryStore imports one file into a PostgreSQL store
// and into a memory store holding the same users, and compares the
// reports, the users and the events: the bulk path (UsersByEmails with
// the orgs and domains it reads ahead, Apply's runs) decides and writes
// every row as the memory store does. The file mixes claims of users of
// two source orgs (an individual one and an enterprise one), an address
// twice, an address of no account, users already claimed, a user on a
// domain the importing org has not verified, a row not selected, an
// address that is not one, and license columns that grant and withhold.
func TestImportMatchesMemoryStore(t *testing.T) {
	mem := importOnBoth(t, func(svc *claim.Service) string {
		ctx := t.Context()
		var ids []claim.UserID
		for i, a := range []struct {
			org   claim.OrgID
			email string
		}{{"src", "s1@target.example"}, {"src", "s2@target.example"}, {"ent", "e1@target.example"},
			{"src", "done@target.example"}, {"src", "o1@other.example"}, {"ent", "e2@target.example"}} {
			u, err := svc.AddUser(ctx, a.org, claim.NewUser{Email: a.email, Content: i})
			if err != nil {
				t.Fatalf("AddUser(%s) = %v", a.email, err)
			}
			ids = append(ids, u.ID)
		}
		if _, err := svc.ClaimUsers(ctx, "acme", ids[3:4], claim.ClaimOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		file := strings.Join([]string{
			"User ID/Email (Required),Claim,Claim Type,messaging,calling",
			"s1@target.example,TRUE,,FALSE,",
			"E1@Target.Example,TRUE,Immediate,,TRUE",
			"s1@target.example,TRUE,,,",
			"nobody@target.example,TRUE,,,",
			"done@target.example,TRUE,,,",
			"o1@other.example,TRUE,,,",
			"s2@target.example,FALSE,,,",
			"not an address,TRUE,,,",
			"e2@target.example,TRUE,Delayed,TRUE,FALSE",
			"s2@target.example,TRUE,Delayed,,",
		}, "\n") + "\n"
		return file
	})
	if mem.Report.Claimed != 3 {
		t.Errorf("the memory store claimed %d rows, want 3: %+v %v", mem.Report.Claimed, mem.Report, mem.Codes)
	}
}

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
