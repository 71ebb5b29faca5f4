package claim_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/claimkit/claim"
)

// export returns ExportClaimable's output.
func (e *env) export(tb testing.TB, org claim.OrgID) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := e.svc.ExportClaimable(e.ctx, org, &buf); err != nil {
		tb.Fatalf("ExportClaimable(%s) = %v", org, err)
	}
	return buf.String()
}

// rowErrs summarizes a report's rows as "line email: sentinel".
func rowErrs(rows []claim.RowResult) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d %s: %s", r.Line, r.Email, sentinelOf(r.Err)))
	}
	return out
}

// sentinelOf names the first sentinel err wraps.
func sentinelOf(err error) string {
	for _, s := range []struct {
		name string
		err  error
	}{
		{"ErrAlreadyClaimed", claim.ErrAlreadyClaimed}, {"ErrNotSelected", claim.ErrNotSelected},
		{"ErrStaleMode", claim.ErrStaleMode}, {"ErrNotEligible", claim.ErrNotEligible},
		{"ErrNotFound", claim.ErrNotFound}, {"ErrInvalidEmail", claim.ErrInvalidEmail},
		{"ErrInvalidValue", claim.ErrInvalidValue},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	if err == nil {
		return "nil"
	}
	return "other: " + err.Error()
}

func TestExportClaimable(t *testing.T) {
	e := importEnv(t)
	e.mustUser(t, "ent", "zed@example.com", 0)
	// Names a spreadsheet would run as formulas, and one with a quote and
	// a comma.
	if _, err := e.svc.AddUser(e.ctx, "ent", claim.NewUser{Email: "eve@example.com", FirstName: "=HYPERLINK(\"x\")",
		LastName: "-1+2", DisplayName: "'quoted, \"and\" comma"}); err != nil {
		t.Fatal(err)
	}
	e.mustUser(t, "ent", "far@elsewhere.org", 0) // not on a verified domain: not claimable
	got := e.export(t, "b")
	want := "First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim,Meetings,Calling\n" +
		"F,L,,ann@example.com,Active,Delayed,TRUE,TRUE,TRUE\n" +
		"F,L,,bob@example.com,Not Verified,Immediate,TRUE,TRUE,TRUE\n" +
		"F,L,,cy@example.com,Active,Delayed,TRUE,TRUE,TRUE\n" +
		"\"'=HYPERLINK(\"\"x\"\")\",'-1+2,\"''quoted, \"\"and\"\" comma\",eve@example.com,Not Verified,Immediate,TRUE,TRUE,TRUE\n" +
		"F,L,,zed@example.com,Not Verified,Immediate,TRUE,TRUE,TRUE\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ExportClaimable (-want +got):\n%s", diff)
	}
}

