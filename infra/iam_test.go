package main

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// resourceWildcardActions are the only actions a statement may grant on
// resource "*", each because AWS offers no narrower resource for it.
var resourceWildcardActions = []string{
	// DescribeEndpoint has no resource-level permissions.
	"iot:DescribeEndpoint",
	// Active tracing: X-Ray's ingestion actions have none either.
	"xray:PutTraceSegments", "xray:PutTelemetryRecords",
}

// managedPoliciesAllowed are the AWS managed policies the stack may attach,
// by the role's construct ID.
var managedPoliciesAllowed = map[string]string{
	// API Gateway's account-level logging role; CloudWatch Logs actions only.
	"ApiCloudWatchRole": "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}

// statement is one IAM policy statement with the roles it applies to.
type statement struct {
	policy    string
	roles     []string
	effect    string
	actions   []string
	resources []any
	raw       map[string]any
}

// statements collects every statement of every policy in the template.
func (s *synthesized) statements(t *testing.T) []statement {
	t.Helper()
	var out []statement
	add := func(policy string, roles []string, doc any) {
		for _, st := range doc.(map[string]any)["Statement"].([]any) {
			st := st.(map[string]any)
			out = append(out, statement{policy: policy, roles: roles, effect: st["Effect"].(string),
				actions: list[string](st["Action"]), resources: list[any](st["Resource"]), raw: st})
		}
	}
	for id, p := range s.resources("AWS::IAM::Policy") {
		var roles []string
		for _, r := range props(p)["Roles"].([]any) {
			roles = append(roles, r.(map[string]any)["Ref"].(string))
		}
		add(id, roles, props(p)["PolicyDocument"])
	}
	for id, r := range s.resources("AWS::IAM::Role") {
		inline, _ := props(r)["Policies"].([]any)
		for _, p := range inline {
			add(id+"/inline", []string{id}, p.(map[string]any)["PolicyDocument"])
		}
	}
	if len(s.resources("AWS::IAM::ManagedPolicy")) != 0 {
		t.Error("customer managed policies are not expected; extend this test to read them")
	}
	return out
}

// list reads a policy field that is either one value or a list of them.
func list[T any](v any) []T {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]T, 0, len(v))
		for _, e := range v {
			out = append(out, e.(T))
		}
		return out
	default:
		return []T{v.(T)}
	}
}

func TestNoWildcardActionsAndResourceWildcardsOnlyWhereUnavoidable(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		for _, st := range s.statements(t) {
			where := s.settings.Stage + " " + st.policy
			if st.effect != "Allow" {
				continue // a Deny narrows; it cannot grant
			}
			for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
				if _, ok := st.raw[k]; ok {
					t.Errorf("%s: %s grants by exclusion: %s", where, k, asJSON(st.raw))
				}
			}
			for _, a := range st.actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %q", where, a)
				}
			}
			for _, r := range st.resources {
				if r != "*" {
					continue
				}
				for _, a := range st.actions {
					if !slices.Contains(resourceWildcardActions, a) {
						t.Errorf("%s: %s granted on resource \"*\"", where, a)
					}
				}
			}
		}
	}
}

func TestManagedPoliciesAreOnlyTheAllowedOnes(t *testing.T) {
	s := prodStack(t)
	for id, r := range s.resources("AWS::IAM::Role") {
		arns, _ := props(r)["ManagedPolicyArns"].([]any)
		for _, arn := range arns {
			name := joined(arn)
			allowed := ""
			for construct, policy := range managedPoliciesAllowed {
				if strings.HasPrefix(id, construct) {
					allowed = policy
				}
			}
			if allowed == "" || !strings.HasSuffix(name, ":policy/"+allowed) {
				t.Errorf("%s: managed policy %s is not allowed here", id, name)
			}
		}
	}
}

