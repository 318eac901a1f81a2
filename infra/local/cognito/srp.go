package cognito

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"time"
)

// The USER_SRP_AUTH flow: SRP-6a over the 3072-bit group of RFC 3526 with
// SHA-256, as Cognito and amazon-cognito-identity-js (AuthenticationHelper)
// run it. Browsers sign in this way so the password never leaves them; the
// pool keeps a salt and verifier per user instead.

// srpN is the group's prime (RFC 3526, 3072-bit MODP group); srpG its
// generator.
var (
	srpN, _ = new(big.Int).SetString(""+
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"+
		"29024E088A67CC74020BBEA63B139B22514A08798E3404DD"+
		"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"+
		"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"+
		"C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"+
		"83655D23DCA3AD961C62F356208552BB9ED529077096966D"+
		"670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"+
		"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"+
		"DE2BCBF6955817183995497CEA956AE515D2261898FA0510"+
		"15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64"+
		"ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"+
		"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B"+
		"F12FFA06D98A0864D87602733EC86A64521F2B18177B200C"+
		"BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"+
		"43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF", 16)
	srpG = big.NewInt(2)
	// srpK is SRP-6a's multiplier k = H(N | g), over the padded encodings.
	srpK = hexHashInt(padHex(srpN) + padHex(srpG))
)

// srpTimestampLayout is the TIMESTAMP the client signs, e.g.
// "Tue Sep 5 18:09:44 UTC 2017": the day is not padded, the time is.
const srpTimestampLayout = "Mon Jan 2 15:04:05 UTC 2006"

// srpChallengeLifetime bounds how long a PASSWORD_VERIFIER challenge can be
// answered, and srpClockSkew how far the client's signed TIMESTAMP may be
// from the pool's clock.
const (
	srpChallengeLifetime = 3 * time.Minute
	srpClockSkew         = 5 * time.Minute
)

// srpVerifier is what the pool keeps of a password for SRP: the salt and
// v = g^x mod N, both hex. v lets the pool check a proof of the password
// without ever seeing the password again.
type srpVerifier struct {
	Salt     string `json:"salt"`
	Verifier string `json:"verifier"`
}

// srpChallenge is the pool's half of one sign-in in progress, named by its
// SECRET_BLOCK.
type srpChallenge struct {
	sub, userIDForSRP string
	known             bool // false: a decoy for an unknown user, which always fails
	a, b, bigB        *big.Int
	v                 *big.Int
	expires           time.Time
}

// padHex is AuthenticationHelper.padHex for non-negative x: even-length
// lower-case hex with a leading "00" when the top bit is set, so that the
// encoding is the two's complement one Java's BigInteger gives.
func padHex(x *big.Int) string {
	s := x.Text(16)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	if strings.IndexByte("89abcdef", s[0]) >= 0 {
		s = "00" + s
	}
	return s
}

