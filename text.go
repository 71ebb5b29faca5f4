package claim

import (
	"fmt"
	"slices"
	"strings"
)

// Text forms. The library's values read and write as text (for JSON,
// flags, CSV and configuration files) through encoding.TextMarshaler and
// encoding.TextUnmarshaler:
//
//   - Mode, Action and OrgKind write the names String gives ("Delayed",
//     "MigrateContent", "Enterprise"); State writes the display names
//     Control Hub shows ("Not Verified", "Delayed Claim").
//   - Reading accepts those names in any case and with or without their
//     spaces, so "not verified", "NotVerified" and "Not Verified" are all
//     NotVerified.
//   - The zero value (none) writes as empty text, and empty text reads as
//     the zero value, so a Result without a mode round-trips. The Parse
//     functions refuse empty text: an input that names nothing is not a
//     value.
//   - A value outside the named ones (Mode(7)) does not write: MarshalText
//     returns an *InputError wrapping ErrInvalidValue, so no garbage
//     reaches a file or a peer. Unknown text reads as the same error.
//   - The BroadWorks values and Reason are strings already; their text is
//     the string, read in any case; MarshalText refuses strings that are
//     neither empty nor one of the named values.

// enumString is String for the int enums: names[v], or Type(v) outside it.
func enumString[T ~int](v T, names []string, typ string) string {
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, int(v))
}

// enumText is MarshalText for the int enums; names[0] is the zero value's
// String, which writes as empty text.
func enumText[T ~int](v T, names []string, typ string) ([]byte, error) {
	if v == 0 {
		return []byte{}, nil
	}
	if v > 0 && int(v) < len(names) {
		return []byte(names[v]), nil
	}
	return nil, invalid(ErrInvalidValue, typ, int(v), "not a "+typ)
}

// foldName is the form names are compared in: lower case, without spaces.
func foldName(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
}

// parseEnum is Parse… for the int enums: the value whose name is s.
func parseEnum[T ~int](s string, names []string, typ string) (T, error) {
	k := foldName(s)
	for i := 1; i < len(names); i++ {
		if foldName(names[i]) == k {
			return T(i), nil
		}
	}
	return 0, invalid(ErrInvalidValue, typ, s, "must be one of "+strings.Join(names[1:], ", "))
}

