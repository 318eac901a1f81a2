package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// The stage throttle follows the cost model's requests per device for the
// fleet's peak (BENCHMARKS.md): peak × claims an hour × 2.005 / 3600 × 4.
func TestStageThrottle(t *testing.T) {
	tests := []struct {
		name                string
		peak, claimsPerHour int
		wantRate            float64
		wantBurst           int
	}{
		{"defaults", defaultPeakInstallers, config.DefaultClaimsPerHour, 34, 68},
		{"large fleet", 1000, 60, 134, 268},
		{"small fleet gets the floor", 5, 60, minThrottleRate, 2 * minThrottleRate},
	}
	for _, tt := range tests {
		rate, burst := stageThrottle(tt.peak, tt.claimsPerHour)
		if rate != tt.wantRate || burst != tt.wantBurst {
			t.Errorf("%s: got %v/%d, want %v/%d", tt.name, rate, burst, tt.wantRate, tt.wantBurst)
		}
	}
}

func TestSettingsFromContext(t *testing.T) {
	dev := Settings{
		Stage: "dev", Console: true, TemplateName: "fleetclaim-dev",
		ClaimsPerHour: config.DefaultClaimsPerHour, LogRetentionDays: defaultLogRetentionDays, LogLevel: defaultLogLevel,
		ThrottleRate: 34, ThrottleBurst: 68, APIGatewayCloudWatchRole: true,
		RequestsPerMinute: fleetclaim.DefaultRequestsPerMinute, PeakInstallers: defaultPeakInstallers, MFA: "optional",
		OnlineWithin: config.DefaultOnlineWithin,
	}
	with := func(f func(*Settings)) Settings { s := dev; f(&s); return s }

	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		want    Settings
		wantErr []string // substrings of the error; nil for none
	}{
		{name: "defaults", ctx: map[string]any{}, want: dev},
		{
			name: "command-line strings",
			ctx: map[string]any{ctxStage: "qa", ctxClaimsPerHour: "30", ctxLogRetentionDays: "90", ctxRetainData: "true",
				ctxThrottleRate: "2.5", ctxAPIGatewayCloudWatchRole: "false", ctxAllowedTemplates: `["old-one"]`,
				ctxTenants: `[{"id":"acme","autoApproveDomains":[" ACME.example "]}]`},
			want: with(func(s *Settings) {
				s.Stage, s.TemplateName, s.ClaimsPerHour, s.LogRetentionDays, s.RetainData = "qa", "fleetclaim-qa", 30, 90, true
				s.ThrottleRate, s.APIGatewayCloudWatchRole, s.AllowedTemplates = 2.5, false, []string{"old-one"}
				s.ThrottleBurst = 34 // sized for 30 claims an hour; the rate is given
				s.Tenants = []TenantSeed{{ID: "acme", Name: "acme", Status: "active", AutoApproveDomains: []string{"acme.example"}}}
			}),
		},
		{
			name: "cdk.json values",
			ctx: map[string]any{ctxClaimsPerHour: float64(10), ctxRetainData: true,
				ctxTenants: []any{map[string]any{"id": "globex", "name": "Globex", "status": "suspended", "claimsPerHour": float64(5)}}},
			want: with(func(s *Settings) {
				s.ClaimsPerHour, s.RetainData = 10, true
				s.ThrottleRate, s.ThrottleBurst = minThrottleRate, 2*minThrottleRate
				s.Tenants = []TenantSeed{{ID: "globex", Name: "Globex", Status: "suspended", ClaimsPerHour: 5}}
			}),
		},
		{
			name: "prod retains data and needs an https origin",
			ctx:  map[string]any{ctxStage: "prod", ctxAllowedOrigin: "https://installer.example.com"},
			want: with(func(s *Settings) {
				s.Stage, s.TemplateName, s.RetainData, s.AllowedOrigin = "prod", "fleetclaim-prod", true, "https://installer.example.com"
				s.MFA = "required"
			}),
		},
		{
			name: "availability and MFA settings",
			ctx: map[string]any{ctxRequestsPerMinute: "30", ctxPeakInstallers: float64(1000), ctxWAFRateLimit: "500",
				ctxMFA: "required"},
			want: with(func(s *Settings) {
				s.RequestsPerMinute, s.PeakInstallers, s.WAFRateLimit, s.MFA = 30, 1000, 500, "required"
				s.ThrottleRate, s.ThrottleBurst = 134, 268
			}),
		},
		{name: "prod may make MFA optional", ctx: map[string]any{ctxStage: "prod", ctxAllowedOrigin: "https://a.example", ctxMFA: "optional"},
			want: with(func(s *Settings) {
				s.Stage, s.TemplateName, s.AllowedOrigin, s.RetainData = "prod", "fleetclaim-prod", "https://a.example", true
			})},
		{name: "online within, from the command line", ctx: map[string]any{ctxOnlineWithin: " 45m "},
			want: with(func(s *Settings) { s.OnlineWithin = 45 * time.Minute })},
		{name: "online within, the bounds", ctx: map[string]any{ctxOnlineWithin: "168h"},
			want: with(func(s *Settings) { s.OnlineWithin = 168 * time.Hour })},
		{name: "online within, not a duration", ctx: map[string]any{ctxOnlineWithin: "soon"}, wantErr: []string{`onlineWithin must be a duration such as "15m", got "soon"`}},
		{name: "online within, a bare number", ctx: map[string]any{ctxOnlineWithin: float64(15)}, wantErr: []string{`onlineWithin must be a duration`}},
		{name: "online within, zero", ctx: map[string]any{ctxOnlineWithin: "0s"}, wantErr: []string{"onlineWithin must be between 1m0s and 168h0m0s, got 0s"}},
		{name: "online within, too short", ctx: map[string]any{ctxOnlineWithin: "59s"}, wantErr: []string{"onlineWithin must be between"}},
		{name: "online within, too long", ctx: map[string]any{ctxOnlineWithin: "169h"}, wantErr: []string{"onlineWithin must be between"}},
		{name: "unknown MFA mode", ctx: map[string]any{ctxMFA: "sms"}, wantErr: []string{"mfa must be required or optional"}},
		{name: "WAF limit below AWS's minimum", ctx: map[string]any{ctxWAFRateLimit: "5"}, wantErr: []string{"wafRateLimit must be 0"}},
		{name: "zero request allowance", ctx: map[string]any{ctxRequestsPerMinute: "0"}, wantErr: []string{"requestsPerMinute must be a positive"}},
		{name: "zero peak installers", ctx: map[string]any{ctxPeakInstallers: "0"}, wantErr: []string{"peakInstallers must be a positive"}},
		{name: "prod without origin or console", ctx: map[string]any{ctxStage: "prod", ctxConsole: "false"},
			wantErr: []string{"allowedOrigin is required for the prod stage when console is false"}},
		{name: "prod: the console's distribution is the origin", ctx: map[string]any{ctxStage: "prod"},
			want: with(func(s *Settings) {
				s.Stage, s.TemplateName, s.RetainData, s.MFA = "prod", "fleetclaim-prod", true, "required"
			})},
		{name: "no console: a local app's origin", ctx: map[string]any{ctxConsole: false},
			want: with(func(s *Settings) { s.Console, s.AllowedOrigin = false, defaultAllowedOrigin })},
		{name: "console on its own domain", ctx: map[string]any{ctxConsoleDomainName: " Console.Example.com ",
			ctxConsoleCertificateARN: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"},
			want: with(func(s *Settings) {
				s.ConsoleDomainName, s.AllowedOrigin = "console.example.com", "https://console.example.com"
				s.ConsoleCertificateARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
			})},
		{name: "console domain and another origin", ctx: map[string]any{ctxConsoleDomainName: "console.example.com",
			ctxConsoleCertificateARN: "arn:aws:acm:us-east-1:123456789012:certificate/abc", ctxAllowedOrigin: "https://app.example.com"},
			want: with(func(s *Settings) {
				s.ConsoleDomainName, s.AllowedOrigin = "console.example.com", "https://app.example.com"
				s.ConsoleCertificateARN = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
			})},
		{name: "console domain without certificate", ctx: map[string]any{ctxConsoleDomainName: "console.example.com"},
			wantErr: []string{"consoleDomainName and consoleCertificateArn must be set together"}},
		{name: "console certificate outside us-east-1", ctx: map[string]any{ctxConsoleDomainName: "console.example.com",
			ctxConsoleCertificateARN: "arn:aws:acm:eu-west-1:123456789012:certificate/abc"},
			wantErr: []string{"consoleCertificateArn must be an ACM certificate ARN in us-east-1"}},
		{name: "console domain not a domain", ctx: map[string]any{ctxConsoleDomainName: "https://console.example.com",
			ctxConsoleCertificateARN: "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
			wantErr: []string{"consoleDomainName must be an ASCII domain name"}},
		{name: "console domain without the console", ctx: map[string]any{ctxConsole: "false", ctxConsoleDomainName: "console.example.com",
			ctxConsoleCertificateARN: "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
			wantErr: []string{"consoleDomainName and consoleCertificateArn apply only when console is true"}},
		{name: "prod may opt out of retention", ctx: map[string]any{ctxStage: "prod", ctxAllowedOrigin: "https://a.example", ctxRetainData: false},
			want: with(func(s *Settings) {
				s.Stage, s.TemplateName, s.AllowedOrigin, s.MFA = "prod", "fleetclaim-prod", "https://a.example", "required"
			})},
		{name: "http origin beyond localhost", ctx: map[string]any{ctxAllowedOrigin: "http://installer.example.com"}, wantErr: []string{"must use https"}},
		{name: "http localhost in prod", ctx: map[string]any{ctxStage: "prod", ctxAllowedOrigin: "http://localhost:3000"}, wantErr: []string{"must use https"}},
		{name: "origin with a path", ctx: map[string]any{ctxAllowedOrigin: "https://a.example/app"}, wantErr: []string{"must be an origin"}},
		{name: "bad stage", ctx: map[string]any{ctxStage: "Prod_1"}, wantErr: []string{"stage must match"}},
		{name: "template name too long", ctx: map[string]any{ctxTemplateName: strings.Repeat("t", 37)}, wantErr: []string{"templateName"}},
		{name: "bad allowed template", ctx: map[string]any{ctxAllowedTemplates: `["a b"]`}, wantErr: []string{"allowedTemplates"}},
		{name: "retention CloudWatch lacks", ctx: map[string]any{ctxLogRetentionDays: float64(31)}, wantErr: []string{"logRetentionDays must be one of"}},
		{name: "fractional quota", ctx: map[string]any{ctxClaimsPerHour: 1.5}, wantErr: []string{"whole number"}},
		{name: "zero quota", ctx: map[string]any{ctxClaimsPerHour: "0"}, wantErr: []string{"claimsPerHour must be a positive"}},
		{name: "log level", ctx: map[string]any{ctxLogLevel: "trace"}, wantErr: []string{"logLevel"}},
		{name: "wrong type", ctx: map[string]any{ctxRetainData: "maybe"}, wantErr: []string{"retainData must be true or false"}},
		{
			name: "tenant problems are all reported",
			ctx: map[string]any{ctxTenants: `[{"id":"Acme"},{"id":"ok","status":"gone"},{"id":"ok"},` +
				`{"id":"d","autoApproveDomains":["a@b.example"]},{"id":"q","claimsPerHour":-1}]`},
			wantErr: []string{`id "Acme"`, `"ok": status must be`, `id "ok" appears twice`, `"a@b.example" is not an ASCII domain`, `"q": claimsPerHour`},
		},
		{
			name:    "look-alike auto-approve domain",
			ctx:     map[string]any{ctxTenants: `[{"id":"b","autoApproveDomains":["b\u0130gcorp.example","xn--bcher-kva.example"]}]`},
			wantErr: []string{"\"b\u0130gcorp.example\" is not an ASCII domain"},
		},
		{
			name:    "public mail provider as auto-approve domain",
			ctx:     map[string]any{ctxTenants: `[{"id":"a","autoApproveDomains":["a.example","Outlook.com"]}]`},
			wantErr: []string{`"Outlook.com" is a public mail provider`},
		},
		{name: "unknown tenant field", ctx: map[string]any{ctxTenants: `[{"id":"a","domains":["x"]}]`}, wantErr: []string{`unknown field "domains"`}},
		{name: "tenants not JSON", ctx: map[string]any{ctxTenants: `acme`}, wantErr: []string{"tenants must be JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SettingsFromContext(func(key string) any { return tc.ctx[key] })
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("got no error, want one mentioning %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// cdk.json is what the CLI runs with; the app and the tests read its
// context as defaults, so it must parse and yield a valid configuration.
func TestCDKJSONContextIsValid(t *testing.T) {
	ctx := *defaultContext()
	if len(ctx) < 50 {
		t.Errorf("cdk.json has %d context values; want the recommended feature flags", len(ctx))
	}
	if _, err := SettingsFromContext(func(key string) any { return ctx[key] }); err != nil {
		t.Error(err)
	}
}
