package fleetclaim_test

import (
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// storesUnderTest names every store implementation the concurrency tests run
// against.
func storesUnderTest(t *testing.T) map[string]func(t *testing.T) fleetclaim.Store {
	t.Helper()
	return map[string]func(t *testing.T) fleetclaim.Store{"bolt": openBolt}
}
