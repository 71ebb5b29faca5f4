package claim

import (
	"testing"
	"unicode"
)

// The ASCII shortcuts of control and invisible answer what the Unicode
// tables answer, for every ASCII character, and the tables still answer
// for the others.
func TestCharacterClassesASCII(t *testing.T) {
	for r := rune(0); r < 0x80; r++ {
		if got, want := control(r), unicode.Is(unicode.Cc, r); got != want {
			t.Errorf("control(%U) = %v, want %v", r, got, want)
		}
		want := unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
		if got := invisible(r); got != want {
			t.Errorf("invisible(%U) = %v, want %v", r, got, want)
		}
	}
	for _, c := range []struct {
		r                  rune
		control, invisible bool
	}{{0x80, true, false}, {0x9f, true, false}, {0xa0, false, false}, {0xad, false, true}, {0x200b, false, true},
		{0x202e, false, true}, {0x2028, false, true}, {0xfe0f, false, true}, {0xfeff, false, true}, {'é', false, false}} {
		if control(c.r) != c.control || invisible(c.r) != c.invisible {
			t.Errorf("control(%U), invisible(%U) = %v, %v; want %v, %v", c.r, c.r, control(c.r), invisible(c.r), c.control, c.invisible)
		}
	}
}
