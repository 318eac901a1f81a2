package main

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/jsii-runtime-go"

	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
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
// Removing a tenant from the context leaves its record (installers, claims
// and devices still point at it); suspend it instead.
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
	for _, t := range s.Tenants {
		put := &customresources.AwsSdkCall{
			Service: jsii.String("DynamoDB"),
			Action:  jsii.String("PutItem"),
			Parameters: map[string]any{
				"TableName": table.TableName(),
				"Item":      tenantItem(t),
			},
			PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("TENANT#" + t.ID)),
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

// tenantItem is a tenant record as the store adapter reads it, in DynamoDB's
// attribute-value JSON.
func tenantItem(t TenantSeed) map[string]any {
	s := func(v string) map[string]any { return map[string]any{"S": v} }
	domains := make([]any, 0, len(t.AutoApproveDomains))
	for _, d := range t.AutoApproveDomains {
		domains = append(domains, s(d))
	}
	item := map[string]any{
		dynamostore.AttrPK:   s("TENANT#" + t.ID),
		dynamostore.AttrSK:   s("TENANT"),
		"id":                 s(t.ID),
		"name":               s(t.Name),
		"status":             s(t.Status),
		"autoApproveDomains": map[string]any{"L": domains},
		"claimsPerHour":      map[string]any{"N": strconv.Itoa(t.ClaimsPerHour)},
	}
	// Written only when true, as the store adapter writes it.
	if t.InstallersMayDecommission {
		item["installersMayDecommission"] = map[string]any{"BOOL": true}
	}
	return item
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
