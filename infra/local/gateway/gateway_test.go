package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestProxyRequestShape(t *testing.T) {
	f := newFixture(t, nil)
	token := signRS256(t, accessClaims(f.pool.issuer))
	header := http.Header{
		"Content-Type": {"application/json"},
		"X-Note":       {"first", "second"},
	}
	w := f.do(http.MethodGet, "/local/claims/c%20l%2Faim-1?expand=device&expand=cert&q=a%26b", token, strings.NewReader(`{"a":1}`), header)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", w.Code, w.Body)
	}
	got, _ := f.rec.last(t)

	if !uuidPattern.MatchString(got.RequestContext.RequestID) {
		t.Errorf("requestId = %q, want a UUID", got.RequestContext.RequestID)
	}
	if h := w.Header().Get("X-Amzn-Requestid"); h != got.RequestContext.RequestID {
		t.Errorf("X-Amzn-Requestid = %q, want the event's requestId %q", h, got.RequestContext.RequestID)
	}
	trace := got.Headers["X-Amzn-Trace-Id"]
	if !strings.HasPrefix(trace, "Root=1-") {
		t.Errorf("X-Amzn-Trace-Id = %q, want Root=1-...", trace)
	}

	want := events.APIGatewayProxyRequest{
		Resource:   "/claims/{id}",
		Path:       "/claims/c%20l%2Faim-1",
		HTTPMethod: "GET",
		Headers: map[string]string{
			"Authorization":     "Bearer " + token,
			"Content-Type":      "application/json",
			"Host":              "127.0.0.1:8080",
			"X-Amzn-Trace-Id":   trace,
			"X-Forwarded-For":   "127.0.0.1",
			"X-Forwarded-Port":  "8080",
			"X-Forwarded-Proto": "http",
			"X-Note":            "second",
		},
		MultiValueHeaders: map[string][]string{
			"Authorization":     {"Bearer " + token},
			"Content-Type":      {"application/json"},
			"Host":              {"127.0.0.1:8080"},
			"X-Amzn-Trace-Id":   {trace},
			"X-Forwarded-For":   {"127.0.0.1"},
			"X-Forwarded-Port":  {"8080"},
			"X-Forwarded-Proto": {"http"},
			"X-Note":            {"first", "second"},
		},
		QueryStringParameters:           map[string]string{"expand": "cert", "q": "a&b"},
		MultiValueQueryStringParameters: map[string][]string{"expand": {"device", "cert"}, "q": {"a&b"}},
		PathParameters:                  map[string]string{"id": "c l/aim-1"},
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:         "000000000000",
			ResourceID:        resourceID("/claims/{id}"),
			OperationName:     "getClaim",
			Stage:             "local",
			DomainName:        "127.0.0.1:8080",
			DomainPrefix:      "127",
			RequestID:         got.RequestContext.RequestID,
			ExtendedRequestID: got.RequestContext.ExtendedRequestID,
			Protocol:          "HTTP/1.1",
			Identity:          events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1"},
			ResourcePath:      "/claims/{id}",
			Path:              "/local/claims/c%20l%2Faim-1",
			Authorizer: map[string]any{"claims": map[string]any{
				"sub":            testSub,
				"cognito:groups": "installers,admins",
				"iss":            f.pool.issuer,
				"version":        "2",
				"client_id":      testClientID,
				"origin_jti":     "0f6e7d1c-2b3a-4c5d-8e9f-a0b1c2d3e4f5",
				"event_id":       "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c2d",
				"token_use":      "access",
				"scope":          "aws.cognito.signin.user.admin fleetclaim/claims",
				"auth_time":      "1795341540",
				"exp":            "Sun Nov 22 10:59:00 UTC 2026",
				"iat":            "Sun Nov 22 09:59:00 UTC 2026",
				"jti":            "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
				"username":       "alice",
				"tenant_id":      "tenant-a",
			}},
			HTTPMethod:       "GET",
			RequestTime:      "22/Nov/2026:10:00:00 +0000",
			RequestTimeEpoch: testNow.UnixMilli(),
			APIID:            "fleetclaim",
		},
		Body: `{"a":1}`,
	}
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", "  ")
		wantJSON, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("event mismatch\n got: %s\nwant: %s", gotJSON, wantJSON)
	}
}

