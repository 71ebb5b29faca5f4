package claim

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"log/slog"
	"slices"
)

// Directory synchronization (Y1–Y6): the org's directory
// (Directory Connector, Active Directory) is the source of truth for who
// belongs to it.

// DirectoryEntry is one user of an org's directory (Y3).
type DirectoryEntry struct {
	// Email is the address, bare or with a display name ("Ann Lee
	// <ann@example.com>"); it is matched to users case-insensitively
	// (N1, Y6).
	Email       string
	FirstName   string // given name of a user the sync creates
	LastName    string // family name of a user the sync creates
	DisplayName string // shown name of a user the sync creates; from the address's display name when empty
}

// SyncOptions are the options of SyncDirectory.
type SyncOptions struct {
	// DryRun reports what the sync would do and changes nothing (Y1).
	DryRun bool
	// Full: the entries are the whole directory, and users of the org
	// without an entry are deactivated (Y2). Without it the sync is
	// incremental and deactivates nobody.
	Full bool
	// IgnoreThreshold overrides the protection against a full sync that
	// would deactivate too many users (Y5). Only a full sync may set it.
	IgnoreThreshold bool
}

// SyncReport is what SyncDirectory did, or would do on a dry run (Y1).
// The lists hold normalized e-mail addresses, each sorted.
type SyncReport struct {
	Created     []string    // entries that became new users of the org
	Promoted    []string    // Not Verified or Verified users made Active (verified domain, Y3)
	Reactivated []string    // Inactive users the directory names again (Y3, U5)
	Deactivated []string    // users without an entry, made Inactive by a full sync (Y2)
	Unchanged   []string    // users the directory names whose state stays as it was
	Refused     []RowResult // entries refused one by one, in entry order (Line is 1-based)
}

// SyncThresholdError is the error of a full sync refused by the
// protection of Y5. It wraps ErrSyncThreshold and says how many users the
// sync would deactivate and what share of the org that is.
type SyncThresholdError struct {
	Org        OrgID   // the org synchronized
	Deactivate int     // users the sync would deactivate
	Of         int     // the org's users that are not Inactive (held originals not counted)
	Threshold  float64 // Policy.SyncDeleteThreshold
	Minimum    int     // Policy.SyncDeleteMinimum
}

// Share is the fraction of the org's not-yet-inactive users the sync
// would deactivate.
func (e *SyncThresholdError) Share() float64 { return float64(e.Deactivate) / float64(e.Of) }

// Error returns the error's message.
func (e *SyncThresholdError) Error() string {
	return fmt.Sprintf("claim: full sync of org %q would deactivate %d of its %d users that are not inactive (%.1f%%), "+
		"more than %g%% and more than %d; add the users to the directory or set SyncOptions.IgnoreThreshold: %v",
		e.Org, e.Deactivate, e.Of, 100*e.Share(), 100*e.Threshold, e.Minimum, ErrSyncThreshold)
}

// Unwrap returns ErrSyncThreshold.
func (e *SyncThresholdError) Unwrap() error { return ErrSyncThreshold }

// SyncDirectory synchronizes org's users with its directory, entries
// (Y1–Y6); it is SyncDirectorySeq over the slice, which it does
// not copy.
func (s *Service) SyncDirectory(ctx context.Context, org OrgID, entries []DirectoryEntry, opts SyncOptions) (SyncReport, error) {
	return s.syncDirectory(ctx, org, slices.Values(entries), len(entries), opts)
}

