package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
)

const testOrigin = "http://127.0.0.1:3000"

// notProducedLocally are the deployed gateway responses the stand-in has no
// cause to give, and why. Every other type of apigw.GatewayResponses must
// have a probe in TestGatewayResponsesOverHTTP.
var notProducedLocally = map[string]string{
	"EXPIRED_TOKEN":          "for expired IAM credentials; the Cognito authorizer answers an expired token UNAUTHORIZED",
	"ACCESS_DENIED":          "for explicit denies by Lambda authorizers and resource policies, which the API has none of",
	"BAD_REQUEST_BODY":       "the stand-in does not validate request models; the function validates every body again",
	"BAD_REQUEST_PARAMETERS": "the API declares no required request parameters",
}

// responseProbe makes the stand-in give one gateway response.
type responseProbe struct {
	responseType string
	// change adjusts the gateway's options; setup the fixture.
	change func(*Options)
	setup  func(f *fixture)
	// send makes the request(s) through the server and returns the last
	// answer.
	send func(t *testing.T, f *fixture, srv *httptest.Server) *http.Response
	// What a client must see, written out rather than read from the list,
	// so that the list is checked too.
	wantStatus  int
	wantCode    string
	wantMessage string
	// wantStatusMember is false for the catch-alls, whose body has no
	// status.
	wantStatusMember bool
}

func get(path, token string) func(t *testing.T, f *fixture, srv *httptest.Server) *http.Response {
	return func(t *testing.T, _ *fixture, srv *httptest.Server) *http.Response {
		return send(t, srv, http.MethodGet, path, token, nil)
	}
}

func send(t *testing.T, srv *httptest.Server, method, path, token string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestGatewayResponsesOverHTTP: with apigw.GatewayResponses, every gateway
// response the stand-in gives is the deployed one: status, headers and a
// problem document with the stable code, API Gateway's message as detail
// and the request ID as instance.
func TestGatewayResponsesOverHTTP(t *testing.T) {
	probes := []responseProbe{
		{
			responseType: "UNAUTHORIZED", send: get("/local/claims", ""),
			wantStatus: http.StatusUnauthorized, wantCode: "unauthenticated", wantMessage: "Unauthorized", wantStatusMember: true,
		},
		{
			responseType: "MISSING_AUTHENTICATION_TOKEN", send: get("/local/no-such-route", ""),
			wantStatus: http.StatusNotFound, wantCode: "not_found", wantMessage: "Missing Authentication Token", wantStatusMember: true,
		},
		{
			responseType: "REQUEST_TOO_LARGE",
			change:       func(o *Options) { o.MaxBodyBytes = 16 },
			send: func(t *testing.T, f *fixture, srv *httptest.Server) *http.Response {
				return send(t, srv, http.MethodPost, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)),
					strings.NewReader(`{"serialNumber":"SN-000000001"}`))
			},
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: "body_too_large", wantMessage: "Request Too Long", wantStatusMember: true,
		},
		{
			responseType: "THROTTLED",
			change:       func(o *Options) { o.ThrottleRate, o.ThrottleBurst = 1, 2 },
			send: func(t *testing.T, f *fixture, srv *httptest.Server) *http.Response {
				// The clock stands still, so the bucket never refills.
				token := signRS256(t, accessClaims(f.pool.issuer))
				for i := range 2 {
					if resp := send(t, srv, http.MethodGet, "/local/claims", token, nil); resp.StatusCode != http.StatusOK {
						t.Fatalf("request %d within the burst: got %d", i+1, resp.StatusCode)
					}
				}
				return send(t, srv, http.MethodGet, "/local/claims", token, nil)
			},
			wantStatus: http.StatusTooManyRequests, wantCode: "throttled", wantMessage: "Too Many Requests", wantStatusMember: true,
		},
		{
			responseType: "INTEGRATION_TIMEOUT",
			change:       func(o *Options) { o.IntegrationTimeout = 20 * time.Millisecond },
			setup: func(f *fixture) {
				f.rec.respond = func(ctx context.Context, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
					<-ctx.Done()
					time.Sleep(10 * time.Millisecond)
					return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
				}
			},
			send: func(t *testing.T, f *fixture, srv *httptest.Server) *http.Response {
				return send(t, srv, http.MethodGet, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)), nil)
			},
			wantStatus: http.StatusGatewayTimeout, wantCode: "dependency_unavailable", wantMessage: "Endpoint request timed out",
			wantStatusMember: true,
		},
		{
			responseType: "DEFAULT_5XX",
			setup: func(f *fixture) {
				f.rec.respond = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
					return events.APIGatewayProxyResponse{}, errors.New("function failed")
				}
			},
			send: func(t *testing.T, f *fixture, srv *httptest.Server) *http.Response {
				return send(t, srv, http.MethodGet, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)), nil)
			},
			wantStatus: http.StatusBadGateway, wantCode: "internal_error", wantMessage: "Internal server error",
		},
		{
			responseType: "DEFAULT_4XX",
			send: func(t *testing.T, f *fixture, srv *httptest.Server) *http.Response {
				return sendBrokenChunks(t, srv, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)))
			},
			wantStatus: http.StatusBadRequest, wantCode: "invalid_request", wantMessage: "Bad Request",
		},
	}

	probed := map[string]bool{}
	for _, p := range probes {
		probed[p.responseType] = true
	}
	for _, r := range apigw.GatewayResponses {
		if _, skip := notProducedLocally[r.Type]; !probed[r.Type] && !skip {
			t.Errorf("%s: no probe, and not listed as a response the stand-in never gives", r.Type)
		}
	}

	for _, p := range probes {
		t.Run(p.responseType, func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				o.Responses = apigw.GatewayResponses
				o.CORSAllowOrigin = testOrigin
				if p.change != nil {
					p.change(o)
				}
			})
			if p.setup != nil {
				p.setup(f)
			}
			srv := httptest.NewServer(f.gw)
			t.Cleanup(srv.Close)
			resp := p.send(t, f, srv)
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			checkProblemAnswer(t, p, resp, raw)
		})
	}
}

