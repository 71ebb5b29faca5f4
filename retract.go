package claim

import (
	"context"
	"errors"
	"iter"
)

// Retract takes back org's claim on a user (R1–R9): the user returns to
// the org it was claimed from with its previous state, address, licenses
// and content, the original account is gone, and org keeps nothing of it
// (R6): Retract after a claim is the identity on everything but the event
// log. One user per call (R5). The rules, in order (R7):
//
//  1. An unknown org or user is ErrNotFound.
//  2. A user with no claim record — never claimed, or retracted — is
//     ErrNoPendingClaim (R9). A claim that has ended (a choice, expiry)
//     stays on record and is judged by the rules below like a pending
//     one, so it never succeeds and reports every reason that applies.
//  3. A claim made by another org is ErrNotClaimant and nothing more:
//     that org learns no other reason (R1).
//  4. Then every reason that applies, together, in a *RetractError
//     (errors.Is finds each): the user signed in since the claim
//     (ErrSignedIn, R2); now is at or after claim time + ClaimWindow
//     (ErrRetractWindowClosed, R3); org has claimed the user's domain
//     (ErrDomainClaimed, R4: release it, retract, claim it again).
//
// Events: claim.retracted and original.released.
func (s *Service) Retract(ctx context.Context, org OrgID, id UserID) error {
	return s.update(ctx, func(t *txn) error {
		if _, err := t.org(org); err != nil {
			return err
		}
		u, err := t.user(id)
		if err != nil {
			return err
		}
		if u.Claim == nil || u.HeldBy != "" { // an original's Claim is its user's earlier record, not its own (R9)
			return errf(ErrNoPendingClaim, "user %q", id)
		}
		reasons, err := t.retractRefusals(org, u)
		if err != nil {
			return err
		}
		if len(reasons) > 0 {
			return &RetractError{User: id, Reasons: reasons}
		}
		orig, err := t.tx.User(u.Claim.Original)
		if err != nil {
			return err
		}
		r, _, evs, err := t.apply(u, step{on: onRetract, original: orig})
		if err != nil {
			return err
		}
		if err := t.tx.DeleteUser(orig.ID); err != nil {
			return err
		}
		return t.save(r, evs)
	})
}

// retractRefusals returns the reasons org may not retract u's claim
// record, in the order of R7.
func (t *txn) retractRefusals(org OrgID, u User) ([]error, error) {
	c := u.Claim
	if c.By != org {
		return []error{ErrNotClaimant}, nil
	}
	var rs []error
	if c.SignedIn {
		rs = append(rs, ErrSignedIn)
	}
	if !t.now.Before(c.Deadline) {
		rs = append(rs, ErrRetractWindowClosed)
	}
	claimant, err := t.tx.DomainClaimant(domainOf(u.Email))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err == nil && claimant == org {
		rs = append(rs, ErrDomainClaimed)
	}
	return rs, nil
}

// Retractable iterates over the users whose claim org may retract now
// (R8): exactly those for which Retract would succeed, in e-mail order.
// ErrNotFound for an unknown org. Its cost is in proportion to org's
// pending claims.
func (s *Service) Retractable(ctx context.Context, org OrgID) iter.Seq2[User, error] {
	return everyPage(func(after string) (Page[User], error) {
		return s.RetractablePage(ctx, org, ListOptions{After: after, Limit: pageSize})
	})
}
