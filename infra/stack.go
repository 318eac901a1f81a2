package main

import (
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/fleetclaim/fleetclaim/shared/config"
)

// FleetclaimStackProps configures a fleetclaim deployment.
type FleetclaimStackProps struct {
	awscdk.StackProps
	// Settings are the deployment's choices (see SettingsFromContext).
	Settings Settings
	// AssetDir holds <name>/bootstrap for each of FunctionNames, as
	// `make build` writes them under bin/.
	AssetDir string
}

// NewFleetclaimStack creates the whole backend: the table, the functions,
// the user pool, the REST API, the AWS IoT provisioning template with its
// hook and device policy, and the presence topic rule.
func NewFleetclaimStack(scope constructs.Construct, id string, props *FleetclaimStackProps) awscdk.Stack {
	s := props.Settings
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	awscdk.Tags_Of(stack).Add(jsii.String("app"), jsii.String("fleetclaim"), nil)
	awscdk.Tags_Of(stack).Add(jsii.String("stage"), jsii.String(s.Stage), nil)

	table := newTable(stack, s)
	fn := func(construct, name, description string, seconds float64, env map[string]*string) awslambda.Function {
		return newGoFunction(stack, s, props.AssetDir, goFunction{id: construct, name: name, description: description,
			timeout: awscdk.Duration_Seconds(jsii.Number(seconds)), env: env})
	}
	tableEnv := map[string]*string{config.EnvTableName: table.TableName()}

	// Cognito waits 5 s for a trigger; 4 s leaves it our answer, not its
	// timeout. Each trigger does two or three single-item calls.
	postConfirm := fn("PostConfirm", fnPostConfirm, "Records a confirmed user as an installer", 4, tableEnv)
	allowItems(postConfirm, table, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
	preToken := fn("PreToken", fnPreToken, "Puts tenant, status and scopes into tokens", 4, tableEnv)
	allowItems(preToken, table, "dynamodb:GetItem")

	a := newAuth(stack, s, postConfirm, preToken)

	claimsEnv := map[string]*string{
		config.EnvTableName:     table.TableName(),
		config.EnvTemplateName:  jsii.String(s.TemplateName),
		config.EnvClaimsPerHour: jsii.String(strconv.Itoa(s.ClaimsPerHour)),
		config.EnvUserPoolID:    a.pool.UserPoolId(),
		config.EnvAllowedOrigin: jsii.String(s.AllowedOrigin),
	}
	if len(s.AllowedTemplates) > 0 {
		claimsEnv[config.EnvAllowedTemplates] = jsii.String(strings.Join(s.AllowedTemplates, ","))
	}
	// 10 s: CreateProvisioningClaim plus a few table calls take well under
	// a second; API Gateway would give up at 29 s.
	claims := fn("Claims", fnClaims, "The installer and admin API", 10, claimsEnv)
	// DeleteItem: a claim item whose serial another claim took meanwhile
	// is removed at once (it would otherwise wait for its TTL).
	allowItems(claims, table, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem",
		"dynamodb:DeleteItem")
	allowQuery(claims, table)
	templateARNs := []*string{templateARN(stack, s.TemplateName)}
	for _, t := range s.AllowedTemplates {
		templateARNs = append(templateARNs, templateARN(stack, t))
	}
	claims.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iot:CreateProvisioningClaim"),
		Resources: &templateARNs,
	}))
	// DescribeEndpoint has no resource-level permissions: AWS accepts only
	// "*" for it. It reveals the account's public IoT endpoint, nothing more.
	claims.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iot:DescribeEndpoint"),
		Resources: jsii.Strings("*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(claims.Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("iot:DescribeEndpoint supports no resource-level permissions, so AWS accepts only " +
			"\"*\"; it returns the account's public AWS IoT endpoint and nothing else"),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
	claims.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup",
			"cognito-idp:AdminUserGlobalSignOut"),
		Resources: &[]*string{a.pool.UserPoolArn()},
	}))
	api := newAPI(stack, s, a.pool, claims)

	// AWS IoT waits 5 s for the hook. Its store calls stop at the 2 s
	// deadline, so 3 s is ample and still leaves IoT time to act on a denial.
	hook := fn("ProvisionHook", fnProvisionHook, "Allows or denies each device registration",
		3, map[string]*string{
			config.EnvTableName:    table.TableName(),
			config.EnvHookDeadline: jsii.String(config.DefaultHookDeadline.String()),
		})
	allowItems(hook, table, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem")
	prov := newProvisioning(stack, s, hook)
	newLifecycle(stack, s, props.AssetDir, table, claims, hook)

	seedTenants(stack, s, table)

	output := func(id, description string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
			Description: jsii.String(description), Value: value,
		})
	}
	output("ApiUrl", "Base URL of the fleetclaim API", api.Url())
	output("Region", "AWS Region of this deployment", stack.Region())
	output("UserPoolId", "Cognito user pool of installers and admins", a.pool.UserPoolId())
	output("UserPoolClientId", "App client ID for the installer app", a.client.UserPoolClientId())
	output("ProvisioningTemplateName", "Fleet provisioning template devices register with", prov.template.Ref())
	output("DevicePolicyName", "AWS IoT policy attached to every provisioned device", prov.devicePolicy.Ref())
	output("TableName", "DynamoDB table holding all fleetclaim state", table.TableName())
	output("IoTDataEndpointHint", "How to look up the AWS IoT data endpoint devices connect to",
		jsii.String("aws iot describe-endpoint --endpoint-type iot:Data-ATS --region "+*stack.Region()))
	return stack
}
