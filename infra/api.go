package main

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// apiStageName is the API Gateway stage: the URL's first path segment.
// It versions the API rather than naming the deployment, which the stack
// name and the host already do.
const apiStageName = "v1"

// issueClaimOperation is the route whose JSON body API Gateway checks before
// the function runs.
const issueClaimOperation = "issueClaim"

// newAPI creates the REST API: one method per apigw.Routes entry, each
// behind the Cognito authorizer with the route's scope, all proxied to the
// claims function. Building it from the same list the handler serves keeps
// the two from drifting.
func newAPI(stack awscdk.Stack, s Settings, pool awscognito.IUserPool, claims awslambda.Function) awsapigateway.RestApi {
	accessLogs := newLogGroup(stack, "ApiAccessLogs", s)
	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		RestApiName: jsii.String("fleetclaim-" + s.Stage),
		Description: jsii.String("fleetclaim installer and admin API"),
		// Regional: the installer app calls it directly; an edge endpoint
		// would add a CloudFront hop we do not need.
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Access logging needs the account's API Gateway CloudWatch role.
		CloudWatchRole:              jsii.Bool(s.APIGatewayCloudWatchRole),
		CloudWatchRoleRemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(apiStageName),
			ThrottlingRateLimit:  jsii.Number(s.ThrottleRate),
			ThrottlingBurstLimit: jsii.Number(float64(s.ThrottleBurst)),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat())),
			// Execution logs at ERROR only, and never data tracing: a claim
			// response carries a private key, which must not reach a log.
			LoggingLevel:     awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled: jsii.Bool(false),
			MetricsEnabled:   jsii.Bool(true),
			// X-Ray traces each request through the stage into the function.
			TracingEnabled: jsii.Bool(true),
		},
		// The preflight answers come from API Gateway itself; the function
		// adds the same origin to its own answers.
		DefaultCorsPreflightOptions: &awsapigateway.CorsOptions{
			AllowOrigins: jsii.Strings(s.AllowedOrigin),
			AllowMethods: jsii.Strings(routeMethods()...),
			AllowHeaders: jsii.Strings("Authorization", "Content-Type"),
			MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
		},
	})

	// API Gateway's account-level logging role, which the CDK makes: only
	// API Gateway acting for this account may assume it.
	if role, ok := api.Node().TryFindChild(jsii.String("CloudWatchRole")).(awsiam.Role); ok && role != nil {
		role.Node().DefaultChild().(awsiam.CfnRole).AddPropertyOverride(
			jsii.String("AssumeRolePolicyDocument.Statement.0.Condition"),
			map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}})
	}

	authorizer := awsapigateway.NewCognitoUserPoolsAuthorizer(stack, jsii.String("ApiAuthorizer"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{pool},
		AuthorizerName:   jsii.String("fleetclaim-cognito"),
		IdentitySource:   jsii.String("method.request.header.Authorization"),
	})
	// One validator for every method: request parameters are always
	// checked, bodies where a method has a model. The function checks every
	// body again (and caps it at apigw.MaxBodyBytes): API Gateway itself
	// only refuses bodies over its fixed 10 MB.
	validator := api.AddRequestValidator(jsii.String("Validator"), &awsapigateway.RequestValidatorOptions{
		RequestValidatorName:      jsii.String("fleetclaim-body-and-parameters"),
		ValidateRequestBody:       jsii.Bool(true),
		ValidateRequestParameters: jsii.Bool(true),
	})
	issueClaimModel := api.AddModel(jsii.String("IssueClaimRequest"), &awsapigateway.ModelOptions{
		ContentType: jsii.String("application/json"),
		ModelName:   jsii.String("IssueClaimRequest"),
		Schema:      issueClaimSchema(),
	})

	integration := awsapigateway.NewLambdaIntegration(claims, &awsapigateway.LambdaIntegrationOptions{
		Proxy: jsii.Bool(true),
		// The console's test button bypasses the authorizer; no permission
		// for it.
		AllowTestInvoke: jsii.Bool(false),
	})
	for _, r := range apigw.Routes {
		opts := &awsapigateway.MethodOptions{
			OperationName:       jsii.String(r.Operation),
			AuthorizationType:   awsapigateway.AuthorizationType_COGNITO,
			Authorizer:          authorizer,
			AuthorizationScopes: jsii.Strings(r.Scope),
			RequestValidator:    validator,
		}
		if r.Operation == issueClaimOperation {
			opts.RequestModels = &map[string]awsapigateway.IModel{"application/json": issueClaimModel}
		}
		api.Root().ResourceForPath(jsii.String(r.Path)).AddMethod(jsii.String(r.Method), integration, opts)
	}

	addProblemResponses(api, s.AllowedOrigin)

	cdknag.NagSuppressions_AddResourceSuppressions(api, &[]*cdknag.NagPackSuppression{
		{
			Id: jsii.String("AwsSolutions-APIG3"),
			Reason: jsii.String("No WAF web ACL by default: it costs a fixed monthly fee per ACL and rule; stage " +
				"throttling, Cognito authorization on every method and per-installer quotas bound abuse"),
		},
		{
			Id: jsii.String("AwsSolutions-IAM4"),
			Reason: jsii.String("API Gateway's account-level CloudWatch role uses the AWS managed " +
				"AmazonAPIGatewayPushToCloudWatchLogs policy, which holds only CloudWatch Logs actions and " +
				"is the policy AWS documents for this role"),
			AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"},
		},
	}, jsii.Bool(true))
	return api
}

