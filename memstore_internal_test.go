package claim

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMemoryIndexFloor is the floor under
// BenchmarkMemoryStoreClaimWrites: only the index and map operations the
// memory store makes for one claimed row, on bare keys, with nothing
// copied, nothing undoable and no event. The store holds 100,000 users of
// 100 orgs on one domain; each row moves a user into org b (its org
// index entry deleted and inserted, a claimant entry inserted) and adds
// its original account (two maps, its org and domain entries).
func BenchmarkMemoryIndexFloor(b *testing.B) {
	const rows = 100_000
	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		d := newMemData()
		keys := make([]memUserKey, rows)
		for i := range rows {
			id := UserID(fmt.Sprintf("usr_%07d", i))
			email := fmt.Sprintf("user%07d@example.com", i)
			keys[i] = memUserKey{group: fmt.Sprintf("o%d", i/1000), email: email, id: id}
			u := &User{ID: id, Email: email, Org: OrgID(keys[i].group)}
			d.users.rows[id], d.byEmail.m[email] = u, u
			d.byOrg.tree.ReplaceOrInsert(keys[i])
			d.byDomain.tree.ReplaceOrInsert(memUserKey{group: "example.com", email: email, id: id})
		}
		origs := make([]*User, rows)
		for i, k := range keys {
			origs[i] = &User{ID: UserID(fmt.Sprintf("usr_orig%07d", i)), Email: k.email + OriginalSuffix, Org: OrgID(k.group)}
		}
		b.StartTimer()
		start := time.Now()
		for i, k := range keys {
			u, o := d.users.rows[k.id], origs[i]
			d.users.rows[k.id], d.byEmail.m[k.email] = u, u
			d.byOrg.tree.Delete(k)
			d.byOrg.tree.ReplaceOrInsert(memUserKey{group: "b", email: k.email, id: k.id})
			d.byClaimant.tree.ReplaceOrInsert(memUserKey{group: "b", email: k.email, id: k.id})
			d.users.rows[o.ID], d.byEmail.m[o.Email] = o, o
			d.byOrg.tree.ReplaceOrInsert(memUserKey{group: k.group, email: o.Email, id: o.ID})
			d.byDomain.tree.ReplaceOrInsert(memUserKey{group: "example.com" + OriginalSuffix, email: o.Email, id: o.ID})
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
}

// TestMemoryEventChunks: a store of a few events holds a few events' worth
// of log, not a whole chunk; the chunks after the first are made whole,
// so that appending to them never copies.
func TestMemoryEventChunks(t *testing.T) {
	s := NewMemoryStore().(*memStore)
	appendN := func(n int) {
		t.Helper()
		err := s.Update(t.Context(), func(tx Tx) error {
			for range n {
				if err := tx.AppendEvent(Event{Type: EventUserAdded}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	appendN(3)
	if c := cap(s.data.events[0]); c >= memEventChunk/4 {
		t.Errorf("3 events: the first chunk holds room for %d", c)
	}
	appendN(memEventChunk)
	if n := len(s.data.events); n != 2 {
		t.Fatalf("%d events in %d chunks, want 2", memEventChunk+3, n)
	}
	if c := cap(s.data.events[1]); c != memEventChunk {
		t.Errorf("the second chunk holds room for %d, want %d", c, memEventChunk)
	}
}
