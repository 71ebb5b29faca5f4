package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// demoStart is the demo's fixed clock: the data set and what the service
// decides are the same on every run.
var demoStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// demo returns a service on a memory store holding the demo data set:
// org acme (content migration on, licenses Meetings and Messaging, the
// domains acme.example and acme-labs.example verified) and n users of
// other organizations, most of them on acme's domains:
//
//   - personal (Individual) accounts from 2019, claimed with a delayed
//     claim (M2), and from 2022, claimed immediately;
//   - a free (Consumer) organization and a customer (Enterprise) org,
//     claimed immediately;
//   - an org with SSO, whose users cannot be claimed (E4);
//   - users on other domains, which acme cannot claim (E2).
func demo(ctx context.Context, n int) (*claim.Service, error) {
	clock := claimtest.NewClock(demoStart)
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		return nil, err
	}
	orgs := []claim.Org{
		{ID: "acme", Name: "Acme Inc.", Kind: claim.Enterprise,
			Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings", "Messaging"}}},
		{ID: "personal-2019", Name: "Personal accounts (2019)", Kind: claim.Individual, CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "personal-2022", Name: "Personal accounts (2022)", Kind: claim.Individual, CreatedAt: time.Date(2022, 1, 10, 0, 0, 0, 0, time.UTC)},
		{ID: "free", Name: "Webex Free", Kind: claim.Consumer},
		{ID: "globex", Name: "Globex Corp.", Kind: claim.Enterprise},
		{ID: "initech", Name: "Initech (SSO)", Kind: claim.Enterprise, Settings: claim.Settings{SSO: true}},
	}
	for _, o := range orgs {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"acme.example", "acme-labs.example"} {
		tok, err := svc.StartDomainVerification(ctx, "acme", d)
		if err != nil {
			return nil, err
		}
		dns.Set(d, tok)
		if err := svc.ConfirmDomain(ctx, "acme", d); err != nil {
			return nil, err
		}
	}
	rng := rand.New(rand.NewPCG(2026, 3))
	first := []string{"Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "José", "=Kim", "Lars", "Mei", "Nadia", "O'Brien"}
	last := []string{"Lee", "Novák", "de Vries", "Smith", "-Jones", "García", "Müller", "Ito", "Okafor", "Jansen", "Dvořák", "@Home"}
	for i := range n {
		f, l := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		dom := "acme.example"
		switch r := rng.IntN(20); {
		case r == 0:
			dom = "elsewhere.example"
		case r < 5:
			dom = "acme-labs.example"
		}
		var org claim.OrgID
		switch r := rng.IntN(10); {
		case r < 4:
			org = "personal-2019"
		case r < 6:
			org = "personal-2022"
		case r < 7:
			org = "free"
		case r < 9:
			org = "globex"
		default:
			org = "initech"
		}
		local := strings.ToLower(strings.Trim(f, "=-@'") + "." + strings.ReplaceAll(strings.Trim(l, "=-@'"), " ", ""))
		u, err := svc.AddUser(ctx, org, claim.NewUser{Email: fmt.Sprintf("%s%d@%s", local, i, dom),
			FirstName: f, LastName: l, DisplayName: f + " " + l, Content: rng.IntN(50)})
		if err != nil {
			return nil, err
		}
		if rng.IntN(3) > 0 { // most have activated their account and signed in
			if _, err := svc.VerifyEmail(ctx, u.ID); err != nil {
				return nil, err
			}
			if _, err := svc.SignIn(ctx, u.ID); err != nil {
				return nil, err
			}
		}
	}
	return svc, nil
}

// demoEdit copies the exported file src to dst, editing it as an admin
// would: every 7th row is un-ticked (Claim FALSE), every 11th Immediate
// row asks for a delayed claim instead (which no longer applies), one row
// has a typo in its Claim cell, an address nobody has is added, and the
// first row is repeated at the end. It returns the number of edits.
func demoEdit(src, dst string) (int, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	recs, err := csv.NewReader(in).ReadAll()
	if err != nil {
		return 0, err
	}
	if len(recs) < 2 {
		return 0, fmt.Errorf("%s has no rows to edit", src)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	edits := 0
	for i, rec := range recs[1:] {
		switch {
		case i%7 == 6:
			rec[col[claim.ColumnClaim]] = "FALSE"
			edits++
		case i%11 == 10 && rec[col[claim.ColumnClaimType]] == "Immediate":
			rec[col[claim.ColumnClaimType]] = "Delayed"
			edits++
		case i == 2:
			rec[col[claim.ColumnClaim]] = "yes please"
			edits++
		}
	}
	extra := make([]string, len(recs[0]))
	extra[col[claim.ColumnEmail]], extra[col[claim.ColumnClaim]] = "nobody@acme.example", "TRUE"
	recs = append(recs, extra, recs[1])
	edits += 2
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	w := csv.NewWriter(out)
	if err := w.WriteAll(recs); err != nil {
		out.Close()
		return 0, err
	}
	return edits, out.Close()
}
