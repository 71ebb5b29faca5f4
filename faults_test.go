package claim_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/claimkit/claim"
)

// faultStore decorates a Store: the n-th write of an Update (counted from
// 1 across the Update's Tx calls) fails with err. It shows the Store and
// Tx interfaces can be wrapped, and lets tests break any write.
type faultStore struct {
	claim.Store
	failAt int   // 0: never
	err    error // what the failing write returns
}

func (s *faultStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	return s.Store.Update(ctx, func(tx claim.Tx) error {
		return fn(&faultTx{Tx: tx, s: s})
	})
}

type faultTx struct {
	claim.Tx
	s      *faultStore
	writes int
}

func (t *faultTx) fault() error {
	t.writes++
	if t.writes == t.s.failAt {
		return t.s.err
	}
	return nil
}

func (t *faultTx) CreateUser(u claim.User) error {
	if err := t.fault(); err != nil {
		return err
	}
	return t.Tx.CreateUser(u)
}

func (t *faultTx) UpdateUser(u claim.User) error {
	if err := t.fault(); err != nil {
		return err
	}
	return t.Tx.UpdateUser(u)
}

func (t *faultTx) DeleteUser(id claim.UserID) error {
	if err := t.fault(); err != nil {
		return err
	}
	return t.Tx.DeleteUser(id)
}

func (t *faultTx) AppendEvent(e claim.Event) error {
	if err := t.fault(); err != nil {
		return err
	}
	return t.Tx.AppendEvent(e)
}

// TestClaimWriteFailureFailsTheCall: a store error on any write of a
// claim fails the whole call and leaves nothing — even an error that wraps
// a sentinel a refusal would carry (K5, O2). A claim writes the user, the
// original and two events: four writes.
func TestClaimWriteFailureFailsTheCall(t *testing.T) {
	for _, sentinel := range []error{claim.ErrDuplicate, claim.ErrNotFound, claim.ErrInvalidValue, errors.New("connection reset")} {
		for at := 1; at <= 4; at++ {
			t.Run(fmt.Sprintf("%v/write%d", sentinel, at), func(t *testing.T) {
				fs := &faultStore{Store: claim.NewMemoryStore()}
				e := newEnvOn(t, fs)
				e.mustOrg(t, "b", claim.Enterprise, t0, claim.Settings{})
				e.mustVerify(t, "b", "example.com")
				e.mustOrg(t, "a", claim.Individual, oldOrgDate, claim.Settings{})
				ann := e.mustActive(t, "a", "ann@example.com", 5)
				before := e.snapshot(t, "a", "b")

				fs.failAt, fs.err = at, fmt.Errorf("injected: %w", sentinel)
				res, err := e.svc.ClaimUsers(e.ctx, "b", []claim.UserID{ann.ID}, claim.ClaimOptions{Acknowledge: true})
				fs.failAt = 0
				if !errors.Is(err, sentinel) || res != nil {
					t.Fatalf("ClaimUsers() = %v, %v; want nil, the injected error", res, err)
				}
				e.unchanged(t, before, "a", "b")
			})
		}
	}
}
