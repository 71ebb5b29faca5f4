// Command bulkclaim claims users from other organizations through a CSV
// file, Control Hub's method for claiming more users than its list shows
// (SPEC section 10): export the claimable users, edit the file, import it.
//
// With no store given it generates a demo data set in memory (a few
// thousand users of personal, customer and SSO organizations on the
// domains of org "acme"), so one command shows the whole workflow:
//
//	go run ./examples/bulkclaim
//
// exports the claimable users to claimable.csv, edits it as an admin
// would (un-ticks some rows, asks for delayed claims where they no longer
// apply, adds an address nobody has, repeats a row), imports the edited
// file with a progress bar on stderr, and prints a summary table. Steps
// can also be run one at a time; the demo data set is the same on every
// run, so a file exported by one run can be edited in a spreadsheet and
// imported by the next:
//
//	go run ./examples/bulkclaim -export claimable.csv
//	go run ./examples/bulkclaim -import claimable.csv -dry-run
//	go run ./examples/bulkclaim -import claimable.csv -acknowledge
//
// With -postgres DSN it works on a PostgreSQL store instead (migrating it
// first), where -org names an existing organization.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/postgres"
)

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		log.Fatal("bulkclaim: ", err)
	}
}

// config is what the flags say.
type config struct {
	dsn, org, export, imp string
	dryRun, acknowledge   bool
	demoUsers             int
	progress              bool
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bulkclaim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dsn, "postgres", "", "PostgreSQL DSN of the store; empty: an in-memory demo data set")
	fs.StringVar(&c.org, "org", "acme", "the claiming organization's ID")
	fs.StringVar(&c.export, "export", "", "write the org's claimable users to this CSV file")
	fs.StringVar(&c.imp, "import", "", "claim the users this (edited) CSV file lists")
	fs.BoolVar(&c.dryRun, "dry-run", false, "check the file and report what an import would do, claiming nobody")
	fs.BoolVar(&c.acknowledge, "acknowledge", false, "acknowledge that claiming users has a long-term impact (required to import)")
	fs.IntVar(&c.demoUsers, "demo-users", 5000, "users in the generated demo data set")
	fs.BoolVar(&c.progress, "progress", true, "draw a progress bar on stderr while importing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bulkclaim [-postgres DSN] [-org ID] [-export FILE] [-import FILE [-dry-run] [-acknowledge]]")
		fmt.Fprintln(stderr, "With neither -export nor -import: export, edit and import the demo data set in one go.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.demoUsers < 0 {
		return c, fmt.Errorf("-demo-users %d: must not be negative", c.demoUsers)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	svc, closeStore, err := open(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	org := claim.OrgID(c.org)

	if c.export == "" && c.imp == "" { // the one-command tour
		c.export, c.imp, c.acknowledge = "claimable.csv", "claimable-edited.csv", true
		if err := exportTo(ctx, svc, org, c.export, stdout); err != nil {
			return err
		}
		n, err := demoEdit(c.export, c.imp)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "edited %s into %s as an admin would: %d changes\n", c.export, c.imp, n)
		return importFrom(ctx, svc, org, c, stdout, stderr)
	}
	if c.export != "" {
		if err := exportTo(ctx, svc, org, c.export, stdout); err != nil {
			return err
		}
	}
	if c.imp != "" {
		return importFrom(ctx, svc, org, c, stdout, stderr)
	}
	return nil
}

// open returns the service on the store the flags name.
func open(ctx context.Context, c config, stderr io.Writer) (*claim.Service, func(), error) {
	if c.dsn == "" {
		svc, err := demo(ctx, c.demoUsers)
		return svc, func() {}, err
	}
	st, err := postgres.Open(ctx, c.dsn)
	if err != nil {
		return nil, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	svc, err := claim.New(st)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	fmt.Fprintln(stderr, "using the PostgreSQL store")
	return svc, st.Close, nil
}

func exportTo(ctx context.Context, svc *claim.Service, org claim.OrgID, path string, stdout io.Writer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	cw := &countingWriter{w: f}
	err = svc.ExportClaimable(ctx, org, cw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "exported the users org %s may claim to %s (%d rows)\n", org, path, cw.lines-1)
	return nil
}

func importFrom(ctx context.Context, svc *claim.Service, org claim.OrgID, c config, stdout, stderr io.Writer) error {
	f, err := os.Open(c.imp)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	in := &countingReader{r: f}
	var bar *progressBar
	// A dry run claims nobody, so it needs no acknowledgement from the
	// operator; the library still wants the flag set on every call.
	opts := claim.ImportOptions{Acknowledge: c.acknowledge || c.dryRun, DryRun: c.dryRun}
	if c.progress {
		bar = newProgressBar(stderr, info.Size(), time.Now)
		opts.Progress = func(rows int) { bar.update(in.n, rows) }
	}
	rep, err := svc.ImportClaims(ctx, org, in, opts)
	if bar != nil {
		bar.done()
	}
	if errors.Is(err, claim.ErrNotAcknowledged) {
		return fmt.Errorf("%w: pass -acknowledge to confirm", err)
	}
	verb := "import"
	if c.dryRun {
		verb = "dry run"
	}
	fmt.Fprintf(stdout, "%s of %s into org %s:\n", verb, c.imp, org)
	summarize(stdout, rep, c.dryRun)
	if err != nil {
		return fmt.Errorf("%s stopped: %w", verb, err)
	}
	return nil
}

// countingReader counts the bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countingWriter counts the lines written.
type countingWriter struct {
	w     io.Writer
	lines int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			c.lines++
		}
	}
	return c.w.Write(p)
}
