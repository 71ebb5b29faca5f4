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

// infallible are the triggers mustNext takes.
var infallible = []trigger{onClaimImmediate, onClaimDelayed, onExpire}

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

// The generated diagram's places: the whole of docs/states.md, and the
// block between these markers in README.md.
const (
	diagramFile  = "docs/states.md"
	readmeBegin  = "<!-- state diagram: generated from state.go by go generate; do not edit -->\n```mermaid\n"
	readmeEnd    = "```\n<!-- end of the state diagram -->\n"
	diagramIntro = "# The user states\n\n" +
		"Generated from the engine's transition table (state.go) by `go generate`; do not edit.\n" +
		"An arrow is a trigger and, in brackets, the condition it needs; refusals and\n" +
		"triggers that leave the state as it is draw no arrow. `[*]` is \"no user yet\".\n" +
		"The rules behind each row are in [rules.md](rules.md).\n\n```mermaid\n"
)

// TestStateDiagram keeps the Mermaid diagrams in docs/states.md and the
// README equal to the transition table; -update (go generate) rewrites
// them.
func TestStateDiagram(t *testing.T) {
	d := stateDiagram()
	for _, tr := range transitions {
		if tr.err == nil && tr.to != anyState && tr.to > 0 && !strings.Contains(d, " --> "+strings.ReplaceAll(tr.to.String(), " ", "")+": ") {
			t.Errorf("no arrow into %v in the diagram", tr.to)
		}
	}
	want := diagramIntro + d + "```\n"
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(readme), readmeBegin)
	j := strings.Index(string(readme), readmeEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no state diagram markers (%q … %q)", readmeBegin, readmeEnd)
	}
	wantReadme := string(readme[:i]) + readmeBegin + d + readmeEnd + string(readme[j+len(readmeEnd):])
	if *update {
		if err := os.WriteFile(diagramFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("README.md", []byte(wantReadme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(diagramFile)
	if err != nil || string(got) != want {
		t.Errorf("%s differs from the transition table (%v); run go generate", diagramFile, err)
	}
	if string(readme) != wantReadme {
		t.Error("README.md's state diagram differs from the transition table; run go generate")
	}
}
