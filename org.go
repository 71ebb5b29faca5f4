package claim

import (
	"context"
	"strings"
)

// CreateOrg creates an organization and returns it as stored. An empty
// ID is generated; a zero CreatedAt is now. It returns an *InputError
// (ErrInvalidValue) for an ID or Name outside the limits (an ID over
// MaxIDBytes or with control, invisible or bidirectional-control
// characters or spaces around it; a Name over MaxNameChars characters or
// MaxNameBytes bytes, not UTF-8 or with a control character other than
// the tab), an empty Name, a Kind that is none or unknown
// (N5) or bad Settings, and ErrDuplicate if the ID exists. Event:
// org.created.
func (s *Service) CreateOrg(ctx context.Context, o Org) (Org, error) {
	var err error
	if o.Name, err = cleanName("Org.Name", o.Name); err != nil {
		return Org{}, err
	}
	if o.Name == "" {
		return Org{}, invalid(ErrInvalidValue, "Org.Name", o.Name, "required")
	}
	if !o.Kind.valid() {
		return Org{}, invalid(ErrInvalidValue, "Org.Kind", o.Kind, "must be Enterprise, Individual or Consumer")
	}
	if err := checkID(ErrInvalidValue, "Org.ID", o.ID, false); err != nil {
		return Org{}, err
	}
	st, err := cleanSettings(o.Settings)
	if err != nil {
		return Org{}, err
	}
	o.Settings = st
	if o.ID == "" {
		o.ID = OrgID(newID("org_"))
	}
	err = s.update(ctx, func(t *txn) error {
		if o.CreatedAt.IsZero() {
			o.CreatedAt = t.now
		}
		if err := t.tx.CreateOrg(o); err != nil {
			return err
		}
		return t.emit(Event{Type: EventOrgCreated, Org: o.ID, Detail: o.Kind.String()})
	})
	if err != nil {
		return Org{}, err
	}
	return o, nil
}

// Org returns the organization; ErrNotFound if there is none.
func (s *Service) Org(ctx context.Context, id OrgID) (Org, error) {
	var o Org
	err := s.view(ctx, func(t *txn) error {
		var err error
		o, err = t.org(id)
		return err
	})
	return o, err
}

// UpdateSettings replaces the org's settings. It returns ErrNotFound for
// an unknown org and an *InputError (ErrInvalidValue) for a negative
// Retention, an empty license name, a license named like a column of the
// CSV file (ColumnClaim, …) or two licenses whose names differ only in
// case (the file's license columns are matched case-insensitively, V7).
// License names are trimmed and de-duplicated. Event: org.settings_changed. Settings apply to what
// happens next: claims already made keep their mode.
func (s *Service) UpdateSettings(ctx context.Context, id OrgID, st Settings) error {
	st, err := cleanSettings(st)
	if err != nil {
		return err
	}
	return s.update(ctx, func(t *txn) error {
		o, err := t.wholeOrg(id)
		if err != nil {
			return err
		}
		o.Settings = st
		if err := t.tx.UpdateOrg(o); err != nil {
			return err
		}
		return t.emit(Event{Type: EventOrgSettingsChanged, Org: id})
	})
}

func cleanSettings(st Settings) (Settings, error) {
	if st.Retention < 0 {
		return Settings{}, invalid(ErrInvalidValue, "Settings.Retention", st.Retention, "must not be negative")
	}
	l, err := cleanLicenses("Settings.AutoLicenses", st.AutoLicenses)
	if err != nil {
		return Settings{}, err
	}
	// ExportClaimable gives each license a column of its own, which
	// ImportClaims finds by name whatever its case (V1, V7).
	for i, n := range l {
		for _, c := range columns {
			if strings.EqualFold(n, c) {
				return Settings{}, invalid(ErrInvalidValue, "Settings.AutoLicenses", n, "a license may not share its name with the CSV column "+c)
			}
		}
		for _, m := range l[:i] {
			if strings.EqualFold(n, m) {
				return Settings{}, invalid(ErrInvalidValue, "Settings.AutoLicenses", n, "names "+m+" again in another case")
			}
		}
	}
	st.AutoLicenses = l
	return st, nil
}

