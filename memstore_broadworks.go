package claim

import (
	"fmt"
	"slices"
)

// memBW holds the memory store's Webex-for-BroadWorks records and their
// indexes, in memTables like memData's.
type memBW struct {
	enterprises *memTable[EnterpriseID, BroadWorksEnterprise]
	entByOrg    *memUnique[OrgID, EnterpriseID, BroadWorksEnterprise]                            // B5: at most one enterprise per org
	entByPart   *memOrdered[memPairKey[OrgID, EnterpriseID], EnterpriseID, BroadWorksEnterprise] // (Partner, ID)
	subscribers *memTable[SubscriberID, Subscriber]
	subByEmail  *memUnique[string, SubscriberID, Subscriber]
	subByEnt    *memOrdered[memPairKey[EnterpriseID, SubscriberID], SubscriberID, Subscriber] // (Enterprise, ID)
	profiles    *memTable[OrgID, OrgProfile]
}

// memPairKey is an entry of an index of records (second) by what they
// belong to (first): subscribers by enterprise, enterprises by partner.
type memPairKey[A, B ~string] struct {
	first  A
	second B
}

func (a memPairKey[A, B]) less(b memPairKey[A, B]) bool {
	if a.first != b.first {
		return a.first < b.first
	}
	return a.second < b.second
}

// memByFirst returns an ordered index of records, each keyed by id, by
// what they belong to (first).
func memByFirst[A, B ~string, V any](first func(*V) A) *memOrdered[memPairKey[A, B], B, V] {
	return newMemOrdered(memPairKey[A, B].less, func(id B, v *V) (memPairKey[A, B], bool) {
		return memPairKey[A, B]{first(v), id}, true
	})
}

// memPairPage returns at most limit records, got by get, of the entries
// of x under first whose second sorts after the given one, in order.
func memPairPage[A, B ~string, K comparable, V, R any](x *memOrdered[memPairKey[A, B], K, V], first A, after B, limit int, get func(B) R) []R {
	return memPage(nil, x, memPairKey[A, B]{first, after},
		func(k memPairKey[A, B]) bool { return k.first == first }, limit,
		func(k memPairKey[A, B]) R { return get(k.second) })
}

func newMemBW() *memBW {
	bw := &memBW{
		entByOrg:   newMemUnique(func(e *BroadWorksEnterprise) EnterpriseID { return e.ID }, func(_ EnterpriseID, e *BroadWorksEnterprise) (OrgID, bool) { return e.Org, e.Org != "" }),
		entByPart:  memByFirst[OrgID, EnterpriseID](func(e *BroadWorksEnterprise) OrgID { return e.Partner }),
		subByEmail: newMemUnique(func(s *Subscriber) SubscriberID { return s.ID }, func(_ SubscriberID, s *Subscriber) (string, bool) { return s.Email, s.Email != "" }),
		subByEnt:   memByFirst[EnterpriseID, SubscriberID](func(s *Subscriber) EnterpriseID { return s.Enterprise }),
		profiles:   newMemTable[OrgID](memCloneProfile),
	}
	bw.enterprises = newMemTable(memCloneEnterprise, memIndex[EnterpriseID, BroadWorksEnterprise](bw.entByOrg), bw.entByPart)
	bw.subscribers = newMemTable(memCloneSubscriber, memIndex[SubscriberID, Subscriber](bw.subByEmail), bw.subByEnt)
	return bw
}

// tables returns bw's tables.
func (bw *memBW) tables() []memLogged {
	return []memLogged{bw.enterprises, bw.subscribers, bw.profiles}
}

// Enterprise returns the enterprise with the id; ErrNotFound if missing.
func (tx *memTx) Enterprise(id EnterpriseID) (BroadWorksEnterprise, error) {
	return memRead(tx, "Enterprise", tx.d.bw.enterprises, "enterprise", id)
}

// EnterpriseByOrg returns the enterprise whose Org is org; ErrNotFound if
// none.
func (tx *memTx) EnterpriseByOrg(org OrgID) (BroadWorksEnterprise, error) {
	if err := tx.check("EnterpriseByOrg", false); err != nil {
		return BroadWorksEnterprise{}, err
	}
	e, ok := tx.d.bw.entByOrg.lookup(org)
	if !ok {
		return BroadWorksEnterprise{}, fmt.Errorf("memory store: enterprise of org %s: %w", org, ErrNotFound)
	}
	return tx.d.bw.enterprises.copyOf(e), nil
}

// PutEnterprise inserts or replaces the enterprise; ErrOrgMapped if e.Org
// is another enterprise's, or the stored record has another Org (B5).
func (tx *memTx) PutEnterprise(e BroadWorksEnterprise) error {
	if err := tx.check("PutEnterprise", true); err != nil {
		return err
	}
	bw := tx.d.bw
	if e.Org != "" {
		if other, ok := bw.entByOrg.taken(e.ID, &e); ok {
			return fmt.Errorf("memory store: enterprise %s: org %s belongs to enterprise %s: %w", e.ID, e.Org, other, ErrOrgMapped)
		}
		if old, ok := bw.enterprises.rows[e.ID]; ok && old.Org != "" && old.Org != e.Org {
			return fmt.Errorf("memory store: enterprise %s belongs to org %s, not %s: %w", e.ID, old.Org, e.Org, ErrOrgMapped)
		}
	}
	bw.enterprises.set(e.ID, &e)
	return nil
}

