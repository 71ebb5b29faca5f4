package claim_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/claimkit/claim"
	"github.com/google/go-cmp/cmp"
)

// A hostile value of a kind of string, made from a harmless base value.
type (
	strKind int
	variant struct {
		name string
		make func(k strKind) string
	}
)

const (
	kindID     strKind = iota // an org, user, enterprise or subscriber ID
	kindEmail                 // an e-mail address
	kindDomain                // a domain name
	kindName                  // a name: org, user, license, workspace, enterprise
)

// base returns a harmless value of k, and where a hostile character goes.
func (k strKind) base() (string, int) {
	switch k {
	case kindEmail:
		return "ann9@acme.com", 3
	case kindDomain:
		return "acme.com", 2
	case kindName:
		return "Ann", 2
	}
	return "acme", 2
}

// with puts s inside k's base value.
func with(s string) func(strKind) string {
	return func(k strKind) string {
		b, at := k.base()
		return b[:at] + s + b[at:]
	}
}

var variants = []variant{
	{"empty", func(strKind) string { return "" }},
	{"10 MB", func(k strKind) string { b, _ := k.base(); return strings.Repeat("a", 10<<20) + b }},
	{"NUL", with("\x00")},
	{"invalid UTF-8", with("\xff\xfe")},
	{"control", with("\x1b")},
	{"zero-width space", with("\u200b")},
	{"right-to-left override", with("\u202e")},
	{"reserved suffix in another case", func(k strKind) string { b, _ := k.base(); return b + ".Convert-User.LOCAL" }},
	{"trailing dot", func(k strKind) string { b, _ := k.base(); return strings.ToUpper(b[:1]) + b[1:] + "." }},
}

// hostileOp is one exported method with one string argument made hostile.
type hostileOp struct {
	name     string
	kind     strKind
	create   bool // an address or ID of something new (the reserved suffix is refused; an empty ID is generated)
	required bool // a name that must not be empty
	run      func(f *trustFixture, v string, i int) error
}

// refused says whether the limits refuse variant v of op's argument.
func (op hostileOp) refused(v string) bool {
	switch v {
	case "empty":
		switch op.kind {
		case kindName:
			return op.required
		case kindID:
			return !op.create
		}
		return true
	case "10 MB", "NUL", "invalid UTF-8", "control":
		return true
	case "zero-width space", "right-to-left override":
		return op.kind != kindName
	case "reserved suffix in another case":
		return op.kind == kindDomain || op.kind == kindEmail && op.create
	}
	return false // a trailing dot is normalized away (N1, N2) or is a plain character
}

// trustFixture is a world of three orgs on one store: acme (acme.com
// verified, user ann), beta (beta.com verified and claimed, SSO, user bob)
// and the BroadWorks partner tel with an enterprise of each flow.
type trustFixture struct {
	*env
	ann, bob claim.User
}

func newTrustFixture(tb testing.TB, store claim.Store) *trustFixture {
	tb.Helper()
	f := &trustFixture{env: newEnvOn(tb, store)}
	f.mustOrg(tb, "acme", claim.Enterprise, t0, claim.Settings{})
	f.mustOrg(tb, "beta", claim.Enterprise, t0, claim.Settings{SSO: true})
	f.mustOrg(tb, "tel", claim.Enterprise, t0, claim.Settings{})
	f.mustVerify(tb, "acme", "acme.com")
	f.mustVerify(tb, "beta", "beta.com")
	if err := f.svc.ClaimDomain(f.ctx, "beta", "beta.com"); err != nil {
		tb.Fatalf("ClaimDomain = %v", err)
	}
	f.ann = f.mustUser(tb, "acme", "ann@acme.com", 1)
	f.bob = f.mustUser(tb, "beta", "bob@beta.com", 1)
	for _, e := range []claim.BroadWorksEnterprise{
		{ID: "ent", Partner: "tel", Name: "Trusted", Template: claim.Template{PartnerAdmin: "pat@tel.example", TrustedEmail: true}},
		{ID: "unt", Partner: "tel", Name: "Untrusted", Template: claim.Template{PartnerAdmin: "pat@tel.example"}},
	} {
		if _, err := f.svc.BroadWorks().CreateEnterprise(f.ctx, e); err != nil {
			tb.Fatalf("CreateEnterprise(%s) = %v", e.ID, err)
		}
	}
	if _, err := f.svc.BroadWorks().ProvisionSubscriber(f.ctx, "tel", "unt", claim.NewSubscriber{ID: "sub"}); err != nil {
		tb.Fatalf("ProvisionSubscriber = %v", err)
	}
	return f
}