// SyncDirectorySeq synchronizes org's users with its directory, the
// entries entries yields (Y1–Y6). The rules, in order:
//
//  1. Call-level refusals, which change nothing: IgnoreThreshold without
//     Full, or a nil entries, is an *InputError (ErrInvalidValue); an
//     unknown org is ErrNotFound; an org that is not an Enterprise is an
//     *InputError (ErrInvalidValue) — an Individual or Consumer org has
//     no directory, and a full sync of the shared Consumer org would
//     deactivate everyone in it.
//  2. Each entry, in order (Line is its 1-based position), is refused by
//     itself in SyncReport.Refused when its address is invalid or ends
//     in .convert-user.local (ErrInvalidEmail, N1, N4), or is the address
//     of an earlier entry in any case (ErrDuplicate, N1, Y6: the first
//     stands). An address of no user of org is refused when another org
//     has claimed its domain (ErrDomainClaimedByOther, D6), then when it
//     belongs to another org's account (ErrEmailTaken, U1) — including a
//     user claimed away from org, whose original org keeps only the held
//     original. A user of org is never refused: D6 keeps users from
//     joining, and this one has joined.
//  3. An address of no account becomes a new user of org (Created): Active
//     on a domain org has verified, else Not Verified (Y3, D5), with the
//     entry's names and org's AutoLicenses.
//  4. A user of org the directory names (matched by normalized address,
//     so a case difference never loses anyone, Y6) moves by the
//     transition table (trigger sync): on a verified domain it ends Active
//     (Promoted from Not Verified or Verified, Reactivated from Inactive);
//     on an unverified one it keeps its state, and an Inactive user is
//     Reactivated by U5's rule (Active if it has signed in before, else
//     Not Verified). A Delayed Claim user keeps its state (U5), and an
//     Inactive user whose delayed claim is pending is reactivated into
//     Delayed Claim, as Reactivate does. Names of existing users are left
//     as they are: the Y rules govern membership and states only.
//  5. A full sync then deactivates every other user of org (Inactive,
//     InactiveSince now: Y2, onDeactivate), claimed users included; users
//     already Inactive keep their InactiveSince (their purge clock, Y4,
//     runs on). Original accounts held by another org's pending claim are
//     never touched (H2). An incremental sync deactivates nobody.
//  6. Y5: a full sync that would deactivate more than
//     Policy.SyncDeleteThreshold of org's users that are not Inactive
//     (counted before the sync, held originals left out) and more than
//     Policy.SyncDeleteMinimum users is refused with a
//     *SyncThresholdError (ErrSyncThreshold) unless IgnoreThreshold is
//     set. Nothing changes; the report returned with the error is what
//     the sync would have done, the same on a dry run.
//
// The whole sync is one store transaction, so a real run does exactly
// what the dry run, a read-only transaction on the same data, reports
// (Y1), and a refusal or failure leaves no trace. On the memory store it
// holds the write lock for its duration; on PostgreSQL it is one
// transaction that locks the org's users first (OrgLocker) and waits for
// the writers of them in flight; a store may still run it again, after a
// deadlock or a lost connection. Because a store may run it again, entries is
// ranged over once per attempt and must yield the same entries each
// time (a Seq over a slice does; one that reads a file must reopen it);
// an attempt that sees other entries fails with an error wrapping
// ErrInvalidValue rather than treat them as the directory.
//
// Memory: entries are streamed; the sync keeps the set of the
// directory's normalized addresses and the report, and pages through the
// org's addresses for step 5 (OrgEmailLister, or UsersByOrg), so it
// holds nothing per user of the org that the directory does not name but
// its report line. Cost: one indexed store lookup per entry, one per user
// the directory does not name, a page read per 256 users of org, and the
// writes.
//
// Settings.DirectorySync is not consulted: it decides whether org's
// users may be claimed (E5) and whether org may claim (E7), while the
// seed requires a dry run before synchronization is turned back on, and
// the host decides when its connector runs.
//
// A context cancelled during the sync fails it (nothing changes) with
// the context's error. Other errors are the store's, with an empty report.
//
// Events (none on a dry run): user.added, user.promoted,
// user.reactivated, user.deactivated (Detail: the new state) per user;
// claim.expired and content.migrated first for a user it changes whose
// delayed claim is past its deadline (X1, X3: reads show it resolved, a
// write persists it); and one directory.synced whose Detail sums the
// report up.
func (s *Service) SyncDirectorySeq(ctx context.Context, org OrgID, entries iter.Seq[DirectoryEntry], opts SyncOptions) (SyncReport, error) {
	return s.syncDirectory(ctx, org, entries, 0, opts)
}

