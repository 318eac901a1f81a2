package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/cognitotrigger"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

func TestNagFindsNothingUnsuppressed(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		for _, e := range s.errors {
			t.Errorf("%s: %s", s.settings.Stage, e)
		}
	}
}

// Every suppression must say why; cdk-nag itself only asks for 10 characters.
func TestNagSuppressionsGiveReasons(t *testing.T) {
	s := prodStack(t)
	count := 0
	for id, r := range s.template["Resources"].(map[string]any) {
		md, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := md["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, rule := range rules {
			count++
			rule := rule.(map[string]any)
			if reason, _ := rule["reason"].(string); len(reason) < 60 {
				t.Errorf("%s: suppression of %v has too thin a reason: %q", id, rule["id"], reason)
			}
		}
	}
	if count == 0 {
		t.Error("found no suppressions: did the metadata move?")
	}
}

// apiPaths maps each API Gateway resource's logical ID to its full path.
func apiPaths(s *synthesized) map[string]string {
	res := s.resources("AWS::ApiGateway::Resource")
	paths := map[string]string{}
	var pathOf func(id string) string
	pathOf = func(id string) string {
		if p, ok := paths[id]; ok {
			return p
		}
		p := props(res[id])
		parent := ""
		if r, ok := p["ParentId"].(map[string]any)["Ref"].(string); ok {
			parent = pathOf(r)
		}
		paths[id] = parent + "/" + p["PathPart"].(string)
		return paths[id]
	}
	for id := range res {
		pathOf(id)
	}
	return paths
}

func TestEveryRouteIsAMethodBehindTheAuthorizerWithItsScope(t *testing.T) {
	s := devStack(t)
	authorizerID, authorizer := s.resource(t, "AWS::ApiGateway::Authorizer", "ApiAuthorizer")
	poolID, _ := s.resource(t, "AWS::Cognito::UserPool", "UserPool")
	claimsID, _ := s.resource(t, "AWS::Lambda::Function", "Claims")
	if got, want := asJSON(props(authorizer)["ProviderARNs"]), asJSON([]any{getAtt(poolID, "Arn")}); got != want {
		t.Errorf("authorizer pools: got %s, want %s", got, want)
	}
	if got := props(authorizer)["Type"]; got != "COGNITO_USER_POOLS" {
		t.Errorf("authorizer type: got %v, want COGNITO_USER_POOLS", got)
	}

	paths := apiPaths(s)
	type method struct {
		path, verb string
		props      map[string]any
	}
	methods := map[string]method{}
	for _, r := range s.resources("AWS::ApiGateway::Method") {
		p := props(r)
		path := "/"
		if ref, ok := p["ResourceId"].(map[string]any)["Ref"].(string); ok {
			path = paths[ref]
		}
		key := p["HttpMethod"].(string) + " " + path
		if _, dup := methods[key]; dup {
			t.Errorf("%s: method defined twice", key)
		}
		methods[key] = method{path: path, verb: p["HttpMethod"].(string), props: p}
	}

	models := 0
	for _, r := range apigw.Routes {
		key := r.Method + " " + r.Path
		m, ok := methods[key]
		if !ok {
			t.Errorf("%s: no method", key)
			continue
		}
		delete(methods, key)
		if got := m.props["AuthorizationType"]; got != "COGNITO_USER_POOLS" {
			t.Errorf("%s: authorization type got %v, want COGNITO_USER_POOLS", key, got)
		}
		if got, want := asJSON(m.props["AuthorizerId"]), asJSON(ref(authorizerID)); got != want {
			t.Errorf("%s: authorizer got %s, want %s", key, got, want)
		}
		if got, want := asJSON(m.props["AuthorizationScopes"]), asJSON([]string{r.Scope}); got != want {
			t.Errorf("%s: scopes got %s, want %s", key, got, want)
		}
		if got := m.props["OperationName"]; got != r.Operation {
			t.Errorf("%s: operation got %v, want %s", key, got, r.Operation)
		}
		integration := m.props["Integration"].(map[string]any)
		if integration["Type"] != "AWS_PROXY" || !strings.Contains(asJSON(integration["Uri"]), asJSON(getAtt(claimsID, "Arn"))) {
			t.Errorf("%s: integration is not a Lambda proxy to the claims function: %s", key, asJSON(integration))
		}
		if m.props["RequestValidatorId"] == nil {
			t.Errorf("%s: no request validator", key)
		}
		_, hasModel := m.props["RequestModels"]
		if hasModel {
			models++
		}
		if want := r.Operation == issueClaimOperation; hasModel != want {
			t.Errorf("%s: request model present %v, want %v", key, hasModel, want)
		}
	}
	if models != 1 {
		t.Errorf("%d methods have a request model, want 1 (operation %s)", models, issueClaimOperation)
	}
	// What is left must be CORS preflights: answered by API Gateway itself
	// (a mock), and the only methods without the authorizer.
	for key, m := range methods {
		if m.verb != "OPTIONS" {
			t.Errorf("%s: method not in apigw.Routes", key)
			continue
		}
		if m.props["Integration"].(map[string]any)["Type"] != "MOCK" {
			t.Errorf("%s: preflight reaches an integration: %s", key, asJSON(m.props["Integration"]))
		}
	}
}

