package claim

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
)

// CreateEnterprise records a partner's BroadWorks enterprise. It belongs
// to no org until its first subscriber's address is known (B2–B4). The
// rules, in order:
//
//  1. An *InputError (ErrInvalidValue) for an empty or untrimmed ID, an
//     empty Name, or Org, Attach or Workspaces set (the Service sets
//     them); an *InputError (ErrInvalidEmail) for a bad
//     Template.PartnerAdmin.
//  2. ErrNotFound for an unknown Partner or Target.
//  3. An *InputError (ErrInvalidValue) for a Target that is not a customer
//     (Enterprise) org or is the partner itself.
//  4. ErrDuplicate if the ID exists.
//
// A zero CreatedAt is now. Event: bw.enterprise_created.
func (b *BroadWorks) CreateEnterprise(ctx context.Context, e BroadWorksEnterprise) (BroadWorksEnterprise, error) {
	if err := checkID(ErrInvalidValue, "Enterprise.ID", e.ID, true); err != nil {
		return BroadWorksEnterprise{}, err
	}
	var err error
	if e.Name, err = cleanName("Enterprise.Name", e.Name); err != nil {
		return BroadWorksEnterprise{}, err
	}
	switch {
	case e.Name == "":
		return BroadWorksEnterprise{}, invalid(ErrInvalidValue, "Enterprise.Name", e.Name, "required")
	case e.Org != "":
		return BroadWorksEnterprise{}, invalid(ErrInvalidValue, "Enterprise.Org", e.Org, "set by provisioning; use Target to name an org to attach to")
	case e.Attach != "":
		return BroadWorksEnterprise{}, invalid(ErrInvalidValue, "Enterprise.Attach", e.Attach, "set by provisioning")
	case len(e.Workspaces) > 0:
		return BroadWorksEnterprise{}, invalid(ErrInvalidValue, "Enterprise.Workspaces", e.Workspaces, "use AddWorkspace")
	}
	p, err := parseEmail("Enterprise.Template.PartnerAdmin", e.Template.PartnerAdmin, false)
	if err != nil {
		return BroadWorksEnterprise{}, err
	}
	e.Template.PartnerAdmin = p.addr
	err = b.s.update(ctx, func(t *txn) error {
		if _, err := t.org(e.Partner); err != nil {
			return err
		}
		if e.Target != "" {
			o, err := t.org(e.Target)
			if err != nil {
				return err
			}
			if o.Kind != Enterprise || o.ID == e.Partner {
				return invalid(ErrInvalidValue, "Enterprise.Target", e.Target, "must be a customer (Enterprise) org other than the partner")
			}
		}
		if _, err := t.Enterprise(e.ID); err == nil {
			return errf(ErrDuplicate, "enterprise %q exists", e.ID)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = t.now
		}
		if err := t.PutEnterprise(e); err != nil {
			return err
		}
		return t.emit(Event{Type: EventEnterpriseCreated, Org: e.Partner, Detail: string(e.ID)})
	})
	if err != nil {
		return BroadWorksEnterprise{}, err
	}
	return e, nil
}

// Enterprise returns the partner's enterprise; ErrNotFound for an unknown
// one or another partner's (N3).
func (b *BroadWorks) Enterprise(ctx context.Context, partner OrgID, id EnterpriseID) (BroadWorksEnterprise, error) {
	var e BroadWorksEnterprise
	err := b.s.view(ctx, func(t *txn) error {
		var err error
		e, err = t.enterprise(partner, id)
		return err
	})
	return e, err
}

// enterprise returns the partner's enterprise, or ErrNotFound.
func (t *txn) enterprise(partner OrgID, id EnterpriseID) (BroadWorksEnterprise, error) {
	if err := checkID(ErrNotFound, "enterprise", id, true); err != nil {
		return BroadWorksEnterprise{}, err
	}
	e, err := t.Enterprise(id)
	if errors.Is(err, ErrNotFound) || err == nil && e.Partner != partner {
		return BroadWorksEnterprise{}, errf(ErrNotFound, "enterprise %q", id) // the same text for another partner's (N3)
	}
	return e, err
}

// subscriber returns the subscriber, or ErrNotFound; with a partner, a
// subscriber of another partner's enterprise is ErrNotFound too (N3).
func (t *txn) subscriber(partner *OrgID, id SubscriberID) (Subscriber, BroadWorksEnterprise, error) {
	if err := checkID(ErrNotFound, "subscriber", id, true); err != nil {
		return Subscriber{}, BroadWorksEnterprise{}, err
	}
	sub, err := t.Subscriber(id)
	if errors.Is(err, ErrNotFound) {
		return Subscriber{}, BroadWorksEnterprise{}, errf(ErrNotFound, "subscriber %q", id)
	}
	if err != nil {
		return Subscriber{}, BroadWorksEnterprise{}, err
	}
	e, err := t.Enterprise(sub.Enterprise)
	if err != nil {
		return Subscriber{}, BroadWorksEnterprise{}, err
	}
	if partner != nil && e.Partner != *partner {
		return Subscriber{}, BroadWorksEnterprise{}, errf(ErrNotFound, "subscriber %q", id) // the text of an unknown one (N3)
	}
	return sub, e, nil
}

