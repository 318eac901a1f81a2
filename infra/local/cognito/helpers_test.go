package cognito_test

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// The tests drive the pool over HTTP on 127.0.0.1 with the unmodified AWS
// SDK client, as the local stack's users do.

const testPassword = "Passw0rdLocal"

// testCredentials sign the test clients' calls; the pool takes them as its
// admin credentials unless a test says otherwise.
var testCredentials = aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "local-secret"}

var testGroups = []string{"installers", "admins", "platform-admins"}

type stack struct {
	pool   *cognito.Pool
	srv    *httptest.Server
	client *cip.Client
	logs   *logBuffer
	opts   cognito.Options
}

// newStack serves a pool on a fresh loopback port. Zero DataDir means a new
// temporary directory; Groups default to the deployment's groups.
func newStack(t *testing.T, opts cognito.Options) *stack {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Groups == nil {
		opts.Groups = testGroups
	}
	if opts.WriteAttributes == nil {
		opts.WriteAttributes = []string{"email", "custom:tenant_id"}
	}
	if opts.AdminCredentials == (aws.Credentials{}) {
		opts.AdminCredentials = testCredentials
	}
	logs := &logBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := httptest.NewUnstartedServer(nil)
	opts.BaseURL = "http://" + srv.Listener.Addr().String()
	pool, err := cognito.New(opts)
	if err != nil {
		t.Fatalf("cognito.New: %v", err)
	}
	srv.Config.Handler = pool.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	client := cip.New(cip.Options{
		Region:           pool.Region(),
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.StaticCredentialsProvider{Value: opts.AdminCredentials},
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return &stack{pool: pool, srv: srv, client: client, logs: logs, opts: opts}
}

// restart serves a new Pool on the same data directory, as a restarted
// local stack would.
func (s *stack) restart(t *testing.T) *stack {
	t.Helper()
	s.srv.Close()
	opts := s.opts
	opts.Logger = nil
	return newStack(t, opts)
}

func attrs(kv ...string) []types.AttributeType {
	var out []types.AttributeType
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.AttributeType{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func (s *stack) signUp(t *testing.T, username string) *cip.SignUpOutput {
	t.Helper()
	out, err := s.client.SignUp(t.Context(), &cip.SignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String(username), Password: aws.String(testPassword),
		UserAttributes: attrs("email", username+"@acme.example", "custom:tenant_id", "acme"),
	})
	if err != nil {
		t.Fatalf("SignUp %s: %v", username, err)
	}
	return out
}

func (s *stack) confirm(t *testing.T, username string) {
	t.Helper()
	code, ok := s.pool.ConfirmationCode(username)
	if !ok {
		t.Fatalf("no confirmation code pending for %s", username)
	}
	if _, err := s.client.ConfirmSignUp(t.Context(), &cip.ConfirmSignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String(username), ConfirmationCode: aws.String(code),
	}); err != nil {
		t.Fatalf("ConfirmSignUp %s: %v", username, err)
	}
}

// register signs a user up and confirms it with its code.
func (s *stack) register(t *testing.T, username string) string {
	t.Helper()
	sub := aws.ToString(s.signUp(t, username).UserSub)
	s.confirm(t, username)
	return sub
}

// login signs username in with SRP, as the console and the project's tools
// do (the deployed app client allows no other password proof).
func (s *stack) login(t *testing.T, username string) *types.AuthenticationResultType {
	t.Helper()
	out, err := s.srpSignIn(t, username, testPassword, nil)
	if err != nil {
		t.Fatalf("SRP sign-in %s: %v", username, err)
	}
	return out.AuthenticationResult
}

// passwordAuth is USER_PASSWORD_AUTH, which the pool still serves to a
// client that allows it; tests of that flow's own behaviour use it.
func (s *stack) passwordAuth(t *testing.T, username, password string) (*cip.InitiateAuthOutput, error) {
	return s.client.InitiateAuth(t.Context(), &cip.InitiateAuthInput{
		AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(s.pool.ClientID()),
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password},
	})
}

func (s *stack) refresh(t *testing.T, token string) (*cip.InitiateAuthOutput, error) {
	return s.client.InitiateAuth(t.Context(), &cip.InitiateAuthInput{
		AuthFlow: types.AuthFlowTypeRefreshTokenAuth, ClientId: aws.String(s.pool.ClientID()),
		AuthParameters: map[string]string{"REFRESH_TOKEN": token},
	})
}

func (s *stack) addToGroup(t *testing.T, username, group string) {
	t.Helper()
	if _, err := s.client.AdminAddUserToGroup(t.Context(), &cip.AdminAddUserToGroupInput{
		UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String(username), GroupName: aws.String(group),
	}); err != nil {
		t.Fatalf("AdminAddUserToGroup %s %s: %v", username, group, err)
	}
}

// verify checks a token's RS256 signature against the JWKS that the pool
// serves over HTTP, selecting the key by kid, and returns its claims.
func (s *stack) verify(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	keys := s.jwks(t)
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		k, ok := keys[kid]
		if !ok {
			return nil, fmt.Errorf("kid %q is not in the JWKS", kid)
		}
		return k, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(s.pool.Issuer()), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("verify token: %v", err)
	}
	if got, want := len(tok.Header), 2; got != want {
		t.Errorf("got header %v, want exactly kid and alg as Cognito writes", tok.Header)
	}
	return claims
}

func (s *stack) jwks(t *testing.T) map[string]*rsa.PublicKey {
	t.Helper()
	var doc struct {
		Keys []struct{ Kid, Kty, Alg, Use, N, E string }
	}
	s.getJSON(t, s.pool.JWKSURL(), &doc)
	keys := map[string]*rsa.PublicKey{}
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
			t.Fatalf("got JWK kty=%s alg=%s use=%s, want RSA RS256 sig", k.Kty, k.Alg, k.Use)
		}
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if err := errors.Join(errN, errE); err != nil {
			t.Fatalf("JWK %s: %v", k.Kid, err)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys
}

func (s *stack) getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := s.srv.Client().Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d, want 200", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// wantAPIError checks that err is the SDK's typed exception T and, unless
// message is empty, that it carries Cognito's message.
func wantAPIError[T interface {
	error
	ErrorMessage() string
}](t *testing.T, err error, message string) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("got error %v, want %T", err, target)
	}
	if message != "" && target.ErrorMessage() != message {
		t.Errorf("got message %q, want %q", target.ErrorMessage(), message)
	}
}

// logBuffer collects JSON log lines; the pool logs from request goroutines.
type logBuffer struct{ fleetclaimtest.LogBuffer }

// records returns the log records whose message contains msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m, _ := rec["msg"].(string); strings.Contains(m, msg) {
			out = append(out, rec)
		}
	}
	return out
}

// stringsOf converts a decoded JSON array claim.
func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// clockMu is a settable clock for the pool's Now option.
type clockMu struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clockMu) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clockMu) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
