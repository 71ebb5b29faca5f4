// Command bulkclaim claims users from other organizations through a CSV
// file, Control Hub's method for claiming more users than its list shows:
// export the claimable users, edit the file, import it.
//
// With no store given it generates a demo data set in memory (a few
// thousand users of personal, customer and SSO organizations on the
// domains of org "acme"), so one command shows the whole workflow:
//
//	go run ./examples/bulkclaim -acknowledge
//
// exports the claimable users to claimable.csv, edits it as an admin
// would (un-ticks some rows, asks for delayed claims where they no longer
// apply, adds an address nobody has, repeats a row), prints the claim
// plan of the edited file as a table (per user: claimed or why not, the
// mode, content left behind, licenses, site access at risk, and, with
// -directory FILE naming the org's directory one address a line, whether
// the next full sync would deactivate the user and when the purge would
// delete it), imports the edited file (with a progress bar when stderr
// is a terminal), and prints a summary table. Every import prints the
// plan first. Steps can also be run one at a time; the demo data set
// is the same on every run, so a file exported by one run can be edited
// in a spreadsheet and imported by the next:
//
//	go run ./examples/bulkclaim -export claimable.csv
//	go run ./examples/bulkclaim -import claimable.csv -dry-run -acknowledge
//	go run ./examples/bulkclaim -import claimable.csv -acknowledge
//
// The acknowledgement is never implied: claiming users has a long-term
// impact, and the library refuses an import without it, a dry run
// included (K1), so every import and the tour need -acknowledge.
//
// With -postgres DSN it works on a PostgreSQL store instead, where -org
// names an existing organization. A store bulkclaim did not create is
// touched only as asked: -export or -import is required (without either
// it prints its usage and exits with status 2, changing nothing), the
// demo tour runs only on the memory store, and the schema is migrated
// only with -migrate.
//
// Exit status: 0 on success and for -h, 2 for a usage error, 1 when the
// work failed.
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
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/term"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/postgres"
)

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	code := exitCode(err)
	if code == 1 {
		log.Print("bulkclaim: ", err)
	}
	os.Exit(code)
}

// usageError is a command line that asks for nothing bulkclaim does, or
// for something it refuses to do; run has printed the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode is the exit status for run's error: 0 for none and for -h, 2
// for a usage error (the flag package's included), 1 otherwise.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// config is what the flags say.
type config struct {
	dsn, org, export, imp string
	directory             string // the org's directory, one address a line
	dryRun, acknowledge   bool
	migrate               bool
	demoUsers             int
	progress              bool
}

// tour reports whether the flags ask for the one-command tour.
func (c config) tour() bool { return c.export == "" && c.imp == "" }

