package fleetclaim_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// The validators are checked against the patterns they document, used as
// oracles: each accepts exactly what its pattern matches, and refuses the
// rest with an invalid-input error that names the field and carries one of
// the validator's own messages, never the input.

var (
	serialPattern   = regexp.MustCompile(`^[A-Za-z0-9:_-]{1,64}$`)
	tenantPattern   = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	templatePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,36}$`)
	claimIDPattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// A Cognito sub: a UUID in lower-case hex.
	subPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// A site is printable text: letters, marks, numbers, punctuation,
	// symbols and the ASCII space (unicode.IsPrint), at most 128 of them.
	// Go's regexp reads invalid UTF-8 as U+FFFD, a symbol, so validity is
	// checked apart.
	sitePattern = regexp.MustCompile(`^[\pL\pM\pN\pP\pS ]{0,128}$`)
	// AWS IoT's thing name pattern.
	thingPattern = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)
	// An address is anything, an "@", then a domain without one.
	emailPattern = regexp.MustCompile(`(?s)^.+@([^@]+)$`)
	// A lower-case ASCII DNS name (its length is checked apart).
	domainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
)

// hostile are seeds shared by the string validators: valid values, and
// look-alikes (full-width, Cyrillic, zero-width, combining), control
// characters, injection strings, path and MQTT topic syntax, invalid UTF-8
// and values just past each length limit.
var hostile = []string{
	"", "SN-0001", "sn-0001", "acme", "a-b", "ACME", "a_b", "tpl_1-x", "fleet", "Main hall, 2nd floor",
	"ＳＮ-0001", "SN-0001-СО", "аcme", "SN\u200b1", "SN\u00a01", "SN-1\u0301", "é", "\u202eSN-1",
	"SN\x001", "SN 1", "SN\n1", "SN\t1", "SN-1\r\n",
	"x'; DROP TABLE claims;--", `{"$ne":null}`, "<script>alert(1)</script>", "${jndi:ldap://127.0.0.1/a}", "%00", "%2e%2e%2f",
	"../../etc/passwd", "SN/#", "SN/+/x", "$aws/things/x/shadow", "\xff\xfe", "\xc0\xaf", "\xed\xa0\x80",
	strings.Repeat("A", 64), strings.Repeat("A", 65), strings.Repeat("a", 32), strings.Repeat("a", 33),
	strings.Repeat("t", 36), strings.Repeat("t", 37), strings.Repeat("é", 128), strings.Repeat("é", 129),
	strings.Repeat("ab", 32), strings.Repeat("AB", 32), strings.Repeat("ab", 32) + "0", strings.Repeat("x", 1<<16),
	"4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "4F1C2D3E-5A6B-4C7D-8E9F-0A1B2C3D4E5F", "4f1c2d3e5a6b4c7d8e9f0a1b2c3d4e5f00000",
	"4f1c2d3e-5a6b-4c7d-8e9f_0a1b2c3d4e5f",
}

// invalidError fails t unless err is an invalid-input error for field whose
// message is one of messages.
func invalidError(t *testing.T, err error, field string, messages ...string) {
	t.Helper()
	e := fleetclaim.ErrorOf(err)
	if e.Kind != fleetclaim.KindInvalid || e.Code != fleetclaim.CodeInvalidRequest || e.Field != field || !slices.Contains(messages, e.Message) {
		t.Fatalf("got %+v, want an invalid_request error for %s with one of %q", e, field, messages)
	}
}

func FuzzValidateSerial(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := fleetclaim.ValidateSerial(s)
		if got, want := err == nil, serialPattern.MatchString(s); got != want {
			t.Fatalf("ValidateSerial(%q) accepted = %v, pattern matches = %v", s, got, want)
		}
		if err != nil {
			invalidError(t, err, "serialNumber",
				"is required", "must be at most 64 characters", "may contain only A-Z, a-z, 0-9, ':', '_' and '-'")
		}
	})
}

// FuzzValidateIdentifiers checks the validators of tenant IDs, template
// names, claim IDs and installer IDs, which all take one string.
func FuzzValidateIdentifiers(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checks := []struct {
			name, field, message string
			err                  error
			pattern              *regexp.Regexp
		}{
			{"tenant ID", "tenantId", "must be 1 to 32 characters of a-z, 0-9 and '-'",
				fleetclaim.ValidateTenantID(fleetclaim.TenantID(s)), tenantPattern},
			{"template name", "template", "must be 1 to 36 characters of A-Z, a-z, 0-9, '_' and '-'",
				fleetclaim.ValidateTemplateName(s), templatePattern},
			{"claim ID", "id", "must be a 64-character certificate ID",
				fleetclaim.ValidateClaimID(fleetclaim.ClaimID(s)), claimIDPattern},
			{"installer ID", "installerId", "must be a Cognito user sub (UUID)",
				fleetclaim.ValidateInstallerID(fleetclaim.InstallerID(s)), subPattern},
		}
		for _, c := range checks {
			if got, want := c.err == nil, c.pattern.MatchString(s); got != want {
				t.Fatalf("%s %q: accepted = %v, pattern matches = %v", c.name, s, got, want)
			}
			if c.err != nil {
				invalidError(t, c.err, c.field, c.message)
			}
		}
	})
}

func FuzzValidateSite(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := fleetclaim.ValidateSite(s)
		if got, want := err == nil, utf8.ValidString(s) && sitePattern.MatchString(s); got != want {
			t.Fatalf("ValidateSite(%q) accepted = %v, pattern matches = %v", s, got, want)
		}
		if err != nil {
			invalidError(t, err, "site",
				"must be valid UTF-8", "must be at most 128 characters", "must not contain control or invisible characters")
		}
	})
}

// FuzzThingName checks that a valid tenant and serial always make a valid
// AWS IoT thing name, and that the name splits back into exactly that tenant
// and serial, so no two devices can share a thing.
func FuzzThingName(f *testing.F) {
	f.Add("acme", "SN-0001")
	f.Add("a-b", "x_y:z")
	f.Add("acme", "_acme_SN")
	f.Add("a", "b_c")
	f.Add("a_b", "c")
	f.Add("acme", "SN/#")
	f.Add(strings.Repeat("t", 32), strings.Repeat("s", 64))
	f.Add(strings.Repeat("t", 33), strings.Repeat("s", 65))
	f.Fuzz(func(t *testing.T, tenant, serial string) {
		if fleetclaim.ValidateTenantID(fleetclaim.TenantID(tenant)) != nil || fleetclaim.ValidateSerial(serial) != nil {
			return
		}
		name := fleetclaim.ThingName(fleetclaim.TenantID(tenant), serial)
		if !thingPattern.MatchString(name) {
			t.Fatalf("ThingName(%q, %q) = %q, not a valid thing name", tenant, serial, name)
		}
		gotTenant, gotSerial, ok := strings.Cut(name, "_")
		if !ok || gotTenant != tenant || gotSerial != serial {
			t.Fatalf("%q splits into %q, %q; want %q, %q", name, gotTenant, gotSerial, tenant, serial)
		}
	})
}

// FuzzEmailDomain checks EmailDomain against its documentation: the text
// after the last "@", when there is text before it and that text is an ASCII
// DNS name once its ASCII letters are lower-cased; "" otherwise. Whatever it
// returns passes ValidateDomain, so no Unicode case fold (İ to i, the Kelvin
// sign to k) can make a look-alike match an auto-approve domain.
func FuzzEmailDomain(f *testing.F) {
	for _, s := range []string{
		"ana@acme.example", "ANA@ACME.EXAMPLE", "a@b@c", "@x", "x@", "", "@", "@@", "ana",
		"evil@acme.example.other", "evil@acme.example@evil.example", `"a@b"@acme.example`, "ana@acme.example\x00.evil",
		"ana@ａｃｍｅ.example", "ana@асме.example", "ana@acme.example ", "ana@acme.example\n", "ana@\xff.example",
		"ana@b\u0130gcorp.example", "ana@\u212Aiosk.example", "ana@acme\u200b.example", "ana@acme..example",
		"ana@-acme.example", "ana@acme-.example", "ana@.acme.example", "ana@acme.example.", "ana@xn--bcher-kva.example",
		"ana@" + strings.Repeat("a", 63) + ".example", "ana@" + strings.Repeat("a", 64) + ".example",
		"ana@" + strings.Repeat("a.", 126) + "a", "ana@" + strings.Repeat("a.", 127) + "a",
		"ana@" + strings.Repeat("a", 1<<12) + ".example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		want := ""
		if m := emailPattern.FindStringSubmatch(email); m != nil {
			ascii := true
			for i := 0; i < len(m[1]); i++ {
				ascii = ascii && m[1][i] < utf8.RuneSelf
			}
			if d := strings.ToLower(m[1]); ascii && len(d) <= fleetclaim.MaxDomainLength && domainPattern.MatchString(d) {
				want = d
			}
		}
		got := fleetclaim.EmailDomain(email)
		if got != want {
			t.Fatalf("EmailDomain(%q) = %q, want %q", email, got, want)
		}
		if got != "" && fleetclaim.ValidateDomain(got) != nil {
			t.Fatalf("EmailDomain(%q) = %q, which ValidateDomain refuses", email, got)
		}
	})
}

// FuzzValidateDomain holds ValidateDomain to the DNS name pattern.
func FuzzValidateDomain(f *testing.F) {
	for _, s := range []string{
		"acme.example", "ACME.example", "", ".", "a", "a.b", "xn--bcher-kva.example", "b\u0130gcorp.example",
		"\u212Aiosk.example", "acme..example", "-a.example", "a-.example", "a_b.example", "acme.example.",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 127) + "a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		want := len(d) <= fleetclaim.MaxDomainLength && domainPattern.MatchString(d)
		if got := fleetclaim.ValidateDomain(d) == nil; got != want {
			t.Fatalf("ValidateDomain(%q) accepts %v, want %v", d, got, want)
		}
	})
}
