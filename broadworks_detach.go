package claim

// Webex for BroadWorks: removing subscribers, detaching an enterprise
// (B6) and what DeleteOrg does about enterprises (B5, B6).

import (
	"context"
	"errors"
	"slices"
)

// RemoveSubscriber removes a subscriber of the partner's enterprise (the
// "Remove a BroadWorks Subscriber API", B6). A provisioned subscriber's
// Webex account stays in the org (DeleteUser removes it); a pending one
// simply goes, and an old account waiting for consent is left as it is.
// ErrNotFound for an unknown subscriber or another partner's. Event:
// bw.subscriber_removed.
func (b *BroadWorks) RemoveSubscriber(ctx context.Context, partner OrgID, id SubscriberID) error {
	return b.s.update(ctx, func(t *txn) error {
		sub, e, err := t.subscriber(&partner, id)
		if err != nil {
			return err
		}
		if err := t.tx.DeleteSubscriber(id); err != nil {
			return err
		}
		return t.moveSubscriber(e, &sub, onRemove, subFacts{})
	})
}

// Detach detaches the partner's enterprise from the org it belongs to
// (B6): an existing customer org it was attached to, or the org its first
// provisioning created (which stays, an ordinary customer org; detaching
// is what lets DeleteOrg delete it). The rules, in order:
//
//  1. An *InputError (ErrInvalidValue) for a flow other than
//     DetachStandard and DetachHybrid.
//  2. ErrNotFound for an unknown enterprise or another partner's.
//  3. ErrNotAttached if it belongs to no org (none yet, an attach still
//     waiting for approval, or detached before).
//  4. A *DetachError (ErrDetachBlocked) while workspaces, subscribers
//     (provisioned or in error) or pending users (pending_* statuses)
//     remain, with how many of each: remove them first.
//  5. Standard flow: the org's BroadWorksLicense is cancelled
//     (bw.subscription_cancelled), the partner's admin entries in it are
//     removed (bw.admin_removed: the partner loses access), and the
//     enterprise with all its data is deleted (bw.enterprise_deleted).
//     Hybrid flow: the org's licenses and admins are kept, and the
//     enterprise stays, belonging to no org.
//
// Either way the org no longer belongs to the enterprise (B5), and may be
// attached again. Event: bw.detached.
func (b *BroadWorks) Detach(ctx context.Context, partner OrgID, id EnterpriseID, flow DetachFlow) error {
	if flow != DetachStandard && flow != DetachHybrid {
		return invalid(ErrInvalidValue, "flow", flow, "must be standard or hybrid")
	}
	return b.s.update(ctx, func(t *txn) error {
		e, err := t.enterprise(&partner, id)
		if err != nil {
			return err
		}
		if e.Org == "" {
			return errf(ErrNotAttached, "enterprise %q belongs to no org", id)
		}
		if err := t.detachable(e); err != nil {
			return err
		}
		org := e.Org
		if flow == DetachStandard {
			if err := t.cancelAccess(e); err != nil {
				return err
			}
			if err := t.tx.DeleteEnterprise(id); err != nil {
				return err
			}
			if err := t.emit(Event{Type: EventEnterpriseDeleted, Org: partner, Detail: string(id)}); err != nil {
				return err
			}
		} else {
			e.Org, e.Attach = "", ""
			if err := t.tx.PutEnterprise(e); err != nil {
				return err
			}
		}
		return t.emit(Event{Type: EventDetached, Org: org, From: partner, Detail: string(flow)})
	})
}

// detachable returns a *DetachError if e has workspaces or subscribers.
func (t *txn) detachable(e BroadWorksEnterprise) error {
	de := &DetachError{Enterprise: e.ID, Workspaces: len(e.Workspaces)}
	err := keyed(t.subscribersOf(e.ID), subscriberKey, func(subs []Subscriber) error {
		for _, sub := range subs {
			if sub.Status.pending() {
				de.Pending++
			} else {
				de.Subscribers++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if de.Workspaces+de.Subscribers+de.Pending > 0 {
		return de
	}
	return nil
}

// cancelAccess cancels e's org's BroadWorks license and removes the
// partner's admin entries (standard detach, B6).
func (t *txn) cancelAccess(e BroadWorksEnterprise) error {
	prof, err := t.profile(e.Org)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(prof.Licenses, func(l OrgLicense) bool { return l.Name == BroadWorksLicense }); i >= 0 {
		prof.Licenses = slices.Clone(prof.Licenses)
		prof.Licenses[i].Status = LicenseCancelled
		if err := t.emit(Event{Type: EventSubscriptionCancelled, Org: e.Org, From: e.Partner, Detail: BroadWorksLicense}); err != nil {
			return err
		}
	}
	var kept []Admin
	for _, a := range prof.Admins {
		if a.Partner != e.Partner {
			kept = append(kept, a)
			continue
		}
		if err := t.emit(Event{Type: EventAdminRemoved, Org: e.Org, From: e.Partner, Recipient: a.Email, Detail: string(a.Role)}); err != nil {
			return err
		}
	}
	prof.Admins = kept
	return t.tx.PutOrgProfile(prof)
}

// orgEnterprises applies DeleteOrg's BroadWorks rules to org (B5, B6): it
// refuses an org an enterprise belongs to, and a partner org one of whose
// enterprises belongs to an org or still has workspaces or subscribers;
// otherwise it returns the partner's enterprises, which go with it.
func (t *txn) orgEnterprises(org OrgID) ([]BroadWorksEnterprise, error) {
	if e, err := t.tx.EnterpriseByOrg(org); err == nil {
		return nil, errf(ErrEnterpriseAttached, "org %q belongs to BroadWorks enterprise %q of partner %q; remove its workspaces and subscribers and detach it (Detach) first", org, e.ID, e.Partner)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	es, err := collectKeyed(func(after EnterpriseID, n int) ([]BroadWorksEnterprise, error) {
		return t.tx.EnterprisesByPartner(org, after, n)
	}, enterpriseKey)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.Org != "" {
			return nil, errf(ErrEnterpriseAttached, "partner org %q: its BroadWorks enterprise %q belongs to org %q; remove its workspaces and subscribers and detach it (Detach) first", org, e.ID, e.Org)
		}
		if err := t.detachable(e); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// deleteOrgBW deletes what BroadWorks keeps of org, which DeleteOrg is
// deleting: its profile, and es, its enterprises as a partner
// (bw.enterprise_deleted each).
func (t *txn) deleteOrgBW(org OrgID, es []BroadWorksEnterprise) error {
	if err := t.tx.DeleteOrgProfile(org); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	for _, e := range es {
		if err := t.tx.DeleteEnterprise(e.ID); err != nil {
			return err
		}
		if err := t.emit(Event{Type: EventEnterpriseDeleted, Org: org, Detail: string(e.ID)}); err != nil {
			return err
		}
	}
	return nil
}