// syncDirectory is SyncDirectorySeq; size, when known, is the number of
// entries.
func (s *Service) syncDirectory(ctx context.Context, org OrgID, entries iter.Seq[DirectoryEntry], size int, opts SyncOptions) (SyncReport, error) {
	done := s.opLog(ctx, "sync", slog.String("org", string(org)), slog.Bool("full", opts.Full), slog.Bool("dry_run", opts.DryRun))
	rep, err := s.runSync(ctx, org, entries, size, opts)
	s.debugRows(ctx, "sync", org, rep.Refused)
	done(err, slog.Int("created", len(rep.Created)), slog.Int("promoted", len(rep.Promoted)),
		slog.Int("reactivated", len(rep.Reactivated)), slog.Int("deactivated", len(rep.Deactivated)),
		slog.Int("unchanged", len(rep.Unchanged)), slog.Int("refused", len(rep.Refused)))
	return rep, err
}

// runSync is syncDirectory.
func (s *Service) runSync(ctx context.Context, org OrgID, entries iter.Seq[DirectoryEntry], size int, opts SyncOptions) (SyncReport, error) {
	if opts.IgnoreThreshold && !opts.Full {
		return SyncReport{}, invalid(ErrInvalidValue, "SyncOptions.IgnoreThreshold", true,
			"only a full sync deactivates users; set Full too, or leave IgnoreThreshold off")
	}
	if entries == nil {
		return SyncReport{}, invalid(ErrInvalidValue, "entries", "<nil>", "a sequence of directory entries is required")
	}
	run := s.update
	if opts.DryRun {
		run = s.view
	}
	var rep SyncReport
	fp := syncFingerprint{seed: maphash.MakeSeed()}
	err := run(ctx, func(t *txn) error {
		sy := &syncer{t: t, opts: opts, seen: make(map[string]syncSeen, size), domains: make(map[string]syncDomain)}
		err := sy.run(org, entries, &fp)
		rep = sy.rep
		return err
	})
	var th *SyncThresholdError
	if err != nil && !errors.As(err, &th) {
		return SyncReport{}, err
	}
	return rep, err
}

// syncer is one attempt of a directory sync.
type syncer struct {
	t    *txn
	opts SyncOptions
	org  Org
	rep  SyncReport
	// seen maps the normalized address of every valid entry to its line
	// and what the sync does with it.
	seen map[string]syncSeen
	// domains caches, per domain, whether org verified it and who claims it.
	domains map[string]syncDomain
	// base counts org's users that were not Inactive before the sync,
	// held originals left out (Y5).
	base int
	// kinds counts the members of each kind, so that a full sync can size
	// its report's lists before it fills them.
	kinds [syncUnchanged + 1]int
}

// syncSeen is what a sync knows of an address its directory names.
type syncSeen struct {
	line int32    // the entry's line
	kind syncKind // what the sync does with the user
}

// syncKind is what a sync does with the user of an address.
type syncKind uint8

// The sync kinds; syncNone is a refused entry.
const (
	syncNone syncKind = iota
	syncCreated
	syncPromoted
	syncReactivated
	syncUnchanged
)

// list returns the report's list of the users of the org of the kind:
// nil for syncNone and syncCreated.
func (r *SyncReport) list(k syncKind) *[]string {
	switch k {
	case syncPromoted:
		return &r.Promoted
	case syncReactivated:
		return &r.Reactivated
	case syncUnchanged:
		return &r.Unchanged
	}
	return nil
}

