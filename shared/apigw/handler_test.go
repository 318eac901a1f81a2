package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// fakeService answers IssueClaim and GetClaim; the other operations are not
// called by these tests (the embedded nil interface would panic if they were).
type fakeService struct {
	apigw.Service
	issue func(p fleetclaim.Principal, r fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error)
	got   fleetclaim.Principal
}

func (f *fakeService) IssueClaim(_ context.Context, p fleetclaim.Principal, r fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error) {
	f.got = p
	return f.issue(p, r)
}

func (f *fakeService) GetClaim(_ context.Context, p fleetclaim.Principal, _ fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	f.got = p
	return fleetclaim.Claim{ID: "c", TenantID: p.TenantID}, nil
}

func request(body string, claims map[string]any) events.APIGatewayProxyRequest {
	req := events.APIGatewayProxyRequest{Resource: "/claims", Path: "/claims", HTTPMethod: "POST", Body: body,
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-7"}}
	if claims != nil {
		req.RequestContext.Authorizer = map[string]any{"claims": claims}
	}
	return req
}

func installerClaims() map[string]any {
	return map[string]any{"sub": sub, "tenant_id": "acme", "cognito:groups": "installers", "scope": "aws.cognito.signin.user.admin fleetclaim/claims"}
}

func TestHandlerProblems(t *testing.T) {
	ok := func(fleetclaim.Principal, fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error) {
		return fleetclaim.IssuedClaim{Claim: fleetclaim.Claim{ID: "c1"}, PrivateKey: fleetclaim.NewSecret("PRIVATE-KEY-PEM")}, nil
	}
	fails := func(err error) func(fleetclaim.Principal, fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error) {
		return func(fleetclaim.Principal, fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error) {
			return fleetclaim.IssuedClaim{}, err
		}
	}
	noScope := installerClaims()
	noScope["scope"] = "aws.cognito.signin.user.admin"
	tests := []struct {
		name       string
		req        events.APIGatewayProxyRequest
		issue      func(fleetclaim.Principal, fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error)
		wantStatus int
		wantCode   string
		wantField  string
		wantRetry  string
	}{
		{name: "issued", req: request(`{"serialNumber":"SN-1"}`, installerClaims()), issue: ok, wantStatus: 201},
		{name: "base64 body", req: func() events.APIGatewayProxyRequest {
			r := request(base64.StdEncoding.EncodeToString([]byte(`{"serialNumber":"SN-1"}`)), installerClaims())
			r.IsBase64Encoded = true
			return r
		}(), issue: ok, wantStatus: 201},
		{name: "no authorizer claims", req: request(`{"serialNumber":"SN-1"}`, nil), issue: ok, wantStatus: 401, wantCode: "unauthenticated"},
		{name: "no scope", req: request(`{"serialNumber":"SN-1"}`, noScope), issue: ok, wantStatus: 403, wantCode: "missing_scope"},
		{name: "empty body", req: request(``, installerClaims()), issue: ok, wantStatus: 400, wantCode: "invalid_json"},
		{name: "malformed JSON", req: request(`{"serialNumber":`, installerClaims()), issue: ok, wantStatus: 400, wantCode: "invalid_json"},
		{name: "wrong type", req: request(`{"serialNumber":42}`, installerClaims()), issue: ok, wantStatus: 400, wantCode: "invalid_json", wantField: "serialNumber"},
		{name: "array body", req: request(`[1,2]`, installerClaims()), issue: ok, wantStatus: 400, wantCode: "invalid_json"},
		{name: "unknown field", req: request(`{"serialNumber":"SN-1","tenantId":"globex"}`, installerClaims()), issue: ok, wantStatus: 400, wantCode: "invalid_json", wantField: "tenantId"},
		{name: "trailing data", req: request(`{"serialNumber":"SN-1"} {}`, installerClaims()), issue: ok, wantStatus: 400, wantCode: "invalid_json"},
		{name: "bad base64", req: func() events.APIGatewayProxyRequest {
			r := request(`!!!`, installerClaims())
			r.IsBase64Encoded = true
			return r
		}(), issue: ok, wantStatus: 400, wantCode: "invalid_json"},
		{name: "too large", req: request(`{"serialNumber":"`+strings.Repeat("A", apigw.MaxBodyBytes)+`"}`, installerClaims()), issue: ok, wantStatus: 413, wantCode: "body_too_large"},
		{name: "domain refusal", req: request(`{"serialNumber":"SN-1"}`, installerClaims()),
			issue: fails(fleetclaim.Forbidden(fleetclaim.CodeInstallerNotApproved, "Your installer account is suspended.")), wantStatus: 403, wantCode: "installer_not_approved"},
		{name: "quota", req: request(`{"serialNumber":"SN-1"}`, installerClaims()),
			issue:      fails(&fleetclaim.Error{Kind: fleetclaim.KindQuota, Code: fleetclaim.CodeQuotaExceeded, Message: "m", RetryAfter: 90*time.Second + time.Millisecond}),
			wantStatus: 429, wantCode: "quota_exceeded", wantRetry: "91"},
		{name: "dependency down", req: request(`{"serialNumber":"SN-1"}`, installerClaims()),
			issue: fails(fleetclaim.Unavailable(errors.New("dial tcp 10.0.0.7:443: secret internal detail"))), wantStatus: 503, wantCode: "dependency_unavailable", wantRetry: "1"},
		{name: "unexpected error", req: request(`{"serialNumber":"SN-1"}`, installerClaims()),
			issue: fails(errors.New("secret internal detail")), wantStatus: 500, wantCode: "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			h := &apigw.Handler{Service: &fakeService{issue: tt.issue}, Log: logging.New(&logs, "debug"), AllowedOrigin: "https://app.example"}
			resp, err := h.Handle(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("got error %v; the handler must answer every request", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			if resp.Headers["Cache-Control"] != "no-store" || resp.Headers["Access-Control-Allow-Origin"] != "https://app.example" {
				t.Errorf("got headers %v, want no-store and the CORS origin", resp.Headers)
			}
			if strings.Contains(resp.Body, "secret internal detail") {
				t.Errorf("got the internal cause in the answer: %s", resp.Body)
			}
			if strings.Contains(logs.String(), "PRIVATE-KEY-PEM") {
				t.Errorf("got the private key in the logs")
			}
			if got := resp.Headers["Retry-After"]; got != tt.wantRetry {
				t.Errorf("got Retry-After %q, want %q", got, tt.wantRetry)
			}
			if tt.wantCode == "" {
				if n := strings.Count(resp.Body, "PRIVATE-KEY-PEM"); n != 1 {
					t.Errorf("got the private key %d times in the answer, want once", n)
				}
				return
			}
			var p struct {
				Type, Title, Code, Field, Instance string
				Status                             int
			}
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || resp.Headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("got %s %q, want a problem document", resp.Headers["Content-Type"], resp.Body)
			}
			if p.Code != tt.wantCode || p.Status != tt.wantStatus || p.Field != tt.wantField || p.Instance != "req-7" || p.Title != http.StatusText(tt.wantStatus) {
				t.Errorf("got %+v, want code %s field %q", p, tt.wantCode, tt.wantField)
			}
		})
	}
}

// The caller's identity and tenant come from the authorizer's claims only,
// whatever the body, headers or query say; groups arrive in every shape
// API Gateway and its emulators render them.
func TestPrincipalComesFromClaimsOnly(t *testing.T) {
	tests := []struct {
		name       string
		groups     any
		wantGroups []string
	}{
		{"comma-separated, as API Gateway REST renders it", "installers,admins", []string{"installers", "admins"}},
		{"bracketed", "[installers admins]", []string{"installers", "admins"}},
		{"JSON array string", `["installers","admins"]`, []string{"installers", "admins"}},
		{"JSON array", []any{"installers", "admins"}, []string{"installers", "admins"}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeService{}
			h := &apigw.Handler{Service: f, Log: logging.New(io.Discard, "error")}
			claims := installerClaims()
			if tt.groups != nil {
				claims["cognito:groups"] = tt.groups
			} else {
				delete(claims, "cognito:groups")
			}
			req := events.APIGatewayProxyRequest{Resource: "/claims/{id}", HTTPMethod: "GET", PathParameters: map[string]string{"id": "x"},
				Headers:               map[string]string{"X-Tenant-Id": "globex", "X-Forwarded-User": other},
				QueryStringParameters: map[string]string{"tenant": "globex", "sub": other},
				RequestContext:        events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": claims}}}
			if _, err := h.Handle(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			if f.got.Subject != sub || f.got.TenantID != "acme" {
				t.Errorf("got principal %+v, want sub %s of acme from the claims", f.got, sub)
			}
			if strings.Join(f.got.Groups, ",") != strings.Join(tt.wantGroups, ",") {
				t.Errorf("got groups %v, want %v", f.got.Groups, tt.wantGroups)
			}
		})
	}
}
