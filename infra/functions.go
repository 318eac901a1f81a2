package main

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
)

// The functions, by their directory under functions/ and under the asset
// directory, where `make build` writes each one's bootstrap.
const (
	fnClaims        = app.FnClaims
	fnPostConfirm   = app.FnPostConfirm
	fnPreToken      = app.FnPreToken
	fnProvisionHook = app.FnProvisionHook
	fnPresence      = app.FnPresence
)

// FunctionNames lists every function the stack deploys; the asset directory
// must hold <name>/bootstrap for each.
var FunctionNames = []string{fnClaims, fnPostConfirm, fnPreToken, fnProvisionHook, fnPresence}

// goFunction describes one Go function.
type goFunction struct {
	id          string // construct ID
	name        string // one of FunctionNames
	description string
	// timeout stays well under the caller's own limit, so that the caller
	// sees our answer (or our error) rather than its own timeout.
	timeout awscdk.Duration
	env     map[string]*string
}

// newGoFunction creates a function from a bootstrap binary built for
// provided.al2023 on arm64 (Graviton: cheaper per millisecond, and Go
// cross-compiles to it trivially). Each function gets its own role and its
// own log group; the role may write to that log group and nothing else until
// the caller grants more.
func newGoFunction(stack awscdk.Stack, s Settings, assetDir string, f goFunction) awslambda.Function {
	logs := newLogGroup(stack, f.id+"Logs", s)
	role := awsiam.NewRole(stack, jsii.String(f.id+"Role"), &awsiam.RoleProps{
		AssumedBy:   lambdaTrust(stack),
		Description: jsii.String("Execution role of the fleetclaim " + f.name + " function"),
	})
	logs.GrantWrite(role)

	env := map[string]*string{
		config.EnvLogLevel:         jsii.String(s.LogLevel),
		config.EnvMetricsNamespace: jsii.String(metricsNamespace(s)),
	}
	for k, v := range f.env {
		env[k] = v
	}
	fn := awslambda.NewFunction(stack, jsii.String(f.id), &awslambda.FunctionProps{
		Description:  jsii.String(f.description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(assetDir, f.name)), nil),
		// 256 MB: a Go handler needs about 30 MB, but Lambda allots CPU in
		// proportion to memory, and the TLS handshakes and signing of a cold
		// start finish markedly sooner with more than the 128 MB minimum. At
		// this traffic the cost difference is cents.
		MemorySize:  jsii.Number(256),
		Timeout:     f.timeout,
		Environment: &env,
		Role:        role,
		LogGroup:    logs,
		// The handlers log JSON through log/slog; the JSON format makes
		// Lambda's own START/END/REPORT lines JSON too, so one query language
		// covers both.
		LoggingFormat: awslambda.LoggingFormat_JSON,
		// X-Ray traces each invocation (see "Observability" in the README
		// for why the SDK calls inside are not segments of their own).
		Tracing: awslambda.Tracing_ACTIVE,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Active tracing grants xray:PutTraceSegments and xray:PutTelemetryRecords, which " +
			"support no resource-level permissions, so AWS accepts only \"*\"; they only send trace data"),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
	return fn
}

// allowItems lets a function use the given item actions on the table itself.
func allowItems(fn awslambda.Function, table awsdynamodb.ITable, actions ...string) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{table.TableArn()},
	}))
}

// allowQuery lets a function query the table and each of its indexes.
func allowQuery(fn awslambda.Function, table awsdynamodb.ITable) {
	resources := append([]*string{table.TableArn()}, indexARNs(table)...)
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:Query"),
		Resources: &resources,
	}))
}
