package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// trustedService lets an AWS service assume a role only on behalf of this
// account (aws:SourceAccount) and, given sourceARN, only for resources that
// match it (aws:SourceArn): the cross-service confused-deputy guard AWS
// recommends. Without it, anyone who may pass the role to the service
// (iam:PassRole) could have the service act with it for a resource of
// theirs.
func trustedService(stack awscdk.Stack, service string, sourceARN *string) awsiam.IPrincipal {
	conditions := map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}}
	if sourceARN != nil {
		conditions["ArnLike"] = map[string]any{"aws:SourceArn": sourceARN}
	}
	return awsiam.NewServicePrincipal(jsii.String(service), nil).WithConditions(&conditions)
}

// lambdaTrust is the trust of a function's execution role: Lambda, acting
// for this account. Only aws:SourceAccount: Lambda documents aws:SourceArn
// for policies on functions (who may invoke them), not for the execution
// role it assumes, and a condition it does not set would refuse every
// invocation.
func lambdaTrust(stack awscdk.Stack) awsiam.IPrincipal {
	return trustedService(stack, "lambda.amazonaws.com", nil)
}
