package claim_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRules(t *testing.T) {
	doc, err := os.ReadFile(rulesDoc)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("IDsDefined", func(t *testing.T) {
		defined := map[string]bool{}
		for _, m := range ruleDefinition.FindAllStringSubmatch(string(doc), -1) {
			if defined[m[1]] {
				t.Errorf("%s defines %s twice", rulesDoc, m[1])
			}
			defined[m[1]] = true
		}
		if len(defined) < 80 {
			t.Fatalf("%s defines %d rules; the definitions did not parse", rulesDoc, len(defined))
		}
		texts := moduleText(t, false)
		if _, ok := texts[rulesDoc]; !ok {
			t.Fatalf("the walk did not find %s", rulesDoc)
		}
		cited := map[string][]string{}
		for path, text := range texts {
			for _, id := range ruleID.FindAllString(text, -1) {
				if _, ok := notRuleIDs[id]; !ok && !slices.Contains(cited[id], path) {
					cited[id] = append(cited[id], path)
				}
			}
		}
		for _, id := range slices.Sorted(func(yield func(string) bool) {
			for id := range cited {
				if !yield(id) {
					return
				}
			}
		}) {
			if !defined[id] {
				slices.Sort(cited[id])
				t.Errorf("%s is cited in %v but not defined in %s", id, cited[id], rulesDoc)
			}
		}
		for id := range notRuleIDs {
			if defined[id] {
				t.Errorf("%s is defined in %s and listed in notRuleIDs; drop it from the list", id, rulesDoc)
			}
		}
	})

	// The module ships without the working documents, so it must not send
	// readers to them.
	t.Run("NoSpecOrSeedMentions", func(t *testing.T) {
		texts := moduleText(t, true)
		for _, path := range slices.Sorted(maps.Keys(texts)) {
			if filepath.Ext(path) == ".sql" {
				continue // a released migration never changes, comments included
			}
			if n := len(specMention.FindAllString(texts[path], -1)); n > 0 {
				t.Errorf("%s mentions the specification, a seed document or the shared folder %d times; cite %s instead",
					path, n, rulesDoc)
			}
		}
	})
}

// moduleText returns, for every .go, .md and .sql file of the module (not
// this file), its path and the text where rule IDs are cited: a Markdown
// or SQL file whole, a Go file's comments. With all set, a Go file's whole
// text.
func moduleText(t *testing.T, all bool) map[string]string {
	t.Helper()
	texts := map[string]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if path == "doc_test.go" || ext != ".go" && ext != ".md" && ext != ".sql" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if all || ext != ".go" {
			texts[filepath.ToSlash(path)] = string(b)
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, b, parser.ParseComments)
		if err != nil {
			return err
		}
		var sb strings.Builder
		for _, c := range f.Comments {
			sb.WriteString(c.Text())
		}
		texts[filepath.ToSlash(path)] = sb.String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

// notRuleIDs are tokens of the rule-ID shape in comments that are not
// rule IDs, each with where it comes from.
var notRuleIDs = map[string]string{
	"B0": "a user ID in postgres_test.go that sorts before a0 in byte order",
	"C0": "the Unicode C0 control characters, named in input checks",
}

var (
	// ruleID is what a rule ID looks like: a capital letter and a number.
	ruleID = regexp.MustCompile(`\b[A-Z][0-9]+\b`)
	// ruleDefinition is how docs/rules.md defines one: "- **E2** …".
	ruleDefinition = regexp.MustCompile(`(?m)^- \*\*([A-Z][0-9]+)\*\*`)
	// specMention is a reference to the project's working documents,
	// which do not ship with the module.
	specMention = regexp.MustCompile(`\bSPEC\b|\bseeds? 0\d\d\b|\bshared/`)
)

// rulesDoc is the document that defines every rule ID.
const rulesDoc = "docs/rules.md"