// subscriberIn is subscriber for a step of a flow that needs the
// subscriber in status want: ErrSubscriberStatus otherwise.
func (t *txn) subscriberIn(partner *OrgID, id SubscriberID, want SubscriberStatus) (Subscriber, BroadWorksEnterprise, error) {
	sub, e, err := t.subscriber(partner, id)
	if err == nil && sub.Status != want {
		err = errf(ErrSubscriberStatus, "subscriber %q is %s, not %s", id, sub.Status, want)
	}
	return sub, e, err
}

// Subscriber returns the subscriber; ErrNotFound if there is none.
func (b *BroadWorks) Subscriber(ctx context.Context, id SubscriberID) (Subscriber, error) {
	var sub Subscriber
	err := b.s.view(ctx, func(t *txn) error {
		var err error
		sub, _, err = t.subscriber(nil, id)
		return err
	})
	return sub, err
}

// Subscribers iterates over the subscribers of the partner's enterprise in
// ID order, a page per read transaction; the first error (ErrNotFound for
// an unknown enterprise or another partner's) ends it.
func (b *BroadWorks) Subscribers(ctx context.Context, partner OrgID, id EnterpriseID) iter.Seq2[Subscriber, error] {
	return everyPage(func(after string) (Page[Subscriber], error) {
		var p Page[Subscriber]
		err := b.s.view(ctx, func(t *txn) error {
			if _, err := t.enterprise(partner, id); err != nil {
				return err
			}
			subs, err := t.SubscribersByEnterprise(id, SubscriberID(after), pageSize)
			if len(subs) == pageSize {
				p.Next = string(subs[len(subs)-1].ID)
			}
			p.Items = subs
			return err
		})
		return p, err
	})
}

// OrgProfile returns the org's admins, restricted admin mode and
// licenses (the zero profile for an org that has none); ErrNotFound for
// an unknown org.
func (b *BroadWorks) OrgProfile(ctx context.Context, org OrgID) (OrgProfile, error) {
	var p OrgProfile
	err := b.s.view(ctx, func(t *txn) error {
		var err error
		p, err = t.profile(org)
		return err
	})
	return p, err
}

// profile returns the org's profile, the zero one if none is stored, or
// ErrNotFound for an unknown org.
func (t *txn) profile(org OrgID) (OrgProfile, error) {
	if _, err := t.org(org); err != nil {
		return OrgProfile{}, err
	}
	p, err := t.Tx.OrgProfile(org)
	if errors.Is(err, ErrNotFound) {
		return OrgProfile{Org: org}, nil
	}
	return p, err
}

// AddAdmin makes a.Email an administrator of org with a.Role, replacing
// its entry if it has one. A customer admin approves an attach this way
// (B3): it adds the partner admin of the onboarding template as an
// external Full Admin (Partner set to the partner org), then the partner
// retries provisioning (RetrySubscriber). Errors, in order: an
// *InputError for a bad address (ErrInvalidEmail) or a Role that is
// neither FullAdmin nor ProvisioningAdmin (ErrInvalidValue); ErrNotFound
// for an unknown org or Partner. Event: bw.admin_added.
func (b *BroadWorks) AddAdmin(ctx context.Context, org OrgID, a Admin) error {
	p, err := parseEmail("Admin.Email", a.Email, false)
	if err != nil {
		return err
	}
	a.Email = p.addr
	if a.Role != FullAdmin && a.Role != ProvisioningAdmin {
		return invalid(ErrInvalidValue, "Admin.Role", a.Role, "must be full_admin or provisioning_admin")
	}
	return b.s.update(ctx, func(t *txn) error {
		prof, err := t.profile(org)
		if err != nil {
			return err
		}
		if a.Partner != "" {
			if _, err := t.org(a.Partner); err != nil {
				return err
			}
		}
		return t.putAdmin(prof, a, "")
	})
}

// putAdmin stores prof with the admin entry a and writes bw.admin_added.
func (t *txn) putAdmin(prof OrgProfile, a Admin, sub SubscriberID) error {
	prof.putAdmin(a)
	if err := t.PutOrgProfile(prof); err != nil {
		return err
	}
	return t.emit(Event{Type: EventAdminAdded, Org: prof.Org, From: a.Partner, Recipient: a.Email, Detail: string(a.Role), Subscriber: sub})
}

