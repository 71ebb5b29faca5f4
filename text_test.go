package claim_test

import (
	"encoding"
	"encoding/json"
	"errors"
	"testing"

	"github.com/claimkit/claim"
)

// roundTrip checks that v writes as want, reads back as v from want and
// from each of alts, and survives encoding/json as a JSON string.
func roundTrip[T comparable, PT interface {
	*T
	encoding.TextUnmarshaler
}](t *testing.T, v T, want string, alts ...string) {
	t.Helper()
	m, ok := any(v).(encoding.TextMarshaler)
	if !ok {
		t.Fatalf("%T is not an encoding.TextMarshaler", v)
	}
	b, err := m.MarshalText()
	if err != nil || string(b) != want {
		t.Errorf("%T(%v).MarshalText() = %q, %v, want %q", v, v, b, err, want)
	}
	for _, s := range append([]string{want}, alts...) {
		var got T
		if err := PT(&got).UnmarshalText([]byte(s)); err != nil || got != v {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", s, got, err, v)
		}
	}
	j, err := json.Marshal(map[string]T{"v": v})
	if err != nil {
		t.Fatalf("json.Marshal(%v) = %v", v, err)
	}
	if w, _ := json.Marshal(map[string]string{"v": want}); string(j) != string(w) {
		t.Errorf("json.Marshal(%v) = %s, want %s", v, j, w)
	}
	var back map[string]T
	if err := json.Unmarshal(j, &back); err != nil || back["v"] != v {
		t.Errorf("json.Unmarshal(%s) = %v, %v, want %v", j, back["v"], err, v)
	}
}

// wantInvalid checks that err is an *InputError of field wrapping
// ErrInvalidValue.
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ie *claim.InputError
	if !errors.Is(err, claim.ErrInvalidValue) || !errors.As(err, &ie) || ie.Field != field {
		t.Errorf("%s = %v, want an *InputError of %s wrapping ErrInvalidValue", what, err, field)
	}
}

func TestTextRoundTripIntEnums(t *testing.T) {
	roundTrip(t, claim.Immediate, "Immediate", "immediate", "IMMEDIATE", " Immediate ")
	roundTrip(t, claim.Delayed, "Delayed", "delayed")
	roundTrip(t, claim.Mode(0), "")

	roundTrip(t, claim.NotVerified, "Not Verified", "not verified", "NotVerified", "notverified")
	roundTrip(t, claim.Verified, "Verified", "verified")
	roundTrip(t, claim.Active, "Active", "ACTIVE")
	roundTrip(t, claim.Inactive, "Inactive", "inactive")
	roundTrip(t, claim.DelayedClaim, "Delayed Claim", "DelayedClaim", "delayed claim")
	roundTrip(t, claim.State(0), "")

	roundTrip(t, claim.ChangeEmail, "ChangeEmail", "changeemail", "Change Email")
	roundTrip(t, claim.MigrateContent, "MigrateContent", "migratecontent")
	roundTrip(t, claim.DeleteOriginal, "DeleteOriginal", "deleteoriginal")
	roundTrip(t, claim.Action(0), "")

	roundTrip(t, claim.Enterprise, "Enterprise", "enterprise")
	roundTrip(t, claim.Individual, "Individual", "individual")
	roundTrip(t, claim.Consumer, "Consumer", "consumer")
	roundTrip(t, claim.OrgKind(0), "")
}

func TestTextMatchesString(t *testing.T) {
	vals := []interface {
		encoding.TextMarshaler
		String() string
	}{claim.Immediate, claim.Delayed, claim.NotVerified, claim.Verified, claim.Active, claim.Inactive,
		claim.DelayedClaim, claim.ChangeEmail, claim.MigrateContent, claim.DeleteOriginal,
		claim.Enterprise, claim.Individual, claim.Consumer}
	for _, v := range vals {
		if b, err := v.MarshalText(); err != nil || string(b) != v.String() {
			t.Errorf("%T(%v).MarshalText() = %q, %v, want String() %q", v, v, b, err, v.String())
		}
	}
}