// firstErr returns the first error of an iteration.
func firstErr[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// resultErr returns a batch's error or its first result's.
func resultErr(rs []claim.Result, err error) error {
	if err != nil || len(rs) == 0 {
		return err
	}
	return rs[0].Err
}

var ack = claim.ClaimOptions{Acknowledge: true}

// hostileOps lists every exported method that takes a string, once per
// string argument.
func hostileOps() []hostileOp {
	org := func(name string, run func(f *trustFixture, o claim.OrgID) error) hostileOp {
		return hostileOp{name: name + "(org)", kind: kindID, run: func(f *trustFixture, v string, _ int) error { return run(f, claim.OrgID(v)) }}
	}
	user := func(name string, run func(f *trustFixture, u claim.UserID) error) hostileOp {
		return hostileOp{name: name + "(user)", kind: kindID, run: func(f *trustFixture, v string, _ int) error { return run(f, claim.UserID(v)) }}
	}
	domain := func(name string, run func(f *trustFixture, d string) error) hostileOp {
		return hostileOp{name: name + "(domain)", kind: kindDomain, run: func(f *trustFixture, v string, _ int) error { return run(f, v) }}
	}
	ops := []hostileOp{
		{name: "CreateOrg(Org.ID)", kind: kindID, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.CreateOrg(f.ctx, claim.Org{ID: claim.OrgID(v), Name: "N", Kind: claim.Enterprise})
			return err
		}},
		{name: "CreateOrg(Org.Name)", kind: kindName, required: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.CreateOrg(f.ctx, claim.Org{Name: v, Kind: claim.Enterprise})
			return err
		}},
		org("Org", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.Org(f.ctx, o); return err }),
		org("UpdateSettings", func(f *trustFixture, o claim.OrgID) error { return f.svc.UpdateSettings(f.ctx, o, claim.Settings{}) }),
		{name: "UpdateSettings(AutoLicenses)", kind: kindName, required: true, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.UpdateSettings(f.ctx, "acme", claim.Settings{AutoLicenses: []string{v}})
		}},
		org("DeleteOrg", func(f *trustFixture, o claim.OrgID) error { return f.svc.DeleteOrg(f.ctx, o) }),
		org("StartDomainVerification", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.StartDomainVerification(f.ctx, o, "acme.com")
			return err
		}),
		domain("StartDomainVerification", func(f *trustFixture, d string) error {
			_, err := f.svc.StartDomainVerification(f.ctx, "acme", d)
			return err
		}),
		org("ConfirmDomain", func(f *trustFixture, o claim.OrgID) error { return f.svc.ConfirmDomain(f.ctx, o, "acme.com") }),
		domain("ConfirmDomain", func(f *trustFixture, d string) error { return f.svc.ConfirmDomain(f.ctx, "acme", d) }),
		org("ClaimDomain", func(f *trustFixture, o claim.OrgID) error { return f.svc.ClaimDomain(f.ctx, o, "acme.com") }),
		domain("ClaimDomain", func(f *trustFixture, d string) error { return f.svc.ClaimDomain(f.ctx, "beta", d) }),
		org("ReleaseDomain", func(f *trustFixture, o claim.OrgID) error { return f.svc.ReleaseDomain(f.ctx, o, "beta.com") }),
		domain("ReleaseDomain", func(f *trustFixture, d string) error { return f.svc.ReleaseDomain(f.ctx, "acme", d) }),
		org("UnverifyDomain", func(f *trustFixture, o claim.OrgID) error { return f.svc.UnverifyDomain(f.ctx, o, "other.com") }),
		domain("UnverifyDomain", func(f *trustFixture, d string) error { return f.svc.UnverifyDomain(f.ctx, "beta", d) }),
		org("Domains", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.Domains(f.ctx, o); return err }),
		org("AddUser", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.AddUser(f.ctx, o, claim.NewUser{Email: "x@other.com"})
			return err
		}),
		{name: "AddUser(NewUser.Email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.AddUser(f.ctx, "acme", claim.NewUser{Email: v})
			return err
		}},
		{name: "AddUser(NewUser.FirstName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.AddUser(f.ctx, "acme", claim.NewUser{Email: fmt.Sprintf("f%d@acme.com", i), FirstName: v})
			return err
		}},
		{name: "AddUser(NewUser.LastName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.AddUser(f.ctx, "acme", claim.NewUser{Email: fmt.Sprintf("l%d@acme.com", i), LastName: v})
			return err
		}},
		{name: "AddUser(NewUser.DisplayName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.AddUser(f.ctx, "acme", claim.NewUser{Email: fmt.Sprintf("d%d@acme.com", i), DisplayName: v})
			return err
		}},
		user("User", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.User(f.ctx, u); return err }),
		{name: "UserByEmail(email)", kind: kindEmail, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.UserByEmail(f.ctx, v)
			return err
		}},
		org("Users", func(f *trustFixture, o claim.OrgID) error { return firstErr(f.svc.Users(f.ctx, o)) }),
		user("VerifyEmail", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.VerifyEmail(f.ctx, u); return err }),
		user("SignIn", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.SignIn(f.ctx, u); return err }),
		org("Deactivate", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.Deactivate(f.ctx, o, f.ann.ID); return err }),
		user("Deactivate", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.Deactivate(f.ctx, "acme", u); return err }),
		org("Reactivate", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.Reactivate(f.ctx, o, f.ann.ID); return err }),
		user("Reactivate", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.Reactivate(f.ctx, "acme", u); return err }),
		org("DeleteUser", func(f *trustFixture, o claim.OrgID) error { return f.svc.DeleteUser(f.ctx, o, f.bob.ID) }),
		user("DeleteUser", func(f *trustFixture, u claim.UserID) error { return f.svc.DeleteUser(f.ctx, "acme", u) }),
		org("NudgeUnverified", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.NudgeUnverified(f.ctx, o); return err }),
		org("Claimable", func(f *trustFixture, o claim.OrgID) error { return firstErr(f.svc.Claimable(f.ctx, o)) }),
		org("Eligibility", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.Eligibility(f.ctx, o, "bob@beta.com")
			return err
		}),
		{name: "Eligibility(email)", kind: kindEmail, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.Eligibility(f.ctx, "acme", v)
			return err
		}},
		org("ClaimUsers", func(f *trustFixture, o claim.OrgID) error {
			return resultErr(f.svc.ClaimUsers(f.ctx, o, []claim.UserID{f.bob.ID}, ack))
		}),
		user("ClaimUsers", func(f *trustFixture, u claim.UserID) error {
			return resultErr(f.svc.ClaimUsers(f.ctx, "acme", []claim.UserID{u}, ack))
		}),
		org("ClaimEmails", func(f *trustFixture, o claim.OrgID) error {
			return resultErr(f.svc.ClaimEmails(f.ctx, o, []string{"bob@beta.com"}, ack))
		}),
		{name: "ClaimEmails(addresses)", kind: kindEmail, run: func(f *trustFixture, v string, _ int) error {
			return resultErr(f.svc.ClaimEmails(f.ctx, "beta", []string{v}, ack))
		}},
		org("Retract", func(f *trustFixture, o claim.OrgID) error { return f.svc.Retract(f.ctx, o, f.ann.ID) }),
		user("Retract", func(f *trustFixture, u claim.UserID) error { return f.svc.Retract(f.ctx, "acme", u) }),
		org("Retractable", func(f *trustFixture, o claim.OrgID) error { return firstErr(f.svc.Retractable(f.ctx, o)) }),
		{name: "Choose(Choice.NewEmail)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.Choose(f.ctx, f.ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: v})
			return err
		}},
		user("Choose", func(f *trustFixture, u claim.UserID) error {
			_, err := f.svc.Choose(f.ctx, u, claim.Choice{Action: claim.DeleteOriginal})
			return err
		}),
		user("DaysLeft", func(f *trustFixture, u claim.UserID) error { _, err := f.svc.DaysLeft(f.ctx, u); return err }),
		org("RemindDelayed", func(f *trustFixture, o claim.OrgID) error { _, err := f.svc.RemindDelayed(f.ctx, o); return err }),
		org("ExportClaimable", func(f *trustFixture, o claim.OrgID) error { return f.svc.ExportClaimable(f.ctx, o, &strings.Builder{}) }),
		org("ImportClaims", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.ImportClaims(f.ctx, o, strings.NewReader("User ID/Email (Required)\n"), claim.ImportOptions{Acknowledge: true})
			return err
		}),
		org("SyncDirectory", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.SyncDirectory(f.ctx, o, nil, claim.SyncOptions{DryRun: true})
			return err
		}),
		{name: "SyncDirectory(DirectoryEntry.Email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			return syncErr(f.env, claim.DirectoryEntry{Email: v})
		}},
		{name: "SyncDirectory(DirectoryEntry.DisplayName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			return syncErr(f.env, claim.DirectoryEntry{Email: fmt.Sprintf("s%d@acme.com", i), DisplayName: v})
		}},
		// BroadWorks (broadworks.go).
		{name: "CreateEnterprise(Enterprise.ID)", kind: kindID, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().CreateEnterprise(f.ctx, claim.BroadWorksEnterprise{ID: claim.EnterpriseID(v), Partner: "tel", Name: "N",
				Template: claim.Template{PartnerAdmin: "pat@tel.example"}})
			if v == "" && errors.Is(err, claim.ErrInvalidValue) {
				return nil // an enterprise's ID is the partner's, never generated: required
			}
			return err
		}},
		{name: "CreateEnterprise(Enterprise.Name)", kind: kindName, required: true, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().CreateEnterprise(f.ctx, claim.BroadWorksEnterprise{ID: claim.EnterpriseID(fmt.Sprintf("n%d", i)), Partner: "tel", Name: v,
				Template: claim.Template{PartnerAdmin: "pat@tel.example"}})
			return err
		}},
		{name: "CreateEnterprise(Template.PartnerAdmin)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().CreateEnterprise(f.ctx, claim.BroadWorksEnterprise{ID: claim.EnterpriseID(fmt.Sprintf("p%d", i)), Partner: "tel", Name: "N",
				Template: claim.Template{PartnerAdmin: v}})
			return err
		}},
		{name: "Enterprise(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().Enterprise(f.ctx, "tel", claim.EnterpriseID(v))
			return err
		}},
		{name: "Subscriber(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().Subscriber(f.ctx, claim.SubscriberID(v))
			return err
		}},
		{name: "Subscribers(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			return firstErr(f.svc.BroadWorks().Subscribers(f.ctx, "tel", claim.EnterpriseID(v)))
		}},
		org("OrgProfile", func(f *trustFixture, o claim.OrgID) error {
			_, err := f.svc.BroadWorks().OrgProfile(f.ctx, o)
			return err
		}),
		{name: "AddAdmin(Admin.Email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().AddAdmin(f.ctx, "acme", claim.Admin{Email: v, Role: claim.FullAdmin})
		}},
		{name: "SetOrgLicenses(OrgLicense.Name)", kind: kindName, required: true, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().SetOrgLicenses(f.ctx, "acme", []claim.OrgLicense{{Name: v, Status: claim.LicenseActive}})
		}},
		org("SetRestrictedAdminMode", func(f *trustFixture, o claim.OrgID) error {
			return f.svc.BroadWorks().SetRestrictedAdminMode(f.ctx, o, true)
		}),
		{name: "AddWorkspace(name)", kind: kindName, required: true, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().AddWorkspace(f.ctx, "tel", "ent", v)
		}},
		{name: "RemoveWorkspace(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().RemoveWorkspace(f.ctx, "tel", claim.EnterpriseID(v), "w")
		}},
		{name: "ProvisionSubscriber(NewSubscriber.ID)", kind: kindID, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().ProvisionSubscriber(f.ctx, "tel", "ent", claim.NewSubscriber{ID: claim.SubscriberID(v), Email: fmt.Sprintf("p%d@mail.example", i)})
			return err
		}},
		{name: "ProvisionSubscriber(NewSubscriber.Email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().ProvisionSubscriber(f.ctx, "tel", "ent", claim.NewSubscriber{ID: claim.SubscriberID(fmt.Sprintf("pe%d", i)), Email: v})
			return err
		}},
		{name: "ProvisionSubscriber(NewSubscriber.FirstName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().ProvisionSubscriber(f.ctx, "tel", "unt", claim.NewSubscriber{ID: claim.SubscriberID(fmt.Sprintf("pf%d", i)), FirstName: v})
			return err
		}},
		{name: "EnterEmail(email)", kind: kindEmail, create: true, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().EnterEmail(f.ctx, "sub", v)
			return err
		}},
		{name: "SelfActivate(id)", kind: kindID, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().SelfActivate(f.ctx, claim.EnterpriseID(v), claim.NewSubscriber{ID: claim.SubscriberID(fmt.Sprintf("sa%d", i)), Email: "sa@mail.example"})
			return err
		}},
		{name: "SelfActivate(NewSubscriber.LastName)", kind: kindName, run: func(f *trustFixture, v string, i int) error {
			_, err := f.svc.BroadWorks().SelfActivate(f.ctx, "unt", claim.NewSubscriber{ID: claim.SubscriberID(fmt.Sprintf("sl%d", i)),
				Email: fmt.Sprintf("sl%d@mail.example", i), LastName: v})
			return err
		}},
		{name: "ValidateEmail(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().ValidateEmail(f.ctx, claim.SubscriberID(v))
			return err
		}},
		{name: "Consent(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().Consent(f.ctx, claim.SubscriberID(v))
			return err
		}},
		{name: "RetrySubscriber(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			_, err := f.svc.BroadWorks().RetrySubscriber(f.ctx, "tel", claim.SubscriberID(v))
			return err
		}},
		{name: "RemoveSubscriber(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().RemoveSubscriber(f.ctx, "tel", claim.SubscriberID(v))
		}},
		{name: "Detach(id)", kind: kindID, run: func(f *trustFixture, v string, _ int) error {
			return f.svc.BroadWorks().Detach(f.ctx, "tel", claim.EnterpriseID(v), claim.DetachStandard)
		}},
	}
	return ops
}

