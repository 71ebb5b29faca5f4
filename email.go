package claim

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// OriginalSuffix is appended to a claimed user's address to make the
// address of the original account left in its old org (K6, N4). No other
// address may end in it.
const OriginalSuffix = ".convert-user.local"

const (
	maxLocalPart = 64  // Control Hub's limit (N1)
	maxEmail     = 254 // RFC 5321 path limit less the angle brackets (N4)
	maxDomain    = 253 // N2
	maxLabel     = 63  // N2
)

var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.StrictDomainName(true),
)

// NormalizeDomain returns the normalized form of a domain name (N2):
// lower-case, one trailing dot removed, internationalized names in their
// ASCII (punycode) form by IDNA lookup rules. Anything else is an
// *InputError wrapping ErrInvalidDomain.
//
// Decision: the input is refused as well when it is longer than
// MaxInputBytes, is not UTF-8 or holds control, invisible or
// bidirectional-control characters (which IDNA would otherwise silently
// drop or reject with a message quoting them), and when its normalized form
// ends in the reserved OriginalSuffix: a domain of original accounts can
// never be verified, claimed or released (N4).
func NormalizeDomain(name string) (string, error) {
	return domainArg("domain", name)
}

// reserved reports whether a normalized domain is the reserved
// convert-user.local or one of its sub-domains (N4).
func reserved(domain string) bool {
	return domain == OriginalSuffix[1:] || strings.HasSuffix(domain, OriginalSuffix)
}

// domainArg normalizes a domain name given to a domain method: N2, and the
// reserved suffix refused (N4).
func domainArg(field, name string) (string, error) {
	d, err := normalizeDomain(field, name)
	if err == nil && reserved(d) {
		return "", invalid(ErrInvalidDomain, field, name, "the suffix "+OriginalSuffix+" is reserved for original accounts")
	}
	return d, err
}

func normalizeDomain(field, name string) (string, error) {
	if err := checkText(ErrInvalidDomain, field, name); err != nil {
		return "", err
	}
	d := strings.TrimSpace(name)
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", invalid(ErrInvalidDomain, field, name, "empty")
	}
	if strings.ContainsAny(d, " \t\r\n") || strings.Contains(d, "..") {
		return "", invalid(ErrInvalidDomain, field, name, "spaces or empty labels")
	}
	a, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", invalid(ErrInvalidDomain, field, name, "not a valid name under IDNA lookup rules")
	}
	a = strings.ToLower(a)
	if len(a) > maxDomain {
		return "", invalid(ErrInvalidDomain, field, name, "longer than 253 octets")
	}
	for _, l := range strings.Split(a, ".") {
		if l == "" {
			return "", invalid(ErrInvalidDomain, field, name, "empty label")
		}
		if len(l) > maxLabel {
			return "", invalid(ErrInvalidDomain, field, name, "a label longer than 63 octets")
		}
	}
	return a, nil
}

// NormalizeEmail returns the normalized form of a bare e-mail address
// (N1): trimmed, parsed with net/mail, the local part at most 64
// characters (counted once lower-cased) and free of quoting, the domain
// normalized as by NormalizeDomain (one trailing dot removed:
// "Dot@Example.com." is "dot@example.com"), all lower-case, at most
// MaxEmailBytes octets. Addresses ending in OriginalSuffix, or at the
// reserved domain convert-user.local itself, are refused
// (N4), and so is an input longer than MaxInputBytes, not UTF-8, or
// holding a control, invisible or bidirectional-control character (a
// zero-width space, a right-to-left override) anywhere. Errors are
// *InputError values wrapping ErrInvalidEmail.
func NormalizeEmail(addr string) (string, error) {
	e, err := parseEmail("email", addr, false)
	if err != nil {
		return "", err
	}
	return e.addr, nil
}

type parsedEmail struct {
	addr string // normalized address
	name string // display name, when one was given
}

// parseEmail parses addr. With named, a display-name form
// ("Ann <ann@x.com>") is accepted. Reserved addresses are refused.
func parseEmail(field, addr string, named bool) (parsedEmail, error) {
	p, err := parseEmailAny(field, addr, named)
	if err == nil && reserved(domainOf(p.addr)) { // also an address at convert-user.local itself
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "the suffix "+OriginalSuffix+" is reserved for original accounts")
	}
	return p, err
}

