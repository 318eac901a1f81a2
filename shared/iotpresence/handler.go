package iotpresence

import (
	"context"
	"fmt"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// Observer is the domain call the handler delegates to:
// fleetclaim.Lifecycle.Observe.
type Observer interface {
	Observe(ctx context.Context, e fleetclaim.PresenceEvent) (*fleetclaim.Device, error)
}

// The domain's Lifecycle is the Observer the function is built with.
var _ Observer = (*fleetclaim.Lifecycle)(nil)

// Handler receives the presence events the topic rule delivers.
type Handler struct {
	Lifecycle Observer
	// Metrics records the time from a device's registration to its first
	// connection (metrics.RegistrationToOnlineSeconds); nil records none.
	Metrics metrics.Recorder
}

// Handle passes the event to the lifecycle. It fails only when the lifecycle
// does (a store fault): the invocation then fails, and AWS IoT retries it or
// takes the rule's error action, so no event is dropped in silence. Events
// the lifecycle ignores (claim certificates, unknown things,
// disconnections) succeed.
func (h *Handler) Handle(ctx context.Context, ev Event) error {
	e := fleetclaim.PresenceEvent{EventType: ev.EventType, ClientID: ev.ClientID, PrincipalID: ev.PrincipalIdentifier}
	// A missing timestamp stays zero, for the lifecycle to use its clock,
	// rather than becoming 1970.
	if ev.Timestamp > 0 {
		e.At = time.UnixMilli(ev.Timestamp).UTC()
	}
	online, err := h.Lifecycle.Observe(ctx, e)
	if err != nil {
		return fmt.Errorf("presence event %.32s of %.128s: %w", ev.EventType, ev.ClientID, err)
	}
	if online != nil {
		metrics.RegistrationToOnline(ctx, h.Metrics, online.ProvisionedAt, online.OnlineAt)
	}
	return nil
}
