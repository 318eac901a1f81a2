package gateway

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// fuzzIssuer is the issuer of the fuzz tests' tokens; nothing listens there.
const fuzzIssuer = "http://127.0.0.1:9/local-1_fuzz"

// staticKeys is a KeySource holding fixed keys, so that fuzzing needs no
// network.
type staticKeys map[string]*rsa.PublicKey

func (s staticKeys) PublicKey(_ context.Context, kid string) (*rsa.PublicKey, error) {
	if key, ok := s[kid]; ok {
		return key, nil
	}
	return nil, ErrUnknownKey
}

var fuzzKeys = staticKeys{testKid: &poolKey().PublicKey}

// stripBearer removes an optional "Bearer " from an Authorization value.
func stripBearer(v string) string {
	if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return rest
	}
	return v
}

// tokenSeeds are hostile and valid Authorization values.
func tokenSeeds(f *testing.F) (valid string, seeds []string) {
	valid = signRS256(f, accessClaims(fuzzIssuer))
	seeds = []string{
		valid,
		"Bearer " + valid,
		sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, testKid, accessClaims(fuzzIssuer)),
		sign(f, jwt.SigningMethodHS256, []byte("public key bytes"), testKid, accessClaims(fuzzIssuer)),
		sign(f, jwt.SigningMethodRS256, otherKey(), testKid, accessClaims(fuzzIssuer)),
		signRS256(f, idClaims(fuzzIssuer)),
		replaceSegmentF(valid, 2, ""),
		"", "Bearer", "a.b.c", "..", "eyJhbGciOiJSUzI1NiJ9.e30.", "\x00.\x00.\x00",
	}
	return valid, seeds
}

func replaceSegmentF(token string, i int, seg string) string {
	parts := strings.Split(token, ".")
	parts[i] = seg
	return strings.Join(parts, ".")
}

// FuzzAuthorize checks that the verifier never panics and accepts nothing
// but the one valid token, however it is mangled.
func FuzzAuthorize(f *testing.F) {
	valid, seeds := tokenSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	a := newAuthorizer(fuzzIssuer, []string{testClientID}, fuzzKeys, func() time.Time { return testNow })
	f.Fuzz(func(t *testing.T, header string) {
		claims, err := a.authorize(context.Background(), []string{header}, fleetclaim.ScopeClaims)
		if errors.Is(err, errKeySource) {
			t.Fatalf("static keys reported a key source failure: %v", err)
		}
		if err != nil {
			return
		}
		if stripBearer(header) != valid {
			t.Fatalf("accepted a token other than the valid one: %q", header)
		}
		for name, v := range claims {
			if _, ok := v.(string); !ok {
				t.Errorf("claim %s = %#v, want a string", name, v)
			}
		}
	})
}

// FuzzClaims checks that any JSON payload renders to string claims without
// panicking.
func FuzzClaims(f *testing.F) {
	for _, s := range []string{
		`{"sub":"a","cognito:groups":["x","y"],"exp":1700000000,"email_verified":true}`,
		`{"exp":1e308,"iat":-1e308,"nbf":"x"}`,
		`{"a":{"b":[1,{"c":null}]}}`,
		`{"exp":12345678901234567890}`,
		`{"a":"\u0000\ud800"}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var claims map[string]any
		if decodeSegment(base64.RawURLEncoding.EncodeToString(payload), &claims) != nil {
			return
		}
		for name, v := range renderClaims(claims) {
			if _, ok := v.(string); !ok {
				t.Errorf("claim %s = %#v, want a string", name, v)
			}
		}
	})
}

// FuzzRoute checks that a matched path really has the shape of the route
// template it matched.
func FuzzRoute(f *testing.F) {
	tree, err := newResourceTree(apigw.Routes)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"/", "/claims", "/claims/c-1", "/claims/%2F", "/claims/", "//claims", "/installers/i-1/approve",
		"/installers/%00/suspend", "/claims/a%zz", "/devices/SN%E2%80%8B1", "/audit/../claims",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if !strings.HasPrefix(path, "/") {
			return
		}
		res, params, ok := tree.match(path)
		if !ok {
			return
		}
		if len(res.methods) == 0 {
			t.Fatalf("%q matched %s, which has no methods", path, res.path)
		}
		tmpl := strings.Split(strings.TrimPrefix(res.path, "/"), "/")
		segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if len(tmpl) != len(segs) {
			t.Fatalf("%q matched %s with a different number of segments", path, res.path)
		}
		for i, seg := range tmpl {
			dec, err := url.PathUnescape(segs[i])
			if err != nil {
				t.Fatalf("%q matched %s though segment %q does not decode", path, res.path, segs[i])
			}
			if m := paramSegment.FindStringSubmatch(seg); m != nil {
				if params[m[1]] != dec || dec == "" {
					t.Fatalf("%q matched %s with %s=%q, want %q", path, res.path, m[1], params[m[1]], dec)
				}
			} else if seg != dec {
				t.Fatalf("%q matched %s though segment %q is not %q", path, res.path, dec, seg)
			}
		}
	})
}

// FuzzServeHTTP sends hostile requests through the whole gateway: it must
// answer each with one of its known statuses and call the function only for
// the valid token on a real route.
func FuzzServeHTTP(f *testing.F) {
	valid, seeds := tokenSeeds(f)
	for i, s := range seeds {
		f.Add("GET", "/local/claims/c-1?x=1", s, []byte(nil))
		f.Add("POST", fmt.Sprintf("/local/claims?%d", i), s, []byte(`{"serialNumber":"SN-1"}`))
	}
	f.Add("OPTIONS", "/local/claims", "", []byte(nil))
	f.Add("DELETE", "/local/claims/%00", valid, []byte("\xff"))
	f.Add("POST", "/local/installers/x/approve", valid, []byte(nil))

	var calls atomic.Int32
	gw, err := New(Options{
		Routes: apigw.Routes,
		Handler: func(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			calls.Add(1)
			return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Body: req.Body, IsBase64Encoded: req.IsBase64Encoded}, nil
		},
		Issuer:          fuzzIssuer,
		ClientIDs:       []string{testClientID},
		Keys:            fuzzKeys,
		Logger:          slog.New(slog.DiscardHandler),
		Clock:           func() time.Time { return testNow },
		MaxBodyBytes:    1 << 10,
		CORSAllowOrigin: "*",
	})
	if err != nil {
		f.Fatal(err)
	}
	known := map[int]bool{200: true, 204: true, 401: true, 403: true, 413: true}
	f.Fuzz(func(t *testing.T, method, target, auth string, body []byte) {
		req, err := http.NewRequest(method, "http://127.0.0.1:8080"+target, strings.NewReader(string(body)))
		if err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		before := calls.Load()
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		called := calls.Load() != before
		if !known[w.Code] {
			t.Fatalf("%s %s: status %d", method, target, w.Code)
		}
		if called && stripBearer(auth) != valid {
			t.Fatalf("%s %s: function called with Authorization %q", method, target, auth)
		}
		if called {
			// The function echoes the body; it must arrive intact.
			if got, _ := io.ReadAll(w.Body); string(got) != string(body) {
				t.Fatalf("%s %s: body %q came back as %q", method, target, body, got)
			}
		}
	})
}
