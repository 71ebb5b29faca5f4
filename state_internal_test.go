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

// TestRowPanicsWithoutRow: a trigger with no matching row is an engine
// bug, never a silent no-op.
func TestRowPanicsWithoutRow(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("row(Verified, onExpire) did not panic; want a panic for a missing row")
		}
	}()
	row(Verified, onExpire, facts{})
}

// infallible are the triggers mustApply takes.
var infallible = []trigger{onClaimImmediate, onClaimDelayed, onExpire}

// TestInfallibleTriggers: no row of the transition table refuses a
// trigger that mustApply takes, so that mustApply never panics on a
// refusal and no refusal is dropped.
func TestInfallibleTriggers(t *testing.T) {
	rows := 0
	for _, tr := range transitions {
		if !slices.Contains(infallible, tr.on) {
			continue
		}
		rows++
		if tr.err != nil {
			t.Errorf("row %v --%v--> %v refuses with %v, but mustApply takes %v", tr.from, tr.on, tr.to, tr.err, tr.on)
		}
	}
	if rows == 0 {
		t.Error("no rows for the infallible triggers")
	}
}

// diagram is a generated Mermaid diagram: the whole of its file under
// docs/, and the block between its markers in README.md.
type diagram struct {
	file         string
	intro        string // the file's text before the diagram
	readmeMarker string // the README block's opening comment names it
	draw         func() string
}

var diagrams = []diagram{{
	file: "docs/states.md",
	intro: "# The user states\n\n" +
		"Generated from the engine's transition table (state.go) by `go generate`; do not edit.\n" +
		"An arrow is a trigger and, in brackets, the condition it needs; refusals and\n" +
		"triggers that leave the state as it is draw no arrow. `[*]` is \"no user yet\".\n" +
		"The rules behind each row are in [rules.md](rules.md).\n\n",
	readmeMarker: "state diagram: generated from state.go",
	draw:         stateDiagram,
}, {
	file: "docs/claims.md",
	intro: "# The claim lifecycle\n\n" +
		"Generated from the engine's claim table (lifecycle.go) by `go generate`; do not edit.\n" +
		"An arrow is a trigger and, after the slash, the events it writes; refusals draw\n" +
		"no arrow. `[*]` is \"no pending claim\": before the claim, and after it ended.\n" +
		"The user's state moves at the same steps by [the user states](states.md).\n" +
		"The rules behind each row are in [rules.md](rules.md).\n\n",
	readmeMarker: "claim diagram: generated from lifecycle.go",
	draw:         claimDiagram,
}, {
	file: "docs/subscribers.md",
	intro: "# The BroadWorks subscriber lifecycle\n\n" +
		"Generated from the subscriber table (broadworks_lifecycle.go) by `go generate`; do not edit.\n" +
		"An arrow is a trigger and, in brackets, the condition it needs; refusals draw no\n" +
		"arrow, and a row that keeps the status (writing its events again) loops back.\n" +
		"`[*]` is \"no subscriber\": before it is provisioned, after it is removed.\n" +
		"The rules behind each row are in [rules.md](rules.md) (B1–B6).\n\n",
	readmeMarker: "subscriber diagram: generated from broadworks_lifecycle.go",
	draw:         subscriberDiagram,
}}

// TestDiagrams keeps the Mermaid diagrams under docs/ and in the README
// equal to the tables they are drawn from; -update (go generate)
// rewrites them.
func TestDiagrams(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	wantReadme := string(readme)
	for _, dg := range diagrams {
		d := dg.draw()
		want := dg.intro + "```mermaid\n" + d + "```\n"
		begin := "<!-- " + dg.readmeMarker + " by go generate; do not edit -->\n```mermaid\n"
		const end = "```\n<!-- end of the diagram -->\n"
		i := strings.Index(wantReadme, begin)
		j := strings.Index(wantReadme[max(i, 0):], end) + max(i, 0)
		if i < 0 || j < i {
			t.Fatalf("README.md has no %s markers (%q … %q)", dg.file, begin, end)
		}
		wantReadme = wantReadme[:i] + begin + d + wantReadme[j:]
		if *update {
			if err := os.WriteFile(dg.file, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(dg.file); err != nil || string(got) != want {
			t.Errorf("%s differs from its table (%v); run go generate", dg.file, err)
		}
	}
	if *update {
		if err := os.WriteFile("README.md", []byte(wantReadme), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if string(readme) != wantReadme {
		t.Error("README.md's diagrams differ from their tables; run go generate")
	}
}

// TestStateDiagram: every state a row of the user table reaches is an
// arrow's target in its diagram.
func TestStateDiagram(t *testing.T) {
	d := stateDiagram()
	for _, tr := range transitions {
		if tr.err == nil && tr.to != anyState && tr.to > 0 && !strings.Contains(d, " --> "+strings.ReplaceAll(tr.to.String(), " ", "")+": ") {
			t.Errorf("no arrow into %v in the diagram", tr.to)
		}
	}
}
