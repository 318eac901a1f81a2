package fleetclaim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// newEventID returns an ID that sorts by time: the UTC timestamp to the
// nanosecond, then random bits so concurrent events never collide.
func newEventID(at time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("%s-%s", at.UTC().Format("20060102T150405.000000000Z"), hex.EncodeToString(b[:]))
}
