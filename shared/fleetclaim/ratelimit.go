package fleetclaim

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultRequestsPerMinute is each installer's API allowance when the
// deployment sets none: an installer working through a van of devices taps
// a few times a minute, and an app polling a claim's outcome every few
// seconds stays well inside it.
const DefaultRequestsPerMinute = 120

// RateLimiter bounds each installer's API requests per clock minute, so one
// runaway client or stolen token cannot use up the stage throttle that every
// tenant shares. The count lives in the store (one conditional counter per
// installer and minute, as the claim quota), not in one Lambda instance: a
// client whose requests spread over many instances is counted once.
type RateLimiter struct {
	Quotas QuotaStore
	// PerMinute is the allowance; DefaultRequestsPerMinute when zero.
	PerMinute int
	Now       func() time.Time
}

// Allow spends one of the installer's requests for the current minute. Past
// the allowance it answers 429 (code throttled, as API Gateway's own
// throttle) with the seconds left in the minute; a store fault fails closed
// (503), as every other store read of the request would.
func (l *RateLimiter) Allow(ctx context.Context, id InstallerID) error {
	limit := l.PerMinute
	if limit <= 0 {
		limit = DefaultRequestsPerMinute
	}
	now := l.Now().UTC()
	windowEnd := now.Truncate(time.Minute).Add(time.Minute)
	err := l.Quotas.TakeQuota(ctx, "requests#"+string(id), windowEnd, limit)
	switch {
	case errors.Is(err, ErrQuotaExhausted):
		return &Error{Kind: KindQuota, Code: CodeThrottled, RetryAfter: windowEnd.Sub(now).Round(time.Second),
			Message: fmt.Sprintf("Too many requests: at most %d a minute per installer. Retry after the minute.", limit)}
	case err != nil:
		return Unavailable(fmt.Errorf("rate limit %s: %w", id, err))
	}
	return nil
}
