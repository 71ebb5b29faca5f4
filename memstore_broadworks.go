package claim

import (
	"fmt"
	"slices"

	"github.com/google/btree"
)

// memBW holds the memory store's Webex-for-BroadWorks records and their
// indexes. Like memData's, its set methods are the only code that changes
// records, keep every index in step, and are undone through the Tx's
// undo log.
type memBW struct {
	enterprises map[EnterpriseID]BroadWorksEnterprise
	entByOrg    map[OrgID]EnterpriseID                         // B5: at most one enterprise per org
	entByPart   *btree.BTreeG[memPairKey[OrgID, EnterpriseID]] // (Partner, ID)
	subscribers map[SubscriberID]Subscriber
	subByEmail  map[string]SubscriberID
	subByEnt    *btree.BTreeG[memPairKey[EnterpriseID, SubscriberID]] // (Enterprise, ID)
	profiles    map[OrgID]OrgProfile
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

// memPage returns at most limit records, got by get, of the entries of
// index under first whose second sorts after the given one, in order.
func memPage[A, B ~string, V any](index *btree.BTreeG[memPairKey[A, B]], first A, after B, limit int, get func(B) V) []V {
	var out []V
	index.AscendGreaterOrEqual(memPairKey[A, B]{first, after}, func(k memPairKey[A, B]) bool {
		if k.first != first {
			return false
		}
		if k.second == after {
			return true
		}
		out = append(out, get(k.second))
		return len(out) < limit
	})
	return out
}

func newMemBW() *memBW {
	return &memBW{
		enterprises: make(map[EnterpriseID]BroadWorksEnterprise),
		entByOrg:    make(map[OrgID]EnterpriseID),
		entByPart:   btree.NewG(memDegree, memPairKey[OrgID, EnterpriseID].less),
		subscribers: make(map[SubscriberID]Subscriber),
		subByEmail:  make(map[string]SubscriberID),
		subByEnt:    btree.NewG(memDegree, memPairKey[EnterpriseID, SubscriberID].less),
		profiles:    make(map[OrgID]OrgProfile),
	}
}

// Enterprise returns the enterprise with the id; ErrNotFound if missing.
func (tx *memTx) Enterprise(id EnterpriseID) (BroadWorksEnterprise, error) {
	if err := tx.check("Enterprise", false); err != nil {
		return BroadWorksEnterprise{}, err
	}
	e, ok := tx.d.bw.enterprises[id]
	if !ok {
		return BroadWorksEnterprise{}, fmt.Errorf("memory store: enterprise %s: %w", id, ErrNotFound)
	}
	return memCloneEnterprise(e), nil
}

// EnterpriseByOrg returns the enterprise whose Org is org; ErrNotFound if
// none.
func (tx *memTx) EnterpriseByOrg(org OrgID) (BroadWorksEnterprise, error) {
	if err := tx.check("EnterpriseByOrg", false); err != nil {
		return BroadWorksEnterprise{}, err
	}
	id, ok := tx.d.bw.entByOrg[org]
	if !ok {
		return BroadWorksEnterprise{}, fmt.Errorf("memory store: enterprise of org %s: %w", org, ErrNotFound)
	}
	return memCloneEnterprise(tx.d.bw.enterprises[id]), nil
}

// PutEnterprise inserts or replaces the enterprise; ErrOrgMapped if e.Org
// is another enterprise's, or the stored record has another Org (B5).
func (tx *memTx) PutEnterprise(e BroadWorksEnterprise) error {
	if err := tx.check("PutEnterprise", true); err != nil {
		return err
	}
	bw := tx.d.bw
	if e.Org != "" {
		if other, ok := bw.entByOrg[e.Org]; ok && other != e.ID {
			return fmt.Errorf("memory store: enterprise %s: org %s belongs to enterprise %s: %w", e.ID, e.Org, other, ErrOrgMapped)
		}
		if old, ok := bw.enterprises[e.ID]; ok && old.Org != "" && old.Org != e.Org {
			return fmt.Errorf("memory store: enterprise %s belongs to org %s, not %s: %w", e.ID, old.Org, e.Org, ErrOrgMapped)
		}
	}
	e = memCloneEnterprise(e)
	tx.setEnterprise(e.ID, &e)
	return nil
}

// DeleteEnterprise removes the enterprise; ErrNotFound if missing.
func (tx *memTx) DeleteEnterprise(id EnterpriseID) error {
	if err := tx.check("DeleteEnterprise", true); err != nil {
		return err
	}
	if _, ok := tx.d.bw.enterprises[id]; !ok {
		return fmt.Errorf("memory store: enterprise %s: %w", id, ErrNotFound)
	}
	tx.setEnterprise(id, nil)
	return nil
}

// setEnterprise stores *e (owned from then on) as the enterprise id, or
// removes it if e is nil, recording the undo.
func (tx *memTx) setEnterprise(id EnterpriseID, e *BroadWorksEnterprise) {
	bw := tx.d.bw
	prev, existed := bw.enterprises[id]
	tx.onUndo(func() {
		if existed {
			bw.setEnterprise(id, &prev)
		} else {
			bw.setEnterprise(id, nil)
		}
	})
	bw.setEnterprise(id, e)
}

func (bw *memBW) setEnterprise(id EnterpriseID, e *BroadWorksEnterprise) {
	if old, ok := bw.enterprises[id]; ok {
		delete(bw.enterprises, id)
		if old.Org != "" {
			delete(bw.entByOrg, old.Org)
		}
		bw.entByPart.Delete(memPairKey[OrgID, EnterpriseID]{old.Partner, id})
	}
	if e == nil {
		return
	}
	bw.enterprises[id] = *e
	if e.Org != "" {
		bw.entByOrg[e.Org] = id
	}
	bw.entByPart.ReplaceOrInsert(memPairKey[OrgID, EnterpriseID]{e.Partner, id})
}

// EnterprisesByPartner lists at most limit enterprises of the partner
// whose ID sorts after the given one, in ID order. Returns an error
// wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) EnterprisesByPartner(partner OrgID, after EnterpriseID, limit int) ([]BroadWorksEnterprise, error) {
	if err := tx.checkList("EnterprisesByPartner", limit); err != nil {
		return nil, err
	}
	return memPage(tx.d.bw.entByPart, partner, after, limit, func(id EnterpriseID) BroadWorksEnterprise {
		return memCloneEnterprise(tx.d.bw.enterprises[id])
	}), nil
}