func TestAPIStageGatewayResponsesAndValidation(t *testing.T) {
	s := devStack(t)
	_, stage := s.resource(t, "AWS::ApiGateway::Stage", "ApiDeploymentStage"+apiStageName)
	p := props(stage)
	if p["StageName"] != apiStageName {
		t.Errorf("stage name: got %v, want %s", p["StageName"], apiStageName)
	}
	settings := p["MethodSettings"].([]any)[0].(map[string]any)
	want := map[string]any{"DataTraceEnabled": false, "LoggingLevel": "ERROR",
		"ThrottlingRateLimit": s.settings.ThrottleRate, "ThrottlingBurstLimit": float64(s.settings.ThrottleBurst)}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("method settings %s: got %v, want %v", k, settings[k], v)
		}
	}
	logs := p["AccessLogSetting"].(map[string]any)
	var format map[string]string
	if err := json.Unmarshal([]byte(logs["Format"].(string)), &format); err != nil || format["requestId"] == "" {
		t.Errorf("access log format is not a JSON object with requestId: %v %q", err, logs["Format"])
	}
	if logs["DestinationArn"] == nil {
		t.Error("no access log destination")
	}

	_, validator := s.resource(t, "AWS::ApiGateway::RequestValidator", "ApiValidator")
	if vp := props(validator); vp["ValidateRequestBody"] != true || vp["ValidateRequestParameters"] != true {
		t.Errorf("validator: got %s", asJSON(vp))
	}

	// The template carries apigw.GatewayResponses, the list the local API
	// stand-in answers with, and nothing else.
	responses := s.resources("AWS::ApiGateway::GatewayResponse")
	byType := map[string]map[string]any{}
	for _, r := range responses {
		p := props(r)
		byType[fmt.Sprint(p["ResponseType"])] = p
	}
	if len(responses) != len(apigw.GatewayResponses) || len(byType) != len(responses) {
		t.Errorf("got %d gateway responses of %d types, want the %d of apigw.GatewayResponses", len(responses), len(byType),
			len(apigw.GatewayResponses))
	}
	for _, r := range apigw.GatewayResponses {
		p, ok := byType[r.Type]
		if !ok {
			t.Errorf("%s: not deployed", r.Type)
			continue
		}
		wantStatus := any(nil)
		if r.Status != 0 {
			wantStatus = strconv.Itoa(r.Status)
		}
		if p["StatusCode"] != wantStatus {
			t.Errorf("%s: got status %v, want %v", r.Type, p["StatusCode"], wantStatus)
		}
		// The dev stack's origin is its console's (TestConsoleIsTheAPIsOrigin).
		wantHeaders := map[string]string{}
		for name, value := range r.Headers(consoleOrigin(t, s)) {
			wantHeaders["gatewayresponse.header."+name] = "'" + value + "'"
		}
		gotHeaders := map[string]string{}
		for name, value := range p["ResponseParameters"].(map[string]any) {
			gotHeaders[name] = render(value)
		}
		if !reflect.DeepEqual(gotHeaders, wantHeaders) {
			t.Errorf("%s: got headers %s, want %s", r.Type, asJSON(gotHeaders), asJSON(wantHeaders))
		}
		wantTemplates := map[string]any{"application/json": r.Template()}
		if got := p["ResponseTemplates"]; !reflect.DeepEqual(got, wantTemplates) {
			t.Errorf("%s: got templates %s, want %s", r.Type, asJSON(got), asJSON(wantTemplates))
		}
	}
}