func checkProblemAnswer(t *testing.T, p responseProbe, resp *http.Response, raw []byte) {
	t.Helper()
	if resp.StatusCode != p.wantStatus {
		t.Fatalf("got %d %s, want %d", resp.StatusCode, raw, p.wantStatus)
	}
	requestID := resp.Header.Get("X-Amzn-Requestid")
	if requestID == "" {
		t.Error("no X-Amzn-Requestid")
	}
	wantHeaders := map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": testOrigin, "Vary": "Origin"}
	switch p.wantStatus {
	case http.StatusUnauthorized:
		wantHeaders["Www-Authenticate"] = "Bearer"
	case http.StatusTooManyRequests:
		wantHeaders["Retry-After"] = "1"
	}
	for name, want := range wantHeaders {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("got %s %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"WWW-Authenticate", "Retry-After"} {
		if _, want := wantHeaders[http.CanonicalHeaderKey(name)]; !want && resp.Header.Get(name) != "" {
			t.Errorf("got %s %q on a %d", name, resp.Header.Get(name), p.wantStatus)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	want := map[string]any{"type": "about:blank", "code": p.wantCode, "detail": p.wantMessage, "instance": requestID}
	if p.wantStatusMember {
		want["status"] = float64(p.wantStatus)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body %s = %v, want %v", k, body[k], v)
		}
	}
	if _, ok := body["status"]; ok && !p.wantStatusMember {
		t.Errorf("body has a status member: %s", raw)
	}
	if title, _ := body["title"].(string); title == "" {
		t.Errorf("body has no title: %s", raw)
	}
	// Byte for byte the deployed mapping template, rendered.
	r, ok := apigw.GatewayResponseFor(apigw.GatewayResponses, p.responseType, p.wantStatus)
	if !ok || string(raw) != r.Body(p.wantMessage, requestID) {
		t.Errorf("got body %s, want the %s template rendered: %s", raw, p.responseType, r.Body(p.wantMessage, requestID))
	}
}

// sendBrokenChunks sends a request whose chunked body breaks off with a
// malformed chunk size, which no HTTP client library will write.
func sendBrokenChunks(t *testing.T, srv *httptest.Server, path, token string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"ser\r\nzz\r\n", path, srv.Listener.Addr(), token)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestDefaultResponsesWithoutList: without Options.Responses the stand-in
// answers with API Gateway's untouched defaults, as an API without
// customized gateway responses does.
func TestDefaultResponsesWithoutList(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.gw)
	t.Cleanup(srv.Close)
	resp := send(t, srv, http.MethodGet, "/local/claims", "", nil)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized || string(raw) != `{"message":"Unauthorized"}` ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %s %s, want API Gateway's default 401", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
}
