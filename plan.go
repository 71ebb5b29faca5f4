package claim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// PlanRequest is what an admin intends to claim, for PlanClaims (L2).
type PlanRequest struct {
	// IDs, Emails and CSV name the users, in any mix: IDs as ClaimUsers
	// takes them, addresses as ClaimEmails does, and a claim file as
	// ImportClaims reads it (its Claim Type, Claim and license cells
	// count). No limit applies: a plan is not a claim.
	IDs    []UserID
	Emails []string
	CSV    io.Reader
	// Options are the options the claim would have: Licenses,
	// ImmediateOnly and Relicense count; Acknowledge and DryRun do not.
	Options ClaimOptions
	// Directory is the org's directory, as its connector would send it
	// to SyncDirectory, when CheckDirectory is set.
	Directory      []DirectoryEntry
	CheckDirectory bool
}

// Plan is PlanClaims' answer: what claiming the users would do, before
// anything happens (L2).
type Plan struct {
	Org OrgID
	At  time.Time // the instant the plan judged at
	// DirectorySyncOn: a precondition is not met. Org synchronizes from a
	// directory, and every claim is refused (E7) until it turns that off.
	// The entries say what the claims would do once it has.
	DirectorySyncOn bool
	Entries         []PlanEntry // one per input, IDs first, then Emails, then the file's rows
	Totals          PlanTotals
	// UnknownColumns are the CSV header names ImportClaims would ignore.
	UnknownColumns []string
}

// PlanEntry is the plan for one input.
type PlanEntry struct {
	Input string // the ID or address as given (a CSV row: its address)
	Line  int    // a CSV row's line; 0 for IDs and Emails
	User  UserID // the user, when found and org may see it (N3)
	Email string // the user's address, when org may see it
	// Err is nil when the user would be claimed; otherwise the error the
	// claim would give it: a *RefusalError with the Reasons, ErrNotFound,
	// an *InputError, ErrDuplicate (the user given before in the plan),
	// ErrStaleMode; for a CSV row also ErrNotSelected and
	// ErrAlreadyClaimed, which skip it.
	Err     error
	Reasons []Reason // the eligibility reasons of a refusal (E1–E6)
	Mode    Mode     // the claim's mode (M1)
	// ContentLoss: org allows content migration but the claim is
	// Immediate (M2, or Options.ImmediateOnly), so the user's Content
	// items stay with the original account and do not come along.
	ContentLoss bool
	Content     int       // the content the user has now
	Licenses    []string  // the licenses the claimed user gets
	Warnings    []Warning // site_access_at_risk (S1) unless Options.Relicense
	// With CheckDirectory: whether the directory names the user, and, if
	// it does not, that the next full sync deactivates the user (Y2; a
	// user already Inactive stays so) and when the purge deletes it (Y4),
	// for a sync run at the plan's instant.
	InDirectory bool
	Deactivated bool
	PurgeAt     time.Time
}

// PlanTotals sum a plan up.
type PlanTotals struct {
	Inputs             int // entries
	Claimable          int // entries whose Err is nil
	Refused, Skipped   int // the others: refused, or skipped CSV rows
	Immediate, Delayed int // claimable entries by mode
	ContentLoss        int // claimable entries with ContentLoss
	ContentLost        int // their content items
	AtRisk             int // claimable entries with site_access_at_risk
	Deactivated        int // claimable entries the next full sync deactivates
}

