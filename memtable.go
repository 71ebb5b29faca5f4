package claim

import (
	"fmt"

	"github.com/google/btree"
)

// memTable is a table of the memory store: records of type V by primary
// key K, and the secondary indexes derived from them. Its put is the only
// code that changes a record, and it keeps every index in step and
// records how to undo the write, so that each kind of record is stored,
// copied, undone and re-indexed the same way.
//
// A stored record is never changed in place, only replaced, and never
// handed out without a copy (get, copyOf). The undo log lasts one Update:
// the store holds its write lock for the whole of it, so the log is the
// running Update's and no other transaction sees a table while it is not
// empty.
type memTable[K comparable, V any] struct {
	rows    map[K]*V
	clone   func(V) V // a copy sharing no memory; nil: assignment copies V
	indexes []memIndex[K, V]
	// undo is the writes of the running Update, each as the key and the
	// record it replaced (nil: none), undone last first by rollback.
	// Kept as data, not closures, so that a write allocates nothing but
	// its record: user writes dominate an import.
	undo []memWrite[K, V]
}

// memWrite is an entry of a table's undo log.
type memWrite[K comparable, V any] struct {
	key  K
	prev *V
}

// memIndex is a secondary index of a memTable.
type memIndex[K comparable, V any] interface {
	// move replaces the entry of record k for old with the entry for v;
	// old or v nil stands for no record. An ordered index leaves an
	// entry whose key does not change where it is, so that an update
	// costs only the indexes it moves in.
	move(k K, old, v *V)
}

// memLogged is what the store does with every table's undo log at the
// end of an Update.
type memLogged interface {
	rollback()
	commit()
}

// newMemTable returns an empty table whose records are copied by clone
// (nil: by assignment), with the indexes.
func newMemTable[K comparable, V any](clone func(V) V, indexes ...memIndex[K, V]) *memTable[K, V] {
	return &memTable[K, V]{rows: make(map[K]*V), clone: clone, indexes: indexes}
}

// has reports whether the table holds the record k.
func (t *memTable[K, V]) has(k K) bool {
	_, ok := t.rows[k]
	return ok
}

// get returns a copy of the record k; false if there is none.
func (t *memTable[K, V]) get(k K) (V, bool) {
	p, ok := t.rows[k]
	if !ok {
		var zero V
		return zero, false
	}
	return t.copyOf(p), true
}

// copyOf returns a copy of *p that shares no memory with it.
func (t *memTable[K, V]) copyOf(p *V) V {
	if t.clone == nil {
		return *p
	}
	return t.clone(*p)
}

// set stores a copy of *v as the record k, or removes the record if v is
// nil, recording the undo.
func (t *memTable[K, V]) set(k K, v *V) {
	if v != nil {
		c := t.copyOf(v)
		v = &c
	}
	t.put(k, v)
}

// put stores *v, which it owns from then on, as the record k, or removes
// the record if v is nil, recording the undo. The caller has checked the
// unique indexes: a record that takes another's unique entry (taken
// reports it) would take it from that record's index entry, so the
// caller refuses the write instead, with its own error.
func (t *memTable[K, V]) put(k K, v *V) {
	// A stored record is never changed, so prev can be stored again.
	t.undo = append(t.undo, memWrite[K, V]{key: k, prev: t.rows[k]})
	t.replace(k, v)
}

// replace makes *v the record k, or removes the record if v is nil, and
// moves its index entries; it records no undo.
func (t *memTable[K, V]) replace(k K, v *V) {
	old := t.rows[k]
	if v == nil {
		delete(t.rows, k)
	} else {
		t.rows[k] = v
	}
	for _, x := range t.indexes {
		x.move(k, old, v)
	}
}

// rollback undoes the writes of the running Update, last first.
func (t *memTable[K, V]) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.replace(t.undo[i].key, t.undo[i].prev)
	}
	t.undo = nil
}

// commit forgets the undo log, letting the replaced records go.
func (t *memTable[K, V]) commit() {
	t.undo = nil
}

// memKeyFunc returns the entry of record k, stored as *v, in an index;
// false if the record has none.
type memKeyFunc[IK any, K comparable, V any] func(k K, v *V) (IK, bool)

// memEntries returns the entries of index key of record k for old and for
// v (nil: no record), and whether the record's entry is the same.
func memEntries[IK comparable, K comparable, V any](key memKeyFunc[IK, K, V], k K, old, v *V) (from, to IK, fromOK, toOK, same bool) {
	if old != nil {
		from, fromOK = key(k, old)
	}
	if v != nil {
		to, toOK = key(k, v)
	}
	same = fromOK == toOK && (!fromOK || from == to)
	return from, to, fromOK, toOK, same
}