// SetOrgLicenses replaces org's licenses, which decide the partner's role
// on an automatic attach (B3). Names are trimmed. Errors, in order, for
// the first license that has one: an *InputError (ErrInvalidValue) for an
// empty name or an unknown status, an *InputError (ErrDuplicate) for a
// name given twice; then ErrNotFound for an unknown org. Event:
// bw.licenses_changed.
func (b *BroadWorks) SetOrgLicenses(ctx context.Context, org OrgID, ls []OrgLicense) error {
	var clean []OrgLicense
	for _, l := range ls {
		var err error
		if l.Name, err = cleanName("OrgLicense.Name", l.Name); err != nil {
			return err
		}
		switch {
		case l.Name == "":
			return invalid(ErrInvalidValue, "OrgLicense.Name", l.Name, "required")
		case l.Status != LicenseActive && l.Status != LicenseSuspended && l.Status != LicenseCancelled:
			return invalid(ErrInvalidValue, "OrgLicense.Status", l.Status, "must be active, suspended or cancelled")
		case slices.ContainsFunc(clean, func(m OrgLicense) bool { return m.Name == l.Name }):
			return invalid(ErrDuplicate, "OrgLicense.Name", l.Name, "given twice")
		}
		clean = append(clean, l)
	}
	return b.s.update(ctx, func(t *txn) error {
		prof, err := t.profile(org)
		if err != nil {
			return err
		}
		prof.Licenses = nil
		for _, l := range clean {
			prof.putLicense(l)
		}
		if err := t.PutOrgProfile(prof); err != nil {
			return err
		}
		return t.emit(Event{Type: EventLicensesChanged, Org: org})
	})
}

// SetRestrictedAdminMode turns org's "Restricted by Partner Mode" on or
// off; setting it to what it is does nothing. ErrNotFound for an unknown
// org. Event: bw.restricted_mode_changed.
func (b *BroadWorks) SetRestrictedAdminMode(ctx context.Context, org OrgID, on bool) error {
	return b.s.update(ctx, func(t *txn) error {
		prof, err := t.profile(org)
		if err != nil || prof.RestrictedAdminMode == on {
			return err
		}
		if err := t.setRestricted(&prof, on); err != nil {
			return err
		}
		return t.PutOrgProfile(prof)
	})
}

// setRestricted turns *prof's restricted admin mode on or off, with its
// event if that changes it; the caller writes *prof.
func (t *txn) setRestricted(prof *OrgProfile, on bool) error {
	if prof.RestrictedAdminMode == on {
		return nil
	}
	prof.RestrictedAdminMode = on
	detail := "off"
	if on {
		detail = "on"
	}
	return t.emit(Event{Type: EventRestrictedModeChanged, Org: prof.Org, Detail: detail})
}

// AddWorkspace adds a BroadWorks workspace to the partner's enterprise.
// Errors, in order: an *InputError (ErrInvalidValue) for an empty name;
// ErrNotFound for an unknown enterprise or another partner's; ErrDuplicate
// if it has the workspace. Event: bw.workspace_added.
func (b *BroadWorks) AddWorkspace(ctx context.Context, partner OrgID, id EnterpriseID, name string) error {
	return b.s.workspace(ctx, partner, id, name, true)
}

// RemoveWorkspace removes a BroadWorks workspace from the partner's
// enterprise (B6). Errors, in order: an *InputError (ErrInvalidValue) for
// an empty name; ErrNotFound for an unknown enterprise or another
// partner's, or a workspace it does not have. Event: bw.workspace_removed.
func (b *BroadWorks) RemoveWorkspace(ctx context.Context, partner OrgID, id EnterpriseID, name string) error {
	return b.s.workspace(ctx, partner, id, name, false)
}

func (s *Service) workspace(ctx context.Context, partner OrgID, id EnterpriseID, name string, add bool) error {
	name, err := cleanName("workspace", name)
	if err != nil {
		return err
	}
	if name == "" {
		return invalid(ErrInvalidValue, "workspace", name, "required")
	}
	return s.update(ctx, func(t *txn) error {
		e, err := t.enterprise(partner, id)
		if err != nil {
			return err
		}
		i, found := slices.BinarySearch(e.Workspaces, name)
		typ := EventWorkspaceAdded
		switch {
		case add && found:
			return errf(ErrDuplicate, "enterprise %q has workspace %q", id, name)
		case add:
			e.Workspaces = slices.Insert(e.Workspaces, i, name)
		case !found:
			return errf(ErrNotFound, "workspace %q of enterprise %q", name, id)
		default:
			e.Workspaces = slices.Delete(e.Workspaces, i, i+1)
			typ = EventWorkspaceRemoved
		}
		if err := t.PutEnterprise(e); err != nil {
			return err
		}
		return t.emit(Event{Type: typ, Org: e.Org, From: partner, Detail: name})
	})
}

// newSubscriberID checks a subscriber ID: required, trimmed.
func newSubscriberID(id SubscriberID) error {
	return checkID(ErrInvalidValue, "NewSubscriber.ID", id, true)
}

