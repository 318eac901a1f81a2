package fleetclaim

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxDecommissionReasonLength bounds the free-text reason of a decommission.
const MaxDecommissionReasonLength = 200

// ReasonReplaced is the decommission reason ReplaceDevice records.
const ReasonReplaced = "replaced"

// ValidateDecommissionReason checks the optional free-text reason given for
// a decommission, by the rules of ValidateSite.
func ValidateDecommissionReason(s string) error {
	return validateFreeText("reason", s, MaxDecommissionReasonLength)
}

// overdue derives, on read, whether a registered device has failed to come
// online within OnlineWithin of its registration: a registration AWS IoT
// failed after the hook allowed it, or a device that never connected with
// its own certificate, shows as such instead of as provisioned.
func (s *Service) overdue(d Device, now time.Time) Device {
	d.Overdue = d.State == DeviceRegistered && s.OnlineWithin > 0 && !now.Before(d.ProvisionedAt.Add(s.OnlineWithin))
	return d
}

// GetDevice returns a serial of the caller's tenant: its live device or,
// when the serial is free, its newest decommissioned one. Only a serial that
// never had a device is "not found".
func (s *Service) GetDevice(ctx context.Context, p Principal, serial string) (Device, error) {
	if err := ValidateSerial(serial); err != nil {
		return Device{}, err
	}
	a, err := resolveActor(ctx, s.Store, p)
	if err != nil {
		return Device{}, err
	}
	d, err := s.deviceOrLatest(ctx, a.TenantID, serial)
	if err != nil {
		return Device{}, err
	}
	return s.overdue(d, s.Now()), nil
}

// deviceOrLatest reads a serial's live device, or its newest history entry.
func (s *Service) deviceOrLatest(ctx context.Context, tenant TenantID, serial string) (Device, error) {
	d, err := s.Store.GetDevice(ctx, tenant, serial)
	switch {
	case err == nil:
		return d, nil
	case !errors.Is(err, ErrNotFound):
		return Device{}, Unavailable(fmt.Errorf("get device %s: %w", serial, err))
	}
	old, _, err := s.Store.ListDeviceHistory(ctx, tenant, serial, Page{Limit: 1})
	switch {
	case err != nil:
		return Device{}, Unavailable(fmt.Errorf("list device history %s: %w", serial, err))
	case len(old) == 0:
		return Device{}, NotFound("Device")
	}
	return old[0], nil
}

// ListDevices lists the caller's tenant's live devices (any tenant's for a
// platform admin naming one).
func (s *Service) ListDevices(ctx context.Context, p Principal, tenant TenantID, pg Page) ([]Device, string, error) {
	ds, next, err := listInTenant(ctx, p, s.member, tenant, pg, s.Store.ListDevices)
	now := s.Now()
	for i := range ds {
		ds[i] = s.overdue(ds[i], now)
	}
	return ds, next, err
}

// ListDeviceHistory lists a serial's decommissioned devices, newest first.
// A serial the tenant never issued a claim for is "not found".
func (s *Service) ListDeviceHistory(ctx context.Context, p Principal, serial string, pg Page) ([]Device, string, error) {
	if err := ValidateSerial(serial); err != nil {
		return nil, "", err
	}
	pg, err := pg.normalize()
	if err != nil {
		return nil, "", err
	}
	a, err := resolveActor(ctx, s.Store, p)
	if err != nil {
		return nil, "", err
	}
	ds, next, err := s.Store.ListDeviceHistory(ctx, a.TenantID, serial, pg)
	if err != nil {
		return nil, "", listError(err)
	}
	if len(ds) == 0 && pg.Cursor == "" {
		st, err := s.Store.GetSerial(ctx, a.TenantID, serial)
		switch {
		case err != nil:
			return nil, "", Unavailable(fmt.Errorf("get serial %s: %w", serial, err))
		case st.Claim == nil && st.Device == nil:
			return nil, "", NotFound("Device")
		}
	}
	return ds, next, nil
}

