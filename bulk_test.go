package claim_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

// passRecorder is a memory store whose transactions count the calls of
// the Tx methods on users, events, orgs and domains that the claim
// path's decorator (bulkTx) does not decorate: those it would pass to
// the store without the writes it has queued.
type passRecorder struct {
	claim.Store
	mu    sync.Mutex
	calls map[string]int
}

func (r *passRecorder) View(ctx context.Context, fn func(claim.Tx) error) error {
	return r.Store.View(ctx, func(tx claim.Tx) error { return fn(recTx{tx, r}) })
}

func (r *passRecorder) Update(ctx context.Context, fn func(claim.Tx) error) error {
	return r.Store.Update(ctx, func(tx claim.Tx) error { return fn(recTx{tx, r}) })
}

func (r *passRecorder) note(method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[method]++
}

// recTx records the undecorated calls and keeps the store's bulk path.
type recTx struct {
	claim.Tx
	r *passRecorder
}

func (t recTx) UsersByEmails(emails []string) ([]claim.User, error) {
	return t.Tx.(claim.BulkTx).UsersByEmails(emails)
}
func (t recTx) Apply(writes []claim.Write) error { return t.Tx.(claim.BulkTx).Apply(writes) }

func (t recTx) CreateOrg(o claim.Org) error { t.r.note("CreateOrg"); return t.Tx.CreateOrg(o) }
func (t recTx) UpdateOrg(o claim.Org) error { t.r.note("UpdateOrg"); return t.Tx.UpdateOrg(o) }
func (t recTx) DeleteOrg(id claim.OrgID) error {
	t.r.note("DeleteOrg")
	return t.Tx.DeleteOrg(id)
}
func (t recTx) PutDomain(d claim.Domain) error { t.r.note("PutDomain"); return t.Tx.PutDomain(d) }
func (t recTx) DeleteDomain(org claim.OrgID, name string) error {
	t.r.note("DeleteDomain")
	return t.Tx.DeleteDomain(org, name)
}
func (t recTx) Domains(org claim.OrgID, after string, limit int) ([]claim.Domain, error) {
	t.r.note("Domains")
	return t.Tx.Domains(org, after, limit)
}
func (t recTx) UsersByOrg(org claim.OrgID, after string, limit int) ([]claim.User, error) {
	t.r.note("UsersByOrg")
	return t.Tx.UsersByOrg(org, after, limit)
}
func (t recTx) UsersByDomain(domain, after string, limit int) ([]claim.User, error) {
	t.r.note("UsersByDomain")
	return t.Tx.UsersByDomain(domain, after, limit)
}
func (t recTx) PendingClaimsBy(org claim.OrgID, after string, limit int) ([]claim.User, error) {
	t.r.note("PendingClaimsBy")
	return t.Tx.PendingClaimsBy(org, after, limit)
}
func (t recTx) InactiveUsers(before time.Time, limit int) ([]claim.User, error) {
	t.r.note("InactiveUsers")
	return t.Tx.InactiveUsers(before, limit)
}
func (t recTx) DueClaims(now time.Time, limit int) ([]claim.User, error) {
	t.r.note("DueClaims")
	return t.Tx.DueClaims(now, limit)
}
func (t recTx) Events(after uint64, limit int) ([]claim.Event, error) {
	t.r.note("Events")
	return t.Tx.Events(after, limit)
}

// TestBulkClaimPathCalls: imports (real and dry runs, immediate and
// delayed rows, refused rows, a second import after the first's delayed
// claims expired, so that reading them writes their expiry) call none of
// the Tx methods on users, events, orgs and domains that the claim
// path's decorator passes through without its queued writes. Were one
// called, it could miss a claim the batch has made; the decorator must
// then cover it.
func TestBulkClaimPathCalls(t *testing.T) {
	rec := &passRecorder{Store: claim.NewMemoryStore(), calls: map[string]int{}}
	e := importEnvOn(t, rec) // ann and cy (Delayed), bob (Immediate), dee (a member)
	// fay's delayed claim by x expires before b's import claims her.
	e.mustOrg(t, "x", claim.Enterprise, t0, claim.Settings{AllowContentMigration: true})
	e.mustVerify(t, "x", "other.example")
	e.mustVerify(t, "b", "other.example")
	fay := e.mustUser(t, "old", "fay@other.example", 4)
	e.mustClaim(t, "x", claim.ClaimOptions{}, fay.ID)

	const header = "User ID/Email (Required),Claim Type,Claim,Meetings\n"
	rec.calls = map[string]int{} // what the set-up called is not the claim path's
	claimed := 0
	for _, step := range []struct {
		file   string
		dryRun bool
		wait   time.Duration
	}{
		{file: header + "ann@example.com,Delayed,TRUE,\nbob@example.com,Immediate,TRUE,TRUE\nnobody@example.com,,TRUE,\ndee@example.com,,TRUE,\nbad,,TRUE,\n", dryRun: true},
		{file: header + "ann@example.com,Delayed,TRUE,\nbob@example.com,Immediate,TRUE,TRUE\nnobody@example.com,,TRUE,\ndee@example.com,,TRUE,\nbad,,TRUE,\n"},
		{file: header + "ann@example.com,Delayed,TRUE,\ncy@example.com,Delayed,TRUE,\nfay@other.example,,TRUE,\n", wait: 15 * 24 * time.Hour},
		{file: header + "ann@example.com,Delayed,TRUE,\ncy@example.com,Delayed,TRUE,\n", dryRun: true},
	} {
		e.clock.Advance(step.wait)
		rep, err := e.importString("b", step.file, claim.ImportOptions{DryRun: step.dryRun})
		if err != nil {
			t.Fatalf("ImportClaims: %v", err)
		}
		claimed += rep.Claimed
	}
	if got := e.mustGet(t, fay.ID); got.Org != "b" {
		t.Errorf("fay after the import: org %s; want b, which claimed her once x's claim expired (X1)", got.Org)
	}
	if claimed < 5 {
		t.Errorf("the imports claimed %d users; the test needs claims to check the path", claimed)
	}
	if d := cmp.Diff(map[string]int{}, rec.calls); d != "" {
		t.Errorf("the claim path called undecorated methods (-want +got):\n%s", d)
	}
}
