package fleetclaim_test

import (
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/dynamostore/dynamotest"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// storesUnderTest names every store implementation the concurrency tests run
// against: the embedded store, and DynamoDB's conditional writes on a real
// DynamoDB-compatible server (skipped without one, except in CI).
func storesUnderTest(t *testing.T) map[string]func(t *testing.T) fleetclaim.Store {
	t.Helper()
	return map[string]func(t *testing.T) fleetclaim.Store{
		"bolt":     func(t *testing.T) fleetclaim.Store { return fleetclaimtest.OpenBolt(t) },
		"dynamodb": func(t *testing.T) fleetclaim.Store { return dynamotest.Open(t) },
	}
}