// DecommissionRequest is what a decommission names besides the serial.
type DecommissionRequest struct {
	// Reason is optional free text, recorded with the history entry.
	Reason string
	// CertificateID, when given, names the device the caller means: the
	// action applies only while the serial's device has that certificate,
	// so a retry cannot reach a replacement unit registered meanwhile.
	CertificateID string
}

// ValidateDeviceCertificateID checks an optional certificateId naming the
// device a request means: empty, or 64 lowercase hex characters like every
// AWS IoT certificate ID.
func ValidateDeviceCertificateID(id string) error {
	if id != "" && ValidateClaimID(ClaimID(id)) != nil {
		return Invalid("certificateId", "must be a 64-character certificate ID")
	}
	return nil
}

// deviceChanged is the answer when the serial's device is not the one the
// caller named.
func deviceChanged() error {
	return Conflict(CodeDeviceChanged, "The serial's live device is not the one named; reload.")
}

// DecommissionDevice is Decommission with a reason and no certificate
// guard: it applies to whatever device the serial has.
func (s *Service) DecommissionDevice(ctx context.Context, p Principal, serial, reason string) (Device, error) {
	return s.Decommission(ctx, p, serial, DecommissionRequest{Reason: reason})
}

// Decommission retires a serial's live device: its certificate is
// deactivated and detached from its thing in AWS IoT first, then the device
// moves to the serial's history and the serial is free for a new claim
// (invariant 10). Admins of the tenant may always; an installer only for a
// device they provisioned, and only if the tenant allows it.
//
// An AWS IoT failure answers 503 with nothing changed in the store; the
// request is then repeated, and every step is idempotent. Repeating it after
// it succeeded returns the decommissioned device. The thing is kept: the
// table keeps the history, and deleting things is left to the operator.
//
// With r.CertificateID, the serial's device must be the one named: a live
// device with another certificate answers 409 device_changed (a repeat
// after a replacement registered must not retire the new unit); with no
// live device, the newest history entry must have it, and is returned.
func (s *Service) Decommission(ctx context.Context, p Principal, serial string, r DecommissionRequest) (Device, error) {
	if err := ValidateSerial(serial); err != nil {
		return Device{}, err
	}
	if err := ValidateDecommissionReason(r.Reason); err != nil {
		return Device{}, err
	}
	if err := ValidateDeviceCertificateID(r.CertificateID); err != nil {
		return Device{}, err
	}
	a, err := resolveActor(ctx, s.Store, p)
	if err != nil {
		return Device{}, err
	}
	d, err := s.deviceOrLatest(ctx, a.TenantID, serial)
	if err != nil {
		return Device{}, err
	}
	if r.CertificateID != "" && d.CertificateID != r.CertificateID {
		return Device{}, deviceChanged()
	}
	if err := a.mayDecommission(d); err != nil {
		return Device{}, err
	}
	if d.State == DeviceDecommissioned {
		return d, nil // a repeated request: done already
	}
	// AWS IoT first: should the store then fail, the certificate is dead
	// but the serial still names it, and a repeat finishes the job. The
	// reverse order could free the serial while the old device still
	// connects.
	if err := s.Revoker.DeactivateCertificate(ctx, d.CertificateID); err != nil {
		return Device{}, Unavailable(fmt.Errorf("deactivate certificate %s of %s: %w", d.CertificateID, serial, err))
	}
	if err := s.Revoker.DetachCertificate(ctx, d.ThingName, d.CertificateID); err != nil {
		return Device{}, Unavailable(fmt.Errorf("detach certificate %s from %s: %w", d.CertificateID, d.ThingName, err))
	}
	now := s.Now().UTC()
	// The store's write is conditional on d's certificate, so a device
	// registered between the read above and here is never retired.
	out, err := s.Store.DecommissionDevice(ctx, a.TenantID, serial, d.CertificateID, now, a.ID, r.Reason)
	switch {
	case errors.Is(err, ErrNotFound):
		// Decommissioned concurrently: the newest history entry is it.
		return s.deviceOrLatest(ctx, a.TenantID, serial)
	case errors.Is(err, ErrConflict):
		if r.CertificateID != "" {
			return Device{}, deviceChanged()
		}
		return Device{}, Conflict(CodeDeviceAlreadyProvisioned, "Another device was provisioned under this serial meanwhile; reload and retry.")
	case err != nil:
		return Device{}, Unavailable(fmt.Errorf("decommission %s: %w", serial, err))
	}
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, At: now, Actor: a.ID, Action: ActionCertificateDeactivated,
		Subject: d.CertificateID, Serial: serial, Detail: "device " + serial + ", thing " + d.ThingName})
	s.audit(ctx, AuditEvent{TenantID: a.TenantID, At: now, Actor: a.ID, Action: ActionDeviceDecommissioned,
		Subject: serial, Serial: serial, Detail: "thing " + d.ThingName + ", certificate " + d.CertificateID + ", reason " + quoteReason(r.Reason)})
	s.Log.InfoContext(ctx, "device decommissioned", "tenantId", a.TenantID, "serial", serial,
		"certificateId", d.CertificateID, "by", a.ID)
	return out, nil
}

