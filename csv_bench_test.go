package claim_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/claimkit/claim"
)

// importWorld is org b (Enterprise, licenses Meetings and Calling,
// example.com verified) and n Enterprise users on example.com, with the
// file ExportClaimable writes for them: n rows of nine columns.
func importWorld(tb testing.TB, n int) (*env, []byte) {
	tb.Helper()
	return importWorldOn(tb, claim.NewMemoryStore(), n)
}

// importWorldOn is importWorld on the store.
func importWorldOn(tb testing.TB, store claim.Store, n int) (*env, []byte) {
	tb.Helper()
	e := newEnvOn(tb, store)
	e.mustOrg(tb, "b", claim.Enterprise, t0, claim.Settings{AutoLicenses: []string{"Meetings", "Calling"}})
	e.mustVerify(tb, "b", "example.com")
	for i := range n {
		if i%1000 == 0 {
			e.mustOrg(tb, claim.OrgID(fmt.Sprintf("o%d", i/1000)), claim.Enterprise, t0, claim.Settings{})
		}
		if _, err := e.svc.AddUser(e.ctx, claim.OrgID(fmt.Sprintf("o%d", i/1000)), claim.NewUser{
			Email: fmt.Sprintf("user%07d@example.com", i), FirstName: "Given", LastName: fmt.Sprintf("Family%d", i),
			DisplayName: fmt.Sprintf("Given Family%d", i), Content: 3}); err != nil {
			tb.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := e.svc.ExportClaimable(e.ctx, "b", &buf); err != nil {
		tb.Fatal(err)
	}
	return e, buf.Bytes()
}

// BenchmarkImportClaims imports a 100,000-row export into a memory store
// that holds those users (issue figure: at least a quarter of
// BenchmarkReadCSVBaseline's rows per second).
func BenchmarkImportClaims(b *testing.B) {
	const rows = 100_000
	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		e, file := importWorld(b, rows)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		rep, err := e.svc.ImportClaims(e.ctx, "b", bytes.NewReader(file), claim.ImportOptions{Acknowledge: true})
		total += time.Since(start)
		if err != nil || rep.Claimed != rows {
			b.Fatalf("ImportClaims = %d claimed, %v", rep.Claimed, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
}

// BenchmarkReadCSVBaseline reads the same bytes with encoding/csv alone,
// doing nothing per row.
func BenchmarkReadCSVBaseline(b *testing.B) {
	const rows = 100_000
	_, file := importWorld(b, rows)
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		r := csv.NewReader(bytes.NewReader(file))
		r.ReuseRecord = true
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		total += time.Since(start)
		if n != rows+1 {
			b.Fatalf("read %d records", n)
		}
	}
	b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
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

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkImportClaimsPeakHeap imports 1,000,000 rows into a memory
// store holding those users and reports the live heap above the store's
// own size (issue figure: under 64 MiB). The live heap is measured after
// a full collection every 100,000 rows and at the end. The store grows
// during the import (each claimed row adds an original account and two
// events), so its own size at a checkpoint is taken as its size before
// the import plus its growth per row times the rows done;
// peak-above-store-MiB is the largest excess of the live heap over that.
// The file is generated as it is read, so it is not itself in memory.
func BenchmarkImportClaimsPeakHeap(b *testing.B) {
	const rows = 1_000_000
	for b.Loop() {
		b.StopTimer()
		e, _ := importWorld(b, 0)
		for i := range rows {
			if i%1000 == 0 {
				e.mustOrg(b, claim.OrgID(fmt.Sprintf("o%d", i/1000)), claim.Enterprise, t0, claim.Settings{})
			}
			if _, err := e.svc.AddUser(e.ctx, claim.OrgID(fmt.Sprintf("o%d", i/1000)), claim.NewUser{Email: fmt.Sprintf("user%07d@example.com", i)}); err != nil {
				b.Fatal(err)
			}
		}
		before := liveHeap()
		type sample struct {
			rows int
			live uint64
		}
		var samples []sample
		next := 100_000
		b.StartTimer()
		rep, err := e.svc.ImportClaims(e.ctx, "b", newRowsReader(rows), claim.ImportOptions{Acknowledge: true,
			Progress: func(n int) {
				if n >= next {
					next += 100_000
					b.StopTimer()
					samples = append(samples, sample{n, liveHeap()})
					b.StartTimer()
				}
			}})
		b.StopTimer()
		if err != nil || rep.Claimed != rows {
			b.Fatalf("ImportClaims = %d claimed, %v", rep.Claimed, err)
		}
		after := liveHeap()
		runtime.KeepAlive(e)
		perRow := (float64(after) - float64(before)) / rows
		excess := 0.0
		for _, s := range samples {
			excess = max(excess, float64(s.live)-(float64(before)+perRow*float64(s.rows)))
		}
		b.ReportMetric(float64(before)/(1<<20), "store-before-MiB")
		b.ReportMetric(float64(after)/(1<<20), "store-after-MiB")
		b.ReportMetric(excess/(1<<20), "peak-above-store-MiB")
		if excess > 64<<20 {
			b.Errorf("live heap %.0f MiB above the store's own size, want under 64 MiB", excess/(1<<20))
		}
		b.StartTimer()
	}
}

// rowsReader generates an import file of n rows as it is read.
type rowsReader struct {
	n, i int
	buf  []byte
}

func newRowsReader(n int) *rowsReader {
	return &rowsReader{n: n, buf: []byte("User ID/Email (Required),Claim Type,Claim,Meetings,Calling\n")}
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.n {
		r.buf = fmt.Appendf(r.buf, "user%07d@example.com,Immediate,TRUE,TRUE,FALSE\n", r.i)
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}
