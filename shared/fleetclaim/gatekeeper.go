package fleetclaim

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"
)

// Gatekeeper decides, for AWS IoT's pre-provisioning hook, whether a device
// presenting a claim may register (invariant 2).
type Gatekeeper struct {
	Claims     ClaimStore
	Devices    DeviceStore
	Installers InstallerStore
	Tenants    TenantStore
	Audit      AuditStore
	// Revoker deactivates the certificates of the claims a denial burns
	// (invariant 10). It is called after the decision is recorded, within
	// the caller's deadline, and only on the way to a denial, so it can
	// neither delay an allow nor turn a denial into anything else.
	Revoker CertificateRevoker
	Now     func() time.Time
	Log     *slog.Logger
}

// ProvisionRequest is a RegisterThing call as the hook sees it.
type ProvisionRequest struct {
	ClaimID             ClaimID
	DeviceCertificateID string
	Template            string
	// Serial is the device's SerialNumber parameter, unvalidated.
	Serial   string
	ClientID string
}

// Decision is the hook's answer. The device sees only allow or deny; Reason is
// recorded on the claim for the installer (invariant 4).
type Decision struct {
	Allow  bool
	Reason Reason
	// Overrides are template parameters to set when allowed.
	Overrides map[string]string
	// ClaimIssuedAt is when the claim that was allowed had been issued, so
	// the hook can publish how long claims take to be used; zero on denial.
	ClaimIssuedAt time.Time
}

// Template parameters the hook sets for the provisioning template.
const (
	ParamThingName    = "ThingName"
	ParamSerialNumber = "SerialNumber"
	ParamTenantID     = "TenantId"
	ParamInstallerID  = "InstallerId"
)

// Decide applies every rule of invariant 2 and never fails open: any error,
// including the context's deadline, is a denial. The caller bounds ctx
// (invariant 3); nothing here retries.
//
// The claim is read once; its installer and tenant are read because their
// status can change after issuance; one conditional write then moves the claim
// from issued to consumed and makes the device its serial's live device, so of
// two concurrent registrations with one claim exactly one can win, and of any
// number of claims for one serial at most one ever registers until that device
// is decommissioned (invariant 9): the store's write holds only while the
// claim is its serial's current claim and the serial has no live device.
func (g *Gatekeeper) Decide(ctx context.Context, r ProvisionRequest) Decision {
	now := g.Now().UTC()
	// The request is the device's, not yet validated: each field is logged
	// no longer than a valid one can be.
	log := g.Log.With("claimId", truncate(string(r.ClaimID), MaxClaimIDLength), "serial", truncate(r.Serial, MaxSerialLength),
		"template", truncate(r.Template, MaxTemplateLength), "clientId", truncate(r.ClientID, maxClientIDLength))

	if err := ValidateClaimID(r.ClaimID); err != nil {
		return g.deny(ctx, log, r, Claim{}, ReasonInvalidRequest, now, err)
	}
	c, err := g.Claims.GetClaim(ctx, r.ClaimID)
	switch {
	case errors.Is(err, ErrNotFound):
		return g.deny(ctx, log, r, Claim{}, ReasonUnknownClaim, now, nil)
	case err != nil:
		return g.deny(ctx, log, r, Claim{}, ReasonStoreUnavailable, now, err)
	}
	if reason := claimRefusal(c, r, now); reason != "" {
		return g.deny(ctx, log, r, c, reason, now, nil)
	}
	if reason, err := g.ownerRefusal(ctx, c); reason != "" {
		return g.deny(ctx, log, r, c, reason, now, err)
	}

	thing := ThingName(c.TenantID, c.Serial)
	_, err = g.Claims.UpdateClaim(ctx, ClaimUpdate{
		ID: c.ID, IfStatus: ClaimIssued, IfUnexpiredAt: now,
		Status: ClaimConsumed, At: now,
		Device: &Device{TenantID: c.TenantID, Serial: c.Serial, ThingName: thing,
			CertificateID: r.DeviceCertificateID, InstallerID: c.InstallerID, ClaimID: c.ID,
			Template: c.Template, Site: c.Site, ProvisionedAt: now},
	})
	switch {
	case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
		// The claim or its serial changed since the read. The denial is
		// audited; the winner's record is left alone.
		reason, latest := g.lostReason(ctx, log, c, now)
		return g.deny(ctx, log, r, latest, reason, now, nil)
	case err != nil:
		return g.deny(ctx, log, r, c, ReasonStoreUnavailable, now, err)
	}
	g.record(ctx, log, AuditEvent{TenantID: c.TenantID, At: now, Actor: c.InstallerID,
		Action: ActionDeviceProvisioned, Subject: c.Serial, Serial: c.Serial, Detail: "thing " + thing + ", claim " + string(c.ID)})
	log.InfoContext(ctx, "provisioning allowed", "thingName", thing, "tenantId", c.TenantID, "installerId", c.InstallerID)
	return Decision{Allow: true, ClaimIssuedAt: c.IssuedAt, Overrides: map[string]string{
		ParamThingName:    thing,
		ParamSerialNumber: c.Serial,
		ParamTenantID:     string(c.TenantID),
		ParamInstallerID:  string(c.InstallerID),
	}}
}

