package claim

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestSimpleEmailAgrees: the fast path of parseEmailAny accepts only
// addresses the full parse accepts, and returns them as the full parse
// does (N1, N2). Strings are drawn from the characters that matter to
// either path, and from address-shaped pieces of them.
func TestSimpleEmailAgrees(t *testing.T) {
	chars := []rune("abz09.-_+@ A\"<>()[]é!#$%&'*/=?^`{|}~\t")
	piece := rapid.OneOf(
		rapid.StringOfN(rapid.SampledFrom(chars), 0, 12, -1),
		rapid.SampledFrom([]string{"xn--", "ab--c", "-", ".", "..", "@", "a", strings.Repeat("a", 63), strings.Repeat("b", 64), ".example", ".com", "x.example"}),
	)
	simple := []rune("abz09.-_+")
	label := rapid.OneOf(rapid.StringOfN(rapid.SampledFrom([]rune("az09-")), 1, 8, -1),
		rapid.StringOfN(rapid.SampledFrom([]rune("az09-")), 0, 64, -1))
	shaped := rapid.Custom(func(t *rapid.T) string {
		local := rapid.OneOf(rapid.StringOfN(rapid.SampledFrom(simple), 1, 10, -1),
			rapid.StringOfN(rapid.SampledFrom(simple), 0, 66, -1)).Draw(t, "local")
		labels := rapid.SliceOfN(label, 1, 5).Draw(t, "labels")
		return local + "@" + strings.Join(labels, ".")
	})
	rapid.Check(t, func(t *rapid.T) {
		addr := rapid.OneOf(shaped, rapid.Custom(func(t *rapid.T) string {
			return strings.Join(rapid.SliceOfN(piece, 1, 8).Draw(t, "pieces"), "")
		})).Draw(t, "address")
		if !simpleEmail(addr) {
			return
		}
		for _, named := range []bool{false, true} {
			p, err := parseEmailSlow("email", addr, named)
			if err != nil || p.addr != addr || p.name != "" {
				t.Fatalf("simpleEmail(%q) = true, but the full parse gives %+v, %v", addr, p, err)
			}
		}
	})
}

// TestSimpleEmail: the fast path takes plain normalized addresses and
// leaves every other form to the full parse.
func TestSimpleEmail(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"ann@example.com", true},
		{"ann.lee+news_1@mail-1.example.co", true},
		{strings.Repeat("a", 64) + "@x.example", true},
		{strings.Repeat("a", 65) + "@x.example", false},
		{"ann@" + strings.Repeat("a", 63) + ".example", true},
		{"ann@" + strings.Repeat("a", 64) + ".example", false},
		{"Ann@example.com", false},
		{" ann@example.com", false},
		{"ann@example.com.", false},
		{"ann@localhost", false},
		{".ann@example.com", false},
		{"ann.@example.com", false},
		{"a..nn@example.com", false},
		{"ann@-x.example", false},
		{"ann@x-.example", false},
		{"ann@xn--bcher-kva.example", false},
		{"ann@ab--c.example", false},
		{"ann@x..example", false},
		{"@example.com", false},
		{"ann@", false},
		{"a@b@example.com", false},
		{"Ann <ann@example.com>", false},
		{"ann@example.com" + OriginalSuffix, true}, // parseEmail refuses it after the fast path
	} {
		if got := simpleEmail(tt.addr); got != tt.want {
			t.Errorf("simpleEmail(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
