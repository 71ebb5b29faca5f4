package claim

import (
	"context"
	"errors"
	"iter"
)

// AddUser adds a user to org (U1, U2). The user starts Verified if the
// org has verified the address's domain or the user was site-linked,
// else Not Verified, with the org's AutoLicenses.
//
// Errors, in order: an *InputError for a bad address (ErrInvalidEmail,
// N1, N4), a name outside the limits (ErrInvalidValue: over
// MaxNameChars characters or MaxNameBytes bytes, not UTF-8, a control
// character other than the tab) or a negative Content (ErrInvalidValue);
// ErrNotFound for an
// unknown org; ErrDomainClaimedByOther if another org has claimed the
// domain (D6, without naming that org); ErrEmailTaken if any account has
// the address. Event: user.added. Directory sync and BroadWorks
// provisioning create users through the same constructor (newUser), with
// the same D6 and U1.
func (s *Service) AddUser(ctx context.Context, org OrgID, nu NewUser) (User, error) {
	p, err := parseEmail("NewUser.Email", nu.Email, true)
	if err != nil {
		return User{}, err
	}
	n, err := cleanNames("NewUser", nu.FirstName, nu.LastName, nu.DisplayName, p.name)
	if err != nil {
		return User{}, err
	}
	if nu.Content < 0 {
		return User{}, invalid(ErrInvalidValue, "NewUser.Content", nu.Content, "must not be negative")
	}
	var u User
	err = s.update(ctx, func(t *txn) error {
		o, err := t.org(org)
		if err != nil {
			return err
		}
		f, err := t.joinFacts(org, p.addr)
		if err != nil {
			return err
		}
		f.verified = f.verified || nu.SiteLinked
		var evs []Event
		if u, evs, err = newUser(t, o, p.addr, n, onAdd, f); err != nil {
			return err
		}
		u.Content = nu.Content
		return t.addUser(u, evs)
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// userNames are a new user's names, checked by cleanNames.
type userNames struct{ first, last, display string }

// cleanNames checks and trims a new user's names (see the limits in
// limits.go); the display name defaults to fallback (the display-name
// part of an address, itself checked).
func cleanNames(prefix, first, last, display, fallback string) (userNames, error) {
	var n userNames
	var err error
	if n.first, err = cleanName(prefix+".FirstName", first); err != nil {
		return n, err
	}
	if n.last, err = cleanName(prefix+".LastName", last); err != nil {
		return n, err
	}
	if n.display, err = cleanName(prefix+".DisplayName", display); err != nil {
		return n, err
	}
	if n.display == "" {
		n.display, err = cleanName(prefix+".Email", fallback)
	}
	return n, err
}

// joinFacts are what the store says about an address joining an org.
type joinFacts struct {
	claimant OrgID // the org that claimed the address's domain; "" if none
	taken    bool  // an account has the address
	verified bool  // the joining org has verified the domain (or the address is proven another way)
}

// joinFacts reads the facts about email joining org.
func (t *txn) joinFacts(org OrgID, email string) (joinFacts, error) {
	var f joinFacts
	dom := domainOf(email)
	c, err := t.tx.DomainClaimant(dom)
	if err == nil {
		f.claimant = c
	} else if !errors.Is(err, ErrNotFound) {
		return f, err
	}
	if _, err := t.tx.UserByEmail(email); err == nil {
		f.taken = true
	} else if !errors.Is(err, ErrNotFound) {
		return f, err
	}
	f.verified, err = t.domainVerified(org, dom)
	return f, err
}

// refusal returns why an account with email may not exist in org: another
// org has claimed its domain (D6: ErrDomainClaimedByOther, without naming
// that org, N3) or an account has it (U1: ErrEmailTaken); nil if it may.
func (f joinFacts) refusal(org OrgID, email string) error {
	switch {
	case f.claimant != "" && f.claimant != org:
		return errf(ErrDomainClaimedByOther, "%s: domain %s is claimed by another organization", email, domainOf(email))
	case f.taken:
		return errf(ErrEmailTaken, "%s belongs to another account", email)
	}
	return nil
}

// newUser is the one constructor of a new account, for AddUser, directory
// sync (on onSync) and BroadWorks provisioning: it refuses an address
// that may not join o (D6, then U1; see joinFacts.refusal) and otherwise
// returns the user, not yet stored, and the events of its step
// (txn.addUser stores both): a new ID, the names, o's AutoLicenses,
// created now, in the state the table gives for on with the domain
// verified or not (U1, Y3). t is read for its clock only.
func newUser(t *txn, o Org, email string, n userNames, on trigger, f joinFacts) (User, []Event, error) {
	if err := f.refusal(o.ID, email); err != nil {
		return User{}, nil, err
	}
	u, _, evs, err := t.apply(User{
		ID:          UserID(newID("usr_")),
		Email:       email,
		FirstName:   n.first,
		LastName:    n.last,
		DisplayName: n.display,
		Org:         o.ID,
		Licenses:    append([]string(nil), o.Settings.AutoLicenses...),
		CreatedAt:   t.now,
	}, step{on: on, verified: f.verified})
	return u, evs, err
}

// addUser stores u, a new user, with the events of the step that made it
// (user.added).
func (t *txn) addUser(u User, evs []Event) error {
	if err := t.tx.CreateUser(u); err != nil {
		return err
	}
	return t.emitAll(evs)
}

// joinable checks that an account with the address may exist in org:
// no other org has claimed its domain (D6) and no account has it (U1).
func (t *txn) joinable(org OrgID, email string) error {
	f, err := t.joinFacts(org, email)
	if err != nil {
		return err
	}
	return f.refusal(org, email)
}

// domainVerified reports whether org has verified the domain.
func (t *txn) domainVerified(org OrgID, domain string) (bool, error) {
	d, err := t.tx.Domain(org, domain)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && d.Verified, err
}

// User returns the user as of now (a delayed claim past its deadline
// shows resolved, X3); ErrNotFound if there is none, an *InputError
// (ErrNotFound) for an ID outside the limits (MaxIDBytes).
//
// It is a global read, for the host's trusted code: it answers about the
// users of every org and checks no acting org, so it is not an org
// admin's view and its answers must not be shown to one as they are. An
// admin's views take the acting org (Users, Claimable, Retractable,
// Eligibility) and show it only what it may see (N3).
func (s *Service) User(ctx context.Context, id UserID) (User, error) {
	var u User
	err := s.view(ctx, func(t *txn) error {
		var err error
		u, err = t.user(id)
		return err
	})
	return public(u), err
}

// UserByEmail returns the user with the address (any case, N1), original
// accounts included; an *InputError for a bad address, ErrNotFound if
// there is none.
//
// It is a global read, for the host's trusted code: it answers about the
// users of every org and checks no acting org, so it is not an org
// admin's view and its answers must not be shown to one as they are. An
// admin's views take the acting org (Users, Claimable, Retractable,
// Eligibility) and show it only what it may see (N3).
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	p, err := parseEmailAny("email", email, false)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.view(ctx, func(t *txn) error {
		var err error
		u, err = t.userByEmail(p.addr)
		return err
	})
	return public(u), err
}

// Users iterates over the users of org in e-mail order, as of now,
// original accounts held by other orgs' claims included (H1). With
// states, only users in one of them. The iteration reads the store a page
// at a time, so it holds no lock while the loop body runs; a user changed
// meanwhile shows as of the read of its page. The first error (an unknown
// org is ErrNotFound, an invalid state ErrInvalidValue) ends it.
func (s *Service) Users(ctx context.Context, org OrgID, states ...State) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		for _, st := range states {
			if !st.valid() {
				yield(User{}, invalid(ErrInvalidValue, "states", st, "not a user state"))
				return
			}
		}
		everyPage(func(after string) (Page[User], error) {
			return s.UsersPage(ctx, org, ListOptions{After: after, Limit: pageSize, States: states})
		})(yield)
	}
}

