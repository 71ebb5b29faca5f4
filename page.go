package claim

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"
)

// Page limits of ListOptions.Limit.
const (
	DefaultPageLimit = 100  // the page size when ListOptions.Limit is 0
	MaxPageLimit     = 1000 // the largest ListOptions.Limit
)

// ListOptions selects one page of a listing (UsersPage, ClaimablePage,
// RetractablePage).
type ListOptions struct {
	// After is the cursor: the page starts after this address, in e-mail
	// order. Empty starts at the beginning. Pass the previous page's Next
	// to continue; any address works, so a console can also start at a
	// letter ("m" lists from the first address after "m").
	After string `json:"after,omitempty"`
	// Limit is the most items the page holds, 1 to MaxPageLimit; 0 means
	// DefaultPageLimit.
	Limit int `json:"limit,omitempty"`
	// States keeps only users in one of these states (UsersPage only;
	// empty keeps every user).
	States []State `json:"states,omitempty"`
}

// Page is one page of a listing, in e-mail order.
type Page[T any] struct {
	Items []T `json:"items"`
	// Next is the cursor of the following page, to pass as
	// ListOptions.After; empty when the listing has ended. A page may hold
	// fewer than Limit items while Next is set (when a filter refused many
	// of the users it read), and a full page may be followed by an empty
	// one.
	Next string `json:"next,omitempty"`
}

// scanFactor bounds the users one page may read to scanFactor × its
// limit, so that a page of a filtered listing (claimable users among
// thousands of ineligible ones, say) costs in proportion to its limit; a
// page that stops there is short and has Next set.
const scanFactor = 8

// limit returns the page size o asks for, or an *InputError.
func (o ListOptions) limit() (int, error) {
	switch {
	case len(o.After) > MaxInputBytes || !utf8.ValidString(o.After) || strings.ContainsRune(o.After, 0):
		return 0, invalid(ErrInvalidValue, "ListOptions.After", o.After, "not a cursor: at most 1024 bytes of UTF-8 without NUL")
	case o.Limit < 0 || o.Limit > MaxPageLimit:
		return 0, invalid(ErrInvalidValue, "ListOptions.Limit", o.Limit, "must be between 1 and 1000 (0: 100)")
	case o.Limit == 0:
		return DefaultPageLimit, nil
	}
	return o.Limit, nil
}

// UsersPage returns a page of org's users in e-mail order (as Users
// lists them, original accounts held by other orgs' claims included, H1),
// starting after opts.After, with at most opts.Limit users in one of
// opts.States (any state when empty). It reads one transaction, and each
// user at most once across the pages of a listing: its cost is in
// proportion to the page, not to the users before it. ErrNotFound for an
// unknown org; an *InputError (ErrInvalidValue) for a bad limit, cursor or
// state.
func (s *Service) UsersPage(ctx context.Context, org OrgID, opts ListOptions) (Page[User], error) {
	for _, st := range opts.States {
		if !st.valid() {
			return Page[User]{}, invalid(ErrInvalidValue, "ListOptions.States", st, "not a user state")
		}
	}
	return s.userPage(ctx, org, opts, func(t *txn) (func(string, int) ([]User, error), func(User) (bool, error)) {
		return func(after string, n int) ([]User, error) { return t.tx.UsersByOrg(org, after, n) },
			func(u User) (bool, error) { return len(opts.States) == 0 || slices.Contains(opts.States, u.State), nil }
	})
}

// RetractablePage returns a page of the users whose claim org may retract
// now (R8), as Retractable lists them, starting after opts.After, with at
// most opts.Limit users. Its cost is in proportion to the page.
// ErrNotFound for an unknown org; an *InputError for a bad limit or
// cursor. opts.States must be empty.
func (s *Service) RetractablePage(ctx context.Context, org OrgID, opts ListOptions) (Page[User], error) {
	if len(opts.States) > 0 {
		return Page[User]{}, invalid(ErrInvalidValue, "ListOptions.States", opts.States, "retractable users are pending claims; no state filter applies")
	}
	return s.userPage(ctx, org, opts, func(t *txn) (func(string, int) ([]User, error), func(User) (bool, error)) {
		return func(after string, n int) ([]User, error) { return t.tx.PendingClaimsBy(org, after, n) },
			func(u User) (bool, error) { return t.retractable(org, u) }
	})
}

