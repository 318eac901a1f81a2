package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiot"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// hookPayloadVersion is the pre-provisioning hook event format our hook reads.
const hookPayloadVersion = "2020-04-01"

// thingVar is the IoT policy variable for the connected device's thing name.
// The device policy is attached to the certificate and the thing to the
// certificate by the template, so the variable resolves to the device's own
// thing (AWS writes it ${iot:Connection.Thing.ThingName}).
const thingVar = "${iot:Connection.Thing.ThingName}"

// provisioning is the fleet provisioning templates and the device policy.
type provisioning struct {
	// templates are every template a claim may name: the stack's own
	// first, then one per allowed template, each guarded by the hook.
	templates    []awsiot.CfnProvisioningTemplate
	devicePolicy awsiot.CfnPolicy
}

// templateARN is a provisioning template's ARN, built from its name. The
// hook's permission needs it before the template exists (the template
// depends on the permission), so it cannot come from the template itself.
func templateARN(stack awscdk.Stack, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("iot"),
		Resource:     jsii.String("provisioningtemplate"),
		ResourceName: jsii.String(name),
	})
}

// claimableTemplates are the templates a claim may name: the stack's own
// and the allowed ones. The stack creates every one of them with the hook,
// so no claim can be used with a template the hook does not guard.
func claimableTemplates(s Settings) []string {
	return append([]string{s.TemplateName}, s.AllowedTemplates...)
}

// newProvisioning creates the device policy, the provisioning role and,
// for every claimable template, the template with the pre-provisioning hook
// attached and the permission that lets AWS IoT call the hook for that
// template only. A template the hook does not guard would register any
// device whose claim names it (AWS IoT runs a template without a hook
// unchecked), so the stack never lets claims name a template it did not
// create with the hook; newFleetclaimStack checks that again before
// synthesis (checkTemplatesGuarded).
func newProvisioning(stack awscdk.Stack, s Settings, hook awslambda.Function) provisioning {
	policy := awsiot.NewCfnPolicy(stack, jsii.String("DevicePolicy"), &awsiot.CfnPolicyProps{
		PolicyName:     jsii.String("fleetclaim-" + s.Stage + "-device"),
		PolicyDocument: devicePolicyDocument(stack),
	})
	// Every provisioned device's certificate has this policy attached, and
	// AWS IoT refuses to delete an attached policy: in a stage whose data is
	// kept, the policy stays with the devices when the stack goes
	// (DEPLOY.md, "Tearing down").
	if s.RetainData {
		policy.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	}

	names := claimableTemplates(s)
	arns := make([]*string, 0, len(names))
	for _, name := range names {
		arns = append(arns, templateARN(stack, name))
	}
	role := newProvisioningRole(stack, policy)

	p := provisioning{devicePolicy: policy}
	for i, name := range names {
		// The stack's own template keeps its construct IDs, so existing
		// deployments keep their resources.
		suffix := ""
		if i > 0 {
			suffix = "-" + name
		}
		permission := awslambda.NewCfnPermission(stack, jsii.String("ProvisioningHookPermission"+suffix), &awslambda.CfnPermissionProps{
			Action:        jsii.String("lambda:InvokeFunction"),
			FunctionName:  hook.FunctionArn(),
			Principal:     jsii.String("iot.amazonaws.com"),
			SourceArn:     arns[i],
			SourceAccount: stack.Account(),
		})
		template := awsiot.NewCfnProvisioningTemplate(stack, jsii.String("ProvisioningTemplate"+suffix), &awsiot.CfnProvisioningTemplateProps{
			TemplateName:        jsii.String(name),
			Description:         jsii.String("fleetclaim: registers a device whose claim the pre-provisioning hook accepts"),
			Enabled:             jsii.Bool(true),
			TemplateType:        jsii.String("FLEET_PROVISIONING"),
			ProvisioningRoleArn: role.RoleArn(),
			PreProvisioningHook: &awsiot.CfnProvisioningTemplate_ProvisioningHookProperty{
				TargetArn:      hook.FunctionArn(),
				PayloadVersion: jsii.String(hookPayloadVersion),
			},
			TemplateBody: stack.ToJsonString(templateBody(policy), nil),
		})
		// AWS IoT checks that it may invoke the hook when the template is
		// created, so the permission must exist first.
		template.Node().AddDependency(permission)
		p.templates = append(p.templates, template)
	}
	return p
}

