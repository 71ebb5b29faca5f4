package claim

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// mtRec is the record of the test table: unique by Email when it has
// one, listed by Group.
type mtRec struct {
	ID    string
	Email string
	Group string
	Tags  []string
}

type mtTable struct {
	t       *memTable[string, mtRec]
	byEmail *memUnique[string, string, mtRec]
	byGroup *memOrdered[memPairKey[string, string], string, mtRec]
}

func newMTTable() mtTable {
	x := mtTable{
		byEmail: newMemUnique(func(r *mtRec) string { return r.ID },
			func(_ string, r *mtRec) (string, bool) { return r.Email, r.Email != "" }),
		byGroup: memByFirst[string, string](func(r *mtRec) string { return r.Group }),
	}
	x.t = newMemTable(func(r mtRec) mtRec { r.Tags = slices.Clone(r.Tags); return r },
		memIndex[string, mtRec](x.byEmail), x.byGroup)
	return x
}

// mtState is everything a table holds: its records and both indexes.
type mtState struct {
	Rows    map[string]mtRec
	ByEmail map[string]mtRec    // address → the record lookup finds
	ByGroup map[string][]string // group → IDs in order, from memPage
}

func (x mtTable) state() mtState {
	s := mtState{Rows: map[string]mtRec{}, ByEmail: map[string]mtRec{}, ByGroup: map[string][]string{}}
	for k, p := range x.t.rows {
		s.Rows[k] = *p
	}
	for e, p := range x.byEmail.m {
		s.ByEmail[e] = *p
	}
	x.byGroup.tree.Ascend(func(k memPairKey[string, string]) bool {
		s.ByGroup[k.first] = append(s.ByGroup[k.first], k.second)
		return true
	})
	return s
}

// mtWant is the state of a table holding recs.
func mtWant(recs ...mtRec) mtState {
	s := mtState{Rows: map[string]mtRec{}, ByEmail: map[string]mtRec{}, ByGroup: map[string][]string{}}
	for _, r := range recs {
		s.Rows[r.ID] = r
		if r.Email != "" {
			s.ByEmail[r.Email] = r
		}
		s.ByGroup[r.Group] = append(s.ByGroup[r.Group], r.ID)
	}
	for _, ids := range s.ByGroup {
		slices.Sort(ids)
	}
	return s
}

// TestMemTable: set stores a copy and re-indexes the record it replaces;
// rollback undoes an Update's writes, last first, and commit keeps them;
// taken reports a unique entry held by another record, not one the
// record holds itself.
func TestMemTable(t *testing.T) {
	x := newMTTable()
	ann := mtRec{ID: "a", Email: "ann@x", Group: "g1", Tags: []string{"t"}}
	bob := mtRec{ID: "b", Email: "bob@x", Group: "g1"}
	x.t.set(ann.ID, &ann)
	x.t.set(bob.ID, &bob)
	x.t.commit()

	ann.Tags[0] = "changed by the caller"
	got, ok := x.t.get("a")
	if !ok {
		t.Fatalf("get(a) = false after set")
	}
	got.Tags[0] = "changed by a reader"
	ann.Tags[0] = "t"
	if diff := cmp.Diff(mtWant(ann, bob), x.state()); diff != "" {
		t.Fatalf("after two sets (-want +got):\n%s", diff)
	}

	// Re-index: ann moves to g2 under a new address; carl is added; bob
	// is removed.
	ann2 := mtRec{ID: "a", Email: "ann2@x", Group: "g2"}
	carl := mtRec{ID: "c", Group: "g2"}
	x.t.set(ann2.ID, &ann2)
	x.t.set(carl.ID, &carl)
	x.t.set(bob.ID, nil)
	if diff := cmp.Diff(mtWant(ann2, carl), x.state()); diff != "" {
		t.Errorf("after moving a, adding c, removing b (-want +got):\n%s", diff)
	}
	if p, ok := x.byEmail.lookup("ann@x"); ok {
		t.Errorf("lookup(ann@x) = %v after a moved to ann2@x", p.ID)
	}
	page := memPairPage(x.byGroup, "g2", "a", 10, func(id string) string { return id })
	if diff := cmp.Diff([]string{"c"}, page); diff != "" {
		t.Errorf("page of g2 after a (-want +got):\n%s", diff)
	}

	x.t.rollback()
	if diff := cmp.Diff(mtWant(ann, bob), x.state()); diff != "" {
		t.Errorf("after rollback (-want +got):\n%s", diff)
	}
	if len(x.t.undo) != 0 {
		t.Errorf("undo log holds %d writes after rollback", len(x.t.undo))
	}

	// Unique: carl cannot take bob's address; a record may keep its own.
	thief := mtRec{ID: "c", Email: "bob@x", Group: "g3"}
	if other, ok := x.byEmail.taken(thief.ID, &thief); !ok || other != "b" {
		t.Errorf("taken(c with bob@x) = %q, %v; want b, true", other, ok)
	}
	if other, ok := x.byEmail.taken(bob.ID, &bob); ok {
		t.Errorf("taken(b with its own address) = %q, true; want false", other)
	}
	if other, ok := x.byEmail.taken(carl.ID, &carl); ok {
		t.Errorf("taken(c with no address, not indexed) = %q, true; want false", other)
	}
}

// TestMemTableModel: any sequence of writes, each Update committed or
// rolled back, leaves the table and its indexes as a map of the
// committed records says.
func TestMemTableModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		x := newMTTable()
		model := map[string]mtRec{}
		ids := rapid.SampledFrom([]string{"a", "b", "c", "d"})
		for range rapid.IntRange(1, 8).Draw(rt, "updates") {
			work := maps.Clone(model)
			for range rapid.IntRange(0, 8).Draw(rt, "writes") {
				id := ids.Draw(rt, "id")
				if rapid.Bool().Draw(rt, "remove") {
					x.t.set(id, nil)
					delete(work, id)
					continue
				}
				r := mtRec{
					ID:    id,
					Email: rapid.SampledFrom([]string{"", "p@x", "q@x", "r@x"}).Draw(rt, "email"),
					Group: rapid.SampledFrom([]string{"g1", "g2"}).Draw(rt, "group"),
				}
				if _, taken := x.byEmail.taken(id, &r); taken {
					r.Email = "" // as the store's callers do, check first
				}
				x.t.set(id, &r)
				work[id] = r
			}
			if rapid.Bool().Draw(rt, "commit") {
				x.t.commit()
				model = work
			} else {
				x.t.rollback()
			}
			if diff := cmp.Diff(mtWant(slices.Collect(maps.Values(model))...), x.state()); diff != "" {
				rt.Fatalf("(-want +got):\n%s", diff)
			}
		}
	})
}
