package main

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/console"
)

// FleetclaimStackProps configures a fleetclaim deployment.
type FleetclaimStackProps struct {
	awscdk.StackProps
	// Settings are the deployment's choices (see SettingsFromContext).
	Settings Settings
	// AssetDir holds <name>/bootstrap for each of FunctionNames, as
	// `make build` writes them under bin/.
	AssetDir string
	// ConsoleDir holds the built console (shared/console/dist), deployed
	// when Settings.Console is on.
	ConsoleDir string
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

	// The console comes first: its origin is the API's allowed origin (CORS,
	// the app client's callback URLs, the claims function's answers). Its
	// content security policy names the API's origin in turn, which is read
	// only at synthesis, once the API exists.
	var api awsapigateway.RestApi
	var site *consoleSite
	if s.Console {
		c := newConsoleSite(stack, s, awscdk.Lazy_String(&lazyString{func() *string { return apiOrigin(stack, api) }}, nil))
		site = &c
		if s.AllowedOrigin == "" {
			// A token: the distribution's name is known at deploy time.
			s.AllowedOrigin = *site.url
		}
	}
	fn := func(construct, name, description string, seconds float64, env map[string]*string) awslambda.Function {
		return newGoFunction(stack, s, props.AssetDir, goFunction{id: construct, name: name, description: description,
			timeout: awscdk.Duration_Seconds(jsii.Number(seconds)), env: env})
	}
	tableEnv := map[string]*string{config.EnvTableName: table.TableName()}

	// Cognito waits 5 s for a trigger; 4 s leaves it our answer, not its
	// timeout. Each trigger does a few single-item calls.
	postConfirm := fn("PostConfirm", fnPostConfirm, "Records a confirmed user as an installer", 4, tableEnv)
	grantTable(postConfirm, table, fnPostConfirm)
	preToken := fn("PreToken", fnPreToken, "Puts tenant, status and scopes into tokens", 4, tableEnv)
	grantTable(preToken, table, fnPreToken)

	a := newAuth(stack, s, postConfirm, preToken)

	claimsEnv := map[string]*string{
		config.EnvTableName:         table.TableName(),
		config.EnvTemplateName:      jsii.String(s.TemplateName),
		config.EnvClaimsPerHour:     jsii.String(strconv.Itoa(s.ClaimsPerHour)),
		config.EnvRequestsPerMinute: jsii.String(strconv.Itoa(s.RequestsPerMinute)),
		config.EnvOnlineWithin:      jsii.String(s.OnlineWithin.String()),
		config.EnvUserPoolID:        a.pool.UserPoolId(),
		config.EnvAllowedOrigin:     jsii.String(s.AllowedOrigin),
	}
	if len(s.AllowedTemplates) > 0 {
		claimsEnv[config.EnvAllowedTemplates] = jsii.String(strings.Join(s.AllowedTemplates, ","))
	}
	// 10 s: CreateProvisioningClaim plus a few table calls take well under
	// a second; API Gateway would give up at 29 s.
	claims := fn("Claims", fnClaims, "The installer and admin API", 10, claimsEnv)
	grantTable(claims, table, fnClaims)
	var templateARNs []*string
	for _, t := range claimableTemplates(s) {
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
	// Approval asks whether the user still exists (AdminGetUser);
	// suspension revokes their refresh tokens. No group is written: the
	// role cannot add anyone to platform-admins.
	claims.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(claimsCognitoActions...),
		Resources: &[]*string{a.pool.UserPoolArn()},
	}))
	api = newAPI(stack, s, a.pool, claims)
	newWebACL(stack, s, api)

	// AWS IoT waits 5 s for the hook. Its store calls stop at the 2 s
	// deadline, so 3 s is ample and still leaves IoT time to act on a denial.
	hook := fn("ProvisionHook", fnProvisionHook, "Allows or denies each device registration",
		3, map[string]*string{
			config.EnvTableName:    table.TableName(),
			config.EnvHookDeadline: jsii.String(config.DefaultHookDeadline.String()),
		})
	grantTable(hook, table, fnProvisionHook)
	prov := newProvisioning(stack, s, hook)
	checkTemplatesGuarded(stack, s, prov, hook)
	life := newLifecycle(stack, s, props.AssetDir, table, claims, hook)

	seedTenants(stack, s, table)
	newObservability(stack, s, observed{api: api, table: table, hook: hook, functions: map[string]awslambda.Function{
		fnClaims: claims, fnPostConfirm: postConfirm, fnPreToken: preToken, fnProvisionHook: hook,
		fnPresence: life.presence}})

	output := func(id, description string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
			Description: jsii.String(description), Value: value,
		})
	}
	if site != nil {
		// CognitoEndpoint and CAPEM stay empty, as for any AWS deployment:
		// the page calls Cognito's regional endpoint, and AWS IoT's
		// endpoint chains to Amazon's public roots.
		deployConsole(stack, s, *site, props.ConsoleDir, console.Config{
			Region:     *stack.Region(),
			UserPoolID: *a.pool.UserPoolId(),
			ClientID:   *a.client.UserPoolClientId(),
			APIURL:     *api.Url(),
		})
		output("ConsoleUrl", "The installer and admin console", site.url)
		output("ConsoleDistributionDomainName", "The console's CloudFront name: where a consoleDomainName record points",
			site.distribution.DistributionDomainName())
	}
	output("ApiUrl", "Base URL of the fleetclaim API", api.Url())
	output("Region", "AWS Region of this deployment", stack.Region())
	output("UserPoolId", "Cognito user pool of installers and admins", a.pool.UserPoolId())
	output("UserPoolClientId", "App client ID for the installer app", a.client.UserPoolClientId())
	output("ProvisioningTemplateName", "Fleet provisioning template devices register with", prov.templates[0].Ref())
	output("DevicePolicyName", "AWS IoT policy attached to every provisioned device", prov.devicePolicy.Ref())
	output("TableName", "DynamoDB table holding all fleetclaim state", table.TableName())
	output("IoTDataEndpointHint", "How to look up the AWS IoT data endpoint devices connect to",
		jsii.String("aws iot describe-endpoint --endpoint-type iot:Data-ATS --region "+*stack.Region()))
	return stack
}

