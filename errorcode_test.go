package claim_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/claimkit/claim"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		reason string
		err    error
		want   string
	}{
		{"nil has no code", nil, ""},
		{"a sentinel", claim.ErrNotFound, "not_found"},
		{"a wrapped sentinel", fmt.Errorf("claim: row 3: %w", claim.ErrStaleMode), "stale_mode"},
		{"a refusal", &claim.RefusalError{Email: "a@x.com", Reasons: []claim.Reason{claim.ReasonSourceSSO}}, "not_eligible"},
		{"an input error names its sentinel", &claim.InputError{Field: "email", Err: claim.ErrInvalidEmail}, "invalid_email"},
		{"a retraction refusal: its first reason in R1–R4 order", &claim.RetractError{Reasons: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}}, "signed_in"},
		{"a CSV sentinel", claim.ErrNotSelected, "not_selected"},
		{"a BroadWorks sentinel", claim.ErrUseAttach, "use_attach"},
		{"an attach refusal", &claim.AttachError{Reasons: []claim.AttachReason{claim.ReasonManyUsers}}, "approval_required"},
		{"a cancelled context", fmt.Errorf("x: %w", context.Canceled), "canceled"},
		{"a deadline", context.DeadlineExceeded, "deadline_exceeded"},
		{"an error of no sentinel", errors.New("disk on fire"), claim.ErrorCodeUnknown},
	}
	for _, tt := range tests {
		if got := claim.ErrorCode(tt.err); got != tt.want {
			t.Errorf("%s: ErrorCode(%v) = %q, want %q", tt.reason, tt.err, got, tt.want)
		}
	}
}
