package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Context keys: every deployment choice is a CDK context value, set in
// cdk.json or on the command line (cdk deploy -c stage=prod -c ...).
// DEPLOY.md documents each one.
const (
	ctxStage                    = "stage"
	ctxRetainData               = "retainData"
	ctxAllowedOrigin            = "allowedOrigin"
	ctxTemplateName             = "templateName"
	ctxAllowedTemplates         = "allowedTemplates"
	ctxClaimsPerHour            = "claimsPerHour"
	ctxRequestsPerMinute        = "requestsPerMinute"
	ctxPeakInstallers           = "peakInstallers"
	ctxMFA                      = "mfa"
	ctxWAFRateLimit             = "wafRateLimit"
	ctxLogRetentionDays         = "logRetentionDays"
	ctxLogLevel                 = "logLevel"
	ctxThrottleRate             = "throttleRate"
	ctxThrottleBurst            = "throttleBurst"
	ctxAPIGatewayCloudWatchRole = "apiGatewayCloudWatchRole"
	ctxTenants                  = "tenants"
	ctxAssetDir                 = "assetDir"
	ctxOnlineWithin             = "onlineWithin"
	ctxConsole                  = "console"
	ctxConsoleDomainName        = "consoleDomainName"
	ctxConsoleCertificateARN    = "consoleCertificateArn"
)

// Defaults for settings the context leaves out.
const (
	defaultStage            = "dev"
	defaultAllowedOrigin    = "http://localhost:3000"
	defaultLogRetentionDays = 30
	defaultLogLevel         = "info"
	prodStage               = "prod"
	mfaRequired             = "required"
	mfaOptional             = "optional"
	minWAFRateLimit         = 10 // AWS WAF's smallest rate-based limit per evaluation window
	// A device needs a minute at least to boot on its new certificate and
	// connect; past a week, "overdue" would no longer tell a fleet operator
	// anything in time.
	minOnlineWithin = time.Minute
	maxOnlineWithin = 7 * 24 * time.Hour
)

// Settings are one deployment's choices. One app serves every stage; the
// stage name picks the resource names and, unless overridden, whether data
// survives the stack.
type Settings struct {
	// Stage names the deployment (dev, prod, ...): [a-z][a-z0-9-]{0,15}.
	Stage string
	// RetainData keeps the table and the user pool (with deletion
	// protection) and the log groups when the stack is deleted. It defaults
	// to true for the "prod" stage only.
	RetainData bool
	// AllowedOrigin is the installer app's origin, for CORS. Left empty
	// when the stack deploys the console at its distribution's own name:
	// the stack then uses that https origin, known only at deploy time.
	AllowedOrigin string
	// Console deploys the installer and admin console (shared/console) to
	// a private S3 bucket behind CloudFront; on by default. Teams that ship
	// their own app turn it off.
	Console bool
	// ConsoleDomainName and ConsoleCertificateARN, set together, serve the
	// console at https://<ConsoleDomainName> with that ACM certificate
	// (which CloudFront requires in us-east-1) and TLS 1.2 at least; that
	// origin is then the default AllowedOrigin. Unset, the console is at
	// its distribution's *.cloudfront.net name.
	ConsoleDomainName     string
	ConsoleCertificateARN string
	// TemplateName is the fleet provisioning template this stack creates.
	TemplateName string
	// AllowedTemplates are further, existing templates installers may ask
	// claims for; the claims function may create claims for these only.
	AllowedTemplates []string
	// ClaimsPerHour is the default per-installer quota.
	ClaimsPerHour int
	// RequestsPerMinute is each installer's API allowance (all routes).
	RequestsPerMinute int
	// PeakInstallers is how many installers may work at the same time; it
	// sizes the stage throttle (stageThrottle) unless ThrottleRate is set.
	PeakInstallers int
	// MFA is the user pool's MFA setting, "required" or "optional" (TOTP
	// only). Required by default in prod: admins approve installers, and
	// the pre-token event does not say whether a user has MFA, so the pool
	// requires it of everyone (SECURITY.md).
	MFA string
	// WAFRateLimit, when positive, puts an AWS WAF web ACL in front of the
	// API with a rate-based rule: at most this many requests per client IP
	// address in any 5 minutes. Zero: no web ACL (it has a monthly fee).
	WAFRateLimit int
	// LogRetentionDays is how long every log group keeps its events.
	LogRetentionDays int
	// LogLevel is the functions' log level.
	LogLevel string
	// ThrottleRate and ThrottleBurst bound the whole API stage.
	ThrottleRate  float64
	ThrottleBurst int
	// APIGatewayCloudWatchRole makes the stack set the account's (regional)
	// API Gateway CloudWatch Logs role, which access logging needs. Turn it
	// off where the account already has one.
	APIGatewayCloudWatchRole bool
	// OnlineWithin is how soon a registered device must connect with its own
	// certificate before the API shows it overdue (the claims function's
	// FLEETCLAIM_ONLINE_WITHIN).
	OnlineWithin time.Duration
	// Tenants are seeded into the table at deploy time.
	Tenants []TenantSeed
	// AlarmTopicARN is the SNS topic the alarms notify; "" for none
	// (see ctxAlarmTopicARN).
	AlarmTopicARN string
}

