package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

func TestParseConfig(t *testing.T) {
	c, err := parseConfig([]string{"-tenant", "acme:Acme Ltd: ACME.example ,xn--bcher-kva.example", "-host", "::1",
		"-dynamodb-endpoint", "http://127.0.0.1:8000", "-admin", "admin@acme.example:Local-Admin-1:acme"}, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if len(c.Tenants) != 1 || c.Tenants[0].Name != "Acme Ltd" ||
		!slices.Equal(c.Tenants[0].AutoApproveDomains, []string{"acme.example", "xn--bcher-kva.example"}) {
		t.Errorf("tenants = %+v", c.Tenants)
	}
	if c.Admin.Email != "admin@acme.example" || c.Admin.Tenant != "acme" {
		t.Errorf("admin = %+v", c.Admin)
	}
}

// The token validities default to the deployed app client's and can be
// shortened to watch tokens expire.
func TestParseConfigTokenValidities(t *testing.T) {
	c, err := parseConfig(nil, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if c.AccessTokenValidity != fleetclaim.AccessTokenValidity || c.IDTokenValidity != fleetclaim.IDTokenValidity ||
		c.RefreshTokenValidity != fleetclaim.RefreshTokenValidity {
		t.Errorf("got defaults %v %v %v, want the deployed pool's", c.AccessTokenValidity, c.IDTokenValidity, c.RefreshTokenValidity)
	}
	c, err = parseConfig([]string{"-access-token-validity", "30s", "-id-token-validity", "1m", "-refresh-token-validity", "5m"}, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	if got, want := []time.Duration{c.AccessTokenValidity, c.IDTokenValidity, c.RefreshTokenValidity},
		[]time.Duration{30 * time.Second, time.Minute, 5 * time.Minute}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// Bad flags are refused with an error naming the flag; the stack never
// starts on a guess, and never listens or connects beyond loopback.
func TestParseConfigRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		// strings.ToLower folds 'İ' to 'i': this would read as bigcorp.example.
		{"look-alike auto-approve domain", []string{"-tenant", "bigcorp:Big:b\u0130gcorp.example"}, "not an ASCII domain"},
		{"domain with an address in it", []string{"-tenant", "acme:Acme:ana@acme.example"}, "not an ASCII domain"},
		{"public mail provider as auto-approve domain", []string{"-tenant", "acme:Acme:acme.example,Gmail.com"}, "public mail provider"},
		{"tenant ID", []string{"-tenant", "Acme:Acme:acme.example"}, "id must be"},
		{"public host", []string{"-host", "0.0.0.0"}, "only loopback"},
		{"host name", []string{"-host", "example.com"}, "only loopback"},
		{"DynamoDB endpoint beyond loopback", []string{"-dynamodb-endpoint", "http://localhost.evil.example:8000"}, "loopback http URL"},
		{"DynamoDB endpoint over https", []string{"-dynamodb-endpoint", "https://127.0.0.1:8000"}, "loopback http URL"},
		{"DynamoDB endpoint not a URL", []string{"-dynamodb-endpoint", "127.0.0.1:8000"}, "loopback http URL"},
		{"port", []string{"-api-port", "70000"}, "not a port"},
		{"claim lifetime", []string{"-claim-lifetime", "1s"}, "claim-lifetime"},
		{"negative key pool", []string{"-key-pool", "-1"}, "-key-pool"},
		{"access token validity", []string{"-access-token-validity", "1s"}, "access-token-validity"},
		{"ID token validity", []string{"-id-token-validity", "25h"}, "id-token-validity"},
		{"refresh token validity", []string{"-refresh-token-validity", "30s"}, "refresh-token-validity"},
		{"admin", []string{"-admin", "admin:pw:acme"}, "admin: want"},
		{"platform admin without password", []string{"-platform-admin", "ops@operators.example"}, "platform-admin: want"},
		{"platform admin's tenant", []string{"-platform-admin", "ops@operators.example:Local-Platform-1:Ops"}, "platform-admin: tenant"},
		{"argument", []string{"serve"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseConfig(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

// -platform-admin seeds a platform admin beside -admin's tenant admin, in
// a tenant of their own unless one is named, and both are printed.
func TestParseConfigPlatformAdmin(t *testing.T) {
	tests := []struct {
		name, flag string
		want       AdminUser
	}{
		{"default tenant", "ops@operators.example:Local-Platform-1",
			AdminUser{Email: "ops@operators.example", Password: "Local-Platform-1", Tenant: DefaultPlatformTenant, Platform: true}},
		{"named tenant", "ops@operators.example:Local-Platform-1:platform",
			AdminUser{Email: "ops@operators.example", Password: "Local-Platform-1", Tenant: "platform", Platform: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig([]string{"-admin", "admin@acme.example:Local-Admin-1:acme", "-platform-admin", tt.flag}, io.Discard)
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if c.PlatformAdmin != tt.want {
				t.Errorf("platform admin = %+v, want %+v", c.PlatformAdmin, tt.want)
			}
			if c.Admin.Platform {
				t.Errorf("-admin without :platform made a platform admin: %+v", c.Admin)
			}
			got := adminLines(c)
			for _, want := range []string{"Admin of acme: admin@acme.example / Local-Admin-1",
				"Platform admin (" + string(tt.want.Tenant) + "): ops@operators.example / Local-Platform-1"} {
				if !strings.Contains(got, want) {
					t.Errorf("printed %q, want a line with %q", got, want)
				}
			}
		})
	}
}
