package config

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzVars are the variables FuzzLoad sets, in the order of its arguments.
var fuzzVars = []string{EnvTableName, EnvTemplateName, EnvUserPoolID, EnvClaimsPerHour, EnvClaimRetention,
	EnvHookDeadline, EnvAllowedTemplates}

// FuzzLoad loads the claims and hook configurations from any values, each
// variable set or unset by a bit of present. Loading never panics; it
// succeeds exactly when every value is acceptable, and then holds the values
// as given (trimmed); otherwise the error names every variable at fault.
func FuzzLoad(f *testing.F) {
	for _, s := range []struct {
		table, template, pool, perHour, retention, deadline, allowed string
		present                                                      uint8
	}{
		{"fleetclaim", "fleet", "eu-west-1_Ab", "60", "168h", "2s", "a,b", 0xff},
		{"fleetclaim", "fleet", "eu-west-1_Ab", "", "", "", "", 0xff},
		{"fleetclaim", "fleet", "eu-west-1_Ab", "", "", "", "", 0x07},
		{"", "", "", "-1", "x", "9s", ",,,", 0xff},
		{" t ", " tpl ", " p ", " 10 ", " 1h ", " 4s ", " a , tpl , ,b ", 0xff},
		{"t", "tpl", "p", "0x10", "1e9", "4.000000001s", "\x00", 0xff},
		{"t", "tpl", "p", "9223372036854775808", "-1s", "0s", "tpl,tpl", 0xff},
		{"t", "tpl", "p", "１０", "1h\x00", "2s;rm -rf /", "ａ,а", 0xff},
		{"t", "tpl", "p", "+5", "5", "2", strings.Repeat("t,", 1000), 0xff},
		{"\t", "\n", "\u00a0", "5 5", "1h 1m", "1s1s", "", 0xff},
	} {
		f.Add(s.table, s.template, s.pool, s.perHour, s.retention, s.deadline, s.allowed, s.present)
	}
	f.Fuzz(func(t *testing.T, table, template, pool, perHour, retention, deadline, allowed string, present uint8) {
		env := map[string]string{}
		for i, v := range []string{table, template, pool, perHour, retention, deadline, allowed} {
			if present&(1<<i) != 0 {
				env[fuzzVars[i]] = v
			}
		}
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		value := func(k string) string { return strings.TrimSpace(env[k]) }

		// The oracle: which variables hold a value that must be refused.
		var bad []string
		for _, k := range []string{EnvTableName, EnvTemplateName, EnvUserPoolID} {
			if value(k) == "" {
				bad = append(bad, k)
			}
		}
		wantPerHour, ok := positiveInt(value(EnvClaimsPerHour), DefaultClaimsPerHour)
		if !ok {
			bad = append(bad, EnvClaimsPerHour)
		}
		wantRetention, ok := positiveDuration(value(EnvClaimRetention), DefaultClaimRetention)
		if !ok {
			bad = append(bad, EnvClaimRetention)
		}

		c, err := LoadClaims(lookup)
		checkErr(t, "LoadClaims", err, bad)
		if err == nil {
			if c.TableName != value(EnvTableName) || c.DefaultTemplate != value(EnvTemplateName) || c.UserPoolID != value(EnvUserPoolID) ||
				c.ClaimsPerHour != wantPerHour || c.ClaimRetention != wantRetention {
				t.Fatalf("LoadClaims(%q) = %+v", env, c)
			}
			want := []string{c.DefaultTemplate}
			for _, tpl := range strings.Split(env[EnvAllowedTemplates], ",") {
				if tpl = strings.TrimSpace(tpl); tpl != "" && !slices.Contains(want, tpl) {
					want = append(want, tpl)
				}
			}
			// Only the default is deduplicated: a repeat elsewhere in the
			// list is harmless, as the list is only searched.
			if !slices.Equal(compactAll(c.AllowedTemplates), want) || c.AllowedTemplates[0] != c.DefaultTemplate {
				t.Fatalf("allowed templates from %q: got %q, want %q", env[EnvAllowedTemplates], c.AllowedTemplates, want)
			}
		}

		bad = nil
		if value(EnvTableName) == "" {
			bad = append(bad, EnvTableName)
		}
		wantDeadline, ok := positiveDuration(value(EnvHookDeadline), DefaultHookDeadline)
		if !ok || wantDeadline > maxHookDeadline {
			bad = append(bad, EnvHookDeadline)
		}
		h, err := LoadHook(lookup)
		checkErr(t, "LoadHook", err, bad)
		if err == nil && (h.TableName != value(EnvTableName) || h.HookDeadline != wantDeadline) {
			t.Fatalf("LoadHook(%q) = %+v", env, h)
		}

		bad = nil
		if value(EnvTableName) == "" {
			bad = append(bad, EnvTableName)
		}
		p, err := LoadPresence(lookup)
		checkErr(t, "LoadPresence", err, bad)
		if err == nil && (p.TableName != value(EnvTableName) || p.LogLevel != value(EnvLogLevel)) {
			t.Fatalf("LoadPresence(%q) = %+v", env, p)
		}
	})
}

// checkErr fails t unless err is nil exactly when bad is empty, and names
// every variable in bad.
func checkErr(t *testing.T, loader string, err error, bad []string) {
	t.Helper()
	if (err == nil) != (len(bad) == 0) {
		t.Fatalf("%s: got error %v, want one naming %q", loader, err, bad)
	}
	for _, name := range bad {
		if !strings.Contains(err.Error(), name+" ") {
			t.Fatalf("%s: error %q does not name %s", loader, err, name)
		}
	}
}

// decimal is a whole number as the oracle reads it: optional sign, digits.
var decimal = regexp.MustCompile(`^[+-]?[0-9]+$`)

// positiveInt is the oracle for a count: def when empty, else a decimal
// integer above zero that fits in an int.
func positiveInt(s string, def int) (int, bool) {
	if s == "" {
		return def, true
	}
	if !decimal.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, strconv.IntSize)
	return int(n), err == nil && n > 0
}

// positiveDuration is the oracle for a duration: def when empty, else a Go
// duration above zero.
func positiveDuration(s string, def time.Duration) (time.Duration, bool) {
	if s == "" {
		return def, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

// compactAll removes later repeats of any element, keeping the first.
func compactAll(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