// DeleteEnterprise removes the enterprise; ErrNotFound if missing.
func (tx *memTx) DeleteEnterprise(id EnterpriseID) error {
	return memRemove(tx, "DeleteEnterprise", tx.d.bw.enterprises, "enterprise", id, nil)
}

// EnterprisesByPartner lists at most limit enterprises of the partner
// whose ID sorts after the given one, in ID order. Returns an error
// wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) EnterprisesByPartner(partner OrgID, after EnterpriseID, limit int) ([]BroadWorksEnterprise, error) {
	if err := tx.checkList("EnterprisesByPartner", limit); err != nil {
		return nil, err
	}
	t := tx.d.bw.enterprises
	return memPairPage(tx.d.bw.entByPart, partner, after, limit, func(id EnterpriseID) BroadWorksEnterprise {
		return t.copyOf(t.rows[id])
	}), nil
}

// Subscriber returns the subscriber with the id; ErrNotFound if missing.
func (tx *memTx) Subscriber(id SubscriberID) (Subscriber, error) {
	return memRead(tx, "Subscriber", tx.d.bw.subscribers, "subscriber", id)
}

// SubscriberByEmail returns the subscriber with the address; ErrNotFound
// if none.
func (tx *memTx) SubscriberByEmail(email string) (Subscriber, error) {
	if err := tx.check("SubscriberByEmail", false); err != nil {
		return Subscriber{}, err
	}
	s, ok := tx.d.bw.subByEmail.lookup(email)
	if !ok { // subByEmail holds no empty address
		return Subscriber{}, fmt.Errorf("memory store: subscriber %s: %w", email, ErrNotFound)
	}
	return tx.d.bw.subscribers.copyOf(s), nil
}

// PutSubscriber inserts or replaces the subscriber; ErrEmailTaken if
// another subscriber has s.Email.
func (tx *memTx) PutSubscriber(s Subscriber) error {
	if err := tx.check("PutSubscriber", true); err != nil {
		return err
	}
	if other, ok := tx.d.bw.subByEmail.taken(s.ID, &s); ok {
		return fmt.Errorf("memory store: subscriber %s: %s is subscriber %s's: %w", s.ID, s.Email, other, ErrEmailTaken)
	}
	tx.d.bw.subscribers.set(s.ID, &s)
	return nil
}

// DeleteSubscriber removes the subscriber; ErrNotFound if missing.
func (tx *memTx) DeleteSubscriber(id SubscriberID) error {
	return memRemove(tx, "DeleteSubscriber", tx.d.bw.subscribers, "subscriber", id, nil)
}

// SubscribersByEnterprise lists at most limit subscribers of the
// enterprise whose ID sorts after the given one, in ID order. Returns an
// error wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) SubscribersByEnterprise(e EnterpriseID, after SubscriberID, limit int) ([]Subscriber, error) {
	if err := tx.checkList("SubscribersByEnterprise", limit); err != nil {
		return nil, err
	}
	t := tx.d.bw.subscribers
	return memPairPage(tx.d.bw.subByEnt, e, after, limit, func(id SubscriberID) Subscriber {
		return t.copyOf(t.rows[id])
	}), nil
}

// OrgProfile returns the org's profile; ErrNotFound if none was stored.
func (tx *memTx) OrgProfile(org OrgID) (OrgProfile, error) {
	return memRead(tx, "OrgProfile", tx.d.bw.profiles, "profile of org", org)
}

// PutOrgProfile inserts or replaces the profile of p.Org.
func (tx *memTx) PutOrgProfile(p OrgProfile) error {
	if err := tx.check("PutOrgProfile", true); err != nil {
		return err
	}
	tx.d.bw.profiles.set(p.Org, &p)
	return nil
}

// DeleteOrgProfile removes the org's profile; ErrNotFound if none was
// stored.
func (tx *memTx) DeleteOrgProfile(org OrgID) error {
	return memRemove(tx, "DeleteOrgProfile", tx.d.bw.profiles, "profile of org", org, nil)
}

// memCloneEnterprise copies e; no workspaces read as nil, as from
// PostgreSQL.
func memCloneEnterprise(e BroadWorksEnterprise) BroadWorksEnterprise {
	e.Workspaces = slices.Clone(e.Workspaces)
	if len(e.Workspaces) == 0 {
		e.Workspaces = nil
	}
	return e
}

func memCloneSubscriber(s Subscriber) Subscriber {
	s.Reasons = slices.Clone(s.Reasons)
	return s
}

func memCloneProfile(p OrgProfile) OrgProfile {
	p.Admins = slices.Clone(p.Admins)
	p.Licenses = slices.Clone(p.Licenses)
	return p
}