func TestTriggersAreWiredWithTheV2PreTokenEvent(t *testing.T) {
	s := devStack(t)
	postID, _ := s.resource(t, "AWS::Lambda::Function", "PostConfirm")
	preID, _ := s.resource(t, "AWS::Lambda::Function", "PreToken")
	check(t, "user pool triggers", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			"LambdaConfig": assertions.Match_ObjectEquals(&map[string]any{
				"PostConfirmation": getAtt(postID, "Arn"),
				"PreTokenGenerationConfig": map[string]any{
					"LambdaArn":     getAtt(preID, "Arn"),
					"LambdaVersion": "V2_0",
				},
			}),
		})
	})
	poolID, _ := s.resource(t, "AWS::Cognito::UserPool", "UserPool")
	for _, fn := range []string{postID, preID} {
		check(t, "cognito may invoke "+fn, func() {
			s.assert.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
				"FunctionName": getAtt(fn, "Arn"),
				"Principal":    "cognito-idp.amazonaws.com",
				"SourceArn":    getAtt(poolID, "Arn"),
			})
		})
	}
}

func TestUserPoolAndClient(t *testing.T) {
	s := devStack(t)
	check(t, "user pool", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			"UserPoolTier":           "ESSENTIALS",
			"UsernameAttributes":     []any{"email"},
			"AutoVerifiedAttributes": []any{"email"},
			"MfaConfiguration":       "OPTIONAL",
			"UsernameConfiguration":  map[string]any{"CaseSensitive": false},
			"EnabledMfas":            []any{"SOFTWARE_TOKEN_MFA"},
			"AdminCreateUserConfig":  map[string]any{"AllowAdminCreateUserOnly": false},
			"DeletionProtection":     "INACTIVE",
			"Schema": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Name": tenantAttribute, "AttributeDataType": "String", "Mutable": false,
			})}),
			"Policies": map[string]any{"PasswordPolicy": assertions.Match_ObjectLike(&map[string]any{
				"MinimumLength": 12, "RequireLowercase": true, "RequireUppercase": true,
				"RequireNumbers": true, "RequireSymbols": true,
			})},
		})
	})
	var groups []string
	for _, g := range s.resources("AWS::Cognito::UserPoolGroup") {
		groups = append(groups, props(g)["GroupName"].(string))
	}
	// No "installers" group: approval is the installer record.
	if slices.Sort(groups); !slices.Equal(groups, []string{fleetclaim.GroupAdmins, fleetclaim.GroupPlatformAdmins}) {
		t.Errorf("groups: got %v, want admins and platform-admins only", groups)
	}
	check(t, "resource server", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolResourceServer"), map[string]any{
			"Identifier": fleetclaim.ResourceServer,
			"Scopes": []any{
				map[string]any{"ScopeName": "claims", "ScopeDescription": assertions.Match_AnyValue()},
				map[string]any{"ScopeName": "admin", "ScopeDescription": assertions.Match_AnyValue()},
			},
		})
	})
	// SRP and refresh only: no flow sends Cognito a password.
	check(t, "installer app client", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
			"GenerateSecret":             false,
			"ExplicitAuthFlows":          []any{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"},
			"EnableTokenRevocation":      true,
			"PreventUserExistenceErrors": "ENABLED",
			"AccessTokenValidity":        60,
			"IdTokenValidity":            60,
			"TokenValidityUnits":         map[string]any{"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
			"AllowedOAuthFlows":          []any{"code"},
			"WriteAttributes":            []any{"custom:" + tenantAttribute, "email"},
		})
	})
	_, client := s.resource(t, "AWS::Cognito::UserPoolClient", "UserPoolInstallerApp")
	// The local stand-in allows config.AppClientAuthFlows: the deployed
	// client must allow exactly those.
	var flows, wantFlows []string
	for _, f := range props(client)["ExplicitAuthFlows"].([]any) {
		flows = append(flows, f.(string))
	}
	for _, f := range config.AppClientAuthFlows() {
		wantFlows = append(wantFlows, "ALLOW_"+f)
	}
	if slices.Sort(flows); !slices.Equal(flows, slices.Sorted(slices.Values(wantFlows))) {
		t.Errorf("ExplicitAuthFlows: got %v, want config.AppClientAuthFlows %v", flows, wantFlows)
	}
	serverID, _ := s.resource(t, "AWS::Cognito::UserPoolResourceServer", "UserPoolResourceServer")
	var scopes []string
	for _, sc := range props(client)["AllowedOAuthScopes"].([]any) {
		scopes = append(scopes, joined(sc))
	}
	// The custom scopes name the resource server, so the client is created after it.
	want := []string{"openid", "email", "<" + serverID + ">/claims", "<" + serverID + ">/admin"}
	if !slices.Equal(scopes, want) {
		t.Errorf("OAuth scopes: got %v, want %v", scopes, want)
	}
}

