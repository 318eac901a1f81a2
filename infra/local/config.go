package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Config is everything the local stack can be told on its command line.
type Config struct {
	DataDir        string
	Host           string
	APIPort        int
	CognitoPort    int
	IoTPort        int
	MQTTPort       int
	ConsolePort    int
	ClaimLifetime  time.Duration
	Template       string
	ExtraTemplates []string
	ClaimsPerHour  int
	// RequestsPerMinute is each installer's API allowance.
	RequestsPerMinute int
	Tenants           []fleetclaim.Tenant
	Admin             AdminUser
	// PlatformAdmin is a second initial admin, of every tenant, so that one
	// stack can be signed into both as a tenant's admin and as the platform's.
	PlatformAdmin    AdminUser
	AllowedOrigin    string
	DynamoDBEndpoint string
	TableName        string
	LogLevel         string

	// AccessTokenValidity, IDTokenValidity and RefreshTokenValidity are
	// the Cognito app client's token lifetimes.
	AccessTokenValidity  time.Duration
	IDTokenValidity      time.Duration
	RefreshTokenValidity time.Duration

	// KeyPool is how many RSA key pairs the AWS IoT stand-in keeps ready.
	KeyPool int
	// Codes gets each sign-up confirmation code as a readable line (the
	// command sets standard output); not a flag.
	Codes io.Writer
}

// AdminUser is the initial admin the stack creates if it does not exist.
type AdminUser struct {
	Email    string
	Password string
	Tenant   fleetclaim.TenantID
	Platform bool
}

const usage = `fleetclaim-local runs the whole fleetclaim system on this machine: an API
Gateway stand-in, a Cognito user pool stand-in, an AWS IoT stand-in (local CA,
CreateProvisioningClaim, MQTT over mutual TLS with the fleet provisioning API)
and an embedded store, all calling the same handlers as the Lambda functions.
Everything listens on 127.0.0.1; nothing leaves the machine.

Usage:
  fleetclaim-local [flags]          run the stack until interrupted
  fleetclaim-local demo [flags]     play an installer and a device against a running stack
                                    (see: fleetclaim-local demo -h)
  fleetclaim-local load [flags]     measure a running stack's throughput (see: load -h)

On start it prints its endpoints and writes them to <data-dir>/endpoints.json.
State (users, claims, devices, the CA) lives in the data directory and survives
a restart; delete the directory to start afresh.

Flags:
`

