package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// Every template a claim may name is created by the stack with our hook and
// a permission for AWS IoT to call the hook for that template, and the
// claims function may mint claims for those templates only.
func TestEveryClaimableTemplateIsGuardedByTheHook(t *testing.T) {
	s := prodStack(t)
	hookID, _ := s.resource(t, "AWS::Lambda::Function", "ProvisionHook")
	hookARN := asJSON(getAtt(hookID, "Arn"))
	names := claimableTemplates(s.settings)
	if len(names) < 2 {
		t.Fatalf("the prod stack names %v; want an allowed template besides its own", names)
	}
	templates := map[string]map[string]any{}
	for id, r := range s.resources("AWS::IoT::ProvisioningTemplate") {
		p := props(r)
		templates[p["TemplateName"].(string)] = p
		if got := asJSON(p["PreProvisioningHook"].(map[string]any)["TargetArn"]); got != hookARN {
			t.Errorf("%s: hook %s, want %s", id, got, hookARN)
		}
	}
	permitted := map[string]bool{}
	for _, r := range s.resources("AWS::Lambda::Permission") {
		p := props(r)
		if asJSON(p["FunctionName"]) != hookARN {
			continue
		}
		arn := joined(p["SourceArn"])
		name := arn[strings.LastIndex(arn, "/")+1:]
		if !strings.HasSuffix(arn, ":provisioningtemplate/"+name) || p["Principal"] != "iot.amazonaws.com" {
			t.Errorf("hook permission for %s / %v", arn, p["Principal"])
		}
		permitted[name] = true
	}
	for _, name := range names {
		if templates[name] == nil || !permitted[name] {
			t.Errorf("template %s: created %v, hook permitted %v; want both", name, templates[name] != nil, permitted[name])
		}
	}
	if len(templates) != len(names) || len(permitted) != len(names) {
		t.Errorf("got templates %d and hook permissions %d, want %d each", len(templates), len(permitted), len(names))
	}
	_, claims := s.resource(t, "AWS::Lambda::Function", "Claims")
	env := props(claims)["Environment"].(map[string]any)["Variables"].(map[string]any)
	if got, want := env["FLEETCLAIM_ALLOWED_TEMPLATES"], strings.Join(s.settings.AllowedTemplates, ","); got != want {
		t.Errorf("claims function's allowed templates: got %v, want %v", got, want)
	}
}

// Synthesis stops when claims could name a template the stack does not
// create with the hook.
func TestTemplateCheckRefusesUnguardedTemplates(t *testing.T) {
	c := &templateCheck{names: []string{"fleetclaim-dev", "made-elsewhere"}}
	got := *c.Validate()
	if len(got) != 2 || !strings.Contains(*got[1], "made-elsewhere") {
		var msgs []string
		for _, m := range got {
			msgs = append(msgs, *m)
		}
		t.Errorf("got %q, want both templates refused", msgs)
	}
}

// Every role a service assumes names this account (aws:SourceAccount), and
// AWS IoT's role also the source ARNs it acts for.
func TestServiceRolesTrustOnlyThisAccount(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		roles := s.resources("AWS::IAM::Role")
		if len(roles) == 0 {
			t.Fatal("no roles")
		}
		for id, r := range roles {
			for _, st := range props(r)["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := st.(map[string]any)
				service, _ := st["Principal"].(map[string]any)["Service"].(string)
				cond, _ := st["Condition"].(map[string]any)
				equals, _ := cond["StringEquals"].(map[string]any)
				if got, want := asJSON(equals["aws:SourceAccount"]), asJSON(ref("AWS::AccountId")); got != want {
					t.Errorf("%s %s: trust of %s has aws:SourceAccount %s, want %s", s.settings.Stage, id, service, got, want)
				}
				like, _ := cond["ArnLike"].(map[string]any)
				source := ""
				if like["aws:SourceArn"] != nil {
					source = joined(like["aws:SourceArn"])
				}
				wantSource := map[string]string{
					"iot.amazonaws.com": "arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:*",
				}[service]
				if source != wantSource {
					t.Errorf("%s %s: trust of %s has aws:SourceArn %q, want %q", s.settings.Stage, id, service, source, wantSource)
				}
			}
		}
	}
}

