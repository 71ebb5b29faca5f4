package claim

// Webex for BroadWorks: the user's own steps (EnterEmail, SelfActivate,
// ValidateEmail, Consent; B1) and the partner's retry after an approval
// (RetrySubscriber; B3).

import (
	"context"
)

// EnterEmail is the user following the activation link of the untrusted
// flow and entering its address (B1). The rules, in order:
//
//  1. An *InputError (ErrInvalidEmail) for a bad address.
//  2. ErrNotFound for an unknown subscriber.
//  3. ErrSubscriberStatus unless it is pending_email_input.
//  4. ErrEmailTaken if another subscriber has the address.
//  5. ErrHeldByClaim if the address is part of a pending claim;
//     ErrUseAttach if it is a user's of a customer org other than the
//     enterprise's (or its attach target's).
//  6. The subscriber is pending_email_validation and the "Join Now"
//     e-mail goes to the address (notify.bw_validation).
//
// Events: bw.subscriber_status, notify.bw_validation.
func (b *BroadWorks) EnterEmail(ctx context.Context, id SubscriberID, email string) (Subscriber, error) {
	p, err := parseEmail("email", email, false)
	if err != nil {
		return Subscriber{}, err
	}
	return b.step(ctx, nil, id, onEnterEmail, func(t *txn, e *BroadWorksEnterprise, sub *Subscriber) error {
		sub.Email = p.addr
		return t.awaitValidation(*e, sub, onEnterEmail)
	})
}

// step runs an operation on a stored subscriber in one transaction: it
// reads the subscriber (for a partner, if not nil, one of its
// enterprises'), refuses it with ErrSubscriberStatus unless trigger on
// moves its status, runs do and stores the subscriber do leaves.
func (b *BroadWorks) step(ctx context.Context, partner *OrgID, id SubscriberID, on subTrigger, do func(t *txn, e *BroadWorksEnterprise, sub *Subscriber) error) (Subscriber, error) {
	var out Subscriber
	err := b.s.update(ctx, func(t *txn) error {
		sub, e, err := t.subscriberFor(partner, id, on)
		if err != nil {
			return err
		}
		if err := do(t, &e, &sub); err != nil {
			return err
		}
		out = sub
		return t.tx.PutSubscriber(sub)
	})
	return out, err
}

// awaitValidation checks sub's new address (ErrEmailTaken, ErrHeldByClaim,
// ErrUseAttach) and sends the validation e-mail, moving sub on trigger on.
func (t *txn) awaitValidation(e BroadWorksEnterprise, sub *Subscriber, on subTrigger) error {
	if err := t.emailFree(*sub); err != nil {
		return err
	}
	if err := t.checkAddress(e, sub.Email); err != nil {
		return err
	}
	return t.moveSubscriber(e, sub, on, subFacts{})
}

// SelfActivate is a BroadWorks user signing in to the user portal with
// its BroadWorks credentials and entering its address (B1). The rules,
// in order:
//
//  1. An *InputError for an empty or untrimmed ID (ErrInvalidValue) or a
//     bad or missing address (ErrInvalidEmail).
//  2. ErrNotFound for an unknown enterprise.
//  3. ErrDuplicate if the subscriber exists (a subscriber the partner
//     provisioned follows its own flow).
//  4. Then as EnterEmail, steps 4–6: the subscriber is
//     pending_email_validation, flow self_activation.
//
// Events: bw.subscriber_added, bw.subscriber_status, notify.bw_validation.
func (b *BroadWorks) SelfActivate(ctx context.Context, id EnterpriseID, ns NewSubscriber) (Subscriber, error) {
	if err := newSubscriberID(ns.ID); err != nil {
		return Subscriber{}, err
	}
	n, err := cleanNames("NewSubscriber", ns.FirstName, ns.LastName, "", "")
	if err != nil {
		return Subscriber{}, err
	}
	p, err := parseEmail("NewSubscriber.Email", ns.Email, false)
	if err != nil {
		return Subscriber{}, err
	}
	var out Subscriber
	err = b.s.update(ctx, func(t *txn) error {
		e, err := t.enterprise(nil, id) // the user's own step: any partner's
		if err != nil {
			return err
		}
		sub := Subscriber{ID: ns.ID, Enterprise: id, Flow: FlowSelfActivation, Email: p.addr,
			FirstName: n.first, LastName: n.last, CreatedAt: t.now}
		if err := t.newSubscriber(e, sub); err != nil {
			return err
		}
		if err := t.awaitValidation(e, &sub, onSelfActivate); err != nil {
			return err
		}
		out = sub
		return t.tx.PutSubscriber(sub)
	})
	return out, err
}

