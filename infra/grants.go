package main

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"

	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
)

// tableActions are the DynamoDB actions a function's store calls use
// (app.StoreCalls, held to the handlers' calls by the events tests),
// sorted; it panics on a store method dynamostore.Actions does not know,
// which fails synthesis (and every infra test) rather than granting less
// than the code needs.
func tableActions(function string) []string {
	var out []string
	for _, method := range app.StoreCalls[function] {
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
