package claim_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimtest"
)

// A host system drives its side from the event log: it reads the events
// after the last one it handled, sends the e-mails and moves the content
// they ask for, and remembers where it stopped.
func ExampleService_Events() {
	ctx := context.Background()
	svc, clock, ann := eventsWorld(ctx)
	var seen uint64 // kept by the host, e.g. in its own database
	handle := func() {
		for e, err := range svc.Events(ctx, seen) {
			if err != nil {
				panic(err)
			}
			switch e.Type {
			case claim.EventNotifyClaim:
				fmt.Println("send the claim e-mail to", e.Recipient, "("+e.Mode.String()+")")
			case claim.EventContentMigrated:
				fmt.Println("move", e.Content, "items into", e.Org)
			}
			seen = e.Seq
		}
	}
	handle() // the orgs, the domain and Ann: nothing to do

	if _, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, claim.ClaimOptions{Acknowledge: true}); err != nil {
		panic(err)
	}
	handle()
	clock.Advance(14 * 24 * time.Hour)
	if _, err := svc.Sweep(ctx); err != nil {
		panic(err)
	}
	handle()
	handle() // nothing new
	// Output:
	// send the claim e-mail to ann@acme.example (Delayed)
	// move 40 items into acme
}

// A host follows the event log in a goroutine of its own: Follow yields
// what the log holds after the last event handled, then sleeps until a
// commit wakes it, with no polling loop. The memory store wakes it at
// commit; the PostgreSQL store does with a listener
// (postgres.WithListener), and polls without one (claim.WithFollowPoll).
func ExampleService_Follow() {
	ctx := context.Background()
	svc, _, ann := eventsWorld(ctx)
	following, stop := context.WithCancel(ctx)
	var seen uint64 // kept by the host, e.g. in its own database
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e, err := range svc.Follow(following, seen) {
			if err != nil {
				fmt.Println("stopped:", errors.Is(err, context.Canceled))
				return
			}
			if e.Type == claim.EventNotifyClaim {
				fmt.Println("send the claim e-mail to", e.Recipient)
				stop() // a service would follow until it shuts down
			}
			seen = e.Seq
		}
	}()

	if _, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, claim.ClaimOptions{Acknowledge: true}); err != nil {
		panic(err)
	}
	<-done
	// Output:
	// send the claim e-mail to ann@acme.example
	// stopped: true
}

// WaitEvents blocks until an event after the given number commits, or
// its context ends.
func ExampleService_WaitEvents() {
	ctx := context.Background()
	svc, _, ann := eventsWorld(ctx)
	var last uint64
	for e, err := range svc.Events(ctx, 0) {
		if err != nil {
			panic(err)
		}
		last = e.Seq
	}

	quiet, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := svc.WaitEvents(quiet, last)
	fmt.Println("nothing new in 50ms:", errors.Is(err, context.DeadlineExceeded))

	go func() {
		if _, err := svc.ClaimUsers(ctx, "acme", []claim.UserID{ann}, claim.ClaimOptions{Acknowledge: true}); err != nil {
			panic(err)
		}
	}()
	if err := svc.WaitEvents(ctx, last); err != nil {
		panic(err)
	}
	for e, err := range svc.Events(ctx, last) {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.Type)
	}
	// Output:
	// nothing new in 50ms: true
	// claim.created
	// notify.claim
}

// eventsWorld builds the world of the example: Acme has verified
// acme.example, lets claimed users bring their content along and gives
// them a Meetings license; Ann has a personal account from 2019 on that
// domain, with 40 items of content, and has verified her address.
func eventsWorld(ctx context.Context) (*claim.Service, *claimtest.Clock, claim.UserID) {
	clock := claimtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dns := claimtest.NewResolver()
	svc, err := claim.New(claim.NewMemoryStore(), claim.WithClock(clock), claim.WithResolver(dns))
	if err != nil {
		panic(err)
	}
	for _, o := range []claim.Org{
		{ID: "acme", Name: "Acme", Kind: claim.Enterprise,
			Settings: claim.Settings{AllowContentMigration: true, AutoLicenses: []string{"Meetings"}}},
		{ID: "ann-personal", Name: "Ann", Kind: claim.Individual, CreatedAt: time.Date(2019, 8, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			panic(err)
		}
	}
	token, err := svc.StartDomainVerification(ctx, "acme", "acme.example")
	if err != nil {
		panic(err)
	}
	dns.Set("acme.example", token) // what the admin publishes in DNS
	if err := svc.ConfirmDomain(ctx, "acme", "acme.example"); err != nil {
		panic(err)
	}
	ann, err := svc.AddUser(ctx, "ann-personal", claim.NewUser{Email: "ann@acme.example", Content: 40, SiteLinked: true})
	if err != nil {
		panic(err)
	}
	return svc, clock, ann.ID
}