// ValidateEmail is the user clicking "Join Now" in the validation e-mail
// (untrusted flow and self-activation, B1). The rules, in order:
//
//  1. ErrNotFound for an unknown subscriber.
//  2. ErrSubscriberStatus unless it is pending_email_validation.
//  3. ErrApprovalRequired as ProvisionSubscriber's step 6.
//  4. The address is placed as by ProvisionSubscriber (B1–B4), with its
//     refusals: ErrHeldByClaim for an address held by a pending claim,
//     ErrUseAttach for a user of a customer org other than the
//     enterprise's (or its attach target's), ErrOrgMapped (B5) when the
//     target already belongs to another enterprise. An existing account
//     of a Consumer or Individual org makes the subscriber
//     pending_user_migration, the user being sent on to log in and delete
//     it (no further e-mail); an attach that needs approval leaves it in
//     status error (see ProvisionSubscriber).
//
// Events: bw.subscriber_status for every status it takes, and those of
// placing (see ProvisionSubscriber).
func (b *BroadWorks) ValidateEmail(ctx context.Context, id SubscriberID) (Subscriber, error) {
	return b.step(ctx, nil, id, onValidate, func(t *txn, e *BroadWorksEnterprise, sub *Subscriber) error {
		if err := t.approvalPending(*e); err != nil {
			return err
		}
		return t.place(e, sub, onValidate)
	})
}

// Consent is the user, logged in to the consumer portal, deleting its old
// account: the consent of B1. The rules, in order:
//
//  1. ErrNotFound for an unknown subscriber.
//  2. ErrSubscriberStatus unless it is pending_user_migration.
//  3. The account that has the address now is the one deleted: if it is
//     part of a pending claim, ErrHeldByClaim; if it has moved to a
//     customer org other than the enterprise's, ErrUseAttach. If it has
//     moved into the enterprise's own org (claimed by it, say), nothing is
//     deleted and the subscriber is provisioned as that user, as
//     ProvisionSubscriber provisions a user of the org itself; if no
//     account has the address any more, nothing is deleted either.
//  4. The old account is deleted with its content, in this transaction
//     and never before: user.deleted, content.deleted (its Content, when
//     it had any), bw.consent.
//  5. The subscriber is provisioned with the same address as a new
//     Verified user of the enterprise's org; the org's first subscriber
//     becomes its Full Admin (B2).
//
// Events: those of steps 4 and 5 (bw.subscriber_status provisioning and
// provisioned, user.added, bw.admin_added for the first subscriber).
func (b *BroadWorks) Consent(ctx context.Context, id SubscriberID) (Subscriber, error) {
	return b.step(ctx, nil, id, onConsent, func(t *txn, e *BroadWorksEnterprise, sub *Subscriber) error {
		// A subscriber becomes pending_user_migration only once its
		// enterprise has an org, which it keeps while the subscriber is
		// pending (Detach and DeleteOrg refuse).
		u, kind, found, err := t.holderOf(sub.Email)
		if err != nil {
			return err
		}
		if found && u.Org == e.Org {
			return t.provision(*e, sub, &u, onConsent)
		}
		if found {
			if kind == Enterprise {
				return errf(ErrUseAttach, "%s is now a user of customer org %q", sub.Email, u.Org)
			}
			if err := t.deleteUser(u, EventUserDeleted); err != nil {
				return err
			}
			if err := t.emit(Event{Type: EventConsent, Org: e.Org, From: u.Org, User: u.ID, Content: u.Content, Recipient: sub.Email, Subscriber: sub.ID}); err != nil {
				return err
			}
		}
		return t.provision(*e, sub, nil, onConsent)
	})
}

// RetrySubscriber provisions a subscriber in status error again, as
// ProvisionSubscriber places an address: after the customer admin has
// made the partner admin an external Full Admin (AddAdmin), the attach
// goes through (B3); still needing approval, the subscriber stays in
// error and the invitation goes out again. Errors, in order: ErrNotFound
// for an unknown subscriber or another partner's; ErrSubscriberStatus
// unless it is in status error; then those of placing (ErrHeldByClaim,
// ErrUseAttach, ErrOrgMapped).
func (b *BroadWorks) RetrySubscriber(ctx context.Context, partner OrgID, id SubscriberID) (Subscriber, error) {
	return b.step(ctx, &partner, id, onRetry, func(t *txn, e *BroadWorksEnterprise, sub *Subscriber) error {
		return t.place(e, sub, onRetry)
	})
}
