package claim_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

var updateEffects = flag.Bool("update-effects", false, "rewrite testdata/effects.golden from the memory store's run")

// TestEffects runs one scenario through every operation of the Service,
// on both stores, and records after each step its result, the events it
// wrote and every record it changed (the store read whole before and
// after, as lines that differ). The record is compared with
// testdata/effects.golden, so an operation cut short after any of its
// writes, or writing anything more, fails here even where the
// operation's own test looks only at its main effect; and the two stores
// must give the same record. Run with -update-effects to rewrite the
// file after a deliberate change, and read the diff.
func TestEffects(t *testing.T) {
	mem := runEffects(t, claim.NewMemoryStore())
	const golden = "testdata/effects.golden"
	if *updateEffects {
		if err := os.WriteFile(golden, []byte(mem), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestEffects -update-effects to create it)", err)
	}
	if diff := cmp.Diff(string(want), mem); diff != "" {
		t.Errorf("memory store: effects differ from %s (-want +got):\n%s", golden, diff)
	}
	t.Run("PostgreSQL", func(t *testing.T) {
		store, _ := postgresStore(t)
		if diff := cmp.Diff(string(want), runEffects(t, store)); diff != "" {
			t.Errorf("PostgreSQL store: effects differ from %s (-want +got):\n%s", golden, diff)
		}
	})
}

// effects records a scenario's steps.
type effects struct {
	tb     testing.TB
	e      *env
	store  claim.Store
	orgs   []claim.OrgID // every org the scenario made, to read back
	out    strings.Builder
	seq    uint64
	world  []string
	labels map[string]string
}

// generated matches the identifiers and tokens the library makes at
// random; they are replaced by labels in order of appearance.
var generated = regexp.MustCompile(`(usr|org|st)_[0-9a-f]{20}|cisco-ci-domain-verification=[a-z2-7]{32}`)

// text is v as JSON with generated identifiers replaced by labels.
func (f *effects) text(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		f.tb.Fatalf("json.Marshal(%T) = %v", v, err)
	}
	return generated.ReplaceAllStringFunc(string(b), func(id string) string {
		l, ok := f.labels[id]
		if !ok {
			kind, _, _ := strings.Cut(id, "_")
			if strings.HasPrefix(id, "cisco") {
				kind = "token"
			}
			l = fmt.Sprintf("<%s%d>", kind, len(f.labels)+1)
			f.labels[id] = l
		}
		return l
	})
}

// read returns every record of the known orgs as sorted lines.
func (f *effects) read() []string {
	var lines []string
	add := func(kind string, v any) { lines = append(lines, kind+" "+f.text(v)) }
	err := f.store.View(f.e.ctx, func(tx claim.Tx) error {
		// The lists read in one call must not fill it, or records past it
		// would go unseen.
		const one = 1000
		whole := func(what string, n int, err error) error {
			if err == nil && n == one {
				err = fmt.Errorf("%s filled a read of %d: page it", what, one)
			}
			return err
		}
		for _, id := range f.orgs {
			// A deleted org's other records are still read: any left
			// behind shows.
			o, err := tx.Org(id)
			if err == nil {
				add("org", o)
			} else if !errors.Is(err, claim.ErrNotFound) {
				return err
			}
			ds, err := tx.Domains(id, "", one)
			if err := whole("Domains", len(ds), err); err != nil {
				return err
			}
			for _, d := range ds {
				add("domain", d)
			}
			for after := ""; ; {
				us, err := tx.UsersByOrg(id, after, 100)
				if err != nil {
					return err
				}
				for _, u := range us {
					add("user", u)
					as, err := tx.SiteAccessByUser(u.ID, "", one)
					if err := whole("SiteAccessByUser", len(as), err); err != nil {
						return err
					}
					for _, a := range as {
						add("site access", a)
					}
				}
				if len(us) < 100 {
					break
				}
				after = us[len(us)-1].Email
			}
			sites, err := tx.SitesByOrg(id, "", one)
			if err := whole("SitesByOrg", len(sites), err); err != nil {
				return err
			}
			for _, site := range sites {
				add("site", site)
			}
			if p, err := tx.OrgProfile(id); err == nil {
				add("profile", p)
			} else if !errors.Is(err, claim.ErrNotFound) {
				return err
			}
			es, err := tx.EnterprisesByPartner(id, "", one)
			if err := whole("EnterprisesByPartner", len(es), err); err != nil {
				return err
			}
			for _, ent := range es {
				add("enterprise", ent)
				subs, err := tx.SubscribersByEnterprise(ent.ID, "", one)
				if err := whole("SubscribersByEnterprise", len(subs), err); err != nil {
					return err
				}
				for _, s := range subs {
					add("subscriber", s)
				}
			}
		}
		return nil
	})
	if err != nil {
		f.tb.Fatalf("reading the store: %v", err)
	}
	slices.Sort(lines)
	return lines
}

