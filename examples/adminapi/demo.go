package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// demo returns a service on a memory store, logging to logger, holding
// the demo data set, on the system clock from now on:
//
//   - acme (Enterprise; content migration on; licenses Meetings and
//     Messaging) has verified acme.example, with amy@acme.example its member;
//   - personal accounts from 2019 (Individual): ann@, bob@, cy@, dora@,
//     eli@acme.example, claimed with a delayed claim;
//   - Webex Free (Consumer): fay@, gil@acme.example, claimed immediately;
//   - Initech (Enterprise, SSO): dee@acme.example, refused (source_sso);
//   - hal@elsewhere.example, on a domain acme has not verified.
func demo(ctx context.Context, logger *slog.Logger) (*claim.Service, error) {
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithResolver(dns), claim.WithFollowPoll(200*time.Millisecond), claim.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	for _, o := range []claim.Org{
		{ID: "acme", Name: "Acme Inc.", Kind: claim.Enterprise,
			Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings", "Messaging"}}},
		{ID: "personal-2019", Name: "Personal accounts (2019)", Kind: claim.Individual, CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "free", Name: "Webex Free", Kind: claim.Consumer},
		{ID: "initech", Name: "Initech (SSO)", Kind: claim.Enterprise, Settings: claim.Settings{SSO: true}},
	} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			return nil, err
		}
	}
	tok, err := svc.StartDomainVerification(ctx, "acme", "acme.example")
	if err != nil {
		return nil, err
	}
	dns.Set("acme.example", tok)
	if err := svc.ConfirmDomain(ctx, "acme", "acme.example"); err != nil {
		return nil, err
	}
	users := []struct {
		org         claim.OrgID
		email, name string
		content     int
	}{
		{"acme", "amy@acme.example", "Amy Adams", 12},
		{"personal-2019", "ann@acme.example", "Ann Lee", 120},
		{"personal-2019", "bob@acme.example", "Bob Novák", 8},
		{"personal-2019", "cy@acme.example", "Cy Okafor", 0},
		{"personal-2019", "dora@acme.example", "Dora Ito", 33},
		{"personal-2019", "eli@acme.example", "Eli García", 5},
		{"free", "fay@acme.example", "Fay Müller", 2},
		{"free", "gil@acme.example", "Gil de Vries", 40},
		{"initech", "dee@acme.example", "Dee Smith", 9},
		{"personal-2019", "hal@elsewhere.example", "Hal Jansen", 1},
	}
	for _, u := range users {
		if _, err := svc.AddUser(ctx, u.org, claim.NewUser{Email: fmt.Sprintf("%s <%s>", u.name, u.email), Content: u.content}); err != nil {
			return nil, err
		}
	}
	return svc, nil
}
