package claim_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
)

// csvName draws a name made of the characters a CSV file and a
// spreadsheet treat specially: formula starts, quotes, commas, line
// breaks, NUL, and non-ASCII text.
func csvName() *rapid.Generator[string] {
	// No line breaks or NUL: the limits refuse them in names (limits.go).
	parts := []string{"=", "+", "-", "@", "\t", "'", "\"", ",", ";", " ", "a", "Zoë", "李", "Ω", "😀",
		"=SUM(A1)", "@cmd", "-2+3", "\u200f", "\u2028x"}
	return rapid.Custom(func(t *rapid.T) string {
		n := rapid.IntRange(0, 6).Draw(t, "len")
		var b strings.Builder
		for range n {
			b.WriteString(rapid.SampledFrom(parts).Draw(t, "part"))
		}
		return b.String()
	})
}

// TestCSVRoundTrip: for arbitrary users whose names hold formula
// characters, quotes, commas, tabs and non-ASCII text,
// ImportClaims(ExportClaimable(org)) claims exactly the exported users
// with the exported modes (V1, V2, M3), every cell of the file opens as
// text (V5), and the names read back exactly.
func TestCSVRoundTrip(t *testing.T) {
	rpCheck(t, func(rt *rapid.T, tb testing.TB) {
		e := newEnv(tb)
		licenses := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"Meetings", "Calling", "=Evil", "-Messaging", "@Board"}), 0, 3, rapid.ID).Draw(rt, "licenses")
		e.mustOrg(tb, "b", claim.Enterprise, t0, claim.Settings{AllowContentMigration: rapid.Bool().Draw(rt, "migration"), AutoLicenses: licenses})
		e.mustVerify(tb, "b", "example.com")
		srcs := []struct {
			id      claim.OrgID
			kind    claim.OrgKind
			created string
			st      claim.Settings
		}{
			{"old", claim.Individual, "old", claim.Settings{}}, // Delayed when b migrates content
			{"new", claim.Individual, "new", claim.Settings{}},
			{"ent", claim.Enterprise, "new", claim.Settings{}},
			{"con", claim.Consumer, "old", claim.Settings{}},
			{"sso", claim.Enterprise, "new", claim.Settings{SSO: true}}, // not claimable (E4)
		}
		for _, s := range srcs {
			created := t0
			if s.created == "old" {
				created = oldOrgDate
			}
			e.mustOrg(tb, s.id, s.kind, created, s.st)
		}
		n := rapid.IntRange(0, 12).Draw(rt, "users")
		for i := range n {
			org := rapid.SampledFrom([]claim.OrgID{"old", "new", "ent", "con", "sso", "b"}).Draw(rt, "org")
			dom := rapid.SampledFrom([]string{"example.com", "other.org"}).Draw(rt, "domain")
			local := rapid.SampledFrom([]string{"u", "-u", "+u", "=u", "'u", "u.x"}).Draw(rt, "local")
			nu := claim.NewUser{Email: fmt.Sprintf("%s%d@%s", local, i, dom),
				FirstName: csvName().Draw(rt, "first"), LastName: csvName().Draw(rt, "last"), DisplayName: csvName().Draw(rt, "display")}
			if _, err := e.svc.AddUser(e.ctx, org, nu); err != nil {
				rt.Fatalf("AddUser(%+v) = %v", nu, err)
			}
		}
		want := map[string]claim.Candidate{}
		for c, err := range e.svc.Claimable(e.ctx, "b") {
			if err != nil {
				rt.Fatal(err)
			}
			want[c.User.Email] = c
		}

		var buf bytes.Buffer
		if err := e.svc.ExportClaimable(e.ctx, "b", &buf); err != nil {
			rt.Fatalf("ExportClaimable = %v", err)
		}
		file := buf.String()

		// Every cell opens as text, and the file reads back to the users.
		r := csv.NewReader(strings.NewReader(file))
		header, err := r.Read()
		if err != nil {
			rt.Fatalf("reading the header of %q: %v", file, err)
		}
		textOnly := func(rec []string) {
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r\n\x00", rune(cell[0])) {
					rt.Errorf("cell %q would run as a formula", cell)
				}
			}
		}
		textOnly(header)
		header = slices.Clone(header)
		exported := map[string]string{}           // e-mail: Claim Type
		crlf := strings.NewReplacer("\r\n", "\n") // a CR LF pair in a quoted cell reads back as LF (RFC 4180)
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				rt.Fatalf("reading the export: %v", err)
			}
			textOnly(rec)
			email := claim.UnescapeCell(rec[3])
			c, ok := want[email]
			if !ok {
				rt.Fatalf("exported %s, which Claimable does not yield", email)
			}
			got := []string{claim.UnescapeCell(rec[0]), claim.UnescapeCell(rec[1]), claim.UnescapeCell(rec[2])}
			wantNames := []string{crlf.Replace(c.User.FirstName), crlf.Replace(c.User.LastName), crlf.Replace(c.User.DisplayName)}
			if diff := cmp.Diff(wantNames, got); diff != "" {
				rt.Errorf("names of %s (-want +got):\n%s", email, diff)
			}
			if rec[5] != c.Mode.String() {
				rt.Errorf("Claim Type of %s is %q, want %v", email, rec[5], c.Mode)
			}
			exported[email] = rec[5]
		}
		if len(exported) != len(want) {
			rt.Fatalf("exported %d users, Claimable yields %d", len(exported), len(want))
		}
		wantHeader := append([]string{claim.ColumnFirstName, claim.ColumnLastName, claim.ColumnDisplayName, claim.ColumnEmail,
			claim.ColumnStatus, claim.ColumnClaimType, claim.ColumnClaim}, licenses...)
		for i := range header {
			header[i] = claim.UnescapeCell(header[i])
		}
		if diff := cmp.Diff(wantHeader, header); diff != "" {
			rt.Errorf("header (-want +got):\n%s", diff)
		}

		rep, err := e.importString("b", file, claim.ImportOptions{})
		if err != nil {
			rt.Fatalf("ImportClaims(export) = %v", err)
		}
		if diff := cmp.Diff(claim.ImportReport{Claimed: len(want)}, rep); diff != "" {
			rt.Fatalf("import report (-want +got):\n%s", diff)
		}
		claimed := map[string]string{}
		for _, o := range []claim.OrgID{"b"} {
			for u, err := range e.svc.Users(e.ctx, o) {
				if err != nil {
					rt.Fatal(err)
				}
				if u.Claim != nil {
					claimed[u.Email] = u.Claim.Mode.String()
					if diff := cmp.Diff(licensesOrNil(licenses), licensesOrNil(u.Licenses)); diff != "" {
						rt.Errorf("licenses of %s (-want +got):\n%s", u.Email, diff)
					}
				}
			}
		}
		if diff := cmp.Diff(exported, claimed); diff != "" {
			rt.Errorf("claimed users and modes differ from the export (-exported +claimed):\n%s", diff)
		}
	})
}

func licensesOrNil(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}
