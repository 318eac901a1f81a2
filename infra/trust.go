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

// lambdaTrust is the trust of a function's execution role: Lambda, for a
// function of this account and Region. The function's own ARN cannot be
// named: the function depends on its role.
func lambdaTrust(stack awscdk.Stack) awsiam.IPrincipal {
	return trustedService(stack, "lambda.amazonaws.com", stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("lambda"),
		Resource:     jsii.String("function"),
		ResourceName: jsii.String("*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	}))
}