// TestEachRoleMayDoExactlyItsJob derives every role's actions from the
// calls its code makes: a function's table actions from the store methods
// it calls (storeCalls) through the actions each method uses
// (dynamostore.Actions, proven by TestActions in shared/dynamostore), plus
// its AWS IoT and Cognito calls. A grant no call needs, or a call with no
// grant, fails here.
func TestEachRoleMayDoExactlyItsJob(t *testing.T) {
	s := prodStack(t)
	// A function's own log group, and its traces (active tracing).
	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
	role := func(function string, more ...string) []string {
		return slices.Concat(tableActions(function), more, logs)
	}
	want := map[string][]string{
		"ClaimsRole": role(fnClaims, append([]string{"iot:CreateProvisioningClaim", "iot:DescribeEndpoint",
			"iot:UpdateCertificate", "iot:DescribeCertificate", "iot:DetachThingPrincipal"}, claimsCognitoActions...)...),
		"PostConfirmRole":   role(fnPostConfirm),
		"PreTokenRole":      role(fnPreToken),
		"ProvisionHookRole": role(fnProvisionHook, "iot:UpdateCertificate"),
		"PresenceRole":      role(fnPresence),
		// AWS IoT's role for the presence rule's error action.
		"PresenceRuleErrorsRole": {"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
		"TenantSeedRole":         {"dynamodb:PutItem", "logs:CreateLogStream", "logs:PutLogEvents"},
		// The console's upload (console.go).
		"ConsoleDeployRole": {"logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject", "s3:ListBucket",
			"s3:PutObject", "s3:DeleteObject", "cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"},
		"ProvisioningRole": slices.Concat(provisioningThingActions, provisioningCertificateActions,
			provisioningPolicyActions),
	}
	// The derivation is not vacuous: each function's table actions are
	// exactly these today.
	for function, actions := range map[string][]string{
		fnClaims: {"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
			"dynamodb:Query", "dynamodb:UpdateItem"},
		fnPostConfirm:   {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		fnPreToken:      {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		fnProvisionHook: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		fnPresence:      {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	} {
		if got := tableActions(function); !slices.Equal(got, actions) {
			t.Errorf("%s table actions: got %v, want %v", function, got, actions)
		}
	}
	roleID := func(construct string) string { id, _ := s.resource(t, "AWS::IAM::Role", construct); return id }
	tableID, _ := s.resource(t, "AWS::DynamoDB::Table", "Table")
	poolID, _ := s.resource(t, "AWS::Cognito::UserPool", "UserPool")
	tableARN := asJSON(getAtt(tableID, "Arn"))
	bucketID, _ := s.resource(t, "AWS::S3::Bucket", "ConsoleBucket")
	bucketARN := asJSON(getAtt(bucketID, "Arn"))
	distributionID, _ := s.resource(t, "AWS::CloudFront::Distribution", "ConsoleDistribution")
	consoleDeploy := func(roles []string) bool {
		return len(roles) == 1 && strings.HasPrefix(roles[0], "ConsoleDeployRole")
	}

	got := map[string][]string{}
	for _, st := range s.statements(t) {
		for _, role := range st.roles {
			got[role] = append(got[role], st.actions...)
		}
		for _, a := range st.actions {
			for _, r := range st.resources {
				rs := asJSON(r)
				var ok bool
				switch service, _, _ := strings.Cut(a, ":"); service {
				case "dynamodb":
					ok = rs == tableARN || (a == "dynamodb:Query" && strings.HasPrefix(rs, `{"Fn::Join":["",[`+tableARN+`,"/index/`))
				case "cognito-idp":
					ok = rs == asJSON(getAtt(poolID, "Arn"))
				case "logs":
					// A function writes only to its own log group: ClaimsRole to ClaimsLogs.
					ok = len(st.roles) == 1 && rs == asJSON(getAtt(logGroupOf(t, s, st.roles[0]), "Arn"))
				case "xray":
					ok = r == "*"
				case "s3":
					switch a {
					case "s3:ListBucket":
						ok = rs == bucketARN
					case "s3:PutObject", "s3:DeleteObject":
						ok = rs == `{"Fn::Join":["",[`+bucketARN+`,"/*"]]}`
					case "s3:GetObject": // the CDK's staged assets
						ok = strings.HasSuffix(rs, `:s3:::",{"Fn::Sub":"cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},"/*"]]}`)
					}
					ok = ok && consoleDeploy(st.roles)
				case "cloudfront":
					ok = consoleDeploy(st.roles) && strings.HasSuffix(rs, `:distribution/",{"Ref":"`+distributionID+`"}]]}`)
				case "iot":
					rs := joined(r)
					switch {
					case a == "iot:DescribeEndpoint", a == "iot:CreateProvisioningClaim" && slices.ContainsFunc(claimableTemplates(s.settings),
						func(name string) bool { return strings.HasSuffix(rs, ":provisioningtemplate/"+name) }):
						ok = true
					// Certificates and things are made by devices at run
					// time: their own ARNs cannot be named in advance.
					case !slices.ContainsFunc(st.roles, func(r string) bool { return strings.HasPrefix(r, "ProvisioningRole") }) &&
						((a == "iot:UpdateCertificate" || a == "iot:DescribeCertificate") && strings.HasSuffix(rs, ":cert/*") ||
							a == "iot:DetachThingPrincipal" && strings.HasSuffix(rs, ":thing/*")):
						ok = true
					case slices.Contains(provisioningThingActions, a) && strings.HasSuffix(rs, ":thing/*"),
						slices.Contains(provisioningCertificateActions, a) && strings.HasSuffix(rs, ":cert/*"),
						slices.Contains(provisioningPolicyActions, a) && strings.HasSuffix(rs, ":policy/<"+devicePolicyID(t, s)+">"):
						ok = len(st.roles) == 1 && strings.HasPrefix(st.roles[0], "ProvisioningRole")
					}
				}
				if !ok {
					t.Errorf("%s: %s on %s: not the resource this action is for", st.policy, a, rs)
				}
			}
		}
	}
	for construct, actions := range want {
		id := roleID(construct)
		g := slices.Clone(got[id])
		sort.Strings(g)
		sort.Strings(actions)
		if !slices.Equal(g, actions) {
			t.Errorf("%s may do:\n got  %v\n want %v", construct, g, actions)
		}
		delete(got, id)
	}
	for id, actions := range got {
		t.Errorf("%s: unexpected role with grants %v", id, actions)
	}
}

// devicePolicyID is the device policy's logical ID.
func devicePolicyID(t *testing.T, s *synthesized) string {
	id, _ := s.resource(t, "AWS::IoT::Policy", "DevicePolicy")
	return id
}

// logGroupOf is the log group that belongs with a role: ClaimsLogs for
// ClaimsRole.
func logGroupOf(t *testing.T, s *synthesized, roleID string) string {
	t.Helper()
	construct := hashSuffix.ReplaceAllString(roleID, "")
	id, _ := s.resource(t, "AWS::Logs::LogGroup", strings.TrimSuffix(construct, "Role")+"Logs")
	return id
}

// hashSuffix is the hash the CDK appends to a construct ID to make a logical ID.
var hashSuffix = regexp.MustCompile("[0-9A-F]{8}$")
