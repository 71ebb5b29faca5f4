package claim

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// eligibility returns every reason u cannot be claimed by org b (E1–E6),
// in that order, and u's org. Rules, in order:
//
//  1. Decision (N3): b may see a user of its own and a user on a domain it
//     has verified. Of any other user b learns domain_not_verified alone —
//     not the user's org's SSO or directory-sync settings, nor whether
//     another org claimed the domain or holds the user in a claim.
//  2. For an original account held by a claim pending_claim is the only
//     reason (E6); its domain is that of the address it was claimed
//     under.
//  3. Otherwise every reason of E1–E6 that applies.
func (t *txn) eligibility(b Org, u User) ([]Reason, Org, error) {
	dom := domainOf(strings.TrimSuffix(u.Email, OriginalSuffix))
	verified, err := t.domainVerified(b.ID, dom)
	if err != nil {
		return nil, Org{}, err
	}
	if !verified && u.Org != b.ID {
		return []Reason{ReasonDomainNotVerified}, Org{}, nil
	}
	if u.HeldBy != "" {
		return []Reason{ReasonPendingClaim}, Org{}, nil
	}
	src, err := t.org(u.Org)
	if err != nil {
		return nil, Org{}, err
	}
	var rs []Reason
	if u.Org == b.ID {
		rs = append(rs, ReasonAlreadyMember)
	}
	if !verified {
		rs = append(rs, ReasonDomainNotVerified)
	}
	if c, err := t.tx.DomainClaimant(dom); err == nil && c != b.ID {
		rs = append(rs, ReasonDomainClaimedByOther)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, Org{}, err
	}
	if src.Settings.SSO {
		rs = append(rs, ReasonSourceSSO)
	}
	if src.Settings.DirectorySync {
		rs = append(rs, ReasonSourceDirectorySync)
	}
	if u.Claim.pending() {
		rs = append(rs, ReasonPendingClaim)
	}
	return rs, src, nil
}

// delayedEligible reports whether users of src may be claimed with a
// delayed claim (M2): an Individual org created before the cutoff.
func (s *Service) delayedEligible(src Org) bool {
	return src.Kind == Individual && src.CreatedAt.Before(s.policy.DelayedClaimCutoff)
}

// mode returns the mode of a claim by b of a user of src (M1).
func (s *Service) mode(b, src Org, immediateOnly bool) Mode {
	if b.Settings.AllowContentMigration && !immediateOnly && s.delayedEligible(src) {
		return Delayed
	}
	return Immediate
}

// actingOrg runs the org-level checks of a claim method (E8): the org
// exists and does not synchronize from a directory (E7).
func (t *txn) actingOrg(id OrgID) (Org, error) {
	b, err := t.org(id)
	if err != nil {
		return Org{}, err
	}
	if b.Settings.DirectorySync {
		return Org{}, errf(ErrDirectorySyncEnabled, "org %q", id)
	}
	return b, nil
}

// Claimable iterates over the users org may claim now, in e-mail order,
// each with the mode a claim would have, its ContentLoss flag (M2) and
// its Warnings (WarningSiteAccessAtRisk, S1).
// They are the users, on domains org has verified, for whom no reason of
// E1–E6 holds. The first error ends the iteration: ErrNotFound for an
// unknown org, ErrDirectorySyncEnabled if org synchronizes from a
// directory (E7). Decision: a user whose address is too long to take the
// original account's suffix (over 235 octets, N4) is not listed, since
// every claim of it is refused with ErrInvalidEmail; so ExportClaimable
// never writes a row that ImportClaims must refuse (V5). Like Users, it
// reads a page per transaction (ClaimablePage); its cost is in
// proportion to the users on org's verified domains times their number,
// not to all users.
func (s *Service) Claimable(ctx context.Context, org OrgID) iter.Seq2[Candidate, error] {
	return everyPage(func(after string) (Page[Candidate], error) {
		return s.ClaimablePage(ctx, org, ListOptions{After: after, Limit: pageSize})
	})
}

// candidate returns u as a claimable user of b, and whether b may claim
// it now (E1–E6, and an address that fits the original's suffix, N4).
func (s *Service) candidate(t *txn, b Org, u User) (Candidate, bool, error) {
	rs, src, err := t.eligibility(b, u)
	if err != nil || len(rs) > 0 || !originalFits(u.Email) {
		return Candidate{}, false, err
	}
	risky, err := t.siteRisk(b.ID, u.ID)
	if err != nil {
		return Candidate{}, false, err
	}
	return Candidate{User: public(u), Mode: s.mode(b, src, false),
		ContentLoss: b.Settings.AllowContentMigration && !s.delayedEligible(src),
		Warnings:    warnings(risky, false)}, true, nil
}

