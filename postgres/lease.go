package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/claimkit/claim"
)

var _ claim.Leaser = (*Store)(nil)

// acquireLease takes or renews a lease in one statement, timed by the
// database's clock: the row is inserted if the lease is new, and updated
// if its holder renews it or it has run out; otherwise the WHERE clause
// leaves it and the statement returns no row. Two sessions racing for
// one lease are ordered by the row's lock: the second re-reads the row
// the first wrote and finds it held. The holder keeps its acquired_at
// while it renews.
const acquireLease = `INSERT INTO claim_leases AS l (name, holder, acquired_at, renewed_at, expires_at)
	VALUES ($1, $2, now(), now(), now() + $3 * interval '1 microsecond')
	ON CONFLICT (name) DO UPDATE SET
		holder      = excluded.holder,
		acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE now() END,
		renewed_at  = now(),
		expires_at  = excluded.expires_at
	WHERE l.holder = excluded.holder OR l.expires_at < now()
	RETURNING holder`

// AcquireLease takes or renews the lease name for holder until ttl after
// the database's now() (the start of the statement's transaction), in
// one statement on a pooled connection, outside any transaction of the
// store (see claim.Leaser). ttl is rounded up to whole microseconds. It
// takes the lease if the claim_leases table has no row of its name or
// the row's expires_at is past, renews it if holder holds it, and
// otherwise reports false. It returns an error wrapping
// claim.ErrInvalidValue if name or holder is empty or ttl is not
// positive, and one wrapping the cause if the statement fails (ctx done,
// the database unreachable, a schema not migrated to version 6).
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := leaseArgs(ctx, "acquire lease", name, holder, ttl); err != nil {
		return false, err
	}
	micros := (ttl + time.Microsecond - 1) / time.Microsecond
	err := s.pool.QueryRow(ctx, acquireLease, name, holder, int64(micros)).Scan(new(string))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, leaseFail("acquire lease", name, err)
	}
	return true, nil
}

// ReleaseLease deletes holder's lease name, so that another holder may
// take it at once; it does nothing if holder does not hold it. It returns
// an error wrapping claim.ErrInvalidValue if name or holder is empty, and
// one wrapping the cause if the statement fails.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := leaseArgs(ctx, "release lease", name, holder, 1); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM claim_leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return leaseFail("release lease", name, err)
	}
	return nil
}

// leaseArgs returns the error of a lease call with these arguments: one
// wrapping ctx.Err() if ctx is done, one wrapping claim.ErrInvalidValue
// if name or holder is empty or ttl is not positive; nil if none. The
// memory store refuses the same.
func leaseArgs(ctx context.Context, op, name, holder string, ttl time.Duration) error {
	var why string
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("postgres store: %s: %w", op, ctx.Err())
	case name == "":
		why = "an empty name"
	case holder == "":
		why = "an empty holder"
	case ttl <= 0:
		why = fmt.Sprintf("ttl %v: must be positive", ttl)
	default:
		return nil
	}
	return fmt.Errorf("postgres store: %s %q: %s: %w", op, name, why, claim.ErrInvalidValue)
}

// leaseFail returns err, from the lease statement of op, as
// statementError does (claim.ErrInvalidValue for a string PostgreSQL
// cannot hold, such as one with a NUL byte), naming the lease.
func leaseFail(op, name string, err error) error {
	return statementError(fmt.Sprintf("%s %q", op, name), err)
}
