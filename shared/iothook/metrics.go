package iothook

import (
	"context"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// record publishes one decision: how long it took (AWS IoT gives the hook
// 5 s in all), whether it allowed, or why it denied (the reason recorded on
// the claim), and for an allowed registration how long after its issue the
// claim was used. A store_unavailable denial also shows in StoreErrors,
// which the DynamoDB client counts.
func (h *Handler) record(ctx context.Context, d fleetclaim.Decision, start time.Time) {
	at := h.now()
	metrics.Duration(ctx, h.Metrics, metrics.HookDecisionMilliseconds, at.Sub(start))
	if !d.Allow {
		metrics.Add(ctx, h.Metrics, metrics.RegistrationsDenied, string(d.Reason))
		return
	}
	metrics.Add(ctx, h.Metrics, metrics.RegistrationsAllowed, "")
	if !d.ClaimIssuedAt.IsZero() {
		metrics.Duration(ctx, h.Metrics, metrics.ClaimToRegistrationSeconds, at.Sub(d.ClaimIssuedAt))
	}
}
