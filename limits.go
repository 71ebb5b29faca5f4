package claim

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on the strings the library stores (N3). Every exported method
// checks its string arguments against them before any store call that
// would read or write the value (names and addresses before the
// transaction starts; IDs to look up as the transaction's first step, so
// no Tx method sees them), and refuses a value outside them with an
// *InputError naming the field, so every Store sees only values that
// every Store can hold: no store refuses what another accepts
// (storetest's Limits checks the other half: a store holds everything
// the limits accept).
//
//   - Identifiers (OrgID, UserID, EnterpriseID, SubscriberID): at most
//     MaxIDBytes bytes of valid UTF-8, without leading or trailing spaces,
//     control characters (NUL included) or invisible and
//     bidirectional-control characters (see invisible). An empty
//     identifier is refused where one is required (a lookup; CreateOrg
//     generates one).
//   - Names (org, user, enterprise, workspace and license names): trimmed,
//     then at most MaxNameChars characters and MaxNameBytes bytes of
//     valid UTF-8 without control characters other than the tab: a line
//     break, a NUL or any other control character is refused, so that a
//     name is one line that the CSV file carries unchanged (V5); a tab
//     inside a name round-trips, and one around it is trimmed. Invisible and bidirectional-control characters are
//     allowed in names, where scripts need them (a zero-width non-joiner
//     in Persian, a right-to-left mark in Hebrew).
//   - E-mail addresses (N1): at most MaxEmailBytes octets once normalized,
//     a local part of at most 64 characters (Control Hub's limit), and an
//     input of at most MaxInputBytes bytes of valid UTF-8 without control,
//     invisible or bidirectional-control characters anywhere in it (a
//     display name included).
//   - Domain names (N2): at most 253 octets once normalized, and an input
//     of at most MaxInputBytes bytes of valid UTF-8 without control,
//     invisible or bidirectional-control characters; names ending in the
//     reserved .convert-user.local are refused by the domain methods (N4).
//
// An *InputError quotes at most the first maxQuoted bytes of a value.
const (
	MaxIDBytes    = 128  // identifiers
	MaxNameChars  = 256  // names, in characters
	MaxNameBytes  = 1024 // names, in bytes
	MaxEmailBytes = 254  // a normalized address (RFC 5321's path less its angle brackets)
	MaxInputBytes = 1024 // an address or domain name as given, before it is normalized
)

// maxQuoted is how much of a value an *InputError keeps and quotes.
const maxQuoted = 64

// bounded returns v cut to at most maxQuoted bytes at a character
// boundary, and whether it was cut.
func bounded(v string) (string, bool) {
	if len(v) <= maxQuoted {
		return v, false
	}
	cut := maxQuoted
	for cut > maxQuoted-utf8.UTFMax && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut], true
}

// invisible reports whether r is a character an address must not hold
// because a reader cannot see it or it reorders what they see: format
// characters (zero-width space and joiners, bidirectional controls such
// as the right-to-left override, the byte-order mark, the soft hyphen),
// line and paragraph separators, and the other default-ignorable
// characters (variation selectors, Hangul fillers).
func invisible(r rune) bool {
	if r < utf8.RuneSelf { // no ASCII character is one
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// control reports whether r is a control character (C0, DEL, C1).
func control(r rune) bool {
	if r < utf8.RuneSelf { // without the table: every ID and most text
		return r < 0x20 || r == 0x7f
	}
	return unicode.Is(unicode.Cc, r)
}

// badRune returns the reason v is refused: invalid UTF-8, or its first
// character that bad reports; "" if none.
func badRune(v string, bad func(rune) bool) string {
	if !utf8.ValidString(v) {
		return "not valid UTF-8"
	}
	for _, r := range v {
		if !bad(r) {
			continue
		}
		if control(r) {
			return fmt.Sprintf("holds the control character %U", r)
		}
		return fmt.Sprintf("holds the invisible or bidirectional-control character %U", r)
	}
	return ""
}

// hidden is the characters an identifier, an address or a domain name
// must not hold: control characters, and those that do not show.
func hidden(r rune) bool { return control(r) || invisible(r) }

// checkID refuses an identifier outside the limits: empty (when
// required), longer than MaxIDBytes, not UTF-8, with spaces around it or a
// control, invisible or bidirectional-control character. The
// *InputError wraps sentinel: ErrInvalidValue for the ID of something
// new, ErrNotFound for a lookup (Decision: no org, user, enterprise or
// subscriber can have such an ID, so it is unknown, N3 — and the caller
// still learns which field is wrong).
func checkID[ID ~string](sentinel error, field string, id ID, required bool) error {
	s := string(id)
	switch {
	case s == "" && required:
		return invalid(sentinel, field, s, "required")
	case len(s) > MaxIDBytes:
		return invalid(sentinel, field, s, fmt.Sprintf("longer than %d bytes", MaxIDBytes))
	case strings.TrimSpace(s) != s:
		return invalid(sentinel, field, s, "leading or trailing spaces")
	}
	if why := badRune(s, hidden); why != "" {
		return invalid(sentinel, field, s, why)
	}
	return nil
}

// nameBad is the characters a name must not hold: control characters
// other than the tab, which the CSV file carries unchanged inside a cell
// (at a cell's start it is escaped, V5; around a name it is trimmed).
func nameBad(r rune) bool { return control(r) && r != '\t' }

// cleanName trims a name and refuses it outside the limits: longer than
// MaxNameChars characters or MaxNameBytes bytes, not UTF-8, or with a
// control character other than the tab (line breaks and NUL included).
func cleanName(field, v string) (string, error) {
	if len(v) > 4*MaxNameBytes { // refused whatever trimming would leave
		return "", invalid(ErrInvalidValue, field, v, fmt.Sprintf("longer than %d bytes", MaxNameBytes))
	}
	n := strings.TrimSpace(v)
	switch {
	case len(n) > MaxNameBytes:
		return "", invalid(ErrInvalidValue, field, v, fmt.Sprintf("longer than %d bytes", MaxNameBytes))
	case utf8.RuneCountInString(n) > MaxNameChars:
		return "", invalid(ErrInvalidValue, field, v, fmt.Sprintf("longer than %d characters", MaxNameChars))
	}
	if why := badRune(n, nameBad); why != "" {
		return "", invalid(ErrInvalidValue, field, v, why)
	}
	return n, nil
}

// checkText refuses an address or domain name as given that is longer
// than MaxInputBytes, not UTF-8 or holds a control, invisible or
// bidirectional-control character, with sentinel.
func checkText(sentinel error, field, v string) error {
	if len(v) > MaxInputBytes {
		return invalid(sentinel, field, v, fmt.Sprintf("longer than %d bytes", MaxInputBytes))
	}
	if why := badRune(strings.TrimSpace(v), hidden); why != "" {
		return invalid(sentinel, field, v, why)
	}
	return nil
}