// unmarshalEnum is UnmarshalText for the int enums.
func unmarshalEnum[T ~int](v *T, text []byte, names []string, typ string) error {
	if len(text) == 0 {
		*v = 0
		return nil
	}
	p, err := parseEnum[T](string(text), names, typ)
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// ParseMode returns the mode named s ("Immediate", "Delayed"; any case).
// Returns an *InputError wrapping ErrInvalidValue for any other text,
// empty text included.
func ParseMode(s string) (Mode, error) { return parseEnum[Mode](s, modeNames[:], "Mode") }

// MarshalText returns the mode's name; empty for the zero value. Returns
// an *InputError wrapping ErrInvalidValue for an unnamed value.
func (m Mode) MarshalText() ([]byte, error) { return enumText(m, modeNames[:], "Mode") }

// UnmarshalText sets the mode named by text; empty text is the zero value.
// Returns an *InputError wrapping ErrInvalidValue for unknown text.
func (m *Mode) UnmarshalText(text []byte) error {
	return unmarshalEnum(m, text, modeNames[:], "Mode")
}

// ParseState returns the state named s by its display name ("Not
// Verified", "Delayed Claim"; any case, spaces optional). Returns an
// *InputError wrapping ErrInvalidValue for any other text, empty text
// included.
func ParseState(s string) (State, error) { return parseEnum[State](s, stateNames[:], "State") }

// MarshalText returns the state's display name; empty for the zero value.
// Returns an *InputError wrapping ErrInvalidValue for an unnamed value.
func (s State) MarshalText() ([]byte, error) { return enumText(s, stateNames[:], "State") }

// UnmarshalText sets the state named by text; empty text is the zero
// value. Returns an *InputError wrapping ErrInvalidValue for unknown text.
func (s *State) UnmarshalText(text []byte) error {
	return unmarshalEnum(s, text, stateNames[:], "State")
}

// ParseAction returns the action named s ("ChangeEmail",
// "MigrateContent", "DeleteOriginal"; any case). Returns an *InputError
// wrapping ErrInvalidValue for any other text, empty text included.
func ParseAction(s string) (Action, error) {
	return parseEnum[Action](s, actionNames[:], "Action")
}

// MarshalText returns the action's name; empty for the zero value.
// Returns an *InputError wrapping ErrInvalidValue for an unnamed value.
func (a Action) MarshalText() ([]byte, error) { return enumText(a, actionNames[:], "Action") }

// UnmarshalText sets the action named by text; empty text is the zero
// value. Returns an *InputError wrapping ErrInvalidValue for unknown text.
func (a *Action) UnmarshalText(text []byte) error {
	return unmarshalEnum(a, text, actionNames[:], "Action")
}

// ParseOrgKind returns the kind named s ("Enterprise", "Individual",
// "Consumer"; any case). Returns an *InputError wrapping ErrInvalidValue
// for any other text, empty text included.
func ParseOrgKind(s string) (OrgKind, error) {
	return parseEnum[OrgKind](s, orgKindNames[:], "OrgKind")
}

// MarshalText returns the kind's name; empty for the zero value. Returns
// an *InputError wrapping ErrInvalidValue for an unnamed value.
func (k OrgKind) MarshalText() ([]byte, error) { return enumText(k, orgKindNames[:], "OrgKind") }

// UnmarshalText sets the kind named by text; empty text is the zero
// value. Returns an *InputError wrapping ErrInvalidValue for unknown text.
func (k *OrgKind) UnmarshalText(text []byte) error {
	return unmarshalEnum(k, text, orgKindNames[:], "OrgKind")
}

// The named values of the string types, in the order their docs list them.
var (
	reasonNames = []Reason{ReasonAlreadyMember, ReasonDomainNotVerified, ReasonDomainClaimedByOther,
		ReasonSourceSSO, ReasonSourceDirectorySync, ReasonPendingClaim}
	attachModeNames       = []AttachMode{AttachNew, AttachAutomatic, AttachApproved}
	flowNames             = []Flow{FlowTrusted, FlowUntrusted, FlowSelfActivation}
	subscriberStatusNames = []SubscriberStatus{StatusPendingEmailInput, StatusPendingEmailValidation,
		StatusPendingUserMigration, StatusProvisioning, StatusProvisioned, StatusError}
	adminRoleNames     = []AdminRole{FullAdmin, ProvisioningAdmin}
	licenseStatusNames = []LicenseStatus{LicenseActive, LicenseSuspended, LicenseCancelled}
	detachFlowNames    = []DetachFlow{DetachStandard, DetachHybrid}
	attachReasonNames  = []AttachReason{ReasonManyUsers, ReasonVerifiedDomain, ReasonClaimedDomain}
)

// parseWord is Parse… for the string enums: the named value equal to s in
// any case.
func parseWord[T ~string](s string, names []T, typ string) (T, error) {
	for _, n := range names {
		if strings.EqualFold(string(n), strings.TrimSpace(s)) {
			return n, nil
		}
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = string(n)
	}
	return "", invalid(ErrInvalidValue, typ, s, "must be one of "+strings.Join(quoted, ", "))
}

// wordText is MarshalText for the string enums: the value itself if it is
// empty or named.
func wordText[T ~string](v T, names []T, typ string) ([]byte, error) {
	if v != "" && !slices.Contains(names, v) {
		return nil, invalid(ErrInvalidValue, typ, string(v), "not a "+typ)
	}
	return []byte(v), nil
}

// unmarshalWord is UnmarshalText for the string enums.
func unmarshalWord[T ~string](v *T, text []byte, names []T, typ string) error {
	if len(text) == 0 {
		*v = ""
		return nil
	}
	p, err := parseWord(string(text), names, typ)
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// ParseReason returns the eligibility reason s names ("source_sso"; any
// case). Returns an *InputError wrapping ErrInvalidValue for any other
// text.
func ParseReason(s string) (Reason, error) { return parseWord(s, reasonNames, "Reason") }

// MarshalText returns the reason; an *InputError wrapping ErrInvalidValue
// if it is neither empty nor a named reason.
func (r Reason) MarshalText() ([]byte, error) { return wordText(r, reasonNames, "Reason") }

// UnmarshalText sets the reason text names; empty text is the empty
// reason. Returns an *InputError wrapping ErrInvalidValue for unknown
// text.
func (r *Reason) UnmarshalText(text []byte) error {
	return unmarshalWord(r, text, reasonNames, "Reason")
}

// ParseAttachMode returns the attach mode s names ("new", "automatic",
// "approved"; any case). Returns an *InputError wrapping ErrInvalidValue
// for any other text.
func ParseAttachMode(s string) (AttachMode, error) {
	return parseWord(s, attachModeNames, "AttachMode")
}

// MarshalText returns the mode; an *InputError wrapping ErrInvalidValue if
// it is neither empty nor a named mode.
func (m AttachMode) MarshalText() ([]byte, error) {
	return wordText(m, attachModeNames, "AttachMode")
}

// UnmarshalText sets the mode text names; empty text is no mode. Returns
// an *InputError wrapping ErrInvalidValue for unknown text.
func (m *AttachMode) UnmarshalText(text []byte) error {
	return unmarshalWord(m, text, attachModeNames, "AttachMode")
}

// ParseFlow returns the flow s names ("trusted_email", "untrusted_email",
// "self_activation"; any case). Returns an *InputError wrapping
// ErrInvalidValue for any other text.
func ParseFlow(s string) (Flow, error) { return parseWord(s, flowNames, "Flow") }

// MarshalText returns the flow; an *InputError wrapping ErrInvalidValue if
// it is neither empty nor a named flow.
func (f Flow) MarshalText() ([]byte, error) { return wordText(f, flowNames, "Flow") }

// UnmarshalText sets the flow text names; empty text is no flow. Returns
// an *InputError wrapping ErrInvalidValue for unknown text.
func (f *Flow) UnmarshalText(text []byte) error {
	return unmarshalWord(f, text, flowNames, "Flow")
}

// ParseSubscriberStatus returns the status s names ("provisioned",
// "pending_user_migration", …; any case). Returns an *InputError wrapping
// ErrInvalidValue for any other text.
func ParseSubscriberStatus(s string) (SubscriberStatus, error) {
	return parseWord(s, subscriberStatusNames, "SubscriberStatus")
}

// MarshalText returns the status; an *InputError wrapping ErrInvalidValue
// if it is neither empty nor a named status.
func (s SubscriberStatus) MarshalText() ([]byte, error) {
	return wordText(s, subscriberStatusNames, "SubscriberStatus")
}

// UnmarshalText sets the status text names; empty text is no status.
// Returns an *InputError wrapping ErrInvalidValue for unknown text.
func (s *SubscriberStatus) UnmarshalText(text []byte) error {
	return unmarshalWord(s, text, subscriberStatusNames, "SubscriberStatus")
}

// ParseAdminRole returns the role s names ("full_admin",
// "provisioning_admin"; any case). Returns an *InputError wrapping
// ErrInvalidValue for any other text.
func ParseAdminRole(s string) (AdminRole, error) {
	return parseWord(s, adminRoleNames, "AdminRole")
}

// MarshalText returns the role; an *InputError wrapping ErrInvalidValue if
// it is neither empty nor a named role.
func (r AdminRole) MarshalText() ([]byte, error) { return wordText(r, adminRoleNames, "AdminRole") }

// UnmarshalText sets the role text names; empty text is no role. Returns
// an *InputError wrapping ErrInvalidValue for unknown text.
func (r *AdminRole) UnmarshalText(text []byte) error {
	return unmarshalWord(r, text, adminRoleNames, "AdminRole")
}

// ParseLicenseStatus returns the license status s names ("active",
// "suspended", "cancelled"; any case). Returns an *InputError wrapping
// ErrInvalidValue for any other text.
func ParseLicenseStatus(s string) (LicenseStatus, error) {
	return parseWord(s, licenseStatusNames, "LicenseStatus")
}

// MarshalText returns the status; an *InputError wrapping ErrInvalidValue
// if it is neither empty nor a named status.
func (s LicenseStatus) MarshalText() ([]byte, error) {
	return wordText(s, licenseStatusNames, "LicenseStatus")
}

// UnmarshalText sets the status text names; empty text is no status.
// Returns an *InputError wrapping ErrInvalidValue for unknown text.
func (s *LicenseStatus) UnmarshalText(text []byte) error {
	return unmarshalWord(s, text, licenseStatusNames, "LicenseStatus")
}

// ParseDetachFlow returns the detach flow s names ("standard", "hybrid";
// any case). Returns an *InputError wrapping ErrInvalidValue for any
// other text.
func ParseDetachFlow(s string) (DetachFlow, error) {
	return parseWord(s, detachFlowNames, "DetachFlow")
}

// MarshalText returns the flow; an *InputError wrapping ErrInvalidValue if
// it is neither empty nor a named flow.
func (f DetachFlow) MarshalText() ([]byte, error) {
	return wordText(f, detachFlowNames, "DetachFlow")
}

// UnmarshalText sets the flow text names; empty text is no flow. Returns
// an *InputError wrapping ErrInvalidValue for unknown text.
func (f *DetachFlow) UnmarshalText(text []byte) error {
	return unmarshalWord(f, text, detachFlowNames, "DetachFlow")
}

// ParseAttachReason returns the attach reason s names
// ("users_100_or_more", "domain_verified", "domain_claimed"; any case).
// Returns an *InputError wrapping ErrInvalidValue for any other text.
func ParseAttachReason(s string) (AttachReason, error) {
	return parseWord(s, attachReasonNames, "AttachReason")
}

// MarshalText returns the reason; an *InputError wrapping ErrInvalidValue
// if it is neither empty nor a named reason.
func (r AttachReason) MarshalText() ([]byte, error) {
	return wordText(r, attachReasonNames, "AttachReason")
}

// UnmarshalText sets the reason text names; empty text is the empty
// reason. Returns an *InputError wrapping ErrInvalidValue for unknown
// text.
func (r *AttachReason) UnmarshalText(text []byte) error {
	return unmarshalWord(r, text, attachReasonNames, "AttachReason")
}
