package cognito_test

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

// srpClient is the browser's half of USER_SRP_AUTH, written here from
// Cognito's published protocol (SRP-6a, RFC 5054 arithmetic over the RFC 3526
// 3072-bit group, SHA-256, the "Caldera Derived Key" HKDF) and independent of
// the pool's code, so the two halves check each other.
type srpClient struct {
	n, g, k, a, bigA *big.Int
	poolName         string
}

const rfc3526Group15 = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
	"83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
	"15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
	"BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"

// twosComplementBytes is a non-negative integer's minimal two's-complement
// big-endian encoding (Java's BigInteger.toByteArray), which SRP hashes.
func twosComplementBytes(x *big.Int) []byte {
	b := x.Bytes()
	if len(b) == 0 {
		return []byte{0}
	}
	if b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

func sha(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func newSRPClient(t *testing.T, poolID string) *srpClient {
	t.Helper()
	n, _ := new(big.Int).SetString(rfc3526Group15, 16)
	g := big.NewInt(2)
	k := new(big.Int).SetBytes(sha(twosComplementBytes(n), twosComplementBytes(g)))
	raw := make([]byte, 128)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	a := new(big.Int).SetBytes(raw)
	_, name, _ := strings.Cut(poolID, "_")
	return &srpClient{n: n, g: g, k: k, a: a, bigA: new(big.Int).Exp(g, a, n), poolName: name}
}

// respond computes the PASSWORD_VERIFIER answer to the pool's challenge.
func (c *srpClient) respond(t *testing.T, params map[string]string, password string, now time.Time) map[string]string {
	t.Helper()
	bigB, ok1 := new(big.Int).SetString(params["SRP_B"], 16)
	salt, ok2 := new(big.Int).SetString(params["SALT"], 16)
	block, err := base64.StdEncoding.DecodeString(params["SECRET_BLOCK"])
	if !ok1 || !ok2 || err != nil || new(big.Int).Mod(bigB, c.n).Sign() == 0 {
		t.Fatalf("challenge parameters unusable: %v", params)
	}
	user := params["USER_ID_FOR_SRP"]
	u := new(big.Int).SetBytes(sha(twosComplementBytes(c.bigA), twosComplementBytes(bigB)))
	inner := sha([]byte(c.poolName + user + ":" + password))
	x := new(big.Int).SetBytes(sha(twosComplementBytes(salt), inner))
	// S = (B - k·g^x)^(a + u·x) mod N
	base := new(big.Int).Sub(bigB, new(big.Int).Mul(c.k, new(big.Int).Exp(c.g, x, c.n)))
	base.Mod(base, c.n)
	s := new(big.Int).Exp(base, new(big.Int).Add(c.a, new(big.Int).Mul(u, x)), c.n)
	key, err := hkdf.Key(sha256.New, twosComplementBytes(s), twosComplementBytes(u), "Caldera Derived Key", 16)
	if err != nil {
		t.Fatal(err)
	}
	stamp := now.UTC().Format("Mon Jan 2 15:04:05 UTC 2006")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(c.poolName + user))
	mac.Write(block)
	mac.Write([]byte(stamp))
	return map[string]string{"USERNAME": user, "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
		"TIMESTAMP": stamp, "PASSWORD_CLAIM_SIGNATURE": base64.StdEncoding.EncodeToString(mac.Sum(nil))}
}

// srpSignIn runs both legs of USER_SRP_AUTH with the AWS SDK client;
// edit, if set, changes the answer before it is sent.
func (s *stack) srpSignIn(t *testing.T, username, password string, edit func(map[string]string)) (*cip.RespondToAuthChallengeOutput, error) {
	t.Helper()
	c := newSRPClient(t, s.pool.PoolID())
	start, err := s.client.InitiateAuth(t.Context(), &cip.InitiateAuthInput{
		AuthFlow: types.AuthFlowTypeUserSrpAuth, ClientId: aws.String(s.pool.ClientID()),
		AuthParameters: map[string]string{"USERNAME": username, "SRP_A": c.bigA.Text(16)},
	})
	if err != nil {
		t.Fatalf("InitiateAuth USER_SRP_AUTH: %v", err)
	}
	if start.ChallengeName != types.ChallengeNameTypePasswordVerifier {
		t.Fatalf("ChallengeName = %q, want PASSWORD_VERIFIER", start.ChallengeName)
	}
	answer := c.respond(t, start.ChallengeParameters, password, time.Now())
	if edit != nil {
		edit(answer)
	}
	return s.client.RespondToAuthChallenge(t.Context(), &cip.RespondToAuthChallengeInput{
		ClientId: aws.String(s.pool.ClientID()), ChallengeName: types.ChallengeNameTypePasswordVerifier,
		ChallengeResponses: answer, Session: start.Session,
	})
}

func TestSRPSignIn(t *testing.T) {
	s := newStack(t, cognito.Options{SignInWithEmail: true})
	sub := aws.ToString(s.signUp(t, "jane@acme.example").UserSub)
	tests := []struct {
		name     string
		username string
		password string
		edit     func(map[string]string)
		confirm  bool
		check    func(*testing.T, *cip.RespondToAuthChallengeOutput, error)
	}{
		{name: "unconfirmed user with the right password", username: "jane@acme.example", password: testPassword,
			check: func(t *testing.T, _ *cip.RespondToAuthChallengeOutput, err error) {
				wantAPIError[*types.UserNotConfirmedException](t, err, "User is not confirmed.")
			}},
		{name: "right password", username: "jane@acme.example", password: testPassword, confirm: true,
			check: func(t *testing.T, out *cip.RespondToAuthChallengeOutput, err error) {
				if err != nil {
					t.Fatalf("RespondToAuthChallenge: %v", err)
				}
				claims := s.verify(t, aws.ToString(out.AuthenticationResult.AccessToken))
				if claims["sub"] != sub || claims["token_use"] != "access" {
					t.Errorf("access token sub, token_use = %v, %v; want %s, access", claims["sub"], claims["token_use"], sub)
				}
				if aws.ToString(out.AuthenticationResult.RefreshToken) == "" {
					t.Error("no refresh token")
				}
			}},
		{name: "wrong password", username: "jane@acme.example", password: "Wr0ngPassword",
			check: func(t *testing.T, _ *cip.RespondToAuthChallengeOutput, err error) {
				wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
			}},
		{name: "unknown user answers like a wrong password", username: "nobody@acme.example", password: testPassword,
			check: func(t *testing.T, _ *cip.RespondToAuthChallengeOutput, err error) {
				wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
			}},
		{name: "timestamp signed but stale", username: "jane@acme.example", password: testPassword,
			edit: func(m map[string]string) {
				m["TIMESTAMP"] = time.Now().UTC().Add(-time.Hour).Format("Mon Jan 2 15:04:05 UTC 2006")
			},
			check: func(t *testing.T, _ *cip.RespondToAuthChallengeOutput, err error) {
				wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
			}},
		{name: "timestamp in another format", username: "jane@acme.example", password: testPassword,
			edit: func(m map[string]string) { m["TIMESTAMP"] = time.Now().UTC().Format(time.RFC3339) },
			check: func(t *testing.T, _ *cip.RespondToAuthChallengeOutput, err error) {
				wantAPIError[*types.InvalidParameterException](t, err, "")
			}},
		{name: "unknown secret block", username: "jane@acme.example", password: testPassword,
			edit: func(m map[string]string) {
				m["PASSWORD_CLAIM_SECRET_BLOCK"] = base64.StdEncoding.EncodeToString([]byte("forged"))
			},
			check: func(t *testing.T, _ *cip.RespondToAuthChallengeOutput, err error) {
				wantAPIError[*types.NotAuthorizedException](t, err, "Invalid session for the user, session is expired.")
			}},
		{name: "another user's name", username: "jane@acme.example", password: testPassword,
			edit: func(m map[string]string) { m["USERNAME"] = "someone-else" },
			check: func(t *testing.T, _ *cip.RespondToAuthChallengeOutput, err error) {
				wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.confirm {
				s.confirm(t, "jane@acme.example")
			}
			out, err := s.srpSignIn(t, tt.username, tt.password, tt.edit)
			tt.check(t, out, err)
		})
	}
}

// TestSRPChallengeAnsweredOnce: a right answer replayed is refused, as the
// challenge it answers is spent.
func TestSRPChallengeAnsweredOnce(t *testing.T) {
	s := newStack(t, cognito.Options{})
	s.register(t, "jane")
	c := newSRPClient(t, s.pool.PoolID())
	start, err := s.client.InitiateAuth(t.Context(), &cip.InitiateAuthInput{
		AuthFlow: types.AuthFlowTypeUserSrpAuth, ClientId: aws.String(s.pool.ClientID()),
		AuthParameters: map[string]string{"USERNAME": "jane", "SRP_A": c.bigA.Text(16)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := start.ChallengeParameters["USER_ID_FOR_SRP"]; got != "jane" {
		t.Errorf("USER_ID_FOR_SRP = %q, want jane", got)
	}
	answer := c.respond(t, start.ChallengeParameters, testPassword, time.Now())
	in := &cip.RespondToAuthChallengeInput{ClientId: aws.String(s.pool.ClientID()),
		ChallengeName: types.ChallengeNameTypePasswordVerifier, ChallengeResponses: answer}
	if _, err := s.client.RespondToAuthChallenge(t.Context(), in); err != nil {
		t.Fatalf("first answer: %v", err)
	}
	_, err = s.client.RespondToAuthChallenge(t.Context(), in)
	wantAPIError[*types.NotAuthorizedException](t, err, "Invalid session for the user, session is expired.")
}

// TestCORSPreflight: a page on another origin may call the pool, as it may
// call Cognito's public endpoint.
func TestCORSPreflight(t *testing.T) {
	s := newStack(t, cognito.Options{})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, s.srv.URL+"/", nil)
	req.Header.Set("Origin", "http://127.0.0.1:9")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-amz-target,x-amz-user-agent")
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status = %d, want 204", resp.StatusCode)
	}
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"content-type", "x-amz-target", "x-amz-user-agent"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("Access-Control-Allow-Headers = %q, lacks %s", allowed, h)
		}
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
	}
}