func TestTextRoundTripStringEnums(t *testing.T) {
	for _, r := range []claim.Reason{claim.ReasonAlreadyMember, claim.ReasonDomainNotVerified,
		claim.ReasonDomainClaimedByOther, claim.ReasonSourceSSO, claim.ReasonSourceDirectorySync, claim.ReasonPendingClaim} {
		roundTrip(t, r, string(r))
	}
	roundTrip(t, claim.ReasonSourceSSO, "source_sso", "SOURCE_SSO")
	for _, m := range []claim.AttachMode{claim.AttachNew, claim.AttachAutomatic, claim.AttachApproved, ""} {
		roundTrip(t, m, string(m))
	}
	roundTrip(t, claim.AttachApproved, "approved", "Approved")
	for _, f := range []claim.Flow{claim.FlowTrusted, claim.FlowUntrusted, claim.FlowSelfActivation} {
		roundTrip(t, f, string(f))
	}
	roundTrip(t, claim.FlowTrusted, "trusted_email", "Trusted_Email")
	for _, s := range []claim.SubscriberStatus{claim.StatusPendingEmailInput, claim.StatusPendingEmailValidation,
		claim.StatusPendingUserMigration, claim.StatusProvisioning, claim.StatusProvisioned, claim.StatusError} {
		roundTrip(t, s, string(s))
	}
	roundTrip(t, claim.StatusProvisioned, "provisioned", "PROVISIONED")
	for _, r := range []claim.AdminRole{claim.FullAdmin, claim.ProvisioningAdmin} {
		roundTrip(t, r, string(r))
	}
	for _, s := range []claim.LicenseStatus{claim.LicenseActive, claim.LicenseSuspended, claim.LicenseCancelled} {
		roundTrip(t, s, string(s))
	}
	for _, f := range []claim.DetachFlow{claim.DetachStandard, claim.DetachHybrid} {
		roundTrip(t, f, string(f))
	}
	roundTrip(t, claim.DetachHybrid, "hybrid", "Hybrid")
	for _, r := range []claim.AttachReason{claim.ReasonManyUsers, claim.ReasonVerifiedDomain, claim.ReasonClaimedDomain} {
		roundTrip(t, r, string(r))
	}
}

func TestParse(t *testing.T) {
	if m, err := claim.ParseMode("delayed"); err != nil || m != claim.Delayed {
		t.Errorf("ParseMode(delayed) = %v, %v, want Delayed", m, err)
	}
	if s, err := claim.ParseState("Delayed Claim"); err != nil || s != claim.DelayedClaim {
		t.Errorf("ParseState(Delayed Claim) = %v, %v, want DelayedClaim", s, err)
	}
	if a, err := claim.ParseAction("MIGRATECONTENT"); err != nil || a != claim.MigrateContent {
		t.Errorf("ParseAction(MIGRATECONTENT) = %v, %v, want MigrateContent", a, err)
	}
	if k, err := claim.ParseOrgKind("Consumer"); err != nil || k != claim.Consumer {
		t.Errorf("ParseOrgKind(Consumer) = %v, %v, want Consumer", k, err)
	}
	if r, err := claim.ParseReason("Pending_Claim"); err != nil || r != claim.ReasonPendingClaim {
		t.Errorf("ParseReason(Pending_Claim) = %v, %v, want pending_claim", r, err)
	}
	if f, err := claim.ParseFlow("self_activation"); err != nil || f != claim.FlowSelfActivation {
		t.Errorf("ParseFlow(self_activation) = %v, %v", f, err)
	}
	if s, err := claim.ParseSubscriberStatus("error"); err != nil || s != claim.StatusError {
		t.Errorf("ParseSubscriberStatus(error) = %v, %v", s, err)
	}
	if m, err := claim.ParseAttachMode("new"); err != nil || m != claim.AttachNew {
		t.Errorf("ParseAttachMode(new) = %v, %v", m, err)
	}
	if r, err := claim.ParseAdminRole("full_admin"); err != nil || r != claim.FullAdmin {
		t.Errorf("ParseAdminRole(full_admin) = %v, %v", r, err)
	}
	if s, err := claim.ParseLicenseStatus("cancelled"); err != nil || s != claim.LicenseCancelled {
		t.Errorf("ParseLicenseStatus(cancelled) = %v, %v", s, err)
	}
	if f, err := claim.ParseDetachFlow("standard"); err != nil || f != claim.DetachStandard {
		t.Errorf("ParseDetachFlow(standard) = %v, %v", f, err)
	}
	if r, err := claim.ParseAttachReason("domain_claimed"); err != nil || r != claim.ReasonClaimedDomain {
		t.Errorf("ParseAttachReason(domain_claimed) = %v, %v", r, err)
	}
}

