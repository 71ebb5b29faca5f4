package claim_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/claimkit/claim"
)

// Two replicas of a service run a sweeper each on one store, and the
// lease lets one of them sweep at a time. When it stops, it releases the
// lease, and the other takes over at its next try, within a quarter of
// the interval. (On PostgreSQL, the replicas are processes sharing one
// database.)
func ExampleService_RunSweeper() {
	store := claim.NewMemoryStore()
	swept := make(chan string, 10)
	var wg sync.WaitGroup
	start := func(replica string) (stop func()) {
		svc, err := claim.New(store)
		if err != nil {
			panic(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		wg.Go(func() {
			err := svc.RunSweeper(ctx, claim.SweeperOptions{
				Interval: time.Second,
				Holder:   replica,
				OnLease: func(held bool) {
					fmt.Printf("%s holds the lease: %v\n", replica, held)
				},
				OnSweep: func(rep claim.SweepReport, err error) {
					if err == nil {
						swept <- replica
					}
				},
			})
			if err != nil {
				panic(err)
			}
		})
		return cancel
	}

	stop1 := start("replica-1")
	fmt.Println("swept by", <-swept)
	stop2 := start("replica-2")
	stop1()
	fmt.Println("swept by", <-swept)
	stop2()
	wg.Wait()
	// Output:
	// replica-1 holds the lease: true
	// swept by replica-1
	// replica-1 holds the lease: false
	// replica-2 holds the lease: true
	// swept by replica-2
	// replica-2 holds the lease: false
}