func parseConfig(args []string, out io.Writer) (Config, error) {
	c := Config{}
	fs := flag.NewFlagSet("fleetclaim-local", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
		fmt.Fprint(out, `
Example:
  fleetclaim-local -tenant 'acme:Acme Ltd:acme.example' -admin 'admin@acme.example:Local-Admin-1:acme' \
    -platform-admin 'ops@operators.example:Local-Platform-1'
`)
	}
	fs.StringVar(&c.DataDir, "data-dir", ".local", "directory for all state (`path`)")
	fs.StringVar(&c.Host, "host", "127.0.0.1", "loopback address to listen on; only 127.0.0.0/8 and ::1 are accepted")
	fs.IntVar(&c.APIPort, "api-port", 8080, "API Gateway stand-in port (0 picks a free port)")
	fs.IntVar(&c.CognitoPort, "cognito-port", 9229, "Cognito user pool stand-in port (0 picks a free port)")
	fs.IntVar(&c.IoTPort, "iot-port", 8443, "AWS IoT control-plane stand-in port, HTTP (0 picks a free port)")
	fs.IntVar(&c.MQTTPort, "mqtt-port", 8883, "MQTT over TLS port, client certificates required (0 picks a free port)")
	fs.IntVar(&c.ConsolePort, "console-port", 8090, "installer and admin console port (0 picks a free port)")
	fs.DurationVar(&c.ClaimLifetime, "claim-lifetime", 5*time.Minute, "validity of claim certificates (AWS: 5m)")
	// Shorter than Cognito allows (5m) so that an app's token refresh can be
	// watched in seconds.
	fs.DurationVar(&c.AccessTokenValidity, "access-token-validity", fleetclaim.AccessTokenValidity,
		"lifetime of access tokens, 10s to 24h (Cognito: 5m to 24h; the deployed pool's is the default)")
	fs.DurationVar(&c.IDTokenValidity, "id-token-validity", fleetclaim.IDTokenValidity,
		"lifetime of ID tokens, 10s to 24h (Cognito: 5m to 24h)")
	fs.DurationVar(&c.RefreshTokenValidity, "refresh-token-validity", fleetclaim.RefreshTokenValidity,
		"lifetime of refresh tokens, 1m to 87600h (Cognito: 1h to 10 years)")
	fs.StringVar(&c.Template, "template", "fleetclaim-local", "fleet provisioning template name")
	fs.Func("extra-template", "another provisioning `name` installers may request (repeatable)", func(s string) error {
		if err := fleetclaim.ValidateTemplateName(s); err != nil {
			return err
		}
		c.ExtraTemplates = append(c.ExtraTemplates, s)
		return nil
	})
	fs.IntVar(&c.ClaimsPerHour, "claims-per-hour", 60, "per-installer claim quota per clock hour")
	fs.IntVar(&c.RequestsPerMinute, "requests-per-minute", fleetclaim.DefaultRequestsPerMinute, "per-installer API requests per clock minute")
	fs.StringVar(&c.AllowedOrigin, "allowed-origin", "", "installer web app origin for CORS, e.g. http://localhost:5173\n"+
		"(default: the console's origin)")
	fs.StringVar(&c.DynamoDBEndpoint, "dynamodb-endpoint", "", "use a DynamoDB-compatible server at this loopback `URL` instead of the embedded store")
	fs.StringVar(&c.TableName, "table", "fleetclaim-local", "table name with -dynamodb-endpoint")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&c.KeyPool, "key-pool", 32, "RSA key pairs the AWS IoT stand-in keeps generated ahead of claims and\n"+
		"CreateKeysAndCertificate (0: each is generated when asked)")
	fs.Func("tenant", "a tenant as `id:name:domain1,domain2` (repeatable); verified emails at the\n"+
		"listed domains are approved at sign-up; default acme:Acme:acme.example. A seed: a tenant\n"+
		"changed through the API (/tenants) keeps its changes", func(s string) error {
		t, err := parseTenant(s)
		if err == nil {
			c.Tenants = append(c.Tenants, t)
		}
		return err
	})
	fs.Func("admin", "initial admin as `email:password:tenant[:platform]`, created if missing (the password\n"+
		"needs 12 characters with upper and lower case, a digit and a symbol, as in the deployed pool);\n"+
		"':platform' makes a platform admin of every tenant", func(s string) error {
		a, err := parseAdmin(s)
		c.Admin = a
		return err
	})
	fs.Func("platform-admin", "initial platform admin as `email:password[:tenant]`, created if missing, beside\n"+
		"-admin; their own tenant (default operators) is created if missing", func(s string) error {
		a, err := parsePlatformAdmin(s)
		c.PlatformAdmin = a
		return err
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if len(c.Tenants) == 0 {
		c.Tenants = []fleetclaim.Tenant{{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive, AutoApproveDomains: []string{"acme.example"}}}
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var errs []error
	if !isLoopback(c.Host) {
		errs = append(errs, fmt.Errorf("-host %q: only loopback addresses are allowed", c.Host))
	}
	for name, p := range map[string]int{"api-port": c.APIPort, "cognito-port": c.CognitoPort, "iot-port": c.IoTPort, "mqtt-port": c.MQTTPort, "console-port": c.ConsolePort} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("-%s %d: not a port", name, p))
		}
	}
	if c.ClaimLifetime < 10*time.Second || c.ClaimLifetime > 24*time.Hour {
		errs = append(errs, fmt.Errorf("-claim-lifetime %v: must be between 10s and 24h", c.ClaimLifetime))
	}
	for name, v := range map[string]time.Duration{"access-token-validity": c.AccessTokenValidity, "id-token-validity": c.IDTokenValidity} {
		if v < 10*time.Second || v > 24*time.Hour {
			errs = append(errs, fmt.Errorf("-%s %v: must be between 10s and 24h", name, v))
		}
	}
	if c.RefreshTokenValidity < time.Minute || c.RefreshTokenValidity > 3650*24*time.Hour {
		errs = append(errs, fmt.Errorf("-refresh-token-validity %v: must be between 1m and 87600h", c.RefreshTokenValidity))
	}
	if err := fleetclaim.ValidateTemplateName(c.Template); err != nil {
		errs = append(errs, fmt.Errorf("-template: %w", err))
	}
	if c.ClaimsPerHour < 1 {
		errs = append(errs, errors.New("-claims-per-hour must be at least 1"))
	}
	if c.KeyPool < 0 || c.KeyPool > 1024 {
		errs = append(errs, fmt.Errorf("-key-pool %d: must be between 0 and 1024", c.KeyPool))
	}
	if c.RequestsPerMinute < 1 {
		errs = append(errs, errors.New("-requests-per-minute must be at least 1"))
	}
	if u, err := url.Parse(c.DynamoDBEndpoint); c.DynamoDBEndpoint != "" && (err != nil || u.Scheme != "http" || !isLoopback(u.Hostname())) {
		errs = append(errs, fmt.Errorf("-dynamodb-endpoint %q: must be a loopback http URL", c.DynamoDBEndpoint))
	}
	return errors.Join(errs...)
}

