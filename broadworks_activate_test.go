package claim_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

// TestConsentAccountInOwnOrg: while a subscriber waits for consent, the
// account with its address moves into the enterprise's own org (here:
// deleted and added again there). Consent then deletes nothing and
// provisions the subscriber as that user (B1), rather than sending the
// partner to the attach flow for its own org.
func TestConsentAccountInOwnOrg(t *testing.T) {
	e := broadWorksWorld(t)
	e.mustEnterprise(t, "ent", true, "")
	e.mustProvision(t, "ent", "s0", "boss@new.example")
	ent := e.mustEnterpriseGet(t, "ent")
	carl := e.mustActive(t, consumerOrg, "carl@x.example", 2)
	if sub := e.mustProvision(t, "ent", "s1", carl.Email); sub.Status != claim.StatusPendingUserMigration {
		t.Fatalf("s1 = %+v, want pending_user_migration", sub)
	}
	if err := e.svc.DeleteUser(e.ctx, consumerOrg, carl.ID); err != nil {
		t.Fatalf("DeleteUser() = %v", err)
	}
	mine := e.mustUser(t, ent.Org, carl.Email, 5)
	seq := e.lastSeq(t)
	got, err := e.svc.BroadWorks().Consent(e.ctx, "s1")
	if err != nil {
		t.Fatalf("Consent() = %v", err)
	}
	if got.Status != claim.StatusProvisioned || got.User != mine.ID || got.Old != "" || got.Admin {
		t.Errorf("Consent() = %+v, want provisioned as %s", got, mine.ID)
	}
	if u := e.mustGet(t, mine.ID); u.Org != ent.Org || u.Content != 5 {
		t.Errorf("user after consent = %+v, want kept in %s with its content", u, ent.Org)
	}
	wantTypes := []string{claim.EventSubscriberStatus, claim.EventSubscriberStatus}
	if diff := cmp.Diff(wantTypes, types(e.events(t, seq))); diff != "" {
		t.Errorf("events: nothing deleted (-want +got):\n%s", diff)
	}
}

// TestConsentFlows: a user of a Consumer or Individual org moves to the
// BroadWorks org in each of the three flows only when it deletes its old
// account (B1), whose content loss is an event of that transaction.
func TestConsentFlows(t *testing.T) {
	tests := []struct {
		name    string
		trusted bool
		self    bool
		from    claim.OrgID
	}{
		{"trusted e-mail, consumer", true, false, consumerOrg},
		{"trusted e-mail, individual", true, false, indOrg},
		{"untrusted e-mail", false, false, consumerOrg},
		{"self-activation", false, true, indOrg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := broadWorksWorld(t)
			e.mustEnterprise(t, "ent", tt.trusted, "")
			// The first subscriber creates the org (B2).
			first := e.mustActivateNew(t, tt.trusted, tt.self, "s0", "boss@new.example")
			if first.Status != claim.StatusProvisioned || !first.Admin {
				t.Fatalf("first subscriber = %+v, want provisioned admin", first)
			}
			old := e.mustActive(t, tt.from, "carl@x.example", 6)
			sub := e.mustActivateNew(t, tt.trusted, tt.self, "s1", old.Email)
			if sub.Status != claim.StatusPendingUserMigration || sub.Old != old.ID || sub.Admin {
				t.Fatalf("subscriber = %+v, want pending_user_migration with Old %s, not admin", sub, old.ID)
			}
			if u := e.mustGet(t, old.ID); u.Org != tt.from || u.Content != 6 {
				t.Errorf("old account before consent = %+v, want untouched", u)
			}
			seq := e.lastSeq(t)
			got, err := e.svc.BroadWorks().Consent(e.ctx, "s1")
			if err != nil {
				t.Fatalf("Consent() = %v", err)
			}
			if _, err := e.svc.User(e.ctx, old.ID); !errors.Is(err, claim.ErrNotFound) {
				t.Errorf("old account after consent: %v, want ErrNotFound", err)
			}
			u, err := e.svc.UserByEmail(e.ctx, old.Email)
			ent := e.mustEnterpriseGet(t, "ent")
			if err != nil || u.Org != ent.Org || u.ID != got.User || u.Content != 0 || u.State != claim.Verified {
				t.Errorf("new account = %+v, %v; want a Verified user of %s, no content", u, err, ent.Org)
			}
			if got.Status != claim.StatusProvisioned || got.Old != "" {
				t.Errorf("subscriber after consent = %+v, want provisioned", got)
			}
			evs := e.events(t, seq)
			wantTypes := []string{claim.EventUserDeleted, claim.EventContentDeleted, claim.EventConsent,
				claim.EventSubscriberStatus, claim.EventUserAdded, claim.EventSubscriberStatus}
			if diff := cmp.Diff(wantTypes, types(evs)); diff != "" {
				t.Errorf("consent events (-want +got):\n%s", diff)
			}
			if len(evs) == len(wantTypes) && (evs[1].Content != 6 || evs[1].User != old.ID || evs[1].Org != tt.from) {
				t.Errorf("content.deleted = %+v, want 6 items of %s in %s", evs[1], old.ID, tt.from)
			}
			if _, err := e.svc.BroadWorks().Consent(e.ctx, "s1"); !errors.Is(err, claim.ErrSubscriberStatus) {
				t.Errorf("Consent() twice = %v, want ErrSubscriberStatus", err)
			}
		})
	}
}

// mustActivateNew takes a new subscriber with the address through its
// flow up to the CI lookup: ProvisionSubscriber (trusted), or
// ProvisionSubscriber, EnterEmail and ValidateEmail (untrusted), or
// SelfActivate and ValidateEmail.
func (e *env) mustActivateNew(tb testing.TB, trusted, self bool, id claim.SubscriberID, email string) claim.Subscriber {
	tb.Helper()
	switch {
	case trusted:
		return e.mustProvision(tb, "ent", id, email)
	case self:
		s, err := e.svc.BroadWorks().SelfActivate(e.ctx, "ent", claim.NewSubscriber{ID: id, Email: email})
		if err != nil || s.Status != claim.StatusPendingEmailValidation || s.Flow != claim.FlowSelfActivation {
			tb.Fatalf("SelfActivate(%s) = %+v, %v", id, s, err)
		}
	default:
		s := e.mustProvision(tb, "ent", id, "")
		if s.Status != claim.StatusPendingEmailInput || s.Flow != claim.FlowUntrusted {
			tb.Fatalf("ProvisionSubscriber(%s) untrusted = %+v", id, s)
		}
		if s, err := e.svc.BroadWorks().EnterEmail(e.ctx, id, email); err != nil || s.Status != claim.StatusPendingEmailValidation {
			tb.Fatalf("EnterEmail(%s) = %+v, %v", id, s, err)
		}
	}
	s, err := e.svc.BroadWorks().ValidateEmail(e.ctx, id)
	if err != nil {
		tb.Fatalf("ValidateEmail(%s) = %v", id, err)
	}
	return s
}
