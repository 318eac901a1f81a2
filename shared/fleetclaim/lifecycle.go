package fleetclaim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Presence event types AWS IoT publishes on $aws/events/presence/<type>/<clientId>.
const (
	PresenceConnected    = "connected"
	PresenceDisconnected = "disconnected"
)

// PresenceEvent is an AWS IoT lifecycle presence event, as the topic rule
// delivers it, reduced to what the lifecycle reads.
type PresenceEvent struct {
	EventType string // PresenceConnected or PresenceDisconnected
	ClientID  string
	// PrincipalID is the certificate ID for X.509 connections.
	PrincipalID string
	// At is the event's timestamp (milliseconds since the epoch in AWS's payload).
	At time.Time
}

// Lifecycle handles AWS IoT lifecycle (presence) events: it is how a
// registered device is confirmed online (DESIGN.md 2b).
type Lifecycle struct {
	Devices DeviceStore
	Audit   AuditStore
	Now     func() time.Time
	Log     *slog.Logger
}

// Observe records a "connected" event whose client ID is a thing name
// (<tenant>_<serial>) and whose principal is that serial's live device
// certificate: the device is online (audited device.online the first time),
// and its last connection is kept. Anything else is ignored with a debug
// log: a claim certificate's connection, a thing with no live device, another
// certificate using the thing's client ID (which proves nothing about the
// device), a disconnection. Events are delivered at least once and out of
// order, so nothing here depends on being first; the store keeps the
// earliest OnlineAt and the latest LastConnectedAt.
//
// Observe returns the device when this event is the one that brought it
// online, so that the caller can measure the time from registration to its
// first connection; nil otherwise. It returns an error only for store
// faults, so that the function fails and AWS IoT's rule action retries or
// takes its error action.
func (l *Lifecycle) Observe(ctx context.Context, e PresenceEvent) (*Device, error) {
	log := l.Log.With("eventType", truncate(e.EventType, 32), "clientId", truncate(e.ClientID, maxClientIDLength),
		"principalId", truncate(e.PrincipalID, MaxClaimIDLength))
	if e.EventType != PresenceConnected {
		log.DebugContext(ctx, "presence event ignored: not a connection")
		return nil, nil
	}
	tenant, serial, ok := ParseThingName(e.ClientID)
	if !ok {
		log.DebugContext(ctx, "presence event ignored: the client ID is not a thing name")
		return nil, nil
	}
	// A certificate ID has a claim ID's shape; anything else (a Cognito
	// identity, an IAM principal) is not a device certificate.
	if ValidateClaimID(ClaimID(e.PrincipalID)) != nil {
		log.DebugContext(ctx, "presence event ignored: the principal is not a certificate")
		return nil, nil
	}
	at := e.At.UTC()
	if at.IsZero() {
		at = l.Now().UTC()
	}
	before, err := l.Devices.GetDevice(ctx, tenant, serial)
	switch {
	case errors.Is(err, ErrNotFound):
		log.DebugContext(ctx, "presence event ignored: no live device for the thing")
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("observe presence of %s: %w", e.ClientID, err)
	}
	d, err := l.Devices.MarkDeviceOnline(ctx, tenant, serial, e.PrincipalID, at)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict):
		// Not the live device's certificate (a claim certificate, a
		// decommissioned device's, or a device decommissioned meanwhile).
		log.DebugContext(ctx, "presence event ignored: not the live device's certificate")
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("mark %s online: %w", e.ClientID, err)
	}
	if before.State != DeviceOnline && d.State == DeviceOnline && d.OnlineAt.Equal(at) {
		if err := l.Audit.AppendAudit(ctx, AuditEvent{TenantID: tenant, ID: newEventID(at), At: at, Actor: d.InstallerID,
			Action: ActionDeviceOnline, Subject: serial, Serial: serial, Detail: "thing " + d.ThingName + ", certificate " + d.CertificateID}); err != nil {
			log.ErrorContext(ctx, "audit event not recorded", "action", ActionDeviceOnline, "error", err)
		}
		log.InfoContext(ctx, "device online", "tenantId", tenant, "serial", serial, "onlineAt", d.OnlineAt)
		return &d, nil
	}
	return nil, nil
}

// ParseThingName splits a thing name made by ThingName into its tenant and
// serial. Tenant IDs have no '_', so the first '_' is the separator; both
// parts must be valid, or ok is false.
func ParseThingName(name string) (tenant TenantID, serial string, ok bool) {
	t, s, found := strings.Cut(name, "_")
	if !found || ValidateTenantID(TenantID(t)) != nil || ValidateSerial(s) != nil {
		return "", "", false
	}
	return TenantID(t), s, true
}
