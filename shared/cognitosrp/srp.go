// Package cognitosrp signs in to an Amazon Cognito user pool with the
// USER_SRP_AUTH flow, so that a password never leaves the program that knows
// it: the client proves it by answering Cognito's PASSWORD_VERIFIER
// challenge.
//
// The arithmetic is Cognito's, as amazon-cognito-identity-js's
// AuthenticationHelper runs it: SRP-6a (RFC 5054) over the 3072-bit group of
// RFC 3526 with SHA-256, integers hashed in their two's-complement encoding,
// a 16-byte key derived from the shared secret with HKDF-SHA256 (salt u, info
// "Caldera Derived Key") and an HMAC-SHA256 signature over the pool name, the
// user ID, the challenge's secret block and a timestamp.
//
// Client holds the protocol and needs no AWS SDK types; SignIn and
// NewPassword drive it with the SDK's Cognito client. App clients with a
// secret (SECRET_HASH) and device tracking are not supported: the
// fleetclaim app client has neither.
package cognitosrp

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Names Cognito gives the flow, its challenge and its parameters.
const (
	// AuthFlow is InitiateAuth's AuthFlow for an SRP sign-in.
	AuthFlow = "USER_SRP_AUTH"
	// ChallengePasswordVerifier is the challenge InitiateAuth answers with.
	ChallengePasswordVerifier = "PASSWORD_VERIFIER"
	// ChallengeNewPasswordRequired follows a proven temporary password.
	ChallengeNewPasswordRequired = "NEW_PASSWORD_REQUIRED"
	// TimestampLayout is the TIMESTAMP the client signs, in UTC, e.g.
	// "Tue Sep 5 18:09:44 UTC 2017": Cognito wants the day of the month
	// unpadded and the time padded.
	TimestampLayout = "Mon Jan 2 15:04:05 UTC 2006"
)

// The group (RFC 3526, 3072-bit MODP) and SRP-6a's multiplier k = H(N | g).
var (
	groupN, _ = new(big.Int).SetString(""+
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"+
		"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"+
		"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"+
		"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"+
		"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"+
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"+
		"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"+
		"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"+
		"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"+
		"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"+
		"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF", 16)
	groupG      = big.NewInt(2)
	multiplierK = new(big.Int).SetBytes(hash(twosComplement(groupN), twosComplement(groupG)))
)

// ErrBadChallenge is returned for challenge parameters a client cannot
// answer: missing or malformed ones, or a B that would make the proof
// worthless (B ≡ 0 mod N, or u = 0).
var ErrBadChallenge = errors.New("cognitosrp: unusable PASSWORD_VERIFIER challenge")

// Client is the client's half of one SRP sign-in: the secret a and the
// public A = g^a mod N it sends. Use it for one sign-in only.
type Client struct {
	poolName string
	a, bigA  *big.Int
}

// New starts a sign-in to the user pool poolID ("<region>_<name>"), with a
// fresh 1024-bit secret from crypto/rand.
func New(poolID string) (*Client, error) {
	raw := make([]byte, 128)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("cognitosrp: random a: %w", err)
	}
	return newClient(poolID, new(big.Int).SetBytes(raw))
}

// newClient is New with a given secret, for known-answer tests.
func newClient(poolID string, a *big.Int) (*Client, error) {
	region, name, ok := strings.Cut(poolID, "_")
	if !ok || region == "" || name == "" {
		return nil, fmt.Errorf("cognitosrp: user pool ID %q is not <region>_<name>", poolID)
	}
	bigA := new(big.Int).Exp(groupG, a, groupN)
	if bigA.Sign() == 0 {
		return nil, errors.New("cognitosrp: a gives A = 0")
	}
	return &Client{poolName: name, a: a, bigA: bigA}, nil
}

// AuthParameters are InitiateAuth's AuthParameters for USER_SRP_AUTH:
// username (or, in a pool that signs in with email, the address) and A.
func (c *Client) AuthParameters(username string) map[string]string {
	return map[string]string{"USERNAME": username, "SRP_A": c.bigA.Text(16)}
}

