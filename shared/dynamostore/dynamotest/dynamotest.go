// Package dynamotest gives tests a fresh DynamoDB store on the
// DynamoDB-compatible server that the test scripts start on 127.0.0.1
// (infra/scripts/test.sh exports FLEETCLAIM_TEST_DYNAMODB_ENDPOINT).
package dynamotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// EnvEndpoint names the server's URL.
const EnvEndpoint = "FLEETCLAIM_TEST_DYNAMODB_ENDPOINT"

// Open returns a store on a new table of its own. Without a server it skips
// the test, except under CI=true, where the DynamoDB tests must run.
func Open(t testing.TB) fleetclaim.Store {
	t.Helper()
	endpoint := os.Getenv(EnvEndpoint)
	if endpoint == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the DynamoDB tests (make test starts the server)", EnvEndpoint)
		}
		t.Skipf("%s is not set; run make test to start a DynamoDB-compatible server", EnvEndpoint)
	}
	if !strings.HasPrefix(endpoint, "http://127.") && !strings.HasPrefix(endpoint, "http://localhost") {
		t.Fatalf("%s=%s: tests only talk to loopback", EnvEndpoint, endpoint)
	}
	api := awsenv.DynamoDB(awsenv.Local("us-east-1"), endpoint)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	table := "test-" + hex.EncodeToString(b)
	if err := dynamostore.CreateTable(context.Background(), api, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return dynamostore.New(api, table)
}
