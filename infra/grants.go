package main

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"

	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
)

// storeCalls lists, for each function, the store methods its code calls.
// Its table grants are derived from it through dynamostore.Actions (which
// TestActions in shared/dynamostore proves against the store's own calls),
// so a grant exists only for a call that some path makes.
var storeCalls = map[string][]string{
	// The API: fleetclaim.Service (claims, devices, installers, audit, the
	// claim quota) and fleetclaim.RateLimiter.
	fnClaims: {"CreateClaim", "GetClaim", "UpdateClaim", "ListClaims", "GetDevice", "ListDevices",
		"GetInstaller", "SetInstallerStatus", "ListInstallers", "GetTenant", "TakeQuota", "AppendAudit", "ListAudit"},
	// fleetclaim.Enrollment.Register: the record, the tenant, the daily
	// auto-approval cap, the audit event.
	fnPostConfirm: {"GetInstaller", "GetTenant", "TakeQuota", "CreateInstaller", "AppendAudit"},
	// fleetclaim.Enrollment.SignIn: the record, and Register when it is
	// missing (post-confirmation repair).
	fnPreToken: {"GetInstaller", "GetTenant", "TakeQuota", "CreateInstaller", "AppendAudit"},
	// fleetclaim.Gatekeeper.Decide.
	fnProvisionHook: {"GetClaim", "GetInstaller", "GetTenant", "UpdateClaim", "AppendAudit"},
}

// tableActions are the DynamoDB actions a function's store calls use,
// sorted; it panics on a store method dynamostore.Actions does not know,
// which fails synthesis (and every infra test) rather than granting less
// than the code needs.
func tableActions(function string) []string {
	var out []string
	for _, method := range storeCalls[function] {
		actions, ok := dynamostore.Actions[method]
		if !ok {
			panic("dynamostore.Actions has no entry for store method " + method + " (" + function + ")")
		}
		out = append(out, actions...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// grantTable gives fn exactly the table actions its store calls use: item
// actions on the table, Query on the table and its indexes.
func grantTable(fn awslambda.Function, table awsdynamodb.ITable, function string) {
	var items []string
	for _, a := range tableActions(function) {
		if a == "dynamodb:Query" {
			allowQuery(fn, table)
			continue
		}
		items = append(items, a)
	}
	if len(items) > 0 {
		allowItems(fn, table, items...)
	}
}
