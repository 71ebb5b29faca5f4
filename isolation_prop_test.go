package claim_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/claimkit/claim"
	"pgregory.net/rapid"
)

// isoWorld is the world of TestIsolation: org "acting" (A) acts; orgs
// "orgbeta" and "orgcharlie" hold users A may or may not see.
type isoWorld struct {
	*env
	others []claim.UserID // every user of the other orgs, originals included
}

// visible reports whether A may see u: a user of its own, or on a domain
// it has verified (an original account: the domain it was claimed under).
func (w *isoWorld) visible(tb testing.TB, u claim.User) bool {
	if u.Org == "acting" {
		return true
	}
	dom := u.Email[strings.LastIndexByte(u.Email, '@')+1:]
	dom = strings.TrimSuffix(dom, claim.OriginalSuffix)
	ds, err := w.svc.Domains(w.ctx, "acting")
	if err != nil {
		tb.Fatalf("Domains = %v", err)
	}
	for _, d := range ds {
		if d.Name == dom && d.Verified {
			return true
		}
	}
	return false
}

// secrets returns what A may not learn now: for each other org's user A
// may not see, its address, ID and names, except what A gave itself
// (given); and the other orgs' IDs and names, always.
func (w *isoWorld) secrets(tb testing.TB, given string) []string {
	out := []string{"orgbeta", "orgcharlie"}
	for _, id := range w.others {
		u, err := w.svc.User(w.ctx, id)
		if errors.Is(err, claim.ErrNotFound) {
			continue // deleted, or an original whose claim ended
		}
		if err != nil {
			tb.Fatalf("User(%s) = %v", id, err)
		}
		if w.visible(tb, u) {
			continue
		}
		for _, s := range []string{u.Email, string(u.ID), u.FirstName, u.LastName} {
			if s != given && !strings.HasPrefix(given, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestIsolation: for any sequence of operations by org A, no error A
// receives contains an address, ID, name or setting of another org that A
// may not see — A may see its own users and users on domains it has
// verified (N3, E2). Of a user A may not see, a claim's refusal is
// domain_not_verified alone and carries no address.
func TestIsolation(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := &isoWorld{env: newEnv(t)}
		w.mustOrg(t, "acting", claim.Enterprise, t0, claim.Settings{})
		w.mustOrg(t, "orgbeta", claim.Individual, oldOrgDate, claim.Settings{
			SSO: rapid.Bool().Draw(rt, "beta SSO"), DirectorySync: rapid.Bool().Draw(rt, "beta directory sync")})
		w.mustOrg(t, "orgcharlie", claim.Enterprise, t0, claim.Settings{})
		w.mustVerify(t, "acting", "a.example")
		w.mustVerify(t, "orgbeta", "b.example")
		w.mustVerify(t, "orgcharlie", "shared.example")
		if rapid.Bool().Draw(rt, "beta claims b.example") {
			if err := w.svc.ClaimDomain(w.ctx, "orgbeta", "b.example"); err != nil {
				t.Fatalf("ClaimDomain = %v", err)
			}
		}
		n := 0
		add := func(org claim.OrgID, domain string) claim.User {
			n++
			u, err := w.svc.AddUser(w.ctx, org, claim.NewUser{Email: fmt.Sprintf("hidden%d@%s", n, domain),
				FirstName: fmt.Sprintf("Secretfirst%d", n), LastName: fmt.Sprintf("Secretlast%d", n)})
			if err != nil {
				t.Fatalf("AddUser = %v", err)
			}
			w.others = append(w.others, u.ID)
			return u
		}
		add("orgbeta", "b.example")
		held := add("orgbeta", "shared.example")
		add("orgbeta", "c.example")
		add("orgcharlie", "shared.example")
		if rapid.Bool().Draw(rt, "charlie claims a user of beta") {
			rs, err := w.svc.ClaimUsers(w.ctx, "orgcharlie", []claim.UserID{held.ID}, ack)
			if err != nil {
				t.Fatalf("ClaimUsers = %v", err)
			}
			if rs[0].Err == nil { // else beta's SSO or directory sync refused it
				held = w.mustGet(t, held.ID)
				w.others = append(w.others, held.Claim.Original)
			}
		}
		ops := []string{"ClaimUsers", "ClaimEmails", "Eligibility", "Deactivate", "Reactivate", "DeleteUser", "Retract",
			"AddUser", "ImportClaims", "SyncDirectory", "ConfirmDomain", "StartDomainVerification"}
		steps := rapid.IntRange(1, 10).Draw(rt, "steps")
		for range steps {
			id := rapid.SampledFrom(w.others).Draw(rt, "target")
			u, err := w.svc.User(w.ctx, id)
			if err != nil {
				continue // gone
			}
			dom := u.Email[strings.LastIndexByte(u.Email, '@')+1:]
			op := rapid.SampledFrom(ops).Draw(rt, "op")
			given := string(u.ID)
			switch op {
			case "ClaimEmails", "Eligibility", "AddUser", "ImportClaims", "SyncDirectory":
				given = u.Email
			case "ConfirmDomain", "StartDomainVerification":
				given = dom
			}
			visible := w.visible(t, u)
			var errs []error
			switch op {
			case "ClaimUsers":
				rs, err := w.svc.ClaimUsers(w.ctx, "acting", []claim.UserID{u.ID}, ack)
				errs = append(errs, err)
				for _, r := range rs {
					errs = append(errs, r.Err)
				}
			case "ClaimEmails":
				rs, err := w.svc.ClaimEmails(w.ctx, "acting", []string{u.Email}, ack)
				errs = append(errs, err)
				for _, r := range rs {
					errs = append(errs, r.Err)
				}
			case "Eligibility":
				rs, err := w.svc.Eligibility(w.ctx, "acting", u.Email)
				errs = append(errs, err)
				if err == nil && !visible && (len(rs) != 1 || rs[0] != claim.ReasonDomainNotVerified) {
					t.Fatalf("Eligibility(acting, %s) = %v of a user acting may not see, want [domain_not_verified]", u.Email, rs)
				}
			case "Deactivate":
				_, err := w.svc.Deactivate(w.ctx, "acting", u.ID)
				errs = append(errs, err)
			case "Reactivate":
				_, err := w.svc.Reactivate(w.ctx, "acting", u.ID)
				errs = append(errs, err)
			case "DeleteUser":
				errs = append(errs, w.svc.DeleteUser(w.ctx, "acting", u.ID))
			case "Retract":
				errs = append(errs, w.svc.Retract(w.ctx, "acting", u.ID))
			case "AddUser":
				_, err := w.svc.AddUser(w.ctx, "acting", claim.NewUser{Email: "new-" + u.Email})
				errs = append(errs, err)
				_, err = w.svc.AddUser(w.ctx, "acting", claim.NewUser{Email: u.Email})
				errs = append(errs, err)
			case "ImportClaims":
				rep, err := w.svc.ImportClaims(w.ctx, "acting", strings.NewReader("User ID/Email (Required)\n"+u.Email+"\n"),
					claim.ImportOptions{Acknowledge: true})
				errs = append(errs, err)
				for _, r := range rep.Rows {
					errs = append(errs, r.Err)
				}
			case "SyncDirectory":
				rep, err := w.svc.SyncDirectory(w.ctx, "acting", []claim.DirectoryEntry{{Email: u.Email}}, claim.SyncOptions{})
				errs = append(errs, err)
				for _, r := range rep.Refused {
					errs = append(errs, r.Err)
				}
			case "ConfirmDomain":
				if _, err := w.svc.StartDomainVerification(w.ctx, "acting", dom); err == nil {
					w.mustVerify(t, "acting", strings.TrimSuffix(dom, claim.OriginalSuffix))
				}
			case "StartDomainVerification":
				_, err := w.svc.StartDomainVerification(w.ctx, "acting", dom)
				errs = append(errs, err)
			}
			secrets := w.secrets(t, given)
			for _, err := range errs {
				if err == nil {
					continue
				}
				msg := err.Error()
				for _, s := range secrets {
					if strings.Contains(msg, s) {
						t.Fatalf("%s on %s: acting got %q, which holds %q, a secret of an org acting may not see", op, u.ID, msg, s)
					}
				}
				var re *claim.RefusalError
				if errors.As(err, &re) && !visible && u.Org != "acting" {
					if re.Email != "" && re.Email != given || len(re.Reasons) != 1 || re.Reasons[0] != claim.ReasonDomainNotVerified {
						t.Fatalf("%s on %s: refusal %+v of a user acting may not see, want domain_not_verified alone and no address but the one given", op, u.ID, re)
					}
					if re.User != "" && string(re.User) != given {
						t.Fatalf("%s on %s: refusal %+v names the ID of a user acting may not see", op, u.ID, re)
					}
				}
				if !visible {
					for _, r := range []string{"source_sso", "source_directory_sync", "domain_claimed_by_other", "pending_claim"} {
						if strings.Contains(msg, r) {
							t.Fatalf("%s on %s: acting got %q, which says %s of a user it may not see", op, u.ID, msg, r)
						}
					}
				}
			}
		}
	})
}
