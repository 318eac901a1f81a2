package gateway

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// publicKeyPEM is the pool's public key as an attacker would find it: the
// secret of the classic HS256 key-confusion forgery.
func publicKeyPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&poolKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// replaceSegment replaces segment i of a compact JWS.
func replaceSegment(token string, i int, seg string) string {
	parts := strings.Split(token, ".")
	parts[i] = seg
	return strings.Join(parts, ".")
}

func encodeSegment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestAuthorizerRefusesBadTokens(t *testing.T) {
	pool := newTestPool(t)
	iss := pool.issuer
	valid := signRS256(t, accessClaims(iss))
	randomSig := make([]byte, 256)
	rand.Read(randomSig)

	tests := []struct {
		name string
		// header is the Authorization header values; nil means none.
		header func(t *testing.T) []string
		// target defaults to GET /local/claims, which requires the
		// fleetclaim/claims scope.
		target string
	}{
		{"no header", func(*testing.T) []string { return nil }, ""},
		{"empty header", func(*testing.T) []string { return []string{""} }, ""},
		{"bearer without token", func(*testing.T) []string { return []string{"Bearer "} }, ""},
		{"two headers", func(*testing.T) []string { return []string{valid, valid} }, ""},
		{"not a JWT", func(*testing.T) []string { return []string{"not-a-jwt"} }, ""},
		{"two segments", func(*testing.T) []string { return []string{"eyJhbGciOiJSUzI1NiJ9.e30"} }, ""},
		{"four segments", func(*testing.T) []string { return []string{valid + ".x"} }, ""},
		{"header not JSON", func(*testing.T) []string { return []string{replaceSegment(valid, 0, "bm90LWpzb24")} }, ""},
		{"padded signature", func(*testing.T) []string { return []string{valid + "="} }, ""},
		{"space inside token", func(*testing.T) []string { return []string{"Bearer  " + valid} }, ""},
		{"oversized token", func(*testing.T) []string { return []string{strings.Repeat("a", maxTokenBytes+1)} }, ""},
		{"alg none", func(t *testing.T) []string {
			return []string{sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, testKid, accessClaims(iss))}
		}, ""},
		{"alg none keeping a real signature", func(t *testing.T) []string {
			return []string{replaceSegment(valid, 0, encodeSegment(t, map[string]string{"alg": "none", "kid": testKid}))}
		}, ""},
		{"HS256 keyed with the public key PEM", func(t *testing.T) []string {
			return []string{sign(t, jwt.SigningMethodHS256, publicKeyPEM(t), testKid, accessClaims(iss))}
		}, ""},
		{"HS256 keyed with the public key DER", func(t *testing.T) []string {
			der, _ := x509.MarshalPKIXPublicKey(&poolKey().PublicKey)
			return []string{sign(t, jwt.SigningMethodHS256, der, testKid, accessClaims(iss))}
		}, ""},
		{"RS384 with the pool key", func(t *testing.T) []string {
			return []string{sign(t, jwt.SigningMethodRS384, poolKey(), testKid, accessClaims(iss))}
		}, ""},
		{"PS256 with the pool key", func(t *testing.T) []string {
			return []string{sign(t, jwt.SigningMethodPS256, poolKey(), testKid, accessClaims(iss))}
		}, ""},
		{"no kid", func(t *testing.T) []string {
			return []string{sign(t, jwt.SigningMethodRS256, poolKey(), "", accessClaims(iss))}
		}, ""},
		{"unknown kid", func(t *testing.T) []string {
			return []string{sign(t, jwt.SigningMethodRS256, poolKey(), "other-kid", accessClaims(iss))}
		}, ""},
		{"attacker key with unknown kid", func(t *testing.T) []string {
			return []string{sign(t, jwt.SigningMethodRS256, otherKey(), "attacker", accessClaims(iss))}
		}, ""},
		{"attacker key with the pool's kid", func(t *testing.T) []string {
			return []string{sign(t, jwt.SigningMethodRS256, otherKey(), testKid, accessClaims(iss))}
		}, ""},
		{"garbage signature", func(*testing.T) []string {
			return []string{replaceSegment(valid, 2, base64.RawURLEncoding.EncodeToString(randomSig))}
		}, ""},
		{"empty signature", func(*testing.T) []string { return []string{replaceSegment(valid, 2, "")} }, ""},
		{"tampered payload", func(t *testing.T) []string {
			return []string{replaceSegment(valid, 1, encodeSegment(t, with(accessClaims(iss), map[string]any{"tenant_id": "tenant-b"})))}
		}, ""},
		{"critical header", func(t *testing.T) []string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, accessClaims(iss))
			tok.Header = map[string]any{"alg": "RS256", "kid": testKid, "crit": []string{"exp"}}
			s, err := tok.SignedString(poolKey())
			if err != nil {
				t.Fatal(err)
			}
			return []string{s}
		}, ""},
		{"payload not an object", func(t *testing.T) []string {
			return []string{signedPayload(t, `["not","claims"]`)}
		}, ""},
		{"payload with trailing data", func(t *testing.T) []string {
			return []string{signedPayload(t, `{"exp":1}{"exp":2}`)}
		}, ""},
		{"wrong issuer", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"iss": "http://127.0.0.1:9229/local-1_other"}))}
		}, ""},
		{"issuer with trailing slash", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"iss": iss + "/"}))}
		}, ""},
		{"no issuer", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"iss": nil}))}
		}, ""},
		{"expired", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"exp": testNow.Add(-time.Second).Unix()}))}
		}, ""},
		{"expires now", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"exp": testNow.Unix()}))}
		}, ""},
		{"no exp", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"exp": nil}))}
		}, ""},
		{"exp as a string", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"exp": "4102444800"}))}
		}, ""},
		{"exp beyond any date", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"exp": 1e300}))}
		}, ""},
		{"nbf in the future", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"nbf": testNow.Add(time.Hour).Unix()}))}
		}, ""},
		{"iat in the future", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"iat": testNow.Add(clockSkew + time.Second).Unix()}))}
		}, ""},
		{"ID token on a scoped route", func(t *testing.T) []string {
			return []string{signRS256(t, idClaims(iss))}
		}, ""},
		{"ID token with the scope claim on a scoped route", func(t *testing.T) []string {
			return []string{signRS256(t, with(idClaims(iss), map[string]any{"scope": "fleetclaim/claims"}))}
		}, ""},
		{"no token_use", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"token_use": nil}))}
		}, ""},
		{"access token on a route without scopes", func(t *testing.T) []string {
			return []string{signRS256(t, accessClaims(iss))}
		}, "/local/me"},
		{"wrong client", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"client_id": "someoneelse"}))}
		}, ""},
		{"no client", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"client_id": nil}))}
		}, ""},
		{"ID token for another client", func(t *testing.T) []string {
			return []string{signRS256(t, with(idClaims(iss), map[string]any{"aud": "someoneelse"}))}
		}, "/local/me"},
		{"missing scope", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"scope": "aws.cognito.signin.user.admin"}))}
		}, ""},
		{"no scope claim", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"scope": nil}))}
		}, ""},
		{"scope as a prefix", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"scope": "fleetclaim/claimsX fleetclaim/claims/extra"}))}
		}, ""},
		{"scope as an array", func(t *testing.T) []string {
			return []string{signRS256(t, with(accessClaims(iss), map[string]any{"scope": []string{"fleetclaim/claims"}}))}
		}, ""},
		{"installer scope on an admin route", func(t *testing.T) []string {
			return []string{signRS256(t, accessClaims(iss))}
		}, "/local/installers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				o.Issuer = pool.issuer
				o.Routes = append(apigw.Routes, apigw.Route{Method: http.MethodGet, Path: "/me", Operation: "getMe"})
			})
			target := tt.target
			if target == "" {
				target = "/local/claims"
			}
			req := func() http.Header {
				h := http.Header{}
				for _, v := range tt.header(t) {
					h.Add("Authorization", v)
				}
				return h
			}()
			w := f.do(http.MethodGet, target, "", nil, req)
			checkGatewayAnswer(t, w, http.StatusUnauthorized, `{"message":"Unauthorized"}`)
			if got := w.Header().Get("X-Amzn-Errortype"); got != "UnauthorizedException" {
				t.Errorf("x-amzn-ErrorType = %q, want UnauthorizedException", got)
			}
			if n := f.rec.count(); n != 0 {
				t.Errorf("handler called %d times, want 0", n)
			}
		})
	}
}