// Subscriber returns the subscriber with the id; ErrNotFound if missing.
func (tx *memTx) Subscriber(id SubscriberID) (Subscriber, error) {
	if err := tx.check("Subscriber", false); err != nil {
		return Subscriber{}, err
	}
	s, ok := tx.d.bw.subscribers[id]
	if !ok {
		return Subscriber{}, fmt.Errorf("memory store: subscriber %s: %w", id, ErrNotFound)
	}
	return memCloneSubscriber(s), nil
}

// SubscriberByEmail returns the subscriber with the address; ErrNotFound
// if none.
func (tx *memTx) SubscriberByEmail(email string) (Subscriber, error) {
	if err := tx.check("SubscriberByEmail", false); err != nil {
		return Subscriber{}, err
	}
	id, ok := tx.d.bw.subByEmail[email]
	if !ok { // subByEmail holds no empty address
		return Subscriber{}, fmt.Errorf("memory store: subscriber %s: %w", email, ErrNotFound)
	}
	return memCloneSubscriber(tx.d.bw.subscribers[id]), nil
}

// PutSubscriber inserts or replaces the subscriber; ErrEmailTaken if
// another subscriber has s.Email.
func (tx *memTx) PutSubscriber(s Subscriber) error {
	if err := tx.check("PutSubscriber", true); err != nil {
		return err
	}
	if other, ok := tx.d.bw.subByEmail[s.Email]; ok && other != s.ID {
		return fmt.Errorf("memory store: subscriber %s: %s is subscriber %s's: %w", s.ID, s.Email, other, ErrEmailTaken)
	}
	s = memCloneSubscriber(s)
	tx.setSubscriber(s.ID, &s)
	return nil
}

