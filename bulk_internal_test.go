package claim

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// bulkOp is one call of TestBulkTxIsTransparent.
type bulkOp struct {
	name string
	call func(tx Tx) string // the call's observable result
}

// outcome renders a result and the sentinel of its error.
func outcome(v any, err error) string {
	for _, s := range []error{ErrNotFound, ErrDuplicate, ErrEmailTaken, ErrDomainClaimedByOther} {
		if errors.Is(err, s) {
			return fmt.Sprintf("%v", s)
		}
	}
	if err != nil {
		return "error: " + err.Error()
	}
	show := func(u User) string {
		c := "none"
		if u.Claim != nil {
			c = fmt.Sprintf("%+v", *u.Claim)
		}
		u.Claim = nil
		return fmt.Sprintf("%+v claim %s", u, c)
	}
	switch v := v.(type) {
	case User:
		return show(v)
	case []User:
		var out string
		for _, u := range v {
			out += show(u) + "; "
		}
		return out
	}
	return fmt.Sprintf("%+v", v)
}

// TestBulkTxIsTransparent: a sequence of the calls a bulkTx decorates, flushed
// at the end, returns what the same calls return on the Tx itself and
// leaves the same store — with and without the store's BulkTx path.
func TestBulkTxIsTransparent(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		ids := []UserID{"u1", "u2", "u3", "u4", "u5"}
		addrs := []string{"a@x.example", "b@x.example", "c@y.example", "d@y.example", "e@x.example", "f@y.example"}
		// A model of which IDs and addresses exist, so that the writes
		// drawn are valid (a bulkTx reports a bad write at flush).
		byID := map[UserID]string{"u5": "f@y.example"} // u5 exists from the start
		taken := map[string]bool{"f@y.example": true}
		var ops []bulkOp
		n := rapid.IntRange(1, 30).Draw(rt, "ops")
		for range n {
			id := rapid.SampledFrom(ids).Draw(rt, "id")
			addr := rapid.SampledFrom(addrs).Draw(rt, "email")
			org := rapid.SampledFrom([]OrgID{"o1", "o2"}).Draw(rt, "org")
			dom := rapid.SampledFrom([]string{"x.example", "y.example"}).Draw(rt, "domain")
			content := rapid.IntRange(0, 9).Draw(rt, "content")
			// Each write is read around: before it (so that the cache
			// holds the old value) and after it (which must see the write).
			readUser := func(id UserID, addrs ...string) {
				ops = append(ops, bulkOp{"User " + string(id), func(tx Tx) string { return outcome(tx.User(id)) }})
				for _, a := range addrs {
					ops = append(ops, bulkOp{"UserByEmail " + a, func(tx Tx) string { return outcome(tx.UserByEmail(a)) }})
				}
			}
			switch rapid.IntRange(0, 9).Draw(rt, "kind") {
			case 0, 1:
				if byID[id] != "" || taken[addr] {
					continue
				}
				byID[id], taken[addr] = addr, true
				u := User{ID: id, Email: addr, Org: org, State: Verified, Content: content, Licenses: []string{"L"}, CreatedAt: now}
				readUser(id, addr)
				ops = append(ops, bulkOp{"CreateUser " + string(id), func(tx Tx) string { return outcome(nil, tx.CreateUser(u)) }})
				readUser(id, addr)
			case 2, 3:
				old := byID[id]
				if old == "" || (taken[addr] && addr != old) {
					continue
				}
				delete(taken, old)
				byID[id], taken[addr] = addr, true
				u := User{ID: id, Email: addr, Org: org, State: Active, Content: content, CreatedAt: now,
					Claim: &ClaimInfo{By: org, Mode: Delayed, At: now, Deadline: now.Add(time.Hour)}}
				readUser(id, old, addr)
				ops = append(ops, bulkOp{"UpdateUser " + string(id), func(tx Tx) string { return outcome(nil, tx.UpdateUser(u)) }})
				readUser(id, old, addr)
			case 4:
				if byID[id] == "" {
					continue
				}
				old := byID[id]
				delete(taken, old)
				delete(byID, id)
				if rapid.Bool().Draw(rt, "read before") {
					readUser(id, old)
				}
				ops = append(ops, bulkOp{"DeleteUser " + string(id), func(tx Tx) string { return outcome(nil, tx.DeleteUser(id)) }})
				readUser(id, old)
			case 5:
				ops = append(ops, bulkOp{"User " + string(id), func(tx Tx) string { return outcome(tx.User(id)) }})
			case 6:
				ops = append(ops, bulkOp{"UserByEmail " + addr, func(tx Tx) string { return outcome(tx.UserByEmail(addr)) }})
			case 7:
				e := Event{At: now, Type: EventUserAdded, Org: org, User: id, Content: content}
				ops = append(ops, bulkOp{"AppendEvent", func(tx Tx) string {
					err := tx.AppendEvent(e)
					return outcome(nil, err)
				}})
			case 8:
				ops = append(ops, bulkOp{"Org " + string(org), func(tx Tx) string { return outcome(tx.Org(org)) }})
			case 9:
				ops = append(ops, bulkOp{"Domain " + dom, func(tx Tx) string { return outcome(tx.Domain(org, dom)) }})
				ops = append(ops, bulkOp{"DomainClaimant " + dom, func(tx Tx) string { return outcome(tx.DomainClaimant(dom)) }})
			}
		}
		prefetch := rapid.SliceOfN(rapid.SampledFrom(addrs), 0, 4).Draw(rt, "prefetch")

		run := func(bulk, withPath bool) ([]string, string) {
			s := NewMemoryStore()
			ctx := context.Background()
			err := s.Update(ctx, func(tx Tx) error {
				for _, o := range []OrgID{"o1", "o2"} {
					if err := tx.CreateOrg(Org{ID: o, Name: string(o), Kind: Enterprise, CreatedAt: now}); err != nil {
						return err
					}
				}
				return tx.CreateUser(User{ID: "u5", Email: "f@y.example", Org: "o2", State: Inactive, InactiveSince: now, CreatedAt: now})
			})
			if err != nil {
				rt.Fatal(err)
			}
			var out []string
			err = s.Update(ctx, func(tx Tx) error {
				if !withPath {
					tx = plainTx{tx} // without the memory store's bulk path
				}
				use := tx
				var bt *bulkTx
				if bulk {
					bt = newBulkTx(tx)
					if err := bt.prefetch(prefetch); err != nil {
						return err
					}
					use = bt
				}
				for _, op := range ops {
					out = append(out, op.name+": "+op.call(use))
				}
				if bt != nil {
					return bt.flush()
				}
				return nil
			})
			if err != nil {
				rt.Fatalf("Update = %v", err)
			}
			var final string
			_ = s.View(ctx, func(tx Tx) error {
				for _, o := range []OrgID{"o1", "o2"} {
					us, err := tx.UsersByOrg(o, "", 100)
					final += outcome(us, err)
				}
				evs, err := tx.Events(0, 100)
				final += outcome(evs, err)
				return nil
			})
			return out, final
		}
		wantOut, wantFinal := run(false, false)
		for _, withPath := range []bool{false, true} {
			gotOut, gotFinal := run(true, withPath)
			if diff := cmp.Diff(wantOut, gotOut); diff != "" {
				rt.Fatalf("results through bulkTx (store's bulk path %v) differ (-direct +bulk):\n%s", withPath, diff)
			}
			if diff := cmp.Diff(wantFinal, gotFinal); diff != "" {
				rt.Fatalf("store after bulkTx (store's bulk path %v) differs (-direct +bulk):\n%s", withPath, diff)
			}
		}
	})
}