// signedPayload signs an arbitrary payload with the pool's key, for
// payloads no JWT library would produce.
func signedPayload(t *testing.T, payload string) string {
	t.Helper()
	signing := encodeSegment(t, map[string]string{"alg": "RS256", "kid": testKid}) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig, err := jwt.SigningMethodRS256.Sign(signing, poolKey())
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestAuthorizerAcceptsValidTokens(t *testing.T) {
	tests := []struct {
		name    string
		header  func(iss string) string
		target  string
		clients []string
	}{
		{"bearer access token", func(iss string) string { return "Bearer " + signRS256(t, accessClaims(iss)) }, "/local/claims", nil},
		{"raw access token", func(iss string) string { return signRS256(t, accessClaims(iss)) }, "/local/claims", nil},
		{"lower-case bearer", func(iss string) string { return "bearer " + signRS256(t, accessClaims(iss)) }, "/local/claims", nil},
		{"admin scope on an admin route", func(iss string) string {
			return signRS256(t, with(accessClaims(iss), map[string]any{"scope": "fleetclaim/admin fleetclaim/claims"}))
		}, "/local/installers/i-1/approve", nil},
		{"iat within the clock skew", func(iss string) string {
			return signRS256(t, with(accessClaims(iss), map[string]any{"iat": testNow.Add(clockSkew).Unix()}))
		}, "/local/claims", nil},
		{"past nbf", func(iss string) string {
			return signRS256(t, with(accessClaims(iss), map[string]any{"nbf": testNow.Add(-time.Minute).Unix()}))
		}, "/local/claims", nil},
		{"any client when none configured", func(iss string) string {
			return signRS256(t, with(accessClaims(iss), map[string]any{"client_id": "anotherclient"}))
		}, "/local/claims", []string{}},
		{"ID token on a route without scopes", func(iss string) string { return signRS256(t, idClaims(iss)) }, "/local/me", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				o.Routes = append(apigw.Routes, apigw.Route{Method: http.MethodGet, Path: "/me", Operation: "getMe"})
				if tt.clients != nil {
					o.ClientIDs = tt.clients
				}
			})
			method := http.MethodGet
			if strings.HasSuffix(tt.target, "/approve") {
				method = http.MethodPost
			}
			w := f.do(method, tt.target, "", nil, http.Header{"Authorization": {tt.header(f.pool.issuer)}})
			if w.Code != http.StatusOK {
				t.Errorf("status = %d, want 200 (body %s, log %s)", w.Code, w.Body, f.logs)
			}
		})
	}
}

