package claim

// Webex for BroadWorks: the subscriber lifecycle (B1–B3, B6) as a table.

import (
	"fmt"
	"slices"
	"strings"
)

// subTrigger is what happens to a subscriber: an operation of BroadWorks,
// or the provisioning step that gives it its account.
type subTrigger int

const (
	onProvision    subTrigger = iota + 1 // ProvisionSubscriber (B1–B4)
	onEnterEmail                         // EnterEmail (B1)
	onSelfActivate                       // SelfActivate (B1)
	onValidate                           // ValidateEmail (B1–B4)
	onConsent                            // Consent (B1)
	onRetry                              // RetrySubscriber (B3)
	onAccount                            // the Webex account is created or found (provisioning done)
	onRemove                             // RemoveSubscriber (B6)
)

var subTriggerNames = [...]string{"", "provision", "enter_email", "self_activate",
	"validate_email", "consent", "retry", "account_ready", "remove"}

func (t subTrigger) String() string { return subTriggerNames[t] }

// noSubscriber in a row's from or to is "no subscriber": before it is
// added, after it is removed.
const noSubscriber SubscriberStatus = ""

// subFacts are what the guards look at besides the subscriber, and the
// values the transition records on it.
type subFacts struct {
	reasons []AttachReason // the attach needs approval for these (B3)
	old     UserID         // the account of a Consumer or Individual org that has the address (B1)
	oldOrg  OrgID          // old's org
	user    UserID         // the Webex account, on onAccount
}

// subGuard is a named condition on a subscriber transition; the name is
// what the diagram prints.
type subGuard struct {
	name string
	ok   func(Subscriber, subFacts) bool
}

var (
	subAlways       = subGuard{"", func(Subscriber, subFacts) bool { return true }}
	untrustedFlow   = subGuard{"untrusted flow", func(s Subscriber, _ subFacts) bool { return s.Flow == FlowUntrusted }}
	approvalNeeded  = subGuard{"approval needed", func(_ Subscriber, f subFacts) bool { return len(f.reasons) > 0 }}
	oldAccount      = subGuard{"old account", func(_ Subscriber, f subFacts) bool { return f.old != "" }}
	oldAccountTrust = subGuard{"old account, trusted flow", func(s Subscriber, f subFacts) bool { return f.old != "" && s.Flow == FlowTrusted }}
)

// subTransition is one row of the subscriber lifecycle: a subscriber in
// status from, on trigger on, when guard holds, moves to status to, and
// the events are written (in this order, built by subEvent).
type subTransition struct {
	from   SubscriberStatus
	on     subTrigger
	guard  subGuard
	to     SubscriberStatus
	events []string
}

var (
	statusEvent     = []string{EventSubscriberStatus}
	activationEvent = []string{EventSubscriberStatus, EventNotifyActivationLink}
	validationEvent = []string{EventSubscriberStatus, EventNotifyEmailValidation}
	consentEvent    = []string{EventSubscriberStatus, EventNotifyConsent}
	removedEvent    = []string{EventSubscriberRemoved}
)

