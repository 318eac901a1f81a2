package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiot"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/iotpresence"
)

// lifecycle is what the stack adds for a device's life after its
// registration.
type lifecycle struct {
	presence awslambda.Function
	rule     awsiot.CfnTopicRule
}

// newLifecycle creates the presence function and the topic rule that
// delivers AWS IoT's presence events to it, and lets the functions that take
// certificates out of service (the API's revocations and decommissions, the
// hook's burnt claims) make exactly those AWS IoT calls.
func newLifecycle(stack awscdk.Stack, s Settings, assetDir string, table awsdynamodb.ITable, claims, hook awslambda.Function) lifecycle {
	// A presence event costs a few single-item writes; 10 s leaves room for
	// the SDK's retries of a throttled write before AWS IoT retries the
	// invocation.
	presence := newGoFunction(stack, s, assetDir, goFunction{id: "Presence", name: fnPresence,
		description: "Marks a device online when it first connects with its own certificate",
		timeout:     awscdk.Duration_Seconds(jsii.Number(10)),
		env:         map[string]*string{config.EnvTableName: table.TableName()}})
	grantTable(presence, table, fnPresence)

	// A failed invocation is written to a log group of its own, where an
	// alarm or an operator finds it; a lost presence event would leave a
	// device "registered" and, later, overdue.
	errorLogs := newLogGroup(stack, "PresenceRuleErrorsLogs", s)
	errorRole := awsiam.NewRole(stack, jsii.String("PresenceRuleErrorsRole"), &awsiam.RoleProps{
		AssumedBy: trustedService(stack, "iot.amazonaws.com", stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("iot"), Resource: jsii.String("*"),
		})),
		Description: jsii.String("Lets AWS IoT log the presence rule's failed invocations"),
	})
	// AWS documents these three calls for a rule's CloudWatch Logs action.
	errorRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
		Resources: &[]*string{errorLogs.LogGroupArn()},
	}))

	rule := awsiot.NewCfnTopicRule(stack, jsii.String("PresenceRule"), &awsiot.CfnTopicRuleProps{
		RuleName: jsii.String(ruleName(s.Stage, "presence")),
		TopicRulePayload: &awsiot.CfnTopicRule_TopicRulePayloadProperty{
			Description:      jsii.String("fleetclaim: AWS IoT presence events to the presence function"),
			Sql:              jsii.String(iotpresence.RuleSQL),
			AwsIotSqlVersion: jsii.String(iotpresence.RuleSQLVersion),
			RuleDisabled:     jsii.Bool(false),
			Actions: &[]any{&awsiot.CfnTopicRule_ActionProperty{
				Lambda: &awsiot.CfnTopicRule_LambdaActionProperty{FunctionArn: presence.FunctionArn()},
			}},
			ErrorAction: &awsiot.CfnTopicRule_ActionProperty{
				CloudwatchLogs: &awsiot.CfnTopicRule_CloudwatchLogsActionProperty{
					LogGroupName: errorLogs.LogGroupName(),
					RoleArn:      errorRole.RoleArn(),
				},
			},
		},
	})
	// Only this rule, in this account, may invoke the function.
	awslambda.NewCfnPermission(stack, jsii.String("PresenceRulePermission"), &awslambda.CfnPermissionProps{
		Action:        jsii.String("lambda:InvokeFunction"),
		FunctionName:  presence.FunctionArn(),
		Principal:     jsii.String("iot.amazonaws.com"),
		SourceArn:     rule.AttrArn(),
		SourceAccount: stack.Account(),
	})

	// The API deactivates claim certificates (revoke, supersede, suspend)
	// and device certificates (decommission, replace), and detaches device
	// certificates from their things; the hook deactivates the claim
	// certificate of a claim it burns. DescribeCertificate gives the
	// certificate's ARN, which DetachThingPrincipal takes as the principal.
	certificates := iotARN(stack, "cert", "*")
	claims.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iot:UpdateCertificate", "iot:DescribeCertificate"),
		Resources: &[]*string{certificates},
	}))
	claims.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iot:DetachThingPrincipal"),
		Resources: &[]*string{iotARN(stack, "thing", "*")},
	}))
	hook.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iot:UpdateCertificate"),
		Resources: &[]*string{certificates},
	}))
	for _, fn := range []awslambda.Function{claims, hook} {
		cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Certificates and things are created by devices at run time (fleet provisioning), so " +
				"their IDs and names cannot be known when the stack is deployed; the grants are limited to this " +
				"account and region and to the certificate and thing calls that revocation and decommission make"),
			AppliesTo: &[]any{
				"Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:cert/*",
				"Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:thing/*",
			},
		}}, jsii.Bool(true))
	}
	return lifecycle{presence: presence, rule: rule}
}

// iotARN is an AWS IoT resource ARN in this stack's account and region.
func iotARN(stack awscdk.Stack, resource, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("iot"),
		Resource:     jsii.String(resource),
		ResourceName: jsii.String(name),
	})
}

// ruleName is a topic rule's name: AWS IoT allows letters, digits and
// underscores only, so a stage's hyphens become underscores.
func ruleName(stage, purpose string) string {
	return "fleetclaim_" + strings.ReplaceAll(stage, "-", "_") + "_" + purpose
}
