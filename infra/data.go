package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/jsii-runtime-go"

	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// newTable creates the single table. Its key, index and TTL names come from
// the store adapter's schema, so the two cannot disagree.
func newTable(stack awscdk.Stack, s Settings) awsdynamodb.Table {
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: str(dynamostore.AttrPK),
		SortKey:      str(dynamostore.AttrSK),
		// On demand: no capacity to plan, and nothing to pay while idle.
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(dynamostore.AttrTTL),
		// Claims are security records: keep 35 days of point-in-time history.
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// The AWS owned key: encrypted at rest at no cost, no KMS key to manage.
		Encryption:         awsdynamodb.TableEncryption_DEFAULT,
		DeletionProtection: jsii.Bool(s.RetainData),
		RemovalPolicy:      removalPolicy(s),
	})
	for _, gsi := range []struct{ name, pk, sk string }{
		{dynamostore.IndexByInstaller, dynamostore.AttrGSI1PK, dynamostore.AttrGSI1SK},
		{dynamostore.IndexByTenant, dynamostore.AttrGSI2PK, dynamostore.AttrGSI2SK},
	} {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(gsi.name),
			PartitionKey:   str(gsi.pk),
			SortKey:        str(gsi.sk),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	return table
}

// indexARNs are the table's indexes, named one by one rather than as
// "index/*" so that a grant covers exactly what the store queries.
func indexARNs(table awsdynamodb.ITable) []*string {
	return []*string{
		jsii.String(*table.TableArn() + "/index/" + dynamostore.IndexByInstaller),
		jsii.String(*table.TableArn() + "/index/" + dynamostore.IndexByTenant),
	}
}

// seedTenants writes each tenant from the context into the table at deploy
// time: a PutItem per tenant, repeated whenever the tenant's settings change.
// The context is a seed, not the truth: the PutItem is conditional on
// dynamostore.SeedCondition (no record yet, or one with revision 0, which
// only the seed writes), so a tenant that a platform admin created or
// changed through the API (revision 1 and up) is left as the API made it,
// and its seed is skipped (the condition's failure is ignored, so the
// deployment goes on). Removing a tenant from the context leaves its record
// (installers, claims and devices still point at it); suspend it instead.
func seedTenants(stack awscdk.Stack, s Settings, table awsdynamodb.Table) {
	if len(s.Tenants) == 0 {
		return
	}
	logs := newLogGroup(stack, "TenantSeedLogs", s)
	// One role for the provider function that every AwsCustomResource in a
	// stack shares: it may write its own logs and put items, nothing else.
	role := awsiam.NewRole(stack, jsii.String("TenantSeedRole"), &awsiam.RoleProps{
		AssumedBy:   lambdaTrust(stack),
		Description: jsii.String("Seeds tenant records into the fleetclaim table at deploy time"),
	})
	logs.GrantWrite(role)
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:PutItem"),
		Resources: &[]*string{table.TableArn()},
	}))
	zero, err := dynamostore.AttributeJSON(dynamostore.SeedConditionValues())
	if err != nil {
		panic(err) // a number always encodes
	}
	for _, t := range s.Tenants {
		item, err := dynamostore.TenantItem(fleetclaim.Tenant{ID: fleetclaim.TenantID(t.ID), Name: t.Name,
			Status: fleetclaim.TenantStatus(t.Status), AutoApproveDomains: t.AutoApproveDomains, ClaimsPerHour: t.ClaimsPerHour,
			InstallersMayDecommission: t.InstallersMayDecommission})
		if err != nil {
			panic(err) // strings, numbers and a list of strings always encode
		}
		put := &customresources.AwsSdkCall{
			Service: jsii.String("DynamoDB"),
			Action:  jsii.String("PutItem"),
			Parameters: map[string]any{
				"TableName":                 table.TableName(),
				"Item":                      item,
				"ConditionExpression":       dynamostore.SeedCondition,
				"ExpressionAttributeValues": zero,
			},
			// A tenant the API changed since fails the condition: that is
			// the seed standing aside, not a failed deployment.
			IgnoreErrorCodesMatching: jsii.String("ConditionalCheckFailedException"),
			PhysicalResourceId:       customresources.PhysicalResourceId_Of(jsii.String("TENANT#" + t.ID)),
		}
		customresources.NewAwsCustomResource(stack, jsii.String("Tenant-"+t.ID), &customresources.AwsCustomResourceProps{
			OnCreate: put,
			OnUpdate: put,
			Role:     role,
			LogGroup: logs,
			// The SDK in the Lambda runtime suffices for PutItem; fetching the
			// latest one would need npmjs.com at deploy time.
			InstallLatestAwsSdk: jsii.Bool(false),
		})
	}
}

// removalPolicy is what happens to stateful resources when the stack goes.
func removalPolicy(s Settings) awscdk.RemovalPolicy {
	if s.RetainData {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

// newLogGroup creates a log group with the deployment's retention.
func newLogGroup(stack awscdk.Stack, id string, s Settings) awslogs.LogGroup {
	return awslogs.NewLogGroup(stack, jsii.String(id), &awslogs.LogGroupProps{
		Retention:     retentionByDays[s.LogRetentionDays],
		RemovalPolicy: removalPolicy(s),
	})
}
