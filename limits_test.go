package claim_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/claimkit/claim"
)

// TestRefuseLengthBoundaries: the longest valid values are accepted and
// one more octet is refused (N1, N2, N4).
func TestRefuseLengthBoundaries(t *testing.T) {
	t.Run("N4: a 235-octet address can be claimed (its original's address is 254 octets); 236 cannot", func(t *testing.T) {
		e := newEnv(t)
		baseFixture(t, e)
		e.mustVerify(t, "b", longDomain)
		ok := e.mustActive(t, "a", longAddr(235), 1)
		long := e.mustActive(t, "a", longAddr(236), 1)
		res, err := e.svc.ClaimUsers(e.ctx, "b", []claim.UserID{ok.ID, long.ID}, claim.ClaimOptions{Acknowledge: true})
		if err != nil {
			t.Fatalf("ClaimUsers() = %v", err)
		}
		if res[0].Err != nil {
			t.Errorf("ClaimUsers(235 octets).Err = %v, want nil", res[0].Err)
		}
		if !errors.Is(res[1].Err, claim.ErrInvalidEmail) {
			t.Errorf("ClaimUsers(236 octets).Err = %v, want %v", res[1].Err, claim.ErrInvalidEmail)
		}
		orig, err := e.svc.UserByEmail(e.ctx, ok.Email+".convert-user.local")
		if err != nil || len(orig.Email) != 254 {
			t.Errorf("UserByEmail(original) = %q, %v; want a 254-octet address", orig.Email, err)
		}
	})
	t.Run("N1: a 254-octet address is accepted, 255 refused", func(t *testing.T) {
		e := newEnv(t)
		baseFixture(t, e)
		d := domainOfLen(189, 63)
		if _, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: strings.Repeat("l", 64) + "@" + d}); err != nil {
			t.Errorf("AddUser(254 octets) = %v, want nil", err)
		}
		if _, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: strings.Repeat("m", 64) + "@" + domainOfLen(190, 63)}); !errors.Is(err, claim.ErrInvalidEmail) {
			t.Errorf("AddUser(255 octets) = %v, want %v", err, claim.ErrInvalidEmail)
		}
	})
	t.Run("N1: a 64-character local part is accepted", func(t *testing.T) {
		e := newEnv(t)
		baseFixture(t, e)
		if _, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: strings.Repeat("l", 64) + "@example.com"}); err != nil {
			t.Errorf("AddUser(64-character local part) = %v, want nil", err)
		}
	})
	t.Run("N2: a 253-octet domain and a 63-octet label are accepted", func(t *testing.T) {
		e := newEnv(t)
		baseFixture(t, e)
		for _, d := range []string{domainOfLen(253, 63), domainOfLen(253, 63) + ".", strings.Repeat("x", 63) + ".com"} {
			if _, err := e.svc.StartDomainVerification(e.ctx, "a", d); err != nil {
				t.Errorf("StartDomainVerification(%d octets) = %v, want nil", len(d), err)
			}
		}
	})
}

// TestAddressInputLimit: an address as given may be up to MaxInputBytes
// long (spaces around it included); one byte more is refused before it is
// parsed.
func TestAddressInputLimit(t *testing.T) {
	pad := func(n int) string {
		a := "ann@example.com"
		left := (n - len(a)) / 2
		return strings.Repeat(" ", left) + a + strings.Repeat(" ", n-len(a)-left)
	}
	if got, err := claim.NormalizeEmail(pad(claim.MaxInputBytes)); err != nil || got != "ann@example.com" {
		t.Errorf("NormalizeEmail(%d bytes) = %q, %v; want ann@example.com", claim.MaxInputBytes, got, err)
	}
	_, err := claim.NormalizeEmail(pad(claim.MaxInputBytes + 1))
	var ie *claim.InputError
	if !errors.As(err, &ie) || !errors.Is(err, claim.ErrInvalidEmail) || !strings.Contains(ie.Reason, "1024 bytes") {
		t.Errorf("NormalizeEmail(%d bytes) = %v, want an *InputError: longer than 1024 bytes", claim.MaxInputBytes+1, err)
	}
	// A parser's reason quoting the rest of the input is cut too.
	junk := "ann@example.com " + strings.Repeat("x", 990)
	if _, err := claim.NormalizeEmail(junk); !errors.As(err, &ie) || len(ie.Reason) > 260 || len(err.Error()) > 600 {
		t.Errorf("NormalizeEmail(1006 bytes of junk) = %v (%d bytes), want an *InputError with a bounded reason", err, len(fmt.Sprint(err)))
	}
	for _, in := range []string{"ann\u200b9@acme.com", "ann\u202e9@acme.com", "ann@acme\u00ad.com", "ann\ufe0f@acme.com", "ann@acme.com\x00"} {
		_, err := claim.NormalizeEmail(in)
		if !errors.As(err, &ie) || !strings.Contains(ie.Reason, "character U+") {
			t.Errorf("NormalizeEmail(%q) = %v, want an *InputError naming the character", in, err)
		}
	}
}
