package cognito

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fleetclaim/fleetclaim/infra/local/statefile"
)

const keyFile = "signing-key.pem"

// keySet is the pool's token-signing key; its kid is derived from the public
// key, so it is stable across restarts.
type keySet struct {
	kid string
	key *rsa.PrivateKey
}

func loadOrCreateKeys(dir string) (keySet, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return keySet{}, err
	}
	defer root.Close()
	path := filepath.Join(dir, keyFile)
	data, err := root.ReadFile(keyFile)
	var key *rsa.PrivateKey
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return keySet{}, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return keySet{}, err
		}
		if err := statefile.WriteFile(root, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return keySet{}, err
		}
	case err != nil:
		return keySet{}, err
	default:
		block, _ := pem.Decode(data)
		if block == nil {
			return keySet{}, fmt.Errorf("%s: no PEM block", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return keySet{}, fmt.Errorf("%s: %w", path, err)
		}
		var ok bool
		if key, ok = k.(*rsa.PrivateKey); !ok {
			return keySet{}, fmt.Errorf("%s: not an RSA key", path)
		}
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return keySet{}, err
	}
	sum := sha256.Sum256(pub)
	return keySet{kid: hex.EncodeToString(sum[:16]), key: key}, nil
}

// jwks is the JSON Web Key Set Cognito serves at .well-known/jwks.json.
func (k keySet) jwks() []byte {
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	doc := map[string]any{"keys": []map[string]string{{
		"alg": "RS256", "e": b64(big.NewInt(int64(k.key.E)).Bytes()), "kid": k.kid, "kty": "RSA",
		"n": b64(k.key.N.Bytes()), "use": "sig",
	}}}
	out, _ := json.Marshal(doc)
	return out
}

func (k keySet) sign(claims map[string]any) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	// Cognito's header is exactly {"kid", "alg"}; jwt adds "typ" by default.
	t.Header = map[string]any{"kid": k.kid, "alg": jwt.SigningMethodRS256.Alg()}
	return t.SignedString(k.key)
}

// verify parses a token the pool signed, checking signature and expiry
// against the pool's clock.
func (k keySet) verify(token string, now func() time.Time) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != k.kid {
			return nil, errors.New("unknown kid")
		}
		return &k.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(now))
	return claims, err
}

const (
	alphanumerics      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	lowerAlphanumerics = "abcdefghijklmnopqrstuvwxyz0123456789"
	digits             = "0123456789"
)

// randomString draws n characters of alphabet uniformly.
func randomString(n int, alphabet string) string {
	out := make([]byte, n)
	for i := range out {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		out[i] = alphabet[v.Int64()]
	}
	return string(out)
}

// newUUID returns a version 4 UUID, the shape of Cognito subs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
