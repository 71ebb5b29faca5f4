package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/claimkit/claim"
)

// fixedClock is a Clock that always says t0.
type fixedClock struct{}

func (fixedClock) Now() time.Time { return t0 }

// testLimits checks that a store holds every string the Service's limits
// accept (claim.MaxIDBytes, MaxNameChars, MaxNameBytes, MaxEmailBytes)
// and reads it back byte for byte, so that no store refuses what another
// accepts (N3, Q3). It drives the Service over the store: a value the
// limits refuse must be an *InputError that writes nothing, whatever the
// store; a value they accept must be stored. The cases: the largest value
// of each kind, one past each limit, and each byte and notable character
// (NUL, controls, DEL, C1 controls, tab, zero-width and bidirectional
// controls, separators, noncharacters, the largest code point, invalid
// UTF-8) inside org IDs, org names, user names, license names and
// BroadWorks IDs and names.
func testLimits(t *testing.T, s claim.Store) {
	svc, err := claim.New(s, claim.WithClock(fixedClock{}))
	if err != nil {
		t.Fatalf("claim.New = %v", err)
	}
	ctx := context.Background()
	l := &limits{t: t, s: s, svc: svc, ctx: ctx}

	// The largest values: a 128-byte ID of 4-byte characters, a name of
	// 256 4-byte characters (1024 bytes), an address of 254 octets with a
	// 64-character local part.
	maxID := claim.OrgID(strings.Repeat("𝔸", claim.MaxIDBytes/4))
	maxName := strings.Repeat("𝔸", claim.MaxNameChars)
	l.org(maxID, maxName, true)
	local := strings.Repeat("é", 64)                                           // 128 bytes
	domain := strings.Repeat("a", 63) + "." + strings.Repeat("b", 57) + ".com" // 125 bytes
	maxEmail := local + "@" + domain
	if len(maxEmail) != claim.MaxEmailBytes {
		t.Fatalf("the suite's longest address has %d bytes, want %d", len(maxEmail), claim.MaxEmailBytes)
	}
	l.user(maxID, claim.NewUser{Email: maxEmail, FirstName: maxName, LastName: maxName, DisplayName: maxName}, true)
	l.licenses(maxID, []string{maxName}, true)

	// One past each limit.
	l.org(claim.OrgID(strings.Repeat("a", claim.MaxIDBytes+1)), "n", false)
	l.org("", strings.Repeat("a", claim.MaxNameBytes+1), false)
	l.org("", strings.Repeat("é", claim.MaxNameChars+1), false)
	l.user(maxID, claim.NewUser{Email: strings.Repeat("é", 65) + "@example.com"}, false)
	l.user(maxID, claim.NewUser{Email: "x" + maxEmail}, false)
	l.user(maxID, claim.NewUser{Email: "a@example.com", DisplayName: strings.Repeat("b", claim.MaxNameBytes+1)}, false)

	// Each byte and notable character, inside each kind of string.
	for i, c := range notable() {
		name := "n" + c + "n"
		l.org(claim.OrgID(fmt.Sprintf("o%d", i)), name, nameOK(name))
		id := claim.OrgID("i" + c + "i")
		l.org(id, "n", idOK(string(id)))
		l.user(maxID, claim.NewUser{Email: fmt.Sprintf("u%d@example.com", i), FirstName: name, LastName: name, DisplayName: name}, nameOK(name))
		l.licenses(maxID, []string{"L" + c + "L"}, nameOK(name))
		l.enterprise(maxID, claim.EnterpriseID(fmt.Sprintf("e%d", i)), name, nameOK(name))
		l.enterprise(maxID, claim.EnterpriseID("e"+c+"e"), "n", idOK("e"+c+"e"))
	}
}

// notable returns the strings the suite puts inside values: every byte
// (0x80 and up alone are invalid UTF-8) and characters a store might treat
// specially.
func notable() []string {
	var out []string
	for b := range 256 {
		out = append(out, string([]byte{byte(b)}))
	}
	for _, r := range []rune{0x85, 0x9f, 0xa0, 0xad, 0x200b, 0x200d, 0x200f, 0x202e, 0x2028, 0x2029, 0x2060, 0xfeff,
		0xfffd, 0xfffe, 0xffff, 0xe000, 0x1f600, 0x10ffff} {
		out = append(out, string(r))
	}
	return append(out, "\xed\xa0\x80" /* a UTF-16 surrogate */, "\xf4\x90\x80\x80" /* past U+10FFFF */, "\xc0\x80" /* overlong NUL */)
}

// nameOK says whether the limits accept a name (already trimmed): valid
// UTF-8 without control characters other than the tab.
func nameOK(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsFunc(v, func(r rune) bool { return unicode.Is(unicode.Cc, r) && r != '\t' })
}

// idOK says whether the limits accept an ID: valid UTF-8 without
// control, format (zero-width, bidirectional), separator or other
// default-ignorable characters, nor spaces around it.
func idOK(v string) bool {
	return utf8.ValidString(v) && strings.TrimSpace(v) == v && !strings.ContainsFunc(v, func(r rune) bool {
		return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
	})
}

// limits runs the cases of testLimits.
type limits struct {
	t   *testing.T
	s   claim.Store
	svc *claim.Service
	ctx context.Context
}

