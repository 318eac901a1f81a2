package cognitosrp

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"testing"
	"time"
)

// vector is one known answer from amazon-cognito-identity-js
// (testdata/vectors.cjs wrote testdata/vectors.json).
type vector struct {
	Name        string `json:"name"`
	PoolID      string `json:"poolId"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	UnixMillis  int64  `json:"unixMillis"`
	A           string `json:"a"`
	SRPA        string `json:"srpA"`
	Salt        string `json:"salt"`
	SRPB        string `json:"srpB"`
	SecretBlock string `json:"secretBlock"`
	Timestamp   string `json:"timestamp"`
	Key         string `json:"key"`
	Signature   string `json:"signature"`
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("testdata/vectors.json has no vectors")
	}
	return vs
}

func hexInt(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := parseHex(s)
	if !ok {
		t.Fatalf("%q is not hex", s)
	}
	return n
}

// TestKnownAnswers: with the library's random draws fixed, the client
// computes the same A, key, timestamp and signature as the library the
// console signs in with.
func TestKnownAnswers(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			c, err := newClient(v.PoolID, hexInt(t, v.A))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.AuthParameters(v.Username); got["SRP_A"] != v.SRPA || got["USERNAME"] != v.Username {
				t.Errorf("got AuthParameters %v, want SRP_A %s and USERNAME %s", got, v.SRPA, v.Username)
			}
			key, err := c.passwordKey(v.Username, v.Password, hexInt(t, v.Salt), hexInt(t, v.SRPB))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(key); got != v.Key {
				t.Errorf("got key %s, want %s", got, v.Key)
			}
			params := map[string]string{"USER_ID_FOR_SRP": v.Username, "SALT": v.Salt, "SRP_B": v.SRPB,
				"SECRET_BLOCK": v.SecretBlock, "USERNAME": v.Username}
			got, err := c.PasswordVerifier(params, v.Password, time.UnixMilli(v.UnixMillis))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"USERNAME": v.Username, "PASSWORD_CLAIM_SECRET_BLOCK": v.SecretBlock,
				"TIMESTAMP": v.Timestamp, "PASSWORD_CLAIM_SIGNATURE": v.Signature}
			if len(got) != len(want) {
				t.Errorf("got %d responses %v, want %v", len(got), got, want)
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("got %s %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

// TestWrongPasswordSignsDifferently: the signature depends on the password,
// so a wrong one cannot pass for the right one.
func TestWrongPasswordSignsDifferently(t *testing.T) {
	v := readVectors(t)[0]
	c, err := newClient(v.PoolID, hexInt(t, v.A))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{"USER_ID_FOR_SRP": v.Username, "SALT": v.Salt, "SRP_B": v.SRPB, "SECRET_BLOCK": v.SecretBlock}
	got, err := c.PasswordVerifier(params, v.Password+"x", time.UnixMilli(v.UnixMillis))
	if err != nil {
		t.Fatal(err)
	}
	if got["PASSWORD_CLAIM_SIGNATURE"] == v.Signature {
		t.Error("a wrong password gave the right password's signature")
	}
}

func TestTimestampLayout(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"day not padded, time padded", time.Date(2017, 9, 5, 8, 9, 4, 0, time.UTC), "Tue Sep 5 08:09:04 UTC 2017"},
		{"two-digit day", time.Date(2026, 12, 24, 23, 59, 59, 0, time.UTC), "Thu Dec 24 23:59:59 UTC 2026"},
		{"another zone is written in UTC", time.Date(2024, 3, 1, 1, 30, 0, 0, time.FixedZone("CET", 3600)), "Fri Mar 1 00:30:00 UTC 2024"},
	}
	v := readVectors(t)[0]
	c, err := newClient(v.PoolID, hexInt(t, v.A))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{"USER_ID_FOR_SRP": v.Username, "SALT": v.Salt, "SRP_B": v.SRPB, "SECRET_BLOCK": v.SecretBlock}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.PasswordVerifier(params, v.Password, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got["TIMESTAMP"] != tt.want {
				t.Errorf("got TIMESTAMP %q, want %q", got["TIMESTAMP"], tt.want)
			}
		})
	}
}

// TestBadChallenges: parameters that are missing, malformed or would make
// the proof worthless are refused before anything is signed.
func TestBadChallenges(t *testing.T) {
	v := readVectors(t)[0]
	good := map[string]string{"USER_ID_FOR_SRP": v.Username, "SALT": v.Salt, "SRP_B": v.SRPB, "SECRET_BLOCK": v.SecretBlock}
	with := func(k, val string) map[string]string {
		m := map[string]string{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if val == "" {
			delete(m, k)
		} else {
			m[k] = val
		}
		return m
	}
	tests := []struct {
		name   string
		params map[string]string
	}{
		{"no user ID", with("USER_ID_FOR_SRP", "")},
		{"no salt", with("SALT", "")},
		{"salt not hex", with("SALT", "xyz")},
		{"negative B", with("SRP_B", "-"+v.SRPB)},
		{"no B", with("SRP_B", "")},
		{"B is zero", with("SRP_B", "0")},
		{"B is N", with("SRP_B", groupN.Text(16))},
		{"B is 2N", with("SRP_B", new(big.Int).Lsh(groupN, 1).Text(16))},
		{"no secret block", with("SECRET_BLOCK", "")},
		{"secret block not base64", with("SECRET_BLOCK", "!!!")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(v.PoolID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.PasswordVerifier(tt.params, v.Password, time.Now())
			if !errors.Is(err, ErrBadChallenge) || got != nil {
				t.Errorf("got %v, %v; want ErrBadChallenge and no answer", got, err)
			}
		})
	}
}

func TestNewRefusesBadPoolIDs(t *testing.T) {
	for _, id := range []string{"", "eu-west-1", "eu-west-1_", "_Ab12"} {
		if _, err := New(id); err == nil {
			t.Errorf("New(%q): got no error, want one", id)
		}
	}
}

// TestFreshSecrets: every sign-in draws its own a, so no two send the same
// A.
func TestFreshSecrets(t *testing.T) {
	seen := map[string]bool{}
	for range 8 {
		c, err := New("eu-west-1_Ab12")
		if err != nil {
			t.Fatal(err)
		}
		a := c.AuthParameters("jane")["SRP_A"]
		if seen[a] {
			t.Fatalf("SRP_A %s sent twice", a)
		}
		seen[a] = true
	}
}

// TestTwosComplement: integers are hashed as Java's BigInteger.toByteArray
// encodes them.
func TestTwosComplement(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "00"}, {20, "14"}, {127, "7f"}, {128, "0080"}, {200, "00c8"}, {0x7fff, "7fff"}, {0x8000, "008000"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(twosComplement(big.NewInt(tt.in))); got != tt.want {
			t.Errorf("twosComplement(%d) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
