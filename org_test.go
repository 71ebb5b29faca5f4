package claim_test

import (
	"testing"
	"time"

	"github.com/claimkit/claim"
)

func TestRefuseOrgInput(t *testing.T) {
	create := func(o claim.Org) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			rfBase(t, e)
			return func() error {
				_, err := e.svc.CreateOrg(e.ctx, o)
				return err
			}
		}
	}
	update := func(st claim.Settings) func(t *testing.T, e *env) func() error {
		return func(t *testing.T, e *env) func() error {
			rfBase(t, e)
			return func() error { return e.svc.UpdateSettings(e.ctx, "a", st) }
		}
	}
	rfRun(t, []rfCase{
		{reason: "N3: CreateOrg refuses an empty Name", op: "CreateOrg(Name \"\")",
			setup: create(claim.Org{ID: "zz", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.Name"},
		{reason: "N3: CreateOrg refuses a blank Name", op: "CreateOrg(Name \"  \")",
			setup: create(claim.Org{ID: "zz", Name: "  ", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.Name"},
		{reason: "N5: CreateOrg refuses Kind 0 (none)", op: "CreateOrg(Kind 0)",
			setup: create(claim.Org{ID: "zz", Name: "Z"}), want: claim.ErrInvalidValue, field: "Org.Kind"},
		{reason: "N5: CreateOrg refuses an unknown Kind", op: "CreateOrg(Kind 99)",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: 99}), want: claim.ErrInvalidValue, field: "Org.Kind"},
		{reason: "N3: CreateOrg refuses an ID with surrounding spaces", op: "CreateOrg(ID \" zz\")",
			setup: create(claim.Org{ID: " zz", Name: "Z", Kind: claim.Enterprise}), want: claim.ErrInvalidValue, field: "Org.ID"},
		{reason: "N3: CreateOrg refuses an ID that exists", op: "CreateOrg(ID a)",
			setup: create(claim.Org{ID: "a", Name: "Again", Kind: claim.Consumer}), want: claim.ErrDuplicate},
		{reason: "N3: CreateOrg refuses a negative Retention", op: "CreateOrg(Retention -1ns)",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: claim.Enterprise, Settings: claim.Settings{Retention: -1}}), want: claim.ErrInvalidValue, field: "Settings.Retention"},
		{reason: "N3: CreateOrg refuses an empty license name", op: "CreateOrg(AutoLicenses [\" \"])",
			setup: create(claim.Org{ID: "zz", Name: "Z", Kind: claim.Enterprise, Settings: claim.Settings{AutoLicenses: []string{"Meetings", " "}}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "N3: UpdateSettings refuses a negative Retention", op: "UpdateSettings(a, Retention -1h)",
			setup: update(claim.Settings{Retention: -time.Hour, SSO: true}), want: claim.ErrInvalidValue, field: "Settings.Retention"},
		{reason: "N3: UpdateSettings refuses an empty license name", op: "UpdateSettings(a, AutoLicenses [\"\"])",
			setup: update(claim.Settings{AutoLicenses: []string{""}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "V1: UpdateSettings refuses a license named like a CSV column", op: "UpdateSettings(a, AutoLicenses [\"claim type\"])",
			setup: update(claim.Settings{AutoLicenses: []string{"Meetings", "claim type"}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "V7: UpdateSettings refuses two licenses differing only in case", op: "UpdateSettings(a, AutoLicenses [Meetings MEETINGS])",
			setup: update(claim.Settings{AutoLicenses: []string{"Meetings", "Calling", "MEETINGS"}}), want: claim.ErrInvalidValue, field: "Settings.AutoLicenses"},
		{reason: "N5: Users refuses State 0 (none)", op: "Users(a, 0)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error { return rfFirstErr(e.svc.Users(e.ctx, "a", 0)) }
			}, want: claim.ErrInvalidValue, field: "states"},
		{reason: "N5: Users refuses an unknown State", op: "Users(a, 99)",
			setup: func(t *testing.T, e *env) func() error {
				rfBase(t, e)
				return func() error { return rfFirstErr(e.svc.Users(e.ctx, "a", claim.Active, 99)) }
			}, want: claim.ErrInvalidValue, field: "states"},
	})
}

// --- G1: DeleteOrg ---

func TestRefuseDeleteOrg(t *testing.T) {
	rfRun(t, []rfCase{
		{reason: "G1: an org that made a claim inside its window cannot be deleted", op: "DeleteOrg(b)",
			setup: func(t *testing.T, e *env) func() error {
				rfClaimed(t, e)
				return func() error { return e.svc.DeleteOrg(e.ctx, "b") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: nor the org one of whose users is claimed, inside the window", op: "DeleteOrg(a)",
			setup: func(t *testing.T, e *env) func() error {
				rfClaimed(t, e)
				return func() error { return e.svc.DeleteOrg(e.ctx, "a") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: a signed-in claim still inside its window blocks too, up to its last nanosecond", op: "DeleteOrg(b) at 14d-1ns",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := rfClaimed(t, e)
				rfMustSignIn(t, e, ann.ID)
				e.clock.Advance(window - 1)
				return func() error { return e.svc.DeleteOrg(e.ctx, "b") }
			}, want: claim.ErrPendingClaims},
		{reason: "G1: a delayed claim's source org, in the window's last nanosecond", op: "DeleteOrg(i) at 14d-1ns",
			setup: func(t *testing.T, e *env) func() error {
				rfDelayed(t, e)
				e.clock.Advance(window - 1)
				return func() error { return e.svc.DeleteOrg(e.ctx, "i") }
			}, want: claim.ErrPendingClaims},
	})
	t.Run("G1: at exactly 14 days both orgs may be deleted", func(t *testing.T) {
		e := newEnv(t)
		rfClaimed(t, e)
		e.clock.Advance(window)
		for _, o := range []claim.OrgID{"a", "b"} {
			if err := e.svc.DeleteOrg(e.ctx, o); err != nil {
				t.Errorf("DeleteOrg(%s) = %v, want nil", o, err)
			}
		}
	})
}
