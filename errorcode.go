package claim

import (
	"context"
	"encoding/json"
	"errors"
)

// errorCodes maps every sentinel error to its code, in the order ErrorCode
// tries them: the order of errors.go, then the CSV and BroadWorks
// sentinels, then the context errors. A RetractError, which wraps several
// sentinels, therefore gets the code of its first reason in R1–R4 order.
var errorCodes = []struct {
	err  error
	code string
}{
	{ErrNotFound, "not_found"},
	{ErrInvalidEmail, "invalid_email"},
	{ErrInvalidDomain, "invalid_domain"},
	{ErrEmailTaken, "email_taken"},
	{ErrNotVerified, "not_verified"},
	{ErrInactive, "inactive"},
	{ErrHeldByClaim, "held_by_claim"},
	{ErrDomainNotVerified, "domain_not_verified"},
	{ErrDomainClaimedByOther, "domain_claimed_by_other"},
	{ErrDirectorySyncEnabled, "directory_sync_enabled"},
	{ErrNotAcknowledged, "not_acknowledged"},
	{ErrTooMany, "too_many"},
	{ErrNotEligible, "not_eligible"},
	{ErrNotClaimant, "not_claimant"},
	{ErrSignedIn, "signed_in"},
	{ErrRetractWindowClosed, "retract_window_closed"},
	{ErrDomainClaimed, "domain_claimed"},
	{ErrChoiceNotAllowed, "choice_not_allowed"},
	{ErrNoPendingClaim, "no_pending_claim"},
	{ErrSyncThreshold, "sync_threshold"},
	{ErrPendingClaims, "pending_claims"},
	{ErrStaleMode, "stale_mode"},
	{ErrAlreadyClaimed, "already_claimed"},
	{ErrDuplicate, "duplicate"},
	{ErrInvalidValue, "invalid_value"},
	{ErrConflict, "conflict"},
	{ErrOutcomeUnknown, "outcome_unknown"},
	{ErrNotSelected, "not_selected"},
	{ErrUseAttach, "use_attach"},
	{ErrOrgMapped, "org_mapped"},
	{ErrApprovalRequired, "approval_required"},
	{ErrSubscriberStatus, "subscriber_status"},
	{ErrNotAttached, "not_attached"},
	{ErrEnterpriseAttached, "enterprise_attached"},
	{ErrDetachBlocked, "detach_blocked"},
	{context.Canceled, "canceled"},
	{context.DeadlineExceeded, "deadline_exceeded"},
}

// ErrorCodeUnknown is the code of an error that wraps none of the
// library's sentinels (nor context.Canceled or context.DeadlineExceeded).
const ErrorCodeUnknown = "unknown"

// ErrorCode returns a stable snake_case code for err, for logs, metrics
// and the wire: the name of the sentinel err wraps, without its Err prefix
// ("not_eligible" for ErrNotEligible, "stale_mode" for ErrStaleMode,
// "not_selected" for ErrNotSelected, "use_attach" for ErrUseAttach), or
// "canceled" and "deadline_exceeded" for the context errors. It returns ""
// for nil and ErrorCodeUnknown for any other error. Codes never change
// meaning; new sentinels get new codes.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ErrorCodeUnknown
}

// errorForCode returns the sentinel of code, or nil if there is none.
func errorForCode(code string) error {
	for _, c := range errorCodes {
		if c.code == code {
			return c.err
		}
	}
	return nil
}

// jsonError is an error on the wire: its code (ErrorCode), its message,
// and for an eligibility refusal every reason.
type jsonError struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Reasons []Reason `json:"reasons,omitempty"`
}

// encodeError returns err's wire form; nil for nil.
func encodeError(err error) *jsonError {
	if err == nil {
		return nil
	}
	e := &jsonError{Code: ErrorCode(err), Message: err.Error()}
	if r, ok := errors.AsType[*RefusalError](err); ok {
		e.Reasons = r.Reasons
	}
	return e
}

// decode returns the error e stands for: an error with e's message that
// errors.Is the sentinel of e's code, and for not_eligible also (through
// errors.As) a *RefusalError with the reasons, naming user and email; nil
// for nil.
func (e *jsonError) decode(user UserID, email string) error {
	if e == nil {
		return nil
	}
	if e.Code == "not_eligible" && len(e.Reasons) > 0 {
		return &decodedError{msg: e.Message, sentinel: &RefusalError{User: user, Email: email, Reasons: e.Reasons}}
	}
	return &decodedError{msg: e.Message, sentinel: errorForCode(e.Code)}
}

// decodedError is an error read back from its wire form.
type decodedError struct {
	msg      string
	sentinel error // the sentinel of its code (a *RefusalError for a refusal); nil for an unknown code
}

func (e *decodedError) Error() string { return e.msg }
func (e *decodedError) Unwrap() error { return e.sentinel }

// MarshalJSON encodes the result with its fields' Go names and Err as
// null or {"code": ErrorCode(Err), "message": Err.Error()}, plus
// "reasons" (the eligibility reasons) when Err is a *RefusalError. Mode
// is its text form. Returns an error for a Mode outside the named ones.
func (r Result) MarshalJSON() ([]byte, error) {
	type fields Result
	return json.Marshal(struct {
		fields
		Err *jsonError
	}{fields(r), encodeError(r.Err)})
}

// UnmarshalJSON reads what MarshalJSON writes. Err reads back as an error
// that errors.Is the sentinel of its code, with the message as written; a
// refusal reads back as a *RefusalError with its reasons and the result's
// User.
func (r *Result) UnmarshalJSON(b []byte) error {
	type fields Result
	var v struct {
		fields
		Err *jsonError
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Result(v.fields)
	r.Err = v.Err.decode(r.User, "")
	return nil
}

// MarshalJSON encodes the row with its fields' Go names and Err as null
// or {"code": ErrorCode(Err), "message": Err.Error()}, plus "reasons"
// when Err is a *RefusalError; see Result.MarshalJSON.
func (r RowResult) MarshalJSON() ([]byte, error) {
	type fields RowResult
	return json.Marshal(struct {
		fields
		Err *jsonError
	}{fields(r), encodeError(r.Err)})
}

// UnmarshalJSON reads what MarshalJSON writes; see Result.UnmarshalJSON.
// A refusal reads back as a *RefusalError naming the row's Email.
func (r *RowResult) UnmarshalJSON(b []byte) error {
	type fields RowResult
	var v struct {
		fields
		Err *jsonError
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = RowResult(v.fields)
	r.Err = v.Err.decode("", r.Email)
	return nil
}