// memUnique is a unique index: at most one record holds each of its
// keys, found by lookup. It maps a key to the stored record itself, as
// the table does, so that a lookup costs one map read.
type memUnique[IK comparable, K comparable, V any] struct {
	m   map[IK]*V
	key memKeyFunc[IK, K, V]
	id  func(*V) K // the table's key of a record
}

func newMemUnique[IK comparable, K comparable, V any](id func(*V) K, key memKeyFunc[IK, K, V]) *memUnique[IK, K, V] {
	return &memUnique[IK, K, V]{m: make(map[IK]*V), key: key, id: id}
}

// lookup returns the stored record whose entry is ik, not to be changed
// or handed out; false if none.
func (x *memUnique[IK, K, V]) lookup(ik IK) (*V, bool) {
	p, ok := x.m[ik]
	return p, ok
}

// taken returns the key of the record other than k that holds v's
// entry; false if none does.
func (x *memUnique[IK, K, V]) taken(k K, v *V) (K, bool) {
	if ik, ok := x.key(k, v); ok {
		if other, ok := x.m[ik]; ok {
			if o := x.id(other); o != k {
				return o, true
			}
		}
	}
	var zero K
	return zero, false
}

// move maps v's key to v, even if it was old's key: v replaces old.
func (x *memUnique[IK, K, V]) move(k K, old, v *V) {
	from, to, fromOK, toOK, same := memEntries(x.key, k, old, v)
	if fromOK && !same {
		delete(x.m, from)
	}
	if toOK {
		x.m[to] = v
	}
}

// memOrdered is an ordered index (a B-tree) of entries IK, read a page
// at a time by memPage.
type memOrdered[IK comparable, K comparable, V any] struct {
	tree *btree.BTreeG[IK]
	less func(a, b IK) bool
	key  memKeyFunc[IK, K, V]
}

func newMemOrdered[IK comparable, K comparable, V any](less func(a, b IK) bool, key memKeyFunc[IK, K, V]) *memOrdered[IK, K, V] {
	return &memOrdered[IK, K, V]{tree: btree.NewG(memDegree, less), less: less, key: key}
}

func (x *memOrdered[IK, K, V]) move(k K, old, v *V) {
	from, to, fromOK, toOK, same := memEntries(x.key, k, old, v)
	if same {
		return
	}
	if fromOK {
		x.tree.Delete(from)
	}
	if toOK {
		x.tree.ReplaceOrInsert(to)
	}
}

// memPage appends to out get of the entries of x that sort after the
// given one, in order, while in holds, at most limit of them, and
// returns the extended slice. An entry equal to after is skipped: it is
// the last of the page before. Only the first entry read can be: the
// entries of an index are distinct.
func memPage[IK comparable, K comparable, V, R any](out []R, x *memOrdered[IK, K, V], after IK, in func(IK) bool, limit int, get func(IK) R) []R {
	n, first := 0, true
	x.tree.AscendGreaterOrEqual(after, func(k IK) bool {
		if !in(k) {
			return false
		}
		if first {
			first = false
			if !x.less(after, k) {
				return true
			}
		}
		out = append(out, get(k))
		n++
		return n < limit
	})
	return out
}

// memRead is the Tx read op of the record of t with key k: a copy, or an
// error wrapping ErrNotFound that names it as kind and key ("memory
// store: user usr_1: not found").
func memRead[K comparable, V any](tx *memTx, op string, t *memTable[K, V], kind string, k K) (V, error) {
	var zero V
	if err := tx.check(op, false); err != nil {
		return zero, err
	}
	v, ok := t.get(k)
	if !ok {
		return zero, fmt.Errorf("memory store: %s %v: %w", kind, k, ErrNotFound)
	}
	return v, nil
}

// memRemove is the Tx delete op of the record of t with key k: an error
// wrapping ErrNotFound, as memRead's, if there is none; otherwise it
// calls before, if any (to drop what goes with the record), and removes
// the record.
func memRemove[K comparable, V any](tx *memTx, op string, t *memTable[K, V], kind string, k K, before func()) error {
	if err := tx.check(op, true); err != nil {
		return err
	}
	if !t.has(k) {
		return fmt.Errorf("memory store: %s %v: %w", kind, k, ErrNotFound)
	}
	if before != nil {
		before()
	}
	t.set(k, nil)
	return nil
}
