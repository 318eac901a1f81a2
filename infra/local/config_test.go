package main

import (
	"io"
	"slices"
	"strings"
	"testing"
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
		{"tenant ID", []string{"-tenant", "Acme:Acme:acme.example"}, "id must be"},
		{"public host", []string{"-host", "0.0.0.0"}, "only loopback"},
		{"host name", []string{"-host", "example.com"}, "only loopback"},
		{"DynamoDB endpoint beyond loopback", []string{"-dynamodb-endpoint", "http://localhost.evil.example:8000"}, "loopback http URL"},
		{"DynamoDB endpoint over https", []string{"-dynamodb-endpoint", "https://127.0.0.1:8000"}, "loopback http URL"},
		{"DynamoDB endpoint not a URL", []string{"-dynamodb-endpoint", "127.0.0.1:8000"}, "loopback http URL"},
		{"port", []string{"-api-port", "70000"}, "not a port"},
		{"claim lifetime", []string{"-claim-lifetime", "1s"}, "claim-lifetime"},
		{"negative key pool", []string{"-key-pool", "-1"}, "-key-pool"},
		{"admin", []string{"-admin", "admin:pw:acme"}, "admin: want"},
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
