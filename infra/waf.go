package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"
)

// newWebACL puts an AWS WAF web ACL in front of the API stage when the
// deployment asks for one (wafRateLimit > 0): one rate-based rule blocks a
// client IP address that sends more than the limit in any 5 minutes, before
// API Gateway, the authorizer or the function see the request. It is the
// guard against floods the per-installer allowance cannot see (requests
// without a valid token, or spread over many tokens). Off by default: a web
// ACL costs a monthly fee per ACL and rule.
func newWebACL(stack awscdk.Stack, s Settings, api awsapigateway.RestApi) {
	if s.WAFRateLimit <= 0 {
		return
	}
	metric := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String(name),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	acl := awswafv2.NewCfnWebACL(stack, jsii.String("ApiWebACL"), &awswafv2.CfnWebACLProps{
		Name:             jsii.String("fleetclaim-" + s.Stage + "-api"),
		Description:      jsii.String("fleetclaim API: rate limit per client IP address"),
		Scope:            jsii.String("REGIONAL"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: &awswafv2.CfnWebACL_AllowActionProperty{}},
		VisibilityConfig: metric("fleetclaim-" + s.Stage + "-api"),
		Rules: &[]any{&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String("rate-per-ip"),
			Priority: jsii.Number(0),
			Action:   &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{
				RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
					Limit:               jsii.Number(float64(s.WAFRateLimit)),
					AggregateKeyType:    jsii.String("IP"),
					EvaluationWindowSec: jsii.Number(300),
				},
			},
			VisibilityConfig: metric("fleetclaim-" + s.Stage + "-rate-per-ip"),
		}},
	})
	awswafv2.NewCfnWebACLAssociation(stack, jsii.String("ApiWebACLAssociation"), &awswafv2.CfnWebACLAssociationProps{
		ResourceArn: api.DeploymentStage().StageArn(),
		WebAclArn:   acl.AttrArn(),
	})
}
