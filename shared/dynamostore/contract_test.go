package dynamostore_test

import (
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/dynamostore/dynamotest"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// TestContract runs the store contract against a real DynamoDB-compatible
// server (dynalite, started by make test).
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) fleetclaim.Store { return dynamotest.Open(t) })
}