// apiOrigin is the API's origin, as the console's content security policy
// names it. It is built from the API's ID rather than taken
// from api.Url(), which names the stage: the stage depends (through the
// methods and the claims function's allowed origin) on the console's
// distribution, whose headers name this origin.
func apiOrigin(stack awscdk.Stack, api awsapigateway.RestApi) *string {
	return jsii.String("https://" + *api.RestApiId() + ".execute-api." + *stack.Region() + "." + *stack.UrlSuffix())
}

// lazyString is a value computed at synthesis (awscdk.Lazy_String).
type lazyString struct{ produce func() *string }

// Produce returns the value.
func (l *lazyString) Produce() *string { return l.produce() }

// claimsCognitoActions are the Cognito admin calls the claims function makes
// (shared/cognitoadmin): AdminGetUser before an approval, global sign-out on
// a suspension.
var claimsCognitoActions = []string{"cognito-idp:AdminGetUser", "cognito-idp:AdminUserGlobalSignOut"}

// checkTemplatesGuarded fails synthesis unless every template a claim may
// name (the claims function's allowed templates) is one this stack creates
// with our hook and a permission for AWS IoT to call it: the deploy-time
// proof that the hook guards every claim. It reads the constructs, so an
// edit that adds a template some other way, or lists one the stack does not
// create, stops at `cdk synth`.
func checkTemplatesGuarded(stack awscdk.Stack, s Settings, p provisioning, hook awslambda.Function) {
	stack.Node().AddValidation(&templateCheck{names: claimableTemplates(s), p: p, hook: hook, stack: stack})
}

// templateCheck is checkTemplatesGuarded's validation.
type templateCheck struct {
	names []string
	p     provisioning
	hook  awslambda.Function
	stack awscdk.Stack
}

// Validate lists each claimable template that no template construct
// creates with the hook as its target.
func (c *templateCheck) Validate() *[]*string {
	var problems []*string
	guarded := map[string]bool{}
	for _, t := range c.p.templates {
		// Tokens resolve to the same CloudFormation expression only when
		// they name the same function.
		h, _ := c.stack.Resolve(t.PreProvisioningHook()).(map[string]any)
		if reflect.DeepEqual(h["targetArn"], c.stack.Resolve(c.hook.FunctionArn())) && h["payloadVersion"] == hookPayloadVersion {
			guarded[*t.TemplateName()] = true
		}
	}
	for _, name := range c.names {
		if !guarded[name] {
			problems = append(problems, jsii.String("claims may name provisioning template "+name+
				", which this stack does not create with the fleetclaim pre-provisioning hook"))
		}
	}
	return &problems
}
