// Package config names every environment variable that the functions read and
// that infra/ sets, and loads them once, at cold start, into typed structs.
//
// The names are constants so the CDK app and the functions cannot drift apart.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Environment variable names shared by infra/ and functions/.
const (
	// EnvTableName is the DynamoDB table holding all fleetclaim state.
	EnvTableName = "FLEETCLAIM_TABLE_NAME"
	// EnvTemplateName is the default fleet provisioning template for new claims.
	EnvTemplateName = "FLEETCLAIM_TEMPLATE_NAME"
	// EnvAllowedTemplates is a comma-separated list of templates installers may
	// request; the default template is always allowed.
	EnvAllowedTemplates = "FLEETCLAIM_ALLOWED_TEMPLATES"
	// EnvClaimsPerHour is the default per-installer claim quota per clock hour.
	EnvClaimsPerHour = "FLEETCLAIM_CLAIMS_PER_HOUR"
	// EnvRequestsPerMinute is each installer's API allowance per minute.
	EnvRequestsPerMinute = "FLEETCLAIM_REQUESTS_PER_MINUTE"
	// EnvClaimRetention is how long claim records stay readable after they
	// expire (a Go duration), before DynamoDB TTL may delete them.
	EnvClaimRetention = "FLEETCLAIM_CLAIM_RETENTION"
	// EnvIoTDataEndpoint is the AWS IoT data (ATS) endpoint returned to
	// installers. When empty, the claims function looks it up once.
	EnvIoTDataEndpoint = "FLEETCLAIM_IOT_DATA_ENDPOINT"
	// EnvOnlineWithin is how soon a registered device must connect with its
	// own certificate (a Go duration) before the API shows it overdue.
	EnvOnlineWithin = "FLEETCLAIM_ONLINE_WITHIN"
	// EnvHookDeadline bounds the store calls of the pre-provisioning hook.
	EnvHookDeadline = "FLEETCLAIM_HOOK_DEADLINE"
	// EnvLogLevel is one of debug, info, warn, error.
	EnvLogLevel = "FLEETCLAIM_LOG_LEVEL"
	// EnvDynamoDBEndpoint overrides the DynamoDB endpoint (local and tests only).
	EnvDynamoDBEndpoint = "FLEETCLAIM_DYNAMODB_ENDPOINT"
	// EnvIoTEndpoint overrides the AWS IoT control-plane endpoint (local only).
	EnvIoTEndpoint = "FLEETCLAIM_IOT_ENDPOINT"
	// EnvCognitoEndpoint overrides the Cognito user pools endpoint (local only).
	EnvCognitoEndpoint = "FLEETCLAIM_COGNITO_ENDPOINT"
	// EnvUserPoolID is the Cognito user pool the admin routes manage.
	EnvUserPoolID = "FLEETCLAIM_USER_POOL_ID"
	// EnvAllowedOrigin is the installer app's web origin for CORS; empty
	// for native apps that need none.
	EnvAllowedOrigin = "FLEETCLAIM_ALLOWED_ORIGIN"
	// EnvMetricsNamespace is the CloudWatch namespace of the functions'
	// metrics (shared/metrics); empty for metrics.DefaultNamespace.
	EnvMetricsNamespace = "FLEETCLAIM_METRICS_NAMESPACE"
)

// Defaults used when an optional variable is unset.
const (
	DefaultClaimsPerHour  = 60
	DefaultClaimRetention = 7 * 24 * time.Hour
	DefaultHookDeadline   = 2 * time.Second
	DefaultOnlineWithin   = 15 * time.Minute

	// maxHookDeadline leaves AWS IoT's 5 s limit room for the answer itself.
	maxHookDeadline = 4 * time.Second
)

// Lookup reads one variable; os.LookupEnv in production, a map in tests.
type Lookup func(name string) (string, bool)

// Env is the process environment.
func Env() Lookup { return os.LookupEnv }

// Base is what every function is configured with: its table, its log level,
// a DynamoDB endpoint for a local stand-in and its metrics' namespace.
type Base struct {
	TableName        string
	LogLevel         string
	DynamoDBEndpoint string
	MetricsNamespace string
}

// Common returns the part of a function's configuration all functions share;
// the configurations embed Base, so each of them has this method.
func (b Base) Common() Base { return b }