func TestProvisioningTemplateHookAndPermission(t *testing.T) {
	s := devStack(t)
	hookID, _ := s.resource(t, "AWS::Lambda::Function", "ProvisionHook")
	permID, perm := s.resource(t, "AWS::Lambda::Permission", "ProvisioningHookPermission")
	_, tmpl := s.resource(t, "AWS::IoT::ProvisioningTemplate", "ProvisioningTemplate")
	p := props(tmpl)

	if got, want := asJSON(p["PreProvisioningHook"]),
		asJSON(map[string]any{"PayloadVersion": hookPayloadVersion, "TargetArn": getAtt(hookID, "Arn")}); got != want {
		t.Errorf("hook: got %s, want %s", got, want)
	}
	if p["TemplateName"] != s.settings.TemplateName || p["Enabled"] != true {
		t.Errorf("template name %v enabled %v, want %s and true", p["TemplateName"], p["Enabled"], s.settings.TemplateName)
	}
	if got := asJSON(tmpl["DependsOn"]); !strings.Contains(got, `"`+permID+`"`) {
		t.Errorf("template DependsOn %s, want it to include %s", got, permID)
	}

	pp := props(perm)
	if got, want := asJSON(pp["FunctionName"]), asJSON(getAtt(hookID, "Arn")); got != want {
		t.Errorf("permission function: got %s, want %s", got, want)
	}
	if pp["Principal"] != "iot.amazonaws.com" || pp["Action"] != "lambda:InvokeFunction" {
		t.Errorf("permission: got %s", asJSON(pp))
	}
	if got := asJSON(pp["SourceArn"]); !strings.Contains(got, `:provisioningtemplate/`+s.settings.TemplateName+`"`) {
		t.Errorf("permission SourceArn %s is not the template's ARN", got)
	}
	if got, want := asJSON(pp["SourceAccount"]), asJSON(ref("AWS::AccountId")); got != want {
		t.Errorf("permission SourceAccount: got %s, want %s", got, want)
	}
	// Only IoT, and only for this template, may invoke the hook.
	for id, r := range s.resources("AWS::Lambda::Permission") {
		if id != permID && asJSON(props(r)["FunctionName"]) == asJSON(getAtt(hookID, "Arn")) {
			t.Errorf("%s: another permission on the hook: %s", id, asJSON(props(r)))
		}
	}

	body := templateBodyJSON(t, p["TemplateBody"])
	thing := body["Resources"].(map[string]any)["thing"].(map[string]any)["Properties"].(map[string]any)
	if got, want := asJSON(thing["ThingName"]), asJSON(ref(fleetclaim.ParamThingName)); got != want {
		t.Errorf("thing name: got %s, want %s", got, want)
	}
	cert := body["Resources"].(map[string]any)["certificate"].(map[string]any)["Properties"].(map[string]any)
	if cert["Status"] != "ACTIVE" {
		t.Errorf("certificate status: got %v", cert["Status"])
	}
	for _, param := range []string{fleetclaim.ParamThingName, fleetclaim.ParamSerialNumber, fleetclaim.ParamTenantID, fleetclaim.ParamInstallerID} {
		if _, ok := body["Parameters"].(map[string]any)[param]; !ok {
			t.Errorf("template lacks parameter %s the hook sets", param)
		}
	}
}

