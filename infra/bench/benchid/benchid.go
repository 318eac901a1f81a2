// Package benchid makes the random identifiers the benchmark commands give
// their fixtures: table names, claim and certificate IDs, Cognito subs.
package benchid

import (
	"crypto/rand"
	"encoding/hex"
)

// Hex returns n random bytes in hex (2n characters).
func Hex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Sub returns a random Cognito-style sub (a version 4 UUID).
func Sub() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
