package app

import "github.com/fleetclaim/fleetclaim/shared/iotpresence"

// Presence builds the handler of the presence events the topic rule
// delivers.
func Presence(p Parts) *iotpresence.Handler {
	return &iotpresence.Handler{Lifecycle: Lifecycle(p), Metrics: p.Metrics}
}