// ProvisionSubscriber provisions a subscriber of the partner's enterprise
// (B1–B5). The rules, in order:
//
//  1. An *InputError for an empty or untrimmed ID (ErrInvalidValue) or a
//     bad address (ErrInvalidEmail).
//  2. ErrNotFound for an unknown partner or enterprise, or another
//     partner's enterprise (N3).
//  3. An *InputError (ErrInvalidEmail) for a missing address when the
//     template trusts addresses, or (ErrInvalidValue) an address given
//     when it does not: the user enters it through the activation link.
//  4. ErrDuplicate if the subscriber exists; ErrEmailTaken if another
//     subscriber has the address.
//  5. Untrusted template: the subscriber is pending_email_input and the
//     activation link goes to it (notify.bw_activation_link). Done; see
//     EnterEmail.
//  6. Trusted template: while the enterprise belongs to no org and another
//     of its subscribers waits for the attach to be approved (status
//     error), ErrApprovalRequired (an *AttachError): finish the attach
//     first.
//  7. The address is placed (see "Placing an address", below); its
//     refusals are ErrHeldByClaim for an address held by a pending claim,
//     ErrDomainClaimedByOther for an address that would become an account
//     of the enterprise's org (new, or moved from a Consumer or Individual
//     org) while another org has claimed its domain (D6; EnterEmail,
//     SelfActivate, ValidateEmail and Consent refuse it the same way),
//     ErrUseAttach for a user of a customer org other than the
//     enterprise's own (or the attach target's), and ErrOrgMapped (B5)
//     when the attach target already belongs to another enterprise.
//
// Placing an address, for the enterprise's first known address (the
// enterprise belongs to no org yet):
//
//   - B3, B4: the enterprise has a Target and a user of that org has the
//     address: the attach. It needs approval when the org has
//     AttachApprovalUsers users or more, a verified domain or a claimed
//     domain, unless the customer admin already made the template's
//     partner admin an external Full Admin (AttachApproved). Needing it,
//     the subscriber is recorded in status error with the reasons (see
//     Subscriber.Err), the org's own Full Admins get notify.admin_invite
//     unless Template.NoAdminInvite, and nothing else changes: the call
//     returns the subscriber and no error. Otherwise the enterprise
//     attaches (bw.attached): the partner admin becomes the org's
//     ProvisioningAdmin, or its FullAdmin when the org has no license or
//     only suspended or cancelled ones (AttachAutomatic); restricted
//     admin mode goes off; the org gets the BroadWorksLicense; its name
//     and settings (authentication included) do not change. The
//     subscriber is provisioned as that existing user and is not made an
//     admin.
//   - B2, B4: otherwise a new customer org is created, named after the
//     enterprise, with the partner admin as its external FullAdmin and
//     the BroadWorksLicense; this subscriber is its first user and
//     becomes its administrator (Admin) once provisioned.
//
// Then, in the enterprise's org: an address nobody has becomes a new
// Verified user (provisioned); a user of the org itself is provisioned as
// is; a user of a Consumer or Individual org makes the subscriber
// pending_user_migration (B1) with notify.bw_consent to the address
// (trusted flow), and nothing of the old account changes until Consent.
//
// Events: bw.subscriber_added, bw.subscriber_status for every status it
// takes (provisioning right before provisioned), and those of the steps
// above (org.created, bw.org_created, bw.attached, bw.admin_added,
// bw.restricted_mode_changed, bw.licenses_changed, user.added).
func (b *BroadWorks) ProvisionSubscriber(ctx context.Context, partner OrgID, id EnterpriseID, ns NewSubscriber) (Subscriber, error) {
	if err := newSubscriberID(ns.ID); err != nil {
		return Subscriber{}, err
	}
	n, err := cleanNames("NewSubscriber", ns.FirstName, ns.LastName, "", "")
	if err != nil {
		return Subscriber{}, err
	}
	var email string
	if strings.TrimSpace(ns.Email) != "" {
		p, err := parseEmail("NewSubscriber.Email", ns.Email, false)
		if err != nil {
			return Subscriber{}, err
		}
		email = p.addr
	}
	var out Subscriber
	err = b.s.update(ctx, func(t *txn) error {
		if _, err := t.org(partner); err != nil {
			return err
		}
		e, err := t.enterprise(partner, id)
		if err != nil {
			return err
		}
		flow := FlowUntrusted
		if e.Template.TrustedEmail {
			flow = FlowTrusted
			if email == "" {
				return invalid(ErrInvalidEmail, "NewSubscriber.Email", ns.Email, "required: the onboarding template trusts e-mail addresses")
			}
		} else if email != "" {
			return invalid(ErrInvalidValue, "NewSubscriber.Email", ns.Email, "the onboarding template does not trust e-mail addresses: the user enters one through the activation link")
		}
		sub := Subscriber{ID: ns.ID, Enterprise: id, Flow: flow, Email: email,
			FirstName: n.first, LastName: n.last, CreatedAt: t.now}
		if err := t.newSubscriber(e, sub); err != nil {
			return err
		}
		if flow == FlowUntrusted {
			if err := t.setStatus(e, &sub, StatusPendingEmailInput); err != nil {
				return err
			}
			if err := t.emit(Event{Type: EventNotifyActivationLink, Org: e.Org, From: partner, Recipient: string(sub.ID), Subscriber: sub.ID}); err != nil {
				return err
			}
		} else {
			if err := t.approvalPending(e); err != nil {
				return err
			}
			if err := t.place(&e, &sub); err != nil {
				return err
			}
		}
		out = sub
		return t.PutSubscriber(sub)
	})
	return out, err
}