// newProvisioningRole is the role AWS IoT assumes to run the templates:
// only for this account's AWS IoT (aws:SourceAccount, aws:SourceArn), and
// only for what templateBody's resources need: create or update the thing
// (attributes are replaced on re-provisioning), activate the certificate
// AWS IoT just issued, attach it to the thing, and attach the device policy
// to it. Things and certificates are named per device, so those resources
// are the account's things and certificates; the policy is the one device
// policy.
func newProvisioningRole(stack awscdk.Stack, policy awsiot.CfnPolicy) awsiam.Role {
	iotARN := func(resource, name string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("iot"), Resource: jsii.String(resource), ResourceName: jsii.String(name),
		})
	}
	things, certs := iotARN("thing", "*"), iotARN("cert", "*")
	statement := func(resources []*string, actions ...string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: &resources})
	}
	doc := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		statement([]*string{things}, provisioningThingActions...),
		statement([]*string{certs}, provisioningCertificateActions...),
		statement([]*string{iotARN("policy", *policy.Ref())}, provisioningPolicyActions...),
	}})
	role := awsiam.NewRole(stack, jsii.String("ProvisioningRole"), &awsiam.RoleProps{
		AssumedBy: trustedService(stack, "iot.amazonaws.com", stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("iot"), Resource: jsii.String("*"),
		})),
		Description:    jsii.String("Lets AWS IoT run the fleetclaim provisioning templates"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"RunTemplate": doc},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Thing and certificate names are chosen per device at registration (the hook names the " +
			"thing; AWS IoT issues the certificate), so the template's role acts on the account's things and " +
			"certificates; only AWS IoT of this account may assume it, for its own provisioning templates"),
		AppliesTo: &[]any{"Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:thing/*",
			"Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:cert/*"},
	}}, jsii.Bool(false))
	return role
}

// What the provisioning role may do, by resource: the registry calls AWS IoT
// makes for templateBody's thing, certificate and policy resources.
var (
	provisioningThingActions = []string{"iot:CreateThing", "iot:DescribeThing", "iot:UpdateThing",
		"iot:AttachThingPrincipal", "iot:ListThingPrincipals"}
	provisioningCertificateActions = []string{"iot:DescribeCertificate", "iot:UpdateCertificate",
		"iot:AttachPolicy", "iot:AttachPrincipalPolicy", "iot:ListAttachedPolicies", "iot:ListPrincipalThings"}
	provisioningPolicyActions = []string{"iot:GetPolicy", "iot:AttachPolicy", "iot:AttachPrincipalPolicy"}
)

// templateBody registers the device as a thing named by the hook
// ("<tenant>_<serial>"), records tenant, installer and serial on it,
// activates the certificate AWS IoT just issued, and attaches the device
// policy. The hook supplies every parameter but the certificate ID; with no
// defaults, a registration the hook did not complete fails.
func templateBody(policy awsiot.CfnPolicy) map[string]any {
	str := map[string]any{"Type": "String"}
	ref := func(name string) map[string]any { return map[string]any{"Ref": name} }
	return map[string]any{
		"Parameters": map[string]any{
			fleetclaim.ParamThingName:    str,
			fleetclaim.ParamSerialNumber: str,
			fleetclaim.ParamTenantID:     str,
			fleetclaim.ParamInstallerID:  str,
			"AWS::IoT::Certificate::Id":  str,
		},
		"Resources": map[string]any{
			"thing": map[string]any{
				"Type": "AWS::IoT::Thing",
				"Properties": map[string]any{
					"ThingName": ref(fleetclaim.ParamThingName),
					"AttributePayload": map[string]any{
						"tenant":    ref(fleetclaim.ParamTenantID),
						"installer": ref(fleetclaim.ParamInstallerID),
						"serial":    ref(fleetclaim.ParamSerialNumber),
					},
				},
				// A device re-provisioned through a new claim keeps its thing
				// and gets the new installer recorded.
				"OverrideSettings": map[string]any{
					"AttributePayload": "REPLACE",
					"ThingTypeName":    "REPLACE",
					"ThingGroups":      "DO_NOTHING",
				},
			},
			"certificate": map[string]any{
				"Type": "AWS::IoT::Certificate",
				"Properties": map[string]any{
					"CertificateId": ref("AWS::IoT::Certificate::Id"),
					"Status":        "ACTIVE",
				},
			},
			"policy": map[string]any{
				"Type":       "AWS::IoT::Policy",
				"Properties": map[string]any{"PolicyName": policy.Ref()},
			},
		},
	}
}

// devicePolicyDocument lets a provisioned device connect only with its own
// thing name as client ID, and only while its certificate is attached to
// that thing; publish telemetry on dt/<thing>/..., receive commands on
// cmd/<thing>/..., and use its own device shadows. Nothing else: no
// wildcards across things.
func devicePolicyDocument(stack awscdk.Stack) map[string]any {
	iotARN := func(resource, name string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("iot"),
			Resource:     jsii.String(resource),
			ResourceName: jsii.String(name),
		})
	}
	shadow := "$aws/things/" + thingVar + "/shadow/*"
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{
				"Effect":    "Allow",
				"Action":    "iot:Connect",
				"Resource":  iotARN("client", thingVar),
				"Condition": map[string]any{"Bool": map[string]any{"iot:Connection.Thing.IsAttached": "true"}},
			},
			map[string]any{
				"Effect":   "Allow",
				"Action":   "iot:Publish",
				"Resource": []any{iotARN("topic", "dt/"+thingVar+"/*"), iotARN("topic", shadow)},
			},
			map[string]any{
				"Effect":   "Allow",
				"Action":   "iot:Subscribe",
				"Resource": []any{iotARN("topicfilter", "cmd/"+thingVar+"/*"), iotARN("topicfilter", shadow)},
			},
			map[string]any{
				"Effect":   "Allow",
				"Action":   "iot:Receive",
				"Resource": []any{iotARN("topic", "cmd/"+thingVar+"/*"), iotARN("topic", shadow)},
			},
		},
	}
}