// TestExportClaimableRefusals: the org-level refusals and a writer's
// error, for the export and the template (S2), nothing written.
func TestExportClaimableRefusals(t *testing.T) {
	e := importEnv(t)
	e.mustOrg(t, "sync", claim.Enterprise, t0, claim.Settings{DirectorySync: true})
	before := e.snapshot(t, "b", "old", "ent")
	for name, export := range map[string]func(context.Context, claim.OrgID, io.Writer) error{
		"ExportClaimable": e.svc.ExportClaimable, "ExportTemplate": e.svc.ExportTemplate} {
		var buf bytes.Buffer
		if err := export(e.ctx, "nope", &buf); !errors.Is(err, claim.ErrNotFound) {
			t.Errorf("%s(unknown org) = %v, want ErrNotFound", name, err)
		}
		if err := export(e.ctx, "sync", &buf); !errors.Is(err, claim.ErrDirectorySyncEnabled) {
			t.Errorf("%s(directory-sync org) = %v, want ErrDirectorySyncEnabled", name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("a refused %s wrote %q", name, buf.String())
		}
		werr := errors.New("disk full")
		if err := export(e.ctx, "b", failWriter{werr}); !errors.Is(err, werr) {
			t.Errorf("%s(failing writer) = %v, want %v", name, err, werr)
		}
	}
	e.unchanged(t, before, "b", "old", "ent")
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestEscapeCell(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"", ""}, {"a", "a"}, {"=1", "'=1"}, {"+1", "'+1"}, {"-1", "'-1"}, {"@x", "'@x"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"}, {"\nx", "'\nx"}, {"\x00x", "'\x00x"}, {"'x", "''x"},
		{"'", "''"}, {"a=1", "a=1"}, {" =1", " =1"},
	} {
		if got := claim.EscapeCell(c.in); got != c.out {
			t.Errorf("EscapeCell(%q) = %q, want %q", c.in, got, c.out)
		}
		if got := claim.UnescapeCell(c.out); got != c.in {
			t.Errorf("UnescapeCell(%q) = %q, want %q", c.out, got, c.in)
		}
	}
	// A ' before an ordinary character is the admin's, not ours.
	for _, v := range []string{"'a", "'", "'1"} {
		if got := claim.UnescapeCell(v); got != v {
			t.Errorf("UnescapeCell(%q) = %q, want it unchanged", v, got)
		}
	}
}

func TestImportClaimsExported(t *testing.T) {
	e := importEnv(t)
	file := e.export(t, "b")
	var onRow []claim.RowResult
	var progress []int
	rep, err := e.importString("b", file, claim.ImportOptions{
		OnRow:    func(r claim.RowResult) { onRow = append(onRow, r) },
		Progress: func(n int) { progress = append(progress, n) },
	})
	if err != nil {
		t.Fatalf("ImportClaims = %v", err)
	}
	if diff := cmp.Diff(claim.ImportReport{Claimed: 3}, rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	wantRows := []claim.RowResult{{Line: 2, Email: "ann@example.com", Mode: claim.Delayed},
		{Line: 3, Email: "bob@example.com", Mode: claim.Immediate}, {Line: 4, Email: "cy@example.com", Mode: claim.Delayed}}
	if diff := cmp.Diff(wantRows, onRow); diff != "" {
		t.Errorf("OnRow (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{3}, progress); diff != "" {
		t.Errorf("Progress (-want +got):\n%s", diff)
	}
	for _, addr := range []string{"ann@example.com", "bob@example.com", "cy@example.com"} {
		u, err := e.svc.UserByEmail(e.ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if u.Org != "b" || u.Claim == nil || !slices.Equal(u.Licenses, []string{"Meetings", "Calling"}) {
			t.Errorf("%s after import: org %s, claim %+v, licenses %v; want claimed into b with Meetings, Calling", addr, u.Org, u.Claim, u.Licenses)
		}
	}
	// V4: re-importing claims nothing twice.
	before := e.snapshot(t, "b", "old", "ent")
	rep, err = e.importString("b", file, claim.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2 ann@example.com: ErrAlreadyClaimed", "3 bob@example.com: ErrAlreadyClaimed", "4 cy@example.com: ErrAlreadyClaimed"}
	if diff := cmp.Diff(want, rowErrs(rep.Rows)); diff != "" || rep.Skipped != 3 || rep.Claimed != 0 || rep.Refused != 0 {
		t.Errorf("re-import: %+v (-want +got rows):\n%s", rep, diff)
	}
	e.unchanged(t, before, "b", "old", "ent")
}

func TestImportClaimsRows(t *testing.T) {
	const header = "User ID/Email (Required),Claim Type,Claim,Meetings,Calling\n"
	for _, c := range []struct {
		name, file string
		opts       claim.ImportOptions
		claimed    int
		rows       []string
		unknown    []string
		licenses   map[string][]string // address: licenses after the import
		modes      map[string]claim.Mode
	}{
		{name: "V2: Claim FALSE skips the row", file: header + "ann@example.com,Delayed,FALSE,,\nbob@example.com,Immediate,true,,\n",
			claimed: 1, rows: []string{"2 ann@example.com: ErrNotSelected"}},
		{name: "V2: values are trimmed and read case-insensitively", file: header + " ANN@Example.com , delayed , True ,true,FALSE\n",
			claimed: 1, licenses: map[string][]string{"ann@example.com": {"Meetings"}}, modes: map[string]claim.Mode{"ann@example.com": claim.Delayed}},
		{name: "V2: without Claim Type a row gets today's mode; without Claim every row is claimed",
			file: "User ID/Email (Required)\nann@example.com\nbob@example.com\n", claimed: 2,
			modes: map[string]claim.Mode{"ann@example.com": claim.Delayed, "bob@example.com": claim.Immediate}},
		{name: "V2: an empty Claim Type cell gets today's mode", file: header + "ann@example.com,,TRUE,,\n", claimed: 1,
			modes: map[string]claim.Mode{"ann@example.com": claim.Delayed}},
		{name: "M3: Immediate is honoured where today's mode is Delayed", file: header + "ann@example.com,Immediate,TRUE,,\n", claimed: 1,
			modes: map[string]claim.Mode{"ann@example.com": claim.Immediate}},
		{name: "M3: Delayed where today's mode is Immediate is refused by itself", file: header + "bob@example.com,Delayed,TRUE,,\nann@example.com,Delayed,TRUE,,\n",
			claimed: 1, rows: []string{"2 bob@example.com: ErrStaleMode"}},
		{name: "V3: bad cells and unknown or ineligible users are refused one by one",
			file: header + "not-an-address,,TRUE,,\nann@example.com,Later,TRUE,,\nann@example.com,,maybe,,\nann@example.com,,,yes,\n" +
				"nobody@example.com,,TRUE,,\ndee@example.com,,TRUE,,\n\"cy@example.com\",,,,\n",
			claimed: 1, rows: []string{"2 not-an-address: ErrInvalidEmail", "3 ann@example.com: ErrInvalidValue", "4 ann@example.com: ErrInvalidValue",
				"5 ann@example.com: ErrInvalidValue", "6 nobody@example.com: ErrNotFound", "7 dee@example.com: ErrNotEligible"}},
		{name: "V4: a row repeated in the file is skipped", file: header + "ann@example.com,,,,\nbob@example.com,,,,\nAnn@example.com,,,,\n",
			claimed: 2, rows: []string{"4 ann@example.com: ErrAlreadyClaimed"}},
		{name: "V3: unknown columns are ignored and reported; a BOM and CRLF are accepted",
			file: "\uFEFFNotes,user id/email (required),CLAIM,Department\r\nhi,ann@example.com,TRUE,x\r\n", claimed: 1,
			unknown: []string{"Notes", "Department"}},
		{name: "V5: one leading ' is removed before a formula character", file: "User ID/Email (Required)\n'-x@example.com\n",
			rows: []string{"2 -x@example.com: ErrNotFound"}},
		{name: "V7: license columns grant and withhold; a missing column keeps the default",
			file:    "User ID/Email (Required),Calling\nann@example.com,FALSE\nbob@example.com,\n",
			opts:    claim.ImportOptions{Licenses: []string{"Messaging"}},
			claimed: 2,
			licenses: map[string][]string{"ann@example.com": {"Meetings", "Messaging"},
				"bob@example.com": {"Meetings", "Calling", "Messaging"}}},
		{name: "V7: a column grants a license the options do not", file: "User ID/Email (Required),meetings\nann@example.com,TRUE\n",
			claimed: 1, licenses: map[string][]string{"ann@example.com": {"Meetings", "Calling"}}},
		{name: "V2: a header-only file claims nothing", file: header},
		{name: "V2: a line with a quoted empty address is refused", file: "User ID/Email (Required),Claim\n\"\",TRUE\n",
			rows: []string{"2 : ErrInvalidEmail"}},
		{name: "V3: a row spanning lines reports its first line", file: "First Name,User ID/Email (Required)\n\"two\nlines\",nobody@example.com\nx,ann@example.com\n",
			claimed: 1, rows: []string{"2 nobody@example.com: ErrNotFound"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := importEnv(t)
			// The dry run forecasts the real run exactly and changes nothing.
			before := e.snapshot(t, "b", "old", "ent")
			opts := c.opts
			opts.DryRun = true
			dry, err := e.importString("b", c.file, opts)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			e.unchanged(t, before, "b", "old", "ent")
			rep, err := e.importString("b", c.file, c.opts)
			if err != nil {
				t.Fatalf("ImportClaims = %v", err)
			}
			if diff := cmp.Diff(c.rows, rowErrs(rep.Rows)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			refused := 0
			for _, r := range rep.Rows {
				if !r.Skipped() {
					refused++
				}
			}
			if rep.Claimed != c.claimed || rep.Refused != refused || rep.Skipped != len(rep.Rows)-refused {
				t.Errorf("counts: claimed %d refused %d skipped %d; want claimed %d, refused %d", rep.Claimed, rep.Refused, rep.Skipped, c.claimed, refused)
			}
			if diff := cmp.Diff(c.unknown, rep.UnknownColumns); diff != "" {
				t.Errorf("UnknownColumns (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(rep, dry, cmp.Comparer(func(a, b error) bool { return fmt.Sprint(a) == fmt.Sprint(b) })); diff != "" {
				t.Errorf("dry run differs from the real run (-real +dry):\n%s", diff)
			}
			for addr, want := range c.licenses {
				u, err := e.svc.UserByEmail(e.ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, u.Licenses); diff != "" {
					t.Errorf("licenses of %s (-want +got):\n%s", addr, diff)
				}
			}
			for addr, want := range c.modes {
				u, err := e.svc.UserByEmail(e.ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				if u.Claim == nil || u.Claim.Mode != want {
					t.Errorf("claim of %s: %+v, want mode %v", addr, u.Claim, want)
				}
			}
		})
	}
}

// A refused row says why in its error.
func TestImportClaimsRowErrors(t *testing.T) {
	e := importEnv(t)
	rep, err := e.importString("b", "User ID/Email (Required),Claim Type,Meetings\nbob@example.com,Delayed,\ndee@example.com,,\nann@example.com,,sure\n", claim.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 3 {
		t.Fatalf("rows: %+v", rep.Rows)
	}
	if msg := rep.Rows[0].Err.Error(); !strings.Contains(msg, "re-export") {
		t.Errorf("stale mode error %q does not say to re-export", msg)
	}
	var re *claim.RefusalError
	if !errors.As(rep.Rows[1].Err, &re) || !slices.Equal(re.Reasons, []claim.Reason{claim.ReasonAlreadyMember}) {
		t.Errorf("member row: %v, want a RefusalError with already_member", rep.Rows[1].Err)
	}
	var ie *claim.InputError
	if !errors.As(rep.Rows[2].Err, &ie) || ie.Field != "Meetings" || ie.Value != "sure" {
		t.Errorf("bad license cell: %#v, want an InputError naming Meetings and sure", rep.Rows[2].Err)
	}
}

func TestImportClaimsRefusedCalls(t *testing.T) {
	for _, c := range []struct {
		name, org, file string
		opts            claim.ImportOptions
		want            error
		field           string
	}{
		{name: "K1: no acknowledgement", org: "b", file: "User ID/Email (Required)\nann@example.com\n", want: claim.ErrNotAcknowledged},
		{name: "unknown org", org: "nope", file: "User ID/Email (Required)\nann@example.com\n", opts: claim.ImportOptions{Acknowledge: true}, want: claim.ErrNotFound},
		{name: "E7: directory-sync org", org: "sync", file: "User ID/Email (Required)\nann@example.com\n", opts: claim.ImportOptions{Acknowledge: true}, want: claim.ErrDirectorySyncEnabled},
		{name: "an empty license name", org: "b", file: "User ID/Email (Required)\nann@example.com\n",
			opts: claim.ImportOptions{Acknowledge: true, Licenses: []string{" "}}, want: claim.ErrInvalidValue, field: "ImportOptions.Licenses"},
		{name: "V3: the required column missing", org: "b", file: "First Name,Claim\nAnn,TRUE\n",
			opts: claim.ImportOptions{Acknowledge: true}, want: claim.ErrInvalidValue, field: "header"},
		{name: "V3: a column named twice", org: "b", file: "User ID/Email (Required),claim,CLAIM\nann@example.com,TRUE,TRUE\n",
			opts: claim.ImportOptions{Acknowledge: true}, want: claim.ErrInvalidValue, field: "header"},
		{name: "V3: an empty file", org: "b", file: "", opts: claim.ImportOptions{Acknowledge: true}, want: claim.ErrInvalidValue, field: "header"},
		{name: "V3: only a BOM", org: "b", file: "\uFEFF", opts: claim.ImportOptions{Acknowledge: true}, want: claim.ErrInvalidValue, field: "header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := importEnv(t)
			e.mustOrg(t, "sync", claim.Enterprise, t0, claim.Settings{DirectorySync: true})
			before := e.snapshot(t, "b", "old", "ent", "sync")
			for _, dry := range []bool{false, true} {
				opts := c.opts
				opts.DryRun = dry
				rep, err := e.svc.ImportClaims(e.ctx, claim.OrgID(c.org), strings.NewReader(c.file), opts)
				if !errors.Is(err, c.want) {
					t.Fatalf("ImportClaims(dry %v) = %v, want %v", dry, err, c.want)
				}
				var ie *claim.InputError
				if c.field != "" && (!errors.As(err, &ie) || ie.Field != c.field) {
					t.Errorf("error %v does not name field %q", err, c.field)
				}
				if diff := cmp.Diff(claim.ImportReport{}, rep); diff != "" {
					t.Errorf("report of a refused call (-want +got):\n%s", diff)
				}
			}
			e.unchanged(t, before, "b", "old", "ent", "sync")
		})
	}
}

func TestImportClaimsMalformed(t *testing.T) {
	const header = "User ID/Email (Required),Claim\n"
	for _, c := range []struct {
		name, rest string
		line, col  int
		cause      error  // a sentinel of the ParseError, if any
		tooLong    bool   // refused for its length
		says       string // what the message says, if anything in particular
	}{
		{name: "a bare quote", rest: "bob@example.com,TRUE\nx\"y@example.com,TRUE\n", line: 3, col: 2, cause: csv.ErrBareQuote},
		{name: "an unterminated quote", rest: "bob@example.com,TRUE\n\"cy@example.com,TRUE\n", line: 3, col: 22, cause: csv.ErrQuote},
		{name: "a missing field: the column after the last field", rest: "bob@example.com,TRUE\ncy@example.com\n", line: 3, col: 15, cause: csv.ErrFieldCount,
			says: `column 2 ("Claim") is missing`},
		{name: "an extra field: its own column", rest: "bob@example.com,TRUE\ncy@example.com,TRUE,x\n", line: 3, col: 21, cause: csv.ErrFieldCount,
			says: "field 3 is extra"},
		{name: "a NUL byte is binary data (V3)", rest: "bob@example.com,TRUE\ncy@example.com,TR\x00UE\n", line: 3, col: 18, says: "binary data"},
		{name: "a control byte is binary data (V3)", rest: "bob@example.com,TRUE\ncy@exa\x01mple.com,TRUE\n", line: 3, col: 7, says: "binary data"},
		{name: "a DEL byte is binary data (V3)", rest: "bob@example.com,TRUE\ncy@example.com,\x7f\n", line: 3, col: 16, says: "binary data"},
		{name: "text that is not UTF-8", rest: "bob@example.com,TRUE\ncy@example.com,\xff\xfe\n", line: 3, col: 16},
		{name: "a 10 MB line", rest: "bob@example.com,TRUE\n" + strings.Repeat("x", 10<<20) + "\ncy@example.com,TRUE\n", line: 3, col: 1, tooLong: true},
		{name: "a record just over 1 MiB", rest: "bob@example.com,TRUE\n" + "cy@example.com," + strings.Repeat("x", 1<<20) + "\n", line: 3, col: 1, tooLong: true},
		{name: "binary data", rest: "bob@example.com,TRUE\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xc8\x00", line: 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := importEnv(t)
			rep, err := e.importString("b", header+c.rest, claim.ImportOptions{})
			var pe *csv.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, claim.ErrInvalidValue) {
				t.Fatalf("ImportClaims = %v, want a *csv.ParseError wrapping ErrInvalidValue", err)
			}
			if pe.StartLine != c.line && pe.Line != c.line {
				t.Errorf("ParseError %+v: want line %d", pe, c.line)
			}
			if c.col != 0 && pe.Column != c.col {
				t.Errorf("ParseError %+v: want column %d", pe, c.col)
			}
			if c.cause != nil && !errors.Is(err, c.cause) {
				t.Errorf("error %v does not wrap %v", err, c.cause)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
			if got := strings.Contains(err.Error(), "record longer than"); got != c.tooLong {
				t.Errorf("error %q: says the record is too long: %v, want %v", err, got, c.tooLong)
			}
			if !strings.Contains(err.Error(), "line") {
				t.Errorf("error %q does not name the line", err)
			}
			// The row before the bad line stays claimed; nothing after it is.
			if rep.Claimed != 1 {
				t.Errorf("report %+v, want the first row claimed", rep)
			}
			if u, _ := e.svc.UserByEmail(e.ctx, "bob@example.com"); u.Org != "b" {
				t.Errorf("bob is in %s, want b: rows before the bad line stay claimed", u.Org)
			}
			if u, _ := e.svc.UserByEmail(e.ctx, "cy@example.com"); u.Org != "old" {
				t.Errorf("cy is in %s, want old: nothing after the bad line is claimed", u.Org)
			}
		})
	}
}

// cancelReader cancels its context once a given number of bytes is read.
type cancelReader struct {
	r      io.Reader
	n, at  int
	cancel func()
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n >= c.at {
		c.cancel()
	}
	return n, err
}

// bulkEnv is org b with example.com verified and n Enterprise users on
// it, u00000@example.com and on.
func bulkEnv(tb testing.TB, n int) (*env, string) {
	tb.Helper()
	return bulkEnvOn(tb, claim.NewMemoryStore(), n)
}

func bulkEnvOn(tb testing.TB, store claim.Store, n int) (*env, string) {
	tb.Helper()
	e := newEnvOn(tb, store)
	e.mustOrg(tb, "b", claim.Enterprise, t0, claim.Settings{})
	e.mustOrg(tb, "ent", claim.Enterprise, t0, claim.Settings{})
	e.mustVerify(tb, "b", "example.com")
	var file strings.Builder
	file.WriteString("User ID/Email (Required),Claim\n")
	for i := range n {
		addr := fmt.Sprintf("u%06d@example.com", i)
		e.mustUser(tb, "ent", addr, 1)
		fmt.Fprintf(&file, "%s,TRUE\n", addr)
	}
	return e, file.String()
}

// claimedOf counts b's users and b's claim.created events.
func claimedOf(tb testing.TB, e *env) (users, events int) {
	tb.Helper()
	for _, err := range e.svc.Users(e.ctx, "b") {
		if err != nil {
			tb.Fatal(err)
		}
		users++
	}
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			tb.Fatal(err)
		}
		if ev.Type == claim.EventClaimCreated {
			events++
		}
	}
	return users, events
}

func TestImportClaimsCancel(t *testing.T) {
	// Cancelled while the second batch is read: the first one is claimed.
	const rows = 2 * claim.ImportBatchRows
	e, file := bulkEnv(t, rows)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var progress []int
	r := &cancelReader{r: strings.NewReader(file), at: len(file) * 3 / 4, cancel: cancel}
	rep, err := e.svc.ImportClaims(ctx, "b", r, claim.ImportOptions{Acknowledge: true, Progress: func(n int) { progress = append(progress, n) }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ImportClaims = %v, want context.Canceled", err)
	}
	if rep.Claimed == 0 || rep.Claimed >= rows {
		t.Fatalf("claimed %d of %d: want the import stopped part way", rep.Claimed, rows)
	}
	users, events := claimedOf(t, e)
	if users != rep.Claimed || events != rep.Claimed {
		t.Errorf("report says %d claimed; b has %d users and the log %d claims", rep.Claimed, users, events)
	}
	if len(progress) == 0 || progress[len(progress)-1] != rep.Claimed {
		t.Errorf("progress %v, want it to end at %d", progress, rep.Claimed)
	}
	// Re-running finishes the rest, claiming nothing twice.
	rep2, err := e.importString("b", file, claim.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Claimed != rows-rep.Claimed || rep2.Skipped != rep.Claimed {
		t.Errorf("re-run: %d claimed, %d skipped; want %d and %d", rep2.Claimed, rep2.Skipped, rows-rep.Claimed, rep.Claimed)
	}
	if users, events := claimedOf(t, e); users != rows || events != rows {
		t.Errorf("after the re-run b has %d users and the log %d claims, want %d", users, events, rows)
	}
}

// A context cancelled before the call claims nothing.
func TestImportClaimsCancelledBefore(t *testing.T) {
	e, file := bulkEnv(t, 3)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	rep, err := e.svc.ImportClaims(ctx, "b", strings.NewReader(file), claim.ImportOptions{Acknowledge: true})
	if !errors.Is(err, context.Canceled) || rep.Claimed != 0 {
		t.Errorf("ImportClaims = %+v, %v; want nothing claimed and context.Canceled", rep, err)
	}
	if users, _ := claimedOf(t, e); users != 0 {
		t.Errorf("b has %d users, want 0", users)
	}
}

func TestImportClaimsProgress(t *testing.T) {
	e, file := bulkEnv(t, 2500)
	var progress []int
	var lines []int
	rep, err := e.importString("b", file, claim.ImportOptions{
		Progress: func(n int) { progress = append(progress, n) },
		OnRow:    func(r claim.RowResult) { lines = append(lines, r.Line) },
	})
	if err != nil || rep.Claimed != 2500 {
		t.Fatalf("ImportClaims = %+v, %v", rep, err)
	}
	// V6: at least every 1,000 rows, increasing, and the total at the end.
	prev := 0
	for _, n := range progress {
		if n <= prev || n-prev > 1000 {
			t.Fatalf("progress %v: want increasing steps of at most 1,000", progress)
		}
		prev = n
	}
	if prev != 2500 {
		t.Errorf("progress ends at %d, want 2500", prev)
	}
	if len(lines) != 2500 || !slices.IsSorted(lines) || lines[0] != 2 || lines[2499] != 2501 {
		t.Errorf("OnRow saw %d rows (first %v): want every row in file order", len(lines), lines[:min(3, len(lines))])
	}
}

// A store failure in a batch fails the import; the batches before stay
// claimed, the failing one leaves nothing, and the report says so.
func TestImportClaimsStoreFailure(t *testing.T) {
	boom := errors.New("disk on fire")
	fs := &faultStore{Store: claim.NewMemoryStore(), err: boom}
	f, file := bulkEnvOn(t, fs, claim.ImportBatchRows+344)
	// Once the first batch is reported, a write of the third claim of the
	// second batch fails (each claim writes the user, its original and
	// two events).
	var onRow int
	n := 0
	rep, err := f.importString("b", file, claim.ImportOptions{OnRow: func(claim.RowResult) {
		onRow++
		if n++; n == claim.ImportBatchRows {
			fs.failAt = 2*4 + 1
		}
	}})
	if !errors.Is(err, boom) {
		t.Fatalf("ImportClaims = %v, want %v", err, boom)
	}
	if rep.Claimed != claim.ImportBatchRows || onRow != claim.ImportBatchRows {
		t.Errorf("report %+v, OnRow %d: want the first batch of %d only", rep, onRow, claim.ImportBatchRows)
	}
	fs.failAt = 0
	if users, events := claimedOf(t, f); users != claim.ImportBatchRows || events != claim.ImportBatchRows {
		t.Errorf("b has %d users and the log %d claims, want %d", users, events, claim.ImportBatchRows)
	}
}

// parallelStore is a memory store that says its Updates run side by side
// (claim.ParallelStore), so that ImportClaims overlaps its batches on it,
// though they still run one at a time. Its Updates are counted from 1;
// the n-th can panic, fail before it runs its function, or commit and
// then, after a delay, report a failure or panic. It counts the Updates
// running, and keeps the errors its functions returned.
type parallelStore struct {
	claim.Store
	mu          sync.Mutex
	updates     int
	running     int
	maxRunning  int
	fnErrs      []error
	panicAt     int // with boom, before running the function
	panicLateAt int // with boom, after running it and sleeping late
	boom        any
	failAt      int // with err, before running the function
	exitAt      int // runtime.Goexit, before running the function
	lateAt      int // with err (nil: none), after committing and sleeping late
	late        time.Duration
	err         error
}

func (s *parallelStore) ParallelUpdates() bool { return true }

func (s *parallelStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	s.mu.Lock()
	s.updates++
	s.running++
	s.maxRunning = max(s.maxRunning, s.running)
	n := s.updates
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
	}()
	recorded := func(tx claim.Tx) error {
		err := fn(tx)
		s.mu.Lock()
		s.fnErrs = append(s.fnErrs, err)
		s.mu.Unlock()
		return err
	}
	switch n {
	case s.panicAt:
		return s.Store.Update(ctx, func(claim.Tx) error { panic(s.boom) })
	case s.panicLateAt:
		return s.Store.Update(ctx, func(tx claim.Tx) error {
			if err := recorded(tx); err != nil {
				return err
			}
			time.Sleep(s.late)
			panic(s.boom)
		})
	case s.failAt:
		return s.err
	case s.exitAt:
		runtime.Goexit()
	case s.lateAt:
		if err := s.Store.Update(ctx, recorded); err != nil {
			return err
		}
		time.Sleep(s.late)
		return s.err
	}
	return s.Store.Update(ctx, recorded)
}

// arm sets the store up with edit, its Updates counted from the next.
func (s *parallelStore) arm(edit func(s *parallelStore, next int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	edit(s, s.updates+1)
}

// idle fails the test if an Update is still running.
func (s *parallelStore) idle(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != 0 {
		t.Errorf("%d Updates still run after ImportClaims returned", s.running)
	}
}

// On a store that runs Updates side by side, batches overlap: every row
// is still claimed once, reported once in file order, and Progress
// counts them in steps of a batch; a dry run, which does not overlap its
// batches, forecasts it.
func TestImportClaimsParallel(t *testing.T) {
	const rows = 3*claim.ImportBatchRows + 500
	ps := &parallelStore{Store: claim.NewMemoryStore()}
	e, file := bulkEnvOn(t, ps, rows)
	dry, err := e.importString("b", file, claim.ImportOptions{DryRun: true})
	if err != nil || dry.Claimed != rows {
		t.Fatalf("ImportClaims(dry run) = %+v, %v; want %d claimed", dry, err, rows)
	}
	var progress, lines []int
	rep, err := e.importString("b", file, claim.ImportOptions{
		Progress: func(n int) { progress = append(progress, n) },
		OnRow:    func(r claim.RowResult) { lines = append(lines, r.Line) },
	})
	if err != nil || rep.Claimed != rows {
		t.Fatalf("ImportClaims = %+v, %v; want %d claimed", rep, err, rows)
	}
	if want := []int{1000, 2000, 3000, rows}; !slices.Equal(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}
	if len(lines) != rows || !slices.IsSorted(lines) || lines[0] != 2 {
		t.Errorf("OnRow saw %d rows (first %v): want every row in file order", len(lines), lines[:min(3, len(lines))])
	}
	if users, events := claimedOf(t, e); users != rows || events != rows {
		t.Errorf("b has %d users and the log %d claims, want %d", users, events, rows)
	}
	if ps.maxRunning != 2 {
		t.Errorf("at most %d Updates ran at once, want 2: the batches did not overlap", ps.maxRunning)
	}
}

// parallelImport imports rows users on a parallelStore set up by arm
// (its Updates counted from the import's first batch), in a goroutine,
// reading the file through reader when it is not nil, and returns what
// ImportClaims returned or panicked with, failing the test if it takes a
// minute; and how many of the rows are claimed.
func parallelImport(t *testing.T, rows int, reader func(file string) io.Reader, opts claim.ImportOptions,
	arm func(s *parallelStore, first int)) (rep claim.ImportReport, panicked any, claimed int, err error) {
	t.Helper()
	ps := &parallelStore{Store: claim.NewMemoryStore()}
	e, file := bulkEnvOn(t, ps, rows)
	ps.arm(arm)
	var r io.Reader = strings.NewReader(file)
	if reader != nil {
		r = reader(file)
	}
	opts.Acknowledge = true
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		rep, err = e.svc.ImportClaims(e.ctx, "b", r, opts)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("ImportClaims has not returned after a minute")
	}
	ps.idle(t)
	claimed, _ = claimedOf(t, e)
	return rep, panicked, claimed, err
}

// A batch that panics while the next one runs beside it makes
// ImportClaims panic with the same value, in the caller's goroutine,
// once the next one has rolled back: the batches before stay claimed.
func TestImportClaimsParallelPanic(t *testing.T) {
	for _, c := range []struct {
		name string
		arm  func(s *parallelStore, first int)
	}{
		{"before its function", func(s *parallelStore, first int) { s.panicAt = first + 1 }},
		// The third batch has started when the second panics.
		{"after its function", func(s *parallelStore, first int) { s.panicLateAt, s.late = first+1, 200*time.Millisecond }},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, panicked, claimed, _ := parallelImport(t, 3*claim.ImportBatchRows, nil, claim.ImportOptions{}, func(s *parallelStore, first int) {
				c.arm(s, first)
				s.boom = "batch two"
			})
			if panicked != "batch two" {
				t.Errorf("ImportClaims panicked with %v, want %q", panicked, "batch two")
			}
			if claimed != claim.ImportBatchRows {
				t.Errorf("b has %d users, want the first batch's %d", claimed, claim.ImportBatchRows)
			}
		})
	}
}

// A panic in OnRow while the next batch runs beside the one reported
// rolls the next one back: only the batches reported (or being reported)
// are claimed, and nothing runs once ImportClaims has returned. The
// second batch ends 200ms after it commits, so that the third runs
// beside it.
func TestImportClaimsParallelCallbackPanic(t *testing.T) {
	for _, at := range []int{claim.ImportBatchRows / 2, claim.ImportBatchRows * 3 / 2} {
		t.Run(fmt.Sprint("row ", at), func(t *testing.T) {
			n := 0
			_, panicked, claimed, _ := parallelImport(t, 3*claim.ImportBatchRows, nil, claim.ImportOptions{OnRow: func(claim.RowResult) {
				if n++; n == at {
					panic("OnRow")
				}
			}}, func(s *parallelStore, first int) { s.lateAt, s.late = first+1, 200*time.Millisecond })
			if panicked != "OnRow" {
				t.Errorf("ImportClaims panicked with %v, want %q", panicked, "OnRow")
			}
			if want := (at/claim.ImportBatchRows + 1) * claim.ImportBatchRows; claimed != want {
				t.Errorf("b has %d users, want %d, the batches up to the one OnRow panicked in", claimed, want)
			}
		})
	}
}

// A reader that panics while a batch runs beside the import makes
// ImportClaims panic once that batch has ended: it was let commit (the
// one before it was reported), so its rows are claimed, unreported.
func TestImportClaimsParallelReaderPanic(t *testing.T) {
	var onRow int
	_, panicked, claimed, _ := parallelImport(t, 3*claim.ImportBatchRows,
		func(file string) io.Reader { return &panicReader{r: strings.NewReader(file), at: len(file) * 3 / 4} },
		claim.ImportOptions{OnRow: func(claim.RowResult) { onRow++ }},
		func(s *parallelStore, first int) { s.lateAt, s.late = first+1, 200*time.Millisecond })
	if panicked != "reader" {
		t.Errorf("ImportClaims panicked with %v, want %q", panicked, "reader")
	}
	if claimed != 2*claim.ImportBatchRows || onRow != claim.ImportBatchRows {
		t.Errorf("b has %d users and OnRow saw %d rows; want the first two batches claimed, the first reported", claimed, onRow)
	}
}

// panicReader reads r, and panics once at bytes have been read.
type panicReader struct {
	r  io.Reader
	n  int
	at int
}

func (p *panicReader) Read(b []byte) (int, error) {
	if p.n >= p.at {
		panic("reader")
	}
	n, err := p.r.Read(b[:min(len(b), p.at-p.n)])
	p.n += n
	return n, err
}

// A batch whose goroutine exits (runtime.Goexit, as t.FailNow does)
// makes ImportClaims panic rather than wait for it for ever.
func TestImportClaimsParallelGoexit(t *testing.T) {
	_, panicked, claimed, _ := parallelImport(t, 3*claim.ImportBatchRows, nil, claim.ImportOptions{}, func(s *parallelStore, first int) {
		s.exitAt = first + 1
	})
	if err, ok := panicked.(error); !ok || !strings.Contains(err.Error(), "Goexit") {
		t.Errorf("ImportClaims panicked with %v, want an error naming runtime.Goexit", panicked)
	}
	if claimed != claim.ImportBatchRows {
		t.Errorf("b has %d users, want the first batch's %d", claimed, claim.ImportBatchRows)
	}
}

// A batch that fails before it reads anything (before it holds its
// users) ends the import with its error at once; the batch after it,
// running or not, commits nothing.
func TestImportClaimsParallelFailsEarly(t *testing.T) {
	boom := errors.New("no connection")
	rep, panicked, claimed, err := parallelImport(t, 4*claim.ImportBatchRows, nil, claim.ImportOptions{}, func(s *parallelStore, first int) {
		s.failAt, s.err = first+1, boom
	})
	if !errors.Is(err, boom) || panicked != nil || rep.Claimed != claim.ImportBatchRows || claimed != claim.ImportBatchRows {
		t.Errorf("ImportClaims = %d claimed, %v (panic %v); b has %d users; want the first batch's %d and %v",
			rep.Claimed, err, panicked, claimed, claim.ImportBatchRows, boom)
	}
}

// A batch whose rows are done waits for the one before it for a second
// (importPatience), then gives up its transaction; when that one then
// fails, the batch that gave up commits nothing: it does not run again.
func TestImportClaimsParallelYieldThenPredecessorFails(t *testing.T) {
	boom := errors.New("commit lost")
	var ps *parallelStore
	rep, _, claimed, err := parallelImport(t, 3*claim.ImportBatchRows, nil, claim.ImportOptions{}, func(s *parallelStore, first int) {
		// The second batch commits, then reports a failure 1.5s later.
		s.lateAt, s.late, s.err = first+1, 1500*time.Millisecond, boom
		ps = s
	})
	yields := 0
	for _, err := range ps.fnErrs {
		if err != nil && strings.Contains(err.Error(), "waited too long") {
			yields++
		}
	}
	if yields != 1 {
		t.Errorf("the import's batches gave up %d times (%v), want once: the third", yields, ps.fnErrs)
	}
	if !errors.Is(err, boom) || rep.Claimed != claim.ImportBatchRows {
		t.Errorf("ImportClaims = %d claimed, %v; want the first batch's %d and %v", rep.Claimed, err, claim.ImportBatchRows, boom)
	}
	if claimed != 2*claim.ImportBatchRows {
		t.Errorf("b has %d users, want the first two batches' %d (the second committed, then failed): the third must not commit",
			claimed, 2*claim.ImportBatchRows)
	}
}

// FuzzImportClaims feeds arbitrary bytes to ImportClaims: it never panics,
// a dry run forecasts the real run exactly, every row is reported once,
// and no row the report calls refused or skipped is claimed by it.
func FuzzImportClaims(f *testing.F) {
	f.Add([]byte("User ID/Email (Required),Claim Type,Claim,Meetings,Calling\nann@example.com,Delayed,TRUE,TRUE,FALSE\nbob@example.com,Immediate,TRUE,,\n"))
	f.Add([]byte("\uFEFFuser id/email (required)\r\nbob@example.com\r\n"))
	f.Add([]byte("User ID/Email (Required),Claim\rann@example.com,TRUE\r"))                    // bare CR
	f.Add([]byte("User ID/Email (Required),Claim\nann@example.com,TR\x00UE\n"))                // binary data
	f.Add([]byte("User ID/Email (Required),Claim\nann@example.com\nbob@example.com,TRUE,x\n")) // field counts
	f.Add([]byte("User ID/Email (Required)\nANN@EXAMPLE.COM.\n\"bob@example.com\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := importEnv(t)
		e.mustUser(t, "ent", "-x@example.com", 0)
		dry, dryErr := e.svc.ImportClaims(e.ctx, "b", bytes.NewReader(data), claim.ImportOptions{Acknowledge: true, DryRun: true})
		var seen []claim.RowResult
		rep, err := e.svc.ImportClaims(e.ctx, "b", bytes.NewReader(data), claim.ImportOptions{Acknowledge: true,
			OnRow: func(r claim.RowResult) { seen = append(seen, r) }})
		if fmt.Sprint(err) != fmt.Sprint(dryErr) {
			t.Fatalf("real run error %v, dry run error %v", err, dryErr)
		}
		errText := cmp.Comparer(func(a, b error) bool { return fmt.Sprint(a) == fmt.Sprint(b) })
		if diff := cmp.Diff(rep, dry, errText); diff != "" {
			t.Fatalf("dry run differs from the real run (-real +dry):\n%s", diff)
		}
		if len(seen) != rep.Claimed+rep.Refused+rep.Skipped {
			t.Fatalf("OnRow saw %d rows; the report counts %+v", len(seen), rep)
		}
		if err != nil && !errors.Is(err, claim.ErrInvalidValue) {
			t.Fatalf("ImportClaims = %v, want nil or a malformed file or header (ErrInvalidValue)", err)
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) && pe.Line < 1 {
			t.Fatalf("ParseError %+v names no line", pe)
		}
		if len(rep.Rows)+rep.Omitted != rep.Refused+rep.Skipped || len(rep.Rows) > claim.DefaultMaxReportRows {
			t.Fatalf("report %+v: Rows and Omitted do not add up to the refused and skipped rows", rep)
		}
		claimedBy := map[string]bool{} // addresses a row claimed
		var problems []claim.RowResult
		for _, r := range seen {
			if r.Err == nil {
				if claimedBy[r.Email] {
					t.Fatalf("%s claimed twice", r.Email)
				}
				claimedBy[r.Email] = true
				continue
			}
			problems = append(problems, r)
		}
		if diff := cmp.Diff(rep.Rows, problems, errText); diff != "" {
			t.Fatalf("report rows differ from the refused and skipped rows OnRow saw (-report +OnRow):\n%s", diff)
		}
		users, events := claimedOf(t, e)
		if users-1 != len(claimedBy) || events != len(claimedBy) || rep.Claimed != len(claimedBy) {
			t.Fatalf("b has %d users (one its own), %d claim events; the report claims %d", users, events, rep.Claimed)
		}
		for _, r := range rep.Rows {
			u, err := e.svc.UserByEmail(e.ctx, r.Email)
			if err != nil || claimedBy[r.Email] {
				continue // no such account, or claimed by another row
			}
			if u.Org == "b" && u.Claim != nil {
				t.Fatalf("row %d (%s) is reported %v but its user was claimed", r.Line, r.Email, r.Err)
			}
		}
	})
}

// A record of just under 1 MiB is read: the limit is on length, not on
// content.
func TestImportClaimsLongRecord(t *testing.T) {
	e := importEnv(t)
	name := strings.Repeat("x", 1<<20-100)
	rep, err := e.importString("b", "First Name,User ID/Email (Required)\n"+name+",ann@example.com\n"+name+",bob@example.com\n", claim.ImportOptions{})
	if err != nil || rep.Claimed != 2 {
		t.Errorf("ImportClaims(records of 1 MiB - 100 bytes) = %+v, %v; want both claimed", rep, err)
	}
}

// cancelStore cancels a context at the n-th user lookup by address of an
// Update: in the middle of an import's batch.
type cancelStore struct {
	claim.Store
	n      int
	cancel func()
}

func (s *cancelStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	return s.Store.Update(ctx, func(tx claim.Tx) error { return fn(&cancelTx{Tx: tx, s: s}) })
}

type cancelTx struct {
	claim.Tx
	s *cancelStore
}

func (t *cancelTx) UserByEmail(email string) (claim.User, error) {
	if t.s.n--; t.s.n == 0 {
		t.s.cancel()
	}
	return t.Tx.UserByEmail(email)
}

// V6: cancelled in the middle of a batch, the import stops after the row
// it is on: the rows before commit, none after is claimed.
func TestImportClaimsCancelMidBatch(t *testing.T) {
	cs := &cancelStore{Store: claim.NewMemoryStore()}
	e, file := bulkEnvOn(t, cs, 100)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	cs.n, cs.cancel = 10, cancel
	rep, err := e.svc.ImportClaims(ctx, "b", strings.NewReader(file), claim.ImportOptions{Acknowledge: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ImportClaims = %v, want context.Canceled", err)
	}
	if users, events := claimedOf(t, e); rep.Claimed != 10 || users != 10 || events != 10 {
		t.Errorf("claimed %d (b has %d users, %d claim events), want the 10 rows up to the cancellation", rep.Claimed, users, events)
	}
}

// Each batch reads the org again (rule 1, E7, E8, M1): what an admin
// changes in the middle of a long import applies from the next batch on.
func TestImportClaimsOrgChangesMidImport(t *testing.T) {
	setup := func(t *testing.T, st claim.Settings, kind claim.OrgKind) (*env, string) {
		e := newEnv(t)
		e.mustOrg(t, "a", kind, oldOrgDate, claim.Settings{})
		e.mustOrg(t, "b", claim.Enterprise, t0, st)
		e.mustVerify(t, "b", "example.com")
		var f strings.Builder
		f.WriteString("User ID/Email (Required),Claim Type\n")
		for i := range claim.ImportBatchRows + 44 {
			e.mustUser(t, "a", fmt.Sprintf("u%04d@example.com", i), 1)
			mode := "Immediate"
			if kind == claim.Individual {
				mode = "Delayed"
			}
			fmt.Fprintf(&f, "u%04d@example.com,%s\n", i, mode)
		}
		return e, f.String()
	}
	once := func(fn func()) func(int) {
		done := false
		return func(int) {
			if !done {
				done = true
				fn()
			}
		}
	}
	t.Run("E7: directory sync turned on stops the import", func(t *testing.T) {
		e, file := setup(t, claim.Settings{}, claim.Enterprise)
		rep, err := e.importString("b", file, claim.ImportOptions{Progress: once(func() {
			if err := e.svc.UpdateSettings(e.ctx, "b", claim.Settings{DirectorySync: true}); err != nil {
				t.Fatal(err)
			}
		})})
		if !errors.Is(err, claim.ErrDirectorySyncEnabled) || rep.Claimed != claim.ImportBatchRows {
			t.Errorf("ImportClaims = %d claimed, %v; want the first batch (%d) and ErrDirectorySyncEnabled", rep.Claimed, err, claim.ImportBatchRows)
		}
		if users, _ := claimedOf(t, e); users != claim.ImportBatchRows {
			t.Errorf("b has %d users, want %d", users, claim.ImportBatchRows)
		}
	})
	t.Run("E8: the org deleted stops the import", func(t *testing.T) {
		e, file := setup(t, claim.Settings{}, claim.Enterprise)
		file = strings.Replace(file, "User ID/Email (Required),Claim Type\n", "User ID/Email (Required),Claim Type,Claim\n", 1)
		var f strings.Builder
		for i, line := range strings.Split(strings.TrimSuffix(file, "\n"), "\n") {
			switch {
			case i == 0:
				f.WriteString(line)
			case i <= claim.ImportBatchRows:
				f.WriteString(line + ",FALSE") // the first batch claims nobody
			default:
				f.WriteString(line + ",TRUE")
			}
			f.WriteString("\n")
		}
		rep, err := e.importString("b", f.String(), claim.ImportOptions{Progress: once(func() {
			if err := e.svc.DeleteOrg(e.ctx, "b"); err != nil {
				t.Fatal(err)
			}
		})})
		if !errors.Is(err, claim.ErrNotFound) || rep.Claimed != 0 || rep.Skipped != claim.ImportBatchRows {
			t.Errorf("ImportClaims = %+v, %v; want %d skipped, nothing claimed and ErrNotFound", rep, err, claim.ImportBatchRows)
		}
	})
	t.Run("M3: content migration turned off refuses the Delayed rows after it", func(t *testing.T) {
		e, file := setup(t, claim.Settings{AllowContentMigration: true}, claim.Individual)
		rep, err := e.importString("b", file, claim.ImportOptions{Progress: once(func() {
			if err := e.svc.UpdateSettings(e.ctx, "b", claim.Settings{}); err != nil {
				t.Fatal(err)
			}
		})})
		if err != nil || rep.Claimed != claim.ImportBatchRows || rep.Refused != 44 {
			t.Fatalf("ImportClaims = %d claimed, %d refused, %v; want %d and 44", rep.Claimed, rep.Refused, err, claim.ImportBatchRows)
		}
		for _, r := range rep.Rows {
			if !errors.Is(r.Err, claim.ErrStaleMode) {
				t.Fatalf("row %d: %v, want ErrStaleMode", r.Line, r.Err)
			}
		}
	})
}

// Claim FALSE skips a row whatever its other cells say; a bad Claim cell
// is refused before the address is looked at (rule 3).
func TestImportClaimsCellOrder(t *testing.T) {
	e := importEnv(t)
	rep, err := e.importString("b", "User ID/Email (Required),Claim Type,Claim\nnot-an-address,Later,FALSE\nnot-an-address,,maybe\nnot-an-address,Later,\nAnn@Example.COM,,maybe\n", claim.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A row's address is reported normalized whenever it is one.
	want := []string{"2 not-an-address: ErrNotSelected", "3 not-an-address: ErrInvalidValue", "4 not-an-address: ErrInvalidValue",
		"5 ann@example.com: ErrInvalidValue"}
	if diff := cmp.Diff(want, rowErrs(rep.Rows)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	var ie *claim.InputError
	if !errors.As(rep.Rows[1].Err, &ie) || ie.Field != claim.ColumnClaim {
		t.Errorf("row 3: %v, want an InputError naming %s", rep.Rows[1].Err, claim.ColumnClaim)
	}
}

// BenchmarkImportClaims imports a 100,000-row export into a memory store
// that holds those users (issue figure: at least a quarter of
// BenchmarkReadCSVBaseline's rows per second).
func BenchmarkImportClaims(b *testing.B) {
	const rows = 100_000
	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		e, file := importWorld(b, rows)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		rep, err := e.svc.ImportClaims(e.ctx, "b", bytes.NewReader(file), claim.ImportOptions{Acknowledge: true})
		total += time.Since(start)
		if err != nil || rep.Claimed != rows {
			b.Fatalf("ImportClaims = %d claimed, %v", rep.Claimed, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
}

// BenchmarkImportClaimsPeakHeap imports 1,000,000 rows into a memory
// store holding those users and reports the live heap above the store's
// own size (issue figure: under 64 MiB). The live heap is measured after
// a full collection every 100,000 rows and at the end. The store grows
// during the import (each claimed row adds an original account and two
// events), so its own size at a checkpoint is taken as its size before
// the import plus its growth per row times the rows done;
// peak-above-store-MiB is the largest excess of the live heap over that.
// The file is generated as it is read, so it is not itself in memory.
func BenchmarkImportClaimsPeakHeap(b *testing.B) {
	const rows = 1_000_000
	for b.Loop() {
		b.StopTimer()
		e, _ := importWorld(b, 0)
		for i := range rows {
			if i%1000 == 0 {
				e.mustOrg(b, claim.OrgID(fmt.Sprintf("o%d", i/1000)), claim.Enterprise, t0, claim.Settings{})
			}
			if _, err := e.svc.AddUser(e.ctx, claim.OrgID(fmt.Sprintf("o%d", i/1000)), claim.NewUser{Email: fmt.Sprintf("user%07d@example.com", i)}); err != nil {
				b.Fatal(err)
			}
		}
		before := liveHeap()
		type sample struct {
			rows int
			live uint64
		}
		var samples []sample
		next := 100_000
		b.StartTimer()
		rep, err := e.svc.ImportClaims(e.ctx, "b", newRowsReader(rows), claim.ImportOptions{Acknowledge: true,
			Progress: func(n int) {
				if n >= next {
					next += 100_000
					b.StopTimer()
					samples = append(samples, sample{n, liveHeap()})
					b.StartTimer()
				}
			}})
		b.StopTimer()
		if err != nil || rep.Claimed != rows {
			b.Fatalf("ImportClaims = %d claimed, %v", rep.Claimed, err)
		}
		after := liveHeap()
		runtime.KeepAlive(e)
		perRow := (float64(after) - float64(before)) / rows
		excess := 0.0
		for _, s := range samples {
			excess = max(excess, float64(s.live)-(float64(before)+perRow*float64(s.rows)))
		}
		b.ReportMetric(float64(before)/(1<<20), "store-before-MiB")
		b.ReportMetric(float64(after)/(1<<20), "store-after-MiB")
		b.ReportMetric(excess/(1<<20), "peak-above-store-MiB")
		if excess > 64<<20 {
			b.Errorf("live heap %.0f MiB above the store's own size, want under 64 MiB", excess/(1<<20))
		}
		b.StartTimer()
	}
}

// BenchmarkReadCSVBaseline reads the same bytes with encoding/csv alone,
// doing nothing per row.
func BenchmarkReadCSVBaseline(b *testing.B) {
	const rows = 100_000
	_, file := importWorld(b, rows)
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		r := csv.NewReader(bytes.NewReader(file))
		r.ReuseRecord = true
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		total += time.Since(start)
		if n != rows+1 {
			b.Fatalf("read %d records", n)
		}
	}
	b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
}

// importWorld is org b (Enterprise, licenses Meetings and Calling,
// example.com verified) and n Enterprise users on example.com, with the
// file ExportClaimable writes for them: n rows of nine columns.
func importWorld(tb testing.TB, n int) (*env, []byte) {
	tb.Helper()
	return importWorldOn(tb, claim.NewMemoryStore(), n)
}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func newRowsReader(n int) *rowsReader {
	return &rowsReader{n: n, buf: []byte("User ID/Email (Required),Claim Type,Claim,Meetings,Calling\n")}
}

// rowsReader generates an import file of n rows as it is read.
type rowsReader struct {
	n, i int
	buf  []byte
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.n {
		r.buf = fmt.Appendf(r.buf, "user%07d@example.com,Immediate,TRUE,TRUE,FALSE\n", r.i)
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// TestCSVRoundTrip: for arbitrary users whose names hold formula
// characters, quotes, commas, tabs and non-ASCII text,
// ImportClaims(ExportClaimable(org)) claims exactly the exported users
// with the exported modes (V1, V2, M3), every cell of the file opens as
// text (V5), and the names read back exactly.
func TestCSVRoundTrip(t *testing.T) {
	rapidCheck(t, func(rt *rapid.T, tb testing.TB) {
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
				FirstName: drawName().Draw(rt, "first"), LastName: drawName().Draw(rt, "last"), DisplayName: drawName().Draw(rt, "display")}
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

// drawName draws a name made of the characters a CSV file and a
// spreadsheet treat specially: formula starts, quotes, commas, line
// breaks, NUL, and non-ASCII text.
func drawName() *rapid.Generator[string] {
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

func licensesOrNil(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// TestExportTemplate (S2): the template is the export's header line alone,
// the same columns in the same order, the org's license columns included.
func TestExportTemplate(t *testing.T) {
	e := importEnv(t)
	var buf bytes.Buffer
	if err := e.svc.ExportTemplate(e.ctx, "b", &buf); err != nil {
		t.Fatalf("ExportTemplate(b) = %v", err)
	}
	export := e.export(t, "b")
	header := export[:strings.IndexByte(export, '\n')+1]
	if diff := cmp.Diff(header, buf.String()); diff != "" {
		t.Errorf("template (-export's header +template):\n%s", diff)
	}
	if want := "First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim,Meetings,Calling\n"; buf.String() != want {
		t.Errorf("template = %q, want %q", buf.String(), want)
	}
}

// TestTemplateRoundTrip (S2): the template filled in by hand — addresses
// alone in any case, or with a Claim Type, a Claim cell and license cells
// — imports, and claims those users with the modes and licenses the
// cells ask for.
func TestTemplateRoundTrip(t *testing.T) {
	e := importEnv(t)
	var buf bytes.Buffer
	if err := e.svc.ExportTemplate(e.ctx, "b", &buf); err != nil {
		t.Fatalf("ExportTemplate(b) = %v", err)
	}
	// First Name,Last Name,Display Name,Email,User Status,Claim Type,Claim,Meetings,Calling
	file := buf.String() +
		",,,ANN@example.com,,,,,\n" +
		",,,bob@example.com,,Immediate,TRUE,,FALSE\n" +
		"Cy,Young,,cy@example.com,,,,FALSE,\n" +
		",,,nobody@example.com,,,,,\n"
	rep, err := e.importString("b", file, claim.ImportOptions{})
	if err != nil {
		t.Fatalf("ImportClaims(filled template) = %v", err)
	}
	if rep.Claimed != 3 || rep.Refused != 1 || len(rep.UnknownColumns) != 0 {
		t.Errorf("report %+v, want 3 claimed, nobody@ refused, no unknown column", rep)
	}
	for _, w := range []struct {
		email    string
		mode     claim.Mode
		licenses []string
	}{
		{"ann@example.com", claim.Delayed, []string{"Meetings", "Calling"}},
		{"bob@example.com", claim.Immediate, []string{"Meetings"}},
		{"cy@example.com", claim.Delayed, []string{"Calling"}},
	} {
		u, err := e.svc.UserByEmail(e.ctx, w.email)
		if err != nil {
			t.Fatalf("UserByEmail(%s) = %v", w.email, err)
		}
		if u.Org != "b" || u.Claim == nil || u.Claim.Mode != w.mode || !cmp.Equal(u.Licenses, w.licenses) {
			t.Errorf("%s: org %s, claim %+v, licenses %v; want claimed by b, %v, %v", w.email, u.Org, u.Claim, u.Licenses, w.mode, w.licenses)
		}
	}
}

// TestImportBareCR: a file whose lines end in a bare carriage return (old
// Mac text) is refused with an error that says so and names line 1, before
// any row is claimed (V3).
func TestImportBareCR(t *testing.T) {
	e := importEnv(t)
	rep, err := e.importString("b", "User ID/Email (Required),Claim\rcy@example.com,TRUE\r", claim.ImportOptions{})
	var pe *csv.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, claim.ErrInvalidValue) {
		t.Fatalf("ImportClaims = %v, want a *csv.ParseError wrapping ErrInvalidValue", err)
	}
	if pe.Line != 1 || pe.Column != 31 {
		t.Errorf("ParseError %+v, want line 1, column 31 (the first CR)", pe)
	}
	if !strings.Contains(err.Error(), "bare carriage return") || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("error %q does not say the lines end in a bare CR on line 1", err)
	}
	if rep.Claimed+rep.Refused+rep.Skipped != 0 {
		t.Errorf("report %+v, want nothing done", rep)
	}
	if u := e.mustGet(t, mustByEmail(t, e, "cy@example.com").ID); u.Org != "old" {
		t.Errorf("cy is in %s, want old", u.Org)
	}
}

// TestImportDefaultMaxReportRows: with MaxReportRows unset, the report
// keeps the first DefaultMaxReportRows problem rows of a file with more
// and counts the rest in Omitted (V2).
func TestImportDefaultMaxReportRows(t *testing.T) {
	const extra = 5
	e := importEnv(t)
	rep, err := e.svc.ImportClaims(t.Context(), "b", &refusedRows{n: claim.DefaultMaxReportRows + extra}, claim.ImportOptions{Acknowledge: true})
	if err != nil {
		t.Fatalf("ImportClaims = %v", err)
	}
	if rep.Refused != claim.DefaultMaxReportRows+extra || len(rep.Rows) != claim.DefaultMaxReportRows || rep.Omitted != extra {
		t.Errorf("Refused %d, len(Rows) %d, Omitted %d; want %d, %d, %d", rep.Refused, len(rep.Rows), rep.Omitted,
			claim.DefaultMaxReportRows+extra, claim.DefaultMaxReportRows, extra)
	}
	if last := rep.Rows[len(rep.Rows)-1].Line; last != claim.DefaultMaxReportRows+1 {
		t.Errorf("the last row kept is line %d, want %d (the first problem rows)", last, claim.DefaultMaxReportRows+1)
	}
}

// TestImportMaxReportRows: ImportReport.Rows keeps the first
// MaxReportRows problem rows and counts the rest in Omitted; the counts
// stay exact and OnRow receives every row (V2).
func TestImportMaxReportRows(t *testing.T) {
	var text strings.Builder
	text.WriteString("User ID/Email (Required),Claim\n")
	for i := range 7 {
		fmt.Fprintf(&text, "nobody%d@example.com,TRUE\n", i) // refused: ErrNotFound
	}
	text.WriteString("cy@example.com,TRUE\n")   // claimed
	text.WriteString("ann@example.com,FALSE\n") // skipped
	text.WriteString("cy@example.com,TRUE\n")   // skipped: already claimed (V4)
	for _, c := range []struct {
		reason      string
		max         int
		wantRows    int
		wantOmitted int
	}{
		{"the default keeps up to 1,000 rows", 0, 9, 0},
		{"a bound keeps the first rows", 3, 3, 6},
		{"a bound of exactly the problem rows omits none", 9, 9, 0},
		{"a negative bound keeps none", -1, 0, 9},
	} {
		t.Run(c.reason, func(t *testing.T) {
			e := importEnv(t)
			var seen []int
			rep, err := e.importString("b", text.String(), claim.ImportOptions{MaxReportRows: c.max,
				OnRow: func(r claim.RowResult) { seen = append(seen, r.Line) }})
			if err != nil {
				t.Fatalf("ImportClaims = %v", err)
			}
			if rep.Claimed != 1 || rep.Refused != 7 || rep.Skipped != 2 {
				t.Errorf("counts %d/%d/%d, want 1 claimed, 7 refused, 2 skipped", rep.Claimed, rep.Refused, rep.Skipped)
			}
			if len(rep.Rows) != c.wantRows || rep.Omitted != c.wantOmitted {
				t.Errorf("len(Rows) = %d, Omitted = %d, want %d and %d", len(rep.Rows), rep.Omitted, c.wantRows, c.wantOmitted)
			}
			problems := []int{2, 3, 4, 5, 6, 7, 8, 10, 11} // line 9 is claimed
			for i, r := range rep.Rows {
				if r.Line != problems[i] {
					t.Errorf("Rows[%d].Line = %d, want %d (the first problem rows, in file order)", i, r.Line, problems[i])
				}
			}
			if len(seen) != 10 {
				t.Errorf("OnRow got %d rows, want all 10", len(seen))
			}
		})
	}
}

// TestImportRefusedPeakHeap: an import of refused rows runs in bounded
// memory, OnRow set or not: the heap above the store's never passes 64
// MiB (V2; ImportOptions.MaxReportRows). It imports 5,000,000 rows (about
// 10 s; 200,000 under the race detector or -short); CLAIM_IMPORT_ROWS sets
// another number. The heap is sampled after every transaction (Progress):
// the live heap (what the import holds) must stay under 64 MiB above the
// store's; the heap objects, garbage not yet collected included, are
// logged (the collector's pace under a loaded CPU moves them).
func TestImportRefusedPeakHeap(t *testing.T) {
	rows := 5_000_000
	if raceEnabled || testing.Short() {
		rows = 200_000
	}
	if v := os.Getenv("CLAIM_IMPORT_ROWS"); v != "" {
		var err error
		if rows, err = strconv.Atoi(v); err != nil {
			t.Fatalf("CLAIM_IMPORT_ROWS=%q: %v", v, err)
		}
	}
	for _, onRow := range []bool{false, true} {
		t.Run(fmt.Sprintf("OnRow=%v", onRow), func(t *testing.T) {
			e := importEnv(t)
			runtime.GC()
			_, base := heapBytes()
			var peak, peakLive uint64
			var got int
			opts := claim.ImportOptions{Acknowledge: true, Progress: func(int) {
				objects, live := heapBytes()
				peak, peakLive = max(peak, objects), max(peakLive, live)
			}}
			if onRow {
				opts.OnRow = func(claim.RowResult) { got++ }
			}
			rep, err := e.svc.ImportClaims(e.ctx, "b", &refusedRows{n: rows}, opts)
			if err != nil {
				t.Fatalf("ImportClaims = %v", err)
			}
			if rep.Refused != rows || len(rep.Rows) != claim.DefaultMaxReportRows || rep.Omitted != rows-claim.DefaultMaxReportRows {
				t.Errorf("Refused = %d, len(Rows) = %d, Omitted = %d; want %d, %d, %d", rep.Refused, len(rep.Rows), rep.Omitted,
					rows, claim.DefaultMaxReportRows, rows-claim.DefaultMaxReportRows)
			}
			if onRow && got != rows {
				t.Errorf("OnRow got %d rows, want %d", got, rows)
			}
			above, liveAbove := int64(peak)-int64(base), int64(peakLive)-int64(base)
			t.Logf("%d refused rows: peak live heap %.1f MiB, peak heap objects %.1f MiB, above the store's %.1f MiB",
				rows, float64(liveAbove)/(1<<20), float64(above)/(1<<20), float64(base)/(1<<20))
			if liveAbove > 64<<20 {
				t.Errorf("peak live heap %d bytes above the store, want under 64 MiB", liveAbove)
			}
		})
	}
}

// heapBytes reads the bytes of heap objects (live and not yet collected)
// and the live heap as of the last garbage collection.
func heapBytes() (objects, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// mustByEmail returns the user with the address.
func mustByEmail(tb testing.TB, e *env, email string) claim.User {
	tb.Helper()
	u, err := e.svc.UserByEmail(e.ctx, email)
	if err != nil {
		tb.Fatalf("UserByEmail(%s) = %v", email, err)
	}
	return u
}

// refusedRows is a CSV file of n rows that are all refused (addresses of
// no account), generated as it is read.
type refusedRows struct {
	n, i int
	buf  []byte
}

func (r *refusedRows) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		switch {
		case r.i == 0:
			r.buf = append(r.buf, "User ID/Email (Required),Claim Type,Claim\n"...)
		case r.i > r.n:
			return 0, io.EOF
		default:
			r.buf = append(r.buf, "nobody"...)
			r.buf = strconv.AppendInt(r.buf, int64(r.i), 10)
			r.buf = append(r.buf, "@example.com,Immediate,TRUE\n"...)
		}
		r.i++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
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
		store, empty := postgresStore(t)
		rapid.Check(t, prop(func(tb testing.TB) claim.Store { empty(tb); return store }))
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