// routeMethods are the HTTP methods the routes use, for CORS.
func routeMethods() []string {
	var methods []string
	for _, r := range apigw.Routes {
		if !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	return methods
}

// issueClaimSchema is the shape of a POST /claims body, bounded by the same
// limits the domain validates, so that an oversized or mistyped body is
// refused before it costs an invocation. The function still validates each
// field fully (characters, template allow-list) and says which one is wrong.
func issueClaimSchema() *awsapigateway.JsonSchema {
	str := func(minLen, maxLen int) *awsapigateway.JsonSchema {
		return &awsapigateway.JsonSchema{
			Type:      awsapigateway.JsonSchemaType_STRING,
			MinLength: jsii.Number(float64(minLen)),
			MaxLength: jsii.Number(float64(maxLen)),
		}
	}
	return &awsapigateway.JsonSchema{
		Schema:   awsapigateway.JsonSchemaVersion_DRAFT4,
		Title:    jsii.String("IssueClaimRequest"),
		Type:     awsapigateway.JsonSchemaType_OBJECT,
		Required: jsii.Strings("serialNumber"),
		Properties: &map[string]*awsapigateway.JsonSchema{
			"serialNumber": str(1, fleetclaim.MaxSerialLength),
			"template":     str(0, fleetclaim.MaxTemplateLength),
			"site":         str(0, fleetclaim.MaxSiteLength),
		},
	}
}

// addProblemResponses deploys apigw.GatewayResponses: API Gateway's own
// errors become RFC 9457 problem documents with the stable code, carrying
// the headers the installer app's origin needs to read them. The local API
// stand-in answers from the same list.
func addProblemResponses(api awsapigateway.RestApi, origin string) {
	for _, r := range apigw.GatewayResponses {
		headers := map[string]*string{}
		for name, value := range r.Headers(origin) {
			// Response parameters are mapping expressions: a static
			// value is quoted.
			headers[name] = jsii.String("'" + value + "'")
		}
		opts := &awsapigateway.GatewayResponseOptions{
			Type:            awsapigateway.ResponseType_Of(jsii.String(r.Type)),
			ResponseHeaders: &headers,
			Templates:       &map[string]*string{"application/json": jsii.String(r.Template())},
		}
		if r.Status != 0 {
			opts.StatusCode = jsii.String(strconv.Itoa(r.Status))
		}
		api.AddGatewayResponse(jsii.String("Problem-"+r.Type), opts)
	}
}

// accessLogFormat is one JSON object per request. Every value is quoted so a
// missing one (an unauthenticated request has no sub) still yields JSON.
func accessLogFormat() string {
	b, err := json.Marshal(map[string]string{
		"requestId":          "$context.requestId",
		"extendedRequestId":  "$context.extendedRequestId",
		"requestTime":        "$context.requestTimeEpoch",
		"ip":                 "$context.identity.sourceIp",
		"userAgent":          "$context.identity.userAgent",
		"httpMethod":         "$context.httpMethod",
		"resourcePath":       "$context.resourcePath",
		"path":               "$context.path",
		"protocol":           "$context.protocol",
		"status":             "$context.status",
		"responseLength":     "$context.responseLength",
		"responseLatency":    "$context.responseLatency",
		"integrationLatency": "$context.integration.latency",
		"integrationStatus":  "$context.integration.status",
		"sub":                "$context.authorizer.claims.sub",
		"error":              "$context.error.message",
		"errorType":          "$context.error.responseType",
	})
	if err != nil {
		panic(err) // a constant map of strings always encodes
	}
	return string(b)
}
