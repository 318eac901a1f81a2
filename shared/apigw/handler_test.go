package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// fakeService answers IssueClaim with issue and GetClaim with err, and
// remembers the principal it was given. The other operations are not called
// by these tests: the nil embedded interface would panic if they were.
type fakeService struct {
	apigw.Service
	issue func(p fleetclaim.Principal, r fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error)
	err   error
	got   fleetclaim.Principal
}

func (f *fakeService) IssueClaim(_ context.Context, p fleetclaim.Principal, r fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error) {
	f.got = p
	return f.issue(p, r)
}

func (f *fakeService) GetClaim(_ context.Context, p fleetclaim.Principal, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	f.got = p
	return fleetclaim.Claim{ID: id, TenantID: p.TenantID, InstallerID: p.Subject, Status: fleetclaim.ClaimIssued}, f.err
}

// problemOf decodes a problem document, failing unless the answer is one.
func problemOf(t *testing.T, resp events.APIGatewayProxyResponse) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("got %d %s %q, want a problem document", resp.StatusCode, resp.Headers["Content-Type"], resp.Body)
	}
	return p
}

// Each kind of domain error is answered once, at the edge, with its status,
// its stable code, Retry-After where the error gives one, and never its
// internal cause, which is logged for faults only.
func TestProblemForEveryErrorKind(t *testing.T) {
	cause := errors.New("dial tcp 10.0.7.12:443: i/o timeout (secret internal detail)")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantField  string
		wantRetry  string
		wantLogged bool // the cause is in the logs
	}{
		{name: "invalid", err: fleetclaim.Invalid("serialNumber", "is required"), wantStatus: 400, wantCode: "invalid_request", wantField: "serialNumber"},
		{name: "unauthenticated", err: &fleetclaim.Error{Kind: fleetclaim.KindUnauthenticated, Code: fleetclaim.CodeUnauthenticated, Message: "m"},
			wantStatus: 401, wantCode: "unauthenticated"},
		{name: "forbidden", err: fleetclaim.Forbidden(fleetclaim.CodeInstallerNotApproved, "Your installer account is suspended."),
			wantStatus: 403, wantCode: "installer_not_approved"},
		{name: "not found", err: fleetclaim.NotFound("Claim"), wantStatus: 404, wantCode: "not_found"},
		{name: "conflict", err: fleetclaim.Conflict(fleetclaim.CodeClaimNotUsable, "m"), wantStatus: 409, wantCode: "claim_not_usable"},
		{name: "too large", err: &fleetclaim.Error{Kind: fleetclaim.KindTooLarge, Code: fleetclaim.CodeBodyTooLarge, Message: "m"},
			wantStatus: 413, wantCode: "body_too_large"},
		{name: "quota, rounded up to whole seconds", err: &fleetclaim.Error{Kind: fleetclaim.KindQuota, Code: fleetclaim.CodeQuotaExceeded,
			Message: "m", RetryAfter: 90*time.Second + time.Millisecond}, wantStatus: 429, wantCode: "quota_exceeded", wantRetry: "91"},
		{name: "dependency down", err: fleetclaim.Unavailable(cause), wantStatus: 503, wantCode: "dependency_unavailable", wantRetry: "1", wantLogged: true},
		{name: "dependency throttling", err: &fleetclaim.Error{Kind: fleetclaim.KindUnavailable, Code: fleetclaim.CodeThrottled, Message: "m",
			RetryAfter: 2 * time.Second, Err: cause}, wantStatus: 503, wantCode: "throttled", wantRetry: "2", wantLogged: true},
		{name: "wrapped domain error", err: fmt.Errorf("get claim: %w", fleetclaim.NotFound("Claim")), wantStatus: 404, wantCode: "not_found"},
		{name: "unexpected error", err: cause, wantStatus: 500, wantCode: "internal_error", wantLogged: true},
		{name: "internal error", err: fleetclaim.ErrorOf(cause), wantStatus: 500, wantCode: "internal_error", wantLogged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &fleetclaimtest.LogBuffer{}
			h := &apigw.Handler{Service: &fakeService{err: tt.err}, Log: logging.New(logs, "debug")}
			resp, err := h.Handle(t.Context(), request("GET", "/claims/{id}", map[string]string{"id": issuedClaim}, asInstaller()))
			if err != nil {
				t.Fatalf("got error %v; the handler must answer every request", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			p := problemOf(t, resp)
			want := map[string]any{"type": "about:blank", "title": http.StatusText(tt.wantStatus), "status": float64(tt.wantStatus),
				"code": tt.wantCode, "instance": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}
			for k, v := range want {
				if p[k] != v {
					t.Errorf("got %s %v, want %v", k, p[k], v)
				}
			}
			if got, _ := p["field"].(string); got != tt.wantField {
				t.Errorf("got field %q, want %q", got, tt.wantField)
			}
			if d, _ := p["detail"].(string); d == "" {
				t.Errorf("got no detail")
			}
			if got := resp.Headers["Retry-After"]; got != tt.wantRetry {
				t.Errorf("got Retry-After %q, want %q", got, tt.wantRetry)
			}
			if got, want := resp.Headers["WWW-Authenticate"], map[bool]string{true: "Bearer"}[tt.wantStatus == 401]; got != want {
				t.Errorf("got WWW-Authenticate %q, want %q", got, want)
			}
			if strings.Contains(resp.Body, "secret internal detail") || strings.Contains(resp.Body, "10.0.7.12") {
				t.Errorf("got the internal cause in the answer: %s", resp.Body)
			}
			if got := strings.Contains(logs.String(), "secret internal detail"); got != tt.wantLogged {
				t.Errorf("got the cause logged %v, want %v: %s", got, tt.wantLogged, logs)
			}
		})
	}
}