// templateBodyJSON resolves the template body's Fn::Join (the policy name
// is a Ref) into the JSON AWS IoT will read.
func templateBodyJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	var b strings.Builder
	parts := v.(map[string]any)["Fn::Join"].([]any)[1].([]any)
	for _, part := range parts {
		if str, ok := part.(string); ok {
			b.WriteString(str)
		} else {
			b.WriteString("resolved")
		}
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(b.String()), &body); err != nil {
		t.Fatalf("template body is not JSON: %v: %s", err, b.String())
	}
	return body
}

func TestDevicePolicyConfinesEachDeviceToItself(t *testing.T) {
	s := devStack(t)
	_, policy := s.resource(t, "AWS::IoT::Policy", "DevicePolicy")
	wantActions := []string{"iot:Connect", "iot:Publish", "iot:Receive", "iot:Subscribe"}
	var gotActions []string
	for _, st := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := st.(map[string]any)
		action := st["Action"].(string)
		gotActions = append(gotActions, action)
		resources, ok := st["Resource"].([]any)
		if !ok {
			resources = []any{st["Resource"]}
		}
		for _, r := range resources {
			arn := joined(r)
			// Every resource names the connected thing itself.
			if !strings.Contains(arn, "/"+thingVar) {
				t.Errorf("%s on %s: not confined to the device's own thing", action, arn)
			}
		}
		if action == "iot:Connect" {
			if got := asJSON(st["Condition"]); got != `{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}` {
				t.Errorf("connect condition: got %s", got)
			}
			if arn := joined(resources[0]); !strings.HasSuffix(arn, ":client/"+thingVar) {
				t.Errorf("connect resource %s: want client ID = thing name", arn)
			}
		}
	}
	sort.Strings(gotActions)
	if !slices.Equal(gotActions, wantActions) {
		t.Errorf("actions: got %v, want %v", gotActions, wantActions)
	}
}

