package claim

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestErrorCodeEverySentinel reads the package's source: every exported
// Err… variable made by errors.New must have a code in errorCodes, the
// snake_case of its name without Err, standing for that very sentinel
// (the one with its message). A new sentinel without a code fails here.
func TestErrorCodeEverySentinel(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !name.IsExported() || !strings.HasPrefix(name.Name, "Err") || i >= len(vs.Values) {
					continue
				}
				call, ok := vs.Values[i].(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					continue
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok {
					continue
				}
				msg, _ := strconv.Unquote(lit.Value)
				found++
				code := snake(strings.TrimPrefix(name.Name, "Err"))
				s := errorForCode(code)
				if s == nil {
					t.Errorf("%s has no error code; want %q in errorCodes", name.Name, code)
					continue
				}
				if s.Error() != msg {
					t.Errorf("code %q stands for %q, want %s (%q)", code, s.Error(), name.Name, msg)
				}
				if got := ErrorCode(s); got != code {
					t.Errorf("ErrorCode(%s) = %q, want %q", name.Name, got, code)
				}
			}
			return true
		})
	}
	if found+2 != len(errorCodes) {
		t.Errorf("found %d sentinels in the source, errorCodes has %d entries (2 for the context errors)", found, len(errorCodes))
	}
	seen := map[string]bool{}
	for _, c := range errorCodes {
		if seen[c.code] {
			t.Errorf("code %q used twice", c.code)
		}
		seen[c.code] = true
	}
}

var wordStart = regexp.MustCompile(`[A-Z][a-z]*`)

// snake turns NotFound into not_found.
func snake(s string) string {
	words := wordStart.FindAllString(s, -1)
	return strings.ToLower(strings.Join(words, "_"))
}
