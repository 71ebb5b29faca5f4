package claim

// Webex for BroadWorks: enterprises, their workspaces and subscribers as
// read, and the org profile (admins, restricted mode, licenses).

import (
	"context"
	"errors"
	"iter"
	"slices"
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
		if _, err := t.tx.Enterprise(e.ID); err == nil {
			return errf(ErrDuplicate, "enterprise %q exists", e.ID)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = t.now
		}
		if err := t.tx.PutEnterprise(e); err != nil {
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
		e, err = t.enterprise(&partner, id)
		return err
	})
	return e, err
}

// enterprise returns the enterprise, or ErrNotFound; with a partner, an
// enterprise of another partner is ErrNotFound too (N3).
func (t *txn) enterprise(partner *OrgID, id EnterpriseID) (BroadWorksEnterprise, error) {
	if err := checkID(ErrNotFound, "enterprise", id, true); err != nil {
		return BroadWorksEnterprise{}, err
	}
	e, err := t.tx.Enterprise(id)
	if errors.Is(err, ErrNotFound) || err == nil && partner != nil && e.Partner != *partner {
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
	sub, err := t.tx.Subscriber(id)
	if errors.Is(err, ErrNotFound) {
		return Subscriber{}, BroadWorksEnterprise{}, errf(ErrNotFound, "subscriber %q", id)
	}
	if err != nil {
		return Subscriber{}, BroadWorksEnterprise{}, err
	}
	e, err := t.tx.Enterprise(sub.Enterprise)
	if err != nil {
		return Subscriber{}, BroadWorksEnterprise{}, err
	}
	if partner != nil && e.Partner != *partner {
		return Subscriber{}, BroadWorksEnterprise{}, errf(ErrNotFound, "subscriber %q", id) // the text of an unknown one (N3)
	}
	return sub, e, nil
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
			if _, err := t.enterprise(&partner, id); err != nil {
				return err
			}
			subs, err := t.tx.SubscribersByEnterprise(id, SubscriberID(after), pageSize)
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
	p, err := t.tx.OrgProfile(org)
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
	if err := t.tx.PutOrgProfile(prof); err != nil {
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
		if err := t.tx.PutOrgProfile(prof); err != nil {
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
		return t.tx.PutOrgProfile(prof)
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
		e, err := t.enterprise(&partner, id)
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
		if err := t.tx.PutEnterprise(e); err != nil {
			return err
		}
		return t.emit(Event{Type: typ, Org: e.Org, From: partner, Detail: name})
	})
}
