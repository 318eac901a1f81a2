package gateway

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWKSFetchedOnceAndCached(t *testing.T) {
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			f.do(http.MethodGet, "/local/claims", signRS256(t, accessClaims(f.pool.issuer)), nil, nil)
		})
	}
	wg.Wait()
	if n := f.rec.count(); n != 20 {
		t.Errorf("handler called %d times, want 20", n)
	}
	if got := f.pool.fetches.Load(); got != 1 {
		t.Errorf("JWKS fetched %d times, want 1", got)
	}
}

func TestJWKSRefetchOnUnknownKid(t *testing.T) {
	f := newFixture(t, nil)
	unknown := sign(t, jwt.SigningMethodRS256, poolKey(), "rotated", accessClaims(f.pool.issuer))
	steps := []struct {
		name        string
		advance     time.Duration
		token       string
		rotate      bool
		wantStatus  int
		wantFetches int32
	}{
		{"first request fetches", 0, signRS256(t, accessClaims(f.pool.issuer)), false, http.StatusOK, 1},
		{"unknown kid right after a fetch does not refetch", 0, unknown, false, http.StatusUnauthorized, 1},
		{"unknown kid after the interval refetches", DefaultJWKSMinRefetch, unknown, false, http.StatusUnauthorized, 2},
		{"still unknown within the interval", DefaultJWKSMinRefetch - time.Second, unknown, false, http.StatusUnauthorized, 2},
		{"rotated key picked up after the interval", time.Second, unknown, true, http.StatusOK, 3},
		{"rotated key stays cached", time.Second, unknown, false, http.StatusOK, 3},
	}
	for _, s := range steps {
		if s.rotate {
			f.pool.setKeys(map[string]*rsa.PublicKey{testKid: &poolKey().PublicKey, "rotated": &poolKey().PublicKey})
		}
		// Keep the tokens valid while the clock moves.
		f.clock.Advance(s.advance)
		w := f.do(http.MethodGet, "/local/claims", s.token, nil, nil)
		if w.Code != s.wantStatus {
			t.Errorf("%s: status = %d, want %d", s.name, w.Code, s.wantStatus)
		}
		if got := f.pool.fetches.Load(); got != s.wantFetches {
			t.Errorf("%s: fetches = %d, want %d", s.name, got, s.wantFetches)
		}
	}
}

func TestJWKSUnavailable(t *testing.T) {
	f := newFixture(t, nil)
	f.pool.setStatus(http.StatusServiceUnavailable)
	token := signRS256(t, accessClaims(f.pool.issuer))

	w := f.do(http.MethodGet, "/local/claims", token, nil, nil)
	checkGatewayAnswer(t, w, http.StatusInternalServerError, `{"message": null}`)
	if n := f.rec.count(); n != 0 {
		t.Errorf("handler called %d times, want 0", n)
	}

	// A failed fetch does not start the refetch interval: once the pool
	// answers, the next request succeeds.
	f.pool.setStatus(http.StatusOK)
	if w := f.do(http.MethodGet, "/local/claims", token, nil, nil); w.Code != http.StatusOK {
		t.Errorf("after recovery: status = %d, want 200", w.Code)
	}
}

func TestJWKSKeySelection(t *testing.T) {
	pub := &poolKey().PublicKey
	good := jwkJSON("good", pub)
	withField := func(k, v string) map[string]string {
		j := jwkJSON("x", pub)
		j[k] = v
		return j
	}
	small := jwkJSON("small", &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537})
	tests := []struct {
		name    string
		key     map[string]string
		wantKid string // "" when the key must be skipped
	}{
		{"cognito layout", good, "good"},
		{"no alg or use", func() map[string]string { j := jwkJSON("bare", pub); delete(j, "alg"); delete(j, "use"); return j }(), "bare"},
		{"encryption key", withField("use", "enc"), ""},
		{"other algorithm", withField("alg", "RS512"), ""},
		{"not RSA", withField("kty", "EC"), ""},
		{"no kid", withField("kid", ""), ""},
		{"bad modulus", withField("n", "!!"), ""},
		{"bad exponent", withField("e", "AQAB="), ""},
		{"even exponent", withField("e", "AQAC"), ""},
		{"exponent one", withField("e", "AQ"), ""},
		{"small modulus", small, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{tt.key}})
			}))
			defer srv.Close()
			k := NewJWKS(srv.URL, srv.Client(), 0, nil)
			kid := tt.key["kid"]
			got, err := k.PublicKey(context.Background(), kid)
			if tt.wantKid == "" {
				if !errors.Is(err, ErrUnknownKey) {
					t.Errorf("PublicKey(%q) = %v, %v; want ErrUnknownKey", kid, got, err)
				}
				return
			}
			if err != nil || !got.Equal(pub) {
				t.Errorf("PublicKey(%q) = %v, %v; want the pool key", kid, got, err)
			}
		})
	}
}

func TestJWKSFetchErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			_, err := NewJWKS(srv.URL, srv.Client(), 0, nil).PublicKey(context.Background(), testKid)
			if err == nil || errors.Is(err, ErrUnknownKey) {
				t.Errorf("PublicKey = %v, want a fetch error", err)
			}
		})
	}
}
