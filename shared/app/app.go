// Package app assembles each function's handler from its parts. The Lambda
// entry points in functions/ and the local stack both build their handlers
// here, so the code that runs locally is the code that runs in AWS.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/cognitotrigger"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/iothook"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// Parts are the adapters a handler is built from.
type Parts struct {
	Store fleetclaim.Store
	// Minter and Endpoint are needed by the claims API only.
	Minter   fleetclaim.ClaimMinter
	Endpoint func(ctx context.Context) (string, error)
	// Revoker deactivates certificates in AWS IoT; the claims API and the
	// pre-provisioning hook need it.
	Revoker fleetclaim.CertificateRevoker
	// GroupsFor returns the group manager of a user pool.
	GroupsFor func(userPoolID string) fleetclaim.GroupManager
	Log       *slog.Logger
	// Metrics records what the handlers see (shared/metrics); nil for none.
	Metrics metrics.Recorder
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (p Parts) now() func() time.Time {
	if p.Now != nil {
		return p.Now
	}
	return time.Now
}

// Claims builds the API handler.
func Claims(cfg config.Claims, p Parts) *apigw.Handler {
	svc := &fleetclaim.Service{
		Store:         p.Store,
		Minter:        p.Minter,
		Revoker:       p.Revoker,
		Groups:        p.GroupsFor(cfg.UserPoolID),
		Endpoint:      p.Endpoint,
		Templates:     cfg.AllowedTemplates,
		ClaimsPerHour: cfg.ClaimsPerHour,
		Retention:     cfg.ClaimRetention,
		OnlineWithin:  cfg.OnlineWithin,
		Now:           p.now(),
		Log:           p.Log,
	}
	limiter := &fleetclaim.RateLimiter{Quotas: p.Store, PerMinute: cfg.RequestsPerMinute, Now: p.now()}
	return &apigw.Handler{Service: svc, Log: p.Log, AllowedOrigin: cfg.AllowedOrigin, Metrics: p.Metrics, Limiter: limiter}
}

// Enrollment builds the domain service behind both Cognito triggers.
func Enrollment(p Parts) *fleetclaim.Enrollment {
	return &fleetclaim.Enrollment{
		Installers: p.Store,
		Tenants:    p.Store,
		Quotas:     p.Store,
		Audit:      p.Store,
		Now:        p.now(),
		Log:        p.Log,
	}
}

// PostConfirmation builds the post-confirmation trigger handler.
func PostConfirmation(p Parts) *cognitotrigger.PostConfirmation {
	return &cognitotrigger.PostConfirmation{Enrollment: Enrollment(p), Log: p.Log}
}

// PreTokenGeneration builds the pre-token-generation trigger handler.
func PreTokenGeneration(p Parts) *cognitotrigger.PreTokenGeneration {
	return &cognitotrigger.PreTokenGeneration{Enrollment: Enrollment(p), Log: p.Log}
}

// ProvisioningHook builds the pre-provisioning hook handler.
func ProvisioningHook(cfg config.Hook, p Parts) *iothook.Handler {
	g := &fleetclaim.Gatekeeper{
		Claims:     p.Store,
		Devices:    p.Store,
		Installers: p.Store,
		Tenants:    p.Store,
		Audit:      p.Store,
		Revoker:    p.Revoker,
		Now:        p.now(),
		Log:        p.Log,
	}
	return &iothook.Handler{Decider: g, Deadline: cfg.HookDeadline, Log: p.Log, Metrics: p.Metrics, Now: p.now()}
}

// Lifecycle builds the domain service behind the AWS IoT presence events
// function: it marks devices online.
func Lifecycle(p Parts) *fleetclaim.Lifecycle {
	return &fleetclaim.Lifecycle{Devices: p.Store, Audit: p.Store, Now: p.now(), Log: p.Log}
}
