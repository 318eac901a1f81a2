package awsenv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
)

// An endpoint override sends each client's calls to it, and Local's
// configuration signs them with its dummy credentials, so a local stack's
// calls reach its stand-ins and nothing else.
func TestEndpointOverride(t *testing.T) {
	var hits atomic.Int32
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	cfg := awsenv.Local("local-1")
	cfg.RetryMaxAttempts = 1
	ctx := context.Background()

	_, _ = awsenv.DynamoDB(cfg, srv.URL).ListTables(ctx, &dynamodb.ListTablesInput{})
	_, _ = awsenv.IoT(cfg, srv.URL).DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: aws.String("iot:Data-ATS")})
	_, _ = awsenv.Cognito(cfg, srv.URL).AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{
		UserPoolId: aws.String("local-1_Abc"), Username: aws.String("ana")})
	if n := hits.Load(); n != 3 {
		t.Fatalf("the loopback server saw %d calls, want 3", n)
	}
	if a, _ := auth.Load().(string); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=local/") {
		t.Errorf("got Authorization %q, want one signed with the local credentials", a)
	}
}