// hexHash is SHA-256 over the bytes the hex string encodes, as hex.
func hexHash(h string) string {
	raw, err := hex.DecodeString(h)
	if err != nil {
		panic("cognito: hexHash of non-hex " + err.Error()) // callers pass padHex output only
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

func hexHashInt(h string) *big.Int {
	n, _ := new(big.Int).SetString(hexHash(h), 16)
	return n
}

// srpPrivateKey is x = H(salt | H(poolName | username | ":" | password)).
func srpPrivateKey(poolName, username, password string, salt *big.Int) *big.Int {
	inner := sha256.Sum256([]byte(poolName + username + ":" + password))
	return hexHashInt(padHex(salt) + hex.EncodeToString(inner[:]))
}

// srpScrambler is u = H(A | B).
func srpScrambler(a, b *big.Int) *big.Int { return hexHashInt(padHex(a) + padHex(b)) }

// srpPasswordKey is the 16-byte key both sides derive from the shared secret
// S, HKDF-SHA256 with salt u and info "Caldera Derived Key" (one block).
func srpPasswordKey(s, u *big.Int) []byte {
	ikm, _ := hex.DecodeString(padHex(s))
	salt, _ := hex.DecodeString(padHex(u))
	key, err := hkdf.Key(sha256.New, ikm, salt, "Caldera Derived Key", 16)
	if err != nil {
		panic("cognito: hkdf: " + err.Error()) // 16 bytes is always in range
	}
	return key
}

// srpSignature is PASSWORD_CLAIM_SIGNATURE: HMAC-SHA256 under the password
// key of poolName | userIDForSRP | secret block bytes | timestamp, base64.
func srpSignature(key []byte, poolName, userIDForSRP string, secretBlock []byte, timestamp string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(poolName))
	mac.Write([]byte(userIDForSRP))
	mac.Write(secretBlock)
	mac.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// newSRPVerifier derives a fresh salt and verifier for username's password.
func newSRPVerifier(poolName, username, password string) *srpVerifier {
	raw := make([]byte, 16)
	rand.Read(raw)
	salt := new(big.Int).SetBytes(raw)
	v := new(big.Int).Exp(srpG, srpPrivateKey(poolName, username, password, salt), srpN)
	return &srpVerifier{Salt: padHex(salt), Verifier: padHex(v)}
}

// addVerifier gives a user stored before the pool kept SRP verifiers one,
// from the password they just proved, so that they can then sign in with
// USER_SRP_AUTH (the console) too.
func (p *Pool) addVerifier(sub, password string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.store.Users[sub]
	if u == nil || u.SRP != nil {
		return nil
	}
	u.SRP = newSRPVerifier(p.poolName(), u.Username, password)
	return p.store.save()
}

// poolName is the part of the pool ID after the region, which SRP mixes
// into every password.
func (p *Pool) poolName() string {
	_, name, _ := strings.Cut(p.poolID, "_")
	return name
}

func randomInt(bytes int) *big.Int {
	raw := make([]byte, bytes)
	rand.Read(raw)
	return new(big.Int).SetBytes(raw)
}

// srpStart answers InitiateAuth USER_SRP_AUTH: B and the user's salt, with a
// SECRET_BLOCK that names the challenge. An unknown user gets a challenge
// just like a real one (random salt and verifier) that no answer can pass,
// so the answer does not tell which usernames exist.
func (p *Pool) srpStart(username, srpA string) (any, error) {
	a, ok := new(big.Int).SetString(srpA, 16)
	if !ok || a.Sign() <= 0 || new(big.Int).Mod(a, srpN).Sign() == 0 {
		return nil, newError(codeInvalidParameter, "Invalid SRP_A value.")
	}
	c := &srpChallenge{a: a, userIDForSRP: username, expires: p.now().Add(srpChallengeLifetime)}
	var salt string
	p.mu.Lock()
	if u := p.store.find(username, false); u != nil && u.SRP != nil {
		c.sub, c.userIDForSRP, c.known = u.Sub, u.Username, true
		c.v, _ = new(big.Int).SetString(u.SRP.Verifier, 16)
		salt = u.SRP.Salt
	}
	p.mu.Unlock()
	if !c.known {
		c.v = new(big.Int).Exp(srpG, randomInt(32), srpN)
		salt = padHex(randomInt(16))
	}
	// B = k·v + g^b mod N, with b fresh for every sign-in.
	c.b = randomInt(32)
	c.bigB = new(big.Int).Exp(srpG, c.b, srpN)
	c.bigB.Add(c.bigB, new(big.Int).Mul(srpK, c.v)).Mod(c.bigB, srpN)

	block := make([]byte, 64)
	rand.Read(block)
	secret := base64.StdEncoding.EncodeToString(block)
	p.mu.Lock()
	now := p.now()
	if p.srpChallenges == nil {
		p.srpChallenges = map[string]*srpChallenge{}
	}
	for k, old := range p.srpChallenges {
		if !now.Before(old.expires) {
			delete(p.srpChallenges, k)
		}
	}
	p.srpChallenges[secret] = c
	p.mu.Unlock()
	return map[string]any{"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": map[string]string{
		"SALT": salt, "SECRET_BLOCK": secret, "SRP_B": padHex(c.bigB),
		"USERNAME": c.userIDForSRP, "USER_ID_FOR_SRP": c.userIDForSRP}}, nil
}

func (p *Pool) respondToAuthChallenge(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ChallengeName      string
		ClientId           string
		ChallengeResponses map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkClient(in.ClientId); err != nil {
		return nil, err
	}
	switch in.ChallengeName {
	case "PASSWORD_VERIFIER":
	case "NEW_PASSWORD_REQUIRED":
		return p.respondNewPassword(ctx, body)
	default:
		return nil, newError(codeInvalidParameter, "Unsupported challenge name "+in.ChallengeName+".")
	}
	r := in.ChallengeResponses
	if err := requireParameters(r, "USERNAME", "PASSWORD_CLAIM_SECRET_BLOCK", "TIMESTAMP", "PASSWORD_CLAIM_SIGNATURE"); err != nil {
		return nil, err
	}
	return p.srpFinish(ctx, r["USERNAME"], r["PASSWORD_CLAIM_SECRET_BLOCK"], r["TIMESTAMP"], r["PASSWORD_CLAIM_SIGNATURE"])
}

// srpFinish checks the client's proof of the password: its signature over
// the secret block and timestamp under the key only the password's holder
// can derive. A challenge is answered once, right or wrong.
func (p *Pool) srpFinish(ctx context.Context, username, secret, timestamp, signature string) (any, error) {
	bad := newError(codeNotAuthorized, "Incorrect username or password.")
	p.mu.Lock()
	c := p.srpChallenges[secret]
	delete(p.srpChallenges, secret)
	now := p.now()
	p.mu.Unlock()
	if c == nil || !now.Before(c.expires) {
		return nil, newError(codeNotAuthorized, "Invalid session for the user, session is expired.")
	}
	// SRP is a sign-in like USER_PASSWORD_AUTH, under the same lock-out
	// after repeated failures, or it would be the way around it.
	key := attemptKey(nil, c.userIDForSRP)
	if c.known {
		key = attemptKey(&user{Sub: c.sub}, "")
	}
	if p.limits.signInLocked(key, now) {
		return nil, errPasswordAttemptsExceeded
	}
	if username != c.userIDForSRP {
		p.limits.signInFailed(key, now)
		return nil, bad
	}
	at, err := time.Parse(srpTimestampLayout, timestamp)
	if err != nil {
		return nil, newError(codeInvalidParameter, "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english.")
	}
	if d := now.Sub(at); d > srpClockSkew || d < -srpClockSkew {
		p.limits.signInFailed(key, now)
		return nil, bad
	}
	// S = (A · v^u)^b mod N; the client reaches the same S from the password.
	u := srpScrambler(c.a, c.bigB)
	s := new(big.Int).Exp(c.v, u, srpN)
	s.Mul(s, c.a).Mod(s, srpN).Exp(s, c.b, srpN)
	block, _ := base64.StdEncoding.DecodeString(secret)
	want := srpSignature(srpPasswordKey(s, u), p.poolName(), c.userIDForSRP, block, timestamp)
	if !c.known || !hmac.Equal([]byte(want), []byte(signature)) {
		p.limits.signInFailed(key, now)
		return nil, bad
	}
	p.limits.signInSucceeded(key)
	p.mu.Lock()
	var snap *user
	if usr := p.store.Users[c.sub]; usr != nil {
		snap = usr.clone()
	}
	p.mu.Unlock()
	if snap == nil {
		return nil, bad
	}
	return p.passwordProven(ctx, snap, now)
}
