package claim_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/claimkit/claim"
)

// TestNormalizeEmail: N1, N2, N4 on accepted and refused addresses.
func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		reason string
		in     string
		want   string // "" when refused
	}{
		{"N1: trimmed and lower-cased", "  Ann.Lee@Example.COM ", "ann.lee@example.com"},
		{"N2: an internationalized domain in punycode", "bob@Bücher.example", "bob@xn--bcher-kva.example"},
		{"N1: 64 characters of local part, counted as characters", strings.Repeat("é", 64) + "@x.example", strings.Repeat("é", 64) + "@x.example"},
		{"N1: 65 characters of local part", strings.Repeat("a", 65) + "@x.example", ""},
		{"N1: a quoted local part would not parse once stored", `"john doe"@x.example`, ""},
		{"N1: a quoted @ in the local part", `"a@b"@x.example`, ""},
		{"N1: a display name where a bare address is wanted", "Ann <ann@x.example>", ""},
		{"N4: the reserved suffix", "ann@x.example.convert-user.local", ""},
		{"N2: an empty label", "ann@x..example", ""},
		{"N1: no domain", "ann@", ""},
	}
	for _, tt := range tests {
		got, err := claim.NormalizeEmail(tt.in)
		if tt.want == "" {
			var ie *claim.InputError
			if !errors.Is(err, claim.ErrInvalidEmail) || !errors.As(err, &ie) || ie.Field != "email" {
				t.Errorf("%s: NormalizeEmail(%q) = %q, %v; want an *InputError for field email wrapping ErrInvalidEmail", tt.reason, tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: NormalizeEmail(%q) = %q, %v; want %q", tt.reason, tt.in, got, err, tt.want)
		}
	}
}

// --- Section 2: normalization and input (N1–N5) ---

func TestRefuseInvalidEmail(t *testing.T) {
	bad := []struct{ why, addr string }{
		{"empty", ""},
		{"blank", "   "},
		{"no @", "not-an-email"},
		{"no domain", "ann@"},
		{"no local part", "@example.com"},
		{"space in domain", "ann@exa mple.com"},
		{"empty label", "ann@example..com"},
		{"local part of 65", strings.Repeat("l", 65) + "@example.com"},
		{"address literal", "ann@[192.0.2.1]"},
		{"unclosed angle", "Ann <ann@example.com"},
		{"over 254 octets", strings.Repeat("l", 64) + "@" + domainOfLen(190, 63)},
	}
	var cases []refusalCase
	for _, b := range bad {
		cases = append(cases,
			refusalCase{
				reason: "N1: AddUser refuses an address with " + b.why, op: fmt.Sprintf("AddUser(a, %q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					baseFixture(t, e)
					return func() error {
						_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: b.addr})
						return err
					}
				},
				want: claim.ErrInvalidEmail, field: "NewUser.Email",
			},
			refusalCase{
				reason: "N1: ClaimEmails refuses an address with " + b.why + " in its result", op: fmt.Sprintf("ClaimEmails(b, %q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					baseFixture(t, e)
					return func() error { return claimSingle(e, "b", b.addr, true) }
				},
				want: claim.ErrInvalidEmail, field: "addresses[0]",
			},
			refusalCase{
				reason: "N1: UserByEmail refuses an address with " + b.why, op: fmt.Sprintf("UserByEmail(%q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					baseFixture(t, e)
					return func() error {
						_, err := e.svc.UserByEmail(e.ctx, b.addr)
						return err
					}
				},
				want: claim.ErrInvalidEmail, field: "email",
			},
			refusalCase{
				reason: "N1: Eligibility refuses an address with " + b.why, op: fmt.Sprintf("Eligibility(b, %q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					baseFixture(t, e)
					return func() error {
						_, err := e.svc.Eligibility(e.ctx, "b", b.addr)
						return err
					}
				},
				want: claim.ErrInvalidEmail, field: "email",
			},
			refusalCase{
				reason: "C2, N1: Choose refuses a NewEmail with " + b.why, op: fmt.Sprintf("Choose(ann, ChangeEmail %q)", b.addr),
				setup: func(t *testing.T, e *env) func() error {
					_, ann := claimedFixture(t, e)
					mustSignIn(t, e, ann.ID)
					return func() error {
						_, err := e.svc.Choose(e.ctx, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: b.addr})
						return err
					}
				},
				want: claim.ErrInvalidEmail, field: "Choice.NewEmail",
			},
		)
	}
	cases = append(cases,
		refusalCase{
			reason: "N1: a display name where a bare address is expected is refused", op: `UserByEmail("Ann <ann@example.com>")`,
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error {
					_, err := e.svc.UserByEmail(e.ctx, "Ann <ann@example.com>")
					return err
				}
			},
			want: claim.ErrInvalidEmail, field: "email",
		},
		refusalCase{
			reason: "N4: AddUser refuses an address ending in .convert-user.local", op: "AddUser(a, x@example.com.convert-user.local)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "x@example.com.convert-user.local"})
					return err
				}
			},
			want: claim.ErrInvalidEmail, field: "NewUser.Email",
		},
		refusalCase{
			reason: "N4: AddUser refuses the reserved suffix in any case and with a display name", op: "AddUser(a, X <X@Example.COM.Convert-User.Local>)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "X <X@Example.COM.Convert-User.Local>"})
					return err
				}
			},
			want: claim.ErrInvalidEmail, field: "NewUser.Email",
		},
		refusalCase{
			reason: "N4, C2: ChangeEmail refuses an address ending in .convert-user.local", op: "Choose(ann, ChangeEmail reserved)",
			setup: func(t *testing.T, e *env) func() error {
				_, ann := claimedFixture(t, e)
				mustSignIn(t, e, ann.ID)
				return func() error {
					_, err := e.svc.Choose(e.ctx, ann.ID, claim.Choice{Action: claim.ChangeEmail, NewEmail: "ann2@example.com.convert-user.local"})
					return err
				}
			},
			want: claim.ErrInvalidEmail, field: "Choice.NewEmail",
		},
		refusalCase{
			reason: "N4: claiming a 240-octet address is refused: its original's address would exceed 254 octets", op: "ClaimUsers(b, long)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				e.mustVerify(t, "b", longDomain)
				u := e.mustActive(t, "a", longAddr(240), 4)
				return func() error { return claimSingle(e, "b", string(u.ID), false) }
			},
			want: claim.ErrInvalidEmail,
		},
		refusalCase{
			reason: "N4: the same 240-octet address by ClaimEmails is refused in its result", op: "ClaimEmails(b, long)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				e.mustVerify(t, "b", longDomain)
				u := e.mustActive(t, "a", longAddr(240), 4)
				return func() error { return claimSingle(e, "b", u.Email, true) }
			},
			want: claim.ErrInvalidEmail,
		},
		refusalCase{
			reason: "N3: AddUser refuses a negative Content", op: "AddUser(a, Content -1)",
			setup: func(t *testing.T, e *env) func() error {
				baseFixture(t, e)
				return func() error {
					_, err := e.svc.AddUser(e.ctx, "a", claim.NewUser{Email: "neg@example.com", Content: -1})
					return err
				}
			},
			want: claim.ErrInvalidValue, field: "NewUser.Content",
		},
	)
	runRefusals(t, cases)
}

