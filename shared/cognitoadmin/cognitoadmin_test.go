package cognitoadmin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/shared/cognitoadmin"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

const pool = "eu-west-1_AbC123xyz"

// userPools records the Cognito JSON API calls it receives on a loopback
// port and answers each with failWith, when set, as Cognito does.
type userPools struct {
	mu       sync.Mutex
	calls    []string // "<operation> <body>"
	failWith string   // an exception name
}

func (u *userPools) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
	b, _ := json.Marshal(body)
	u.mu.Lock()
	u.calls = append(u.calls, op+" "+string(b))
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if u.failWith != "" {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": u.failWith, "message": "refused"})
		return
	}
	_, _ = w.Write([]byte("{}"))
}

func groups(t *testing.T, u *userPools) *cognitoadmin.Groups {
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	return cognitoadmin.New(cip.New(cip.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	}), pool)
}

// Each method is one admin call on the configured pool, for the user given,
// and nothing else.
func TestCalls(t *testing.T) {
	u := &userPools{}
	g := groups(t, u)
	ctx := context.Background()
	if exists, err := g.UserExists(ctx, "ana"); err != nil || !exists {
		t.Fatalf("UserExists: got %v, %v, want true, nil", exists, err)
	}
	if err := g.SignOutEverywhere(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`AdminGetUser {"UserPoolId":"` + pool + `","Username":"ana"}`,
		`AdminUserGlobalSignOut {"UserPoolId":"` + pool + `","Username":"ana"}`,
	}
	if strings.Join(u.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("got calls\n%s\nwant\n%s", strings.Join(u.calls, "\n"), strings.Join(want, "\n"))
	}
}

// A missing user is an answer, not a fault: UserExists says false, and
// SignOutEverywhere reports fleetclaim.ErrNotFound. Other refusals come back
// as errors that keep the SDK's typed exception.
func TestErrors(t *testing.T) {
	u := &userPools{failWith: "UserNotFoundException"}
	g := groups(t, u)
	ctx := context.Background()
	if exists, err := g.UserExists(ctx, "ana"); err != nil || exists {
		t.Errorf("UserExists of a deleted user: got %v, %v, want false, nil", exists, err)
	}
	if err := g.SignOutEverywhere(ctx, "ana"); !errors.Is(err, fleetclaim.ErrNotFound) {
		t.Errorf("SignOutEverywhere of a deleted user: got %v, want ErrNotFound", err)
	}
	u.failWith = "TooManyRequestsException"
	var throttled *types.TooManyRequestsException
	if _, err := g.UserExists(ctx, "ana"); !errors.As(err, &throttled) {
		t.Errorf("UserExists: got %v, want a TooManyRequestsException", err)
	}
	if err := g.SignOutEverywhere(ctx, "ana"); !errors.As(err, &throttled) || errors.Is(err, fleetclaim.ErrNotFound) {
		t.Errorf("SignOutEverywhere: got %v, want a TooManyRequestsException", err)
	}
}
