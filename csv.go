package claim

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The CSV method of claiming (the second method of claiming: V1–V7 in docs/rules.md):
// ExportClaimable writes the users an org may claim, the admin edits the
// file, ImportClaims claims what it says.

// The columns of the file, in export order (V1). The first five are
// Control Hub's; the license columns follow Claim.
const (
	ColumnFirstName   = "First Name"
	ColumnLastName    = "Last Name"
	ColumnDisplayName = "Display Name"
	ColumnEmail       = "User ID/Email (Required)" // the only required column
	ColumnStatus      = "User Status"
	ColumnClaimType   = "Claim Type" // Immediate or Delayed: the mode fixed at export (M3)
	ColumnClaim       = "Claim"      // TRUE: claim the row's user; FALSE: skip it
)

// columns are the fixed columns in export order.
var columns = []string{ColumnFirstName, ColumnLastName, ColumnDisplayName, ColumnEmail, ColumnStatus,
	ColumnClaimType, ColumnClaim}

// ErrNotSelected is the error of a CSV row whose Claim cell is FALSE: the
// admin chose not to claim its user, so the row is skipped.
var ErrNotSelected = errors.New("row not selected (Claim is FALSE)")

// errNotUTF8 is the ParseError of a field that is not UTF-8 text.
var errNotUTF8 = errors.New("not UTF-8 text (is this a CSV file?)")

// errBinary is the ParseError of a field holding a NUL or another control
// byte that no text file has (V3: binary data).
var errBinary = errors.New("binary data: a NUL or control byte (is this a CSV file?)")

// errBareCR is the ParseError of a header that holds a carriage return not
// followed by a line feed: the file's lines end in a bare CR (old Mac
// text), which a CSV reader does not take as a line end.
var errBareCR = errors.New("lines end in a bare carriage return (CR): save the file with CRLF or LF line endings")

// DefaultMaxReportRows is how many refused and skipped rows an
// ImportReport lists when ImportOptions.MaxReportRows is 0.
const DefaultMaxReportRows = 1000

// ImportOptions are the options of ImportClaims.
type ImportOptions struct {
	Acknowledge bool            // the admin's acknowledgement (K1); required
	DryRun      bool            // check the whole file, claim nothing
	Licenses    []string        // granted on top of the org's AutoLicenses
	Progress    func(rows int)  // called at least every 1,000 rows, the last time with the total
	OnRow       func(RowResult) // receives every row's result as it happens, claimed rows included
	// MaxReportRows bounds ImportReport.Rows: at most this many refused and
	// skipped rows are kept (the first ones), so that a file of millions
	// of refused rows takes bounded memory. 0 means DefaultMaxReportRows
	// (1,000); a negative value keeps none. OnRow still receives every row.
	MaxReportRows int
}

// ImportReport is what ImportClaims did. The counts are exact; Rows holds
// at most ImportOptions.MaxReportRows of the refused and skipped rows, and
// Omitted says how many more there were.
type ImportReport struct {
	Claimed, Refused, Skipped int
	Rows                      []RowResult // refused and skipped rows, in file order: the first MaxReportRows
	Omitted                   int         // refused and skipped rows left out of Rows
	UnknownColumns            []string    // header names that were ignored
}

// RowResult is the result of one CSV row or directory entry.
type RowResult struct {
	Line  int    // 1-based line (or entry position)
	Email string // the row's address
	Mode  Mode   // the claim's mode (for a refused row: the mode it asked for, if any)
	Err   error  // nil: claimed
}

// Skipped reports whether the row was skipped rather than refused: its
// user is already claimed by the org (ErrAlreadyClaimed, V4) or its Claim
// cell is FALSE (ErrNotSelected).
func (r RowResult) Skipped() bool {
	return errors.Is(r.Err, ErrAlreadyClaimed) || errors.Is(r.Err, ErrNotSelected)
}

// formulaStart reports whether a cell starting with c would run as a
// formula in a spreadsheet (OWASP's list), or starts with the escape
// character itself (V5).
func formulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r', '\n', 0, '\'':
		return true
	}
	return false
}

// EscapeCell returns v as ExportClaimable writes it (V5): a value that a
// spreadsheet would run as a formula — its first character is =, +, -, @,
// tab, carriage return, line feed or NUL — or that starts with ' gets one
// more leading '. UnescapeCell(EscapeCell(v)) == v for every v.
func EscapeCell(v string) string {
	if v != "" && formulaStart(v[0]) {
		return "'" + v
	}
	return v
}

// UnescapeCell undoes EscapeCell: it removes exactly one leading ' when a
// formula character or ' follows it, and returns any other value as is.
func UnescapeCell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && formulaStart(v[1]) {
		return v[1:]
	}
	return v
}