// TestSRPWithTheConsoleLibrary signs in with amazon-cognito-identity-js
// itself, the library the console bundles (shared/console/web), run by
// Node.js over HTTP: the pool's SRP must be the one that library speaks.
func TestSRPWithTheConsoleLibrary(t *testing.T) {
	modules, err := filepath.Abs("../../../shared/console/web/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "amazon-cognito-identity-js")); err != nil {
		t.Fatalf("the console's npm packages are not installed (go generate ./shared/console installs them): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("no node on PATH: infra/scripts/deps.sh installs Node.js")
	}
	s := newStack(t, cognito.Options{SignInWithEmail: true})
	sub := aws.ToString(s.signUp(t, "jane@acme.example").UserSub)
	s.confirm(t, "jane@acme.example")
	tests := []struct {
		name     string
		username string
		password string
		wantOK   bool
		wantCode string
	}{
		{"right password", "jane@acme.example", testPassword, true, ""},
		{"wrong password", "jane@acme.example", "Wr0ngPassword", false, "NotAuthorizedException"},
		{"unknown user", "nobody@acme.example", testPassword, false, "NotAuthorizedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), node, "testdata/srp-signin.cjs")
			cmd.Env = append(os.Environ(), "CONSOLE_NODE_MODULES="+modules, "POOL_ID="+s.pool.PoolID(),
				"CLIENT_ID="+s.pool.ClientID(), "COGNITO_ENDPOINT="+s.srv.URL+"/", "USERNAME="+tt.username, "PASSWORD="+tt.password)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			var got struct {
				OK     bool           `json:"ok"`
				Code   string         `json:"code"`
				Access map[string]any `json:"access"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("node printed %q: %v", out, err)
			}
			if got.OK != tt.wantOK || got.Code != tt.wantCode {
				t.Fatalf("ok, code = %v, %q; want %v, %q", got.OK, got.Code, tt.wantOK, tt.wantCode)
			}
			if tt.wantOK && got.Access["sub"] != sub {
				t.Errorf("access token sub = %v, want %s", got.Access["sub"], sub)
			}
		})
	}
}

// TestSRPVerifierForOlderUsers: a user stored before the pool kept SRP
// verifiers gets one from their next USER_PASSWORD_AUTH sign-in, on a client
// that allows that flow, and can use SRP from then on. (The local stack's
// client does not: there such a user resets their password.)
func TestSRPVerifierForOlderUsers(t *testing.T) {
	s := newStack(t, cognito.Options{})
	s.register(t, "jane")
	path := filepath.Join(s.opts.DataDir, "state.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	users, _ := state["users"].(map[string]any)
	if len(users) != 1 {
		t.Fatalf("state has %d users, want 1: is the state file's layout still users by sub?", len(users))
	}
	for _, u := range users {
		delete(u.(map[string]any), "srp")
	}
	if raw, err = json.Marshal(state); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s = s.restart(t)

	_, err = s.srpSignIn(t, "jane", testPassword, nil)
	wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
	if _, err := s.passwordAuth(t, "jane", testPassword); err != nil {
		t.Fatalf("USER_PASSWORD_AUTH: %v", err)
	}
	if _, err := s.srpSignIn(t, "jane", testPassword, nil); err != nil {
		t.Fatalf("SRP after a password sign-in: %v", err)
	}
}

// TestSRPLockout: failed SRP sign-ins count toward the same lock-out as
// failed USER_PASSWORD_AUTH ones, so neither flow gets around it.
func TestSRPLockout(t *testing.T) {
	var clock clockMu
	clock.set(time.Now())
	s := newStack(t, cognito.Options{Now: clock.now})
	s.register(t, "jane")
	for i := range 5 {
		_, err := s.srpSignIn(t, "jane", "Wrong-Password-1", nil)
		wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
		if t.Failed() {
			t.Fatalf("failure %d", i+1)
		}
	}
	_, err := s.srpSignIn(t, "jane", testPassword, nil)
	wantAPIError[*types.NotAuthorizedException](t, err, "Password attempts exceeded")
	_, err = s.passwordAuth(t, "jane", testPassword)
	wantAPIError[*types.NotAuthorizedException](t, err, "Password attempts exceeded")

	clock.set(clock.now().Add(time.Second))
	if _, err := s.srpSignIn(t, "jane", testPassword, nil); err != nil {
		t.Fatalf("SRP after the lock-out: %v", err)
	}
}

// TestSRPNewPasswordRequired: a user an administrator created signs in with
// SRP and the temporary password, is asked for a new one, and signs in with
// SRP and the new one from then on.
func TestSRPNewPasswordRequired(t *testing.T) {
	s := newStack(t, cognito.Options{SignInWithEmail: true})
	const email, chosen = "ops@acme.example", "Chosen-Passw0rd-1"
	out, err := s.adminCreate(t, &cip.AdminCreateUserInput{Username: aws.String(email),
		UserAttributes: attrs("email", email, "email_verified", "true", "custom:tenant_id", "acme")})
	if err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	temporary, ok := s.pool.TemporaryPassword(email)
	if !ok {
		t.Fatal("no temporary password")
	}
	first, err := s.srpSignIn(t, email, temporary, nil)
	if err != nil {
		t.Fatalf("SRP with the temporary password: %v", err)
	}
	if first.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || aws.ToString(first.Session) == "" || first.AuthenticationResult != nil {
		t.Fatalf("got %+v, want the NEW_PASSWORD_REQUIRED challenge", first)
	}
	done, err := s.client.RespondToAuthChallenge(t.Context(), &cip.RespondToAuthChallengeInput{
		ClientId: aws.String(s.pool.ClientID()), ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: first.Session,
		ChallengeResponses: map[string]string{"USERNAME": aws.ToString(out.User.Username), "NEW_PASSWORD": chosen}})
	if err != nil || done.AuthenticationResult == nil {
		t.Fatalf("new password: %+v, %v", done, err)
	}
	if _, err := s.srpSignIn(t, email, chosen, nil); err != nil {
		t.Errorf("SRP with the new password: %v", err)
	}
	_, err = s.srpSignIn(t, email, temporary, nil)
	wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
}