// A body is one JSON object of the documented fields, with their exact
// names and types, at most MaxBodyBytes long; anything else is refused with
// the field named where there is one, and changes nothing.
func TestIssueClaimBody(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name       string
		body       string
		base64     bool
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{name: "serial only", body: `{"serialNumber":"SN-0100"}`, wantStatus: 201},
		{name: "every field", body: `{"serialNumber":"SN-0100","template":"fleetclaim-lab","site":"Depot 4, bay 2"}`, wantStatus: 201},
		{name: "whitespace around", body: " \r\n\t{ \"serialNumber\" : \"SN-0100\" }\n", wantStatus: 201},
		{name: "base64 encoded", body: b64(`{"serialNumber":"SN-0100"}`), base64: true, wantStatus: 201},
		{name: "empty body", body: ``, wantStatus: 400, wantCode: "invalid_json"},
		{name: "only whitespace", body: " \n", wantStatus: 400, wantCode: "invalid_json"},
		{name: "malformed", body: `{"serialNumber":`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "single quotes", body: `{'serialNumber':'SN-0100'}`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "serial of the wrong type", body: `{"serialNumber":100}`, wantStatus: 400, wantCode: "invalid_json", wantField: "serialNumber"},
		{name: "site of the wrong type", body: `{"serialNumber":"SN-0100","site":{"hall":3}}`, wantStatus: 400, wantCode: "invalid_json", wantField: "site"},
		{name: "template of the wrong type", body: `{"serialNumber":"SN-0100","template":[]}`, wantStatus: 400, wantCode: "invalid_json", wantField: "template"},
		{name: "an array", body: `[{"serialNumber":"SN-0100"}]`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "a string", body: `"SN-0100"`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "null", body: `null`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "a number", body: `42`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "no serial", body: `{}`, wantStatus: 400, wantCode: "invalid_request", wantField: "serialNumber"},
		{name: "unknown field", body: `{"serialNumber":"SN-0100","thingName":"acme_SN-0100"}`, wantStatus: 400, wantCode: "invalid_json", wantField: "thingName"},
		{name: "field in another case", body: `{"SerialNumber":"SN-0100"}`, wantStatus: 400, wantCode: "invalid_json", wantField: "SerialNumber"},
		// Names that are not short plain ASCII are not repeated back.
		{name: "field by Unicode case folding", body: `{"ſerialNumber":"SN-0100"}`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "field name with markup", body: `{"serialNumber":"SN-0100","<script>":1}`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "field name with a newline", body: `{"serialNumber":"SN-0100","a\nlevel=ERROR":1}`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "long field name", body: `{"serialNumber":"SN-0100","` + strings.Repeat("a", 65) + `":1}`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "field twice", body: `{"serialNumber":"SN-0100","serialNumber":"SN-0101"}`, wantStatus: 400, wantCode: "invalid_json", wantField: "serialNumber"},
		{name: "two fields differing in case", body: `{"serialNumber":"SN-0100","SERIALNUMBER":"SN-0101"}`, wantStatus: 400, wantCode: "invalid_json", wantField: "SERIALNUMBER"},
		{name: "trailing object", body: `{"serialNumber":"SN-0100"} {}`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "trailing garbage", body: `{"serialNumber":"SN-0100"}x`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "not base64", body: `{"serialNumber":"SN-0100"}`, base64: true, wantStatus: 400, wantCode: "invalid_json"},
		{name: "bad serial", body: `{"serialNumber":"SN 0100"}`, wantStatus: 400, wantCode: "invalid_request", wantField: "serialNumber"},
		{name: "control character in site", body: `{"serialNumber":"SN-0100","site":"Depot\u0007"}`, wantStatus: 400, wantCode: "invalid_request", wantField: "site"},
		{name: "body at the limit", body: `{"serialNumber":"` + strings.Repeat("S", apigw.MaxBodyBytes-19) + `"}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "serialNumber"},
		{name: "body past the limit", body: `{"serialNumber":"` + strings.Repeat("S", apigw.MaxBodyBytes-18) + `"}`,
			wantStatus: 413, wantCode: "body_too_large"},
		{name: "base64 body past the limit", body: b64(`{"site":"` + strings.Repeat("S", apigw.MaxBodyBytes) + `"}`), base64: true,
			wantStatus: 413, wantCode: "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			req := issueRequest(tt.body, asInstaller())
			req.IsBase64Encoded = tt.base64
			resp := w.handle(req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			claims, _, err := w.store.ListClaims(t.Context(), installerSub, fleetclaim.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantStatus == 201 {
				return
			}
			p := problemOf(t, resp)
			if got, _ := p["field"].(string); p["code"] != tt.wantCode || got != tt.wantField {
				t.Errorf("got code %v field %q, want %s %q", p["code"], got, tt.wantCode, tt.wantField)
			}
			if w.minter.Calls() != 0 || len(claims) != 3 {
				t.Errorf("got %d claims minted and %d recorded, want none minted and the 3 seeded", w.minter.Calls(), len(claims))
			}
		})
	}
}

// Only the Cognito authorizer's claims say who calls: without them the
// answer is 401; without the route's scope, 403.
func TestAuthentication(t *testing.T) {
	tests := []struct {
		name       string
		authorizer map[string]any
		route      string // "claims" or "admin"
		wantStatus int
		wantCode   string
	}{
		{"no authorizer", nil, "claims", 401, "unauthenticated"},
		{"a Lambda authorizer's context, no claims", map[string]any{"principalId": installerSub, "tenant_id": "acme"}, "claims", 401, "unauthenticated"},
		{"claims that are not an object", map[string]any{"claims": `{"sub":"` + installerSub + `"}`}, "claims", 401, "unauthenticated"},
		{"claims without sub", map[string]any{"claims": func() map[string]any { c := asInstaller(); delete(c, "sub"); return c }()}, "claims", 401, "unauthenticated"},
		{"claims with an empty sub", map[string]any{"claims": func() map[string]any { c := asInstaller(); c["sub"] = ""; return c }()}, "claims", 401, "unauthenticated"},
		{"an ID token: no scope claim", map[string]any{"claims": func() map[string]any {
			c := asInstaller()
			delete(c, "scope")
			c["token_use"] = "id"
			return c
		}()}, "claims", 403, "missing_scope"},
		{"the claims scope on an admin route", map[string]any{"claims": asInstaller()}, "admin", 403, "missing_scope"},
		{"a scope that only starts like it", map[string]any{"claims": func() map[string]any {
			c := asInstaller()
			c["scope"] = "fleetclaim/claimsX fleetclaim/claims-read"
			return c
		}()}, "claims", 403, "missing_scope"},
		{"an installer", map[string]any{"claims": asInstaller()}, "claims", 200, ""},
		{"an admin", map[string]any{"claims": asAdmin()}, "admin", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			req := request("GET", "/claims", nil, nil)
			if tt.route == "admin" {
				req = request("GET", "/installers", nil, nil)
			}
			req.RequestContext.Authorizer = tt.authorizer
			resp := w.handle(req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			if tt.wantCode != "" {
				if p := problemOf(t, resp); p["code"] != tt.wantCode {
					t.Errorf("got code %v, want %s", p["code"], tt.wantCode)
				}
			}
		})
	}
}

// Every answer, success or problem, forbids caching and sniffing, and
// names the installer app's origin when one is configured.
func TestResponseHeaders(t *testing.T) {
	tests := []struct {
		name, origin string
		req          events.APIGatewayProxyRequest
		wantStatus   int
		wantType     string
	}{
		{"issued, with an origin", "https://app.fleetclaim.example", issueRequest(`{"serialNumber":"SN-0100"}`, asInstaller()), 201, "application/json"},
		{"refused, with an origin", "https://app.fleetclaim.example", issueRequest(`{`, asInstaller()), 400, "application/problem+json"},
		{"no route, with an origin", "https://app.fleetclaim.example", request("GET", "/nowhere", nil, asInstaller()), 404, "application/problem+json"},
		{"issued, no origin", "", issueRequest(`{"serialNumber":"SN-0100"}`, asInstaller()), 201, "application/json"},
		{"unauthenticated, no origin", "", issueRequest(`{"serialNumber":"SN-0100"}`, nil), 401, "application/problem+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, withOrigin(tt.origin))
			resp := w.handle(tt.req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			want := map[string]string{"Content-Type": tt.wantType, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
				"Access-Control-Allow-Origin": tt.origin, "Vary": ""}
			if tt.origin != "" {
				want["Vary"] = "Origin"
			}
			for k, v := range want {
				if got := resp.Headers[k]; got != v {
					t.Errorf("got %s %q, want %q", k, got, v)
				}
			}
		})
	}
}

// cognito:groups reaches the handler in every shape API Gateway and its
// emulators render it; each is read as the same list of groups.
func TestGroupsClaimShapes(t *testing.T) {
	tests := []struct {
		name       string
		groups     any
		wantGroups []string
	}{
		{"comma-separated, as API Gateway REST renders it", "installers,admins", []string{"installers", "admins"}},
		{"comma and space", "installers, admins", []string{"installers", "admins"}},
		{"one group", "admins", []string{"admins"}},
		{"bracketed and space-separated", "[installers admins]", []string{"installers", "admins"}},
		{"a JSON array in a string", `["installers","admins"]`, []string{"installers", "admins"}},
		{"a spaced JSON array in a string", `[ "installers", "admins" ]`, []string{"installers", "admins"}},
		{"a JSON array", []any{"installers", "admins"}, []string{"installers", "admins"}},
		{"an empty string", "", nil},
		{"an empty JSON array", "[]", nil},
		{"absent", nil, nil},
		{"not a string or an array", 42.0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeService{}
			h := &apigw.Handler{Service: f, Log: logging.New(io.Discard, "error")}
			claims := asAdmin()
			delete(claims, "cognito:groups")
			if tt.groups != nil {
				claims["cognito:groups"] = tt.groups
			}
			if _, err := h.Handle(t.Context(), request("GET", "/claims/{id}", map[string]string{"id": issuedClaim}, claims)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.got.Groups, tt.wantGroups) {
				t.Errorf("got groups %q, want %q", f.got.Groups, tt.wantGroups)
			}
		})
	}
}

// Identity and tenant come from the authorizer's claims only. An installer
// of acme who names globex in the body, a header or the query acts in acme
// or is refused; nothing of globex is read or changed.
func TestTenantFromClaimsOnly(t *testing.T) {
	spoof := func(req events.APIGatewayProxyRequest) events.APIGatewayProxyRequest {
		req.Headers["X-Tenant-Id"] = "globex"
		req.Headers["X-Amzn-Oidc-Identity"] = globexSub
		req.MultiValueHeaders = map[string][]string{"X-Tenant-Id": {"globex"}}
		req.QueryStringParameters = map[string]string{"tenant_id": "globex", "sub": globexSub}
		req.StageVariables = map[string]string{"tenant": "globex"}
		return req
	}
	tests := []struct {
		name       string
		req        events.APIGatewayProxyRequest
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"tenantId in the body", issueRequest(`{"serialNumber":"SN-0100","tenantId":"globex"}`, asInstaller()), 400, "invalid_json", "tenantId"},
		{"tenant_id in the body", issueRequest(`{"serialNumber":"SN-0100","tenant_id":"globex"}`, asInstaller()), 400, "invalid_json", "tenant_id"},
		{"installerId in the body", issueRequest(`{"serialNumber":"SN-0100","installerId":"`+globexSub+`"}`, asInstaller()), 400, "invalid_json", "installerId"},
		{"tenant in headers, query and stage variables", spoof(issueRequest(`{"serialNumber":"SN-0100"}`, asInstaller())), 201, "", ""},
		{"globex's claim, with globex's headers", spoof(request("GET", "/claims/{id}", map[string]string{"id": globexClaim}, asInstaller())), 404, "not_found", ""},
		{"globex's device, with globex's headers", spoof(request("GET", "/devices/{serial}", map[string]string{"serial": globexDevice}, asInstaller())), 404, "not_found", ""},
		{"a token whose tenant is not the record's", issueRequest(`{"serialNumber":"SN-0100"}`,
			tokenOf(installerSub, "globex", "installers", scopeClaims)), 403, "tenant_mismatch", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			resp := w.handle(tt.req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			if strings.Contains(resp.Body, "globex") && tt.wantField == "" {
				t.Errorf("got globex in the answer: %s", resp.Body)
			}
			if tt.wantCode != "" {
				p := problemOf(t, resp)
				if got, _ := p["field"].(string); p["code"] != tt.wantCode || got != tt.wantField {
					t.Errorf("got code %v field %q, want %s %q", p["code"], got, tt.wantCode, tt.wantField)
				}
			}
			globex, _, err := w.store.ListClaims(t.Context(), globexSub, fleetclaim.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			mine, _, err := w.store.ListClaims(t.Context(), installerSub, fleetclaim.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(globex) != 2 {
				t.Errorf("got %d claims of globex's installer, want the 2 seeded", len(globex))
			}
			for _, c := range mine {
				if c.TenantID != "acme" {
					t.Errorf("got claim %s of acme's installer recorded in %s", c.ID, c.TenantID)
				}
			}
			if wantMine := map[bool]int{true: 4, false: 3}[tt.wantStatus == 201]; len(mine) != wantMine {
				t.Errorf("got %d claims of acme's installer, want %d", len(mine), wantMine)
			}
		})
	}
}

// The private key is in the answer to POST /claims exactly once, in no
// other answer, and in no log line, even at debug level and even when the
// claim cannot be recorded after it was minted (invariant 6).
func TestPrivateKeyReturnedOnceNeverLogged(t *testing.T) {
	w := newWorld(t)
	resp := w.handle(issueRequest(`{"serialNumber":"SN-0100","site":"Depot 4"}`, asInstaller()))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("got %d %s, want 201", resp.StatusCode, resp.Body)
	}
	key := w.minter.Keys()[0]
	var issued struct{ ClaimID, PrivateKey string }
	if err := json.Unmarshal([]byte(resp.Body), &issued); err != nil {
		t.Fatal(err)
	}
	if issued.PrivateKey != key {
		t.Errorf("got privateKey %q, want the minted key", issued.PrivateKey)
	}
	// The JSON encoding of a PEM escapes its newlines; count that form.
	escaped, _ := json.Marshal(key)
	if n := strings.Count(resp.Body, strings.Trim(string(escaped), `"`)); n != 1 {
		t.Errorf("got the key %d times in the answer, want once", n)
	}

	for _, req := range []events.APIGatewayProxyRequest{
		request("GET", "/claims/{id}", map[string]string{"id": issued.ClaimID}, asInstaller()),
		request("GET", "/claims", nil, asInstaller()),
		request("DELETE", "/claims/{id}", map[string]string{"id": issued.ClaimID}, asInstaller()),
		request("GET", "/audit", nil, asAdmin()),
	} {
		if resp := w.handle(req); resp.StatusCode != http.StatusOK || strings.Contains(resp.Body, fleetclaimtest.KeyMarker) || strings.Contains(resp.Body, "privateKey") {
			t.Errorf("%s %s: got %d %s, want 200 without the key", req.HTTPMethod, req.Resource, resp.StatusCode, resp.Body)
		}
	}

	// A claim minted but not recorded is refused, and its key goes nowhere.
	w.store.fail("CreateClaim")
	resp = w.handle(issueRequest(`{"serialNumber":"SN-0101"}`, asInstaller()))
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(resp.Body, fleetclaimtest.KeyMarker) {
		t.Errorf("got %d %s, want 503 without the key", resp.StatusCode, resp.Body)
	}
	if len(w.minter.Keys()) != 2 {
		t.Fatalf("got %d claims minted, want 2", len(w.minter.Keys()))
	}

	logs := w.logs.String()
	if !strings.Contains(logs, "claim issued") || !strings.Contains(logs, "claim minted but not recorded") {
		t.Fatalf("got logs without the issue and the failure; the test is not looking at them: %s", logs)
	}
	for _, k := range w.minter.Keys() {
		if strings.Contains(logs, k) || strings.Contains(logs, strings.Split(k, "\n")[1]) {
			t.Errorf("got a private key in the logs: %s", logs)
		}
	}
	if strings.Contains(logs, fleetclaimtest.KeyMarker) || strings.Contains(logs, "PRIVATE KEY") {
		t.Errorf("got key material in the logs: %s", logs)
	}
}

// A store fault is answered 503 with a generic detail; its text is logged
// (with the route, so it can be found) and never shown.
func TestStoreFaultLoggedNotShown(t *testing.T) {
	w := newWorld(t)
	w.store.fail("GetInstaller")
	resp := w.handle(request("GET", "/devices", nil, asInstaller()))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] == "" {
		t.Fatalf("got %d %v %s, want 503 with Retry-After", resp.StatusCode, resp.Headers, resp.Body)
	}
	if p := problemOf(t, resp); p["code"] != "dependency_unavailable" || strings.Contains(fmt.Sprint(p["detail"]), "bolt") {
		t.Errorf("got %v, want dependency_unavailable with a generic detail", p)
	}
	var logged map[string]any
	for _, line := range strings.Split(strings.TrimSpace(w.logs.String()), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["message"] == "request failed" {
			logged = l
		}
	}
	if logged == nil || !strings.Contains(fmt.Sprint(logged["error"]), storeFault) || logged["resource"] != "/devices" || logged["level"] != "ERROR" {
		t.Errorf("got log line %v, want the store's error at ERROR with the resource", logged)
	}
}