// subTransitions is the subscriber lifecycle (docs/rules.md: Webex for
// BroadWorks). Every status change of a subscriber goes through it
// (moveSubscriber), and the operations that need a status ask it
// (subscriberFor): the first row whose from, trigger and guard match
// decides; a trigger with no matching row is refused with
// ErrSubscriberStatus. A subscriber is never stored in provisioning: the
// account is made in the transaction that decides it (onAccount). When an
// attach needs approval the customer org's Full Admins also get
// notify.admin_invite (attach writes those, one per admin).
var subTransitions = []subTransition{
	// B1: the untrusted flow starts with the activation link; a trusted
	// address is placed at once (B2–B4).
	{noSubscriber, onProvision, untrustedFlow, StatusPendingEmailInput, activationEvent},
	{noSubscriber, onProvision, approvalNeeded, StatusError, statusEvent},
	{noSubscriber, onProvision, oldAccount, StatusPendingUserMigration, consentEvent},
	{noSubscriber, onProvision, subAlways, StatusProvisioning, statusEvent},

	// B1: the user enters an address, or starts from the user portal, and
	// gets the validation e-mail.
	{StatusPendingEmailInput, onEnterEmail, subAlways, StatusPendingEmailValidation, validationEvent},
	{noSubscriber, onSelfActivate, subAlways, StatusPendingEmailValidation, validationEvent},

	// B1–B4: the validated address is placed; the validation e-mail was
	// the notification, so no consent e-mail follows.
	{StatusPendingEmailValidation, onValidate, approvalNeeded, StatusError, statusEvent},
	{StatusPendingEmailValidation, onValidate, oldAccount, StatusPendingUserMigration, statusEvent},
	{StatusPendingEmailValidation, onValidate, subAlways, StatusProvisioning, statusEvent},

	// B1: the old account is gone.
	{StatusPendingUserMigration, onConsent, subAlways, StatusProvisioning, statusEvent},

	// B3: placed again after the customer admin's approval, or still
	// waiting for it.
	{StatusError, onRetry, approvalNeeded, StatusError, statusEvent},
	{StatusError, onRetry, oldAccountTrust, StatusPendingUserMigration, consentEvent},
	{StatusError, onRetry, oldAccount, StatusPendingUserMigration, statusEvent},
	{StatusError, onRetry, subAlways, StatusProvisioning, statusEvent},

	{StatusProvisioning, onAccount, subAlways, StatusProvisioned, statusEvent},

	// B6: a stored subscriber can be removed in any status.
	{StatusPendingEmailInput, onRemove, subAlways, noSubscriber, removedEvent},
	{StatusPendingEmailValidation, onRemove, subAlways, noSubscriber, removedEvent},
	{StatusPendingUserMigration, onRemove, subAlways, noSubscriber, removedEvent},
	{StatusProvisioned, onRemove, subAlways, noSubscriber, removedEvent},
	{StatusError, onRemove, subAlways, noSubscriber, removedEvent},
}

// subStatuses are the statuses in the order the diagram draws them.
var subStatuses = []SubscriberStatus{noSubscriber, StatusPendingEmailInput, StatusPendingEmailValidation,
	StatusPendingUserMigration, StatusProvisioning, StatusProvisioned, StatusError}

// subNext returns the row that moves sub on trigger on, or an error
// wrapping ErrSubscriberStatus if the table has none.
func subNext(sub Subscriber, on subTrigger, f subFacts) (subTransition, error) {
	for _, tr := range subTransitions {
		if tr.from == sub.Status && tr.on == on && tr.guard.ok(sub, f) {
			return tr, nil
		}
	}
	return subTransition{}, subRefusal(sub, on)
}

// subMoves reports whether a row moves a subscriber in status from on
// trigger on, whatever its guard.
func subMoves(from SubscriberStatus, on subTrigger) bool {
	return slices.ContainsFunc(subTransitions, func(tr subTransition) bool { return tr.from == from && tr.on == on })
}

// subRefusal is the ErrSubscriberStatus of trigger on for sub, naming the
// statuses the table moves on it.
func subRefusal(sub Subscriber, on subTrigger) error {
	if sub.Status == noSubscriber {
		return errf(ErrSubscriberStatus, "%s does not add a subscriber", on)
	}
	var from []string
	for _, tr := range subTransitions {
		if tr.on == on && tr.from != noSubscriber && !slices.Contains(from, string(tr.from)) {
			from = append(from, string(tr.from))
		}
	}
	return errf(ErrSubscriberStatus, "subscriber %q is %s, not %s", sub.ID, sub.Status, strings.Join(from, " or "))
}