// TestTrailingDotAddress: N1 removes one trailing dot from an address's
// domain, as N2 does from a domain name; two dots stay refused.
func TestTrailingDotAddress(t *testing.T) {
	e := newEnv(t)
	e.mustOrg(t, "acme", claim.Enterprise, t0, claim.Settings{})
	for _, c := range []struct{ in, want string }{
		{"Dot@Example.com.", "dot@example.com"},
		{"Named Dot <Named@Example.com.>", "named@example.com"},
		{"  spaced@example.com.  ", "spaced@example.com"},
	} {
		u, err := e.svc.AddUser(e.ctx, "acme", claim.NewUser{Email: c.in})
		if err != nil || u.Email != c.want {
			t.Errorf("AddUser(%q) = %q, %v; want %q", c.in, u.Email, err, c.want)
		}
		if got, err := claim.NormalizeEmail(strings.TrimPrefix(c.in, "Named Dot ")); c.in[0] != 'N' && (err != nil || got != c.want) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := e.svc.UserByEmail(e.ctx, "DOT@example.COM."); err != nil {
		t.Errorf("UserByEmail with a trailing dot = %v, want the user", err)
	}
	for _, in := range []string{"two@example.com..", "dot@.", "dot@example..com", "dot.@example.com"} {
		var ie *claim.InputError
		if _, err := claim.NormalizeEmail(in); !errors.As(err, &ie) || !errors.Is(err, claim.ErrInvalidEmail) {
			t.Errorf("NormalizeEmail(%q) = %v, want an *InputError (ErrInvalidEmail)", in, err)
		}
	}
}

// FuzzNormalizeEmail: an address NormalizeEmail accepts is in its
// normalized form and in the limits — valid UTF-8, lower-case, no
// control, invisible or bidirectional-control character, at most 254
// octets, a local part of at most 64 characters, a normalized domain, not
// the reserved suffix — and normalizing it again changes nothing (N1,
// N2, N4); anything else is an *InputError (ErrInvalidEmail) with a
// bounded message.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", "Dot@Example.com.", "ann\u200b9@acme.com", "a\u202e@x.com", "x@b\u00fccher.example",
		"\"john doe\"@x.com", "a@b.convert-user.local", "A@B.CONVERT-USER.LOCAL", "İİ@x.com", "a..b@x.com", "@x.com", "a@", "a@[1.2.3.4]",
		strings.Repeat("a", 64) + "@x.com", strings.Repeat("a", 65) + "@x.com", "a@" + strings.Repeat("b", 250) + ".com", "\xff@x.com", "a\x00@x.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		got, err := claim.NormalizeEmail(addr)
		if err != nil {
			checkInputError(t, "NormalizeEmail", err, claim.ErrInvalidEmail)
			return
		}
		at := strings.LastIndexByte(got, '@')
		switch {
		case !utf8.ValidString(got):
			t.Fatalf("NormalizeEmail(%q) = %q, not UTF-8", addr, got)
		case len(got) > claim.MaxEmailBytes:
			t.Fatalf("NormalizeEmail(%q) = %q: %d octets", addr, got, len(got))
		case at <= 0 || utf8.RuneCountInString(got[:at]) > 64:
			t.Fatalf("NormalizeEmail(%q) = %q: no local part or one over 64 characters", addr, got)
		case strings.ToLower(got) != got:
			t.Fatalf("NormalizeEmail(%q) = %q, not lower-case", addr, got)
		case strings.HasSuffix(got, claim.OriginalSuffix):
			t.Fatalf("NormalizeEmail(%q) = %q ends in the reserved suffix", addr, got)
		case strings.ContainsFunc(got, func(r rune) bool {
			return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
		}):
			t.Fatalf("NormalizeEmail(%q) = %q holds a control or invisible character", addr, got)
		}
		if again, err := claim.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("NormalizeEmail(%q) = %q, then %q, %v: not idempotent", addr, got, again, err)
		}
		if d, err := claim.NormalizeDomain(got[at+1:]); err != nil || d != got[at+1:] {
			t.Fatalf("NormalizeEmail(%q) = %q, whose domain normalizes to %q, %v", addr, got, d, err)
		}
	})
}