// syncDomain is what a sync needs to know of one domain.
type syncDomain struct {
	verified bool  // org has verified it (Y3, D5)
	claimant OrgID // the org that claims it, if any (D6)
}

// syncFingerprint tells whether two attempts of one sync saw the same
// entries.
type syncFingerprint struct {
	seed  maphash.Seed
	set   bool
	n     int
	sum   uint64
	cur   maphash.Hash
	count int
}

// start begins an attempt.
func (f *syncFingerprint) start() {
	f.cur.SetSeed(f.seed)
	f.count = 0
}

// add records an entry of the attempt.
func (f *syncFingerprint) add(e DirectoryEntry) {
	for _, s := range [...]string{e.Email, e.FirstName, e.LastName, e.DisplayName} {
		f.cur.WriteString(s)
		f.cur.WriteByte(0)
	}
	f.count++
}

// check ends the attempt's entries: the first attempt's are remembered,
// a later attempt's must be the same.
func (f *syncFingerprint) check() error {
	sum := f.cur.Sum64()
	if !f.set {
		f.set, f.n, f.sum = true, f.count, sum
		return nil
	}
	if f.n != f.count || f.sum != sum {
		return invalid(ErrInvalidValue, "entries", fmt.Sprintf("%d entries, then %d", f.n, f.count),
			"the store ran the sync again and the sequence yielded other entries; it must yield the same entries each time it is ranged over")
	}
	return nil
}

// syncCheckEvery is how many entries a sync handles between looks at its
// context.
const syncCheckEvery = 1000

// run is the whole sync in the transaction sy.t.
func (sy *syncer) run(id OrgID, entries iter.Seq[DirectoryEntry], fp *syncFingerprint) error {
	t := sy.t
	o, err := t.wholeOrg(id)
	if err != nil {
		return err
	}
	if o.Kind != Enterprise {
		return invalid(ErrInvalidValue, "org", id, o.Kind.String()+" orgs have no directory to synchronize")
	}
	sy.org = o
	fp.start()
	line := 0
	// After a failed entry the attempt still reads (and fingerprints) the
	// rest of the entries: a store that runs the sync again must be handed
	// the same entries, and only a fingerprint of all of them can tell. A
	// done context stops it at once: no store retries after that.
	var failed error
	for e := range entries {
		line++
		fp.add(e)
		if line%syncCheckEvery == 0 {
			if err := t.ctx.Err(); err != nil {
				return err
			}
		}
		if failed == nil {
			failed = sy.entry(line, e)
		}
	}
	if err := fp.check(); err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	if sy.opts.Full {
		if err := sy.deactivateMissing(); err != nil {
			return err
		}
	}
	// A full sync has listed the org's users in e-mail order, and them
	// only: the users it creates remain to be sorted.
	slices.Sort(sy.rep.Created)
	if !sy.opts.Full {
		for _, l := range [][]string{sy.rep.Promoted, sy.rep.Reactivated, sy.rep.Unchanged} {
			slices.Sort(l)
		}
	}
	if n := len(sy.rep.Deactivated); sy.opts.Full && !sy.opts.IgnoreThreshold && sy.exceeds(n) {
		return &SyncThresholdError{Org: id, Deactivate: n, Of: sy.base,
			Threshold: t.s.policy.SyncDeleteThreshold, Minimum: t.s.policy.SyncDeleteMinimum}
	}
	return sy.write(func() error {
		return t.emit(Event{Type: EventDirectorySynced, Org: id, Detail: sy.summary()})
	})
}

// exceeds reports whether deactivating n users trips Y5: more than the
// minimum, and a share of the base more than the threshold. The share is
// a quotient, so that a threshold of 0.29 lets exactly 29 of 100 go.
func (sy *syncer) exceeds(n int) bool {
	p := sy.t.s.policy
	return n > p.SyncDeleteMinimum && float64(n)/float64(sy.base) > p.SyncDeleteThreshold
}