// parseEmailAny parses addr like parseEmail but accepts the reserved
// suffix: lookups may name an original account by its address.
func parseEmailAny(field, addr string, named bool) (parsedEmail, error) {
	if simpleEmail(addr) {
		return parsedEmail{addr: addr}, nil
	}
	return parseEmailSlow(field, addr, named)
}

// simpleEmail reports whether addr is a bare address already in its
// normalized form and plainly valid, so that parsing it in full would
// return it unchanged: lower-case ASCII letters, digits and ".-_+" in a
// local part of at most 64 characters without leading, trailing or
// doubled dots; a domain of two or more labels of letters, digits and
// hyphens, each at most 63 long, neither starting nor ending with a
// hyphen nor having hyphens in its third and fourth places (which IDNA
// reserves); at most 254 octets in all. It is the fast path of
// parseEmailAny, which parses everything else in full
// (TestSimpleEmailAgrees checks the two agree).
func simpleEmail(addr string) bool {
	at := strings.IndexByte(addr, '@')
	if at <= 0 || at > maxLocalPart || len(addr) > maxEmail || len(addr)-at-1 > maxDomain {
		return false
	}
	local, domain := addr[:at], addr[at+1:]
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '+':
		case c == '.' && i > 0 && i < len(local)-1 && local[i-1] != '.':
		default:
			return false
		}
	}
	labels, start := 0, 0
	for i := 0; i <= len(domain); i++ {
		if i < len(domain) && domain[i] != '.' {
			c := domain[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		l := domain[start:i]
		if l == "" || len(l) > maxLabel || l[0] == '-' || l[len(l)-1] == '-' || len(l) >= 4 && l[2] == '-' && l[3] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	return labels >= 2
}

// parseEmailSlow parses addr in full (see parseEmailAny).
func parseEmailSlow(field, addr string, named bool) (parsedEmail, error) {
	if err := checkText(ErrInvalidEmail, field, addr); err != nil {
		return parsedEmail{}, err
	}
	s := strings.TrimSpace(addr)
	if s == "" {
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "empty")
	}
	s = trimDomainDot(s)
	a, err := mail.ParseAddress(s)
	if err != nil {
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, strings.TrimPrefix(err.Error(), "mail: "))
	}
	if !named && (a.Name != "" || strings.ContainsAny(s, "<>")) {
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "a bare address is expected, without a display name")
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "missing local part or domain")
	}
	local, domain := strings.ToLower(a.Address[:at]), a.Address[at+1:]
	if utf8.RuneCountInString(local) > maxLocalPart { // counted as stored: lower-casing may add characters
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "local part longer than 64 characters")
	}
	if strings.HasPrefix(domain, "[") {
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "address literals are not accepted")
	}
	d, err := normalizeDomain(field, domain)
	if err != nil {
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "bad domain: "+err.(*InputError).Reason)
	}
	out := parsedEmail{addr: local + "@" + d, name: strings.TrimSpace(a.Name)}
	// net/mail unquotes a quoted local part ("john doe"@x.com); such an
	// address would be stored in a form that no longer parses, so only
	// local parts that need no quoting are accepted.
	if b, err := mail.ParseAddress(out.addr); err != nil || b.Address != out.addr {
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "a local part that needs quoting is not accepted")
	}
	if len(out.addr) > maxEmail {
		return parsedEmail{}, invalid(ErrInvalidEmail, field, addr, "longer than 254 octets")
	}
	return out, nil
}

// trimDomainDot removes one trailing dot from the address's domain, in a
// bare address ("dot@example.com.") or a display-name form ("Dot
// <dot@example.com.>"), as N2 removes it from a domain name (N1). Two dots
// stay, and are refused as an empty label.
func trimDomainDot(s string) string {
	switch {
	case strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ".."):
		return s[:len(s)-1]
	case strings.HasSuffix(s, ".>") && !strings.HasSuffix(s, "..>"):
		return s[:len(s)-2] + ">"
	}
	return s
}

// domainOf returns the domain part of a normalized address.
func domainOf(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}