// syncErr runs an incremental dry-run SyncDirectory of acme with the
// entry and returns its error or the entry's refusal. (A real run that
// refuses an entry still writes directory.synced: the rest proceeds, Y3.)
func syncErr(e *env, entry claim.DirectoryEntry) error {
	rep, err := e.svc.SyncDirectory(e.ctx, "acme", []claim.DirectoryEntry{entry}, claim.SyncOptions{DryRun: true})
	if err != nil || len(rep.Refused) == 0 {
		return err
	}
	return rep.Refused[0].Err
}

// lastSeq is the number of the last event.
func lastSeq(tb testing.TB, e *env) uint64 {
	tb.Helper()
	var last uint64
	for ev, err := range e.svc.Events(e.ctx, 0) {
		if err != nil {
			tb.Fatalf("Events = %v", err)
		}
		last = ev.Seq
	}
	return last
}

// outcome summarizes an error the same way on every store: an
// *InputError by its whole message (it must be the same), anything else
// by its sentinel.
func outcome(err error) string {
	var ie *claim.InputError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ie):
		return "InputError: " + err.Error()
	}
	for _, s := range []error{claim.ErrNotFound, claim.ErrInvalidValue, claim.ErrInvalidEmail, claim.ErrInvalidDomain,
		claim.ErrEmailTaken, claim.ErrDomainClaimedByOther, claim.ErrDomainNotVerified, claim.ErrNotEligible, claim.ErrDuplicate,
		claim.ErrNoPendingClaim, claim.ErrDomainClaimed, claim.ErrSubscriberStatus, claim.ErrPendingClaims, claim.ErrNotClaimant} {
		if errors.Is(err, s) {
			return "error: " + s.Error()
		}
	}
	return "other: " + err.Error()
}