func TestParseUnknown(t *testing.T) {
	tests := []struct {
		reason string
		field  string
		parse  func() error
	}{
		{"no such mode", "Mode", func() error { _, err := claim.ParseMode("Later"); return err }},
		{"empty text names no mode", "Mode", func() error { _, err := claim.ParseMode(""); return err }},
		{"the zero value's String is not a name", "Mode", func() error { _, err := claim.ParseMode("none"); return err }},
		{"no such state", "State", func() error { _, err := claim.ParseState("Pending"); return err }},
		{"empty state", "State", func() error { _, err := claim.ParseState(" "); return err }},
		{"no such action", "Action", func() error { _, err := claim.ParseAction("Keep"); return err }},
		{"no such kind", "OrgKind", func() error { _, err := claim.ParseOrgKind("Partner"); return err }},
		{"no such reason", "Reason", func() error { _, err := claim.ParseReason("sso"); return err }},
		{"no such attach mode", "AttachMode", func() error { _, err := claim.ParseAttachMode("manual"); return err }},
		{"no such flow", "Flow", func() error { _, err := claim.ParseFlow("trusted"); return err }},
		{"no such status", "SubscriberStatus", func() error { _, err := claim.ParseSubscriberStatus("pending"); return err }},
		{"no such role", "AdminRole", func() error { _, err := claim.ParseAdminRole("admin"); return err }},
		{"no such license status", "LicenseStatus", func() error { _, err := claim.ParseLicenseStatus("expired"); return err }},
		{"no such detach flow", "DetachFlow", func() error { _, err := claim.ParseDetachFlow("soft"); return err }},
		{"no such attach reason", "AttachReason", func() error { _, err := claim.ParseAttachReason("big"); return err }},
		{"UnmarshalText refuses unknown text", "Mode", func() error { var m claim.Mode; return m.UnmarshalText([]byte("x")) }},
		{"UnmarshalText refuses unknown words", "Flow", func() error { var f claim.Flow; return f.UnmarshalText([]byte("x")) }},
	}
	for _, tt := range tests {
		wantInvalid(t, tt.reason, tt.parse(), tt.field)
	}
	var ie *claim.InputError
	if _, err := claim.ParseMode("Later"); !errors.As(err, &ie) || ie.Value != "Later" {
		t.Errorf("ParseMode(Later) = %v, want an *InputError naming the value", err)
	}
}

func TestMarshalUnknownValue(t *testing.T) {
	tests := []struct {
		reason string
		field  string
		v      encoding.TextMarshaler
	}{
		{"a mode past the named ones", "Mode", claim.Mode(3)},
		{"a negative mode", "Mode", claim.Mode(-1)},
		{"a state past the named ones", "State", claim.State(6)},
		{"a negative state", "State", claim.State(-1)},
		{"an action past the named ones", "Action", claim.Action(4)},
		{"a kind past the named ones", "OrgKind", claim.OrgKind(4)},
		{"an unnamed reason", "Reason", claim.Reason("sso")},
		{"an unnamed attach mode", "AttachMode", claim.AttachMode("manual")},
		{"an unnamed flow", "Flow", claim.Flow("x")},
		{"an unnamed status", "SubscriberStatus", claim.SubscriberStatus("x")},
		{"an unnamed role", "AdminRole", claim.AdminRole("x")},
		{"an unnamed license status", "LicenseStatus", claim.LicenseStatus("x")},
		{"an unnamed detach flow", "DetachFlow", claim.DetachFlow("x")},
		{"an unnamed attach reason", "AttachReason", claim.AttachReason("x")},
	}
	for _, tt := range tests {
		b, err := tt.v.MarshalText()
		if b != nil {
			t.Errorf("%s: MarshalText() = %q, want no text", tt.reason, b)
		}
		wantInvalid(t, tt.reason+": MarshalText()", err, tt.field)
	}
	if b, err := json.Marshal(claim.Result{Input: "u1", Mode: claim.Mode(9)}); err == nil || !errors.Is(err, claim.ErrInvalidValue) {
		t.Errorf("json.Marshal(Result{Mode: 9}) = %s, %v, want an error wrapping ErrInvalidValue", b, err)
	}
}