// step runs do and records its result, its events and the records it
// changed.
func (f *effects) step(name string, do func() (any, error)) {
	f.tb.Helper()
	v, err := do()
	fmt.Fprintf(&f.out, "== %s\n", name)
	if err != nil {
		fmt.Fprintf(&f.out, "error %s: %s\n", claim.ErrorCode(err), f.text(err.Error()))
	} else if v != nil {
		fmt.Fprintf(&f.out, "result %s\n", f.text(v))
	}
	// Events in Seq order, except that a run of events of one type is
	// sorted: those come in the order of random IDs (the sites DeleteOrg
	// deletes, say), and the Seq numbers are kept out of the text.
	var run []string
	var runType string
	flush := func() {
		slices.Sort(run)
		for _, l := range run {
			fmt.Fprintf(&f.out, "event %s\n", l)
		}
		run = run[:0]
	}
	for _, ev := range f.e.events(f.tb, f.seq) {
		f.seq = ev.Seq
		if ev.Type == claim.EventOrgCreated && !slices.Contains(f.orgs, ev.Org) {
			f.orgs = append(f.orgs, ev.Org) // made by a BroadWorks flow
		}
		if ev.Type != runType {
			flush()
			runType = ev.Type
		}
		ev.Seq = 0
		run = append(run, f.text(ev))
	}
	flush()
	now := f.read()
	for _, l := range f.world {
		if _, found := slices.BinarySearch(now, l); !found {
			fmt.Fprintf(&f.out, "- %s\n", l)
		}
	}
	for _, l := range now {
		if _, found := slices.BinarySearch(f.world, l); !found {
			fmt.Fprintf(&f.out, "+ %s\n", l)
		}
	}
	f.world = now
}

