package claim

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// StartDomainVerification starts proving that org owns a domain (D1) and
// returns the token: the whole TXT record value to publish on the
// domain, "<Policy.DomainTokenPrefix>=<random>", with 160 random bits
// from crypto/rand. The token is bound to this org and domain. Calling it
// again returns the same token, so a record already published stays
// valid.
//
// Errors, in order: an *InputError (ErrInvalidDomain) for a bad name
// (N2); ErrNotFound for an unknown org; ErrDomainClaimedByOther if another
// org has claimed the domain (D7). Event: domain.verification_started.
func (s *Service) StartDomainVerification(ctx context.Context, org OrgID, domain string) (string, error) {
	name, err := domainArg("domain", domain)
	if err != nil {
		return "", err
	}
	var token string
	err = s.update(ctx, func(t *txn) error {
		if _, err := t.org(org); err != nil {
			return err
		}
		if err := t.notClaimedByOther(org, name); err != nil {
			return err
		}
		d, err := t.tx.Domain(org, name)
		if err == nil {
			token = d.Token
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		token = s.policy.DomainTokenPrefix + "=" + randomToken()
		if err := t.tx.PutDomain(Domain{Org: org, Name: name, Token: token}); err != nil {
			return err
		}
		return t.emit(Event{Type: EventDomainVerificationStarted, Org: org, Detail: name})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

func randomToken() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// notClaimedByOther returns ErrDomainClaimedByOther if an org other than
// org has claimed the domain.
func (t *txn) notClaimedByOther(org OrgID, name string) error {
	c, err := t.tx.DomainClaimant(name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c != org {
		return errf(ErrDomainClaimedByOther, "domain %s is claimed by another organization", name) // not naming it (N3)
	}
	return nil
}

// ConfirmDomain looks up the domain's TXT records with the Resolver and
// marks the domain verified for org when one of them equals the token
// from StartDomainVerification (D1, D2). Confirming a verified domain
// again does nothing. The DNS lookup runs outside any store transaction.
//
// Errors, in order: an *InputError (ErrInvalidDomain) for a bad name;
// ErrNotFound for an unknown org or a domain whose verification was never
// started; ErrDomainClaimedByOther if another org has claimed it (D7);
// ErrDomainNotVerified when no record matches, saying what was found (or
// wrapping the lookup's error too). Event: domain.verified.
func (s *Service) ConfirmDomain(ctx context.Context, org OrgID, domain string) error {
	name, err := domainArg("domain", domain)
	if err != nil {
		return err
	}
	var rec Domain
	err = s.view(ctx, func(t *txn) error {
		if _, err := t.org(org); err != nil {
			return err
		}
		if rec, err = t.tx.Domain(org, name); errors.Is(err, ErrNotFound) {
			return errf(ErrNotFound, "org %q has not started verifying domain %s", org, name)
		} else if err != nil {
			return err
		}
		return t.notClaimedByOther(org, name)
	})
	if err != nil || rec.Verified {
		return err
	}
	txts, lerr := s.resolver.LookupTXT(ctx, name)
	found := false
	for _, v := range txts {
		if strings.TrimSpace(strings.Trim(v, `"`)) == rec.Token {
			found = true
		}
	}
	if !found {
		if lerr != nil {
			return fmt.Errorf("claim: domain %s: TXT lookup failed: %w (%w)", name, ErrDomainNotVerified, lerr)
		}
		return errf(ErrDomainNotVerified, "domain %s: no TXT record equals the token; found %d record(s) %q", name, len(txts), txts)
	}
	return s.update(ctx, func(t *txn) error {
		d, err := t.tx.Domain(org, name)
		if errors.Is(err, ErrNotFound) {
			return errf(ErrNotFound, "org %q has not started verifying domain %s", org, name)
		} else if err != nil {
			return err
		}
		if err := t.notClaimedByOther(org, name); err != nil {
			return err
		}
		if d.Verified {
			return nil
		}
		if d.Token != rec.Token {
			return errf(ErrDomainNotVerified, "domain %s: the token changed during the lookup", name)
		}
		d.Verified, d.VerifiedAt = true, t.now
		if err := t.tx.PutDomain(d); err != nil {
			return err
		}
		return t.emit(Event{Type: EventDomainVerified, Org: org, Detail: name})
	})
}

// ClaimDomain claims a verified domain for org (D3), which keeps users of
// the domain from joining any other org (D6). Claiming it again does
// nothing. Errors, in order: an *InputError (ErrInvalidDomain);
// ErrNotFound for an unknown org; ErrDomainNotVerified if org has not
// verified it; ErrDomainClaimedByOther if another org claims it. Event:
// domain.claimed.
func (s *Service) ClaimDomain(ctx context.Context, org OrgID, domain string) error {
	return s.domainChange(ctx, org, domain, func(t *txn, d Domain, found bool) (Domain, string, error) {
		if !found || !d.Verified {
			return d, "", errf(ErrDomainNotVerified, "org %q has not verified domain %s", org, d.Name)
		}
		if err := t.notClaimedByOther(org, d.Name); err != nil {
			return d, "", err
		}
		if d.Claimed {
			return d, "", nil
		}
		d.Claimed = true
		return d, EventDomainClaimed, nil
	})
}

// ReleaseDomain releases org's claim on a domain (D4); the domain stays
// verified. Errors, in order: an *InputError (ErrInvalidDomain);
// ErrNotFound for an unknown org or a domain nobody claims;
// ErrDomainClaimedByOther if another org claims it. Event:
// domain.released.
func (s *Service) ReleaseDomain(ctx context.Context, org OrgID, domain string) error {
	return s.domainChange(ctx, org, domain, func(t *txn, d Domain, found bool) (Domain, string, error) {
		c, err := t.tx.DomainClaimant(d.Name)
		if errors.Is(err, ErrNotFound) {
			return d, "", errf(ErrNotFound, "domain %s is not claimed", d.Name)
		}
		if err != nil {
			return d, "", err
		}
		if c != org {
			return d, "", errf(ErrDomainClaimedByOther, "domain %s is claimed by another organization", d.Name) // not naming it (N3)
		}
		d.Claimed = false
		return d, EventDomainReleased, nil
	})
}

// UnverifyDomain removes org's verification of a domain (or its pending
// verification). Errors, in order: an *InputError (ErrInvalidDomain);
// ErrNotFound for an unknown org or a domain org has no record of;
// ErrDomainClaimed while org claims it (D4). Event: domain.unverified.
func (s *Service) UnverifyDomain(ctx context.Context, org OrgID, domain string) error {
	return s.domainChange(ctx, org, domain, func(t *txn, d Domain, found bool) (Domain, string, error) {
		if !found {
			return d, "", errf(ErrNotFound, "org %q has no record of domain %s", org, d.Name)
		}
		if d.Claimed {
			return d, "", errf(ErrDomainClaimed, "org %q claims domain %s; release it first", org, d.Name)
		}
		return Domain{}, EventDomainUnverified, nil
	})
}

// domainChange runs change on org's record of the domain in a write
// transaction. change returns the new record (zero Name: delete it) and
// the event to emit ("" for no change).
func (s *Service) domainChange(ctx context.Context, org OrgID, domain string, change func(t *txn, d Domain, found bool) (Domain, string, error)) error {
	name, err := domainArg("domain", domain)
	if err != nil {
		return err
	}
	return s.update(ctx, func(t *txn) error {
		if _, err := t.org(org); err != nil {
			return err
		}
		d, err := t.tx.Domain(org, name)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if !found {
			d = Domain{Org: org, Name: name}
		}
		nd, event, err := change(t, d, found)
		if err != nil || event == "" {
			return err
		}
		if nd.Name == "" {
			err = t.tx.DeleteDomain(org, name)
		} else {
			err = t.tx.PutDomain(nd)
		}
		if err != nil {
			return err
		}
		return t.emit(Event{Type: event, Org: org, Detail: name})
	})
}

// Domains lists org's domain records in name order; ErrNotFound for an
// unknown org.
func (s *Service) Domains(ctx context.Context, org OrgID) ([]Domain, error) {
	var out []Domain
	err := s.view(ctx, func(t *txn) error {
		if _, err := t.org(org); err != nil {
			return err
		}
		var err error
		out, err = t.domains(org)
		return err
	})
	return out, err
}
