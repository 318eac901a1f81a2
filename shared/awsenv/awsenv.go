// Package awsenv builds AWS SDK clients from the Lambda environment, once per
// process, with an optional endpoint override that points a client at a local
// stand-in instead of AWS.
package awsenv

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/smithy-go/middleware"

	"github.com/fleetclaim/fleetclaim/shared/xray"
)

// Load reads the SDK configuration (region and credentials) from the
// environment, as Lambda provides it. Where Lambda runs an X-Ray daemon
// (active tracing sets AWS_XRAY_DAEMON_ADDRESS), every client built from it
// reports its calls in sampled invocations as subsegments (package xray);
// elsewhere, as in the local stack, nothing is added.
func Load(ctx context.Context) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if addr := os.Getenv(xray.DaemonAddressEnv); addr != "" {
		opts = append(opts, awsconfig.WithAPIOptions([]func(*middleware.Stack) error{xray.APIOption(addr)}))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// Local is the configuration for clients of local stand-ins: a fixed region
// and dummy static credentials, so nothing reads ~/.aws or reaches AWS.
func Local(region string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
}

// DynamoDB returns a DynamoDB client; endpoint, if set, replaces AWS's.
// Further options (CountFaults) apply after it.
func DynamoDB(cfg aws.Config, endpoint string, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, opts...)...)
}

// IoT returns an AWS IoT control-plane client; endpoint, if set, replaces AWS's.
func IoT(cfg aws.Config, endpoint string) *iot.Client {
	return iot.NewFromConfig(cfg, func(o *iot.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// Cognito returns a Cognito user pools client; endpoint, if set, replaces AWS's.
func Cognito(cfg aws.Config, endpoint string) *cip.Client {
	return cip.NewFromConfig(cfg, func(o *cip.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
