package main

import (
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore/dynamotest"
)

// TestMain stops the DynamoDB-compatible server that dynamotest started for
// this package's tests, if it started one.
func TestMain(m *testing.M) { dynamotest.Main(m) }

// onEachStore runs scenario once on each store the stack can run on, each
// time on a stack of its own, the two in parallel: the embedded store, and a
// table of its own on the DynamoDB-compatible server dynamotest names. The
// DynamoDB leg is skipped only where dynamotest skips (no node, outside CI);
// under CI=true a missing server fails it. The lifecycle's guarantees are
// each store's own conditional writes, so each must be seen to hold them
// through the whole system.
func onEachStore(t *testing.T, scenario func(t *testing.T, x *e2e)) {
	t.Helper()
	for _, store := range []string{"embedded", "dynamodb"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			var x *e2e
			if store == "dynamodb" {
				x = startStack(t, t.TempDir(), "-dynamodb-endpoint", dynamotest.Endpoint(t), "-table", "e2e-"+randomSuffix())
				if _, ok := x.stack.Store.(*dynamostore.Store); !ok {
					t.Fatalf("got a %T, want the stack on DynamoDB", x.stack.Store)
				}
			} else {
				x = startStack(t, t.TempDir())
				if _, ok := x.stack.Store.(*boltstore.Store); !ok {
					t.Fatalf("got a %T, want the stack on the embedded store", x.stack.Store)
				}
			}
			scenario(t, x)
		})
	}
}

// on returns x for use by subtest t, so that the helpers fail t, not the
// test that started the stack.
func (x *e2e) on(t *testing.T) *e2e {
	y := *x
	y.t = t
	return &y
}