// runHostile feeds every hostile value to every method on a fixture on
// store and returns the outcomes, checking each refusal as it goes.
func runHostile(t *testing.T, store claim.Store) []string {
	f := newTrustFixture(t, store)
	var out []string
	i := 0
	for _, op := range hostileOps() {
		for _, v := range variants {
			i++
			val := v.make(op.kind)
			before := lastSeq(t, f.env)
			err := op.run(f, val, i)
			out = append(out, op.name+" / "+v.name+": "+outcome(err))
			if !op.refused(v.name) {
				var ie *claim.InputError
				if errors.As(err, &ie) {
					t.Errorf("%s with %s = %v, want it past the input checks", op.name, v.name, err)
				}
				continue
			}
			var ie *claim.InputError
			if !errors.As(err, &ie) {
				t.Errorf("%s with %s = %v, want an *InputError", op.name, v.name, err)
				continue
			}
			if n := len(err.Error()); n > 512 {
				t.Errorf("%s with %s: a message of %d bytes, want at most 512", op.name, v.name, n)
			}
			if len(ie.Value) > 64 {
				t.Errorf("%s with %s: InputError.Value holds %d bytes, want at most 64", op.name, v.name, len(ie.Value))
			}
			if after := lastSeq(t, f.env); after != before {
				t.Errorf("%s with %s: the event log went from %d to %d, want it unchanged", op.name, v.name, before, after)
			}
		}
	}
	return out
}

// TestHostileInput feeds every exported method that takes a string its
// hostile values — empty, 10 MB, NUL, invalid UTF-8, a control
// character, a zero-width space, a right-to-left override, the reserved
// suffix in another case, a trailing dot — on the memory store and on
// PostgreSQL: each refused value is an *InputError with a bounded message
// that leaves the event log unchanged, each accepted one passes the input
// checks, and both stores give the same outcome, message for message
// (N1–N4).
func TestHostileInput(t *testing.T) {
	mem := runHostile(t, claim.NewMemoryStore())
	t.Run("PostgreSQL", func(t *testing.T) {
		store, _ := smPostgresStore(t)
		pg := runHostile(t, store)
		if diff := cmp.Diff(mem, pg); diff != "" {
			t.Errorf("outcomes differ between the stores (-memory +postgres):\n%s", diff)
		}
	})
}
