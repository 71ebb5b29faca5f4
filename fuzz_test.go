package claim_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/claimkit/claim"
)

// maxErrorBytes bounds the message of any *InputError: a 64-byte prefix
// quoted (at most four bytes a byte), a bounded reason, the field and
// the sentinel.
const maxErrorBytes = 1024

// checkInputError fails unless err is an *InputError wrapping sentinel
// with a bounded message and value.
func checkInputError(t *testing.T, what string, err, sentinel error) {
	t.Helper()
	var ie *claim.InputError
	if !errors.As(err, &ie) || !errors.Is(err, sentinel) {
		t.Fatalf("%s = %v (%T), want an *InputError wrapping %v", what, err, err, sentinel)
	}
	if len(err.Error()) > maxErrorBytes || len(ie.Value) > 64 {
		t.Fatalf("%s: a message of %d bytes and a Value of %d, want at most %d and 64", what, len(err.Error()), len(ie.Value), maxErrorBytes)
	}
}

// FuzzNormalizeEmail: an address NormalizeEmail accepts is in its
// normalized form and in the limits — valid UTF-8, lower-case, no
// control, invisible or bidirectional-control character, at most 254
// octets, a local part of at most 64 characters, a normalized domain, not
// the reserved suffix — and normalizing it again changes nothing (N1,
// N2, N4); anything else is an *InputError (ErrInvalidEmail) with a
// bounded message.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", "Dot@Example.com.", "ann\u200b9@acme.com", "a\u202e@x.com", "x@b\u00fccher.example",
		"\"john doe\"@x.com", "a@b.convert-user.local", "A@B.CONVERT-USER.LOCAL", "İİ@x.com", "a..b@x.com", "@x.com", "a@", "a@[1.2.3.4]",
		strings.Repeat("a", 64) + "@x.com", strings.Repeat("a", 65) + "@x.com", "a@" + strings.Repeat("b", 250) + ".com", "\xff@x.com", "a\x00@x.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		got, err := claim.NormalizeEmail(addr)
		if err != nil {
			checkInputError(t, "NormalizeEmail", err, claim.ErrInvalidEmail)
			return
		}
		at := strings.LastIndexByte(got, '@')
		switch {
		case !utf8.ValidString(got):
			t.Fatalf("NormalizeEmail(%q) = %q, not UTF-8", addr, got)
		case len(got) > claim.MaxEmailBytes:
			t.Fatalf("NormalizeEmail(%q) = %q: %d octets", addr, got, len(got))
		case at <= 0 || utf8.RuneCountInString(got[:at]) > 64:
			t.Fatalf("NormalizeEmail(%q) = %q: no local part or one over 64 characters", addr, got)
		case strings.ToLower(got) != got:
			t.Fatalf("NormalizeEmail(%q) = %q, not lower-case", addr, got)
		case strings.HasSuffix(got, claim.OriginalSuffix):
			t.Fatalf("NormalizeEmail(%q) = %q ends in the reserved suffix", addr, got)
		case strings.ContainsFunc(got, func(r rune) bool {
			return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
		}):
			t.Fatalf("NormalizeEmail(%q) = %q holds a control or invisible character", addr, got)
		}
		if again, err := claim.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("NormalizeEmail(%q) = %q, then %q, %v: not idempotent", addr, got, again, err)
		}
		if d, err := claim.NormalizeDomain(got[at+1:]); err != nil || d != got[at+1:] {
			t.Fatalf("NormalizeEmail(%q) = %q, whose domain normalizes to %q, %v", addr, got, d, err)
		}
	})
}

// FuzzUserNames: a name AddUser accepts is stored trimmed, in the limits
// (valid UTF-8, no control character but the tab, at most 256 characters
// and 1024 bytes) and reads back exactly from ExportClaimable's file (V5);
// a name it refuses is an *InputError (ErrInvalidValue) with a bounded
// message that writes no event.
func FuzzUserNames(f *testing.F) {
	for _, s := range []string{"Ann", " Ann ", "=SUM(A1)", "'=x", "a\tb", "\tlead", "a\nb", "a\x00b", "\xff", "\u202eevil", "李😀",
		strings.Repeat("𝔸", 256), strings.Repeat("𝔸", 257), "\"q\",c", "'", "''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		e := newEnv(t)
		e.mustOrg(t, "b", claim.Enterprise, t0, claim.Settings{})
		e.mustOrg(t, "a", claim.Enterprise, t0, claim.Settings{})
		e.mustVerify(t, "b", "example.com")
		before := lastSeq(t, e)
		u, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "ann@example.com", FirstName: name, LastName: name, DisplayName: name})
		if err != nil {
			checkInputError(t, "AddUser", err, claim.ErrInvalidValue)
			if after := lastSeq(t, e); after != before {
				t.Fatalf("AddUser refused %q but the event log went from %d to %d", name, before, after)
			}
			return
		}
		n := u.FirstName
		switch {
		case n != strings.TrimSpace(name) || u.LastName != n || u.DisplayName != n && !(n == "" && u.DisplayName == ""):
			t.Fatalf("AddUser(%q) stored %q, %q, %q; want the name trimmed", name, u.FirstName, u.LastName, u.DisplayName)
		case !utf8.ValidString(n) || len(n) > claim.MaxNameBytes || utf8.RuneCountInString(n) > claim.MaxNameChars:
			t.Fatalf("AddUser(%q) stored %q, outside the limits", name, n)
		case strings.ContainsFunc(n, func(r rune) bool { return unicode.Is(unicode.Cc, r) && r != '\t' }):
			t.Fatalf("AddUser(%q) stored %q, which holds a control character", name, n)
		}
		var buf bytes.Buffer
		if err := e.svc.ExportClaimable(e.ctx, "b", &buf); err != nil {
			t.Fatalf("ExportClaimable = %v", err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("the export of %q reads as %q, %v; want a header and one row", n, recs, err)
		}
		for i := range 3 {
			if got := claim.UnescapeCell(recs[1][i]); got != n {
				t.Fatalf("the export's cell %d reads back %q, want %q", i, got, n)
			}
		}
	})
}
