package config

import (
	"strings"
	"testing"
)

// Loading never panics, and any bad value is named in the error.
func FuzzLoad(f *testing.F) {
	f.Add("t", "tpl", "60", "2s", "168h", "a,b")
	f.Add("", "", "-1", "9s", "x", ",,,")
	f.Add("t", "tpl", "0x10", "1e9", "", "\x00")
	f.Fuzz(func(t *testing.T, table, template, perHour, deadline, retention, allowed string) {
		env := map[string]string{EnvTableName: table, EnvTemplateName: template, EnvClaimsPerHour: perHour,
			EnvHookDeadline: deadline, EnvClaimRetention: retention, EnvAllowedTemplates: allowed, EnvUserPoolID: "pool"}
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		c, err := LoadClaims(lookup)
		if err == nil {
			if c.ClaimsPerHour <= 0 || c.ClaimRetention <= 0 || c.AllowedTemplates[0] != c.DefaultTemplate {
				t.Fatalf("accepted a nonsensical configuration %+v", c)
			}
		} else if strings.TrimSpace(perHour) != "" && !strings.Contains(err.Error(), EnvClaimsPerHour) && c.ClaimsPerHour <= 0 {
			t.Fatalf("error %v does not name %s", err, EnvClaimsPerHour)
		}
		h, err := LoadHook(lookup)
		if err == nil && (h.HookDeadline <= 0 || h.HookDeadline > maxHookDeadline) {
			t.Fatalf("accepted hook deadline %v", h.HookDeadline)
		}
	})
}
