// Package dynamotest gives tests a fresh DynamoDB store on a
// DynamoDB-compatible server on 127.0.0.1.
//
// The server is the one named by FLEETCLAIM_TEST_DYNAMODB_ENDPOINT (make test
// and infra/scripts/test.sh start one for the whole run). When the variable
// is unset, the first Open starts dynalite itself, installed by
// infra/scripts/dynalite.sh, so that a plain `go test ./...` runs the
// DynamoDB tests too; Main stops it when the package's tests end.
package dynamotest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// EnvEndpoint names the server's URL.
const EnvEndpoint = "FLEETCLAIM_TEST_DYNAMODB_ENDPOINT"

// Main runs a package's tests and then stops the server that Open started,
// if it started one. Call it from TestMain:
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
// Without it the server still ends with the test process on Linux, where it
// is started with a parent-death signal.
func Main(m *testing.M) {
	code := m.Run()
	if own != nil {
		own.stop()
	}
	os.Exit(code)
}

var (
	startOnce sync.Once
	own       *server // started by this process, if any
	ownErr    error
)

// Endpoint returns the URL of the server the tests use, starting one if
// EnvEndpoint is unset. It skips the test only when node is missing and CI
// is not "true"; any other failure to start the server fails the test, so
// a broken install is never mistaken for a machine without node.
func Endpoint(t testing.TB) string {
	t.Helper()
	endpoint := os.Getenv(EnvEndpoint)
	if endpoint == "" {
		startOnce.Do(func() { own, ownErr = start() })
		switch {
		case errors.Is(ownErr, errNoNode) && os.Getenv("CI") != "true":
			t.Skipf("no DynamoDB-compatible server: %s is unset and %v", EnvEndpoint, ownErr)
		case ownErr != nil:
			t.Fatalf("no DynamoDB-compatible server: %s is unset and none could be started: %v", EnvEndpoint, ownErr)
		}
		endpoint = own.endpoint
	}
	if !strings.HasPrefix(endpoint, "http://127.") && !strings.HasPrefix(endpoint, "http://localhost:") {
		t.Fatalf("%s=%s: tests only talk to loopback", EnvEndpoint, endpoint)
	}
	return endpoint
}

// Open returns a store on a new table of its own, so that tests running in
// parallel never see each other's items.
func Open(t testing.TB) fleetclaim.Store {
	t.Helper()
	api := awsenv.DynamoDB(awsenv.Local("us-east-1"), Endpoint(t))
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	table := "test-" + hex.EncodeToString(b)
	if err := dynamostore.CreateTable(t.Context(), api, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return dynamostore.New(api, table)
}