// everyPage turns a listing's pages into an iterator over all of them:
// each page is one read transaction; no transaction is open while the
// caller's loop runs.
func everyPage[T any](page func(after string) (Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for after := ""; ; {
			p, err := page(after)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			if p.Next == "" {
				return
			}
			after = p.Next
		}
	}
}

// VerifyEmail marks a Not Verified user Verified (U3); a user in any
// other state is returned unchanged. Returns ErrNotFound for an unknown
// user and ErrHeldByClaim for an original account (H2). Event:
// user.verified.
func (s *Service) VerifyEmail(ctx context.Context, id UserID) (User, error) {
	return s.transition(ctx, nil, id, onVerifyEmail)
}

// SignIn records a sign-in (U4, I1), in this order:
//
//  1. An unknown user is ErrNotFound; an original account is
//     ErrHeldByClaim (H2).
//  2. A Not Verified user is refused with ErrNotVerified, an Inactive one
//     (also a claimed user deactivated by its new org) with ErrInactive.
//  3. Verified becomes Active; Active and Delayed Claim stay (a user
//     delayed-claimed while Inactive is in Delayed Claim and may sign in).
//  4. During a pending claim the claim is marked signed in: it can no
//     longer be retracted (R2) and the user may choose (C1).
//
// LastSignIn is set. Event: user.signed_in.
func (s *Service) SignIn(ctx context.Context, id UserID) (User, error) {
	return s.transition(ctx, nil, id, onSignIn)
}

// Deactivate makes a user of org Inactive, InactiveSince now (U5); an
// Inactive user is returned unchanged (its purge clock is not restarted).
// A Delayed Claim user may be deactivated: its claim goes on, and its
// resolution leaves it Inactive. Returns ErrNotFound for an unknown org
// or a user not in org (N3) and ErrHeldByClaim for an original account
// (H2). A user of another org gets exactly the error of an unknown user,
// naming neither org (N3). Event: user.deactivated.
func (s *Service) Deactivate(ctx context.Context, org OrgID, id UserID) (User, error) {
	return s.transition(ctx, &org, id, onDeactivate)
}

