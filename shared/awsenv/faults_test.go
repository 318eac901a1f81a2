package awsenv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
)

// dynamoAnswer is one answer of the DynamoDB JSON protocol: 200 with an
// empty object, or an error of the named type.
type dynamoAnswer struct {
	status  int
	errType string
}

// CountFaults counts, over real HTTP, each failed operation once after the
// SDK's retries, and never a failed condition or a call a retry saved.
func TestCountFaults(t *testing.T) {
	ok := dynamoAnswer{status: 200}
	throttled := dynamoAnswer{400, "ThrottlingException"}
	tests := []struct {
		name       string
		answers    []dynamoAnswer // in turn; the last repeats
		wantFaults int64
		wantCalls  int64
	}{
		{"success", []dynamoAnswer{ok}, 0, 1},
		{"failed condition", []dynamoAnswer{{400, "ConditionalCheckFailedException"}}, 0, 1},
		{"throttled, then saved by a retry", []dynamoAnswer{throttled, ok}, 0, 2},
		{"throttled past every retry", []dynamoAnswer{throttled}, 1, 2},
		{"server fault", []dynamoAnswer{{500, "InternalServerError"}}, 1, 2},
		{"access denied", []dynamoAnswer{{400, "AccessDeniedException"}}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				a := tt.answers[min(n, len(tt.answers)-1)]
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				if a.errType != "" {
					w.Header().Set("X-Amzn-ErrorType", a.errType)
				}
				w.WriteHeader(a.status)
				if a.errType != "" {
					_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#` + a.errType + `","message":"m"}`))
					return
				}
				_, _ = w.Write([]byte(`{}`))
			}))
			t.Cleanup(srv.Close)
			cfg := awsenv.Local("local-1")
			cfg.Retryer = func() aws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 2
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				})
			}
			var faults atomic.Int64
			client := awsenv.DynamoDB(cfg, srv.URL, awsenv.CountFaults(func(context.Context) { faults.Add(1) }))

			_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("t"),
				Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}}})

			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("requests: got %d, want %d", got, tt.wantCalls)
			}
			if got := faults.Load(); got != tt.wantFaults {
				t.Errorf("faults: got %d, want %d (error %v)", got, tt.wantFaults, err)
			}
			if wantErr := tt.answers[len(tt.answers)-1].errType; (err != nil) != (wantErr != "") ||
				(err != nil && !strings.Contains(err.Error(), wantErr)) {
				t.Errorf("got error %v, want %q", err, wantErr)
			}
		})
	}
}
