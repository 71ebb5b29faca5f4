package claimhttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
)

// TestProblemFor: every sentinel of the library maps to its own code,
// a 4xx status (5xx only for conflict, outcome_unknown and the
// deadline), a stable type URI; structured errors add their reasons and
// fields; an unnamed error says nothing of itself.
func TestProblemFor(t *testing.T) {
	sentinels := []error{claim.ErrNotFound, claim.ErrInvalidEmail, claim.ErrInvalidDomain, claim.ErrEmailTaken, claim.ErrNotVerified,
		claim.ErrInactive, claim.ErrHeldByClaim, claim.ErrDomainNotVerified, claim.ErrDomainClaimedByOther, claim.ErrDirectorySyncEnabled,
		claim.ErrNotAcknowledged, claim.ErrTooMany, claim.ErrNotEligible, claim.ErrNotClaimant, claim.ErrSignedIn, claim.ErrRetractWindowClosed,
		claim.ErrDomainClaimed, claim.ErrChoiceNotAllowed, claim.ErrNoPendingClaim, claim.ErrSyncThreshold, claim.ErrPendingClaims,
		claim.ErrStaleMode, claim.ErrAlreadyClaimed, claim.ErrDuplicate, claim.ErrInvalidValue, claim.ErrConflict, claim.ErrOutcomeUnknown,
		claim.ErrNotSelected, claim.ErrUseAttach, claim.ErrOrgMapped, claim.ErrApprovalRequired, claim.ErrSubscriberStatus,
		claim.ErrNotAttached, claim.ErrEnterpriseAttached, claim.ErrDetachBlocked, context.Canceled, context.DeadlineExceeded}
	seen := map[string]bool{}
	for _, s := range sentinels {
		err := fmt.Errorf("claim: something: %w", s)
		p := claimhttp.ProblemFor(err)
		code := claim.ErrorCode(s)
		if p.Code != code || p.Type != claimhttp.TypePrefix+code || p.Title == "" || p.Detail != err.Error() || seen[code] {
			t.Errorf("%v: %+v", s, p)
		}
		seen[code] = true
		server := map[string]int{"conflict": 503, "outcome_unknown": 503, "deadline_exceeded": 504}
		if want, ok := server[code]; ok && p.Status != want || !ok && (p.Status < 400 || p.Status > 499) {
			t.Errorf("%s: status %d", code, p.Status)
		}
	}
	for _, c := range []struct {
		err  error
		want claimhttp.Problem
	}{
		{&claim.RefusalError{User: "u1", Reasons: []claim.Reason{claim.ReasonDomainNotVerified, claim.ReasonSourceSSO}},
			claimhttp.Problem{Code: "not_eligible", Status: 409, Reasons: []string{"domain_not_verified", "source_sso"}}},
		{&claim.RetractError{User: "u1", Reasons: []error{claim.ErrSignedIn, claim.ErrRetractWindowClosed}},
			claimhttp.Problem{Code: "signed_in", Status: 409, Reasons: []string{"signed_in", "retract_window_closed"}}},
		{&claim.InputError{Field: "email", Value: "x@", Reason: "no domain", Err: claim.ErrInvalidEmail},
			claimhttp.Problem{Code: "invalid_email", Status: 400, Field: "email", Value: "x@"}},
		{&http.MaxBytesError{Limit: 10}, claimhttp.Problem{Code: "body_too_large", Status: 413}},
		{errors.New("pq: password authentication failed for user admin"), claimhttp.Problem{Code: "internal", Status: 500}},
	} {
		p := claimhttp.ProblemFor(c.err)
		got := claimhttp.Problem{Code: p.Code, Status: p.Status, Reasons: p.Reasons, Field: p.Field, Value: p.Value}
		if diff := cmp.Diff(c.want, got); diff != "" || p.Type != claimhttp.TypePrefix+c.want.Code {
			t.Errorf("%v (-want +got):\n%s", c.err, diff)
		}
		if c.want.Code == "internal" && strings.Contains(p.Detail, "password") {
			t.Errorf("an internal error's detail leaks it: %q", p.Detail)
		}
	}
}

// TestWriteProblem: the problem goes out with its status, media type,
// Retry-After on a 503, and the request's ID.
func TestWriteProblem(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/claims", nil)
	claimhttp.WriteProblem(rec, req, discardLogger(), fmt.Errorf("commit: %w", claim.ErrConflict))
	if rec.Code != 503 || rec.Header().Get("Content-Type") != "application/problem+json" || rec.Header().Get("Retry-After") != "1" ||
		!strings.Contains(rec.Body.String(), `"code":"conflict"`) {
		t.Errorf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}
