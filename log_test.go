package claim_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/claimkit/claim"
)

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

// TestSyncLogs: a directory sync logs its start and its end with the
// counts and the duration at Info, each refused entry with its address
// at Debug, and a sync refused as a whole at Warn with its error code.
func TestSyncLogs(t *testing.T) {
	h := &recordHandler{}
	e := newEnv(t, claim.WithLogger(slog.New(h)))
	e.mustOrg(t, "acme", claim.Enterprise, t0, claim.Settings{DirectorySync: true})
	e.mustVerify(t, "acme", "acme.example")
	_, err := e.svc.SyncDirectory(e.ctx, "acme", []claim.DirectoryEntry{{Email: "ann@acme.example"}, {Email: "not an address"}}, claim.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.find("claim: sync started"); len(got) != 1 || got[0]["level"] != slog.LevelInfo || got[0]["org"] != "acme" {
		t.Errorf("sync start records = %v, want one at Info for acme", got)
	}
	end := h.find("claim: sync done")
	if len(end) != 1 || end[0]["level"] != slog.LevelInfo || end[0]["created"] != int64(1) || end[0]["refused"] != int64(1) || end[0]["took"] == nil {
		t.Errorf("sync end records = %v, want one at Info with created 1, refused 1 and the duration", end)
	}
	if got := h.find("claim: sync row"); len(got) != 1 || got[0]["level"] != slog.LevelDebug || got[0]["email"] != "not an address" || got[0]["line"] != int64(2) {
		t.Errorf("sync row records = %v, want entry 2's address at Debug", got)
	}
	_, err = e.svc.SyncDirectory(e.ctx, "nope", nil, claim.SyncOptions{}) // an unknown org
	if err == nil {
		t.Fatal("SyncDirectory(unknown org, nil) = nil, want an error")
	}
	if got := h.find("claim: sync failed"); len(got) != 1 || got[0]["level"] != slog.LevelWarn || got[0]["code"] != "not_found" {
		t.Errorf("failed sync records = %v, want one at Warn with code not_found", got)
	}
}

// loggerStore records the logger each transaction's context carries.
type loggerStore struct {
	claim.Store
	views, updates []*slog.Logger
}

func (s *loggerStore) Update(ctx context.Context, fn func(claim.Tx) error) error {
	s.updates = append(s.updates, claim.ContextLogger(ctx))
	return s.Store.Update(ctx, fn)
}

func (s *loggerStore) View(ctx context.Context, fn func(claim.Tx) error) error {
	s.views = append(s.views, claim.ContextLogger(ctx))
	return s.Store.View(ctx, fn)
}

// recordHandler keeps every record logged through it.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

// find returns the records with the message, each as its level and its
// attributes by key.
func (h *recordHandler) find(msg string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		m := map[string]any{"level": r.Level}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.Resolve().Any()
			return true
		})
		out = append(out, m)
	}
	return out
}