func TestProxyRequestOptionalMapsAreNil(t *testing.T) {
	f := newFixture(t, nil)
	w := f.do(http.MethodGet, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)), nil, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", w.Code, w.Body)
	}
	got, _ := f.rec.last(t)
	if got.QueryStringParameters != nil || got.MultiValueQueryStringParameters != nil {
		t.Errorf("query maps = %v, %v, want nil without a query", got.QueryStringParameters, got.MultiValueQueryStringParameters)
	}
	if got.PathParameters != nil {
		t.Errorf("pathParameters = %v, want nil without path parameters", got.PathParameters)
	}
	if got.StageVariables != nil {
		t.Errorf("stageVariables = %v, want nil", got.StageVariables)
	}
	if got.Body != "" || got.IsBase64Encoded {
		t.Errorf("body = %q (base64 %v), want empty text", got.Body, got.IsBase64Encoded)
	}
}

func TestRequestBodyEncoding(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantBody    string
		wantBase64  bool
	}{
		{"json", "application/json; charset=utf-8", []byte(`{"serialNumber":"SN-1"}`), `{"serialNumber":"SN-1"}`, false},
		{"problem json", "application/problem+json", []byte(`{}`), `{}`, false},
		{"text", "text/plain", []byte("héllo"), "héllo", false},
		{"form", "application/x-www-form-urlencoded", []byte("a=b"), "a=b", false},
		{"no content type", "", []byte("plain"), "plain", false},
		{"binary type", "application/octet-stream", []byte{0, 1, 2, 255}, "AAEC/w==", true},
		{"image", "image/png", []byte("\x89PNG"), "iVBORw==", true},
		{"text type but not UTF-8", "application/json", []byte{0xff, 0xfe}, "//4=", true},
		{"unparsable content type", "application/", []byte("x"), "eA==", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			header := http.Header{}
			if tt.contentType != "" {
				header.Set("Content-Type", tt.contentType)
			}
			w := f.do(http.MethodPost, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)), bytes.NewReader(tt.body), header)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", w.Code, w.Body)
			}
			got, _ := f.rec.last(t)
			if got.Body != tt.wantBody || got.IsBase64Encoded != tt.wantBase64 {
				t.Errorf("body = %q base64 %v, want %q base64 %v", got.Body, got.IsBase64Encoded, tt.wantBody, tt.wantBase64)
			}
		})
	}
}

func TestResponsePassThrough(t *testing.T) {
	tests := []struct {
		name       string
		resp       events.APIGatewayProxyResponse
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{
			name: "headers and multi-value headers",
			resp: events.APIGatewayProxyResponse{
				StatusCode:        http.StatusCreated,
				Headers:           map[string]string{"Content-Type": "application/json", "X-One": "single", "x-both": "from headers"},
				MultiValueHeaders: map[string][]string{"Set-Cookie": {"a=1", "b=2"}, "X-Both": {"m1", "m2"}},
				Body:              `{"claimId":"c-1"}`,
			},
			wantStatus: http.StatusCreated,
			wantHeader: http.Header{
				"Content-Type": {"application/json"},
				"X-One":        {"single"},
				"Set-Cookie":   {"a=1", "b=2"},
				"X-Both":       {"m1", "m2"},
			},
			wantBody: `{"claimId":"c-1"}`,
		},
		{
			name:       "default content type",
			resp:       events.APIGatewayProxyResponse{StatusCode: http.StatusNotFound, Body: `{"code":"not_found"}`},
			wantStatus: http.StatusNotFound,
			wantHeader: http.Header{"Content-Type": {"application/json"}},
			wantBody:   `{"code":"not_found"}`,
		},
		{
			name: "base64 body",
			resp: events.APIGatewayProxyResponse{
				StatusCode:      http.StatusOK,
				Headers:         map[string]string{"Content-Type": "application/octet-stream"},
				Body:            base64.StdEncoding.EncodeToString([]byte{0, 1, 2}),
				IsBase64Encoded: true,
			},
			wantStatus: http.StatusOK,
			wantHeader: http.Header{"Content-Type": {"application/octet-stream"}},
			wantBody:   "\x00\x01\x02",
		},
		{
			name: "stale content length dropped",
			resp: events.APIGatewayProxyResponse{
				StatusCode: http.StatusOK,
				Headers:    map[string]string{"Content-Length": "999"},
				Body:       "{}",
			},
			wantStatus: http.StatusOK,
			wantHeader: http.Header{"Content-Type": {"application/json"}},
			wantBody:   "{}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.rec.respond = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				return tt.resp, nil
			}
			w := f.do(http.MethodPost, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)), nil, nil)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			for name, want := range tt.wantHeader {
				if got := w.Header().Values(name); !reflect.DeepEqual(got, want) {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			if got := w.Header().Get("Content-Length"); got != "" {
				t.Errorf("Content-Length = %q, want the server to frame the body", got)
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			if w.Header().Get("X-Amzn-Requestid") == "" {
				t.Error("no X-Amzn-Requestid header")
			}
		})
	}
}

