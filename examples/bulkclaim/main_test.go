package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runIn runs the command in a fresh directory and returns its output.
// Its stderr is not a terminal.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runInTerminal(t, dir, false, args...)
}

// runInTerminal is runIn, with stderr taken for a terminal if terminal is
// set.
func runInTerminal(t *testing.T, dir string, terminal bool, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	err = runOn(context.Background(), args, &out, &errOut, terminal)
	return out.String(), errOut.String(), err
}

// count returns the number on the summary line that starts with label.
func count(t *testing.T, out, label string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(label) + `\s+(\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", label, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestTour(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := runInTerminal(t, dir, true, "-demo-users", "400", "-acknowledge")
	if err != nil {
		t.Fatalf("run = %v\n%s", err, errOut)
	}
	exported := regexp.MustCompile(`\((\d+) rows\)`).FindStringSubmatch(out)
	if exported == nil {
		t.Fatalf("no export line in:\n%s", out)
	}
	rows, _ := strconv.Atoi(exported[1])
	claimed, refused, skipped := count(t, out, "claimed"), count(t, out, "refused"), count(t, out, "skipped")
	// The edit adds two rows: an unknown address and a repeat of the first.
	if claimed+refused+skipped != rows+2 || claimed == 0 || refused == 0 || skipped == 0 {
		t.Errorf("claimed %d + refused %d + skipped %d, want %d rows with some of each:\n%s", claimed, refused, skipped, rows+2, out)
	}
	for _, want := range []string{"no account has the address", "already claimed", "not selected (Claim is FALSE)",
		"delayed claim no longer applies (re-export)", "invalid cell value"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// The problem rows are listed by line: the first data row is line 2,
	// and the edit puts a typo in the third one's Claim cell (line 4).
	if !regexp.MustCompile(`(?m)^  line 4  \S+@\S+: .*Claim "yes please"`).MatchString(out) {
		t.Errorf("summary lacks line 4, its Claim cell mistyped:\n%s", out)
	}
	if !strings.Contains(errOut, "100%") {
		t.Errorf("progress bar did not reach 100%%: %q", errOut)
	}
	// The plan printed before the import forecasts its counts (L2).
	m := regexp.MustCompile(`totals: (\d+) rows, (\d+) claimable .*, (\d+) refused, (\d+) skipped`).FindStringSubmatch(out)
	if m == nil || m[1] != strconv.Itoa(rows+2) || m[2] != strconv.Itoa(claimed) || m[3] != strconv.Itoa(refused) || m[4] != strconv.Itoa(skipped) {
		t.Errorf("plan totals %q, want %d rows, %d claimable, %d refused, %d skipped:\n%s", m, rows+2, claimed, refused, skipped, out)
	}
}

// TestPlanDirectory: with -directory, the plan says which claimed users
// the next full sync would deactivate, and when the purge deletes them.
func TestPlanDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, err := runIn(t, dir, "-demo-users", "200", "-export", "c.csv"); err != nil {
		t.Fatalf("export = %v\n%s", err, errOut)
	}
	csv, err := os.ReadFile(dir + "/c.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	first := strings.Split(lines[1], ",")[3] // the first user's address: in the directory
	if err := os.WriteFile(dir+"/dir.txt", []byte(strings.ToUpper(first)+"\nnobody@acme.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runIn(t, dir, "-demo-users", "200", "-import", "c.csv", "-directory", "dir.txt", "-dry-run", "-acknowledge")
	if err != nil {
		t.Fatalf("run = %v\n%s", err, errOut)
	}
	rows := len(lines) - 1
	if !strings.Contains(out, fmt.Sprintf("%d deactivated by the next full sync", rows-1)) {
		t.Errorf("want %d of %d rows deactivated by the next sync:\n%s", rows-1, rows, out)
	}
	firstRow := regexp.MustCompile(`(?m)^  2 +` + regexp.QuoteMeta(first) + ` .*$`).FindString(out)
	secondRow := regexp.MustCompile(`(?m)^  3 .*deactivates; purged \d{4}-\d{2}-\d{2}$`).FindString(out)
	if firstRow == "" || strings.Contains(firstRow, "deactivates") || secondRow == "" {
		t.Errorf("row of %s %q (in the directory), next row %q:\n%s", first, firstRow, secondRow, out)
	}
}

func TestExportThenImport(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, err := runIn(t, dir, "-demo-users", "200", "-export", "c.csv"); err != nil {
		t.Fatalf("export = %v\n%s", err, errOut)
	}
	if _, err := os.Stat(dir + "/c.csv"); err != nil {
		t.Fatal(err)
	}
	// The import without the acknowledgement is refused before it starts,
	// a dry run too.
	for _, args := range [][]string{{"-import", "c.csv"}, {"-import", "c.csv", "-dry-run"}} {
		out, _, err := runIn(t, dir, append([]string{"-demo-users", "200"}, args...)...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "-acknowledge") || out != "" {
			t.Errorf("run(%q) = %v (exit %d), output %q; want a usage error naming -acknowledge, exit 2, no output", args, err, exitCode(err), out)
		}
	}
	// The demo data set is the same on every run, so the file of one run
	// imports into the next; a dry run forecasts the real run.
	dry, _, err := runIn(t, dir, "-demo-users", "200", "-import", "c.csv", "-dry-run", "-acknowledge")
	if err != nil {
		t.Fatal(err)
	}
	real, errOut, err := runIn(t, dir, "-demo-users", "200", "-import", "c.csv", "-acknowledge")
	if err != nil {
		t.Fatal(err)
	}
	// The plan before, and the summary past its three counts (its first
	// four lines), are the same text.
	rest := func(s, verb string) string {
		i := strings.Index(s, verb+" of c.csv")
		if i < 0 {
			return "no summary"
		}
		return s[:i] + strings.Join(strings.Split(s[i:], "\n")[4:], "\n")
	}
	if n := count(t, real, "claimed"); n == 0 || n != count(t, dry, "would be claimed") ||
		count(t, real, "refused") != count(t, dry, "refused") || count(t, real, "skipped") != count(t, dry, "skipped") ||
		rest(real, "import") != rest(dry, "dry run") || !strings.Contains(real, "plan of c.csv into org acme:") {
		t.Errorf("dry run:\n%s\nreal run:\n%s", dry, real)
	}
	if errOut != "" {
		t.Errorf("stderr, not a terminal = %q, want no progress bar", errOut)
	}
}

func TestBadUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		reason string
		args   []string
		code   int
	}{
		{"an unknown flag", []string{"-nope"}, 2},
		{"an argument", []string{"extra", "-acknowledge"}, 2},
		{"a negative count", []string{"-demo-users", "-1", "-acknowledge"}, 2},
		{"the tour without the acknowledgement", []string{"-demo-users", "10"}, 2},
		{"-migrate without -postgres", []string{"-migrate", "-export", "x.csv"}, 2},
		{"-postgres without -export or -import", []string{"-postgres", "postgres://nobody@127.0.0.1:1/none", "-acknowledge"}, 2},
		{"a missing file", []string{"-import", "missing.csv", "-acknowledge", "-demo-users", "1"}, 1},
		{"an unknown org", []string{"-org", "nobody", "-export", "x.csv", "-demo-users", "1"}, 1},
	}
	for _, tt := range tests {
		out, _, err := runIn(t, dir, tt.args...)
		if got := exitCode(err); err == nil || got != tt.code {
			t.Errorf("%s: run(%q) = %v, exit %d; want exit %d", tt.reason, tt.args, err, got, tt.code)
		}
		if tt.code == 2 && out != "" {
			t.Errorf("%s: run(%q) wrote %q, want nothing done", tt.reason, tt.args, out)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files after refused runs = %v, want none", entries)
	}
}

func TestHelp(t *testing.T) {
	_, errOut, err := runIn(t, t.TempDir(), "-h")
	if code := exitCode(err); code != 0 || !strings.Contains(errOut, "usage: bulkclaim") {
		t.Errorf("run(-h) = %v, exit %d, stderr %q; want the usage and exit 0", err, code, errOut)
	}
}

func TestProgressBarOnlyOnTerminal(t *testing.T) {
	dir := t.TempDir()
	for _, terminal := range []bool{false, true} {
		_, errOut, err := runInTerminal(t, dir, terminal, "-demo-users", "50", "-acknowledge")
		if err != nil {
			t.Fatalf("tour = %v", err)
		}
		if drawn := strings.Contains(errOut, "100%"); drawn != terminal {
			t.Errorf("terminal %v: stderr %q, want a progress bar %v", terminal, errOut, terminal)
		}
	}
	_, errOut, err := runInTerminal(t, dir, true, "-demo-users", "50", "-acknowledge", "-progress=false")
	if err != nil || errOut != "" {
		t.Errorf("tour -progress=false = %v, stderr %q; want no bar", err, errOut)
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("isTerminal(a buffer) = true")
	}
}