// plainTx hides the BulkTx capability of a memory store's Tx.
type plainTx struct{ Tx }

// memBulk gives a memory store's Tx the BulkTx capability, built from
// its single methods, so that bulkTx's use of the capability is tested.
type memBulk struct{ Tx }

func (m memBulk) UsersByEmails(emails []string) ([]User, error) {
	var us []User
	for _, e := range emails {
		u, err := m.UserByEmail(e)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, nil
}

func (m memBulk) Apply(ws []Write) error { return Apply(m.Tx, ws) }

// countTx counts the user lookups that reach the store.
type countTx struct {
	memBulk
	lookups int
}

func (c *countTx) User(id UserID) (User, error) { c.lookups++; return c.memBulk.User(id) }

func (c *countTx) UserByEmail(e string) (User, error) {
	c.lookups++
	return c.memBulk.UserByEmail(e)
}

func (c *countTx) Domain(org OrgID, name string) (Domain, error) {
	c.lookups++
	return c.memBulk.Domain(org, name)
}

func (c *countTx) DomainClaimant(name string) (OrgID, error) {
	c.lookups++
	return c.memBulk.DomainClaimant(name)
}

// After a prefetch, the batch's users, and its addresses of no account,
// are answered without a lookup in the store.
func TestBulkTxPrefetch(t *testing.T) {
	s := NewMemoryStore()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.CreateOrg(Org{ID: "o1", Name: "o1", Kind: Enterprise, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateUser(User{ID: "u1", Email: "a@x.example", Org: "o1", State: Verified, CreatedAt: now}); err != nil {
			return err
		}
		ct := &countTx{memBulk: memBulk{tx}}
		bt := newBulkTx(ct)
		if err := bt.prefetch([]string{"a@x.example", "nobody@x.example"}); err != nil {
			return err
		}
		if u, err := bt.UserByEmail("a@x.example"); err != nil || u.ID != "u1" {
			t.Errorf("UserByEmail(a) = %+v, %v", u, err)
		}
		if u, err := bt.User("u1"); err != nil || u.Email != "a@x.example" {
			t.Errorf("User(u1) = %+v, %v", u, err)
		}
		if _, err := bt.UserByEmail("nobody@x.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserByEmail(nobody) = %v, want ErrNotFound", err)
		}
		if ct.lookups != 0 {
			t.Errorf("%d lookups reached the store after the prefetch, want 0", ct.lookups)
		}
		// A missing domain record and a domain nobody claims are looked
		// up once.
		for range 3 {
			if _, err := bt.Domain("o1", "x.example"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Domain(o1, x.example) = %v, want ErrNotFound", err)
			}
			if _, err := bt.DomainClaimant("x.example"); !errors.Is(err, ErrNotFound) {
				t.Errorf("DomainClaimant(x.example) = %v, want ErrNotFound", err)
			}
		}
		if ct.lookups != 2 {
			t.Errorf("%d lookups reached the store for two missing records read three times, want 2", ct.lookups)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBulkTxRebind: a bulkTx rebound to a later transaction (as
// ImportClaims reuses one across its batches) starts with nothing cached
// and nothing queued: it reads what other transactions wrote since, and
// it applies neither the earlier transactions' writes again nor those an
// abandoned transaction queued.
func TestBulkTxRebind(t *testing.T) {
	s := NewMemoryStore()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	u := User{ID: "u1", Email: "a@x.example", Org: "o1", State: Verified, CreatedAt: now}
	var bt *bulkTx
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.CreateOrg(Org{ID: "o1", Name: "o1", Kind: Enterprise, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		bt = newBulkTx(tx)
		if _, err := bt.DomainClaimant("x.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DomainClaimant(x.example) = %v, want ErrNotFound", err)
		}
		if _, err := bt.User("u1"); err != nil {
			return err
		}
		if err := bt.AppendEvent(Event{At: now, Type: EventUserAdded, Org: "o1", User: "u1"}); err != nil {
			return err
		}
		return bt.flush()
	})
	if err != nil {
		t.Fatal(err)
	}
	// An abandoned transaction (a store retrying fn, a failed batch)
	// leaves its queued writes unapplied.
	abandon := errors.New("abandon")
	err = s.Update(ctx, func(tx Tx) error {
		bt.rebind(tx)
		if err := bt.AppendEvent(Event{At: now, Type: EventUserDeleted, Org: "o1", User: "u1"}); err != nil {
			return err
		}
		return abandon
	})
	if !errors.Is(err, abandon) {
		t.Fatalf("Update = %v, want %v", err, abandon)
	}
	moved := u
	moved.Email = "b@x.example"
	err = s.Update(ctx, func(tx Tx) error {
		if err := tx.UpdateUser(moved); err != nil {
			return err
		}
		return tx.PutDomain(Domain{Org: "o1", Name: "x.example", Verified: true, Claimed: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx Tx) error {
		bt.rebind(tx)
		if got, err := bt.User("u1"); err != nil || got.Email != "b@x.example" {
			t.Errorf("User(u1) after rebind = %+v, %v; want the address written since", got, err)
		}
		if _, err := bt.UserByEmail("a@x.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserByEmail(a) after rebind = %v, want ErrNotFound", err)
		}
		if c, err := bt.DomainClaimant("x.example"); err != nil || c != "o1" {
			t.Errorf("DomainClaimant(x.example) after rebind = %q, %v; want o1", c, err)
		}
		return bt.flush()
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx Tx) error {
		evs, err := tx.Events(0, 10)
		if err != nil || len(evs) != 1 {
			t.Errorf("Events = %d events, %v; want the one event, applied once", len(evs), err)
		}
		return nil
	})
}