// subscriberFor is subscriber for an operation whose trigger on needs the
// subscriber in a status the table moves on it: ErrSubscriberStatus
// otherwise (the guards are the operation's to decide, later).
func (t *txn) subscriberFor(partner *OrgID, id SubscriberID, on subTrigger) (Subscriber, BroadWorksEnterprise, error) {
	sub, e, err := t.subscriber(partner, id)
	if err != nil {
		return sub, e, err
	}
	if !subMoves(sub.Status, on) {
		err = subRefusal(sub, on)
	}
	return sub, e, err
}

// moveSubscriber applies the row of subTransitions for sub, trigger on and
// facts f: it sets sub's status and what the status carries (Reasons in
// error, Old in pending_user_migration, User once provisioned;
// UpdatedAt), then writes the row's events. A removal changes nothing on
// sub; the caller deletes it. Refused (ErrSubscriberStatus), it changes
// nothing. The caller stores sub.
func (t *txn) moveSubscriber(e BroadWorksEnterprise, sub *Subscriber, on subTrigger, f subFacts) error {
	tr, err := subNext(*sub, on, f)
	if err != nil {
		return err
	}
	from := sub.Status
	if tr.to != noSubscriber {
		sub.Status, sub.UpdatedAt, sub.Reasons = tr.to, t.now, nil
		switch tr.to {
		case StatusError:
			sub.Reasons = f.reasons
		case StatusPendingUserMigration:
			sub.Old = f.old
		case StatusProvisioned:
			sub.User, sub.Old = f.user, ""
		}
	}
	for _, typ := range tr.events {
		if err := t.emit(subEvent(typ, e, *sub, from, f)); err != nil {
			return err
		}
	}
	return nil
}

// subEvent builds the event typ of a transition of sub from status from.
func subEvent(typ string, e BroadWorksEnterprise, sub Subscriber, from SubscriberStatus, f subFacts) Event {
	ev := Event{Type: typ, Org: e.Org, From: e.Partner, Subscriber: sub.ID}
	switch typ {
	case EventSubscriberStatus:
		ev.User, ev.Detail = sub.User, string(sub.Status)
	case EventSubscriberRemoved:
		ev.User, ev.Detail = sub.User, string(from)
	case EventNotifyActivationLink:
		ev.Recipient = string(sub.ID)
	case EventNotifyEmailValidation:
		ev.Recipient = sub.Email
	case EventNotifyConsent:
		ev.From, ev.User, ev.Recipient = f.oldOrg, f.old, sub.Email
	default:
		panic(fmt.Sprintf("claim: no subscriber event %q", typ))
	}
	return ev
}

// subFiring returns the rows that can fire for a subscriber in status
// from on trigger on: those of the table in order, up to the first one
// without a guard, since the rows after it never do.
func subFiring(from SubscriberStatus, on subTrigger) []subTransition {
	var rows []subTransition
	for _, tr := range subTransitions {
		if tr.from != from || tr.on != on {
			continue
		}
		rows = append(rows, tr)
		if tr.guard.name == "" {
			break
		}
	}
	return rows
}

// subscriberDiagram renders subTransitions as a Mermaid state diagram: an
// arrow for each row that can fire (subFiring), by status ([*] is "no
// subscriber") and trigger, labelled with its trigger and guard. A row
// that keeps the status draws an arrow back to it, since it writes its
// events again.
func subscriberDiagram() string {
	node := func(s SubscriberStatus) string {
		if s == noSubscriber {
			return "[*]"
		}
		return string(s)
	}
	lines := []string{"stateDiagram-v2"}
	for _, from := range subStatuses {
		for on := onProvision; on <= onRemove; on++ {
			for _, tr := range subFiring(from, on) {
				label := on.String()
				if tr.guard.name != "" {
					label += " [" + tr.guard.name + "]"
				}
				if l := fmt.Sprintf("    %s --> %s: %s", node(from), node(tr.to), label); !slices.Contains(lines, l) {
					lines = append(lines, l)
				}
			}
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