// joined renders an Fn::Join of strings and pseudo-parameter Refs as text.
func joined(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	for _, part := range v.(map[string]any)["Fn::Join"].([]any)[1].([]any) {
		if str, ok := part.(string); ok {
			b.WriteString(str)
		} else {
			b.WriteString(fmt.Sprintf("<%v>", part.(map[string]any)["Ref"]))
		}
	}
	return b.String()
}

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		s          *synthesized
		protection bool
		policy     string
	}{
		{"dev", devStack(t), false, "Delete"},
		{"prod", prodStack(t), true, "Retain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, table := tc.s.resource(t, "AWS::DynamoDB::Table", "Table")
			if table["DeletionPolicy"] != tc.policy {
				t.Errorf("deletion policy: got %v, want %s", table["DeletionPolicy"], tc.policy)
			}
			key := func(pk, sk string) []any {
				return []any{
					map[string]any{"AttributeName": pk, "KeyType": "HASH"},
					map[string]any{"AttributeName": sk, "KeyType": "RANGE"},
				}
			}
			check(t, "table", func() {
				tc.s.assert.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
					"KeySchema":                        key(dynamostore.AttrPK, dynamostore.AttrSK),
					"BillingMode":                      "PAY_PER_REQUEST",
					"TimeToLiveSpecification":          map[string]any{"AttributeName": dynamostore.AttrTTL, "Enabled": true},
					"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
					"DeletionProtectionEnabled":        tc.protection,
					"GlobalSecondaryIndexes": []any{
						map[string]any{"IndexName": dynamostore.IndexByInstaller,
							"KeySchema": key(dynamostore.AttrGSI1PK, dynamostore.AttrGSI1SK), "Projection": map[string]any{"ProjectionType": "ALL"}},
						map[string]any{"IndexName": dynamostore.IndexByTenant,
							"KeySchema": key(dynamostore.AttrGSI2PK, dynamostore.AttrGSI2SK), "Projection": map[string]any{"ProjectionType": "ALL"}},
					},
				})
			})
			_, pool := tc.s.resource(t, "AWS::Cognito::UserPool", "UserPool")
			wantProtection := map[bool]string{true: "ACTIVE", false: "INACTIVE"}[tc.protection]
			if pool["DeletionPolicy"] != tc.policy || props(pool)["DeletionProtection"] != wantProtection {
				t.Errorf("user pool: deletion policy %v protection %v, want %s and %s",
					pool["DeletionPolicy"], props(pool)["DeletionProtection"], tc.policy, wantProtection)
			}
			for id, lg := range tc.s.resources("AWS::Logs::LogGroup") {
				if lg["DeletionPolicy"] != tc.policy || props(lg)["RetentionInDays"] != float64(tc.s.settings.LogRetentionDays) {
					t.Errorf("%s: deletion policy %v retention %v, want %s and %d", id, lg["DeletionPolicy"],
						props(lg)["RetentionInDays"], tc.policy, tc.s.settings.LogRetentionDays)
				}
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	s := prodStack(t)
	tableID, _ := s.resource(t, "AWS::DynamoDB::Table", "Table")
	poolID, _ := s.resource(t, "AWS::Cognito::UserPool", "UserPool")
	for _, tc := range []struct {
		id string
		// limit is the caller's own timeout, in seconds, which ours must undercut.
		limit float64
		// load is the function's own configuration loader.
		load func(config.Lookup) error
	}{
		{"Claims", 29, func(l config.Lookup) error { _, err := config.LoadClaims(l); return err }},
		{"PostConfirm", 5, func(l config.Lookup) error { _, err := config.LoadTrigger(l); return err }},
		{"PreToken", 5, func(l config.Lookup) error { _, err := config.LoadTrigger(l); return err }},
		{"ProvisionHook", 5, func(l config.Lookup) error { _, err := config.LoadHook(l); return err }},
		// AWS IoT invokes it asynchronously: Lambda's own 900 s is the bound.
		{"Presence", 900, func(l config.Lookup) error { _, err := config.LoadPresence(l); return err }},
	} {
		t.Run(tc.id, func(t *testing.T) {
			_, fn := s.resource(t, "AWS::Lambda::Function", tc.id)
			p := props(fn)
			logsID, _ := s.resource(t, "AWS::Logs::LogGroup", tc.id+"Logs")
			roleID, _ := s.resource(t, "AWS::IAM::Role", tc.id+"Role")
			want := map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"MemorySize":    256,
				"LoggingConfig": map[string]any{"LogFormat": "JSON", "LogGroup": ref(logsID)},
				"Role":          getAtt(roleID, "Arn"),
			}
			for k, v := range want {
				if got := asJSON(p[k]); got != asJSON(v) {
					t.Errorf("%s: got %s, want %s", k, got, asJSON(v))
				}
			}
			if timeout := p["Timeout"].(float64); timeout >= tc.limit {
				t.Errorf("timeout %vs: want under the caller's %vs", timeout, tc.limit)
			}
			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			lookup := func(name string) (string, bool) {
				switch v := env[name].(type) {
				case nil:
					return "", false
				case string:
					return v, true
				default:
					return "resolved-at-deploy", true // a Ref or GetAtt
				}
			}
			if err := tc.load(lookup); err != nil {
				t.Errorf("the function's own config loader rejects its environment: %v", err)
			}
			if got, want := asJSON(env[config.EnvTableName]), asJSON(ref(tableID)); got != want {
				t.Errorf("%s: got %s, want %s", config.EnvTableName, got, want)
			}
			if env[config.EnvLogLevel] != s.settings.LogLevel {
				t.Errorf("%s: got %v", config.EnvLogLevel, env[config.EnvLogLevel])
			}
			switch tc.id {
			case "Claims":
				wantEnv := map[string]any{
					config.EnvTemplateName:     s.settings.TemplateName,
					config.EnvAllowedTemplates: "legacy-template",
					config.EnvClaimsPerHour:    "60",
					config.EnvOnlineWithin:     "45m0s", // prodContext's onlineWithin
					config.EnvAllowedOrigin:    "https://installer.example.com",
					config.EnvUserPoolID:       ref(poolID),
				}
				for k, v := range wantEnv {
					if got := asJSON(env[k]); got != asJSON(v) {
						t.Errorf("%s: got %s, want %s", k, got, asJSON(v))
					}
				}
			case "ProvisionHook":
				if got, want := env[config.EnvHookDeadline], config.DefaultHookDeadline.String(); got != want {
					t.Errorf("%s: got %v, want %s", config.EnvHookDeadline, got, want)
				}
				if p["Timeout"].(float64) <= config.DefaultHookDeadline.Seconds() {
					t.Errorf("timeout %vs leaves no time after the %s store deadline", p["Timeout"], config.DefaultHookDeadline)
				}
			case "PostConfirm", "PreToken":
				if p["Timeout"].(float64) <= cognitotrigger.DefaultDeadline.Seconds() {
					t.Errorf("timeout %vs leaves no time after the trigger's %s deadline", p["Timeout"], cognitotrigger.DefaultDeadline)
				}
			}
		})
	}
}