// lastSeq returns the number of the last event.
func (l *limits) lastSeq() uint64 {
	var last uint64
	for e, err := range l.svc.Events(l.ctx, 0) {
		if err != nil {
			l.t.Fatalf("Events = %v", err)
		}
		last = e.Seq
	}
	return last
}

// check runs op, which should succeed when ok and otherwise be an
// *InputError wrapping ErrInvalidValue or ErrInvalidEmail that writes no
// event and quotes at most a bounded part of the value.
func (l *limits) check(what string, ok bool, op func() error) bool {
	l.t.Helper()
	before := l.lastSeq()
	err := op()
	if ok {
		if err != nil {
			l.t.Errorf("%s = %v, want it stored: the limits accept it, so every store must", what, err)
		}
		return err == nil
	}
	var ie *claim.InputError
	if !errors.As(err, &ie) || !(errors.Is(err, claim.ErrInvalidValue) || errors.Is(err, claim.ErrInvalidEmail)) {
		l.t.Errorf("%s = %v (%T), want an *InputError: the limits refuse it before the store", what, err, err)
	} else if len(err.Error()) > 512 {
		l.t.Errorf("%s: the error has %d bytes, want a bounded message", what, len(err.Error()))
	}
	if after := l.lastSeq(); after != before {
		l.t.Errorf("%s: the event log went from %d to %d, want it unchanged", what, before, after)
	}
	return false
}

// org creates an org and reads it back from the store.
func (l *limits) org(id claim.OrgID, name string, ok bool) {
	l.t.Helper()
	var got claim.Org
	if !l.check(fmt.Sprintf("CreateOrg(%q, %q)", cut(string(id)), cut(name)), ok, func() error {
		var err error
		got, err = l.svc.CreateOrg(l.ctx, claim.Org{ID: id, Name: name, Kind: claim.Enterprise})
		return err
	}) {
		return
	}
	view(l.t, l.s, func(tx claim.Tx) error {
		o, err := tx.Org(got.ID)
		if err != nil || o.Name != strings.TrimSpace(name) || (id != "" && o.ID != id) {
			l.t.Errorf("Org(%q) = %q, %v; want the name %q stored byte for byte", cut(string(got.ID)), cut(o.Name), err, cut(name))
		}
		return nil
	})
}

// user adds a user to org and reads it back from the store.
func (l *limits) user(org claim.OrgID, nu claim.NewUser, ok bool) {
	l.t.Helper()
	var got claim.User
	if !l.check(fmt.Sprintf("AddUser(%q, %q)", cut(nu.Email), cut(nu.FirstName)), ok, func() error {
		var err error
		got, err = l.svc.AddUser(l.ctx, org, nu)
		return err
	}) {
		return
	}
	view(l.t, l.s, func(tx claim.Tx) error {
		u, err := tx.UserByEmail(got.Email)
		if err != nil || u.ID != got.ID || u.FirstName != got.FirstName || u.LastName != got.LastName || u.DisplayName != got.DisplayName {
			l.t.Errorf("UserByEmail(%q) = %+v, %v; want the user stored byte for byte", cut(got.Email), u, err)
		}
		if got.FirstName != strings.TrimSpace(nu.FirstName) {
			l.t.Errorf("AddUser: FirstName %q, want %q", cut(got.FirstName), cut(nu.FirstName))
		}
		return nil
	})
}

// licenses sets org's AutoLicenses and reads them back from the store.
func (l *limits) licenses(org claim.OrgID, names []string, ok bool) {
	l.t.Helper()
	if !l.check(fmt.Sprintf("UpdateSettings(AutoLicenses %q)", cut(names[0])), ok, func() error {
		return l.svc.UpdateSettings(l.ctx, org, claim.Settings{AutoLicenses: names})
	}) {
		return
	}
	view(l.t, l.s, func(tx claim.Tx) error {
		o, err := tx.Org(org)
		if err != nil || len(o.Settings.AutoLicenses) != 1 || o.Settings.AutoLicenses[0] != strings.TrimSpace(names[0]) {
			l.t.Errorf("Org(%q).AutoLicenses = %q, %v; want %q", cut(string(org)), o.Settings.AutoLicenses, err, cut(names[0]))
		}
		return nil
	})
}

// enterprise creates a BroadWorks enterprise of partner and reads it back.
func (l *limits) enterprise(partner claim.OrgID, id claim.EnterpriseID, name string, ok bool) {
	l.t.Helper()
	if !l.check(fmt.Sprintf("CreateEnterprise(%q, %q)", cut(string(id)), cut(name)), ok, func() error {
		_, err := l.svc.BroadWorks().CreateEnterprise(l.ctx, claim.BroadWorksEnterprise{ID: id, Partner: partner, Name: name,
			Template: claim.Template{PartnerAdmin: "pat@partner.example"}})
		return err
	}) {
		return
	}
	view(l.t, l.s, func(tx claim.Tx) error {
		e, err := tx.Enterprise(id)
		if err != nil || e.Name != strings.TrimSpace(name) {
			l.t.Errorf("Enterprise(%q) = %q, %v; want the name %q", cut(string(id)), cut(e.Name), err, cut(name))
		}
		return nil
	})
}

// cut shortens a value for a failure message.
func cut(v string) string {
	if len(v) > 40 {
		return v[:40] + "…"
	}
	return v
}