// lostReason says why the consuming write failed, from the serial's state
// as it is now: the claim was used, revoked (superseded included), expired or
// rejected meanwhile; or it is still issued but no longer its serial's
// current claim, or the serial has a live device (serial_in_use). A claim
// that lost to a live serial can never be used: the denial burns it. When
// the serial cannot be read, the claim is treated as used, as before
// invariant 9: the answer is a denial either way. It returns the claim as
// last read.
func (g *Gatekeeper) lostReason(ctx context.Context, log *slog.Logger, c Claim, now time.Time) (Reason, Claim) {
	st, err := g.Devices.GetSerial(ctx, c.TenantID, c.Serial)
	if err != nil {
		log.ErrorContext(ctx, "serial unreadable after a lost consuming write", "error", err)
		return ReasonAlreadyUsed, c
	}
	latest := c
	if st.Claim != nil && st.Claim.ID == c.ID {
		latest = *st.Claim
	} else if got, err := g.Claims.GetClaim(ctx, c.ID); err == nil {
		latest = got
	} else {
		log.ErrorContext(ctx, "claim unreadable after a lost consuming write", "error", err)
	}
	switch latest.StatusAt(now) {
	case ClaimConsumed:
		return ReasonAlreadyUsed, latest
	case ClaimRevoked:
		return ReasonRevoked, latest
	case ClaimExpired:
		return ReasonExpired, latest
	case ClaimRejected:
		return ReasonRejected, latest
	}
	log.WarnContext(ctx, "consuming write lost to the serial's state",
		"currentClaim", currentClaimID(st), "liveDevice", st.Device != nil)
	return ReasonSerialInUse, latest
}

func currentClaimID(st SerialState) ClaimID {
	if st.Claim == nil {
		return ""
	}
	return st.Claim.ID
}

// claimRefusal checks the claim itself against the request.
func claimRefusal(c Claim, r ProvisionRequest, now time.Time) Reason {
	switch c.StatusAt(now) {
	case ClaimIssued:
	case ClaimConsumed:
		return ReasonAlreadyUsed
	case ClaimRevoked:
		return ReasonRevoked
	case ClaimExpired:
		return ReasonExpired
	default:
		return ReasonRejected
	}
	// Exact, byte-wise comparison: the bound serial passed ValidateSerial at
	// issue time, so look-alike or padded input cannot equal it.
	if r.Serial != c.Serial {
		return ReasonSerialMismatch
	}
	if r.Template != c.Template {
		return ReasonTemplateMismatch
	}
	return ""
}

// ownerRefusal re-reads the installer and tenant the claim is bound to.
func (g *Gatekeeper) ownerRefusal(ctx context.Context, c Claim) (Reason, error) {
	in, err := g.Installers.GetInstaller(ctx, c.InstallerID)
	switch {
	case errors.Is(err, ErrNotFound):
		return ReasonInstallerNotApproved, nil
	case err != nil:
		return ReasonStoreUnavailable, err
	case in.Status != InstallerApproved || in.TenantID != c.TenantID:
		return ReasonInstallerNotApproved, nil
	}
	t, err := g.Tenants.GetTenant(ctx, c.TenantID)
	switch {
	case errors.Is(err, ErrNotFound):
		return ReasonTenantInactive, nil
	case err != nil:
		return ReasonStoreUnavailable, err
	case t.Status != TenantActive:
		return ReasonTenantInactive, nil
	}
	return "", nil
}

