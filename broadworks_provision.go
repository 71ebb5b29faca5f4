package claim

// Webex for BroadWorks: provisioning a subscriber, placing its address
// (B1–B4) and the attach to an existing customer org (B3–B5).

import (
	"context"
	"errors"
	"slices"
	"strings"
)

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
		e, err := t.enterprise(&partner, id)
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
			if err := t.moveSubscriber(e, &sub, onProvision, subFacts{}); err != nil {
				return err
			}
		} else {
			if err := t.approvalPending(e); err != nil {
				return err
			}
			if err := t.place(&e, &sub, onProvision); err != nil {
				return err
			}
		}
		out = sub
		return t.tx.PutSubscriber(sub)
	})
	return out, err
}

// newSubscriber checks that sub's ID and address are free and writes
// bw.subscriber_added.
func (t *txn) newSubscriber(e BroadWorksEnterprise, sub Subscriber) error {
	if _, err := t.tx.Subscriber(sub.ID); err == nil {
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
	other, err := t.tx.SubscriberByEmail(sub.Email)
	if err == nil && other.ID != sub.ID {
		return errf(ErrEmailTaken, "%s is the address of subscriber %q", sub.Email, other.ID)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
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
	return func(after SubscriberID, n int) ([]Subscriber, error) {
		return t.tx.SubscribersByEnterprise(e, after, n)
	}
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
// provisions sub or makes it wait for consent (B1), moving it on trigger
// on. It updates *e and *sub; the caller stores sub.
func (t *txn) place(e *BroadWorksEnterprise, sub *Subscriber, on subTrigger) error {
	if e.Org == "" && e.Target != "" {
		// An attach lists the target's users (attachReasons).
		if err := t.lockOrg(e.Target); err != nil {
			return err
		}
	}
	u, kind, found, err := t.holderOf(sub.Email)
	if err != nil {
		return err
	}
	if err := t.claimCheck(*e, sub.Email, u, found); err != nil {
		return err
	}
	if e.Org == "" {
		if e.Target != "" && found && u.Org == e.Target {
			return t.attach(e, sub, u, on)
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
		return t.provision(*e, sub, nil, on)
	case u.Org == e.Org:
		return t.provision(*e, sub, &u, on)
	case kind == Enterprise:
		return errUseAttach(sub.Email, u.Org)
	}
	return t.moveSubscriber(*e, sub, on, subFacts{old: u.ID, oldOrg: u.Org})
}

// provision gives sub its Webex account in e's org: existing (u), or a
// new Verified user; a subscriber marked Admin becomes the org's Full
// Admin (B2). Trigger on moves sub to provisioning.
func (t *txn) provision(e BroadWorksEnterprise, sub *Subscriber, u *User, on subTrigger) error {
	if err := t.moveSubscriber(e, sub, on, subFacts{}); err != nil {
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
		nu, evs, err := newUser(t, o, sub.Email, n, onAdd, f)
		if err != nil {
			return err
		}
		if err := t.addUser(nu, evs); err != nil {
			return err
		}
		u = &nu
	}
	if err := t.moveSubscriber(e, sub, onAccount, subFacts{user: u.ID}); err != nil {
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
	if err := t.tx.CreateOrg(o); err != nil {
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
	return t.tx.PutEnterprise(*e)
}

// attachReasons returns why attaching to org needs approval (B3), in the
// order of the AttachReason constants.
func (t *txn) attachReasons(org OrgID) ([]AttachReason, error) {
	var rs []AttachReason
	us, err := t.tx.UsersByOrg(org, "", AttachApprovalUsers) // enough to tell: no paging
	if err != nil {
		return nil, err
	}
	if len(us) >= AttachApprovalUsers {
		rs = append(rs, ReasonManyUsers)
	}
	doms, err := t.domains(org)
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
// B4), or records that it needs approval, moving sub on trigger on.
func (t *txn) attach(e *BroadWorksEnterprise, sub *Subscriber, u User, on subTrigger) error {
	org := e.Target
	if other, err := t.tx.EnterpriseByOrg(org); err == nil && other.ID != e.ID {
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
		if err := t.moveSubscriber(*e, sub, on, subFacts{reasons: reasons}); err != nil {
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
	if err := t.tx.PutOrgProfile(prof); err != nil {
		return err
	}
	if err := t.emit(Event{Type: EventLicensesChanged, Org: org, From: e.Partner, Subscriber: sub.ID, Detail: BroadWorksLicense}); err != nil {
		return err
	}
	return t.provision(*e, sub, &u, on) // B4: not an admin
}