func TestTenantSeeds(t *testing.T) {
	s := prodStack(t)
	tableID, _ := s.resource(t, "AWS::DynamoDB::Table", "Table")
	seeds := s.resources("Custom::AWS")
	if len(seeds) != len(s.settings.Tenants) {
		t.Fatalf("got %d tenant seeds, want %d", len(seeds), len(s.settings.Tenants))
	}
	_, acme := s.resource(t, "Custom::AWS", "Tenant-acme")
	create := joined(props(acme)["Create"])
	var call struct {
		Action     string `json:"action"`
		Parameters struct {
			TableName                 string         `json:"TableName"`
			Item                      map[string]any `json:"Item"`
			ConditionExpression       string         `json:"ConditionExpression"`
			ExpressionAttributeValues map[string]any `json:"ExpressionAttributeValues"`
		} `json:"parameters"`
		IgnoreErrorCodesMatching string `json:"ignoreErrorCodesMatching"`
	}
	if err := json.Unmarshal([]byte(create), &call); err != nil {
		t.Fatalf("create call is not JSON: %v: %s", err, create)
	}
	if call.Action != "PutItem" || call.Parameters.TableName != "<"+tableID+">" {
		t.Errorf("create call: %s, want PutItem into %s", create, tableID)
	}
	// The item is the store adapter's own (dynamostore.TenantItem, whose
	// shape shared/dynamostore's tests hold to PutTenant's), at revision 0.
	want := map[string]any{
		dynamostore.AttrPK:          map[string]any{"S": "TENANT#acme"},
		dynamostore.AttrSK:          map[string]any{"S": "TENANT"},
		dynamostore.AttrGSI2PK:      map[string]any{"S": "TENANTS"},
		dynamostore.AttrGSI2SK:      map[string]any{"S": "acme"},
		"id":                        map[string]any{"S": "acme"},
		"name":                      map[string]any{"S": "Acme"},
		"status":                    map[string]any{"S": "active"},
		"revision":                  map[string]any{"N": "0"},
		"autoApproveDomains":        map[string]any{"L": []any{map[string]any{"S": "acme.example"}}},
		"claimsPerHour":             map[string]any{"N": "120"},
		"allowedTemplates":          map[string]any{"L": []any{}},
		"installersMayDecommission": map[string]any{"BOOL": false},
	}
	if got := asJSON(call.Parameters.Item); got != asJSON(want) {
		t.Errorf("item: got %s, want %s", got, asJSON(want))
	}
	// Never over a tenant the API changed: the seed's condition, and its
	// failure is no failed deployment.
	if call.Parameters.ConditionExpression != dynamostore.SeedCondition ||
		asJSON(call.Parameters.ExpressionAttributeValues) != `{":zero":{"N":"0"}}` ||
		call.IgnoreErrorCodesMatching != "ConditionalCheckFailedException" {
		t.Errorf("create call: %s, want PutItem on %q ignoring ConditionalCheckFailedException", create, dynamostore.SeedCondition)
	}
	if asJSON(props(acme)["Update"]) != asJSON(props(acme)["Create"]) {
		t.Error("a changed tenant must be written again on update")
	}
}

func TestOutputs(t *testing.T) {
	s := devStack(t)
	outputs := s.template["Outputs"].(map[string]any)
	for _, name := range []string{"ApiUrl", "Region", "UserPoolId", "UserPoolClientId", "ProvisioningTemplateName",
		"DevicePolicyName", "TableName", "IoTDataEndpointHint"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("no output %s", name)
		}
	}
	if hint := joined(outputs["IoTDataEndpointHint"].(map[string]any)["Value"]); !strings.Contains(hint, "describe-endpoint --endpoint-type iot:Data-ATS") {
		t.Errorf("endpoint hint: got %q", hint)
	}
}