// Claims is the configuration of the claims API function.
type Claims struct {
	Base
	DefaultTemplate  string
	AllowedTemplates []string
	ClaimsPerHour    int
	// RequestsPerMinute bounds each installer's API requests.
	RequestsPerMinute int
	ClaimRetention    time.Duration
	OnlineWithin      time.Duration
	IoTDataEndpoint   string
	UserPoolID        string
	AllowedOrigin     string
	IoTEndpoint       string
	CognitoEndpoint   string
}

// Trigger is the configuration of the Cognito trigger functions.
type Trigger struct {
	Base
	CognitoEndpoint string
}

// Hook is the configuration of the pre-provisioning hook function.
type Hook struct {
	Base
	HookDeadline time.Duration
}

// LoadClaims reads the claims function's configuration.
func LoadClaims(env Lookup) (Claims, error) {
	r := reader{env: env}
	c := Claims{
		Base:              r.base(),
		DefaultTemplate:   r.required(EnvTemplateName),
		UserPoolID:        r.required(EnvUserPoolID),
		ClaimsPerHour:     r.positiveInt(EnvClaimsPerHour, DefaultClaimsPerHour),
		RequestsPerMinute: r.positiveInt(EnvRequestsPerMinute, fleetclaim.DefaultRequestsPerMinute),
		ClaimRetention:    r.duration(EnvClaimRetention, DefaultClaimRetention),
		OnlineWithin:      r.duration(EnvOnlineWithin, DefaultOnlineWithin),
		IoTDataEndpoint:   r.optional(EnvIoTDataEndpoint),
		AllowedOrigin:     r.optional(EnvAllowedOrigin),
		IoTEndpoint:       r.optional(EnvIoTEndpoint),
		CognitoEndpoint:   r.optional(EnvCognitoEndpoint),
	}
	c.AllowedTemplates = templates(c.DefaultTemplate, r.optional(EnvAllowedTemplates))
	return c, r.err()
}

// LoadTrigger reads a Cognito trigger function's configuration.
func LoadTrigger(env Lookup) (Trigger, error) {
	r := reader{env: env}
	c := Trigger{
		Base:            r.base(),
		CognitoEndpoint: r.optional(EnvCognitoEndpoint),
	}
	return c, r.err()
}

// LoadHook reads the pre-provisioning hook function's configuration.
func LoadHook(env Lookup) (Hook, error) {
	r := reader{env: env}
	c := Hook{
		Base:         r.base(),
		HookDeadline: r.duration(EnvHookDeadline, DefaultHookDeadline),
	}
	if c.HookDeadline > maxHookDeadline {
		// AWS IoT gives the hook 5 s in all; leave room for the answer itself.
		r.fail(EnvHookDeadline, "must be at most 4s (AWS IoT allows the hook 5s)")
	}
	return c, r.err()
}

// base reads the variables every function has.
func (r *reader) base() Base {
	return Base{
		TableName:        r.required(EnvTableName),
		LogLevel:         r.optional(EnvLogLevel),
		DynamoDBEndpoint: r.optional(EnvDynamoDBEndpoint),
		MetricsNamespace: r.optional(EnvMetricsNamespace),
	}
}

func templates(def, list string) []string {
	out := []string{def}
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t != "" && t != def {
			out = append(out, t)
		}
	}
	return out
}

// reader collects every problem so that one start-up failure names them all.
type reader struct {
	env      Lookup
	problems []string
}

func (r *reader) fail(name, why string) {
	r.problems = append(r.problems, name+" "+why)
}

func (r *reader) optional(name string) string {
	v, _ := r.env(name)
	return strings.TrimSpace(v)
}

func (r *reader) required(name string) string {
	v := r.optional(name)
	if v == "" {
		r.fail(name, "is required")
	}
	return v
}

func (r *reader) positiveInt(name string, def int) int {
	v := r.optional(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail(name, fmt.Sprintf("must be a positive integer, got %q", v))
		return def
	}
	return n
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.optional(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, fmt.Sprintf("must be a positive Go duration such as 2s, got %q", v))
		return def
	}
	return d
}

func (r *reader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %s", strings.Join(r.problems, "; "))
}