// PlanClaims answers, for every user an admin intends to claim into org,
// what the claim would do (L2), and writes nothing. Per user, judged as
// ClaimUsers with DryRun judges it (the same rules, in one read-only
// transaction, so the answers are the real claim's at that moment):
// claimable or the error and reasons; the mode; whether content is lost
// and how much (M2); the licenses (org's AutoLicenses plus
// Options.Licenses, and a CSV row's license cells); the site-access
// warning (S1). With CheckDirectory, against the directory: whether the
// next full sync would deactivate the user for want of an entry (Y2), and
// the date the purge would then delete it (Y4). Org-level: whether org
// still synchronizes from a directory (E7), which refuses every claim
// until turned off; and the totals.
//
// Differences from the claim calls: no limit on the inputs; a user given
// again by ID or address, after any input, is ErrDuplicate, and a CSV row
// naming a user an earlier input would claim is skipped with
// ErrAlreadyClaimed (as ImportClaims's dry run skips it); directory sync
// on is reported, not an error. Errors: ErrNotFound
// for an unknown org; an *InputError for a bad name in Options.Licenses or
// a malformed CSV file (as ImportClaims's); the store's.
func (s *Service) PlanClaims(ctx context.Context, org OrgID, req PlanRequest) (Plan, error) {
	p := Plan{Org: org}
	var b Org
	err := s.view(ctx, func(t *txn) error {
		var err error
		b, err = t.org(org)
		return err
	})
	if err != nil {
		return Plan{}, err
	}
	base, err := cleanLicenses("PlanRequest.Options.Licenses", b.Settings.AutoLicenses, req.Options.Licenses)
	if err != nil {
		return Plan{}, err
	}
	var rows []csvRow
	var im *importer
	if req.CSV != nil {
		im = &importer{s: s, b: b, rep: &ImportReport{}}
		if rows, err = im.all(req.CSV); err != nil {
			return Plan{}, err
		}
		p.UnknownColumns = im.rep.UnknownColumns
	}
	dir := req.directory()
	err = s.view(ctx, func(t *txn) error {
		b, err := t.org(org)
		if err != nil {
			return err
		}
		n := len(req.IDs) + len(req.Emails) + len(rows)
		pl := &planner{t: t, b: b, base: base, opts: req.Options, dir: dir,
			seen: make(map[string]bool, n), would: make(map[UserID]bool, n), wouldAt: make(map[string]bool, n)}
		p.At, p.DirectorySyncOn = t.now, b.Settings.DirectorySync
		p.Entries = make([]PlanEntry, 0, n)
		for i, id := range req.IDs {
			e, err := pl.byID(i, id)
			if err != nil {
				return err
			}
			p.Entries = append(p.Entries, e)
		}
		for i, a := range req.Emails {
			e, err := pl.byEmail(fmt.Sprintf("Emails[%d]", i), a, csvRow{want: pl.opts.want()}, nil)
			if err != nil {
				return err
			}
			p.Entries = append(p.Entries, e)
		}
		for _, row := range rows {
			e, err := pl.byEmail("", row.email, row, im)
			if err != nil {
				return err
			}
			p.Entries = append(p.Entries, e)
		}
		return nil
	})
	if err != nil {
		return Plan{}, err
	}
	p.Totals = planTotals(p.Entries)
	return p, nil
}

// planner judges the entries of one plan in one transaction.
type planner struct {
	t       *txn
	b       Org
	base    []string // AutoLicenses plus Options.Licenses
	opts    ClaimOptions
	dir     map[string]bool // nil: no directory
	seen    map[string]bool // the users planned so far, by ID; and unresolved inputs by key
	would   map[UserID]bool // the users the plan so far would claim
	wouldAt map[string]bool // their addresses
}

// want is the mode a claim with opts asks for (M1).
func (opts ClaimOptions) want() want {
	if opts.ImmediateOnly {
		return wantImmediate
	}
	return wantToday
}

// byID plans IDs[i].
func (pl *planner) byID(i int, id UserID) (PlanEntry, error) {
	e := PlanEntry{Input: string(id)}
	if err := checkID(ErrInvalidValue, fmt.Sprintf("IDs[%d]", i), id, true); err != nil {
		e.Err = err
		return e, nil
	}
	return pl.judge(e, id, pl.opts.want(), nil, nil)
}

// byEmail plans an address: Emails[i] (field set) or a CSV row (row's
// line, its want and grants, and its refusal, if its cells decide one).
func (pl *planner) byEmail(field, input string, row csvRow, im *importer) (PlanEntry, error) {
	e := PlanEntry{Input: input, Line: row.line}
	addr := input
	if field != "" {
		p, err := parseEmailAny(field, input, true)
		if err != nil {
			e.Err = err
			return e, nil
		}
		addr = p.addr
	} else if row.err != nil {
		e.Err = row.err
		return e, nil
	}
	e.Email = addr
	if pl.original(addr) { // the original of a user planned before (E6)
		e.Err = &RefusalError{Email: addr, Reasons: []Reason{ReasonPendingClaim}}
		e.Reasons = []Reason{ReasonPendingClaim}
		return e, nil
	}
	u, err := pl.t.tx.UserByEmail(addr)
	if errors.Is(err, ErrNotFound) {
		if pl.seen[addr] {
			e.Err = errf(ErrDuplicate, "%q is given twice in the plan", input)
		} else {
			e.Err = errf(ErrNotFound, "no account has address %s", addr)
		}
		pl.seen[addr] = true
		return e, nil
	}
	if err != nil {
		return e, err
	}
	if im != nil && u.Org == pl.b.ID && u.Claim != nil { // V4, as ImportClaims skips it
		e.Err = errAlreadyClaimed(addr, pl.b.ID)
		return e, nil
	}
	var grants func([]string) []string
	if im != nil {
		grants = func(base []string) []string { return im.licenses(base, row.grants) }
	}
	return pl.judge(e, u.ID, row.want, grants, &addr)
}

