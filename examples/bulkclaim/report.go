package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/claimkit/claim"
)

// reasonOf names why a row was refused or skipped, for grouping.
func reasonOf(err error) string {
	var re *claim.RefusalError
	if errors.As(err, &re) {
		rs := make([]string, len(re.Reasons))
		for i, r := range re.Reasons {
			rs[i] = string(r)
		}
		return "not eligible: " + strings.Join(rs, ", ")
	}
	for _, s := range []struct {
		err  error
		name string
	}{
		{claim.ErrNotSelected, "not selected (Claim is FALSE)"},
		{claim.ErrAlreadyClaimed, "already claimed"},
		{claim.ErrStaleMode, "delayed claim no longer applies (re-export)"},
		{claim.ErrNotFound, "no account has the address"},
		{claim.ErrInvalidEmail, "invalid address"},
		{claim.ErrInvalidValue, "invalid cell value"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return err.Error()
}

// summarize prints the report as a table: claimed, refused and skipped,
// the last two grouped by reason, then the first problem rows.
func summarize(w io.Writer, rep claim.ImportReport, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	claimed := "claimed"
	if dryRun {
		claimed = "would be claimed"
	}
	group := func(skipped bool) {
		counts := map[string]int{}
		for _, r := range rep.Rows {
			if r.Skipped() == skipped {
				counts[reasonOf(r.Err)]++
			}
		}
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { // most first, then by name
			if c := counts[b] - counts[a]; c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		for _, k := range keys {
			fmt.Fprintf(tw, "    %s\t%7d\n", k, counts[k])
		}
	}
	fmt.Fprintf(tw, "  %s\t%7d\n", claimed, rep.Claimed)
	fmt.Fprintf(tw, "  refused\t%7d\n", rep.Refused)
	group(false)
	fmt.Fprintf(tw, "  skipped\t%7d\n", rep.Skipped)
	group(true)
	tw.Flush()
	if len(rep.UnknownColumns) > 0 {
		fmt.Fprintf(w, "ignored columns: %s\n", strings.Join(rep.UnknownColumns, ", "))
	}
	shown := 0
	for _, r := range rep.Rows {
		if r.Skipped() && errors.Is(r.Err, claim.ErrNotSelected) {
			continue
		}
		if shown == 0 {
			fmt.Fprintln(w, "first rows to look at:")
		}
		if shown++; shown > 5 {
			break
		}
		fmt.Fprintf(w, "  line %d  %s: %v\n", r.Line, r.Email, r.Err)
	}
}

// progressBar draws the import's progress on one line of a terminal.
type progressBar struct {
	w         io.Writer
	total     int64
	now       func() time.Time
	start     time.Time
	last      time.Time
	read      int64
	rows      int
	drawnOnce bool
}

const barWidth = 30

func newProgressBar(w io.Writer, total int64, now func() time.Time) *progressBar {
	return &progressBar{w: w, total: total, now: now, start: now()}
}

// update records progress and redraws at most ten times a second.
func (p *progressBar) update(read int64, rows int) {
	p.read, p.rows = read, rows
	if t := p.now(); !p.drawnOnce || t.Sub(p.last) >= 100*time.Millisecond {
		p.last, p.drawnOnce = t, true
		p.draw()
	}
}

func (p *progressBar) draw() {
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(p.read)/float64(p.total), 1)
	}
	filled := int(frac * barWidth)
	rate := ""
	if s := p.now().Sub(p.start).Seconds(); s > 0 {
		rate = fmt.Sprintf("  %.0f rows/s", float64(p.rows)/s)
	}
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %d rows%s ", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), frac*100, p.rows, rate)
}

// done draws the final state and ends the line.
func (p *progressBar) done() {
	if p.drawnOnce {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
