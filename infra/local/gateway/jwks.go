package gateway

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// ErrUnknownKey is returned by a KeySource that holds no key with the kid
// asked for.
var ErrUnknownKey = errors.New("gateway: unknown signing key")

// KeySource gives the RSA public keys a user pool signs its tokens with.
type KeySource interface {
	// PublicKey returns the key with ID kid, an error wrapping
	// ErrUnknownKey if there is none, or another error if the keys cannot
	// be read.
	PublicKey(ctx context.Context, kid string) (*rsa.PublicKey, error)
}

// Defaults for NewJWKS.
const (
	DefaultJWKSTimeout = 5 * time.Second
	// DefaultJWKSMinRefetch is how often, at most, a JWKS is fetched again
	// because a token names a kid it does not hold.
	DefaultJWKSMinRefetch = 10 * time.Second
)

// maxJWKSBytes bounds a JWKS document; Cognito's holds two keys.
const maxJWKSBytes = 1 << 20

// minRSABits is the smallest modulus accepted; Cognito's keys are 2048-bit.
const minRSABits = 2048

// JWKS is a KeySource reading a JSON Web Key Set over HTTP, such as a user
// pool's <issuer>/.well-known/jwks.json. It fetches the set on first use and
// again when asked for a kid it does not hold, at most once per minimum
// refetch interval, so that a rotated key is picked up while a stream of
// tokens with made-up kids cannot turn into a stream of fetches. It is safe
// for concurrent use.
type JWKS struct {
	url        string
	client     *http.Client
	minRefetch time.Duration
	now        func() time.Time

	mu        sync.Mutex
	keys      map[string]*rsa.PublicKey // nil until the first fetch succeeds
	fetchedAt time.Time
}

// NewJWKS returns a JWKS reading url. A nil client means one with a
// DefaultJWKSTimeout timeout, a zero minRefetch DefaultJWKSMinRefetch and a
// nil clock time.Now.
func NewJWKS(url string, client *http.Client, minRefetch time.Duration, clock func() time.Time) *JWKS {
	if client == nil {
		client = &http.Client{Timeout: DefaultJWKSTimeout}
	}
	if minRefetch == 0 {
		minRefetch = DefaultJWKSMinRefetch
	}
	if clock == nil {
		clock = time.Now
	}
	return &JWKS{url: url, client: client, minRefetch: minRefetch, now: clock}
}

// PublicKey implements KeySource.
func (k *JWKS) PublicKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	// Holding the lock across the fetch makes concurrent misses share one
	// fetch instead of each starting their own.
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	if k.keys != nil && k.now().Sub(k.fetchedAt) < k.minRefetch {
		return nil, ErrUnknownKey
	}
	keys, err := k.fetch(ctx)
	if err != nil {
		// Failures do not start the refetch interval: the pool may simply
		// not be listening yet, and the next request should try again.
		return nil, err
	}
	k.keys, k.fetchedAt = keys, k.now()
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	return nil, ErrUnknownKey
}

// jwk is the part of a JSON Web Key that an RS256 verifier needs.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// fetch reads the key set and returns its RS256 signing keys by kid.
func (k *JWKS) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", k.url, err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", k.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: status %d", k.url, resp.StatusCode)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: decode: %w", k.url, err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for _, j := range set.Keys {
		// Keys for other uses or algorithms are not for us; skipping them
		// rather than failing keeps the usable keys usable.
		if key, ok := j.rsaKey(); ok {
			keys[j.Kid] = key
		}
	}
	return keys, nil
}

// rsaKey returns the key if it is an RSA signing key usable with RS256.
func (j jwk) rsaKey() (*rsa.PublicKey, bool) {
	if j.Kty != "RSA" || j.Kid == "" || (j.Use != "" && j.Use != "sig") || (j.Alg != "" && j.Alg != "RS256") {
		return nil, false
	}
	n, err := b64.DecodeString(j.N)
	if err != nil {
		return nil, false
	}
	e, err := b64.DecodeString(j.E)
	if err != nil {
		return nil, false
	}
	key := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
	exp := new(big.Int).SetBytes(e)
	if key.N.BitLen() < minRSABits || !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return nil, false
	}
	key.E = int(exp.Int64())
	return key, true
}
