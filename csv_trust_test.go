package claim_test

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"

	"github.com/claimkit/claim"
)

// TestImportBareCR: a file whose lines end in a bare carriage return (old
// Mac text) is refused with an error that says so and names line 1, before
// any row is claimed (V3).
func TestImportBareCR(t *testing.T) {
	e := csvEnv(t)
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

// mustByEmail returns the user with the address.
func mustByEmail(tb testing.TB, e *env, email string) claim.User {
	tb.Helper()
	u, err := e.svc.UserByEmail(e.ctx, email)
	if err != nil {
		tb.Fatalf("UserByEmail(%s) = %v", email, err)
	}
	return u
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
			e := csvEnv(t)
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

// heapBytes reads the bytes of heap objects (live and not yet collected)
// and the live heap as of the last garbage collection.
func heapBytes() (objects, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
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
			e := csvEnv(t)
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

// TestImportDefaultMaxReportRows: with MaxReportRows unset, the report
// keeps the first DefaultMaxReportRows problem rows of a file with more
// and counts the rest in Omitted (V2).
func TestImportDefaultMaxReportRows(t *testing.T) {
	const extra = 5
	e := csvEnv(t)
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