// TenantSeed is one tenant from the "tenants" context value.
type TenantSeed struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Status             string   `json:"status,omitempty"`
	AutoApproveDomains []string `json:"autoApproveDomains,omitempty"`
	// ClaimsPerHour overrides the deployment's quota when > 0.
	ClaimsPerHour int `json:"claimsPerHour,omitempty"`
	// InstallersMayDecommission lets the tenant's installers decommission
	// the devices they provisioned (admins always may).
	InstallersMayDecommission bool `json:"installersMayDecommission,omitempty"`
}

var stagePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// retentionByDays maps the retention periods CloudWatch Logs accepts to the
// CDK's enumeration.
var retentionByDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

// Context reads one context value; nil when unset. Values from cdk.json keep
// their JSON type, values from `-c key=value` are strings: readers accept both.
type Context func(key string) any

// SettingsFromContext reads and checks every setting, reporting all problems
// at once.
func SettingsFromContext(ctx Context) (Settings, error) {
	r := contextReader{get: ctx}
	s := Settings{
		Stage:                    r.str(ctxStage, defaultStage),
		AllowedOrigin:            r.str(ctxAllowedOrigin, ""),
		ClaimsPerHour:            r.integer(ctxClaimsPerHour, config.DefaultClaimsPerHour),
		RequestsPerMinute:        r.integer(ctxRequestsPerMinute, fleetclaim.DefaultRequestsPerMinute),
		PeakInstallers:           r.integer(ctxPeakInstallers, defaultPeakInstallers),
		WAFRateLimit:             r.integer(ctxWAFRateLimit, 0),
		LogRetentionDays:         r.integer(ctxLogRetentionDays, defaultLogRetentionDays),
		LogLevel:                 r.str(ctxLogLevel, defaultLogLevel),
		APIGatewayCloudWatchRole: r.boolean(ctxAPIGatewayCloudWatchRole, true),
		AlarmTopicARN:            r.str(ctxAlarmTopicARN, ""),
		OnlineWithin:             r.duration(ctxOnlineWithin, config.DefaultOnlineWithin),
		Console:                  r.boolean(ctxConsole, true),
		ConsoleDomainName:        r.str(ctxConsoleDomainName, ""),
		ConsoleCertificateARN:    r.str(ctxConsoleCertificateARN, ""),
	}
	checkAlarmTopic(&r, s.AlarmTopicARN)
	r.decode(ctxAllowedTemplates, &s.AllowedTemplates)
	r.decode(ctxTenants, &s.Tenants)

	if !stagePattern.MatchString(s.Stage) {
		r.fail(ctxStage, "must match %s, got %q", stagePattern, s.Stage)
	}
	prod := s.Stage == prodStage
	s.RetainData = r.boolean(ctxRetainData, prod)
	s.MFA = r.str(ctxMFA, map[bool]string{true: mfaRequired, false: mfaOptional}[prod])
	if s.MFA != mfaRequired && s.MFA != mfaOptional {
		r.fail(ctxMFA, "must be %s or %s, got %q", mfaRequired, mfaOptional, s.MFA)
	}
	if s.RequestsPerMinute <= 0 {
		r.fail(ctxRequestsPerMinute, "must be a positive integer")
	}
	if s.PeakInstallers <= 0 {
		r.fail(ctxPeakInstallers, "must be a positive integer")
	}
	if s.OnlineWithin < minOnlineWithin || s.OnlineWithin > maxOnlineWithin {
		r.fail(ctxOnlineWithin, "must be between %v and %v, got %v", minOnlineWithin, maxOnlineWithin, s.OnlineWithin)
	}
	if s.WAFRateLimit != 0 && s.WAFRateLimit < minWAFRateLimit {
		r.fail(ctxWAFRateLimit, "must be 0 (no web ACL) or at least %d", minWAFRateLimit)
	}
	s.TemplateName = r.str(ctxTemplateName, "fleetclaim-"+s.Stage)
	if err := fleetclaim.ValidateTemplateName(s.TemplateName); err != nil {
		r.fail(ctxTemplateName, "%s", fleetclaim.ErrorOf(err).Message)
	}
	for _, t := range s.AllowedTemplates {
		if err := fleetclaim.ValidateTemplateName(t); err != nil {
			r.fail(ctxAllowedTemplates, "%q %s", t, fleetclaim.ErrorOf(err).Message)
		}
	}
	checkConsoleDomain(&r, &s)
	switch {
	case s.AllowedOrigin == "" && s.ConsoleDomainName != "":
		s.AllowedOrigin = "https://" + s.ConsoleDomainName
	case s.AllowedOrigin == "" && s.Console:
		// The console's distribution (NewFleetclaimStack).
	case s.AllowedOrigin == "":
		if prod {
			r.fail(ctxAllowedOrigin, "is required for the %s stage when %s is false", prodStage, ctxConsole)
		}
		s.AllowedOrigin = defaultAllowedOrigin
	default:
		if err := checkOrigin(s.AllowedOrigin, prod); err != nil {
			r.fail(ctxAllowedOrigin, "%v", err)
		}
	}
	if s.ClaimsPerHour <= 0 {
		r.fail(ctxClaimsPerHour, "must be a positive integer")
	}
	if _, ok := retentionByDays[s.LogRetentionDays]; !ok {
		r.fail(ctxLogRetentionDays, "must be one of %v", slices.Sorted(maps.Keys(retentionByDays)))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, s.LogLevel) {
		r.fail(ctxLogLevel, "must be debug, info, warn or error")
	}
	rate, burst := stageThrottle(s.PeakInstallers, max(s.ClaimsPerHour, 1))
	s.ThrottleRate = r.number(ctxThrottleRate, rate)
	s.ThrottleBurst = r.integer(ctxThrottleBurst, burst)
	if s.ThrottleRate <= 0 || s.ThrottleBurst <= 0 {
		r.fail(ctxThrottleRate, "and %s must be positive", ctxThrottleBurst)
	}
	seen := map[string]bool{}
	for i := range s.Tenants {
		t := &s.Tenants[i]
		if err := fleetclaim.ValidateTenantID(fleetclaim.TenantID(t.ID)); err != nil {
			r.fail(ctxTenants, "id %q %s", t.ID, fleetclaim.ErrorOf(err).Message)
		}
		if seen[t.ID] {
			r.fail(ctxTenants, "id %q appears twice", t.ID)
		}
		seen[t.ID] = true
		if t.Name == "" {
			t.Name = t.ID
		}
		if t.Status == "" {
			t.Status = string(fleetclaim.TenantActive)
		}
		if t.Status != string(fleetclaim.TenantActive) && t.Status != string(fleetclaim.TenantSuspended) {
			r.fail(ctxTenants, "%q: status must be %s or %s", t.ID, fleetclaim.TenantActive, fleetclaim.TenantSuspended)
		}
		if t.ClaimsPerHour < 0 {
			r.fail(ctxTenants, "%q: claimsPerHour must not be negative", t.ID)
		}
		for j, given := range t.AutoApproveDomains {
			d, err := fleetclaim.ParseDomain(strings.TrimSpace(given))
			if err != nil {
				r.fail(ctxTenants, "%q: autoApproveDomains entry %q is not an ASCII domain name (write internationalized domains in their xn-- form)", t.ID, given)
			}
			if fleetclaim.IsPublicMailDomain(d) {
				r.fail(ctxTenants, "%q: autoApproveDomains entry %q is a public mail provider; anyone can get an address there", t.ID, given)
			}
			t.AutoApproveDomains[j] = d
		}
	}
	return s, r.err()
}

