package gateway

import (
	"sync"
	"time"
)

// throttle is a stage's token bucket, as API Gateway throttles a stage: it
// holds up to burst requests and refills at rate a second. A nil throttle
// allows everything.
type throttle struct {
	rate, burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// newThrottle returns a bucket for rate requests a second and burst at
// once (at least one), or nil for a zero rate.
func newThrottle(rate float64, burst int) *throttle {
	if rate == 0 {
		return nil
	}
	b := float64(max(burst, 1))
	return &throttle{rate: rate, burst: b, tokens: b}
}

// allow takes a token for a request arriving at now, if there is one.
func (t *throttle) allow(now time.Time) bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.last.IsZero() && now.After(t.last) {
		t.tokens = min(t.burst, t.tokens+now.Sub(t.last).Seconds()*t.rate)
	}
	if t.last.IsZero() || now.After(t.last) {
		t.last = now
	}
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}