// DeleteSubscriber removes the subscriber; ErrNotFound if missing.
func (tx *memTx) DeleteSubscriber(id SubscriberID) error {
	if err := tx.check("DeleteSubscriber", true); err != nil {
		return err
	}
	if _, ok := tx.d.bw.subscribers[id]; !ok {
		return fmt.Errorf("memory store: subscriber %s: %w", id, ErrNotFound)
	}
	tx.setSubscriber(id, nil)
	return nil
}

// setSubscriber stores *s (owned from then on) as the subscriber id, or
// removes it if s is nil, recording the undo.
func (tx *memTx) setSubscriber(id SubscriberID, s *Subscriber) {
	bw := tx.d.bw
	prev, existed := bw.subscribers[id]
	tx.onUndo(func() {
		if existed {
			bw.setSubscriber(id, &prev)
		} else {
			bw.setSubscriber(id, nil)
		}
	})
	bw.setSubscriber(id, s)
}

func (bw *memBW) setSubscriber(id SubscriberID, s *Subscriber) {
	if old, ok := bw.subscribers[id]; ok {
		delete(bw.subscribers, id)
		if old.Email != "" {
			delete(bw.subByEmail, old.Email)
		}
		bw.subByEnt.Delete(memPairKey[EnterpriseID, SubscriberID]{old.Enterprise, id})
	}
	if s == nil {
		return
	}
	bw.subscribers[id] = *s
	if s.Email != "" {
		bw.subByEmail[s.Email] = id
	}
	bw.subByEnt.ReplaceOrInsert(memPairKey[EnterpriseID, SubscriberID]{s.Enterprise, id})
}

// SubscribersByEnterprise lists at most limit subscribers of the
// enterprise whose ID sorts after the given one, in ID order. Returns an
// error wrapping ErrInvalidValue if limit <= 0.
func (tx *memTx) SubscribersByEnterprise(e EnterpriseID, after SubscriberID, limit int) ([]Subscriber, error) {
	if err := tx.checkList("SubscribersByEnterprise", limit); err != nil {
		return nil, err
	}
	return memPage(tx.d.bw.subByEnt, e, after, limit, func(id SubscriberID) Subscriber {
		return memCloneSubscriber(tx.d.bw.subscribers[id])
	}), nil
}

// OrgProfile returns the org's profile; ErrNotFound if none was stored.
func (tx *memTx) OrgProfile(org OrgID) (OrgProfile, error) {
	if err := tx.check("OrgProfile", false); err != nil {
		return OrgProfile{}, err
	}
	p, ok := tx.d.bw.profiles[org]
	if !ok {
		return OrgProfile{}, fmt.Errorf("memory store: profile of org %s: %w", org, ErrNotFound)
	}
	return memCloneProfile(p), nil
}

// PutOrgProfile inserts or replaces the profile of p.Org.
func (tx *memTx) PutOrgProfile(p OrgProfile) error {
	if err := tx.check("PutOrgProfile", true); err != nil {
		return err
	}
	bw := tx.d.bw
	prev, existed := bw.profiles[p.Org]
	tx.onUndo(func() {
		if existed {
			bw.profiles[p.Org] = prev
		} else {
			delete(bw.profiles, p.Org)
		}
	})
	bw.profiles[p.Org] = memCloneProfile(p)
	return nil
}

// DeleteOrgProfile removes the org's profile; ErrNotFound if none was
// stored.
func (tx *memTx) DeleteOrgProfile(org OrgID) error {
	if err := tx.check("DeleteOrgProfile", true); err != nil {
		return err
	}
	bw := tx.d.bw
	prev, ok := bw.profiles[org]
	if !ok {
		return fmt.Errorf("memory store: profile of org %s: %w", org, ErrNotFound)
	}
	tx.onUndo(func() { bw.profiles[org] = prev })
	delete(bw.profiles, org)
	return nil
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