// ExportClaimable writes the users org may claim now (those Claimable
// yields, in e-mail order) as CSV to w (V1): a header, then one row per
// user with the columns First Name, Last Name, Display Name, User
// ID/Email (Required), User Status, Claim Type (the mode a claim would
// have now: Immediate or Delayed, M3), Claim (TRUE), then one TRUE
// column per license of the org's AutoLicenses, headed by the license's
// name. Every cell that a spreadsheet would run as a formula is escaped
// (V5, EscapeCell). Lines end with LF; fields are quoted only when they
// must be.
//
// Errors: ErrNotFound for an unknown org; ErrDirectorySyncEnabled if org
// synchronizes from a directory (E7); w's error. It reads a page of users
// per transaction, so a long export does not hold the store; a user
// claimed by someone else meanwhile is simply not in the file.
func (s *Service) ExportClaimable(ctx context.Context, org OrgID, w io.Writer) error {
	row, licenses, err := s.exportHeader(ctx, org)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(row); err != nil {
		return err
	}
	for c, err := range s.Claimable(ctx, org) {
		if err != nil {
			return err
		}
		u := c.User
		row = append(row[:0], EscapeCell(u.FirstName), EscapeCell(u.LastName), EscapeCell(u.DisplayName),
			EscapeCell(u.Email), u.State.String(), c.Mode.String(), "TRUE")
		for range licenses {
			row = append(row, "TRUE")
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// exportHeader returns the header of org's claimable-users file and the
// license names its license columns stand for (V1).
func (s *Service) exportHeader(ctx context.Context, org OrgID) (header, licenses []string, err error) {
	err = s.view(ctx, func(t *txn) error {
		b, err := t.actingOrg(org)
		licenses = b.Settings.AutoLicenses
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	header = make([]string, 0, len(columns)+len(licenses))
	header = append(header, columns...)
	for _, l := range licenses {
		header = append(header, EscapeCell(l))
	}
	return header, licenses, nil
}

// ExportTemplate writes the CSV template of org (S2, "download a CSV
// template to add users manually"): the header ExportClaimable writes —
// the same columns in the same order, the org's AutoLicenses included —
// and no row. An admin adds a row per user, filling in the User
// ID/Email (Required) column at least; ImportClaims reads the filled file
// by its rules: an empty Claim cell claims the row, an empty Claim Type
// gives today's mode (M1), an empty license cell leaves the license's
// default, and the names and User Status cells are not read.
//
// Errors: ErrNotFound for an unknown org; ErrDirectorySyncEnabled if org
// synchronizes from a directory (E7); w's error.
func (s *Service) ExportTemplate(ctx context.Context, org OrgID, w io.Writer) error {
	header, _, err := s.exportHeader(ctx, org)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// ImportBatchRows is how many rows ImportClaims claims per store
// transaction. Each row is atomic whatever the batch: its refusal is
// decided before it writes, and a batch commits entirely or not at all.
//
// It is as large as ImportOptions.Progress allows (a call at least every
// 1,000 rows), since each transaction has a cost of its own whatever its
// rows (BEGIN, its reads of the org and of what the batch's users point
// to, COMMIT, which waits for the disk), which an import of 1,000-row
// transactions pays a quarter as often as one of 256. A transaction holds
// its rows' users until it commits, some tens of milliseconds on
// PostgreSQL, where the next batch's transaction runs beside it
// (ParallelStore) and holds its own users meanwhile.
const ImportBatchRows = 1000

// maxRecordBytes bounds one CSV record, so that a file that is not CSV at
// all (one 10 MB line) cannot take unbounded memory.
const maxRecordBytes = 1 << 20

// ImportClaims claims the users a CSV file lists into org (V2–V7): the
// file ExportClaimable wrote, edited by the admin. It streams the file;
// memory grows with the refused and skipped rows it reports, not with the
// file (at most MaxReportRows of those). The rules, in the order they
// are applied:
//
//  1. Without opts.Acknowledge the call is refused with ErrNotAcknowledged
//     (K1). An unknown org is ErrNotFound; an org with directory sync on
//     ErrDirectorySyncEnabled (E7); an empty name in opts.Licenses an
//     *InputError. Nothing is read from r.
//  2. The header (its first line; a UTF-8 byte-order mark is skipped)
//     names the columns, matched case-insensitively after trimming, in any
//     order. Without a User ID/Email (Required) column, or with a column
//     named twice, the call is an *InputError (ErrInvalidValue, Field
//     "header") and nothing is claimed. Columns that are neither the fixed
//     ones (ColumnFirstName … ColumnClaim) nor one of the org's
//     AutoLicenses are ignored and listed in ImportReport.UnknownColumns.
//  3. Each row is then taken on its own, in file order (cells trimmed,
//     then unescaped with UnescapeCell, values read case-insensitively):
//     a Claim cell other than TRUE, FALSE or empty is refused (ErrInvalidValue);
//     Claim FALSE is skipped (ErrNotSelected), whatever its other cells
//     say; then a Claim Type other than Immediate, Delayed or empty, or a
//     license cell other than TRUE, FALSE or empty, is refused
//     (*InputError, ErrInvalidValue, naming the column); a bad address
//     ErrInvalidEmail (*InputError); an address of no account is refused
//     (ErrNotFound); a user the org already claimed — earlier in this
//     file or before — is skipped (ErrAlreadyClaimed, V4); a user with
//     reasons of E1–E6 is refused (*RefusalError, ErrNotEligible).
//  4. The mode: Immediate is always honoured; Delayed only if a claim
//     today would be Delayed (M1), else the row is refused (ErrStaleMode:
//     re-export the file, M3); an empty cell or no Claim Type column
//     gives today's mode. Without a Claim column every row is claimed.
//  5. Licenses (V7): the org's AutoLicenses plus opts.Licenses, then each
//     license column of the file grants (TRUE) or withholds (FALSE) its
//     license; an empty cell leaves the default.
//  6. A claimed row is claimed as ClaimUsers claims (K6), events included.
//
// Rows are claimed in transactions of ImportBatchRows (with the store's
// BulkTx path when it has one); every row is claimed entirely or not at
// all. On a store whose transactions run side by side (ParallelStore, as
// the PostgreSQL store's do) a batch's transaction starts once the one
// before it has read its users, and commits only after that one has
// committed and been reported: whatever stops an import (a panic in a
// callback included), the rows it committed are the file's first ones.
// OnRow and Progress are called in the caller's goroutine, in file order,
// and may run while the next batch's transaction is open: a slow callback
// holds that batch's users longer. (If the reader r panics, the batch
// running beside it may commit without OnRow seeing its rows.)
// Each transaction reads the org again: an org deleted or put under
// directory sync in the middle of an import stops it there with rule 1's
// error, and changed settings (the mode of M1, AutoLicenses) apply from
// the next transaction on. The file's license columns are matched against
// the AutoLicenses of the start. ImportReport counts every row and lists the
// refused and skipped ones (RowResult.Line is the row's first line in the
// file); opts.OnRow receives every row's result, claimed ones included,
// once its transaction has committed; opts.Progress receives the number
// of rows done after every transaction (at most ImportBatchRows rows
// apart), so the last call has the total (a file of no rows makes none).
//
// With opts.DryRun nothing is written: every row is judged as a real run
// would judge it at that moment (a row repeating an address that an
// earlier row would claim is skipped with ErrAlreadyClaimed), so the
// report is the real run's forecast. Its memory grows with the rows it
// would claim.
//
// A malformed file stops the import at that row: the error wraps
// ErrInvalidValue and a *csv.ParseError naming the line and column, the
// rows before it stay claimed and the report so far is returned with it
// (V3). Malformed are: broken quoting; a row with another number of fields
// than the header (the error wraps csv.ErrFieldCount and names the first
// extra field, or the first missing column and where it would start);
// text that is not UTF-8; binary data — a NUL or another control byte
// than tab, CR and LF (the column is its cell's, plus its offset in a
// cell on one line, not counting an opening quote); a record over 1 MiB;
// and a header holding a bare carriage return, which is how a file whose
// lines end in CR alone reads (the error says so).
//
// The report lists at most opts.MaxReportRows refused and skipped rows
// (DefaultMaxReportRows, 1,000, when 0) and counts the others in
// ImportReport.Omitted, so a file of millions of refused rows takes
// bounded memory; opts.OnRow receives every row. When ctx is
// cancelled the import stops after the row it is on, commits the rows
// before, and returns ctx's error with the report so far. A store failure
// likewise returns the report of the transactions that committed.
//
// Names are not read: the claimed user keeps its account's names. A
// carriage return and line feed inside a quoted cell read back as a line
// feed alone, as in every CSV reader.
func (s *Service) ImportClaims(ctx context.Context, org OrgID, r io.Reader, opts ImportOptions) (ImportReport, error) {
	done := s.opLog(ctx, "import", slog.String("org", string(org)), slog.Bool("dry_run", opts.DryRun))
	rep, err := s.importClaims(ctx, org, r, opts)
	s.debugRows(ctx, "import", org, rep.Rows)
	done(err, slog.Int("claimed", rep.Claimed), slog.Int("refused", rep.Refused), slog.Int("skipped", rep.Skipped),
		slog.Int("omitted", rep.Omitted))
	return rep, err
}

// importClaims is ImportClaims.
func (s *Service) importClaims(ctx context.Context, org OrgID, r io.Reader, opts ImportOptions) (ImportReport, error) {
	var rep ImportReport
	if !opts.Acknowledge {
		return rep, errf(ErrNotAcknowledged, "claiming users has a long-term impact: set ImportOptions.Acknowledge")
	}
	var b Org
	err := s.view(ctx, func(t *txn) error {
		var err error
		if b, err = t.actingOrg(org); err != nil {
			return err
		}
		_, err = cleanLicenses("ImportOptions.Licenses", b.Settings.AutoLicenses, opts.Licenses)
		return err
	})
	if err != nil {
		return rep, err
	}
	im := &importer{s: s, b: b, opts: opts, rep: &rep}
	if opts.DryRun {
		im.seen = make(map[string]bool)
	} else if p, ok := s.store.(ParallelStore); ok {
		im.parallel = p.ParallelUpdates()
	}
	for i := range im.batches {
		im.batches[i] = &importBatch{bt: newBulkTx(nil), rows: make([]csvRow, 0, ImportBatchRows)}
	}
	if err := im.open(r); err != nil {
		return rep, err
	}
	// However the call ends (an error, a panic in a callback or in the
	// reader), a batch running beside it that may not commit yet rolls
	// back, and every batch has ended when the call returns. (A third batch
	// in flight gained nothing: BenchmarkPostgresImport ran as fast with
	// three as with two on 2 cores, which the engine and the server keep
	// busy.)
	defer im.abandon()
	var prev *importBatch // a batch running or done, not yet reported
	// finishPrev reports prev, if any; a batch running beside it rolls
	// back if it fails (abandon).
	finishPrev := func() error {
		if prev == nil {
			return nil
		}
		b := prev
		prev = nil
		return im.finish(b)
	}
	for i := 0; ; i++ {
		cur := im.batches[i%2] // not prev, which is the other one
		readErr := im.fill(cur)
		if len(cur.rows) > 0 {
			if err := ctx.Err(); err != nil {
				if err := finishPrev(); err != nil {
					return rep, err
				}
				return rep, err
			}
			if prev != nil && !im.overlaps(prev, cur) {
				if err := finishPrev(); err != nil {
					return rep, err
				}
			}
			if !im.parallel {
				im.run(ctx, cur, nil, 0)
				if err := im.finish(cur); err != nil {
					return rep, err
				}
			} else {
				var before *batchEnd
				if prev != nil {
					before = prev.end
					<-before.locked
				}
				cur.end.started = true
				go im.runAside(ctx, cur, before, im.patience())
				if err := finishPrev(); err != nil {
					return rep, err
				}
				prev = cur
			}
		}
		if readErr != nil {
			if err := finishPrev(); err != nil {
				return rep, err
			}
			if readErr == io.EOF {
				return rep, nil // Progress has had the last batch's count
			}
			return rep, readErr
		}
	}
}

// importBatch is one transaction of an import: its rows and, once it has
// ended, their results. An import keeps two and uses them in turn: one
// may run while the other is read from the file.
type importBatch struct {
	rows    []csvRow
	emails  map[string]bool // its rows' addresses, in a parallel import
	bt      *bulkTx         // its transaction's decorator
	results []RowResult
	claimed map[string]bool // dry run: the addresses it would claim
	stopped error           // ctx's error, when its rows stopped part way
	err     error           // its transaction's, or errPredecessor
	took    time.Duration   // how long its last attempt took to do its rows
	end     *batchEnd       // this run's; a new one each time
	// panicked is what a batch run aside (runAside) panicked with, for
	// finish to panic with in the import's goroutine.
	panicked any
}

// batchEnd tells a batch of a parallel import how the batch before it
// ended. It is a new one for every batch run, so that the batch after it
// still reads it once the import has reused the batch's memory.
type batchEnd struct {
	// locked is closed once the batch has read its users, which its
	// store then holds until the batch ends, or once it has ended. (A
	// batch its store runs again, or that runs again after the one before
	// it, may not hold its users yet when the next batch starts beside
	// it; the next one then waits for it, or gives up, as for any other
	// lock.)
	locked chan struct{}
	// done is closed once the batch has ended, for the import; settled
	// once the import has reported it (after done), or given it up, with
	// ok written before: the batch committed all its rows and they are
	// reported. The batch after it waits for settled only, and commits
	// only if ok.
	done, settled chan struct{}
	ok            bool
	started       bool // run aside (runAside), in the import's goroutine
	lockedOnce    sync.Once
	settleOnce    sync.Once
}

// errPredecessor ends a batch of a parallel import whose predecessor
// failed or stopped: it must not commit, so that the rows committed stay
// the file's first ones. The import returns the predecessor's error.
var errPredecessor = errors.New("claim: the import's previous batch did not commit")

// errYield ends a batch of a parallel import that has waited too long
// for its predecessor to end (see importPatience); it runs again once
// the predecessor has ended.
var errYield = errors.New("claim: the import's batch waited too long for the one before it")

// importPatience is the least time a batch of a parallel import, its
// rows done, waits for the batch before it to end and be reported before
// it gives up its transaction and runs again after it. That one may be
// waiting for what this one holds: for a lock this one took after that
// one's first attempt failed (its store runs it again), or, through a
// third transaction queued behind this one, for a lock this one shares
// with it; or a callback reporting it may (OnRow writing to this one's
// users, say).
// A store cannot see the wait of one batch for the other, which the
// engine does, so it cannot break such a cycle; giving up does. The
// patience is twice the time the last batch reported took to do its rows
// (its wait for the one before it apart), so that a slow store does not
// make batches give up for nothing, within importPatience and
// importPatienceMax.
const (
	importPatience    = time.Second
	importPatienceMax = 30 * time.Second
)

// markLocked closes e.locked, once.
func (e *batchEnd) markLocked() {
	e.lockedOnce.Do(func() { close(e.locked) })
}

// settle tells the batch after e's whether e's rows committed and are
// reported (ok), once: the first call decides.
func (e *batchEnd) settle(ok bool) {
	e.settleOnce.Do(func() {
		e.ok = ok
		close(e.settled)
	})
}

// abandon gives up the import's batches that have not been reported,
// then waits for those run aside to end: a batch waiting for its
// predecessor to be reported rolls back, one already let commit (its
// predecessor reported) commits unreported. All are settled before any
// is waited for, as each may wait for the other's settling.
func (im *importer) abandon() {
	for _, b := range im.batches {
		if b.end != nil && b.end.started {
			b.end.settle(false)
		}
	}
	for _, b := range im.batches {
		if b.end != nil && b.end.started {
			<-b.end.done
		}
	}
}

// fill reads the next batch of rows from the file into b, made ready to
// run again; the error is the one that ended the reading (io.EOF at the
// end of the file), if any.
func (im *importer) fill(b *importBatch) error {
	b.rows = b.rows[:0]
	b.results = b.results[:0]
	b.stopped, b.err, b.panicked = nil, nil, nil
	b.end = &batchEnd{locked: make(chan struct{}), done: make(chan struct{}), settled: make(chan struct{})}
	if im.seen != nil {
		b.claimed = make(map[string]bool)
	}
	if im.parallel {
		if b.emails == nil {
			b.emails = make(map[string]bool, ImportBatchRows)
		}
		clear(b.emails)
	}
	for len(b.rows) < ImportBatchRows {
		row, err := im.next()
		if err != nil {
			return err
		}
		b.rows = append(b.rows, row)
		if im.parallel && row.err == nil {
			b.emails[row.email] = true
		}
	}
	return nil
}

// overlaps reports whether cur may run while prev does: in a parallel
// import, when prev has not ended yet (one that has, failed perhaps, is
// reported first) and none of cur's rows repeats an address of prev's. A
// repeated address waits for prev to end, so that the later row is the
// one skipped (V4) whatever happens to prev's transaction.
func (im *importer) overlaps(prev, cur *importBatch) bool {
	if !im.parallel {
		return false
	}
	select {
	case <-prev.end.done:
		return false
	default:
	}
	for a := range cur.emails {
		if prev.emails[a] {
			return false
		}
	}
	return true
}

// finish waits for b to end, reports it, and settles it for the batch
// after it; it returns b's transaction's error, or ctx's error if b's
// rows stopped part way. If b panicked (runAside), finish panics with the
// same value, and the batch after b rolls back (abandon).
func (im *importer) finish(b *importBatch) error {
	<-b.end.done
	if b.panicked != nil {
		panic(b.panicked)
	}
	if b.err != nil {
		b.end.settle(false)
		return b.err
	}
	im.took = b.took
	for a := range b.claimed {
		im.seen[a] = true
	}
	im.report(b.results)
	b.end.settle(b.stopped == nil)
	return b.stopped
}

// csvRow is a row of an import, with what its cells alone decide.
type csvRow struct {
	line   int
	email  string // normalized when err is nil
	want   want
	grants []int8 // per license column: 1 grants, -1 withholds, 0 (or nil) leaves the default
	err    error  // a refusal its cells decide, or ErrNotSelected (Claim FALSE)
}

// importer is the state of one ImportClaims call.
type importer struct {
	s    *Service
	b    Org
	opts ImportOptions
	rep  *ImportReport
	seen map[string]bool // dry run: the addresses earlier rows would claim

	in                      *boundedReader
	cr                      *csv.Reader
	header                  []string // the header's cells, as read
	email, claimType, claim int      // column indexes; -1: absent
	licCols                 []licenseColumn
	lastLine                int             // the last line of the last record read
	done                    int             // rows done
	parallel                bool            // batches overlap (ParallelStore)
	batches                 [2]*importBatch // used in turn
	took                    time.Duration   // how long the last batch reported ran
}

// licenseColumn is a column of the file naming a license.
type licenseColumn struct {
	index int
	name  string // the license's name, as the org spells it
}

// boundedReader refuses to hand out more than limit bytes, which
// ImportClaims moves forward by a record's worth after each record.
type boundedReader struct {
	r        io.Reader
	n, limit int64
}

// errRecordTooLong is the ParseError of a record over maxRecordBytes.
var errRecordTooLong = fmt.Errorf("record longer than %d bytes (is this a CSV file?)", maxRecordBytes)

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n >= b.limit {
		return 0, errRecordTooLong
	}
	if int64(len(p)) > b.limit-b.n {
		p = p[:b.limit-b.n]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// malformed wraps a parse error of the file.
func malformed(pe *csv.ParseError) error {
	return fmt.Errorf("claim: malformed CSV: %w: %w", pe, ErrInvalidValue)
}

// open reads the header and maps the columns (rule 2).
func (im *importer) open(r io.Reader) error {
	var bom [3]byte
	n, err := io.ReadFull(r, bom[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	head := bom[:n]
	if bytes.Equal(head, []byte("\xEF\xBB\xBF")) {
		head = nil
	}
	im.in = &boundedReader{r: io.MultiReader(bytes.NewReader(head), r), limit: maxRecordBytes}
	im.cr = csv.NewReader(im.in)
	im.cr.ReuseRecord = true
	im.cr.FieldsPerRecord = -1 // read checks the count, to name the column
	header, err := im.read()
	if err == io.EOF {
		return invalid(ErrInvalidValue, "header", "", "the file is empty; the first line must name the columns")
	}
	if err != nil {
		return err
	}
	for i, h := range header {
		if at := strings.IndexByte(h, '\r'); at >= 0 {
			line, col := im.cr.FieldPos(i)
			return malformed(&csv.ParseError{StartLine: 1, Line: line, Column: col + at, Err: errBareCR})
		}
	}
	im.header = slices.Clone(header)
	im.email, im.claimType, im.claim = -1, -1, -1
	named := make(map[string]bool, len(header))
	for i, h := range header {
		h = UnescapeCell(strings.TrimSpace(h))
		key := strings.ToLower(h)
		if named[key] {
			return invalid(ErrInvalidValue, "header", h, "a column is named twice")
		}
		named[key] = true
		switch {
		case strings.EqualFold(h, ColumnEmail):
			im.email = i
		case strings.EqualFold(h, ColumnClaimType):
			im.claimType = i
		case strings.EqualFold(h, ColumnClaim):
			im.claim = i
		case strings.EqualFold(h, ColumnFirstName), strings.EqualFold(h, ColumnLastName),
			strings.EqualFold(h, ColumnDisplayName), strings.EqualFold(h, ColumnStatus):
		default:
			known := false
			for _, l := range im.b.Settings.AutoLicenses {
				if strings.EqualFold(h, l) {
					im.licCols = append(im.licCols, licenseColumn{index: i, name: l})
					known = true
				}
			}
			if !known {
				im.rep.UnknownColumns = append(im.rep.UnknownColumns, h)
			}
		}
	}
	if im.email < 0 {
		return invalid(ErrInvalidValue, "header", strings.Join(header, ","), "the required column "+ColumnEmail+" is missing")
	}
	return nil
}

// read returns the next record, checked to be UTF-8 text, or io.EOF, or
// the parse error that stops the import.
func (im *importer) read() ([]string, error) {
	rec, err := im.cr.Read()
	if err == io.EOF {
		return nil, err
	}
	if errors.Is(err, errRecordTooLong) {
		return nil, malformed(&csv.ParseError{StartLine: im.lastLine + 1, Line: im.lastLine + 1, Column: 1, Err: errRecordTooLong})
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, malformed(pe)
	}
	if err != nil {
		return nil, fmt.Errorf("claim: reading the CSV file after line %d: %w", im.lastLine, err)
	}
	start, _ := im.cr.FieldPos(0)
	for i, f := range rec {
		if at, why := badCell(f); why != nil {
			line, col := im.cr.FieldPos(i)
			if !strings.Contains(f[:at], "\n") {
				col += at // the byte's own column, in a cell on one line
			}
			return nil, malformed(&csv.ParseError{StartLine: start, Line: line, Column: col, Err: why})
		}
	}
	if im.header != nil && len(rec) != len(im.header) {
		return nil, im.fieldCount(start, rec)
	}
	im.lastLine, _ = im.cr.FieldPos(len(rec) - 1)
	im.lastLine += strings.Count(rec[len(rec)-1], "\n")
	im.in.limit = im.cr.InputOffset() + maxRecordBytes
	return rec, nil
}

// badCell returns why a cell is not text and the offset of its first bad
// byte: errNotUTF8, or errBinary for a NUL or another control byte other
// than tab, CR and LF (V3).
func badCell(f string) (int, error) {
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			return i, errBinary
		}
	}
	if !utf8.ValidString(f) {
		for i, r := range f {
			if r == utf8.RuneError {
				if _, n := utf8.DecodeRuneInString(f[i:]); n == 1 {
					return i, errNotUTF8
				}
			}
		}
	}
	return 0, nil
}

// fieldCount is the ParseError (wrapping csv.ErrFieldCount) of a record
// whose number of fields is not the header's: it names the first extra
// field, or the first missing column, and where it is or should be.
func (im *importer) fieldCount(start int, rec []string) error {
	n, want := len(rec), len(im.header)
	if n > want {
		line, col := im.cr.FieldPos(want)
		return malformed(&csv.ParseError{StartLine: start, Line: line, Column: col,
			Err: fmt.Errorf("%w: %d fields, the header has %d: field %d is extra", csv.ErrFieldCount, n, want, want+1)})
	}
	line, col := im.cr.FieldPos(n - 1)
	last := rec[n-1]
	if nl := strings.LastIndexByte(last, '\n'); nl >= 0 {
		line += strings.Count(last, "\n")
		col, last = 1, last[nl+1:]
	}
	name, _ := bounded(strings.TrimSpace(im.header[n]))
	return malformed(&csv.ParseError{StartLine: start, Line: line, Column: col + len(last),
		Err: fmt.Errorf("%w: %d fields, the header has %d: column %d (%q) is missing", csv.ErrFieldCount, n, want, n+1, name)})
}

// next reads and parses the next row.
func (im *importer) next() (csvRow, error) {
	rec, err := im.read()
	if err != nil {
		return csvRow{}, err
	}
	var row csvRow
	row.line, _ = im.cr.FieldPos(0)
	cell := func(i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(UnescapeCell(strings.TrimSpace(rec[i])))
	}
	// RowResult.Email is the normalized address whenever it is one, so
	// the address is parsed first; its error counts after the others.
	row.email = cell(im.email)
	p, emailErr := parseEmailAny(ColumnEmail, row.email, false)
	if emailErr == nil {
		row.email = p.addr
	}
	claim, err := boolCell(ColumnClaim, cell(im.claim))
	if err != nil {
		row.err = err
		return row, nil
	}
	if !claim { // skipped whatever its other cells say
		row.err = fmt.Errorf("claim: %s: %w", row.email, ErrNotSelected)
		return row, nil
	}
	switch v := cell(im.claimType); {
	case v == "":
	case strings.EqualFold(v, Immediate.String()):
		row.want = wantImmediate
	case strings.EqualFold(v, Delayed.String()):
		row.want = wantDelayed
	default:
		row.err = invalid(ErrInvalidValue, ColumnClaimType, v, "must be Immediate or Delayed")
		return row, nil
	}
	for i, lc := range im.licCols {
		v := cell(lc.index)
		if v == "" {
			continue
		}
		grant, err := boolCell(lc.name, v)
		if err != nil {
			row.err = err
			return row, nil
		}
		if row.grants == nil {
			row.grants = make([]int8, len(im.licCols))
		}
		row.grants[i] = -1
		if grant {
			row.grants[i] = 1
		}
	}
	row.err = emailErr
	return row, nil
}

// licenses returns the licenses of a row: base, then each license column
// of the file granting (TRUE) or withholding (FALSE) its license (V7).
func (im *importer) licenses(base []string, grants []int8) []string {
	ls := base
	for i, g := range grants {
		name := im.licCols[i].name
		has := slices.Contains(ls, name)
		switch {
		case g > 0 && !has:
			ls = append(ls[:len(ls):len(ls)], name)
		case g < 0 && has:
			kept := make([]string, 0, len(ls))
			for _, l := range ls {
				if l != name {
					kept = append(kept, l)
				}
			}
			ls = kept
		}
	}
	return ls
}

// boolCell reads a TRUE/FALSE cell; empty gives TRUE.
func boolCell(column, v string) (bool, error) {
	switch {
	case v == "":
		return true, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, invalid(ErrInvalidValue, column, v, "must be TRUE or FALSE")
}

// run claims (or, in a dry run, judges) the rows of b in one
// transaction, then ends b: when ctx is cancelled during the batch the
// rows done so far commit and b.stopped is ctx's error. With prev, the
// end of the batch before b, which may still run, b commits only once
// that batch has committed all its rows (or gives up and runs again after
// it, see importPatience); if that batch fails or stops, b rolls back.
func (im *importer) run(ctx context.Context, b *importBatch, prev *batchEnd, patience time.Duration) {
	emails := make([]string, 0, len(b.rows))
	for _, row := range b.rows {
		if row.err == nil {
			emails = append(emails, row.email)
		}
	}
	fn := func(t *txn) error {
		start := time.Now()
		b.results = b.results[:0] // a store may run fn again
		b.stopped = nil
		clear(b.claimed)
		// The org as of this batch (rule 1 again): an org deleted or put
		// under directory sync meanwhile stops the import here, and
		// settings changed meanwhile apply from here on (M1, V7).
		o, err := t.actingOrg(im.b.ID)
		if err != nil {
			return err
		}
		base, err := cleanLicenses("ImportOptions.Licenses", o.Settings.AutoLicenses, im.opts.Licenses)
		if err != nil {
			return err
		}
		bt := b.bt
		bt.rebind(t.tx) // empty, also when a store runs fn again
		if err := bt.prefetch(emails); err != nil {
			return err
		}
		b.end.markLocked()
		bulk := *t
		bulk.tx = bt
		for _, row := range b.rows {
			if err := ctx.Err(); err != nil {
				b.stopped = err
				break
			}
			res, err := im.one(&bulk, o, base, row, b.claimed)
			if err != nil {
				return err
			}
			b.results = append(b.results, res)
		}
		if err := bt.flush(); err != nil {
			return err
		}
		b.took = time.Since(start)
		if prev == nil {
			return nil
		}
		// Wait for the import to report prev, once it has ended (or to
		// give it up), within the patience: prev may wait for what b
		// holds, and so may a callback reporting it.
		timer := time.NewTimer(patience)
		defer timer.Stop()
		select {
		case <-prev.settled:
		case <-timer.C:
			return errYield
		}
		if !prev.ok {
			return errPredecessor
		}
		return nil
	}
	// The transaction runs on a context that cancellation does not end, so
	// that the rows done before a cancellation commit; fn checks ctx
	// between rows.
	for {
		if im.opts.DryRun {
			b.err = im.s.view(context.WithoutCancel(ctx), fn)
		} else {
			b.err = im.s.update(context.WithoutCancel(ctx), fn)
		}
		if prev == nil || !errors.Is(b.err, errYield) {
			break
		}
		im.s.log.LogAttrs(ctx, slog.LevelDebug, "claim: import batch runs again after the one before it",
			slog.String("op", "import"), slog.String("org", string(im.b.ID)), slog.Int("line", b.rows[0].line),
			slog.Duration("waited", patience))
		<-prev.settled
		if !prev.ok {
			b.err = errPredecessor
			break
		}
		prev = nil
	}
	b.ended()
}

// ended marks b ended: it holds nothing of its transaction, and the
// batch after it and the import learn so.
func (b *importBatch) ended() {
	b.bt.release()
	b.end.markLocked()
	close(b.end.done)
}

// runAside is run in a goroutine of its own: a panic ends b, to panic
// again in finish, in the import's goroutine, as does a runtime.Goexit.
func (im *importer) runAside(ctx context.Context, b *importBatch, prev *batchEnd, patience time.Duration) {
	ended := false
	defer func() {
		if ended {
			return
		}
		b.panicked = recover()
		if b.panicked == nil {
			b.panicked = errGoexit
		}
		b.ended() // finish panics, and the batch after b rolls back
	}()
	im.run(ctx, b, prev, patience)
	ended = true
}

// errGoexit is what ImportClaims panics with when a batch's goroutine
// called runtime.Goexit (a store's Update calling t.FailNow, say).
var errGoexit = errors.New("claim: an import batch's goroutine exited (runtime.Goexit)")

// patience is how long the next batch of a parallel import waits for
// the one before it (importPatience).
func (im *importer) patience() time.Duration {
	return min(max(importPatience, 2*im.took), importPatienceMax)
}

// report counts a committed batch's results into the report, keeps the
// refused and skipped rows, and calls OnRow and Progress.
func (im *importer) report(results []RowResult) {
	for _, res := range results {
		switch {
		case res.Err == nil:
			im.rep.Claimed++
		case res.Skipped():
			im.rep.Skipped++
			im.keep(res)
		default:
			im.rep.Refused++
			im.keep(res)
		}
		if im.opts.OnRow != nil {
			im.opts.OnRow(res)
		}
	}
	im.done += len(results)
	if im.opts.Progress != nil {
		im.opts.Progress(im.done)
	}
}

// keep lists a refused or skipped row in the report, or counts it as
// omitted once the report holds MaxReportRows of them.
func (im *importer) keep(res RowResult) {
	max := im.opts.MaxReportRows
	if max == 0 {
		max = DefaultMaxReportRows
	}
	if len(im.rep.Rows) >= max {
		im.rep.Omitted++
		return
	}
	im.rep.Rows = append(im.rep.Rows, res)
}

// one claims or judges one row. claimed, in a dry run, collects the
// addresses the batch would claim. The error is a store failure.
func (im *importer) one(t *txn, b Org, base []string, row csvRow, claimed map[string]bool) (RowResult, error) {
	res := RowResult{Line: row.line, Email: row.email, Err: row.err}
	switch row.want {
	case wantImmediate:
		res.Mode = Immediate
	case wantDelayed:
		res.Mode = Delayed
	}
	if res.Err != nil {
		return res, nil
	}
	if im.seen[row.email] || claimed[row.email] { // a dry run's earlier row
		res.Err = errAlreadyClaimed(row.email, b.ID)
		return res, nil
	}
	u, err := t.tx.UserByEmail(row.email)
	if errors.Is(err, ErrNotFound) {
		res.Err = errf(ErrNotFound, "no account has address %s", row.email)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	// A user of the org with a claim record (pending or ended) came in by
	// the org's claim: every record of a user in org B was made by B.
	if u.Org == b.ID && u.Claim != nil {
		res.Err = errAlreadyClaimed(row.email, b.ID)
		return res, nil
	}
	var m Mode
	var refused, failed error
	if im.opts.DryRun {
		m, refused, failed = t.judge(b, u.ID, row.want)
	} else {
		m, refused, failed = t.claimOne(b, u.ID, im.licenses(base, row.grants), row.want)
	}
	if failed != nil {
		return res, failed
	}
	if refused != nil {
		res.Err, _ = byAddress(refused, row.email)
		return res, nil
	}
	res.Mode = m
	if claimed != nil {
		claimed[row.email] = true
	}
	return res, nil
}

// errAlreadyClaimed is the error of a row whose user org has claimed.
func errAlreadyClaimed(email string, org OrgID) error {
	return errf(ErrAlreadyClaimed, "%s is already claimed by org %q", email, org)
}