// ReplaceDevice is Replace with no certificate guard.
func (s *Service) ReplaceDevice(ctx context.Context, p Principal, serial string, r IssueRequest) (IssuedClaim, error) {
	return s.Replace(ctx, p, serial, "", r)
}

// Replace decommissions a serial's device and issues a claim for the
// same serial, in one call, audited as one story (device.replaced names the
// old certificate and the new claim). The request is checked before anything
// changes; should the issuance then fail, the device stays decommissioned and
// the serial free, and repeating the call (or POST /claims) issues the claim.
//
// certificateID, when given, guards the decommission as in Decommission: a
// live device with another certificate answers 409 device_changed. With no
// live device and the newest history entry the one named, the replacement
// goes on to the issuance, as without the guard: that is how a repeat
// finishes a replacement whose issuance failed, or whose answer was lost
// (the caller's new claim supersedes their own open one, by IssueClaim's
// rule). Once the new unit has registered, the repeat answers 409
// device_changed instead of retiring it.
func (s *Service) Replace(ctx context.Context, p Principal, serial, certificateID string, r IssueRequest) (IssuedClaim, error) {
	r.Serial = serial
	if err := ValidateSerial(serial); err != nil {
		return IssuedClaim{}, err
	}
	if err := ValidateDeviceCertificateID(certificateID); err != nil {
		return IssuedClaim{}, err
	}
	if _, err := s.template(r.Template); err != nil {
		return IssuedClaim{}, err
	}
	if err := ValidateSite(r.Site); err != nil {
		return IssuedClaim{}, err
	}
	old, err := s.Decommission(ctx, p, serial, DecommissionRequest{Reason: ReasonReplaced, CertificateID: certificateID})
	if err != nil {
		return IssuedClaim{}, err
	}
	ic, err := s.IssueClaim(ctx, p, r)
	if err != nil {
		return IssuedClaim{}, err
	}
	s.audit(ctx, AuditEvent{TenantID: ic.Claim.TenantID, At: ic.Claim.IssuedAt, Actor: ic.Claim.InstallerID,
		Action: ActionDeviceReplaced, Subject: serial, Serial: serial,
		Detail: "old certificate " + old.CertificateID + ", new claim " + string(ic.Claim.ID)})
	return ic, nil
}

// mayDecommission: admins of the device's tenant always; an installer only
// their own device, and only where the tenant allows it.
func (a actor) mayDecommission(d Device) error {
	if a.admin {
		return nil
	}
	if !a.tenant.InstallersMayDecommission {
		return Forbidden(CodeForbidden, "Only an admin can decommission devices in this tenant.")
	}
	if d.InstallerID != a.ID {
		return Forbidden(CodeForbidden, "You can decommission only devices you provisioned.")
	}
	return nil
}

// quoteReason renders a free-text reason for an audit detail.
func quoteReason(r string) string {
	if r == "" {
		return "none given"
	}
	return fmt.Sprintf("%q", r)
}