// Devices' certificates hold the device policy, and AWS IoT refuses to
// delete an attached policy: a stage that keeps its data keeps the policy.
func TestDevicePolicyRetainedWithTheData(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		_, policy := s.resource(t, "AWS::IoT::Policy", "DevicePolicy")
		want := map[bool]any{true: "Retain", false: nil}[s.settings.RetainData]
		if policy["DeletionPolicy"] != want {
			t.Errorf("%s: device policy DeletionPolicy %v, want %v", s.settings.Stage, policy["DeletionPolicy"], want)
		}
	}
}

// MFA is required in prod (the pool-wide setting: the pre-token event does
// not say whether a user has MFA) and optional, by setting, in dev.
func TestMFAPerStage(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		_, pool := s.resource(t, "AWS::Cognito::UserPool", "UserPool")
		want := map[string]string{"prod": "ON", "dev": "OPTIONAL"}[s.settings.Stage]
		if got := props(pool)["MfaConfiguration"]; got != want {
			t.Errorf("%s: MfaConfiguration %v, want %s", s.settings.Stage, got, want)
		}
		if got := asJSON(props(pool)["EnabledMfas"]); got != `["SOFTWARE_TOKEN_MFA"]` {
			t.Errorf("%s: EnabledMfas %s, want TOTP only", s.settings.Stage, got)
		}
	}
}

// The optional web ACL: none in dev (the default), a rate-based rule per
// client IP on the API stage in prod (wafRateLimit 2000).
func TestWebACLIsASetting(t *testing.T) {
	if n := len(devStack(t).resources("AWS::WAFv2::WebACL")); n != 0 {
		t.Errorf("dev: got %d web ACLs, want none", n)
	}
	s := prodStack(t)
	aclID, _ := s.resource(t, "AWS::WAFv2::WebACL", "ApiWebACL")
	check(t, "rate-based rule", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::WAFv2::WebACL"), map[string]any{
			"Scope":         "REGIONAL",
			"DefaultAction": map[string]any{"Allow": map[string]any{}},
			"Rules": []any{assertions.Match_ObjectLike(&map[string]any{
				"Action": map[string]any{"Block": map[string]any{}},
				"Statement": map[string]any{"RateBasedStatement": map[string]any{
					"Limit": float64(s.settings.WAFRateLimit), "AggregateKeyType": "IP", "EvaluationWindowSec": float64(300)}},
			})},
		})
	})
	stageID, _ := s.resource(t, "AWS::ApiGateway::Stage", "ApiDeploymentStage"+apiStageName)
	_, assoc := s.resource(t, "AWS::WAFv2::WebACLAssociation", "ApiWebACLAssociation")
	if got := asJSON(props(assoc)["WebACLArn"]); got != asJSON(getAtt(aclID, "Arn")) {
		t.Errorf("association web ACL %s", got)
	}
	if got := joined(props(assoc)["ResourceArn"]); !strings.Contains(got, "/stages/<"+stageID+">") && !strings.Contains(got, "/stages/"+apiStageName) {
		t.Errorf("association resource %s is not the API stage", got)
	}
}

// The claims function gets each installer's allowance; the stage throttle
// is the one sized from the cost model.
func TestAvailabilitySettingsReachTheStack(t *testing.T) {
	s := prodStack(t)
	_, claims := s.resource(t, "AWS::Lambda::Function", "Claims")
	env := props(claims)["Environment"].(map[string]any)["Variables"].(map[string]any)
	if got := env["FLEETCLAIM_REQUESTS_PER_MINUTE"]; got != "120" {
		t.Errorf("FLEETCLAIM_REQUESTS_PER_MINUTE: got %v, want 120", got)
	}
	rate, burst := stageThrottle(s.settings.PeakInstallers, s.settings.ClaimsPerHour)
	if s.settings.ThrottleRate != rate || s.settings.ThrottleBurst != burst {
		t.Errorf("stage throttle %v/%d, want the sized %v/%d", s.settings.ThrottleRate, s.settings.ThrottleBurst, rate, burst)
	}
	if !slices.Contains([]string{"required"}, s.settings.MFA) {
		t.Errorf("prod MFA %q, want required", s.settings.MFA)
	}
}