// DeleteOrg deletes an organization irreversibly (G1), in one
// transaction. The rules, in order:
//
//  1. An unknown org is ErrNotFound.
//  2. If a BroadWorks enterprise belongs to the org (attached to it, or
//     the org was created for it; B5), the deletion is refused with
//     ErrEnterpriseAttached and nothing changes: its subscribers hold
//     accounts of the org, so the partner removes its workspaces and
//     subscribers and detaches it (BroadWorks.Detach, B6) first.
//  3. If the org is a BroadWorks partner, each of its enterprises in ID
//     order is checked: one that belongs to an org refuses the deletion
//     with ErrEnterpriseAttached (detach it first), one that still has
//     workspaces, subscribers or pending users with a *DetachError
//     (ErrDetachBlocked) saying how many of each (remove them first);
//     nothing changes.
//  4. Every user of the org is brought up to date (expired delayed claims
//     resolved, X3).
//  5. If a claim made by the org, or a claim holding an original account
//     in the org, is still inside its window, the deletion is refused
//     with ErrPendingClaims and nothing changes.
//  6. A claimed user whose claim (made by the org, past its window) is
//     still pending is deleted and its original account released to its
//     org with its address and content (P2): original.released.
//  7. An original account held in the org by another org's claim (past
//     its window) is deleted with its content, and that claim ends with
//     Outcome DeleteOriginal: the user has no choice left
//     (claim.resolved).
//  8. Every other user is deleted with its content (user.deleted,
//     content.deleted when it had content).
//  9. Its domain records go: domain.released for a claimed one,
//     domain.unverified for every record.
//  10. Its BroadWorks records go: its OrgProfile (admins, restricted
//     admin mode, licenses), and, for a partner, its enterprises, empty
//     by rule 3 (bw.enterprise_deleted each).
//  11. Its meeting sites go, with what users held on them: site.deleted
//     each (S1).
//  12. The org record goes: org.deleted.
//
// Left as they are: other partners' enterprises whose attach Target is
// the org (their next first subscriber matches no user of it, so a new
// org is created, B4); admin entries of other orgs that name the org as
// their Partner (external admins' addresses, which those orgs' admins
// remove); and subscribers waiting for consent to move a user of the org
// (B1), whose Consent, the account being gone, then deletes nothing.
func (s *Service) DeleteOrg(ctx context.Context, id OrgID) error {
	return s.update(ctx, func(t *txn) error {
		if _, err := t.wholeOrg(id); err != nil {
			return err
		}
		ents, err := t.orgEnterprises(id)
		if err != nil {
			return err
		}
		list := func(after string, limit int) ([]User, error) { return t.tx.UsersByOrg(id, after, limit) }
		if err := t.each(list, func(u User) error { return t.deleteForOrg(id, u) }); err != nil {
			return err
		}
		doms, err := t.domains(id)
		if err != nil {
			return err
		}
		for _, d := range doms {
			if err := t.tx.DeleteDomain(id, d.Name); err != nil {
				return err
			}
			if d.Claimed {
				if err := t.emit(Event{Type: EventDomainReleased, Org: id, Detail: d.Name}); err != nil {
					return err
				}
			}
			if err := t.emit(Event{Type: EventDomainUnverified, Org: id, Detail: d.Name}); err != nil {
				return err
			}
		}
		if err := t.deleteOrgBW(id, ents); err != nil {
			return err
		}
		if err := t.deleteSites(id); err != nil {
			return err
		}
		if err := t.tx.DeleteOrg(id); err != nil {
			return err
		}
		return t.emit(Event{Type: EventOrgDeleted, Org: id})
	})
}

// deleteForOrg deletes one user, brought up to date, of the org being
// deleted (steps 5–8).
func (t *txn) deleteForOrg(org OrgID, u User) error {
	if u.HeldBy != "" {
		h, err := t.holder(u)
		if err != nil {
			return err
		}
		if t.now.Before(h.Claim.Deadline) {
			return errf(ErrPendingClaims, "org %q: original account %q is held by a claim of org %q until %s", org, u.Email, h.Claim.By, h.Claim.Deadline.Format("2006-01-02T15:04:05Z07:00"))
		}
		if err := t.deleteUser(u, EventUserDeleted); err != nil {
			return err
		}
		// Its state stays: only an immediate claim is pending past its
		// window (X2).
		h, _, evs, err := t.apply(h, step{on: onOrgDeleted, action: DeleteOriginal})
		if err != nil {
			return err
		}
		return t.save(h, evs)
	}
	if u.Claim.pending() && t.now.Before(u.Claim.Deadline) {
		return errf(ErrPendingClaims, "org %q: claim on user %q is inside its window until %s", org, u.Email, u.Claim.Deadline.Format("2006-01-02T15:04:05Z07:00"))
	}
	return t.deleteUser(u, EventUserDeleted)
}
