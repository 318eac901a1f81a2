package fleetclaim_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Each validator is checked against the pattern it documents, as an oracle:
// it accepts exactly what the pattern matches.

var (
	serialPattern   = regexp.MustCompile(`^[A-Za-z0-9:_-]{1,64}$`)
	tenantPattern   = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	templatePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,36}$`)
	claimIDPattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	subPattern      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// AWS IoT's thing name pattern.
	thingPattern = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)
)

var hostile = []string{
	"", "SN-0001", "sn-0001", "ＳＮ-0001", "SN-0001-СО", "SN\x001", "SN 1", "x'; DROP TABLE claims;--", "../../etc/passwd",
	"SN/#", "SN/+/x", "$aws/things", "acme", "a_b", "ACME", strings.Repeat("A", 64), strings.Repeat("A", 65), "\xff\xfe",
	"4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", strings.Repeat("ab", 32), strings.Repeat("AB", 32), "tpl_1-x", "a\u200bb", "é",
}

func FuzzValidateSerial(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := fleetclaim.ValidateSerial(s)
		if got, want := err == nil, serialPattern.MatchString(s); got != want {
			t.Fatalf("ValidateSerial(%q) accepted=%v, pattern matches=%v", s, got, want)
		}
		if err != nil {
			// The message is one of the validator's own, never the input.
			e := fleetclaim.ErrorOf(err)
			known := []string{"is required", "must be at most 64 characters", "may contain only A-Z, a-z, 0-9, ':', '_' and '-'"}
			if e.Kind != fleetclaim.KindInvalid || e.Field != "serialNumber" || !slices.Contains(known, e.Message) {
				t.Fatalf("got %+v, want an invalid serialNumber error with a fixed message", e)
			}
		}
	})
}

func FuzzValidateIdentifiers(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checks := []struct {
			name string
			err  error
			re   *regexp.Regexp
		}{
			{"tenant", fleetclaim.ValidateTenantID(fleetclaim.TenantID(s)), tenantPattern},
			{"template", fleetclaim.ValidateTemplateName(s), templatePattern},
			{"claim ID", fleetclaim.ValidateClaimID(fleetclaim.ClaimID(s)), claimIDPattern},
			{"installer ID", fleetclaim.ValidateInstallerID(fleetclaim.InstallerID(s)), subPattern},
		}
		for _, c := range checks {
			if got, want := c.err == nil, c.re.MatchString(s); got != want {
				t.Fatalf("%s %q: accepted=%v, pattern matches=%v", c.name, s, got, want)
			}
		}
	})
}

// A valid tenant and serial always make a valid AWS IoT thing name, and the
// name splits back into exactly that tenant and serial.
func FuzzThingName(f *testing.F) {
	f.Add("acme", "SN-0001")
	f.Add("a-b", "x_y:z")
	f.Add(strings.Repeat("t", 32), strings.Repeat("s", 64))
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

func FuzzValidateSite(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fleetclaim.ValidateSite(s) != nil {
			return
		}
		if strings.ContainsAny(s, "\x00\n\r\t\u200b") || len([]rune(s)) > fleetclaim.MaxSiteLength {
			t.Fatalf("ValidateSite accepted %q", s)
		}
	})
}

func FuzzEmailDomain(f *testing.F) {
	for _, s := range []string{"ana@acme.example", "ANA@ACME.EXAMPLE", "a@b@c", "@x", "x@", "", "evil@acme.example.other"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		d := fleetclaim.EmailDomain(email)
		if d == "" {
			return
		}
		if strings.Contains(d, "@") || d != strings.ToLower(d) || !strings.HasSuffix(strings.ToLower(email), "@"+d) {
			t.Fatalf("EmailDomain(%q) = %q", email, d)
		}
	})
}