// runEffects runs the scenario on store and returns its record.
func runEffects(tb testing.TB, store claim.Store) string {
	e := newEnvOn(tb, store)
	f := &effects{tb: tb, e: e, store: store, labels: map[string]string{}}
	ctx := e.ctx
	day := 24 * time.Hour
	ack := claim.ClaimOptions{Acknowledge: true}
	org := func(o claim.Org) {
		f.step("CreateOrg "+o.Name, func() (any, error) {
			return e.svc.CreateOrg(ctx, o)
		})
	}
	user := func(org claim.OrgID, nu claim.NewUser) claim.User {
		var u claim.User
		f.step(fmt.Sprintf("AddUser %s %s", org, nu.Email), func() (any, error) {
			var err error
			u, err = e.svc.AddUser(ctx, org, nu)
			return u, err
		})
		return u
	}
	verify := func(org claim.OrgID, domain string) {
		var tok string
		f.step("StartDomainVerification "+domain, func() (any, error) {
			var err error
			tok, err = e.svc.StartDomainVerification(ctx, org, domain)
			return tok, err
		})
		e.dns.Set(domain, tok)
		f.step("ConfirmDomain "+domain, func() (any, error) { return nil, e.svc.ConfirmDomain(ctx, org, domain) })
	}
	user1 := func(name string, do func() (claim.User, error)) {
		f.step(name, func() (any, error) { return do() })
	}

	// Orgs, domains, users and their states (U1–U7, D1–D7).
	org(claim.Org{ID: "acme", Name: "Acme", Kind: claim.Enterprise,
		Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}}})
	org(claim.Org{ID: "home", Name: "Home", Kind: claim.Individual, CreatedAt: oldOrgDate})
	org(claim.Org{ID: "newhome", Name: "New home", Kind: claim.Individual, CreatedAt: t0})
	org(claim.Org{ID: "free", Name: "Free", Kind: claim.Consumer, CreatedAt: oldOrgDate})
	org(claim.Org{Name: "Generated", Kind: claim.Enterprise})
	verify("acme", "acme.example")
	ann := user("home", claim.NewUser{Email: "Ann Lee <ann@acme.example>", Content: 5})
	bob := user("newhome", claim.NewUser{Email: "bob@acme.example", Content: 2})
	cat := user("free", claim.NewUser{Email: "cat@acme.example"})
	dan := user("home", claim.NewUser{Email: "dan@acme.example", Content: 1})
	eve := user("acme", claim.NewUser{Email: "eve@acme.example", FirstName: "Eve", LastName: "Ng"})
	user("acme", claim.NewUser{Email: "fay@acme.example"})
	user("acme", claim.NewUser{Email: "pam@pam.example"}) // a domain acme has not verified: Not Verified
	user1("VerifyEmail ann", func() (claim.User, error) { return e.svc.VerifyEmail(ctx, ann.ID) })
	user1("SignIn ann", func() (claim.User, error) { return e.svc.SignIn(ctx, ann.ID) })
	user1("SignIn dan (not verified)", func() (claim.User, error) { return e.svc.SignIn(ctx, dan.ID) })
	user1("Deactivate eve", func() (claim.User, error) { return e.svc.Deactivate(ctx, "acme", eve.ID) })
	user1("Reactivate eve", func() (claim.User, error) { return e.svc.Reactivate(ctx, "acme", eve.ID) })
	e.clock.Advance(8 * day)
	f.step("NudgeUnverified acme (pam)", func() (any, error) { return e.svc.NudgeUnverified(ctx, "acme") })
	f.step("UpdateSettings acme", func() (any, error) {
		return nil, e.svc.UpdateSettings(ctx, "acme", claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings", "Calling"}})
	})

	// Claims (K1–K6, M1–M2), choices (C1), reminders, days left.
	f.step("ClaimUsers ann (delayed) and bob (immediate)", func() (any, error) {
		return e.svc.ClaimUsers(ctx, "acme", []claim.UserID{ann.ID, bob.ID}, claim.ClaimOptions{Acknowledge: true, Licenses: []string{"Webinars"}})
	})
	f.step("ClaimEmails cat, dan, nobody", func() (any, error) {
		return e.svc.ClaimEmails(ctx, "acme", []string{"cat@acme.example", "DAN@acme.example", "nobody@acme.example"}, ack)
	})
	f.step("DaysLeft ann", func() (any, error) { return e.svc.DaysLeft(ctx, ann.ID) })
	e.clock.Advance(3 * day)
	f.step("RemindDelayed acme", func() (any, error) { return e.svc.RemindDelayed(ctx, "acme") })
	user1("SignIn bob", func() (claim.User, error) { return e.svc.SignIn(ctx, bob.ID) })
	f.step("Retract bob (signed in)", func() (any, error) { return nil, e.svc.Retract(ctx, "acme", bob.ID) })
	f.step("Retract cat", func() (any, error) { return nil, e.svc.Retract(ctx, "acme", cat.ID) })
	user1("SignIn ann (claimed)", func() (claim.User, error) { return e.svc.SignIn(ctx, ann.ID) })
	user1("Choose ann MigrateContent", func() (claim.User, error) {
		return e.svc.Choose(ctx, ann.ID, claim.Choice{Action: claim.MigrateContent})
	})
	user1("Choose bob DeleteOriginal (its content goes)", func() (claim.User, error) {
		return e.svc.Choose(ctx, bob.ID, claim.Choice{Action: claim.DeleteOriginal})
	})
	f.step("ClaimUsers cat again", func() (any, error) { return e.svc.ClaimUsers(ctx, "acme", []claim.UserID{cat.ID}, ack) })
	f.step("DeleteUser cat (claim pending: the original goes back)", func() (any, error) { return nil, e.svc.DeleteUser(ctx, "acme", cat.ID) })
	user1("VerifyEmail dan (claimed)", func() (claim.User, error) { return e.svc.VerifyEmail(ctx, dan.ID) })
	user1("SignIn dan (claimed)", func() (claim.User, error) { return e.svc.SignIn(ctx, dan.ID) })
	user1("Choose dan ChangeEmail", func() (claim.User, error) {
		return e.svc.Choose(ctx, dan.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "dan@home.example"})
	})

	// Meeting sites (S1): a dry run, then a claim that re-licenses.
	var site claim.Site
	f.step("AddSite acme", func() (any, error) {
		var err error
		site, err = e.svc.AddSite(ctx, "acme", "acme.webex.com")
		return site, err
	})
	oli := user("home", claim.NewUser{Email: "oli@acme.example"})
	f.step("SetSiteAccess oli", func() (any, error) {
		return nil, e.svc.SetSiteAccess(ctx, "acme", claim.SiteAccess{Site: site.ID, User: oli.ID, License: true, ExternalAdmin: true})
	})
	f.step("MoveSiteToControlHub", func() (any, error) { return e.svc.MoveSiteToControlHub(ctx, "acme", site.ID) })
	f.step("ClaimUsers oli (dry run)", func() (any, error) {
		return e.svc.ClaimUsers(ctx, "acme", []claim.UserID{oli.ID}, claim.ClaimOptions{Acknowledge: true, DryRun: true})
	})
	f.step("ClaimUsers oli (relicense)", func() (any, error) {
		return e.svc.ClaimUsers(ctx, "acme", []claim.UserID{oli.ID}, claim.ClaimOptions{Acknowledge: true, Relicense: true})
	})

	// CSV (V1–V5) and directory sync (Y1–Y6). A minute later, so that the
	// sweep meets oli's deadline before gus's (ties go by the random IDs).
	e.clock.Advance(time.Minute)
	g := user("home", claim.NewUser{Email: "gus@acme.example"})
	h := user("home", claim.NewUser{Email: "hal@acme.example"})
	var csv strings.Builder
	f.step("ExportClaimable acme", func() (any, error) {
		err := e.svc.ExportClaimable(ctx, "acme", &csv)
		return csv.String(), err
	})
	f.step("ImportClaims gus (dry run)", func() (any, error) {
		in := claim.ColumnEmail + "," + claim.ColumnClaim + "\n" + g.Email + ",TRUE\n" + h.Email + ",FALSE\n"
		return e.svc.ImportClaims(ctx, "acme", strings.NewReader(in), claim.ImportOptions{Acknowledge: true, DryRun: true})
	})
	f.step("ImportClaims gus", func() (any, error) {
		in := claim.ColumnEmail + "," + claim.ColumnClaim + "\n" + g.Email + ",TRUE\n" + h.Email + ",FALSE\n"
		return e.svc.ImportClaims(ctx, "acme", strings.NewReader(in), claim.ImportOptions{Acknowledge: true})
	})
	e.clock.Advance(15 * day)
	f.step("Sweep (expiries)", func() (any, error) { return e.svc.Sweep(ctx) })
	org(claim.Org{ID: "dir", Name: "Directory", Kind: claim.Enterprise, Settings: claim.Settings{DirectorySync: true}})
	verify("dir", "dir.example")
	user("dir", claim.NewUser{Email: "ida@dir.example"})
	user("dir", claim.NewUser{Email: "jon@dir.example"})
	f.step("SyncDirectory dir (dry run)", func() (any, error) {
		return e.svc.SyncDirectory(ctx, "dir", []claim.DirectoryEntry{{Email: "ida@dir.example"}, {Email: "kim@dir.example", FirstName: "Kim"}},
			claim.SyncOptions{Full: true, DryRun: true, IgnoreThreshold: true})
	})
	f.step("SyncDirectory dir (full)", func() (any, error) {
		return e.svc.SyncDirectory(ctx, "dir", []claim.DirectoryEntry{{Email: "ida@dir.example"}, {Email: "kim@dir.example", FirstName: "Kim"}},
			claim.SyncOptions{Full: true, IgnoreThreshold: true})
	})
	e.clock.Advance(31 * day)
	f.step("Sweep (purges)", func() (any, error) { return e.svc.Sweep(ctx) })

	// Domains: claim, release, unverify; deleting a user and an org.
	f.step("ClaimDomain dir.example", func() (any, error) { return nil, e.svc.ClaimDomain(ctx, "dir", "dir.example") })
	for _, url := range []string{"dir.webex.com", "dir-eu.webex.com"} {
		f.step("AddSite dir "+url, func() (any, error) { return e.svc.AddSite(ctx, "dir", url) })
	}
	f.step("DeleteOrg dir (a claimed domain, a site)", func() (any, error) { return nil, e.svc.DeleteOrg(ctx, "dir") })
	f.step("ClaimDomain acme.example", func() (any, error) { return nil, e.svc.ClaimDomain(ctx, "acme", "acme.example") })
	f.step("ReleaseDomain acme.example", func() (any, error) { return nil, e.svc.ReleaseDomain(ctx, "acme", "acme.example") })
	f.step("DeleteUser fay", func() (any, error) {
		u, err := e.svc.UserByEmail(ctx, "fay@acme.example")
		if err != nil {
			return nil, err
		}
		return nil, e.svc.DeleteUser(ctx, "acme", u.ID)
	})
	verify("newhome", "newhome.example")
	lou := user("home", claim.NewUser{Email: "lou@newhome.example", Content: 3})
	f.step("ClaimUsers lou into newhome", func() (any, error) {
		return e.svc.ClaimUsers(ctx, "newhome", []claim.UserID{lou.ID}, claim.ClaimOptions{Acknowledge: true})
	})
	e.clock.Advance(15 * day)
	f.step("DeleteOrg home (holds lou's original)", func() (any, error) { return nil, e.svc.DeleteOrg(ctx, "home") })
	f.step("UnverifyDomain acme.example", func() (any, error) { return nil, e.svc.UnverifyDomain(ctx, "acme", "acme.example") })

	// Webex for BroadWorks (B1–B6).
	org(claim.Org{ID: "partner", Name: "Partner", Kind: claim.Enterprise, CreatedAt: oldOrgDate})
	org(claim.Org{ID: "cust", Name: "Customer", Kind: claim.Enterprise, CreatedAt: oldOrgDate})
	user("cust", claim.NewUser{Email: "max@cust.example"})
	f.step("AddAdmin cust", func() (any, error) {
		return nil, e.svc.BroadWorks().AddAdmin(ctx, "cust", claim.Admin{Email: "root@cust.example", Role: claim.FullAdmin})
	})
	f.step("SetOrgLicenses cust", func() (any, error) {
		return nil, e.svc.BroadWorks().SetOrgLicenses(ctx, "cust", []claim.OrgLicense{{Name: "Meetings", Status: claim.LicenseActive}})
	})
	f.step("SetRestrictedAdminMode cust", func() (any, error) { return nil, e.svc.BroadWorks().SetRestrictedAdminMode(ctx, "cust", true) })
	ent := func(id claim.EnterpriseID, trusted bool, target claim.OrgID) {
		f.step("CreateEnterprise "+string(id), func() (any, error) {
			return e.svc.BroadWorks().CreateEnterprise(ctx, claim.BroadWorksEnterprise{ID: id, Partner: "partner", Name: "Enterprise " + string(id),
				Template: claim.Template{PartnerAdmin: "pat@partner.example", TrustedEmail: trusted}, Target: target})
		})
	}
	prov := func(ent claim.EnterpriseID, id claim.SubscriberID, email string) {
		f.step(fmt.Sprintf("ProvisionSubscriber %s %s %s", ent, id, email), func() (any, error) {
			return e.svc.BroadWorks().ProvisionSubscriber(ctx, "partner", ent, claim.NewSubscriber{ID: id, Email: email, FirstName: "F", LastName: "L"})
		})
	}
	ent("att", true, "cust")
	prov("att", "s1", "max@cust.example")
	prov("att", "s2", "new@cust.example")
	user("free", claim.NewUser{Email: "vic@vic.example"})
	prov("att", "s3", "vic@vic.example")
	f.step("AddWorkspace att lobby", func() (any, error) { return nil, e.svc.BroadWorks().AddWorkspace(ctx, "partner", "att", "lobby") })
	f.step("RemoveWorkspace att lobby", func() (any, error) { return nil, e.svc.BroadWorks().RemoveWorkspace(ctx, "partner", "att", "lobby") })
	for _, s := range []claim.SubscriberID{"s1", "s2", "s3"} {
		f.step("RemoveSubscriber "+string(s), func() (any, error) { return nil, e.svc.BroadWorks().RemoveSubscriber(ctx, "partner", s) })
	}
	f.step("Detach att (standard)", func() (any, error) {
		return nil, e.svc.BroadWorks().Detach(ctx, "partner", "att", claim.DetachStandard)
	})
	ent("unt", false, "")
	prov("unt", "u1", "")
	f.step("EnterEmail u1", func() (any, error) { return e.svc.BroadWorks().EnterEmail(ctx, "u1", "zed@zed.example") })
	f.step("ValidateEmail u1", func() (any, error) { return e.svc.BroadWorks().ValidateEmail(ctx, "u1") })
	f.step("SelfActivate unt", func() (any, error) {
		return e.svc.BroadWorks().SelfActivate(ctx, "unt", claim.NewSubscriber{ID: "u2", Email: "yan@zed.example", FirstName: "Y", LastName: "A"})
	})
	f.step("ValidateEmail u2", func() (any, error) { return e.svc.BroadWorks().ValidateEmail(ctx, "u2") })
	user("free", claim.NewUser{Email: "old@zed.example"})
	f.step("SelfActivate unt (an account to move)", func() (any, error) {
		return e.svc.BroadWorks().SelfActivate(ctx, "unt", claim.NewSubscriber{ID: "u3", Email: "old@zed.example", FirstName: "O", LastName: "L"})
	})
	f.step("ValidateEmail u3", func() (any, error) { return e.svc.BroadWorks().ValidateEmail(ctx, "u3") })
	f.step("Consent u3", func() (any, error) { return e.svc.BroadWorks().Consent(ctx, "u3") })
	f.step("RetrySubscriber u1", func() (any, error) { return e.svc.BroadWorks().RetrySubscriber(ctx, "partner", "u1") })
	for _, s := range []claim.SubscriberID{"u1", "u2", "u3"} {
		f.step("RemoveSubscriber "+string(s), func() (any, error) { return nil, e.svc.BroadWorks().RemoveSubscriber(ctx, "partner", s) })
	}
	f.step("Detach unt (hybrid)", func() (any, error) { return nil, e.svc.BroadWorks().Detach(ctx, "partner", "unt", claim.DetachHybrid) })

	// An attach that waits for approval (B3), then the partner goes.
	org(claim.Org{ID: "big", Name: "Big", Kind: claim.Enterprise, CreatedAt: oldOrgDate})
	verify("big", "big.example")
	user("big", claim.NewUser{Email: "ned@big.example"})
	for _, a := range []string{"boss@big.example", "deputy@big.example"} {
		f.step("AddAdmin big "+a, func() (any, error) {
			return nil, e.svc.BroadWorks().AddAdmin(ctx, "big", claim.Admin{Email: a, Role: claim.FullAdmin})
		})
	}
	ent("apr", true, "big")
	prov("apr", "a1", "ned@big.example")
	f.step("RemoveSubscriber a1", func() (any, error) { return nil, e.svc.BroadWorks().RemoveSubscriber(ctx, "partner", "a1") })
	f.step("DeleteOrg partner (its enterprises go)", func() (any, error) { return nil, e.svc.DeleteOrg(ctx, "partner") })
	return f.out.String()
}
