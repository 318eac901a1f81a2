package cognito

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pbkdf2Iterations trades sign-in latency for resistance to guessing should
// the state file leak. Each hash records its own count, so raising it later
// keeps old passwords working.
const pbkdf2Iterations = 100_000

// passwordHash is a salted PBKDF2-HMAC-SHA256 password hash.
type passwordHash struct {
	Iterations int    `json:"iterations"`
	Salt       []byte `json:"salt"`
	Key        []byte `json:"key"`
}

func hashPassword(password string) (passwordHash, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, sha256.Size)
	if err != nil {
		return passwordHash{}, err
	}
	return passwordHash{Iterations: pbkdf2Iterations, Salt: salt, Key: key}, nil
}

func (h passwordHash) matches(password string) bool {
	key, err := pbkdf2.Key(sha256.New, password, h.Salt, h.Iterations, len(h.Key))
	return err == nil && subtle.ConstantTimeCompare(key, h.Key) == 1
}

// decoyHash is checked when the user does not exist, so that an unknown
// username costs as much time as a wrong password and timing does not reveal
// which usernames exist.
var decoyHash = func() passwordHash {
	h, err := hashPassword(rand.Text())
	if err != nil {
		panic(err)
	}
	return h
}()

// cognitoSymbols are the characters Cognito counts as symbols.
const cognitoSymbols = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "

// violation returns Cognito's InvalidPasswordException message for the
// first rule the password breaks, or "" if it conforms.
func (pp PasswordPolicy) violation(password string) string {
	const prefix = "Password did not conform with policy: "
	switch {
	case utf8.RuneCountInString(password) < pp.MinLength: // characters, not bytes
		return prefix + "Password not long enough"
	case pp.RequireUppercase && !strings.ContainsFunc(password, unicode.IsUpper):
		return prefix + "Password must have uppercase characters"
	case pp.RequireLowercase && !strings.ContainsFunc(password, unicode.IsLower):
		return prefix + "Password must have lowercase characters"
	case pp.RequireNumbers && !strings.ContainsFunc(password, unicode.IsDigit):
		return prefix + "Password must have numeric characters"
	case pp.RequireSymbols && !strings.ContainsAny(password, cognitoSymbols):
		return prefix + "Password must have symbol characters"
	}
	return ""
}