// newSubscriber checks that sub's ID and address are free and writes
// bw.subscriber_added.
func (t *txn) newSubscriber(e BroadWorksEnterprise, sub Subscriber) error {
	if _, err := t.Subscriber(sub.ID); err == nil {
		return errf(ErrDuplicate, "subscriber %q exists", sub.ID)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := t.emailFree(sub); err != nil {
		return err
	}
	return t.emit(Event{Type: EventSubscriberAdded, Org: e.Org, From: e.Partner, Subscriber: sub.ID, Detail: string(sub.Flow)})
}

// emailFree returns ErrEmailTaken if another subscriber has sub's address.
func (t *txn) emailFree(sub Subscriber) error {
	if sub.Email == "" {
		return nil
	}
	other, err := t.SubscriberByEmail(sub.Email)
	if err == nil && other.ID != sub.ID {
		return errf(ErrEmailTaken, "%s is the address of subscriber %q", sub.Email, other.ID)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// setStatus moves sub to st and writes bw.subscriber_status.
func (t *txn) setStatus(e BroadWorksEnterprise, sub *Subscriber, st SubscriberStatus) error {
	sub.Status, sub.UpdatedAt = st, t.now
	if st != StatusError {
		sub.Reasons = nil
	}
	return t.emit(Event{Type: EventSubscriberStatus, Org: e.Org, From: e.Partner, User: sub.User, Subscriber: sub.ID, Detail: string(st)})
}

// approvalPending returns an *AttachError if e belongs to no org and a
// subscriber waits for the attach's approval (the one its caller is
// placing is not stored in status error).
func (t *txn) approvalPending(e BroadWorksEnterprise) error {
	if e.Org != "" {
		return nil
	}
	return keyed(t.subscribersOf(e.ID), subscriberKey, func(subs []Subscriber) error {
		for _, o := range subs {
			if o.Status == StatusError {
				return &AttachError{Enterprise: e.ID, Org: e.Target, Reasons: o.Reasons}
			}
		}
		return nil
	})
}

// subscribersOf is the list of the enterprise's subscribers, for keyed.
func (t *txn) subscribersOf(e EnterpriseID) func(after SubscriberID, n int) ([]Subscriber, error) {
	return func(after SubscriberID, n int) ([]Subscriber, error) { return t.SubscribersByEnterprise(e, after, n) }
}

// holderOf returns the account that has the address (found false if
// none) and the kind of its org. ErrHeldByClaim if the account is part of
// a pending claim.
func (t *txn) holderOf(email string) (u User, kind OrgKind, found bool, err error) {
	u, err = t.userByEmail(email)
	if errors.Is(err, ErrNotFound) {
		return User{}, 0, false, nil
	}
	if err != nil {
		return User{}, 0, false, err
	}
	if u.HeldBy != "" || u.Claim.pending() {
		return User{}, 0, false, errf(ErrHeldByClaim, "%s belongs to an account in a pending claim; wait until the claim ends", email)
	}
	o, err := t.org(u.Org)
	if err != nil {
		return User{}, 0, false, err
	}
	return u, o.Kind, true, nil
}

// checkAddress refuses an address that cannot be placed in e's org (or
// its target while it has none): ErrHeldByClaim, ErrUseAttach. It
// changes nothing.
func (t *txn) checkAddress(e BroadWorksEnterprise, email string) error {
	u, kind, found, err := t.holderOf(email)
	if err != nil {
		return err
	}
	if err := t.claimCheck(e, email, u, found); err != nil {
		return err
	}
	if !found || kind != Enterprise {
		return nil
	}
	home := e.Org
	if home == "" {
		home = e.Target
	}
	if u.Org != home || home == "" {
		return errUseAttach(email, u.Org)
	}
	return nil
}

// claimCheck refuses, with ErrDomainClaimedByOther (D6), an address whose
// placing in e's org would create an account there — nobody has it (u,
// found), or a user of another org has it — while an org other than e's
// has claimed its domain. An enterprise with no org yet would create one,
// which has claimed nothing; its attach target's own user (B4) creates no
// account and is not refused. Decision: the refusal comes when the
// address is first placed (ProvisionSubscriber, EnterEmail, SelfActivate,
// ValidateEmail), so no subscriber waits for a consent that could never
// be provisioned; Consent meets D6 again in newUser if the domain was
// claimed meanwhile.
func (t *txn) claimCheck(e BroadWorksEnterprise, email string, u User, found bool) error {
	if found && (u.Org == e.Org || e.Org == "" && u.Org == e.Target) {
		return nil
	}
	f, err := t.joinFacts(e.Org, email)
	if err != nil {
		return err
	}
	f.taken = false // a user elsewhere moves with consent (B1) or is refused by ErrUseAttach
	return f.refusal(e.Org, email)
}

// errUseAttach is the refusal of an address that a user of another
// customer org has (B4).
func errUseAttach(email string, org OrgID) error {
	return errf(ErrUseAttach, "%s is a user of customer org %q; attach the enterprise to that org instead of moving the user", email, org)
}

// place places sub's known, trusted or validated address (see
// ProvisionSubscriber): it decides e's org if e has none (B2–B4), then
// provisions sub or makes it wait for consent (B1). It updates *e and
// *sub; the caller stores sub.
func (t *txn) place(e *BroadWorksEnterprise, sub *Subscriber) error {
	u, kind, found, err := t.holderOf(sub.Email)
	if err != nil {
		return err
	}
	if err := t.claimCheck(*e, sub.Email, u, found); err != nil {
		return err
	}
	if e.Org == "" {
		if e.Target != "" && found && u.Org == e.Target {
			return t.attach(e, sub, u)
		}
		if found && kind == Enterprise {
			return errUseAttach(sub.Email, u.Org)
		}
		if err := t.newBWOrg(e, sub); err != nil {
			return err
		}
		sub.Admin = true
	}
	switch {
	case !found:
		return t.provision(*e, sub, nil)
	case u.Org == e.Org:
		return t.provision(*e, sub, &u)
	case kind == Enterprise:
		return errUseAttach(sub.Email, u.Org)
	}
	sub.Old = u.ID
	if err := t.setStatus(*e, sub, StatusPendingUserMigration); err != nil {
		return err
	}
	if sub.Flow != FlowTrusted {
		return nil // the validation e-mail the user just followed was the notification
	}
	return t.emit(Event{Type: EventNotifyConsent, Org: e.Org, From: u.Org, User: u.ID, Recipient: sub.Email, Subscriber: sub.ID})
}

// provision gives sub its Webex account in e's org: existing (u), or a
// new Verified user; a subscriber marked Admin becomes the org's Full
// Admin (B2).
func (t *txn) provision(e BroadWorksEnterprise, sub *Subscriber, u *User) error {
	if err := t.setStatus(e, sub, StatusProvisioning); err != nil {
		return err
	}
	if u == nil {
		o, err := t.org(e.Org)
		if err != nil {
			return err
		}
		f, err := t.joinFacts(e.Org, sub.Email)
		if err != nil {
			return err
		}
		f.verified = true // the address was trusted by the partner or validated by the user
		n := userNames{first: sub.FirstName, last: sub.LastName, display: strings.TrimSpace(sub.FirstName + " " + sub.LastName)}
		nu, err := newUser(t, o, sub.Email, n, onAdd, f)
		if err != nil {
			return err
		}
		if err := t.addUser(nu); err != nil {
			return err
		}
		u = &nu
	}
	sub.User, sub.Old = u.ID, ""
	if err := t.setStatus(e, sub, StatusProvisioned); err != nil {
		return err
	}
	if !sub.Admin {
		return nil
	}
	prof, err := t.profile(e.Org)
	if err != nil {
		return err
	}
	return t.putAdmin(prof, Admin{Email: sub.Email, Role: FullAdmin}, sub.ID)
}

// newBWOrg creates the org of an enterprise that has none (B2, B4).
func (t *txn) newBWOrg(e *BroadWorksEnterprise, sub *Subscriber) error {
	o := Org{ID: OrgID(newID("org_")), Name: e.Name, Kind: Enterprise, CreatedAt: t.now}
	if err := t.CreateOrg(o); err != nil {
		return err
	}
	if err := t.emit(Event{Type: EventOrgCreated, Org: o.ID, Detail: o.Kind.String()}); err != nil {
		return err
	}
	if err := t.emit(Event{Type: EventBWOrgCreated, Org: o.ID, From: e.Partner, Subscriber: sub.ID, Detail: string(e.ID)}); err != nil {
		return err
	}
	if err := t.mapOrg(e, o.ID, AttachNew); err != nil {
		return err
	}
	prof := OrgProfile{Org: o.ID}
	prof.putLicense(OrgLicense{Name: BroadWorksLicense, Status: LicenseActive})
	if err := t.putAdmin(prof, Admin{Email: e.Template.PartnerAdmin, Role: FullAdmin, Partner: e.Partner}, sub.ID); err != nil {
		return err
	}
	return t.emit(Event{Type: EventLicensesChanged, Org: o.ID, From: e.Partner, Subscriber: sub.ID, Detail: BroadWorksLicense})
}

// mapOrg makes org e's org (B5): a new org, or one attach has found
// free (the store refuses a second mapping too).
func (t *txn) mapOrg(e *BroadWorksEnterprise, org OrgID, mode AttachMode) error {
	e.Org, e.Attach = org, mode
	return t.PutEnterprise(*e)
}

// attachReasons returns why attaching to org needs approval (B3), in the
// order of the AttachReason constants.
func (t *txn) attachReasons(org OrgID) ([]AttachReason, error) {
	var rs []AttachReason
	n := 0
	for after := ""; n < AttachApprovalUsers; {
		us, err := t.UsersByOrg(org, after, min(pageSize, AttachApprovalUsers-n))
		if err != nil {
			return nil, err
		}
		n += len(us)
		if len(us) == 0 {
			break
		}
		after = us[len(us)-1].Email
	}
	if n >= AttachApprovalUsers {
		rs = append(rs, ReasonManyUsers)
	}
	doms, err := t.Domains(org)
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(doms, func(d Domain) bool { return d.Verified }) {
		rs = append(rs, ReasonVerifiedDomain)
	}
	if slices.ContainsFunc(doms, func(d Domain) bool { return d.Claimed }) {
		rs = append(rs, ReasonClaimedDomain)
	}
	return rs, nil
}

// attach attaches e to its Target, whose user u has sub's address (B3,
// B4), or records that it needs approval.
func (t *txn) attach(e *BroadWorksEnterprise, sub *Subscriber, u User) error {
	org := e.Target
	if other, err := t.EnterpriseByOrg(org); err == nil && other.ID != e.ID {
		return errf(ErrOrgMapped, "org %q belongs to enterprise %q", org, other.ID)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	reasons, err := t.attachReasons(org)
	if err != nil {
		return err
	}
	prof, err := t.profile(org)
	if err != nil {
		return err
	}
	pa, isAdmin := prof.admin(e.Template.PartnerAdmin)
	approved := isAdmin && pa.Role == FullAdmin && pa.Partner == e.Partner
	if len(reasons) > 0 && !approved {
		sub.Reasons = reasons
		if err := t.setStatus(*e, sub, StatusError); err != nil {
			return err
		}
		if e.Template.NoAdminInvite {
			return nil
		}
		for _, a := range prof.Admins {
			if a.Partner == "" && a.Role == FullAdmin {
				if err := t.emit(Event{Type: EventNotifyAdminInvite, Org: org, From: e.Partner, Recipient: a.Email, Subscriber: sub.ID, Detail: e.Template.PartnerAdmin}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	mode := AttachApproved
	if !approved {
		mode = AttachAutomatic
	}
	if err := t.mapOrg(e, org, mode); err != nil {
		return err
	}
	if err := t.emit(Event{Type: EventAttached, Org: org, From: e.Partner, Subscriber: sub.ID, Detail: string(mode)}); err != nil {
		return err
	}
	if err := t.setRestricted(&prof, false); err != nil {
		return err
	}
	if !approved {
		role := FullAdmin
		if slices.ContainsFunc(prof.Licenses, func(l OrgLicense) bool { return l.Status == LicenseActive }) {
			role = ProvisioningAdmin
		}
		prof.putAdmin(Admin{Email: e.Template.PartnerAdmin, Role: role, Partner: e.Partner})
		if err := t.emit(Event{Type: EventAdminAdded, Org: org, From: e.Partner, Recipient: e.Template.PartnerAdmin, Detail: string(role), Subscriber: sub.ID}); err != nil {
			return err
		}
	}
	prof.putLicense(OrgLicense{Name: BroadWorksLicense, Status: LicenseActive})
	if err := t.PutOrgProfile(prof); err != nil {
		return err
	}
	if err := t.emit(Event{Type: EventLicensesChanged, Org: org, From: e.Partner, Subscriber: sub.ID, Detail: BroadWorksLicense}); err != nil {
		return err
	}
	return t.provision(*e, sub, &u) // B4: not an admin
}

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
	var out Subscriber
	err = b.s.update(ctx, func(t *txn) error {
		sub, e, err := t.subscriberIn(nil, id, StatusPendingEmailInput)
		if err != nil {
			return err
		}
		sub.Email = p.addr
		if err := t.awaitValidation(e, &sub); err != nil {
			return err
		}
		out = sub
		return t.PutSubscriber(sub)
	})
	return out, err
}

// awaitValidation checks sub's new address (ErrEmailTaken, ErrHeldByClaim,
// ErrUseAttach) and sends the validation e-mail.
func (t *txn) awaitValidation(e BroadWorksEnterprise, sub *Subscriber) error {
	if err := t.emailFree(*sub); err != nil {
		return err
	}
	if err := t.checkAddress(e, sub.Email); err != nil {
		return err
	}
	if err := t.setStatus(e, sub, StatusPendingEmailValidation); err != nil {
		return err
	}
	return t.emit(Event{Type: EventNotifyEmailValidation, Org: e.Org, From: e.Partner, Recipient: sub.Email, Subscriber: sub.ID})
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
		if err := checkID(ErrNotFound, "enterprise", id, true); err != nil {
			return err
		}
		e, err := t.Enterprise(id)
		if errors.Is(err, ErrNotFound) {
			return errf(ErrNotFound, "enterprise %q", id)
		} else if err != nil {
			return err
		}
		sub := Subscriber{ID: ns.ID, Enterprise: id, Flow: FlowSelfActivation, Email: p.addr,
			FirstName: n.first, LastName: n.last, CreatedAt: t.now}
		if err := t.newSubscriber(e, sub); err != nil {
			return err
		}
		if err := t.awaitValidation(e, &sub); err != nil {
			return err
		}
		out = sub
		return t.PutSubscriber(sub)
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
	var out Subscriber
	err := b.s.update(ctx, func(t *txn) error {
		sub, e, err := t.subscriberIn(nil, id, StatusPendingEmailValidation)
		if err != nil {
			return err
		}
		if err := t.approvalPending(e); err != nil {
			return err
		}
		if err := t.place(&e, &sub); err != nil {
			return err
		}
		out = sub
		return t.PutSubscriber(sub)
	})
	return out, err
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
	var out Subscriber
	err := b.s.update(ctx, func(t *txn) error {
		sub, e, err := t.subscriberIn(nil, id, StatusPendingUserMigration)
		if err != nil {
			return err
		}
		// A subscriber becomes pending_user_migration only once its
		// enterprise has an org, which it keeps while the subscriber is
		// pending (Detach and DeleteOrg refuse).
		u, kind, found, err := t.holderOf(sub.Email)
		if err != nil {
			return err
		}
		if found && u.Org == e.Org {
			if err := t.provision(e, &sub, &u); err != nil {
				return err
			}
			out = sub
			return t.PutSubscriber(sub)
		}
		if found {
			if kind == Enterprise {
				return errf(ErrUseAttach, "%s is now a user of customer org %q", sub.Email, u.Org)
			}
			if err := t.removeUser(u, EventUserDeleted); err != nil {
				return err
			}
			if err := t.emit(Event{Type: EventConsent, Org: e.Org, From: u.Org, User: u.ID, Content: u.Content, Recipient: sub.Email, Subscriber: sub.ID}); err != nil {
				return err
			}
		}
		if err := t.provision(e, &sub, nil); err != nil {
			return err
		}
		out = sub
		return t.PutSubscriber(sub)
	})
	return out, err
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
	var out Subscriber
	err := b.s.update(ctx, func(t *txn) error {
		sub, e, err := t.subscriberIn(&partner, id, StatusError)
		if err != nil {
			return err
		}
		if err := t.place(&e, &sub); err != nil {
			return err
		}
		out = sub
		return t.PutSubscriber(sub)
	})
	return out, err
}

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
		if err := t.DeleteSubscriber(id); err != nil {
			return err
		}
		return t.emit(Event{Type: EventSubscriberRemoved, Org: e.Org, From: partner, User: sub.User, Subscriber: id, Detail: string(sub.Status)})
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
		e, err := t.enterprise(partner, id)
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
			if err := t.DeleteEnterprise(id); err != nil {
				return err
			}
			if err := t.emit(Event{Type: EventEnterpriseDeleted, Org: partner, Detail: string(id)}); err != nil {
				return err
			}
		} else {
			e.Org, e.Attach = "", ""
			if err := t.PutEnterprise(e); err != nil {
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
	return t.PutOrgProfile(prof)
}

// orgEnterprises applies DeleteOrg's BroadWorks rules to org (B5, B6): it
// refuses an org an enterprise belongs to, and a partner org one of whose
// enterprises belongs to an org or still has workspaces or subscribers;
// otherwise it returns the partner's enterprises, which go with it.
func (t *txn) orgEnterprises(org OrgID) ([]BroadWorksEnterprise, error) {
	if e, err := t.EnterpriseByOrg(org); err == nil {
		return nil, errf(ErrEnterpriseAttached, "org %q belongs to BroadWorks enterprise %q of partner %q; remove its workspaces and subscribers and detach it (Detach) first", org, e.ID, e.Partner)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	es, err := collectKeyed(func(after EnterpriseID, n int) ([]BroadWorksEnterprise, error) {
		return t.EnterprisesByPartner(org, after, n)
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
	if err := t.DeleteOrgProfile(org); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	for _, e := range es {
		if err := t.DeleteEnterprise(e.ID); err != nil {
			return err
		}
		if err := t.emit(Event{Type: EventEnterpriseDeleted, Org: org, Detail: string(e.ID)}); err != nil {
			return err
		}
	}
	return nil
}
