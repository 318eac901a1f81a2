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
}

// managedPoliciesAllowed are the AWS managed policies the stack may attach,
// by the role's construct ID.
var managedPoliciesAllowed = map[string]string{
	// AWS documents it for fleet provisioning roles; only IoT assumes the role.
	"ProvisioningRole": "service-role/AWSIoTThingsRegistration",
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

// TestEachRoleMayDoExactlyItsJob pins every role's actions, so a grant
// added anywhere shows up here and has to be argued for.
func TestEachRoleMayDoExactlyItsJob(t *testing.T) {
	s := prodStack(t)
	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	want := map[string][]string{
		"ClaimsRole": append([]string{
			"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem", "dynamodb:DeleteItem",
			"dynamodb:Query", "iot:CreateProvisioningClaim", "iot:DescribeEndpoint",
			"iot:UpdateCertificate", "iot:DescribeCertificate", "iot:DetachThingPrincipal",
			"cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:AdminUserGlobalSignOut",
		}, logs...),
		"PostConfirmRole": append([]string{
			"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "cognito-idp:AdminAddUserToGroup",
		}, logs...),
		"PreTokenRole": append([]string{"dynamodb:GetItem"}, logs...),
		"ProvisionHookRole": append([]string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem",
			"iot:UpdateCertificate"}, logs...),
		"PresenceRole": append([]string{"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"}, logs...),
		// AWS IoT's role for the presence rule's error action.
		"PresenceRuleErrorsRole": {"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
		"TenantSeedRole":         append([]string{"dynamodb:PutItem"}, logs...),
	}
	roleID := func(construct string) string { id, _ := s.resource(t, "AWS::IAM::Role", construct); return id }
	tableID, _ := s.resource(t, "AWS::DynamoDB::Table", "Table")
	poolID, _ := s.resource(t, "AWS::Cognito::UserPool", "UserPool")
	tableARN := asJSON(getAtt(tableID, "Arn"))

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
				case "iot":
					// Certificates and things are made by devices at run
					// time: their own ARNs cannot be named in advance.
					ok = a == "iot:DescribeEndpoint" ||
						((a == "iot:UpdateCertificate" || a == "iot:DescribeCertificate") && strings.HasSuffix(joined(r), ":cert/*")) ||
						(a == "iot:DetachThingPrincipal" && strings.HasSuffix(joined(r), ":thing/*")) ||
						(a == "iot:CreateProvisioningClaim" && slices.ContainsFunc(append([]string{s.settings.TemplateName}, s.settings.AllowedTemplates...),
							func(name string) bool { return strings.HasSuffix(joined(r), ":provisioningtemplate/"+name) }))
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
		if !strings.HasPrefix(id, "ProvisioningRole") && !strings.HasPrefix(id, "ApiCloudWatchRole") {
			t.Errorf("%s: unexpected role with inline grants %v", id, actions)
		}
	}
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

// The post-confirmation function's pool grant lives in a policy of its own:
// in the role's default policy it would close the cycle pool → function →
// role policy → pool, which CloudFormation refuses.
func TestPostConfirmPoolGrantAvoidsTheCycle(t *testing.T) {
	s := devStack(t)
	policyID, policy := s.resource(t, "AWS::IAM::Policy", "PostConfirmPoolPolicy")
	roleID, _ := s.resource(t, "AWS::IAM::Role", "PostConfirmRole")
	if got, want := asJSON(props(policy)["Roles"]), asJSON([]any{ref(roleID)}); got != want {
		t.Errorf("roles: got %s, want %s", got, want)
	}
	_, fn := s.resource(t, "AWS::Lambda::Function", "PostConfirm")
	if strings.Contains(asJSON(fn["DependsOn"]), policyID) {
		t.Errorf("the function depends on %s, which depends on the pool", policyID)
	}
}