// summary is the directory.synced event's Detail.
func (sy *syncer) summary() string {
	kind := "incremental"
	if sy.opts.Full {
		kind = "full"
	}
	r := sy.rep
	return fmt.Sprintf("%s: created %d, promoted %d, reactivated %d, deactivated %d, unchanged %d, refused %d",
		kind, len(r.Created), len(r.Promoted), len(r.Reactivated), len(r.Deactivated), len(r.Unchanged), len(r.Refused))
}

// write runs fn unless the sync is a dry run.
func (sy *syncer) write(fn func() error) error {
	if sy.opts.DryRun {
		return nil
	}
	return fn()
}

// refuse records a refused entry.
func (sy *syncer) refuse(line int, email string, err error) {
	sy.rep.Refused = append(sy.rep.Refused, RowResult{Line: line, Email: email, Err: err})
}

// domain returns what the sync knows of the domain, looking it up once.
func (sy *syncer) domain(name string) (syncDomain, error) {
	if d, ok := sy.domains[name]; ok {
		return d, nil
	}
	var d syncDomain
	var err error
	if d.verified, err = sy.t.domainVerified(sy.org.ID, name); err != nil {
		return d, err
	}
	if d.claimant, err = sy.t.tx.DomainClaimant(name); errors.Is(err, ErrNotFound) {
		d.claimant, err = "", nil
	}
	if err != nil {
		return d, err
	}
	sy.domains[name] = d
	return d, nil
}

// entry handles the entry on line (rules 2–4 of SyncDirectorySeq). It
// returns only store errors; refusals go to the report.
func (sy *syncer) entry(line int, e DirectoryEntry) error {
	t := sy.t
	p, err := parseEmail("DirectoryEntry.Email", e.Email, true)
	if err != nil {
		v, _ := bounded(e.Email) // a report holds no hostile 10 MB value
		sy.refuse(line, v, err)
		return nil
	}
	if first, ok := sy.seen[p.addr]; ok {
		sy.refuse(line, p.addr, errf(ErrDuplicate, "%s is the address of line %d too", p.addr, first.line))
		return nil
	}
	stored, err := t.tx.UserByEmail(p.addr)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	d, err := sy.domain(domainOf(p.addr))
	if err != nil {
		return err
	}
	if found && stored.Org == sy.org.ID {
		kind, err := sy.member(stored, d)
		sy.seen[p.addr] = syncSeen{int32(line), kind}
		return err
	}
	sy.seen[p.addr] = syncSeen{int32(line), syncNone}
	// Only a new user takes the entry's names (a member keeps its own),
	// so only then do the names' limits matter: a member whose directory
	// names the limits refuse stays a member.
	n, err := cleanNames("DirectoryEntry", e.FirstName, e.LastName, e.DisplayName, p.name)
	if err != nil {
		sy.refuse(line, p.addr, err)
		return nil
	}
	u, evs, err := newUser(t, sy.org, p.addr, n, onSync, joinFacts{claimant: d.claimant, taken: found, verified: d.verified})
	if err != nil {
		sy.refuse(line, p.addr, err)
		return nil
	}
	sy.seen[p.addr] = syncSeen{int32(line), syncCreated}
	sy.rep.Created = append(sy.rep.Created, u.Email)
	return sy.write(func() error { return t.addUser(u, evs) })
}