func TestIntegrationFailures(t *testing.T) {
	const internal = `{"message": "Internal server error"}`
	tests := []struct {
		name       string
		respond    func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
		wantStatus int
		wantBody   string
	}{
		{
			name: "handler error",
			respond: func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				return events.APIGatewayProxyResponse{StatusCode: 200, Body: "not sent"}, errors.New("store: secret detail")
			},
			wantStatus: http.StatusBadGateway,
			wantBody:   internal,
		},
		{
			name: "handler panic",
			respond: func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				panic("boom")
			},
			wantStatus: http.StatusBadGateway,
			wantBody:   internal,
		},
		{
			name: "no status code",
			respond: func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				return events.APIGatewayProxyResponse{Body: "{}"}, nil
			},
			wantStatus: http.StatusBadGateway,
			wantBody:   internal,
		},
		{
			name: "bad base64 body",
			respond: func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				return events.APIGatewayProxyResponse{StatusCode: 200, Body: "%%%", IsBase64Encoded: true}, nil
			},
			wantStatus: http.StatusBadGateway,
			wantBody:   internal,
		},
		{
			name: "handler deadline error is still a handler error",
			respond: func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				return events.APIGatewayProxyResponse{}, context.DeadlineExceeded
			},
			wantStatus: http.StatusBadGateway,
			wantBody:   internal,
		},
		{
			name: "integration timeout",
			respond: func(ctx context.Context, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				<-ctx.Done()
				time.Sleep(20 * time.Millisecond)
				return events.APIGatewayProxyResponse{StatusCode: 200}, nil
			},
			wantStatus: http.StatusGatewayTimeout,
			wantBody:   `{"message": "Endpoint request timed out"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.IntegrationTimeout = 50 * time.Millisecond })
			f.rec.respond = tt.respond
			w := f.do(http.MethodPost, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)), nil, nil)
			checkGatewayAnswer(t, w, tt.wantStatus, tt.wantBody)
			if strings.Contains(w.Body.String(), "secret detail") {
				t.Error("the handler's error reached the caller")
			}
		})
	}
}

func TestHandlerContext(t *testing.T) {
	f := newFixture(t, nil)
	f.do(http.MethodGet, "/local/devices", signRS256(t, accessClaims(f.pool.issuer)), nil, nil)
	_, ctx := f.rec.last(t)
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok || !uuidPattern.MatchString(lc.AwsRequestID) {
		t.Errorf("lambda context = %+v, %v; want one with a request ID", lc, ok)
	}
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > DefaultIntegrationTimeout {
		t.Errorf("deadline = %v, %v; want one within %s", deadline, ok, DefaultIntegrationTimeout)
	}
}

func TestMissingAuthenticationToken(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
	}{
		{"unknown path", http.MethodGet, "/local/nope"},
		{"no stage", http.MethodGet, "/claims"},
		{"other stage", http.MethodGet, "/prod/claims"},
		{"stage prefix only", http.MethodGet, "/localx/claims"},
		{"stage root", http.MethodGet, "/local"},
		{"root", http.MethodGet, "/"},
		{"wrong method", http.MethodPut, "/local/claims"},
		{"wrong method on parameter resource", http.MethodPost, "/local/claims/c-1"},
		{"trailing slash", http.MethodGet, "/local/claims/"},
		{"empty parameter", http.MethodPost, "/local/installers//approve"},
		{"double slash", http.MethodGet, "/local//claims"},
		{"too deep", http.MethodPost, "/local/installers/i-1/approve/now"},
		{"intermediate resource without methods", http.MethodGet, "/local/installers/i-1/x"},
		{"case differs", http.MethodGet, "/local/Claims"},
		{"preflight without CORS", http.MethodOptions, "/local/claims"},
		{"head", http.MethodHead, "/local/claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			// Routing comes before the authorizer: even a valid token gets
			// the routing answer.
			w := f.do(tt.method, tt.target, signRS256(t, accessClaims(f.pool.issuer)), nil, nil)
			if tt.method == http.MethodHead {
				if w.Code != http.StatusForbidden {
					t.Errorf("status = %d, want 403", w.Code)
				}
			} else {
				checkGatewayAnswer(t, w, http.StatusForbidden, `{"message":"Missing Authentication Token"}`)
			}
			if got := w.Header().Get("X-Amzn-Errortype"); got != "MissingAuthenticationTokenException" {
				t.Errorf("x-amzn-ErrorType = %q, want MissingAuthenticationTokenException", got)
			}
			if n := f.rec.count(); n != 0 {
				t.Errorf("handler called %d times, want 0", n)
			}
		})
	}
}

func TestRequestTooLarge(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name     string
		size     int
		chunked  bool
		wantCode int
	}{
		{"at the limit", limit, false, http.StatusOK},
		{"over the limit", limit + 1, false, http.StatusRequestEntityTooLarge},
		{"chunked at the limit", limit, true, http.StatusOK},
		{"chunked over the limit", limit + 1, true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.MaxBodyBytes = limit })
			srv := httptest.NewServer(f.gw)
			defer srv.Close()
			var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("a"), tt.size))
			if tt.chunked {
				// Hiding the reader's length makes the client stream it
				// without a Content-Length.
				body = io.MultiReader(body)
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/local/claims", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", signRS256(t, accessClaims(f.pool.issuer)))
			req.Header.Set("Content-Type", "text/plain")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantCode, got)
			}
			if tt.wantCode == http.StatusOK {
				if n := f.rec.count(); n != 1 {
					t.Errorf("handler called %d times, want 1", n)
				}
				return
			}
			if string(got) != `{"message":"Request Too Long"}` {
				t.Errorf("body = %s, want the Request Too Long answer", got)
			}
			if n := f.rec.count(); n != 0 {
				t.Errorf("handler called %d times, want 0", n)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.CORSAllowOrigin = "http://127.0.0.1:3000" })

	w := f.do(http.MethodOptions, "/local/claims/c-1", "", nil, http.Header{
		"Origin":                        {"http://127.0.0.1:3000"},
		"Access-Control-Request-Method": {"DELETE"},
	})
	if w.Code != http.StatusNoContent {
		t.Fatalf("preflight status = %d, want 204 (body %s)", w.Code, w.Body)
	}
	wantHeaders := map[string]string{
		"Access-Control-Allow-Origin":  "http://127.0.0.1:3000",
		"Access-Control-Allow-Methods": "DELETE,GET,OPTIONS",
		"Access-Control-Allow-Headers": corsAllowHeaders,
		"Vary":                         "Origin",
	}
	for name, want := range wantHeaders {
		if got := w.Header().Get(name); got != want {
			t.Errorf("preflight %s = %q, want %q", name, got, want)
		}
	}
	if n := f.rec.count(); n != 0 {
		t.Errorf("handler called %d times for a preflight, want 0", n)
	}

	w = f.do(http.MethodGet, "/local/claims", "", nil, nil)
	if got := w.Header().Get("Access-Control-Allow-Origin"); w.Code != http.StatusUnauthorized || got != "http://127.0.0.1:3000" {
		t.Errorf("unauthorized answer: status %d, Access-Control-Allow-Origin %q; want 401 with the origin", w.Code, got)
	}

	w = f.do(http.MethodOptions, "/local/nope", "", nil, nil)
	if w.Code != http.StatusForbidden {
		t.Errorf("preflight on unknown path: status %d, want 403", w.Code)
	}
}

func TestAccessLog(t *testing.T) {
	f := newFixture(t, nil)
	token := signRS256(t, accessClaims(f.pool.issuer))
	const secretBody = `{"serialNumber":"SECRET-BODY-VALUE"}`
	w := f.do(http.MethodPost, "/local/claims", token, strings.NewReader(secretBody), nil)
	f.do(http.MethodGet, "/local/claims", "not-a-token", nil, nil)

	logs := f.logs.String()
	for _, secret := range []string{token, "not-a-token", "SECRET-BODY-VALUE"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}
	var lines []map[string]any
	for line := range strings.Lines(logs) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		lines = append(lines, entry)
	}
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want one per request:\n%s", len(lines), logs)
	}
	first := lines[0]
	want := map[string]any{
		"requestId":    w.Header().Get("X-Amzn-Requestid"),
		"method":       "POST",
		"resourcePath": "/claims",
		"status":       float64(200),
		"sourceIp":     "127.0.0.1",
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("log %s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["latency"].(float64); !ok {
		t.Errorf("log latency = %v, want a number", first["latency"])
	}
	if got := lines[1]["cause"]; got != errMalformed.Error() {
		t.Errorf("refused request's cause = %v, want %q", got, errMalformed)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	handler := (&recorder{}).handle
	base := Options{Routes: apigw.Routes, Handler: handler, Issuer: "http://127.0.0.1:9229/local-1_abc"}
	tests := []struct {
		name   string
		change func(*Options)
	}{
		{"no handler", func(o *Options) { o.Handler = nil }},
		{"no issuer", func(o *Options) { o.Issuer = "" }},
		{"issuer not a URL", func(o *Options) { o.Issuer = "local-1_abc" }},
		{"bad stage", func(o *Options) { o.Stage = "a/b" }},
		{"negative body limit", func(o *Options) { o.MaxBodyBytes = -1 }},
		{"negative timeout", func(o *Options) { o.IntegrationTimeout = -time.Second }},
		{"no routes", func(o *Options) { o.Routes = nil }},
		{"bad method", func(o *Options) { o.Routes = []apigw.Route{{Method: "ANY", Path: "/a"}} }},
		{"relative path", func(o *Options) { o.Routes = []apigw.Route{{Method: "GET", Path: "a"}} }},
		{"trailing slash", func(o *Options) { o.Routes = []apigw.Route{{Method: "GET", Path: "/a/"}} }},
		{"empty segment", func(o *Options) { o.Routes = []apigw.Route{{Method: "GET", Path: "/a//b"}} }},
		{"greedy parameter", func(o *Options) { o.Routes = []apigw.Route{{Method: "GET", Path: "/{proxy+}"}} }},
		{"empty parameter", func(o *Options) { o.Routes = []apigw.Route{{Method: "GET", Path: "/a/{}"}} }},
		{"brace in literal", func(o *Options) { o.Routes = []apigw.Route{{Method: "GET", Path: "/a{b}"}} }},
		{"duplicate route", func(o *Options) {
			o.Routes = []apigw.Route{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/a"}}
		}},
		{"two parameter names at one level", func(o *Options) {
			o.Routes = []apigw.Route{{Method: "GET", Path: "/a/{id}"}, {Method: "GET", Path: "/a/{name}/b"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			tt.change(&opts)
			if _, err := New(opts); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
	if _, err := New(base); err != nil {
		t.Errorf("New with valid options: %v", err)
	}
}