// Eligibility returns every reason org cannot claim the user with the
// address now (E1–E6); an empty result means it can. Of another org's
// user on a domain org has not verified, the only reason is
// domain_not_verified (N3). Errors, in order: an
// *InputError (ErrInvalidEmail) for a bad address; ErrNotFound for an
// unknown org; ErrDirectorySyncEnabled if org synchronizes from a
// directory (E7); ErrNotFound for an address of no account.
func (s *Service) Eligibility(ctx context.Context, org OrgID, email string) ([]Reason, error) {
	p, err := parseEmailAny("email", email, false)
	if err != nil {
		return nil, err
	}
	var rs []Reason
	err = s.view(ctx, func(t *txn) error {
		b, err := t.actingOrg(org)
		if err != nil {
			return err
		}
		u, err := t.userByEmail(p.addr)
		if err != nil {
			return err
		}
		rs, _, err = t.eligibility(b, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// ClaimUsers claims users of other orgs into org by ID (K2, method 1).
// The rules, in the order they are applied:
//
//  1. Without opts.Acknowledge the call is refused with
//     ErrNotAcknowledged before anything is looked at (K1).
//
//  2. More than Policy.ListLimit IDs: ErrTooMany (K2).
//
//  3. An unknown org: ErrNotFound. An org with directory sync on:
//     ErrDirectorySyncEnabled (E7). A bad name in opts.Licenses: an
//     *InputError. These refuse the whole call; nothing is claimed.
//
//  4. Then each ID on its own, in input order, with one Result each (K5):
//     an ID outside the limits (empty, over MaxIDBytes, control or
//     invisible characters) is an *InputError (ErrInvalidValue); an ID given before
//     in the call ErrDuplicate (the first stands); an unknown one
//     ErrNotFound; a user with any reason of E1–E6 a *RefusalError
//     (ErrNotEligible) listing all of them — but of another org's user on
//     a domain org has not verified only domain_not_verified, without the
//     address (N3: org learns nothing it may not see); an address too long for its
//     original's address ErrInvalidEmail (N4).
//
//  5. An eligible user is claimed (K6) with the mode of M1: Delayed when
//     org allows content migration, opts.ImmediateOnly is not set and
//     the user's org is an Individual org created before
//     Policy.DelayedClaimCutoff (M2); otherwise Immediate.
//
//  6. Meeting sites (S1): a claimed user who holds a license or
//     external-admin rights on a site of org that has moved to Control
//     Hub may lose access to its meetings; the claim happens and its
//     Result carries WarningSiteAccessAtRisk. With opts.Relicense the
//     workaround is applied instead, in the call's transaction: the
//     user's licenses and rights on those sites are removed
//     (site.access_removed), the user claimed, and they are granted again
//     (site.access_granted); the result has no warning. Claiming users
//     before org moves their sites to Control Hub avoids both.
//
// All claims of a call are one transaction; refused users write nothing.
// The error is non-nil only for a call-level refusal or a store failure,
// and then no user is claimed.
//
// With opts.DryRun (L1) the call runs in a read-only transaction: each
// input is judged by the rules above as the real call would judge it at
// that moment, and the results and error are the ones the real call
// would return, but nothing is written and no event is appended. The one
// thing a dry run cannot know is the ID of an original account the call
// itself would create: ClaimEmails given, after a user it would claim,
// the address of that user's original refuses it with pending_claim as
// the real call does, with Result.User empty.
//
// Claiming user u into org B (K6): an original account is created in u's
// old org holding u's content, state, licenses and names, with the
// address <u's address>.convert-user.local, held by B's claim (H1, H2).
// u moves to B with B's AutoLicenses plus opts.Licenses and no content;
// Delayed puts it in Delayed Claim, Immediate keeps its state except Not
// Verified, which becomes Verified (B has verified the domain). The claim
// (ClaimInfo) records B, the old org, the mode, the previous state, now
// and the deadline now + Policy.ClaimWindow. Events: claim.created and
// notify.claim (the claim e-mail, to u's address).
func (s *Service) ClaimUsers(ctx context.Context, org OrgID, ids []UserID, opts ClaimOptions) ([]Result, error) {
	in := make([]string, len(ids))
	for i, id := range ids {
		in[i] = string(id)
	}
	return s.claim(ctx, org, in, s.policy.ListLimit, opts, func(t *txn, i int, input string) (string, UserID, error) {
		if err := checkID(ErrInvalidValue, fmt.Sprintf("ids[%d]", i), input, true); err != nil {
			return "", "", err
		}
		return input, UserID(input), nil
	})
}

// ClaimEmails claims users of other orgs into org by e-mail address (K3,
// method 3). It follows the rules of ClaimUsers, with these differences:
// at most Policy.ManualLimit addresses (ErrTooMany); an address may carry
// a display name ("Ann <ann@example.com>"); a bad address is an
// *InputError (ErrInvalidEmail) in its result; an address given before in
// the call (in any case) is ErrDuplicate in its result, the first
// standing; an address of no account is ErrNotFound. The refusal of a
// user org may not see (see ClaimUsers) names the address given and
// neither the user's ID (Result.User is empty) nor its settings.
func (s *Service) ClaimEmails(ctx context.Context, org OrgID, addresses []string, opts ClaimOptions) ([]Result, error) {
	return s.claim(ctx, org, addresses, s.policy.ManualLimit, opts, func(t *txn, i int, input string) (string, UserID, error) {
		p, err := parseEmailAny(fmt.Sprintf("addresses[%d]", i), input, true)
		if err != nil {
			return "", "", err
		}
		u, err := t.tx.UserByEmail(p.addr)
		if errors.Is(err, ErrNotFound) {
			return p.addr, "", errf(ErrNotFound, "no account has address %s", p.addr)
		}
		if err != nil {
			return "", "", err
		}
		return p.addr, u.ID, nil
	})
}

// claim is the body of ClaimUsers and ClaimEmails. resolve turns an input
// into its duplicate-detection key and a user ID.
func (s *Service) claim(ctx context.Context, org OrgID, inputs []string, limit int, opts ClaimOptions,
	resolve func(t *txn, i int, input string) (string, UserID, error)) ([]Result, error) {
	if !opts.Acknowledge {
		return nil, errf(ErrNotAcknowledged, "claiming users has a long-term impact: set ClaimOptions.Acknowledge")
	}
	if len(inputs) > limit {
		return nil, errf(ErrTooMany, "%d inputs, at most %d per call", len(inputs), limit)
	}
	var results []Result
	run := s.update
	if opts.DryRun {
		run = s.view // L1: judge only, in a read-only transaction
	}
	err := run(ctx, func(t *txn) error {
		b, err := t.actingOrg(org)
		if err != nil {
			return err
		}
		licenses, err := cleanLicenses("ClaimOptions.Licenses", b.Settings.AutoLicenses, opts.Licenses)
		if err != nil {
			return err
		}
		results = make([]Result, len(inputs))
		c := claimCall{t: t, b: b, licenses: licenses, opts: opts, seen: make(map[string]bool, len(inputs))}
		for i, input := range inputs {
			key, id, err := resolve(t, i, input)
			if results[i], err = c.one(input, key, id, err); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// claimCall is the state of one ClaimUsers or ClaimEmails transaction.
type claimCall struct {
	t        *txn
	b        Org
	licenses []string
	opts     ClaimOptions
	seen     map[string]bool // the inputs' keys so far (K3)
	// held: in a dry run, the addresses of the originals the claims so
	// far would have made (ClaimEmails), which a real call would find.
	held map[string]bool
}

// one claims the input whose key and user resolve found (or refused
// with err) and returns its result. It returns an error, which fails the
// whole call, for a store failure or a write that failed.
func (c *claimCall) one(input, key string, id UserID, err error) (Result, error) {
	r := Result{Input: input}
	if key != "" && c.seen[key] { // K3: also an address no account has
		err = errf(ErrDuplicate, "%q is given twice in the call", input)
	} else if c.held[key] {
		err = &RefusalError{Email: key, Reasons: []Reason{ReasonPendingClaim}} // E6
		id = ""
	}
	if key != "" {
		c.seen[key] = true
	}
	if err == nil {
		var failed error
		r.Mode, r.Warnings, err, failed = c.t.claimSites(c.b, id, c.licenses, c.opts)
		if c.opts.DryRun && err == nil && failed == nil && key != string(id) {
			if c.held == nil {
				c.held = make(map[string]bool)
			}
			c.held[key+OriginalSuffix] = true
		}
		if failed != nil {
			return r, failed // after a write: the call fails, nothing is claimed
		}
		if !errors.Is(err, ErrNotFound) {
			r.User = id // Result.User: the user, when found
		}
		if key != string(id) { // by address
			var hid bool
			if err, hid = byAddress(err, key); hid {
				r.User = "" // nor its ID (N3)
			}
		}
	}
	if err != nil && !isRefusal(err) {
		return r, err // a store failure while reading: nothing is claimed
	}
	if err != nil {
		r.Mode = 0
	}
	r.Err = err
	return r, nil
}

// isRefusal reports whether err refuses one input (as opposed to a store
// failure, which fails the call).
func isRefusal(err error) bool {
	for _, e := range []error{ErrNotFound, ErrNotEligible, ErrInvalidEmail, ErrInvalidValue, ErrDuplicate} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// want is the mode a claim asks for: today's (M1), Immediate whatever
// today's is (ClaimOptions.ImmediateOnly, a CSV row's Immediate), or
// Delayed only if today's is Delayed (a CSV row's Delayed, M3).
type want int

const (
	wantToday want = iota
	wantImmediate
	wantDelayed
)

// judge decides, without writing, whether b may claim user id with the
// mode asked for: it returns the claim's mode and the refusal
// (ErrNotFound, a *RefusalError for E1–E6, ErrInvalidEmail for N4,
// ErrStaleMode for a Delayed that no longer applies) or a store failure.
func (t *txn) judge(b Org, id UserID, w want) (m Mode, refused, failed error) {
	_, m, refused, failed = t.judgeUser(b, id, w)
	return m, refused, failed
}

// judgeUser is judge, also returning the user as of t.now (read-only)
// when it is claimable.
func (t *txn) judgeUser(b Org, id UserID, w want) (u User, m Mode, refused, failed error) {
	// Judge on the read-only view, so that a refusal writes nothing, not
	// even an expiry it noticed (X3).
	ro := t.readOnly()
	u, err := ro.user(id)
	if errors.Is(err, ErrNotFound) {
		return User{}, 0, err, nil
	}
	if err != nil {
		return User{}, 0, nil, err
	}
	rs, src, err := ro.eligibility(b, u)
	if err != nil {
		return User{}, 0, nil, err
	}
	if len(rs) > 0 {
		return User{}, 0, refusal(b, u, rs), nil
	}
	if !originalFits(u.Email) {
		return User{}, 0, invalid(ErrInvalidEmail, "email", u.Email, "too long to add "+OriginalSuffix+" for the original account"), nil
	}
	m = t.s.mode(b, src, w == wantImmediate)
	if w == wantDelayed && m != Delayed {
		return User{}, 0, errf(ErrStaleMode, "%s can no longer be claimed with a delayed claim, only immediately", u.Email), nil
	}
	return u, m, nil, nil
}

// originalFits reports whether an original account's address, email with
// OriginalSuffix, fits in MaxEmailBytes, as a claim needs (N4).
func originalFits(email string) bool { return len(email)+len(OriginalSuffix) <= maxEmail }

// refusal is the *RefusalError of b's claim on u. Of a user b may not see
// (see eligibility) it does not carry the address (N3).
func refusal(b Org, u User, rs []Reason) *RefusalError {
	e := &RefusalError{User: u.ID, Email: u.Email, Reasons: rs}
	if u.Org != b.ID && slices.Contains(rs, ReasonDomainNotVerified) {
		e.Email = ""
	}
	return e
}

// byAddress turns the refusal of a user the claiming org may not see,
// asked for by its address (ClaimEmails, a CSV row), into one that names
// the address the org gave and not the user's ID, which the org does not
// know (N3). It returns any other error as it is, and whether it hid.
func byAddress(err error, email string) (error, bool) {
	var re *RefusalError
	if !errors.As(err, &re) || re.Email != "" {
		return err, false
	}
	return &RefusalError{Email: email, Reasons: re.Reasons}, true
}

// claimOne claims user id into b (K6) or says why not (refused). Every
// refusal is decided (judge) before the first write, so a refused user
// writes nothing; an error after that (failed) fails the whole call, so
// that no half-made claim can commit as a refusal.
func (t *txn) claimOne(b Org, id UserID, licenses []string, w want) (m Mode, refused, failed error) {
	m, refused, failed = t.judge(b, id, w)
	if refused != nil || failed != nil {
		return 0, refused, failed
	}
	return m, nil, t.makeClaim(b, id, m, licenses)
}

// makeClaim claims user id, judged claimable with mode m, into b (K6).
func (t *txn) makeClaim(b Org, id UserID, m Mode, licenses []string) error {
	u, err := t.user(id) // now persist an expiry, if any
	if err != nil {
		return err
	}

	orig := u // the original keeps the state, licenses, content and earlier claim record
	orig.ID = UserID(newID("usr_"))
	orig.Email = u.Email + OriginalSuffix
	orig.HeldBy = b.ID

	c, _, evs, err := t.apply(u, step{on: claimTrigger(m), by: b.ID, licenses: licenses, original: orig})
	if err != nil {
		return err
	}
	if err := t.tx.UpdateUser(c); err != nil {
		return err
	}
	if err := t.tx.CreateUser(orig); err != nil {
		return err
	}
	return t.emitAll(evs)
}

// claimTrigger is the trigger of a claim with mode m (K6).
func claimTrigger(m Mode) trigger {
	if m == Delayed {
		return onClaimDelayed
	}
	return onClaimImmediate
}

// Choose records a claimed user's choice about its original account (C1–
// C6). The rules, in order:
//
//  1. A Choice whose Action is not one of the three, or a NewEmail with an
//     Action other than ChangeEmail, is an *InputError (ErrInvalidValue);
//     ChangeEmail needs a valid address not ending in .convert-user.local
//     (*InputError, ErrInvalidEmail).
//  2. An unknown user is ErrNotFound. A user with no pending claim —
//     never claimed, retracted, already chosen, a delayed claim past its
//     deadline (X1) — is ErrNoPendingClaim.
//  3. A user that has not signed in since the claim may not choose yet:
//     ErrChoiceNotAllowed. MigrateContent after an immediate claim:
//     ErrChoiceNotAllowed.
//  4. ChangeEmail: the address must be free (ErrEmailTaken) and not on a
//     domain an org other than the original's has claimed
//     (ErrDomainClaimedByOther). The original keeps its content and state
//     under the new address and is an ordinary account of its org again
//     (C2): user.email_changed.
//  5. DeleteOriginal: the original and its content are deleted (C3):
//     user.deleted, content.deleted.
//  6. MigrateContent: the original's content moves to the user and the
//     original is removed (C4): content.migrated carries the claiming
//     org's retention.
//  7. The claim ends (claim.resolved); the user is Active, or stays
//     Inactive (C6).
func (s *Service) Choose(ctx context.Context, id UserID, ch Choice) (User, error) {
	switch ch.Action {
	case ChangeEmail, MigrateContent, DeleteOriginal:
	default:
		return User{}, invalid(ErrInvalidValue, "Choice.Action", ch.Action, "must be ChangeEmail, MigrateContent or DeleteOriginal")
	}
	var newEmail string
	if ch.Action == ChangeEmail {
		p, err := parseEmail("Choice.NewEmail", ch.NewEmail, false)
		if err != nil {
			return User{}, err
		}
		newEmail = p.addr
	} else if ch.NewEmail != "" {
		return User{}, invalid(ErrInvalidValue, "Choice.NewEmail", ch.NewEmail, "only with ChangeEmail")
	}
	var out User
	err := s.update(ctx, func(t *txn) error {
		u, err := t.user(id)
		if err != nil {
			return err
		}
		// The claim table's refusals come first (rules 2 and 3).
		switch err := claimRefusal(u.Claim, onChoose); {
		case errors.Is(err, ErrChoiceNotAllowed):
			return errf(err, "user %q has not signed in since the claim", id)
		case err != nil:
			return errf(err, "user %q", id)
		}
		c := *u.Claim
		if ch.Action == MigrateContent && c.Mode != Delayed {
			return errf(ErrChoiceNotAllowed, "user %q: MigrateContent is for delayed claims only", id)
		}
		orig, err := t.tx.User(c.Original)
		if err != nil {
			return err
		}
		switch ch.Action {
		case ChangeEmail:
			if err := t.joinable(orig.Org, newEmail); err != nil {
				return err
			}
			old := orig.Email
			if err := t.tx.UpdateUser(renamedOriginal(orig, newEmail)); err != nil {
				return err
			}
			if err := t.emit(Event{Type: EventUserEmailChanged, Org: orig.Org, From: u.Org, User: orig.ID, Recipient: newEmail, Detail: old}); err != nil {
				return err
			}
		case DeleteOriginal:
			if err := t.deleteUser(orig, EventUserDeleted); err != nil {
				return err
			}
		case MigrateContent:
			if err := t.migrate(u, orig); err != nil {
				return err
			}
		}
		u, _, evs, err := t.apply(u, step{on: onChoose, action: ch.Action, original: orig})
		if err != nil {
			return err
		}
		out = u
		return t.save(u, evs)
	})
	return public(out), err
}

// migrate removes orig, whose content has moved to u, with its
// content.migrated event carrying u's org's retention (C4, X1).
func (t *txn) migrate(u User, orig User) error {
	b, err := t.org(u.Org)
	if err != nil {
		return err
	}
	if err := t.tx.DeleteUser(orig.ID); err != nil {
		return err
	}
	return t.emit(Event{Type: EventContentMigrated, Org: u.Org, From: orig.Org, User: u.ID, Content: orig.Content, Retention: b.Settings.Retention})
}

// DaysLeft returns the whole days, rounded up, until the deadline of the
// user's pending claim (X4): 14 right after a claim, 1 in its last day.
// It is 0 once the claim has ended (chosen, expired) or its window has
// passed (an immediate claim waiting for the user's choice). It returns
// ErrNotFound for an unknown user and ErrNoPendingClaim for a user with no
// claim record (never claimed, retracted, or an original account).
//
// It is a global read, for the host's trusted code: it answers about the
// users of every org and checks no acting org, so it is not an org
// admin's view and its answers must not be shown to one as they are. An
// admin's views take the acting org (Users, Claimable, Retractable,
// Eligibility) and show it only what it may see (N3).
func (s *Service) DaysLeft(ctx context.Context, id UserID) (int, error) {
	var days int
	err := s.view(ctx, func(t *txn) error {
		u, err := t.user(id)
		if err != nil {
			return err
		}
		if u.Claim == nil || u.HeldBy != "" { // an original's Claim is its user's earlier record, not its own (X4)
			return errf(ErrNoPendingClaim, "user %q", id)
		}
		if !u.Claim.pending() {
			return nil
		}
		days = daysUntil(t.now, u.Claim.Deadline)
		return nil
	})
	return days, err
}

const day = 24 * time.Hour

// daysUntil is the whole days from now to deadline, rounded up; 0 once
// deadline is not after now.
func daysUntil(now, deadline time.Time) int {
	d := deadline.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + day - 1) / day)
}

// RemindDelayed sends a reminder (X5): one notify.reminder event, with
// the days left in its Detail, to every user of org whose delayed claim
// is pending and who has not signed in. It returns how many were sent,
// and ErrNotFound for an unknown org.
func (s *Service) RemindDelayed(ctx context.Context, org OrgID) (int, error) {
	var n int
	err := s.update(ctx, func(t *txn) error {
		n = 0
		if _, err := t.wholeOrg(org); err != nil {
			return err
		}
		list := func(after string, limit int) ([]User, error) { return t.tx.PendingClaimsBy(org, after, limit) }
		return t.each(list, func(u User) error {
			if !u.Claim.pending() || u.Claim.Mode != Delayed || u.Claim.SignedIn {
				return nil
			}
			days := daysUntil(t.now, u.Claim.Deadline)
			n++
			return t.emit(Event{Type: EventNotifyReminder, Org: org, From: u.Claim.From, User: u.ID,
				Recipient: u.Email, Mode: Delayed, Detail: strconv.Itoa(days)})
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Sweep persists what time has decided (P1), in this order:
//
//  1. Every delayed claim past its deadline is resolved as MigrateContent
//     (X1, X3): claim.expired and content.migrated.
//  2. Every user Inactive for Policy.InactivePurge or longer (now >=
//     InactiveSince + InactivePurge) is deleted with its content (Y4):
//     user.purged and content.deleted. Original accounts held by a claim
//     are never purged (H2); purging a claimed user whose claim is pending
//     releases its original to its org (P2): original.released.
//
// Each step works in transactions of at most Policy.SweepBatch users,
// taken from an index in time order, so its cost is in proportion to the
// due work, not to the number of users. It is idempotent, and sweepers
// running at once never resolve or purge a user twice (each is a write
// transaction that re-reads its users). A cancelled context stops it
// between batches with the context's error and the report so far. Reads
// need no sweep to show expired claims resolved; until it runs, a purged
// user's address stays taken. RunSweeper runs it every interval on one
// process of many (P3).
//
// It logs through the Service's logger (WithLogger) its start at Debug,
// each batch's count at Debug, and its end with the counts and the time
// it took ("took"): at Info when it resolved or purged anyone, at Debug
// when it found nothing due (so that a sweeper running every minute logs
// only the sweeps that did something), at Info when its context ended it
// and at Error when it failed, with the error. It logs no address.
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	return s.sweep(ctx, s.log)
}

// sweep is Sweep, logging to log.
func (s *Service) sweep(ctx context.Context, log *slog.Logger) (rep SweepReport, err error) {
	start := time.Now()
	log.LogAttrs(ctx, slog.LevelDebug, "claim: sweep started")
	defer func() { logSweep(ctx, log, rep, err, time.Since(start)) }()
	rep.Expired, err = s.batches(ctx, log, func(t *txn) ([]User, error) {
		return t.tx.DueClaims(t.now, s.policy.SweepBatch)
	}, func(t *txn, u User) (bool, error) {
		if !t.expired(u.Claim) {
			return false, nil
		}
		_, err := t.expire(u)
		return err == nil, err
	})
	if err != nil {
		return rep, err
	}
	rep.Purged, err = s.batches(ctx, log, func(t *txn) ([]User, error) {
		return t.tx.InactiveUsers(t.now.Add(-s.policy.InactivePurge), s.policy.SweepBatch)
	}, func(t *txn, stored User) (bool, error) {
		u, err := t.current(stored)
		if err != nil {
			return false, err
		}
		if u.State != Inactive || u.HeldBy != "" || t.now.Before(u.InactiveSince.Add(s.policy.InactivePurge)) {
			return false, nil
		}
		return true, t.deleteUser(u, EventUserPurged)
	})
	return rep, err
}

// logSweep logs the end of a sweep (see Sweep).
func logSweep(ctx context.Context, log *slog.Logger, rep SweepReport, err error, took time.Duration) {
	level, msg := slog.LevelDebug, "claim: sweep done"
	switch {
	case err != nil && ctx.Err() != nil:
		level, msg = slog.LevelInfo, "claim: sweep stopped"
	case err != nil:
		level, msg = slog.LevelError, "claim: sweep failed"
	case rep.Expired > 0 || rep.Purged > 0:
		level = slog.LevelInfo
	}
	attrs := []slog.Attr{slog.Int("expired", rep.Expired), slog.Int("purged", rep.Purged), slog.Duration("took", took)}
	if err != nil {
		attrs = append(attrs, slog.Any("error", err))
	}
	log.LogAttrs(ctx, level, msg, attrs...)
}

// batches runs do on the users list returns, one write transaction per
// batch, until a batch is not full or do declined one of its users (so a
// user that stays listed cannot loop it). It returns how many users do
// handled.
func (s *Service) batches(ctx context.Context, log *slog.Logger, list func(t *txn) ([]User, error), do func(t *txn, u User) (bool, error)) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int
		var full bool
		err := s.update(ctx, func(t *txn) error {
			n = 0
			users, err := list(t)
			if err != nil {
				return err
			}
			full = len(users) == s.policy.SweepBatch
			for _, u := range users {
				ok, err := do(t, u)
				if err != nil {
					return err
				}
				if ok {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n > 0 {
			log.LogAttrs(ctx, slog.LevelDebug, "claim: sweep batch", slog.Int("count", n))
		}
		if !full || n < s.policy.SweepBatch {
			return total, nil
		}
	}
}

// Events iterates over the event log in order, starting after sequence
// number after (0: from the start), a page per read transaction (O2).
//
// It is a global read, for the host's trusted code: the log holds every
// org's events (addresses, names of orgs and users, settings changes), so
// it is not for an org's admin; a host that shows events to an admin
// filters them to the admin's org first.
func (s *Service) Events(ctx context.Context, after uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for {
			var evs []Event
			err := s.view(ctx, func(t *txn) error {
				var err error
				evs, err = t.tx.Events(after, pageSize)
				return err
			})
			if err != nil {
				yield(Event{}, err)
				return
			}
			for _, e := range evs {
				after = e.Seq
				if !yield(e, nil) {
					return
				}
			}
			if len(evs) < pageSize {
				return
			}
		}
	}
}