// judge plans user id: the claim's judgment (judge, as a dry run makes
// it), then what it would bring. addr is the address the admin gave, if
// any: a refusal of a user org may not see names it and not the user (N3).
func (pl *planner) judge(e PlanEntry, id UserID, w want, grants func([]string) []string, addr *string) (PlanEntry, error) {
	t := pl.t
	switch {
	case e.Line > 0 && pl.would[id]: // as ImportClaims's dry run skips a row an earlier one claims
		e.Err = errAlreadyClaimed(e.Email, pl.b.ID)
		return e, nil
	case e.Line == 0 && pl.seen[string(id)]:
		e.Err = errf(ErrDuplicate, "%q is given twice in the plan", e.Input)
		return e, nil
	}
	pl.seen[string(id)] = true
	u, m, refused, failed := t.judgeUser(pl.b, id, w)
	if failed != nil {
		return e, failed
	}
	if refused != nil {
		e.Err = refused
		if addr != nil {
			var hid bool
			if e.Err, hid = byAddress(refused, *addr); hid {
				return withReasons(e), nil
			}
		}
		if !errors.Is(refused, ErrNotFound) {
			e.User = id
		}
		var re *RefusalError
		if errors.As(refused, &re) && re.Email != "" {
			e.Email = re.Email
		}
		return withReasons(e), nil
	}
	risky, err := t.siteRisk(pl.b.ID, id)
	if err != nil {
		return e, err
	}
	e.User, e.Email, e.Mode, e.Content = id, u.Email, m, u.Content
	e.ContentLoss = m == Immediate && pl.b.Settings.AllowContentMigration
	if len(pl.base) > 0 {
		e.Licenses = slices.Clone(pl.base)
	}
	if grants != nil {
		e.Licenses = grants(e.Licenses)
	}
	e.Warnings = warnings(risky, pl.opts.Relicense)
	if pl.dir != nil {
		e.InDirectory = pl.dir[u.Email]
		e.Deactivated = !e.InDirectory
		if e.Deactivated {
			// The claim's step, not written: an Inactive user stays so, its
			// clock running (Y4); otherwise the deactivation starts it now.
			c, _ := mustApply(u, step{on: claimTrigger(m)}, t.now)
			since := t.now
			if c.State == Inactive {
				since = c.InactiveSince
			}
			e.PurgeAt = since.Add(t.s.policy.InactivePurge)
		}
	}
	pl.would[id], pl.wouldAt[u.Email] = true, true
	return e, nil
}

// all reads the whole file r as im's rows.
func (im *importer) all(r io.Reader) ([]csvRow, error) {
	if err := im.open(r); err != nil {
		return nil, err
	}
	var rows []csvRow
	for {
		row, err := im.next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
}

// directory returns the addresses of req's directory entries when it
// asks for the check (nil otherwise); entries without a valid address
// name nobody.
func (req PlanRequest) directory() map[string]bool {
	if !req.CheckDirectory {
		return nil
	}
	dir := make(map[string]bool, len(req.Directory))
	for _, e := range req.Directory {
		if a, err := parseEmail("DirectoryEntry.Email", e.Email, true); err == nil {
			dir[a.addr] = true
		}
	}
	return dir
}

// original reports whether addr is the address of the original account
// the claim of a user planned before would make.
func (pl *planner) original(addr string) bool {
	claimed, ok := strings.CutSuffix(addr, OriginalSuffix)
	return ok && pl.wouldAt[claimed]
}

// withReasons fills e.Reasons from a refusal.
func withReasons(e PlanEntry) PlanEntry {
	var re *RefusalError
	if errors.As(e.Err, &re) {
		e.Reasons = re.Reasons
	}
	return e
}

// planTotals sums the entries up.
func planTotals(es []PlanEntry) PlanTotals {
	var n PlanTotals
	n.Inputs = len(es)
	for _, e := range es {
		switch {
		case e.Err == nil:
		case errors.Is(e.Err, ErrNotSelected) || errors.Is(e.Err, ErrAlreadyClaimed):
			n.Skipped++
			continue
		default:
			n.Refused++
			continue
		}
		n.Claimable++
		if e.Mode == Delayed {
			n.Delayed++
		} else {
			n.Immediate++
		}
		if e.ContentLoss {
			n.ContentLoss++
			n.ContentLost += e.Content
		}
		if len(e.Warnings) > 0 {
			n.AtRisk++
		}
		if e.Deactivated {
			n.Deactivated++
		}
	}
	return n
}
