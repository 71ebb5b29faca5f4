package claimtest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestClock(t *testing.T) {
	c := claimtest.NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	if got, want := c.Advance(time.Hour), start.Add(time.Hour); !got.Equal(want) || !c.Now().Equal(want) {
		t.Fatalf("Advance(1h) = %v, Now() = %v; want %v", got, c.Now(), want)
	}
	c.Set(start.Add(-time.Minute))
	if got, want := c.Now(), start.Add(-time.Minute); !got.Equal(want) {
		t.Fatalf("after Set: Now() = %v, want %v", got, want)
	}
}

// TestClockConcurrent: 8 goroutines advancing 100 times each move the
// clock by exactly 800 steps (run with -race).
func TestClockConcurrent(t *testing.T) {
	c := claimtest.NewClock(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Nanosecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(800*time.Nanosecond); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}

func TestNewClockNeedsStart(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewClock(time.Time{}) did not panic")
		}
	}()
	claimtest.NewClock(time.Time{})
}

func TestResolver(t *testing.T) {
	ctx := context.Background()
	r := claimtest.NewResolver()
	r.Set("Example.COM.", "a", "b")
	got, err := r.LookupTXT(ctx, "example.com")
	if err != nil || !cmp.Equal(got, []string{"a", "b"}) {
		t.Errorf("LookupTXT(example.com) = %v, %v; want [a b]", got, err)
	}
	got[0] = "changed" // a copy: the resolver keeps its records
	if again, _ := r.LookupTXT(ctx, "EXAMPLE.com."); again[0] != "a" {
		t.Errorf("LookupTXT() after changing the result = %v, want [a b]", again)
	}
	var dnsErr *net.DNSError
	if _, err := r.LookupTXT(ctx, "other.com"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("LookupTXT(other.com) = %v, want a not-found *net.DNSError", err)
	}
	r.Set("example.com")
	if _, err := r.LookupTXT(ctx, "example.com"); !errors.As(err, &dnsErr) {
		t.Errorf("LookupTXT() after Set with no records = %v, want not found", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.LookupTXT(cctx, "example.com"); !errors.Is(err, context.Canceled) {
		t.Errorf("LookupTXT(canceled) = %v, want context.Canceled", err)
	}
}

func TestCmpOptions(t *testing.T) {
	opts := claimtest.CmpOptions()
	now := time.Now()
	tests := []struct {
		reason string
		a, b   any
		equal  bool
	}{
		{"the same instant", start, start.Add(0), true},
		{"times a nanosecond apart: stores keep nanoseconds", start, start.Add(time.Nanosecond), false},
		{"times a nanosecond apart, other order", start.Add(time.Nanosecond), start, false},
		{"a monotonic reading does not count", now, now.Round(0), true},
		{"times in structs", claim.User{CreatedAt: start}, claim.User{CreatedAt: start.Add(time.Nanosecond)}, false},
		{"the same instant in another location", start, start.In(time.FixedZone("X", 3600)), true},
		{"errors matched by errors.Is", fmt.Errorf("x: %w", claim.ErrNotFound), claim.ErrNotFound, true},
		{"different errors", claim.ErrNotFound, claim.ErrDuplicate, false},
		{"nil and empty slices", claim.User{Licenses: nil}, claim.User{Licenses: []string{}}, true},
	}
	for _, tt := range tests {
		if got := cmp.Equal(tt.a, tt.b, opts); got != tt.equal {
			t.Errorf("%s: cmp.Equal() = %v, want %v", tt.reason, got, tt.equal)
		}
	}
}

func TestIs(t *testing.T) {
	if !claimtest.Is(nil, nil) || claimtest.Is(claim.ErrNotFound, nil) || !claimtest.Is(fmt.Errorf("w: %w", claim.ErrNotFound), claim.ErrNotFound) || claimtest.Is(nil, claim.ErrNotFound) {
		t.Error("Is() disagrees with its doc")
	}
}
