// Package claimtest holds what people testing their own code against the
// claim library need: a fake Clock, a static Resolver and go-cmp options
// for comparing the library's values.
//
// The clock is passive: it moves only when told to. The library stores
// windows as deadlines and compares them on every call, so moving the
// clock is all a test does to make 14 days pass.
package claimtest

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/claimkit/claim"
)

// Clock is a fake claim.Clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

var _ claim.Clock = (*Clock)(nil)

// NewClock returns a clock standing at start. A zero start panics: a test
// names its date.
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		panic("claimtest: NewClock needs a start time")
	}
	return &Clock{now: start}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t (backwards too).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Resolver is a static claim.Resolver: it answers TXT lookups from the
// records Set gave it, and a not-found *net.DNSError otherwise. It is safe
// for concurrent use.
type Resolver struct {
	mu  sync.Mutex
	txt map[string][]string
}

var _ claim.Resolver = (*Resolver)(nil)

// NewResolver returns a Resolver with no records.
func NewResolver() *Resolver { return &Resolver{txt: make(map[string][]string)} }

// Set replaces the TXT records of domain (case-insensitive, a trailing
// dot ignored). No records removes the domain.
func (r *Resolver) Set(domain string, txt ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key(domain)
	if len(txt) == 0 {
		delete(r.txt, k)
		return
	}
	r.txt[k] = slices.Clone(txt)
}

// LookupTXT returns the records of name.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if txt, ok := r.txt[key(name)]; ok {
		return slices.Clone(txt), nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func key(domain string) string { return strings.ToLower(strings.TrimSuffix(domain, ".")) }

// CmpOptions returns go-cmp options for comparing the library's values
// across stores: times are equal when they are the same instant
// (time.Time.Equal: regardless of location and monotonic reading, to the
// nanosecond), errors are equal when errors.Is says so in either
// direction, and nil and empty slices and maps are equal.
//
// Times are compared exactly because every store keeps them exactly: the
// memory store holds the time.Time, and the PostgreSQL store keeps Unix
// nanoseconds, not a timestamptz's microseconds. The claim window is
// half-open to the nanosecond, so a tolerance would hide the very bugs a
// test of it looks for.
func CmpOptions() cmp.Options {
	return cmp.Options{
		cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
		cmpopts.EquateErrors(),
		cmpopts.EquateEmpty(),
	}
}

// Is reports whether err matches target, for table tests whose rows hold
// a want error that may be nil.
func Is(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}
