package claim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors. Every error the Service returns wraps one or more of
// these, so callers test them with errors.Is; none of them needs its
// message parsed. Where a caller needs detail, the error is also one of
// the structured types below (*InputError, *RefusalError, *RetractError).
var (
	// ErrNotFound: an unknown org, user or domain, or a user that exists
	// but is not in the org named as acting on it (N3).
	ErrNotFound = errors.New("not found")
	// ErrInvalidEmail: an e-mail address that is not one (N1, N4).
	ErrInvalidEmail = errors.New("invalid e-mail address")
	// ErrInvalidDomain: a domain name that is not one (N2).
	ErrInvalidDomain = errors.New("invalid domain name")
	// ErrEmailTaken: the address belongs to another account (U1).
	ErrEmailTaken = errors.New("e-mail address already taken")
	// ErrNotVerified: a Not Verified user tried to sign in (U4).
	ErrNotVerified = errors.New("user not verified")
	// ErrInactive: an Inactive user tried to sign in (U4).
	ErrInactive = errors.New("user inactive")
	// ErrHeldByClaim: the account is an original held by another org's
	// pending claim and is frozen (H2, U6).
	ErrHeldByClaim = errors.New("account held by a pending claim")
	// ErrDomainNotVerified: the org has not verified the domain (D1, D3).
	ErrDomainNotVerified = errors.New("domain not verified")
	// ErrDomainClaimedByOther: another org has claimed the domain (D3, D4,
	// D6, D7).
	ErrDomainClaimedByOther = errors.New("domain claimed by another organization")
	// ErrDirectorySyncEnabled: the claiming org synchronizes from a
	// directory; turn it off before claiming users (E7).
	ErrDirectorySyncEnabled = errors.New("directory synchronization is enabled")
	// ErrNotAcknowledged: a claim without the admin's acknowledgement (K1).
	ErrNotAcknowledged = errors.New("claim not acknowledged")
	// ErrTooMany: more inputs than the method allows in one call (K2, K3).
	ErrTooMany = errors.New("too many inputs")
	// ErrNotEligible: the user cannot be claimed; the error is a
	// *RefusalError listing every reason (E1–E6).
	ErrNotEligible = errors.New("user not eligible for claim")
	// ErrNotClaimant: only the org that made a claim can retract it (R1).
	ErrNotClaimant = errors.New("not the claiming organization")
	// ErrSignedIn: the claimed user has signed in (R2).
	ErrSignedIn = errors.New("user has signed in since the claim")
	// ErrRetractWindowClosed: 14 days or more have passed since the claim (R3).
	ErrRetractWindowClosed = errors.New("retraction window closed")
	// ErrDomainClaimed: the org still claims the domain (D4, R4).
	ErrDomainClaimed = errors.New("domain is claimed")
	// ErrChoiceNotAllowed: the user may not make this choice now (C1).
	ErrChoiceNotAllowed = errors.New("choice not allowed")
	// ErrNoPendingClaim: the user has no pending claim (C1, X4, R9).
	ErrNoPendingClaim = errors.New("no pending claim")
	// ErrSyncThreshold: a full directory sync would deactivate too many
	// users (Y5).
	ErrSyncThreshold = errors.New("directory sync would deactivate too many users")
	// ErrPendingClaims: the org cannot be deleted while claims involving it
	// are inside their window (G1).
	ErrPendingClaims = errors.New("claims still pending")
	// ErrStaleMode: a CSV row's claim mode no longer applies; re-export (M3).
	ErrStaleMode = errors.New("claim mode no longer applies; re-export the file")
	// ErrAlreadyClaimed: the org already claimed this user (V4).
	ErrAlreadyClaimed = errors.New("user already claimed")
	// ErrDuplicate: the same input twice in one call, or an ID that exists (K3).
	ErrDuplicate = errors.New("duplicate")
	// ErrInvalidValue: a field holds a value it cannot hold (N3, Policy).
	ErrInvalidValue = errors.New("invalid value")
	// ErrConflict: a store could not commit after its retries (Q1).
	ErrConflict = errors.New("conflict: transaction could not be committed")
	// ErrOutcomeUnknown: the connection to the store was lost after the
	// transaction's COMMIT was sent and before its answer came, so whether
	// the operation took effect is unknown. Read again (the user, the
	// event log) to learn what happened before retrying an operation that
	// is not idempotent. A store returns no other error for work that
	// committed.
	ErrOutcomeUnknown = errors.New("outcome unknown: the connection was lost while the transaction committed")
)