// parse reads the flags. It returns flag.ErrHelp for -h, and a
// *usageError, after printing the usage, for a command line asking for
// nothing or for what bulkclaim does not do.
func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bulkclaim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dsn, "postgres", "", "PostgreSQL DSN of the store; empty: an in-memory demo data set")
	fs.StringVar(&c.org, "org", "acme", "the claiming organization's ID")
	fs.StringVar(&c.export, "export", "", "write the org's claimable users to this CSV file")
	fs.StringVar(&c.imp, "import", "", "claim the users this (edited) CSV file lists")
	fs.StringVar(&c.directory, "directory", "", "the org's directory, one address a line: the plan says whom the next full sync would deactivate")
	fs.BoolVar(&c.dryRun, "dry-run", false, "check the file and report what an import would do, claiming nobody")
	fs.BoolVar(&c.acknowledge, "acknowledge", false, "acknowledge that claiming users has a long-term impact (required to import, dry runs and the tour included)")
	fs.BoolVar(&c.migrate, "migrate", false, "migrate the PostgreSQL store's schema before the work (it changes the database)")
	fs.IntVar(&c.demoUsers, "demo-users", 5000, "users in the generated demo data set")
	fs.BoolVar(&c.progress, "progress", true, "draw a progress bar on stderr while importing, when stderr is a terminal")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bulkclaim [-demo-users N] -acknowledge                 the demo tour, in memory")
		fmt.Fprintln(stderr, "       bulkclaim [-postgres DSN [-migrate]] [-org ID] -export FILE")
		fmt.Fprintln(stderr, "       bulkclaim [-postgres DSN [-migrate]] [-org ID] -import FILE [-directory FILE] [-dry-run] -acknowledge")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, &usageError{err.Error()} // the flag package printed it and the usage
	}
	refuse := func(format string, args ...any) (config, error) {
		msg := fmt.Sprintf(format, args...)
		fmt.Fprintln(stderr, "bulkclaim:", msg)
		fs.Usage()
		return c, &usageError{msg}
	}
	switch {
	case fs.NArg() > 0:
		return refuse("unexpected argument %q", fs.Arg(0))
	case c.demoUsers < 0:
		return refuse("-demo-users %d: must not be negative", c.demoUsers)
	case c.dsn != "" && c.tour():
		return refuse("with -postgres, say what to do: -export FILE or -import FILE (the demo tour runs only in memory)")
	case c.dsn == "" && c.migrate:
		return refuse("-migrate needs -postgres")
	case (c.tour() || c.imp != "") && !c.acknowledge:
		return refuse("claiming users has a long-term impact: pass -acknowledge to import (a dry run too: the library requires it)")
	}
	return c, nil
}

// run runs the command; a progress bar is drawn only when stderr is a
// terminal.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runOn(ctx, args, stdout, stderr, isTerminal(stderr))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// runOn is run, drawing the progress bar if terminal is set (and
// -progress allows it).
func runOn(ctx context.Context, args []string, stdout, stderr io.Writer, terminal bool) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	c.progress = c.progress && terminal
	svc, closeStore, err := open(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := work(ctx, svc, c, stdout, stderr); err != nil {
		if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == "42P01" && !c.migrate {
			return fmt.Errorf("%w (is the schema migrated? -migrate migrates it)", err)
		}
		return err
	}
	return nil
}

// work does what the flags ask on svc.
func work(ctx context.Context, svc *claim.Service, c config, stdout, stderr io.Writer) error {
	org := claim.OrgID(c.org)

	if c.tour() { // only in memory: parse refuses it with -postgres
		c.export, c.imp = "claimable.csv", "claimable-edited.csv"
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
	if c.migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, nil, err
		}
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
		_ = os.Remove(path) // no half-written file that looks like an export
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "exported the users org %s may claim to %s (%d rows)\n", org, path, cw.lines-1)
	return nil
}

func importFrom(ctx context.Context, svc *claim.Service, org claim.OrgID, c config, stdout, stderr io.Writer) error {
	if err := planFor(ctx, svc, org, c, stdout); err != nil {
		return err
	}
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
	// Never implied: the library requires it of a dry run too (K1), and so
	// does parse.
	opts := claim.ImportOptions{Acknowledge: c.acknowledge, DryRun: c.dryRun}
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

// planFor prints the claim plan of the file c.imp (with c.directory,
// when given) before the import claims anything.
func planFor(ctx context.Context, svc *claim.Service, org claim.OrgID, c config, stdout io.Writer) error {
	f, err := os.Open(c.imp)
	if err != nil {
		return err
	}
	defer f.Close()
	req := claim.PlanRequest{CSV: f}
	if c.directory != "" {
		text, err := os.ReadFile(c.directory)
		if err != nil {
			return err
		}
		req.CheckDirectory = true
		for _, line := range strings.Split(string(text), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				req.Directory = append(req.Directory, claim.DirectoryEntry{Email: line})
			}
		}
	}
	plan, err := svc.PlanClaims(ctx, org, req)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	fmt.Fprintf(stdout, "plan of %s into org %s:\n", c.imp, org)
	printPlan(stdout, plan, 10)
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
