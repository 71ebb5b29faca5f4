package claim

import (
	"strings"
	"time"
)

// Policy holds the rules' numbers (docs/rules.md, "Policy"). DefaultPolicy gives
// the documented defaults; New refuses a Policy that makes no sense.
type Policy struct {
	// ClaimWindow is how long a claim can be retracted and a delayed claim
	// waits for the user's choice: 14 days. The window of a claim made at
	// t is [t, t+ClaimWindow) (X3).
	ClaimWindow time.Duration
	// InactivePurge is how long a user stays Inactive before the sweep
	// deletes it: 30 days (Y4).
	InactivePurge time.Duration
	// ListLimit is the most users ClaimUsers takes in one call: 250 (K2;
	// the product documents say 100).
	ListLimit int
	// ManualLimit is the most addresses ClaimEmails takes in one call: 25 (K3).
	ManualLimit int
	// DelayedClaimCutoff: users of Individual orgs created before it are
	// delayed-eligible (M2). Default 2020-05-06T00:00:00Z, exclusive.
	DelayedClaimCutoff time.Time
	// SyncDeleteThreshold is the share of an org's not-yet-inactive users
	// a full directory sync may deactivate: 0.2 (Y5).
	SyncDeleteThreshold float64
	// SyncDeleteMinimum: a full sync may always deactivate this many: 10 (Y5).
	SyncDeleteMinimum int
	// ActivationResendGap: NudgeUnverified skips users who got an
	// activation e-mail less than this long ago: 24 hours (U7).
	ActivationResendGap time.Duration
	// DomainTokenPrefix starts every domain-verification TXT record:
	// "cisco-ci-domain-verification" (D1).
	DomainTokenPrefix string
	// SweepBatch is how many claims Sweep resolves per transaction: 100 (P1).
	SweepBatch int
}

// DefaultPolicy returns the documented defaults (docs/rules.md).
func DefaultPolicy() Policy {
	return Policy{
		ClaimWindow:         14 * 24 * time.Hour,
		InactivePurge:       30 * 24 * time.Hour,
		ListLimit:           250,
		ManualLimit:         25,
		DelayedClaimCutoff:  time.Date(2020, 5, 6, 0, 0, 0, 0, time.UTC),
		SyncDeleteThreshold: 0.2,
		SyncDeleteMinimum:   10,
		ActivationResendGap: 24 * time.Hour,
		DomainTokenPrefix:   "cisco-ci-domain-verification",
		SweepBatch:          100,
	}
}

// validate returns an *InputError naming the first field that makes no
// sense.
func (p Policy) validate() error {
	switch {
	case p.ClaimWindow <= 0:
		return invalid(ErrInvalidValue, "Policy.ClaimWindow", p.ClaimWindow, "must be positive")
	case p.InactivePurge <= 0:
		return invalid(ErrInvalidValue, "Policy.InactivePurge", p.InactivePurge, "must be positive")
	case p.ListLimit <= 0:
		return invalid(ErrInvalidValue, "Policy.ListLimit", p.ListLimit, "must be positive")
	case p.ManualLimit <= 0:
		return invalid(ErrInvalidValue, "Policy.ManualLimit", p.ManualLimit, "must be positive")
	case p.DelayedClaimCutoff.IsZero():
		return invalid(ErrInvalidValue, "Policy.DelayedClaimCutoff", p.DelayedClaimCutoff, "must be set")
	case !(p.SyncDeleteThreshold >= 0 && p.SyncDeleteThreshold <= 1): // also refuses NaN
		return invalid(ErrInvalidValue, "Policy.SyncDeleteThreshold", p.SyncDeleteThreshold, "must be a fraction between 0 and 1")
	case p.SyncDeleteMinimum < 0:
		return invalid(ErrInvalidValue, "Policy.SyncDeleteMinimum", p.SyncDeleteMinimum, "must not be negative")
	case p.ActivationResendGap < 0:
		return invalid(ErrInvalidValue, "Policy.ActivationResendGap", p.ActivationResendGap, "must not be negative")
	case p.DomainTokenPrefix == "" || strings.ContainsAny(p.DomainTokenPrefix, `"=`) || !isASCII(p.DomainTokenPrefix):
		return invalid(ErrInvalidValue, "Policy.DomainTokenPrefix", p.DomainTokenPrefix, "must be non-empty printable ASCII without spaces, quotes or '='")
	case p.SweepBatch <= 0:
		return invalid(ErrInvalidValue, "Policy.SweepBatch", p.SweepBatch, "must be positive")
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
