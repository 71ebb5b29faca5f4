package claim

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// memLeases is the memory store's table of leases (Leaser). It is
// guarded by a mutex of its own: a lease is not part of the data the
// transactions see, and taking one never waits for an Update.
type memLeases struct {
	mu sync.Mutex
	m  map[string]memLease // by name
}

// memLease is a lease and its holder.
type memLease struct {
	holder  string
	expires time.Time // by time.Now, with its monotonic reading
}

// AcquireLease takes or renews the lease name for holder until ttl from
// now, by time.Now (inside a testing/synctest bubble, the bubble's
// time): it takes it if no one holds it or its expiry is past, renews
// it if holder holds it, and otherwise leaves it to its holder and
// reports false. It returns an error wrapping ErrInvalidValue if name
// or holder is empty or ttl is not positive, and one wrapping ctx.Err()
// if ctx is done.
func (s *memStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := leaseArgs(ctx, "memory store: acquire lease", name, holder, ttl); err != nil {
		return false, err
	}
	s.leases.mu.Lock()
	defer s.leases.mu.Unlock()
	now := time.Now()
	if l, ok := s.leases.m[name]; ok && l.holder != holder && !l.expires.Before(now) {
		return false, nil
	}
	if s.leases.m == nil {
		s.leases.m = make(map[string]memLease)
	}
	s.leases.m[name] = memLease{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

// ReleaseLease ends holder's lease name, if holder holds it. It returns
// an error wrapping ErrInvalidValue if name or holder is empty, and one
// wrapping ctx.Err() if ctx is done.
func (s *memStore) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := leaseArgs(ctx, "memory store: release lease", name, holder, 1); err != nil {
		return err
	}
	s.leases.mu.Lock()
	defer s.leases.mu.Unlock()
	if l, ok := s.leases.m[name]; ok && l.holder == holder {
		delete(s.leases.m, name)
	}
	return nil
}

// leaseArgs returns the error of a Leaser call with these arguments: one
// wrapping ctx.Err() if ctx is done, one wrapping ErrInvalidValue if
// name or holder is empty or ttl is not positive; nil if none.
func leaseArgs(ctx context.Context, op, name, holder string, ttl time.Duration) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case name == "":
		return fmt.Errorf("%s: an empty name: %w", op, ErrInvalidValue)
	case holder == "":
		return fmt.Errorf("%s %q: an empty holder: %w", op, name, ErrInvalidValue)
	case ttl <= 0:
		return fmt.Errorf("%s %q: ttl %v: must be positive: %w", op, name, ttl, ErrInvalidValue)
	}
	return nil
}
