package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runIn runs the command in a fresh directory and returns its output.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
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
	out, errOut, err := runIn(t, dir, "-demo-users", "400")
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
}

func TestExportThenImport(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, err := runIn(t, dir, "-demo-users", "200", "-export", "c.csv"); err != nil {
		t.Fatalf("export = %v\n%s", err, errOut)
	}
	if _, err := os.Stat(dir + "/c.csv"); err != nil {
		t.Fatal(err)
	}
	// The import without the acknowledgement is refused before it starts.
	if _, _, err := runIn(t, dir, "-demo-users", "200", "-import", "c.csv"); err == nil || !strings.Contains(err.Error(), "-acknowledge") {
		t.Errorf("import without -acknowledge = %v, want a refusal naming -acknowledge", err)
	}
	// The demo data set is the same on every run, so the file of one run
	// imports into the next; a dry run forecasts the real run.
	dry, _, err := runIn(t, dir, "-demo-users", "200", "-import", "c.csv", "-dry-run", "-progress=false")
	if err != nil {
		t.Fatal(err)
	}
	real, _, err := runIn(t, dir, "-demo-users", "200", "-import", "c.csv", "-acknowledge", "-progress=false")
	if err != nil {
		t.Fatal(err)
	}
	// Past the three counts (the first four lines), the summaries are the
	// same text.
	rest := func(s string) string { return strings.Join(strings.Split(s, "\n")[4:], "\n") }
	if n := count(t, real, "claimed"); n == 0 || n != count(t, dry, "would be claimed") ||
		count(t, real, "refused") != count(t, dry, "refused") || count(t, real, "skipped") != count(t, dry, "skipped") ||
		rest(real) != rest(dry) {
		t.Errorf("dry run:\n%s\nreal run:\n%s", dry, real)
	}
}

func TestBadUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-demo-users", "-1"}, {"-import", "missing.csv", "-acknowledge"},
		{"-org", "nobody", "-export", "x.csv", "-demo-users", "1"}} {
		if _, _, err := runIn(t, dir, args...); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}
