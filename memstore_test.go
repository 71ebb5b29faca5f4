package claim_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

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

// TestMemoryStoreEventLog: the memory store keeps its event log in chunks
// of 1,024 events. Transactions that append any number of events, across
// chunk boundaries, commit them with consecutive Seqs or, when they fail
// or panic, leave no event and no user write behind; Events pages
// through the log from any position, across chunks.
func TestMemoryStoreEventLog(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := claim.NewMemoryStore()
		ctx := context.Background()
		var model []claim.Event
		users := 0
		steps := rapid.IntRange(1, 6).Draw(rt, "transactions")
		for step := range steps {
			k := rapid.OneOf(rapid.IntRange(0, 3), rapid.IntRange(1020, 1030), rapid.IntRange(0, 2100)).Draw(rt, "events")
			end := rapid.SampledFrom([]string{"commit", "error", "panic"}).Draw(rt, "end")
			id := claim.UserID(fmt.Sprintf("u%d", step))
			var added []claim.Event
			run := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				return s.Update(ctx, func(tx claim.Tx) error {
					for i := range k {
						e := claim.Event{Type: claim.EventUserAdded, Detail: fmt.Sprintf("%d.%d", step, i)}
						if err := tx.AppendEvent(e); err != nil {
							return err
						}
						e.Seq = uint64(len(model) + i + 1) // numbered at commit, in order
						added = append(added, e)
						if i == k/2 {
							if err := tx.CreateUser(claim.User{ID: id, Email: string(id) + "@x.example", Org: "o"}); err != nil {
								return err
							}
						}
					}
					switch end {
					case "error":
						return errors.New("abandon")
					case "panic":
						panic("abandon")
					}
					return nil
				})
			}
			err := run()
			if (err == nil) != (end == "commit") {
				rt.Fatalf("transaction %d (%s) = %v", step, end, err)
			}
			if end == "commit" {
				model = append(model, added...)
				if k > 0 {
					users++
				}
			}
			after := rapid.IntRange(0, len(model)+2).Draw(rt, "after")
			limit := rapid.IntRange(1, 2200).Draw(rt, "limit")
			err = s.View(ctx, func(tx claim.Tx) error {
				got, err := tx.Events(uint64(after), limit)
				if err != nil {
					return err
				}
				var want []claim.Event
				if after < len(model) {
					want = model[after:min(after+limit, len(model))]
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					rt.Fatalf("Events(%d, %d) of %d (-want +got):\n%s", after, limit, len(model), diff)
				}
				us, err := tx.UsersByOrg("o", "", 100)
				if err != nil {
					return err
				}
				if len(us) != users {
					rt.Fatalf("%d users after %d transactions, want %d", len(us), step+1, users)
				}
				return nil
			})
			if err != nil {
				rt.Fatal(err)
			}
		}
	})
}

// BenchmarkMemoryStoreClaimWrites is the floor under
// BenchmarkImportClaims: the memory store alone making the writes of
// importWorld's 100,000 claims, prepared beforehand, in transactions of
// 256 rows as ImportClaims makes them, with no CSV, no rule and no
// engine. Each row is the claimed user re-indexed into org b with a
// pending claim, its original account inserted, and two events appended
// (claim.created, notify.claim). Its rows/s bounds what the import can
// reach on this store.
func BenchmarkMemoryStoreClaimWrites(b *testing.B) {
	const rows, batch = 100_000, 256
	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		store := claim.NewMemoryStore()
		e, _ := importWorldOn(b, store, rows)
		writes := claimWrites(b, e, store)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		for lo := 0; lo < len(writes); lo += 4 * batch {
			ws := writes[lo:min(lo+4*batch, len(writes))]
			if err := store.Update(e.ctx, func(tx claim.Tx) error {
				if bt, ok := tx.(claim.BulkTx); ok {
					return bt.Apply(ws)
				}
				return claim.Apply(tx, ws)
			}); err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
}

// claimWrites returns the four writes of claiming each user on
// example.com into org b, as claimOne makes them.
func claimWrites(tb testing.TB, e *env, store claim.Store) []claim.Write {
	tb.Helper()
	now := e.clock.Now()
	var writes []claim.Write
	err := store.View(e.ctx, func(tx claim.Tx) error {
		after := ""
		for {
			page, err := tx.UsersByDomain("example.com", after, 1000)
			if err != nil || len(page) == 0 {
				return err
			}
			for _, u := range page {
				orig := u
				orig.ID = claim.UserID(fmt.Sprintf("usr_orig%d", len(writes)))
				orig.Email = u.Email + claim.OriginalSuffix
				orig.HeldBy = "b"
				c := u
				c.Org, c.Licenses, c.Content, c.State = "b", []string{"Meetings", "Calling"}, 0, claim.Active
				c.Claim = &claim.ClaimInfo{By: "b", From: u.Org, Mode: claim.Immediate, PrevState: u.State, At: now,
					Deadline: now.Add(window), Original: orig.ID}
				writes = append(writes,
					claim.Write{Op: claim.WriteUpdateUser, User: c},
					claim.Write{Op: claim.WriteCreateUser, User: orig},
					claim.Write{Op: claim.WriteAppendEvent, Event: claim.Event{At: now, Type: claim.EventClaimCreated, Org: "b", From: u.Org, User: u.ID, Mode: claim.Immediate}},
					claim.Write{Op: claim.WriteAppendEvent, Event: claim.Event{At: now, Type: claim.EventNotifyClaim, Org: "b", From: u.Org, User: u.ID, Mode: claim.Immediate, Recipient: u.Email}})
			}
			after = page[len(page)-1].Email
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	return writes
}