// member applies an entry to stored, a user of the org as the store
// holds it (rule 4), and returns what it did. An incremental sync lists
// the user in its report here, a full one when it lists the org.
func (sy *syncer) member(stored User, d syncDomain) (syncKind, error) {
	t := sy.t
	// Judge on the read-only view (X3): a delayed claim past its deadline
	// shows resolved, and the expiry is written only with a change.
	ro := t.readOnly()
	u, err := ro.current(stored)
	if err != nil {
		return syncNone, err
	}
	if u.State != Inactive {
		sy.base++
	}
	s := step{on: onSync, verified: d.verified}
	to, _, _, err := apply(u, s, t.now)
	if err != nil {
		return syncNone, err
	}
	kind := syncUnchanged
	switch {
	case to.State == u.State:
	case u.State == Inactive:
		kind = syncReactivated
	default:
		kind = syncPromoted
	}
	sy.kinds[kind]++
	if !sy.opts.Full {
		sy.list(u.Email, kind)
	}
	if kind == syncUnchanged {
		return kind, nil
	}
	return kind, sy.write(func() error {
		u, err := t.current(stored) // persists an expiry (X3)
		if err != nil {
			return err
		}
		return sy.update(u, s)
	})
}

// update applies step s to u, brought up to now, and writes it with its
// events.
func (sy *syncer) update(u User, s step) error {
	u, _, evs, err := sy.t.apply(u, s)
	if err != nil {
		return err
	}
	return sy.t.save(u, evs)
}

// deactivateMissing deactivates the org's users that no entry names
// (rule 5), counting them into the base of Y5, and, walking the org in
// e-mail order, lists the members the directory names in the report. It
// lists the org's addresses through the Tx's OrgEmailLister when it has
// one and reads in full only the users the directory does not name;
// otherwise it pages through UsersByOrg. Either way only the users it
// deactivates have an expired claim persisted (X3).
func (sy *syncer) deactivateMissing() error {
	t := sy.t
	for k := syncPromoted; k <= syncUnchanged; k++ {
		*sy.rep.list(k) = make([]string, 0, sy.kinds[k])
	}
	// visit handles a listed user: its address, and the user when the
	// listing read it.
	visit := func(email string, raw *User) error {
		if seen, ok := sy.seen[email]; ok {
			sy.list(email, seen.kind)
			return nil
		}
		if raw == nil {
			u, err := t.tx.UserByEmail(email)
			if err != nil {
				return err
			}
			raw = &u
		}
		// Decide on the read-only view: a user the sync leaves alone
		// keeps its expired claim unpersisted (X3).
		ro := t.readOnly()
		u, err := ro.current(*raw)
		if errors.Is(err, ErrNotFound) {
			return nil // an original whose claim has expired (X1)
		}
		if err != nil {
			return err
		}
		return sy.missing(*raw, u)
	}
	if lister, ok := t.tx.(OrgEmailLister); ok {
		list := func(after string, limit int) ([]string, error) { return lister.EmailsByOrg(sy.org.ID, after, limit) }
		return keyed(list, func(e string) string { return e }, func(page []string) error {
			if err := t.ctx.Err(); err != nil {
				return err
			}
			for _, e := range page {
				if err := visit(e, nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
	list := func(after string, limit int) ([]User, error) { return t.tx.UsersByOrg(sy.org.ID, after, limit) }
	return keyed(list, func(u User) string { return u.Email }, func(page []User) error {
		if err := t.ctx.Err(); err != nil {
			return err
		}
		for i := range page {
			if err := visit(page[i].Email, &page[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// list adds a user of the org the directory names to the report, unless
// the sync created it (those are listed when created).
func (sy *syncer) list(email string, k syncKind) {
	if l := sy.rep.list(k); l != nil {
		*l = append(*l, email)
	}
}

// missing handles u (raw as stored, brought up to now on a read-only
// view), a user of the org the directory does not name: held originals
// are skipped (H2), Inactive users stay as they are, the others count
// into the base and are deactivated (Y2), which first persists an expired
// claim of theirs (X3).
func (sy *syncer) missing(raw, u User) error {
	if u.HeldBy != "" || u.State == Inactive {
		return nil
	}
	sy.base++
	sy.rep.Deactivated = append(sy.rep.Deactivated, u.Email)
	return sy.write(func() error {
		u, err := sy.t.current(raw)
		if err != nil {
			return err
		}
		return sy.update(u, step{on: onDeactivate})
	})
}
