package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/claimkit/claim"
)

// printPlan prints a claim plan as a table: the org-level preconditions,
// the first rows users (one line each: the claim, its mode, the content
// left behind, the licenses, the site risk, and the next full sync), then
// the totals.
func printPlan(w io.Writer, p claim.Plan, rows int) {
	if p.DirectorySyncOn {
		fmt.Fprintf(w, "  precondition not met: org %s synchronizes from a directory; turn it off before claiming (every claim is refused until then)\n", p.Org)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  line\tuser\tclaim\tmode\tcontent left behind\tlicenses\tsite access\tnext full sync")
	for i, e := range p.Entries {
		if i == rows {
			fmt.Fprintf(tw, "  …\t%d more\t\t\t\t\t\t\n", len(p.Entries)-rows)
			break
		}
		claim, mode, lost, site, sync := "yes", e.Mode.String(), "", "", ""
		if e.Err != nil {
			claim, mode = reasonOf(e.Err), ""
		}
		if e.ContentLoss {
			lost = strconv.Itoa(e.Content) + " items"
		}
		if len(e.Warnings) > 0 {
			site = "at risk"
		}
		if e.Err == nil && e.Deactivated {
			sync = "deactivates; purged " + e.PurgeAt.Format("2006-01-02")
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Line, e.Input, claim, mode, lost, strings.Join(e.Licenses, " "), site, sync)
	}
	tw.Flush()
	n := p.Totals
	fmt.Fprintf(w, "  totals: %d rows, %d claimable (%d immediate, %d delayed), %d refused, %d skipped;\n", n.Inputs, n.Claimable, n.Immediate, n.Delayed, n.Refused, n.Skipped)
	fmt.Fprintf(w, "          %d lose content (%d items), %d site access at risk, %d deactivated by the next full sync\n", n.ContentLoss, n.ContentLost, n.AtRisk, n.Deactivated)
}
