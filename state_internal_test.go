package claim

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite doc.go's transition table from state.go")

const (
	docBegin = "// The table is generated from state.go (go test -run TestDocTransitions -update):\n"
	docEnd   = "// (End of the generated table.)\n"
)

// TestDocTransitions keeps the state table in doc.go equal to the table
// the engine consults.
func TestDocTransitions(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("doc.go lacks the %q … %q markers", docBegin, docEnd)
	}
	var b strings.Builder
	b.WriteString("//\n")
	for _, l := range strings.Split(strings.TrimSuffix(transitionTable(), "\n"), "\n") {
		b.WriteString("//\t" + strings.TrimRight(l, " ") + "\n")
	}
	b.WriteString("//\n")
	want := doc[:i+len(docBegin)] + b.String() + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile("doc.go", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("doc.go's transition table differs from state.go; run go test -run TestDocTransitions -update")
}

// TestNextPanicsWithoutRow: a trigger with no matching row is an engine
// bug, never a silent no-op.
func TestNextPanicsWithoutRow(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("next(Verified, onExpire) did not panic; want a panic for a missing row")
		}
	}()
	next(Verified, onExpire, facts{})
}

// TestInfallibleTriggers: no row of the transition table refuses a
// trigger that mustNext takes, so that mustNext never panics on a
// refusal and no refusal is dropped.
func TestInfallibleTriggers(t *testing.T) {
	rows := 0
	for _, tr := range transitions {
		if !slices.Contains(infallible, tr.on) {
			continue
		}
		rows++
		if tr.err != nil {
			t.Errorf("row %v --%v--> %v refuses with %v, but mustNext takes %v", tr.from, tr.on, tr.to, tr.err, tr.on)
		}
	}
	if rows == 0 {
		t.Error("no rows for the infallible triggers")
	}
}
