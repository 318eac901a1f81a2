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

// provisioning is the fleet provisioning template and the device policy.
type provisioning struct {
	template     awsiot.CfnProvisioningTemplate
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

// newProvisioning creates the device policy, the provisioning role, the
// template with the pre-provisioning hook attached, and the permission
// that lets AWS IoT call the hook for this template only.
func newProvisioning(stack awscdk.Stack, s Settings, hook awslambda.Function) provisioning {
	policy := awsiot.NewCfnPolicy(stack, jsii.String("DevicePolicy"), &awsiot.CfnPolicyProps{
		PolicyName:     jsii.String("fleetclaim-" + s.Stage + "-device"),
		PolicyDocument: devicePolicyDocument(stack),
	})

	// AWS IoT assumes this role to register the thing, activate the
	// certificate and attach the policy while it runs the template.
	role := awsiam.NewRole(stack, jsii.String("ProvisioningRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("iot.amazonaws.com"), nil),
		Description: jsii.String("Lets AWS IoT run the fleetclaim provisioning template"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSIoTThingsRegistration")),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("AWSIoTThingsRegistration is the AWS managed policy AWS documents for fleet " +
			"provisioning roles; it holds only the IoT registry actions a template may need, and only AWS IoT " +
			"can assume the role, only while running a template this stack controls"),
		AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSIoTThingsRegistration"},
	}}, jsii.Bool(false))

	arn := templateARN(stack, s.TemplateName)
	permission := awslambda.NewCfnPermission(stack, jsii.String("ProvisioningHookPermission"), &awslambda.CfnPermissionProps{
		Action:        jsii.String("lambda:InvokeFunction"),
		FunctionName:  hook.FunctionArn(),
		Principal:     jsii.String("iot.amazonaws.com"),
		SourceArn:     arn,
		SourceAccount: stack.Account(),
	})

	template := awsiot.NewCfnProvisioningTemplate(stack, jsii.String("ProvisioningTemplate"), &awsiot.CfnProvisioningTemplateProps{
		TemplateName:        jsii.String(s.TemplateName),
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
	return provisioning{template: template, devicePolicy: policy}
}

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
