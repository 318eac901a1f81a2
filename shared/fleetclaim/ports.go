package fleetclaim

import (
	"context"
	"time"
)

// The store ports. Each is small; Store gathers them for wiring. Every
// implementation passes the one contract suite in shared/storetest.
//
// Errors: ErrNotFound for a missing record, ErrConflict when a conditional
// write's condition does not hold, ErrInvalidCursor for a foreign cursor,
// ErrQuotaExhausted from TakeQuota; anything else is a fault (store down,
// deadline passed) and callers fail closed.

// ClaimStore keeps claims. A consumed claim is also its device's record.
//
// Each (tenant, serial) has at most one current claim: the one created last
// for it. Only the current claim changes, so the consuming write has one
// claim to hold to (invariant 9) and stays a single-item conditional write.
type ClaimStore interface {
	// CreateClaim records c and makes it its serial's current claim,
	// atomically, if the serial has no live device and its current claim is
	// `replaces` ("" = the serial has none yet) and that claim is not open
	// (issued and unexpired at c.IssuedAt). ErrConflict otherwise, or if
	// c.ID exists. A replaced claim keeps its last state, readable as long
	// as it is retained (RetainUntil; a consumed claim for good).
	CreateClaim(ctx context.Context, c Claim, replaces ClaimID) error
	// GetClaim reads a claim's latest state with strong consistency; a
	// consumed claim's Device shows its device's latest state.
	GetClaim(ctx context.Context, id ClaimID) (Claim, error)
	// UpdateClaim applies u atomically if its conditions hold and the claim
	// is its serial's current claim (ErrConflict otherwise), and returns the
	// claim as written. With a Device (Status consumed) the serial must also
	// have no live device, and the device becomes its live device, in state
	// DeviceRegistered, in the same atomic write (invariant 9).
	UpdateClaim(ctx context.Context, u ClaimUpdate) (Claim, error)
	// ListClaims lists an installer's claims in their latest states, newest
	// (by IssuedAt) first.
	ListClaims(ctx context.Context, installer InstallerID, p Page) ([]Claim, string, error)
}

// ClaimUpdate is one conditional change to one claim record: the unit of
// single-use enforcement (invariant 2).
type ClaimUpdate struct {
	ID ClaimID
	// IfStatus, when set, is the stored status the claim must have.
	IfStatus ClaimStatus
	// IfUnexpiredAt, when set, requires ExpiresAt to be after it.
	IfUnexpiredAt time.Time
	// Status, when set, is the new status.
	Status ClaimStatus
	// Reason, when set, replaces the recorded reason.
	Reason Reason
	// At is the time of the change (UpdatedAt).
	At time.Time
	// Device, when set (with Status consumed), records the provisioned
	// device on the claim and makes it the serial's live device (see
	// ClaimStore.UpdateClaim). The record is then retained for good (no TTL).
	Device *Device
}

// SerialState is one serial of a tenant: its current claim and its live device.
type SerialState struct {
	TenantID TenantID
	Serial   string
	Claim    *Claim  // current claim; nil if none was ever issued
	Device   *Device // live device; nil when the serial is free
}

// DeviceStore keeps device identities: each serial's live device (state
// registered or online) and its history of decommissioned ones.
type DeviceStore interface {
	// GetSerial reads a serial's current claim and live device with strong
	// consistency; the zero SerialState (no error) if none was ever issued.
	GetSerial(ctx context.Context, tenant TenantID, serial string) (SerialState, error)
	// GetDevice returns the serial's live device; ErrNotFound when it is free.
	GetDevice(ctx context.Context, tenant TenantID, serial string) (Device, error)
	// ListDevices lists a tenant's live devices ordered by serial.
	ListDevices(ctx context.Context, tenant TenantID, p Page) ([]Device, string, error)
	// MarkDeviceOnline records a presence "connected" of certificateID at
	// `at`: the first one moves registered → online (OnlineAt); every one
	// sets LastConnectedAt (never backwards). ErrNotFound: no live device;
	// ErrConflict: the live device has another certificate.
	MarkDeviceOnline(ctx context.Context, tenant TenantID, serial, certificateID string, at time.Time) (Device, error)
	// DecommissionDevice moves the live device with certificateID to the
	// serial's history (state decommissioned, with at, by and reason) and
	// frees the serial, atomically, and returns it as recorded. ErrNotFound:
	// no live device; ErrConflict: the live device has another certificate.
	// The serial's current claim stays current (a new claim replaces it).
	DecommissionDevice(ctx context.Context, tenant TenantID, serial, certificateID string, at time.Time, by InstallerID, reason string) (Device, error)
	// ListDeviceHistory lists the serial's decommissioned devices, newest
	// (by ProvisionedAt) first: a serial's devices follow one another, so
	// this is also the order in which they were decommissioned.
	ListDeviceHistory(ctx context.Context, tenant TenantID, serial string, p Page) ([]Device, string, error)
}