// InputError reports bad input: which field, which value and why. It
// wraps a sentinel (ErrInvalidValue, ErrInvalidEmail, ErrInvalidDomain …)
// so errors.Is works on it. An operation that returns an InputError has
// changed nothing (N3).
//
// The error keeps and quotes at most the first 64 bytes of the value, so a
// hostile 10 MB value makes a short message; Size then gives the whole
// value's length.
type InputError struct {
	Field  string // the field or argument, e.g. "Policy.ListLimit" or "email"
	Value  string // the offending value as given, cut to its first 64 bytes when longer
	Size   int    // when Value was cut: the whole value's length in bytes; else 0
	Reason string // why it is refused, e.g. "must be positive"
	Err    error  // the sentinel
}

// Error returns the error's message.
func (e *InputError) Error() string {
	if e.Size > len(e.Value) {
		return fmt.Sprintf("claim: %s %q… (%d bytes): %s: %v", e.Field, e.Value, e.Size, e.Reason, e.Err)
	}
	return fmt.Sprintf("claim: %s %q: %s: %v", e.Field, e.Value, e.Reason, e.Err)
}

// Unwrap returns the sentinel.
func (e *InputError) Unwrap() error { return e.Err }

// invalid returns an *InputError holding at most a bounded prefix of
// value (see InputError).
func invalid(sentinel error, field string, value any, reason string) error {
	v := fmt.Sprint(value)
	if len(reason) > 4*maxQuoted { // a reason quoting a parser's view of the value
		r, _ := bounded(reason[:4*maxQuoted])
		reason = r + "…"
	}
	e := &InputError{Field: field, Reason: reason, Err: sentinel}
	var cut bool
	if e.Value, cut = bounded(v); cut {
		e.Size = len(v)
	}
	return e
}

// Reason is a stable code saying why a user cannot be claimed (E1–E6).
type Reason string

// The eligibility reasons, in the order they are checked and reported.
const (
	ReasonAlreadyMember        Reason = "already_member"          // E1
	ReasonDomainNotVerified    Reason = "domain_not_verified"     // E2
	ReasonDomainClaimedByOther Reason = "domain_claimed_by_other" // E3
	ReasonSourceSSO            Reason = "source_sso"              // E4
	ReasonSourceDirectorySync  Reason = "source_directory_sync"   // E5
	ReasonPendingClaim         Reason = "pending_claim"           // E6
)

// RefusalError is the error of a user that cannot be claimed. It
// satisfies errors.Is(err, ErrNotEligible) and lists every reason that
// applies, in the order of E1–E6.
//
// Of a user the claiming org may not see — another org's user on a domain
// it has not verified — the only reason is domain_not_verified and Email
// is empty: the refusal reveals nothing the org could not know (N3).
type RefusalError struct {
	User    UserID   // the user refused
	Email   string   // its address; empty when the claiming org may not see it
	Reasons []Reason // every reason that applies, never empty
}

// Error returns the error's message.
func (e *RefusalError) Error() string {
	rs := make([]string, len(e.Reasons))
	for i, r := range e.Reasons {
		rs[i] = string(r)
	}
	who := e.Email
	if who == "" {
		who = fmt.Sprintf("user %q", e.User)
	}
	return fmt.Sprintf("claim: %s: %v: %s", who, ErrNotEligible, strings.Join(rs, ", "))
}

// Unwrap returns ErrNotEligible.
func (e *RefusalError) Unwrap() error { return ErrNotEligible }

// Has reports whether r is among the reasons.
func (e *RefusalError) Has(r Reason) bool { return slices.Contains(e.Reasons, r) }

// RetractError is the error of a refused retraction (R7): every reason
// that applies, in the order R1, R2, R3, R4. errors.Is finds each of them.
type RetractError struct {
	User    UserID  // the user whose claim was to be retracted
	Reasons []error // ErrNotClaimant, ErrSignedIn, ErrRetractWindowClosed, ErrDomainClaimed
}

// Error returns the error's message.
func (e *RetractError) Error() string {
	rs := make([]string, len(e.Reasons))
	for i, r := range e.Reasons {
		rs[i] = r.Error()
	}
	return fmt.Sprintf("claim: cannot retract claim on user %s: %s", e.User, strings.Join(rs, "; "))
}

// Unwrap returns the reasons.
func (e *RetractError) Unwrap() []error { return e.Reasons }

// errf wraps a sentinel with context in the package's message style.
func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("claim: %s: %w", fmt.Sprintf(format, args...), sentinel)
}
