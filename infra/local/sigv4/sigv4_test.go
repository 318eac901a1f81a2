package sigv4_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/fleetclaim/fleetclaim/infra/local/sigv4"
)

var creds = aws.Credentials{AccessKeyID: "AKIDLOCALTEST", SecretAccessKey: "secret-made-at-start"}

// server verifies every request with v and records the outcome.
type server struct {
	v    sigv4.Verifier
	mu   sync.Mutex
	errs []error
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := s.v.Verify(r, body)
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

func (s *server) last(t *testing.T) error {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		t.Fatal("no request arrived")
	}
	return s.errs[len(s.errs)-1]
}

// The SDK clients the local stack uses pass when they sign with the
// verifier's credentials, for both protocols the stand-ins speak (Cognito's
// JSON 1.1 with a body, AWS IoT's REST JSON with path and query), and fail
// with any other credentials.
func TestSDKClients(t *testing.T) {
	for _, tt := range []struct {
		name    string
		service string
		call    func(srv *httptest.Server, c aws.Credentials)
	}{
		{"Cognito admin call", "cognito-idp", func(srv *httptest.Server, c aws.Credentials) {
			client := cip.New(cip.Options{Region: "local-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
				Credentials: credentials.StaticCredentialsProvider{Value: c}, RetryMaxAttempts: 1})
			_, _ = client.AdminAddUserToGroup(context.Background(), &cip.AdminAddUserToGroupInput{
				UserPoolId: aws.String("local-1_Abc"), Username: aws.String("ana ü"), GroupName: aws.String("installers")})
		}},
		{"AWS IoT control plane, path and query", "iot", func(srv *httptest.Server, c aws.Credentials) {
			client := iot.New(iot.Options{Region: "local-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
				Credentials: credentials.StaticCredentialsProvider{Value: c}, RetryMaxAttempts: 1})
			_, _ = client.DescribeEndpoint(context.Background(), &iot.DescribeEndpointInput{EndpointType: aws.String("iot:Data-ATS")})
			_, _ = client.CreateProvisioningClaim(context.Background(), &iot.CreateProvisioningClaimInput{TemplateName: aws.String("fleet")})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &server{v: sigv4.Verifier{Credentials: creds, Region: "local-1", Service: tt.service}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			tt.call(srv, creds)
			for _, err := range s.errs {
				if err != nil {
					t.Errorf("the stack's own signature refused: %v", err)
				}
			}
			for name, other := range map[string]aws.Credentials{
				"another access key": {AccessKeyID: "AKIDSOMEONEELSE", SecretAccessKey: creds.SecretAccessKey},
				"another secret":     {AccessKeyID: creds.AccessKeyID, SecretAccessKey: "guessed"},
			} {
				tt.call(srv, other)
				if err := s.last(t); err == nil {
					t.Errorf("%s: accepted", name)
				}
			}
		})
	}
}

// signed returns a request signed as the SDK would, at the given time.
func signed(t *testing.T, body string, at time.Time, service string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9229/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminAddUserToGroup")
	r.ContentLength = int64(len(body))
	if err := sigv4.Sign(r, []byte(body), creds, "local-1", service, at); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	v := sigv4.Verifier{Credentials: creds, Region: "local-1", Service: "cognito-idp", Now: func() time.Time { return now }}
	body := `{"GroupName":"installers","UserPoolId":"local-1_Abc","Username":"ana"}`
	if err := v.Verify(signed(t, body, now, "cognito-idp"), []byte(body)); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for _, tt := range []struct {
		name string
		req  func() (*http.Request, []byte)
	}{
		{"unsigned", func() (*http.Request, []byte) {
			r := signed(t, body, now, "cognito-idp")
			r.Header.Del("Authorization")
			return r, []byte(body)
		}},
		{"another body", func() (*http.Request, []byte) {
			return signed(t, body, now, "cognito-idp"), []byte(strings.Replace(body, "installers", "platform-admins", 1))
		}},
		{"another operation", func() (*http.Request, []byte) {
			r := signed(t, body, now, "cognito-idp")
			r.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminConfirmSignUp")
			return r, []byte(body)
		}},
		{"another service", func() (*http.Request, []byte) { return signed(t, body, now, "iot"), []byte(body) }},
		{"too old", func() (*http.Request, []byte) {
			return signed(t, body, now.Add(-pastSkew), "cognito-idp"), []byte(body)
		}},
		{"from the future", func() (*http.Request, []byte) {
			return signed(t, body, now.Add(pastSkew), "cognito-idp"), []byte(body)
		}},
		{"date header changed", func() (*http.Request, []byte) {
			r := signed(t, body, now, "cognito-idp")
			r.Header.Set("X-Amz-Date", now.Add(time.Minute).Format("20060102T150405Z"))
			return r, []byte(body)
		}},
		{"another scheme", func() (*http.Request, []byte) {
			r := signed(t, body, now, "cognito-idp")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1))
			return r, []byte(body)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, b := tt.req()
			err := v.Verify(r, b)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.name == "unsigned" && !errors.Is(err, sigv4.ErrUnsigned) {
				t.Errorf("got %v, want ErrUnsigned", err)
			}
		})
	}
}

// pastSkew is just past the allowed clock skew.
const pastSkew = sigv4.MaxSkew + time.Second

// TestRefusal: each refusal gets the exception AWS answers it with; an
// access key the verifier does not hold is unrecognized before any
// signature is compared.
func TestRefusal(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	v := sigv4.Verifier{Credentials: creds, Region: "local-1", Service: "cognito-idp", Now: func() time.Time { return now }}
	body := `{"GroupName":"installers","UserPoolId":"local-1_Abc","Username":"ana"}`
	for _, tt := range []struct {
		name     string
		req      func() *http.Request
		wantType string
	}{
		{"unsigned", func() *http.Request {
			r := signed(t, body, now, "cognito-idp")
			r.Header.Del("Authorization")
			return r
		}, "MissingAuthenticationTokenException"},
		{"unknown access key", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9229/", strings.NewReader(body))
			r.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminAddUserToGroup")
			other := creds
			other.AccessKeyID = "AKIDSOMEONEELSE"
			if err := sigv4.Sign(r, []byte(body), other, "local-1", "cognito-idp", now); err != nil {
				t.Fatal(err)
			}
			return r
		}, "UnrecognizedClientException"},
		{"known key, wrong secret", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9229/", strings.NewReader(body))
			r.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminAddUserToGroup")
			other := creds
			other.SecretAccessKey = "guessed"
			if err := sigv4.Sign(r, []byte(body), other, "local-1", "cognito-idp", now); err != nil {
				t.Fatal(err)
			}
			return r
		}, "InvalidSignatureException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(tt.req(), []byte(body))
			if err == nil {
				t.Fatal("accepted")
			}
			if got, _ := sigv4.Refusal(err); got != tt.wantType {
				t.Errorf("got %s (%v), want %s", got, err, tt.wantType)
			}
		})
	}
}
