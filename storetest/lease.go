package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/claimkit/claim"
)

// testLeases checks the claim.Leaser capability, if the store has it:
// a lease is taken by one holder at a time, renewed by its holder (even
// past its expiry), taken by another once it has run out or been
// released, and released only by its holder; leases of different names
// are independent; of holders racing for a lease exactly one gets it;
// bad arguments and a done context are refused.
func testLeases(t *testing.T, s claim.Store) {
	l, ok := s.(claim.Leaser)
	if !ok {
		t.Skip("the store is not a claim.Leaser")
	}
	ctx := t.Context()
	acquire := func(name, holder string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := l.AcquireLease(ctx, name, holder, ttl)
		if err != nil || got != want {
			t.Errorf("AcquireLease(%s, %s, %v) = %v, %v; want %v, nil", name, holder, ttl, got, err, want)
		}
	}
	release := func(name, holder string) {
		t.Helper()
		must(t, l.ReleaseLease(ctx, name, holder), fmt.Sprintf("ReleaseLease(%s, %s)", name, holder))
	}
	acquire("sweep", "a", time.Hour, true)
	acquire("sweep", "b", time.Hour, false)
	acquire("sweep", "a", time.Hour, true) // renewed
	acquire("other", "b", time.Hour, true) // another name
	release("sweep", "b")                  // not b's: nothing happens
	acquire("sweep", "b", time.Hour, false)
	release("sweep", "a")
	acquire("sweep", "b", time.Hour, true)
	acquire("sweep", "a", time.Hour, false)
	acquire("other", "a", time.Hour, false)
	release("never", "a") // no such lease

	// A lease that has run out is anyone's; its holder may renew it while
	// no one has taken it.
	acquire("short", "a", time.Microsecond, true)
	time.Sleep(20 * time.Millisecond)
	acquire("short", "a", time.Microsecond, true)
	time.Sleep(20 * time.Millisecond)
	acquire("short", "b", time.Hour, true)
	acquire("short", "a", time.Hour, false)

	// A renewal moves the expiry: a lease taken for 50ms and renewed for an
	// hour is still its holder's after the 50ms.
	acquire("renew", "a", 50*time.Millisecond, true)
	acquire("renew", "a", time.Hour, true)
	time.Sleep(100 * time.Millisecond)
	acquire("renew", "b", time.Hour, false)

	// Holders racing for a lease: exactly one gets it.
	const racers = 8
	var wg sync.WaitGroup
	got := make([]bool, racers)
	for i := range racers {
		wg.Go(func() {
			var err error
			got[i], err = l.AcquireLease(ctx, "race", fmt.Sprintf("r%d", i), time.Hour)
			if err != nil {
				t.Errorf("AcquireLease(race, r%d) = %v", i, err)
			}
		})
	}
	wg.Wait()
	holders := 0
	for _, g := range got {
		if g {
			holders++
		}
	}
	if holders != 1 {
		t.Errorf("%d of %d racing holders got the lease, want 1 (%v)", holders, racers, got)
	}

	for _, tc := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "a", time.Hour}, {"x", "", time.Hour}, {"x", "a", 0}, {"x", "a", -time.Second}} {
		_, err := l.AcquireLease(ctx, tc.name, tc.holder, tc.ttl)
		wantErr(t, err, claim.ErrInvalidValue, fmt.Sprintf("AcquireLease(%q, %q, %v)", tc.name, tc.holder, tc.ttl))
		if tc.ttl > 0 {
			wantErr(t, l.ReleaseLease(ctx, tc.name, tc.holder), claim.ErrInvalidValue, fmt.Sprintf("ReleaseLease(%q, %q)", tc.name, tc.holder))
		}
	}
	acquire("x", "b", time.Hour, true) // the refused calls took nothing
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err := l.AcquireLease(done, "y", "a", time.Hour)
	wantErr(t, err, context.Canceled, "AcquireLease(canceled context)")
	wantErr(t, l.ReleaseLease(done, "x", "b"), context.Canceled, "ReleaseLease(canceled context)")
	acquire("y", "b", time.Hour, true)
	acquire("x", "a", time.Hour, false) // still b's
}
