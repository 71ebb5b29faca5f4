package postgres

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// TestQueueLocksOrder: a batch takes its queued keys first, then the
// site access rows of the users it deletes, then the keys read from rows
// (lockRow), and the event lock last: in queryLock's own statement when
// nothing comes between, else in a statement after the rows' keys, so
// that the batch waits for no key while it holds the event lock. (Each
// write sends its lockRow statements at once today, so no engine path
// puts them in the batch that commits; the order still holds if one
// does.)
func TestQueueLocksOrder(t *testing.T) {
	const row = "SELECT the keys of a row"
	for _, c := range []struct {
		name     string
		deletes  []string
		stmts    bool
		want     []string
		withEvts []bool // per statement of queryLock/queryLockDeleting: its events argument
	}{
		{"keys and events", nil, false, []string{queryLock}, []bool{true}},
		{"deletes", []string{"u1"}, false, []string{queryLockDeleting}, []bool{true}},
		{"rows' keys", nil, true, []string{queryLock, row, queryLock}, []bool{false, true}},
		{"deletes and rows' keys", []string{"u1"}, true, []string{queryLockDeleting, row, queryLock}, []bool{false, true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := &tx{writable: true}
			x.lock(lockShared, keyOrg+"acme")
			x.locks.deletes = c.deletes
			if c.stmts {
				x.lockRow(row)
			}
			x.locks.events = true
			b := &pgx.Batch{}
			x.queueLocks(b)
			var got []string
			var evts []bool
			for _, q := range b.QueuedQueries {
				got = append(got, q.SQL)
				if q.SQL != row {
					evts = append(evts, q.Arguments[3].(bool))
				}
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("statements mismatch (-want +got):\n%s", d)
			}
			if d := cmp.Diff(c.withEvts, evts); d != "" {
				t.Errorf("which lock statement takes the event lock mismatch (-want +got):\n%s", d)
			}
			if x.locks.held[keyOrg+"acme"] != lockShared || len(x.locks.queued) != 0 || x.locks.deletes != nil || x.locks.events {
				t.Errorf("after queueLocks: held %v, queued %v, deletes %v, events %v; want the key held and nothing left",
					x.locks.held, x.locks.queued, x.locks.deletes, x.locks.events)
			}
		})
	}
}
