package claim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/claimkit/claim"
)

// TestNormalizeEmail: N1, N2, N4 on accepted and refused addresses.
func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		reason string
		in     string
		want   string // "" when refused
	}{
		{"N1: trimmed and lower-cased", "  Ann.Lee@Example.COM ", "ann.lee@example.com"},
		{"N2: an internationalized domain in punycode", "bob@Bücher.example", "bob@xn--bcher-kva.example"},
		{"N1: 64 characters of local part, counted as characters", strings.Repeat("é", 64) + "@x.example", strings.Repeat("é", 64) + "@x.example"},
		{"N1: 65 characters of local part", strings.Repeat("a", 65) + "@x.example", ""},
		{"N1: a quoted local part would not parse once stored", `"john doe"@x.example`, ""},
		{"N1: a quoted @ in the local part", `"a@b"@x.example`, ""},
		{"N1: a display name where a bare address is wanted", "Ann <ann@x.example>", ""},
		{"N4: the reserved suffix", "ann@x.example.convert-user.local", ""},
		{"N2: an empty label", "ann@x..example", ""},
		{"N1: no domain", "ann@", ""},
	}
	for _, tt := range tests {
		got, err := claim.NormalizeEmail(tt.in)
		if tt.want == "" {
			var ie *claim.InputError
			if !errors.Is(err, claim.ErrInvalidEmail) || !errors.As(err, &ie) || ie.Field != "email" {
				t.Errorf("%s: NormalizeEmail(%q) = %q, %v; want an *InputError for field email wrapping ErrInvalidEmail", tt.reason, tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: NormalizeEmail(%q) = %q, %v; want %q", tt.reason, tt.in, got, err, tt.want)
		}
	}
}