// PasswordVerifier answers the PASSWORD_VERIFIER challenge whose
// ChallengeParameters are params (SALT, SRP_B, SECRET_BLOCK and
// USER_ID_FOR_SRP) with the proof of password, signed at now: the
// ChallengeResponses for RespondToAuthChallenge. A wrong password gives a
// well-formed answer that Cognito refuses.
func (c *Client) PasswordVerifier(params map[string]string, password string, now time.Time) (map[string]string, error) {
	userID, secret := params["USER_ID_FOR_SRP"], params["SECRET_BLOCK"]
	salt, okSalt := parseHex(params["SALT"])
	bigB, okB := parseHex(params["SRP_B"])
	block, err := base64.StdEncoding.DecodeString(secret)
	switch {
	case userID == "":
		return nil, fmt.Errorf("%w: no USER_ID_FOR_SRP", ErrBadChallenge)
	case !okSalt:
		return nil, fmt.Errorf("%w: SALT is not hex", ErrBadChallenge)
	case !okB:
		return nil, fmt.Errorf("%w: SRP_B is not hex", ErrBadChallenge)
	case err != nil || len(block) == 0:
		return nil, fmt.Errorf("%w: SECRET_BLOCK is not base64", ErrBadChallenge)
	}
	key, err := c.passwordKey(userID, password, salt, bigB)
	if err != nil {
		return nil, err
	}
	stamp := now.UTC().Format(TimestampLayout)
	return map[string]string{
		"USERNAME":                    userID,
		"PASSWORD_CLAIM_SECRET_BLOCK": secret,
		"TIMESTAMP":                   stamp,
		"PASSWORD_CLAIM_SIGNATURE":    signature(key, c.poolName, userID, block, stamp),
	}, nil
}

// passwordKey is the 16-byte key only a holder of the password can derive
// from B: S = (B - k·g^x)^(a + u·x) mod N, then HKDF over S with salt u.
func (c *Client) passwordKey(userID, password string, salt, bigB *big.Int) ([]byte, error) {
	if new(big.Int).Mod(bigB, groupN).Sign() == 0 {
		return nil, fmt.Errorf("%w: B is 0 mod N", ErrBadChallenge)
	}
	u := new(big.Int).SetBytes(hash(twosComplement(c.bigA), twosComplement(bigB)))
	if u.Sign() == 0 {
		return nil, fmt.Errorf("%w: u is 0", ErrBadChallenge)
	}
	// x = H(salt | H(poolName | userID | ":" | password))
	x := new(big.Int).SetBytes(hash(twosComplement(salt), hash([]byte(c.poolName+userID+":"+password))))
	base := new(big.Int).Exp(groupG, x, groupN)
	base.Mul(base, multiplierK).Sub(bigB, base).Mod(base, groupN)
	exp := new(big.Int).Mul(u, x)
	exp.Add(exp, c.a)
	s := new(big.Int).Exp(base, exp, groupN)
	key, err := hkdf.Key(sha256.New, twosComplement(s), twosComplement(u), "Caldera Derived Key", 16)
	if err != nil {
		return nil, fmt.Errorf("cognitosrp: hkdf: %w", err)
	}
	return key, nil
}

// signature is PASSWORD_CLAIM_SIGNATURE: HMAC-SHA256 under the password key
// of poolName | userID | secret block | timestamp, in standard base64.
func signature(key []byte, poolName, userID string, block []byte, stamp string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(poolName))
	mac.Write([]byte(userID))
	mac.Write(block)
	mac.Write([]byte(stamp))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseHex reads a non-negative hexadecimal integer as Cognito sends them.
func parseHex(s string) (*big.Int, bool) {
	if s == "" || s[0] == '-' || s[0] == '+' {
		return nil, false
	}
	return new(big.Int).SetString(s, 16)
}

// twosComplement is x's minimal two's-complement big-endian encoding, as
// Java's BigInteger.toByteArray gives it: Cognito hashes integers so, with a
// leading zero byte when the top bit is set.
func twosComplement(x *big.Int) []byte {
	b := x.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

func hash(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}
