package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

const (
	testKid      = "pool-key-1"
	testClientID = "3n4b5urk1ft4fl3mg5e62d9ado"
	testPoolID   = "local-1_abc"
	testSub      = "5c1a3b7e-6f1d-4c49-9f1e-2b8e0f3a9d10"
)

// testNow is the gateway's clock in tests: a Sunday.
var testNow = time.Date(2026, time.November, 22, 10, 0, 0, 0, time.UTC)

func mustRSAKey() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
}

// poolKey signs the test pool's tokens; otherKey is an attacker's key.
var (
	poolKey  = sync.OnceValue(mustRSAKey)
	otherKey = sync.OnceValue(mustRSAKey)
)

// testPool is a user pool's JWKS endpoint on 127.0.0.1.
type testPool struct {
	issuer  string
	fetches atomic.Int32
	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	status  int
}

func newTestPool(t *testing.T) *testPool {
	t.Helper()
	p := &testPool{keys: map[string]*rsa.PublicKey{testKid: &poolKey().PublicKey}, status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+testPoolID+"/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.status != http.StatusOK {
			w.WriteHeader(p.status)
			return
		}
		set := map[string][]map[string]string{"keys": {}}
		for kid, key := range p.keys {
			set["keys"] = append(set["keys"], jwkJSON(kid, key))
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	p.issuer = srv.URL + "/" + testPoolID
	return p
}

func (p *testPool) setKeys(keys map[string]*rsa.PublicKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

func (p *testPool) setStatus(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = status
}

// jwkJSON lays out a key as Cognito's JWKS does.
func jwkJSON(kid string, key *rsa.PublicKey) map[string]string {
	return map[string]string{
		"alg": "RS256",
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		"kid": kid,
		"kty": "RSA",
		"n":   base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"use": "sig",
	}
}

// accessClaims are an approved installer's access token claims in
// Cognito's layout, with the claims the pre-token-generation trigger adds.
func accessClaims(issuer string) jwt.MapClaims {
	return jwt.MapClaims{
		"sub":            testSub,
		"cognito:groups": []string{"installers", "admins"},
		"iss":            issuer,
		"version":        2,
		"client_id":      testClientID,
		"origin_jti":     "0f6e7d1c-2b3a-4c5d-8e9f-a0b1c2d3e4f5",
		"event_id":       "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c2d",
		"token_use":      "access",
		"scope":          "aws.cognito.signin.user.admin fleetclaim/claims",
		"auth_time":      testNow.Add(-time.Minute).Unix(),
		"exp":            testNow.Add(59 * time.Minute).Unix(),
		"iat":            testNow.Add(-time.Minute).Unix(),
		"jti":            "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
		"username":       "alice",
		"tenant_id":      "tenant-a",
	}
}

// idClaims are the same installer's ID token claims.
func idClaims(issuer string) jwt.MapClaims {
	return jwt.MapClaims{
		"sub":              testSub,
		"cognito:groups":   []string{"installers"},
		"email_verified":   true,
		"iss":              issuer,
		"cognito:username": "alice",
		"origin_jti":       "0f6e7d1c-2b3a-4c5d-8e9f-a0b1c2d3e4f5",
		"aud":              testClientID,
		"event_id":         "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c2d",
		"token_use":        "id",
		"auth_time":        testNow.Add(-time.Minute).Unix(),
		"exp":              testNow.Add(59 * time.Minute).Unix(),
		"iat":              testNow.Add(-time.Minute).Unix(),
		"jti":              "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
		"email":            "alice@example.com",
		"tenant_id":        "tenant-a",
	}
}

// with returns a copy of claims with changes applied; a nil value deletes.
func with(claims jwt.MapClaims, changes map[string]any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range claims {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// sign signs claims with method and key, with kid in the header unless
// empty. Like Cognito's, the header has no typ.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	delete(tok.Header, "typ")
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

// signRS256 signs claims as the test pool does.
func signRS256(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodRS256, poolKey(), testKid, claims)
}

// recorder is a handler that records its calls and answers with respond.
type recorder struct {
	mu      sync.Mutex
	calls   []events.APIGatewayProxyRequest
	ctxs    []context.Context
	respond func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
}

func (rec *recorder) handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	rec.mu.Lock()
	rec.calls = append(rec.calls, req)
	rec.ctxs = append(rec.ctxs, ctx)
	respond := rec.respond
	rec.mu.Unlock()
	if respond != nil {
		return respond(ctx, req)
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Body: `{"ok":true}`}, nil
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.calls)
}

func (rec *recorder) last(t *testing.T) (events.APIGatewayProxyRequest, context.Context) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) == 0 {
		t.Fatal("handler not called")
	}
	return rec.calls[len(rec.calls)-1], rec.ctxs[len(rec.ctxs)-1]
}

// fixture is a gateway in front of a recorder, trusting a test pool.
type fixture struct {
	gw    *Gateway
	rec   *recorder
	pool  *testPool
	clock *fleetclaimtest.Clock
	logs  *fleetclaimtest.LogBuffer
}

// newFixture builds a gateway for apigw.Routes; change adjusts its options.
func newFixture(t *testing.T, change func(*Options)) *fixture {
	t.Helper()
	f := &fixture{rec: &recorder{}, pool: newTestPool(t), clock: fleetclaimtest.NewClock(testNow), logs: &fleetclaimtest.LogBuffer{}}
	opts := Options{
		Routes:    apigw.Routes,
		Handler:   f.rec.handle,
		Issuer:    f.pool.issuer,
		ClientIDs: []string{testClientID},
		Logger:    slog.New(slog.NewJSONHandler(f.logs, nil)),
		Clock:     f.clock.Now,
	}
	if change != nil {
		change(&opts)
	}
	gw, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.gw = gw
	return f
}

// do sends a request to the gateway; token, when set, goes in the
// Authorization header as "Bearer <token>".
func (f *fixture) do(method, target, token string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	req.RemoteAddr = "127.0.0.1:50123"
	req.Host = "127.0.0.1:8080"
	for name, values := range header {
		req.Header[name] = values
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.gw.ServeHTTP(w, req)
	return w
}

// checkGatewayAnswer checks that w is one of API Gateway's own answers.
func checkGatewayAnswer(t *testing.T, w *httptest.ResponseRecorder, wantStatus int, wantBody string) {
	t.Helper()
	if got := w.Code; got != wantStatus {
		t.Errorf("status = %d, want %d (body %s)", got, wantStatus, w.Body)
	}
	if got := w.Body.String(); got != wantBody {
		t.Errorf("body = %s, want %s", got, wantBody)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if w.Header().Get("X-Amzn-Requestid") == "" {
		t.Error("no X-Amzn-Requestid header")
	}
}
