package claim_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/claimkit/claim"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// limitName draws a name anywhere in the limits: up to MaxNameChars
// characters of every class the limits accept (formula characters, quotes,
// commas, tabs, bidirectional and zero-width characters, line separators,
// 4-byte characters), the longest ones included.
func limitName() *rapid.Generator[string] {
	parts := []string{"a", "Z", "é", "李", "😀", "𝔸", "\t", "=", "+", "-", "@", "'", "\"", ",", ";", " ", "\u200f", "\u200b",
		"\u202e", "\u2028", "\ufeff", "\u00a0", "\ufffd"}
	return rapid.Custom(func(t *rapid.T) string {
		if rapid.IntRange(0, 9).Draw(t, "longest") == 0 {
			return strings.Repeat(rapid.SampledFrom([]string{"𝔸", "é", "a"}).Draw(t, "char"), claim.MaxNameChars)
		}
		n := rapid.IntRange(0, claim.MaxNameChars).Draw(t, "chars")
		var b strings.Builder
		for b.Len() < claim.MaxNameBytes && utf8.RuneCountInString(b.String()) < n {
			b.WriteString(rapid.SampledFrom(parts).Draw(t, "part"))
		}
		return b.String()
	})
}

// limitEmail draws an address in the limits: a local part of up to 64
// characters (non-ASCII and formula characters included) on one of the
// domains b verified, the longest address a claim takes (235 octets, so
// that the original's suffix fits, N4) or the longest address (254).
func limitEmail(i int) *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		switch rapid.IntRange(0, 9).Draw(t, "longest") {
		case 0:
			local := fmt.Sprintf("%03d", i) + strings.Repeat("é", 61) // 64 characters, 125 bytes
			return local + "@" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 56) + ".com"
		case 1:
			local := fmt.Sprintf("%03d", i) + strings.Repeat("é", 61)
			return local + "@" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 37) + ".com"
		}
		chars := []string{"a", "z", "0", "9", ".", "-", "_", "+", "=", "'", "é", "ß", "李"}
		n := rapid.IntRange(0, 60).Draw(t, "local")
		var b strings.Builder
		fmt.Fprintf(&b, "u%03d", i)
		for range n {
			b.WriteString(rapid.SampledFrom(chars).Draw(t, "char"))
		}
		return b.String() + "x@" + rapid.SampledFrom([]string{"example.com", "bücher.example"}).Draw(t, "domain")
	})
}

// TestCSVRoundTripLimits (must-show 3, V5): every user the limits allow
// exports into a file that imports back: ImportClaims(ExportClaimable(b))
// claims every exported user and refuses none, each name reads back from
// the file exactly, and the export holds exactly the users a claim can
// take (not those whose address leaves no room for the original's
// suffix, N4) — on the memory store and on PostgreSQL.
func TestCSVRoundTripLimits(t *testing.T) {
	prop := func(newStore func(tb testing.TB) claim.Store) func(*rapid.T) {
		return func(rt *rapid.T) {
			e := newEnvOn(t, newStore(t))
			e.mustOrg(t, "b", claim.Enterprise, t0, claim.Settings{AllowContentMigration: rapid.Bool().Draw(rt, "migration")})
			e.mustOrg(t, "old", claim.Individual, oldOrgDate, claim.Settings{})
			e.mustVerify(t, "b", "example.com")
			e.mustVerify(t, "b", "xn--bcher-kva.example")
			e.mustVerify(t, "b", strings.Repeat("a", 63)+"."+strings.Repeat("b", 56)+".com")
			e.mustVerify(t, "b", strings.Repeat("a", 63)+"."+strings.Repeat("b", 37)+".com")
			want := map[string]claim.User{}
			for i := range rapid.IntRange(1, 8).Draw(rt, "users") {
				nu := claim.NewUser{Email: limitEmail(i).Draw(rt, "email"), FirstName: limitName().Draw(rt, "first"),
					LastName: limitName().Draw(rt, "last"), DisplayName: limitName().Draw(rt, "display")}
				u, err := e.svc.AddUser(e.ctx, "old", nu)
				var ie *claim.InputError
				if errors.As(err, &ie) {
					continue // outside the limits (say, a local part net/mail refuses): not a user
				}
				if err != nil {
					rt.Fatalf("AddUser(%+v) = %v", nu, err)
				}
				if len(u.Email)+len(claim.OriginalSuffix) > claim.MaxEmailBytes {
					continue // a claim of it is refused (N4), so it is not claimable and not exported
				}
				want[u.Email] = u
			}
			var buf bytes.Buffer
			if err := e.svc.ExportClaimable(e.ctx, "b", &buf); err != nil {
				rt.Fatalf("ExportClaimable = %v", err)
			}
			recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
			if err != nil || len(recs) == 0 {
				rt.Fatalf("reading the export: %v", err)
			}
			rows := len(recs) - 1
			for _, rec := range recs[1:] {
				u, ok := want[claim.UnescapeCell(rec[3])]
				if !ok {
					rt.Fatalf("exported %q, which is not a user of old", rec[3])
				}
				got := []string{claim.UnescapeCell(rec[0]), claim.UnescapeCell(rec[1]), claim.UnescapeCell(rec[2])}
				if diff := cmp.Diff([]string{u.FirstName, u.LastName, u.DisplayName}, got); diff != "" {
					rt.Errorf("names of %s (-want +got):\n%s", u.Email, diff)
				}
			}
			if rows != len(want) {
				rt.Fatalf("exported %d rows, want %d users", rows, len(want))
			}
			rep, err := e.svc.ImportClaims(e.ctx, "b", bytes.NewReader(buf.Bytes()), claim.ImportOptions{Acknowledge: true})
			if err != nil || rep.Claimed != len(want) || rep.Refused != 0 || rep.Skipped != 0 {
				rt.Fatalf("ImportClaims(export) = %+v, %v; want all %d claimed", rep, err, len(want))
			}
			for email := range want {
				if u, err := e.svc.UserByEmail(e.ctx, email); err != nil || u.Org != "b" {
					rt.Errorf("%s: %+v, %v; want it in b", email, u.Org, err)
				}
			}
		}
	}
	t.Run("memory", func(t *testing.T) {
		rapid.Check(t, prop(func(testing.TB) claim.Store { return claim.NewMemoryStore() }))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		store, empty := smPostgresStore(t)
		rapid.Check(t, prop(func(tb testing.TB) claim.Store { empty(tb); return store }))
	})
}
