package claim_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/claimkit/claim"
)

// --- Section 16: Policy ---

func TestRefusePolicy(t *testing.T) {
	rows := []struct {
		reason, field string
		edit          func(*claim.Policy)
	}{
		{"a zero claim window", "Policy.ClaimWindow", func(p *claim.Policy) { p.ClaimWindow = 0 }},
		{"a negative claim window", "Policy.ClaimWindow", func(p *claim.Policy) { p.ClaimWindow = -window }},
		{"a zero purge delay", "Policy.InactivePurge", func(p *claim.Policy) { p.InactivePurge = 0 }},
		{"a negative purge delay", "Policy.InactivePurge", func(p *claim.Policy) { p.InactivePurge = -1 }},
		{"a zero list limit", "Policy.ListLimit", func(p *claim.Policy) { p.ListLimit = 0 }},
		{"a negative list limit", "Policy.ListLimit", func(p *claim.Policy) { p.ListLimit = -1 }},
		{"a zero manual limit", "Policy.ManualLimit", func(p *claim.Policy) { p.ManualLimit = 0 }},
		{"a zero delayed-claim cutoff", "Policy.DelayedClaimCutoff", func(p *claim.Policy) { p.DelayedClaimCutoff = time.Time{} }},
		{"a negative sync threshold", "Policy.SyncDeleteThreshold", func(p *claim.Policy) { p.SyncDeleteThreshold = -0.01 }},
		{"a sync threshold over 1", "Policy.SyncDeleteThreshold", func(p *claim.Policy) { p.SyncDeleteThreshold = 1.01 }},
		{"a NaN sync threshold", "Policy.SyncDeleteThreshold", func(p *claim.Policy) { p.SyncDeleteThreshold = math.NaN() }},
		{"a negative sync minimum", "Policy.SyncDeleteMinimum", func(p *claim.Policy) { p.SyncDeleteMinimum = -1 }},
		{"a negative resend gap", "Policy.ActivationResendGap", func(p *claim.Policy) { p.ActivationResendGap = -time.Nanosecond }},
		{"an empty token prefix", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = "" }},
		{"a token prefix with a space", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = "cisco ci" }},
		{"a token prefix with '='", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = "a=b" }},
		{"a token prefix with a quote", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = `a"b` }},
		{"a non-ASCII token prefix", "Policy.DomainTokenPrefix", func(p *claim.Policy) { p.DomainTokenPrefix = "vérification" }},
		{"a zero sweep batch", "Policy.SweepBatch", func(p *claim.Policy) { p.SweepBatch = 0 }},
	}
	for _, r := range rows {
		t.Run("Policy: "+r.reason, func(t *testing.T) {
			svc, err := claim.New(claim.NewMemoryStore(), editPolicy(r.edit))
			wantInputError(t, "New(WithPolicy)", svc, err, r.field)
		})
	}
	t.Run("Policy: the edge values that make sense are accepted", func(t *testing.T) {
		_, err := claim.New(claim.NewMemoryStore(), editPolicy(func(p *claim.Policy) {
			p.ClaimWindow, p.InactivePurge, p.ListLimit, p.ManualLimit, p.SweepBatch = 1, 1, 1, 1, 1
			p.SyncDeleteThreshold, p.SyncDeleteMinimum, p.ActivationResendGap = 0, 0, 0
		}))
		if err != nil {
			t.Errorf("New(minimal policy) = %v, want nil", err)
		}
		if _, err := claim.New(claim.NewMemoryStore(), editPolicy(func(p *claim.Policy) { p.SyncDeleteThreshold = 1 })); err != nil {
			t.Errorf("New(SyncDeleteThreshold 1) = %v, want nil", err)
		}
	})
	t.Run("New(nil) is refused", func(t *testing.T) {
		svc, err := claim.New(nil)
		wantInputError(t, "New(nil)", svc, err, "store")
	})
	t.Run("New with a nil clock is refused", func(t *testing.T) {
		svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(nil))
		wantInputError(t, "New(WithClock(nil))", svc, err, "WithClock")
	})
	t.Run("New with a nil resolver is refused", func(t *testing.T) {
		svc, err := claim.New(claim.NewMemoryStore(), claim.WithResolver(nil))
		wantInputError(t, "New(WithResolver(nil))", svc, err, "WithResolver")
	})
	t.Run("New with a nil logger is refused", func(t *testing.T) {
		svc, err := claim.New(claim.NewMemoryStore(), claim.WithLogger(nil))
		wantInputError(t, "New(WithLogger(nil))", svc, err, "WithLogger")
	})
}

func wantInputError(t *testing.T, op string, svc *claim.Service, err error, field string) {
	t.Helper()
	if !errors.Is(err, claim.ErrInvalidValue) {
		t.Errorf("%s = %v, want %v", op, err, claim.ErrInvalidValue)
	}
	var ie *claim.InputError
	if !errors.As(err, &ie) || ie.Field != field {
		t.Errorf("%s = %v, want an *InputError naming %s", op, err, field)
	}
	if svc != nil {
		t.Errorf("%s returned a Service with its error", op)
	}
}