// userPage reads one page of a listing of org's users in a read
// transaction: the list and the filter that of gives (see scanPage).
func (s *Service) userPage(ctx context.Context, org OrgID, opts ListOptions,
	of func(t *txn) (list func(after string, n int) ([]User, error), keep func(User) (bool, error))) (Page[User], error) {
	limit, err := opts.limit()
	if err != nil {
		return Page[User]{}, err
	}
	var p Page[User]
	err = s.view(ctx, func(t *txn) error {
		if _, err := t.org(org); err != nil {
			return err
		}
		list, keep := of(t)
		var err error
		p, err = scanPage(t, func(after string, n int) ([]User, bool, error) {
			raw, err := list(after, n)
			return raw, len(raw) < n, err
		}, opts.After, limit, func(u User) (User, bool, error) {
			ok, err := keep(u)
			return public(u), ok, err
		})
		return err
	})
	return p, err
}

// retractable reports whether org may retract u's claim now (R8).
func (t *txn) retractable(org OrgID, u User) (bool, error) {
	if !u.Claim.pending() {
		return false, nil
	}
	rs, err := t.retractRefusals(org, u)
	return len(rs) == 0, err
}

// scanPage reads users after the cursor with list, which returns at most
// n users in e-mail order and whether the list ends with them, in reads
// that never ask for more than the page still lacks; it brings each user
// up to date, keeps the items keep makes of those it accepts, and stops
// when the page is full, the list ends, or it has read scanFactor × limit
// users. Next is the last user read, so the next page reads none of them
// again.
func scanPage[T any](t *txn, list func(after string, n int) ([]User, bool, error), after string, limit int, keep func(User) (T, bool, error)) (Page[T], error) {
	p := Page[T]{Items: []T{}}
	for read := 0; len(p.Items) < limit && read < scanFactor*limit; {
		need := limit - len(p.Items)
		raw, ended, err := list(after, need)
		if err != nil {
			return Page[T]{}, err
		}
		read += len(raw)
		err = t.visit(raw, func(u User) error {
			item, ok, err := keep(u)
			if ok {
				p.Items = append(p.Items, item)
			}
			return err
		})
		if err != nil {
			return Page[T]{}, err
		}
		if ended {
			return p, nil
		}
		after = raw[len(raw)-1].Email
	}
	p.Next = after
	return p, nil
}

// ClaimablePage returns a page of the users org may claim now, as
// Claimable lists them (with mode and ContentLoss), starting after
// opts.After, with at most opts.Limit users. Its cost is in proportion to
// the page times the number of domains org has verified: each read asks
// every verified domain for the users the page still lacks, and those
// past the page's end are read again by the next page. Errors as
// Claimable's, and an *InputError for a bad limit or cursor. opts.States
// must be empty.
func (s *Service) ClaimablePage(ctx context.Context, org OrgID, opts ListOptions) (Page[Candidate], error) {
	limit, err := opts.limit()
	if err != nil {
		return Page[Candidate]{}, err
	}
	if len(opts.States) > 0 {
		return Page[Candidate]{}, invalid(ErrInvalidValue, "ListOptions.States", opts.States, "claimable users are listed whatever their state; no state filter applies")
	}
	var p Page[Candidate]
	err = s.view(ctx, func(t *txn) error {
		b, err := t.actingOrg(org)
		if err != nil {
			return err
		}
		ds, err := t.domains(org)
		if err != nil {
			return err
		}
		var doms []string
		for _, d := range ds {
			if d.Verified {
				doms = append(doms, d.Name)
			}
		}
		// The next n users in e-mail order over every verified domain:
		// n from each, merged, cut at n.
		merged := func(after string, n int) ([]User, bool, error) {
			var us []User
			ended := true
			for _, d := range doms {
				raw, err := t.tx.UsersByDomain(d, after, n)
				if err != nil {
					return nil, false, err
				}
				ended = ended && len(raw) < n
				us = append(us, raw...)
			}
			slices.SortFunc(us, func(a, b User) int { return strings.Compare(a.Email, b.Email) })
			if len(us) > n {
				us, ended = us[:n], false
			}
			return us, ended, nil
		}
		p, err = scanPage(t, merged, opts.After, limit, func(u User) (Candidate, bool, error) {
			return s.candidate(t, b, u)
		})
		return err
	})
	return p, err
}