// deny records why on the claim, when there is one (invariant 4), and answers
// no. A claim presented with the wrong serial or template, or whose owner is
// no longer trusted, is rejected for good: it may have leaked. A claim that is
// merely unreadable right now is annotated but left usable.
func (g *Gatekeeper) deny(ctx context.Context, log *slog.Logger, r ProvisionRequest, c Claim, reason Reason, now time.Time, cause error) Decision {
	if cause != nil {
		log.ErrorContext(ctx, "provisioning denied", "reason", reason, "error", cause)
	} else {
		log.WarnContext(ctx, "provisioning denied", "reason", reason)
	}
	if c.ID == "" {
		return Decision{Reason: reason}
	}
	// The claim's reason says why it stopped being usable, or, for one that
	// is still usable, why its first attempt failed. It is written only
	// while the claim is as it was read, and a reason already there is kept
	// unless this denial burns the claim: otherwise any holder of a revoked
	// or rejected claim could overwrite why (and whose decision) it was
	// stopped. Every denial is in the audit trail either way.
	u := ClaimUpdate{ID: c.ID, Reason: reason, At: now, IfStatus: c.Status}
	burns := false
	switch reason {
	case ReasonSerialMismatch, ReasonTemplateMismatch, ReasonInstallerNotApproved, ReasonTenantInactive, ReasonSerialInUse:
		u.IfStatus, u.Status, burns = ClaimIssued, ClaimRejected, true
	case ReasonExpired:
		u.IfStatus, u.Status = ClaimIssued, ClaimExpired
	}
	if u.Status != "" || c.Reason == "" {
		// A claim that is no longer its serial's current claim cannot be
		// written (ErrConflict); it can never be used either.
		if _, err := g.Claims.UpdateClaim(ctx, u); err != nil && !errors.Is(err, ErrConflict) {
			log.ErrorContext(ctx, "denial reason not recorded", "reason", reason, "error", err)
		}
	}
	g.record(ctx, log, AuditEvent{TenantID: c.TenantID, At: now, Actor: c.InstallerID,
		Action: ActionProvisioningDenied, Subject: string(c.ID), Serial: c.Serial, Reason: reason,
		Detail: "serial presented " + strconv.Quote(truncate(r.Serial, MaxSerialLength))})
	if burns {
		g.deactivate(ctx, log, c, reason, now)
	}
	return Decision{Reason: reason}
}

// deactivate deactivates a burnt claim's certificate in AWS IoT (invariant
// 10), after the denial is recorded and within what is left of the hook's
// deadline: the device is refused either way, and a certificate left active
// is still refused by the hook, so a failure is logged with the claim ID
// rather than retried past the deadline.
func (g *Gatekeeper) deactivate(ctx context.Context, log *slog.Logger, c Claim, reason Reason, now time.Time) {
	if err := g.Revoker.DeactivateCertificate(ctx, string(c.ID)); err != nil {
		log.ErrorContext(ctx, "burnt claim's certificate not deactivated in AWS IoT; the hook refuses it", "error", err)
		return
	}
	g.record(ctx, log, AuditEvent{TenantID: c.TenantID, At: now, Action: ActionCertificateDeactivated,
		Subject: string(c.ID), Serial: c.Serial, Reason: reason, Detail: "claim certificate, serial " + c.Serial})
}

func (g *Gatekeeper) record(ctx context.Context, log *slog.Logger, e AuditEvent) {
	e.ID = newEventID(e.At)
	if err := g.Audit.AppendAudit(ctx, e); err != nil {
		log.ErrorContext(ctx, "audit event not recorded", "action", e.Action, "error", err)
	}
}

// maxClientIDLength is AWS IoT's bound on an MQTT client ID.
const maxClientIDLength = 128

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