func TestIDTokenClaims(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Routes = []apigw.Route{{Method: http.MethodGet, Path: "/me", Operation: "getMe"}}
	})
	w := f.do(http.MethodGet, "/local/me", signRS256(t, idClaims(f.pool.issuer)), nil, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", w.Code, w.Body)
	}
	got, _ := f.rec.last(t)
	want := map[string]any{
		"sub":              testSub,
		"cognito:groups":   "installers",
		"email_verified":   "true",
		"iss":              f.pool.issuer,
		"cognito:username": "alice",
		"origin_jti":       "0f6e7d1c-2b3a-4c5d-8e9f-a0b1c2d3e4f5",
		"aud":              testClientID,
		"event_id":         "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c2d",
		"token_use":        "id",
		"auth_time":        "1795341540",
		"exp":              "Sun Nov 22 10:59:00 UTC 2026",
		"iat":              "Sun Nov 22 09:59:00 UTC 2026",
		"jti":              "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
		"email":            "alice@example.com",
		"tenant_id":        "tenant-a",
	}
	if claims := got.RequestContext.Authorizer["claims"]; !reflect.DeepEqual(claims, want) {
		t.Errorf("claims = %v, want %v", claims, want)
	}
}

func TestRenderClaims(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    map[string]any
	}{
		{"strings", `{"sub":"abc","custom:site":"s-1"}`, map[string]any{"sub": "abc", "custom:site": "s-1"}},
		{"numbers keep their text", `{"auth_time":1680629979,"version":2,"ratio":0.5}`, map[string]any{"auth_time": "1680629979", "version": "2", "ratio": "0.5"}},
		{"dates", `{"exp":1680633579,"iat":1680629979,"nbf":1680629979}`, map[string]any{
			"exp": "Tue Apr 04 18:39:39 UTC 2023", "iat": "Tue Apr 04 17:39:39 UTC 2023", "nbf": "Tue Apr 04 17:39:39 UTC 2023",
		}},
		{"booleans", `{"email_verified":true,"phone_number_verified":false}`, map[string]any{"email_verified": "true", "phone_number_verified": "false"}},
		{"groups", `{"cognito:groups":["admins","installers"]}`, map[string]any{"cognito:groups": "admins,installers"}},
		{"one group", `{"cognito:groups":["team_manager"]}`, map[string]any{"cognito:groups": "team_manager"}},
		{"mixed array", `{"a":[1,true,"x"]}`, map[string]any{"a": "1,true,x"}},
		{"object", `{"address":{"city":"Seattle"}}`, map[string]any{"address": `{"city":"Seattle"}`}},
		{"null", `{"n":null}`, map[string]any{"n": "null"}},
		{"date claim of another type", `{"exp":"soon"}`, map[string]any{"exp": "soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var claims map[string]any
			if err := decodeSegment(base64.RawURLEncoding.EncodeToString([]byte(tt.payload)), &claims); err != nil {
				t.Fatal(err)
			}
			if got := renderClaims(claims); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("renderClaims(%s) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

// TestRefusalCauses: each refusal is logged with the check that failed, so
// an operator can tell a forged token from an expired one; the JOSE
// library's own errors never reach the log in its words.
func TestRefusalCauses(t *testing.T) {
	f := newFixture(t, nil)
	iss := f.pool.issuer
	valid := signRS256(t, accessClaims(iss))
	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  error
	}{
		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, testKid, accessClaims(iss))
		}, errAlgorithm},
		{"HS256 keyed with the public key", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, publicKeyPEM(t), testKid, accessClaims(iss))
		}, errAlgorithm},
		{"RS384", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS384, poolKey(), testKid, accessClaims(iss))
		}, errAlgorithm},
		{"attacker key with the pool's kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, otherKey(), testKid, accessClaims(iss))
		}, errSignature},
		{"unknown kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, poolKey(), "other-kid", accessClaims(iss))
		}, errUnknownKid},
		{"critical header", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, accessClaims(iss))
			tok.Header = map[string]any{"alg": "RS256", "kid": testKid, "crit": []string{"exp"}}
			s, err := tok.SignedString(poolKey())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, errCritical},
		{"padded signature", func(*testing.T) string { return valid + "=" }, errMalformed},
		{"payload with trailing data", func(t *testing.T) string { return signedPayload(t, `{"exp":1}{"exp":2}`) }, errMalformed},
		{"expired", func(t *testing.T) string {
			return signRS256(t, with(accessClaims(iss), map[string]any{"exp": testNow.Add(-time.Second).Unix()}))
		}, errExpired},
		{"missing scope", func(t *testing.T) string {
			return signRS256(t, with(accessClaims(iss), map[string]any{"scope": "aws.cognito.signin.user.admin"}))
		}, errScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.gw.auth.authorize(t.Context(), []string{"Bearer " + tt.token(t)}, fleetclaim.ScopeClaims)
			if !errors.Is(err, tt.want) || err.Error() != tt.want.Error() {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}
