package claim_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/claimkit/claim"
)

// benchWorld fills a memory store with n users in 100-user orgs on
// domains nobody but the bench org verifies, plus 10 claimable users on
// target.example.
func benchWorld(b *testing.B, n int) (*env, []claim.UserID) {
	b.Helper()
	e := newEnv(b)
	e.mustOrg(b, "acme", claim.Enterprise, t0, claim.Settings{AllowContentMigration: true})
	e.mustVerify(b, "acme", "target.example")
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			e.mustOrg(b, claim.OrgID(fmt.Sprintf("o%d", i/100)), claim.Individual, oldOrgDate, claim.Settings{})
		}
		e.mustUser(b, claim.OrgID(fmt.Sprintf("o%d", i/100)), fmt.Sprintf("u%d@d%d.example", i, i/100), 1)
	}
	e.mustOrg(b, "src", claim.Individual, oldOrgDate, claim.Settings{})
	var ids []claim.UserID
	for i := 0; i < 10; i++ {
		ids = append(ids, e.mustUser(b, "src", fmt.Sprintf("t%d@target.example", i), 5).ID)
	}
	return e, ids
}

// BenchmarkClaimRetract claims one user and retracts the claim: its cost
// does not grow with the number of users in the store.
func BenchmarkClaimRetract(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			e, ids := benchWorld(b, n)
			opts := claim.ClaimOptions{Acknowledge: true}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				id := ids[i%len(ids)]
				res, err := e.svc.ClaimUsers(e.ctx, "acme", []claim.UserID{id}, opts)
				if err != nil || res[0].Err != nil {
					b.Fatalf("ClaimUsers() = %v, %v", res, err)
				}
				if err := e.svc.Retract(e.ctx, "acme", id); err != nil {
					b.Fatalf("Retract() = %v", err)
				}
			}
		})
	}
}

// BenchmarkClaimable lists an org's 10 claimable users: the cost follows
// the users on its verified domains, not the store's size.
func BenchmarkClaimable(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			e, _ := benchWorld(b, n)
			b.ReportAllocs()
			for b.Loop() {
				k := 0
				for _, err := range e.svc.Claimable(e.ctx, "acme") {
					if err != nil {
						b.Fatal(err)
					}
					k++
				}
				if k != 10 {
					b.Fatalf("Claimable() gave %d candidates, want 10", k)
				}
			}
		})
	}
}

// BenchmarkSyncDirectory runs a full sync of an n-entry directory against
// an org of n users (Y2, Y3), at 10,000 and 100,000: the 100,000 case
// costs about 10 times the 10,000 one (it must stay under 12). The
// directories are in shuffled order and each leaves out another 5% of the
// users, so every sync deactivates 5% of the org, reactivates the 5% the
// previous one left out and finds the other 90% unchanged.
func BenchmarkSyncDirectory(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			e := newEnv(b)
			e.mustOrg(b, "acme", claim.Enterprise, t0, claim.Settings{AutoLicenses: []string{"Meetings"}})
			e.mustVerify(b, "acme", "acme.example")
			all := make([]claim.DirectoryEntry, n)
			for i := range all {
				all[i] = claim.DirectoryEntry{Email: fmt.Sprintf("user%07d@acme.example", i), FirstName: "F", LastName: "L"}
			}
			rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { all[i], all[j] = all[j], all[i] })
			if rep := e.mustSync(b, "acme", all, claim.SyncOptions{}); len(rep.Created) != n {
				b.Fatalf("setup created %d users, want %d", len(rep.Created), n)
			}
			const windows = 4
			dir := make([]claim.DirectoryEntry, 0, n)
			opts := claim.SyncOptions{Full: true}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dir = dir[:0]
				for k, en := range all {
					if k%20 != i%windows { // leave out one user in 20: 5%
						dir = append(dir, en)
					}
				}
				rep, err := e.svc.SyncDirectory(e.ctx, "acme", dir, opts)
				if err != nil || len(rep.Deactivated) != n/20 {
					b.Fatalf("SyncDirectory() deactivated %d, %v; want %d", len(rep.Deactivated), err, n/20)
				}
			}
		})
	}
}
