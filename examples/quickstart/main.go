// Command quickstart runs a whole claim scenario on the embedded
// in-memory store with a fake clock and prints its timeline: a domain is
// verified, a user is claimed with a delayed claim, the claim is
// retracted, the user is claimed again, and the claim expires into a
// migration of the user's content. Run it with
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"text/tabwriter"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := claimtest.NewClock(start)
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		return err
	}
	say := func(format string, args ...any) {
		fmt.Printf("%s  %s\n", clock.Now().Format("Jan _2 15:04"), fmt.Sprintf(format, args...))
	}

	// Acme, a customer org, and Ann's personal account from 2019.
	acme, err := svc.CreateOrg(ctx, claim.Org{ID: "acme", Name: "Acme Inc.", Kind: claim.Enterprise,
		Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings", "Messaging"}}})
	if err != nil {
		return err
	}
	personal, err := svc.CreateOrg(ctx, claim.Org{ID: "ann-personal", Name: "Ann's account", Kind: claim.Individual,
		CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return err
	}
	ann, err := svc.AddUser(ctx, personal.ID, claim.NewUser{Email: "Ann Lee <ann@acme.example>", Content: 120})
	if err != nil {
		return err
	}
	if _, err = svc.VerifyEmail(ctx, ann.ID); err != nil { // she clicks the activation link
		return err
	}
	if ann, err = svc.SignIn(ctx, ann.ID); err != nil {
		return err
	}
	say("%s is %s in %q with %d content items", ann.Email, ann.State, personal.Name, ann.Content)

	// Acme proves it owns acme.example.
	token, err := svc.StartDomainVerification(ctx, acme.ID, "ACME.example.")
	if err != nil {
		return err
	}
	say("Acme publishes TXT %q", token)
	dns.Set("acme.example", token)
	if err := svc.ConfirmDomain(ctx, acme.ID, "acme.example"); err != nil {
		return err
	}
	say("acme.example verified")

	for c, err := range svc.Claimable(ctx, acme.ID) {
		if err != nil {
			return err
		}
		say("claimable: %s (%s claim)", c.User.Email, c.Mode)
	}

	ack := claim.ClaimOptions{Acknowledge: true}
	res, err := svc.ClaimUsers(ctx, acme.ID, []claim.UserID{ann.ID}, ack)
	if err != nil {
		return err
	}
	say("Acme claims %s: %s claim, error %v", ann.Email, res[0].Mode, res[0].Err)
	if err := printUser(ctx, svc, say, ann.ID); err != nil {
		return err
	}

	clock.Advance(3 * 24 * time.Hour)
	days, err := svc.DaysLeft(ctx, ann.ID)
	if err != nil {
		return err
	}
	say("%d days left for Ann to choose", days)

	if err := svc.Retract(ctx, acme.ID, ann.ID); err != nil {
		return err
	}
	say("Acme retracts the claim")
	if err := printUser(ctx, svc, say, ann.ID); err != nil {
		return err
	}

	clock.Advance(time.Hour)
	if _, err := svc.ClaimUsers(ctx, acme.ID, []claim.UserID{ann.ID}, ack); err != nil {
		return err
	}
	say("Acme claims Ann again; she does not answer")
	clock.Advance(14 * 24 * time.Hour)
	u, err := svc.User(ctx, ann.ID)
	if err != nil {
		return err
	}
	say("the window has passed: reads already show %s, %s, %d items", u.State, u.Org, u.Content)
	rep, err := svc.Sweep(ctx)
	if err != nil {
		return err
	}
	say("the sweep persisted %d expiry", rep.Expired)
	if err := printUser(ctx, svc, say, ann.ID); err != nil {
		return err
	}
	err = svc.Retract(ctx, acme.ID, ann.ID)
	say("retracting now: %v", err)

	fmt.Println("\nEvent log:")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tTIME\tTYPE\tORG\tFROM\tDETAIL")
	for e, err := range svc.Events(ctx, 0) {
		if err != nil {
			return err
		}
		detail := e.Detail
		switch {
		case e.Recipient != "":
			detail = "to " + e.Recipient
		case e.Content != 0:
			detail = fmt.Sprintf("%d items", e.Content)
		case e.Mode != 0:
			detail = e.Mode.String()
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.Format("Jan _2 15:04"), e.Type, e.Org, e.From, detail)
	}
	return w.Flush()
}

func printUser(ctx context.Context, svc *claim.Service, say func(string, ...any), id claim.UserID) error {
	u, err := svc.User(ctx, id)
	if err != nil {
		return err
	}
	say("  %s: org %s, %s, licenses %v, %d content items", u.Email, u.Org, u.State, u.Licenses, u.Content)
	orig, err := svc.UserByEmail(ctx, u.Email+claim.OriginalSuffix)
	if err == nil {
		say("  original account %s in %s: %s, %d content items, held by %s", orig.Email, orig.Org, orig.State, orig.Content, orig.HeldBy)
	}
	return nil
}
