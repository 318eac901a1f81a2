package awsenv_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
)

// An endpoint override sends each client's calls to it, and Local's
// configuration signs them with its dummy credentials, so a local stack's
// calls reach its stand-ins and nothing else. Each client is checked on its
// own request: the service it signed for and the credentials it used.
func TestEndpointOverride(t *testing.T) {
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	cfg := awsenv.Local("local-1")
	cfg.RetryMaxAttempts = 1
	// Should an override be lost, the call fails here instead of leaving
	// the machine.
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != srv.Listener.Addr().String() {
				return nil, fmt.Errorf("dial %s: only the test server may be reached", addr)
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	ctx := context.Background()

	for _, c := range []struct {
		service string // as the signature's credential scope names it
		call    func()
	}{
		{"dynamodb", func() { _, _ = awsenv.DynamoDB(cfg, srv.URL).ListTables(ctx, &dynamodb.ListTablesInput{}) }},
		{"iot", func() {
			_, _ = awsenv.IoT(cfg, srv.URL).DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: aws.String("iot:Data-ATS")})
		}},
		{"cognito-idp", func() {
			_, _ = awsenv.Cognito(cfg, srv.URL).AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{
				UserPoolId: aws.String("local-1_Abc"), Username: aws.String("ana")})
		}},
	} {
		mu.Lock()
		before := len(auths)
		mu.Unlock()
		c.call()
		mu.Lock()
		got := auths[before:]
		mu.Unlock()
		want := "AWS4-HMAC-SHA256 Credential=local/"
		if len(got) != 1 || !strings.HasPrefix(got[0], want) || !strings.Contains(got[0], "/local-1/"+c.service+"/aws4_request") {
			t.Errorf("%s: the loopback server saw %q, want one request signed with the local credentials for %s", c.service, got, c.service)
		}
	}
}