// isLoopback reports whether h is "localhost" or a loopback IP address.
func isLoopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

func parseTenant(s string) (fleetclaim.Tenant, error) {
	parts := strings.SplitN(s, ":", 3)
	t := fleetclaim.Tenant{ID: fleetclaim.TenantID(parts[0]), Status: fleetclaim.TenantActive}
	if err := fleetclaim.ValidateTenantID(t.ID); err != nil {
		return t, fmt.Errorf("tenant %q: id must be 1 to 32 of a-z, 0-9, '-'", s)
	}
	t.Name = string(t.ID)
	if len(parts) > 1 && parts[1] != "" {
		t.Name = parts[1]
	}
	if len(parts) > 2 {
		for _, d := range strings.Split(parts[2], ",") {
			if d = strings.TrimSpace(d); d != "" {
				domain, err := fleetclaim.ParseDomain(d)
				if err != nil {
					return t, fmt.Errorf("tenant %q: %q is not an ASCII domain name (write internationalized domains in their xn-- form)", s, d)
				}
				if fleetclaim.IsPublicMailDomain(domain) {
					return t, fmt.Errorf("tenant %q: %s is a public mail provider; anyone can get an address there", s, domain)
				}
				t.AutoApproveDomains = append(t.AutoApproveDomains, domain)
			}
		}
	}
	return t, nil
}

func parseAdmin(s string) (AdminUser, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 || fleetclaim.EmailDomain(parts[0]) == "" || parts[1] == "" {
		return AdminUser{}, fmt.Errorf("admin: want email:password:tenant[:platform]")
	}
	a := AdminUser{Email: parts[0], Password: parts[1], Tenant: fleetclaim.TenantID(parts[2])}
	if err := fleetclaim.ValidateTenantID(a.Tenant); err != nil {
		return a, fmt.Errorf("admin: tenant: %w", err)
	}
	if len(parts) == 4 {
		if parts[3] != "platform" {
			return a, fmt.Errorf("admin: the fourth field may only be 'platform'")
		}
		a.Platform = true
	}
	return a, nil
}

// DefaultPlatformTenant is the tenant of a -platform-admin that names none:
// platform admins belong to a tenant like everyone else, and one of their
// own keeps them apart from the tenants they administer.
const DefaultPlatformTenant = "operators"

func parsePlatformAdmin(s string) (AdminUser, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || fleetclaim.EmailDomain(parts[0]) == "" || parts[1] == "" {
		return AdminUser{}, fmt.Errorf("platform-admin: want email:password[:tenant]")
	}
	a := AdminUser{Email: parts[0], Password: parts[1], Tenant: DefaultPlatformTenant, Platform: true}
	if len(parts) == 3 {
		a.Tenant = fleetclaim.TenantID(parts[2])
	}
	if err := fleetclaim.ValidateTenantID(a.Tenant); err != nil {
		return a, fmt.Errorf("platform-admin: tenant: %w", err)
	}
	return a, nil
}

// adminLines says how to sign in as the admins the flags seed: they are the
// command line's own local accounts, so the terminal shows them as it shows
// the credentials file.
func adminLines(c Config) string {
	var b strings.Builder
	for _, a := range []AdminUser{c.Admin, c.PlatformAdmin} {
		if a.Email == "" {
			continue
		}
		role := "Admin of " + string(a.Tenant)
		if a.Platform {
			role = "Platform admin (" + string(a.Tenant) + ")"
		}
		fmt.Fprintf(&b, "Console sign-in, %s: %s / %s\n", role, a.Email, a.Password)
	}
	return b.String()
}