// Reactivate makes an Inactive user of org usable again (U5): Delayed
// Claim if its delayed claim is still pending (the state belongs to the
// claim), else Active if it has signed in before, else Verified or Not
// Verified by U1's domain rule (whether the user was once site-linked is
// not kept). A user in any other state is returned unchanged. Errors as
// Deactivate. Event: user.reactivated.
//
// An Inactive user claimed immediately stays Inactive (K6) and cannot
// sign in (U4) until the claiming org reactivates it; until it signs in
// and chooses, its original account stays held (X2).
func (s *Service) Reactivate(ctx context.Context, org OrgID, id UserID) (User, error) {
	return s.transition(ctx, &org, id, onReactivate)
}

// transition runs one single-user step (apply) and writes its outcome. An
// admin's operation names its org, and the user must belong to it (N3);
// the user's own (nil org) does not.
func (s *Service) transition(ctx context.Context, org *OrgID, id UserID, on trigger) (User, error) {
	var out User
	err := s.update(ctx, func(t *txn) error {
		var u User
		var err error
		if org != nil {
			u, err = t.member(*org, id)
		} else {
			u, err = t.user(id)
		}
		if err != nil {
			return err
		}
		if u.HeldBy != "" {
			return errf(ErrHeldByClaim, "user %q is an original account held by org %q", id, u.HeldBy)
		}
		s := step{on: on}
		if on == onReactivate {
			if s.verified, err = t.domainVerified(u.Org, domainOf(u.Email)); err != nil {
				return err
			}
		}
		u, changed, evs, err := t.apply(u, s)
		if err != nil {
			return errf(err, "user %q", id)
		}
		out = u
		if !changed {
			return nil
		}
		return t.save(u, evs)
	})
	return public(out), err
}

// DeleteUser deletes a user of org and its content (U6). A claimed user
// whose claim is pending releases its original account back to its org
// with its address and content (P2). Returns ErrNotFound for an unknown
// org or a user not in org, and ErrHeldByClaim for an original account
// held by another org's pending claim (H2). Events: user.deleted,
// content.deleted (when it had content), original.released (P2).
func (s *Service) DeleteUser(ctx context.Context, org OrgID, id UserID) error {
	return s.update(ctx, func(t *txn) error {
		u, err := t.member(org, id)
		if err != nil {
			return err
		}
		if u.HeldBy != "" {
			return errf(ErrHeldByClaim, "user %q is an original account held by org %q", id, u.HeldBy)
		}
		return t.deleteUser(u, EventUserDeleted)
	})
}

// deleteUser deletes the account u and records its lost content (C5);
// if u's claim is pending, its original is released (P2). typ is
// user.deleted or user.purged. It is the one way the engine deletes a
// user: an original account (whose Claim is its user's earlier record,
// never pending) and a BroadWorks subscriber's old account go the same
// way.
func (t *txn) deleteUser(u User, typ string) error {
	if err := t.tx.DeleteUser(u.ID); err != nil {
		return err
	}
	if err := t.emit(Event{Type: typ, Org: u.Org, User: u.ID, Detail: u.Email}); err != nil {
		return err
	}
	if u.Content > 0 {
		if err := t.emit(Event{Type: EventContentDeleted, Org: u.Org, User: u.ID, Content: u.Content}); err != nil {
			return err
		}
	}
	if !u.Claim.pending() {
		return nil
	}
	orig, err := t.tx.User(u.Claim.Original)
	if err != nil {
		return err
	}
	orig = releasedOriginal(orig, u.Email)
	if err := t.tx.UpdateUser(orig); err != nil {
		return err
	}
	return t.emit(Event{Type: EventOriginalReleased, Org: orig.Org, From: u.Org, User: orig.ID, Recipient: orig.Email})
}

// NudgeUnverified sends the "bulk activation email" (U7): one
// notify.activation event per Not Verified user of org, skipping original
// accounts (H2) and users who got one less than
// Policy.ActivationResendGap ago. It returns how many were sent, and
// ErrNotFound for an unknown org.
func (s *Service) NudgeUnverified(ctx context.Context, org OrgID) (int, error) {
	var n int
	err := s.update(ctx, func(t *txn) error {
		n = 0
		if _, err := t.wholeOrg(org); err != nil {
			return err
		}
		list := func(after string, limit int) ([]User, error) { return t.tx.UsersByOrg(org, after, limit) }
		return t.each(list, func(u User) error {
			if u.State != NotVerified || u.HeldBy != "" {
				return nil
			}
			if !u.ActivationSent.IsZero() && t.now.Sub(u.ActivationSent) < t.s.policy.ActivationResendGap {
				return nil
			}
			u.ActivationSent = t.now
			if err := t.tx.UpdateUser(u); err != nil {
				return err
			}
			n++
			return t.emit(Event{Type: EventNotifyActivation, Org: org, User: u.ID, Recipient: u.Email})
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
