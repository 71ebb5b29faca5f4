package claim_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/claimkit/claim"
)

// loggerStore records the logger each transaction's context carries.
type loggerStore struct {
	claim.Store
	views, updates []*slog.Logger
}

func (s *loggerStore) View(ctx context.Context, fn func(claim.Tx) error) error {
	s.views = append(s.views, claim.ContextLogger(ctx))
	return s.Store.View(ctx, fn)
}

func (s *loggerStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	s.updates = append(s.updates, claim.ContextLogger(ctx))
	return s.Store.Update(ctx, fn)
}

// TestServiceGivesTheStoreItsLogger: every transaction the Service runs
// carries its WithLogger logger, for the store to log through
// (claim.ContextLogger); without one, ContextLogger discards.
func TestServiceGivesTheStoreItsLogger(t *testing.T) {
	l := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &loggerStore{Store: claim.NewMemoryStore()}
	svc, err := claim.New(s, claim.WithLogger(l))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateOrg(t.Context(), claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Org(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
	if len(s.updates) == 0 || len(s.views) == 0 {
		t.Fatalf("%d updates, %d views; want both", len(s.updates), len(s.views))
	}
	for _, got := range append(s.updates, s.views...) {
		if got != l {
			t.Errorf("ContextLogger in a transaction = %p, want the service's %p", got, l)
		}
	}
	if got := claim.ContextLogger(context.Background()); got == nil || got.Enabled(context.Background(), slog.LevelError) {
		t.Errorf("ContextLogger(Background) = %v, want a logger that discards", got)
	}
}
