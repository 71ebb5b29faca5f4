package claim_test

import (
	"fmt"
	"testing"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) claim.Store { return claim.NewMemoryStore() })
}

// BenchmarkMemoryStoreUsersByOrg reads a page of 50 of an org's users,
// from the middle of the org, at two sizes of store: the cost is the
// same, since the page is read from an index entered at its after key.
func BenchmarkMemoryStoreUsersByOrg(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			s := claim.NewMemoryStore()
			err := s.Update(b.Context(), func(tx claim.Tx) error {
				for i := range n {
					u := claim.User{
						ID:       claim.UserID(fmt.Sprintf("u%d", i)),
						Email:    fmt.Sprintf("user%07d@example.com", i),
						Org:      "acme",
						State:    claim.Active,
						Licenses: []string{"messaging", "meetings"},
					}
					if err := tx.CreateUser(u); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatalf("Update() = %v, want nil", err)
			}
			after := fmt.Sprintf("user%07d@example.com", n/2)
			for b.Loop() {
				err := s.View(b.Context(), func(tx claim.Tx) error {
					users, err := tx.UsersByOrg("acme", after, 50)
					if err == nil && len(users) != 50 {
						err = fmt.Errorf("UsersByOrg() returned %d users, want 50", len(users))
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMemoryStoreTxAfterEnd: a Tx kept after its fn has returned refuses
// every call, so it cannot change the store outside the lock.
func TestMemoryStoreTxAfterEnd(t *testing.T) {
	s := claim.NewMemoryStore()
	var kept claim.Tx
	err := s.Update(t.Context(), func(tx claim.Tx) error {
		kept = tx
		return tx.CreateUser(claim.User{ID: "u1", Email: "ann@example.com", Org: "acme"})
	})
	if err != nil {
		t.Fatalf("Update() = %v, want nil", err)
	}
	if err := kept.CreateUser(claim.User{ID: "u2", Email: "bob@example.com", Org: "acme"}); err == nil {
		t.Errorf("CreateUser() on an ended Tx = nil, want an error")
	}
	if _, err := kept.User("u1"); err == nil {
		t.Errorf("User() on an ended Tx = nil error, want an error")
	}
	err = s.View(t.Context(), func(tx claim.Tx) error {
		kept = tx
		return nil
	})
	if err != nil {
		t.Fatalf("View() = %v, want nil", err)
	}
	if _, err := kept.UsersByOrg("acme", "", 10); err == nil {
		t.Errorf("UsersByOrg() on an ended View's Tx = nil error, want an error")
	}
	err = s.View(t.Context(), func(tx claim.Tx) error {
		users, err := tx.UsersByOrg("acme", "", 10)
		if err != nil {
			return err
		}
		if len(users) != 1 || users[0].ID != "u1" {
			t.Errorf("UsersByOrg(acme) = %v, want u1 alone", users)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View() = %v, want nil", err)
	}
}