// certificateARNPattern is an ACM certificate in us-east-1, the only
// Region whose certificates CloudFront uses.
var certificateARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[A-Za-z0-9-]+$`)

// checkConsoleDomain checks the console's custom domain settings: both or
// neither, a domain name and a us-east-1 certificate, and only with the
// console on.
func checkConsoleDomain(r *contextReader, s *Settings) {
	name, cert := s.ConsoleDomainName, s.ConsoleCertificateARN
	if name == "" && cert == "" {
		return
	}
	if !s.Console {
		r.fail(ctxConsoleDomainName, "and %s apply only when %s is true", ctxConsoleCertificateARN, ctxConsole)
	}
	if (name == "") != (cert == "") {
		r.fail(ctxConsoleDomainName, "and %s must be set together", ctxConsoleCertificateARN)
	}
	if name != "" {
		d, err := fleetclaim.ParseDomain(name)
		if err != nil {
			r.fail(ctxConsoleDomainName, "must be an ASCII domain name such as console.example.com, got %q", name)
		}
		s.ConsoleDomainName = d
	}
	if cert != "" && !certificateARNPattern.MatchString(cert) {
		r.fail(ctxConsoleCertificateARN, "must be an ACM certificate ARN in us-east-1 (CloudFront uses no other Region's), got %q", cert)
	}
}

// checkOrigin accepts a bare origin (scheme://host[:port]) over https, or,
// outside production, http://localhost for development: the same rule
// Cognito applies to the app client's callback URLs.
func checkOrigin(origin string, prod bool) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("must be an origin such as https://installer.example.com, got %q", origin)
	}
	localhost := u.Hostname() == "localhost"
	if u.Scheme != "https" && (prod || u.Scheme != "http" || !localhost) {
		return fmt.Errorf("must use https (http only for localhost, outside %s), got %q", prodStage, origin)
	}
	return nil
}

// contextReader converts context values, collecting every problem.
type contextReader struct {
	get      Context
	problems []string
}

func (r *contextReader) fail(key, format string, args ...any) {
	r.problems = append(r.problems, key+" "+fmt.Sprintf(format, args...))
}

func (r *contextReader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New("context: " + strings.Join(r.problems, "; "))
}

func (r *contextReader) str(key, def string) string {
	switch v := r.get(key).(type) {
	case nil:
		return def
	case string:
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
		return def
	default:
		r.fail(key, "must be a string, got %v", v)
		return def
	}
}

func (r *contextReader) number(key string, def float64) float64 {
	switch v := r.get(key).(type) {
	case nil:
		return def
	case float64:
		return v
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			r.fail(key, "must be a number, got %q", v)
			return def
		}
		return n
	default:
		r.fail(key, "must be a number, got %v", v)
		return def
	}
}

func (r *contextReader) integer(key string, def int) int {
	n := r.number(key, float64(def))
	if n != float64(int(n)) {
		r.fail(key, "must be a whole number, got %v", n)
		return def
	}
	return int(n)
}

// duration reads a Go duration such as "15m", from cdk.json or the command
// line alike.
func (r *contextReader) duration(key string, def time.Duration) time.Duration {
	v := r.get(key)
	if v == nil {
		return def
	}
	str, ok := v.(string)
	if !ok {
		r.fail(key, "must be a duration such as \"15m\", got %v", v)
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(str))
	if err != nil {
		r.fail(key, "must be a duration such as \"15m\", got %q", str)
		return def
	}
	return d
}

func (r *contextReader) boolean(key string, def bool) bool {
	switch v := r.get(key).(type) {
	case nil:
		return def
	case bool:
		return v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			r.fail(key, "must be true or false, got %q", v)
			return def
		}
		return b
	default:
		r.fail(key, "must be true or false, got %v", v)
		return def
	}
}

// decode reads a JSON value: a JSON string from the command line, or the
// structure itself from cdk.json.
func (r *contextReader) decode(key string, into any) {
	v := r.get(key)
	if v == nil {
		return
	}
	raw, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			r.fail(key, "cannot be read: %v", err)
			return
		}
		raw = string(b)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		r.fail(key, "must be JSON of the documented shape: %v", err)
	}
}