// InstallerStore keeps installer records.
type InstallerStore interface {
	// CreateInstaller records a new installer; ErrConflict if one exists.
	CreateInstaller(ctx context.Context, in Installer) error
	// GetInstaller reads an installer with strong consistency.
	GetInstaller(ctx context.Context, id InstallerID) (Installer, error)
	// SetInstallerStatus moves an installer to status `to` if its stored
	// status is one of `from`; ErrConflict otherwise.
	SetInstallerStatus(ctx context.Context, id InstallerID, from []InstallerStatus, to InstallerStatus, at time.Time, by InstallerID) (Installer, error)
	// ListInstallers lists a tenant's installers ordered by email.
	ListInstallers(ctx context.Context, tenant TenantID, p Page) ([]Installer, string, error)
}

// TenantStore keeps tenants.
type TenantStore interface {
	// GetTenant reads a tenant with strong consistency.
	GetTenant(ctx context.Context, id TenantID) (Tenant, error)
	// PutTenant writes the deploy-time seed's version of a tenant: it
	// creates t, or replaces the stored tenant while that one's Revision is
	// 0 (no change through the API since); ErrConflict once the API has
	// changed it, so a redeploy never undoes a platform admin's change.
	// t.Revision must be 0.
	PutTenant(ctx context.Context, t Tenant) error
	// CreateTenant records a new tenant; ErrConflict if its ID exists.
	// t.Revision must be at least 1.
	CreateTenant(ctx context.Context, t Tenant) error
	// ListTenants lists every tenant ordered by ID.
	ListTenants(ctx context.Context, p Page) ([]Tenant, string, error)
	// UpdateTenant replaces the stored tenant's settings (Name,
	// AutoApproveDomains, ClaimsPerHour, AllowedTemplates,
	// InstallersMayDecommission) and UpdatedAt and UpdatedBy with t's, if
	// the stored Revision is ifRevision, and writes Revision ifRevision+1;
	// Status and CreatedAt stay. ErrConflict for another revision.
	UpdateTenant(ctx context.Context, t Tenant, ifRevision int) (Tenant, error)
	// SetTenantStatus moves a tenant from status `from` to `to`, adding one
	// to its Revision; ErrConflict if its status is not `from`.
	SetTenantStatus(ctx context.Context, id TenantID, from, to TenantStatus, at time.Time, by InstallerID) (Tenant, error)
}

// QuotaStore counts uses within fixed windows.
type QuotaStore interface {
	// TakeQuota consumes one use of key within the window ending at
	// windowEnd, allowing at most limit; ErrQuotaExhausted past it.
	// Concurrent callers never exceed limit.
	TakeQuota(ctx context.Context, key string, windowEnd time.Time, limit int) error
}

// AuditStore keeps a tenant's audit trail.
type AuditStore interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit lists a tenant's events that pass f (AuditFilter.Matches),
	// newest first. Paging holds with a filter as without: a page is short
	// only when it is the last, however few events match, and a cursor
	// continues only a listing with the same filter (ErrInvalidCursor
	// otherwise).
	ListAudit(ctx context.Context, tenant TenantID, f AuditFilter, p Page) ([]AuditEvent, string, error)
}

// Store is every store port; both adapters implement it.
type Store interface {
	ClaimStore
	DeviceStore
	InstallerStore
	TenantStore
	QuotaStore
	AuditStore
}

// MintedClaim is what AWS IoT CreateProvisioningClaim returns.
type MintedClaim struct {
	CertificateID  string
	CertificatePEM string
	PrivateKey     Secret
	Expiration     time.Time
}

// ClaimMinter creates claim certificates (AWS IoT CreateProvisioningClaim).
// Throttling is reported as ErrThrottled (wrapped).
type ClaimMinter interface {
	CreateProvisioningClaim(ctx context.Context, template string) (MintedClaim, error)
}

// GroupManager reaches a user in the Cognito user pool. It changes no group:
// group membership is the operator's (admins, platform-admins).
type GroupManager interface {
	// SignOutEverywhere revokes the user's refresh tokens; ErrNotFound
	// (wrapped) when the user no longer exists.
	SignOutEverywhere(ctx context.Context, username string) error
	// UserExists reports whether the user is still in the pool; an error
	// when Cognito cannot tell.
	UserExists(ctx context.Context, username string) (bool, error)
}

// CertificateRevoker deactivates certificates in AWS IoT (UpdateCertificate
// newStatus INACTIVE; AWS IoT then refuses new connections and drops open
// ones) and detaches them from things (DetachThingPrincipal). Both are
// idempotent: already inactive, already detached or not found is nil.
type CertificateRevoker interface {
	DeactivateCertificate(ctx context.Context, certificateID string) error
	DetachCertificate(ctx context.Context, thingName, certificateID string) error
}
