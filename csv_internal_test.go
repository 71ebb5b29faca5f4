package claim

import "testing"

// TestImportBatchesOverlap: in a parallel import a batch runs beside the
// one before it unless it repeats one of that batch's addresses or that
// batch has ended; in any other import batches run one at a time.
func TestImportBatchesOverlap(t *testing.T) {
	batch := func(emails ...string) *importBatch {
		b := &importBatch{emails: map[string]bool{}, end: &batchEnd{done: make(chan struct{})}}
		for _, e := range emails {
			b.emails[e] = true
		}
		return b
	}
	prev := batch("a@x.example", "b@x.example")
	for _, c := range []struct {
		name     string
		parallel bool
		cur      *importBatch
		want     bool
	}{
		{"disjoint, parallel", true, batch("c@x.example", "d@x.example"), true},
		{"an address of the batch before", true, batch("c@x.example", "b@x.example"), false},
		{"no rows with an address", true, batch(), true},
		{"disjoint, one at a time", false, batch("c@x.example"), false},
	} {
		im := &importer{parallel: c.parallel}
		if got := im.overlaps(prev, c.cur); got != c.want {
			t.Errorf("%s: overlaps() = %v, want %v", c.name, got, c.want)
		}
	}
	close(prev.end.done)
	if (&importer{parallel: true}).overlaps(prev, batch("c@x.example")) {
		t.Errorf("overlaps() = true after the batch before has ended, want false")
	}
}
