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
type ClaimStore interface {
	// CreateClaim records a new claim; ErrConflict if its ID exists.
	CreateClaim(ctx context.Context, c Claim) error
	// GetClaim reads a claim with strong consistency.
	GetClaim(ctx context.Context, id ClaimID) (Claim, error)
	// UpdateClaim applies u atomically if its conditions hold and returns
	// the claim as written.
	UpdateClaim(ctx context.Context, u ClaimUpdate) (Claim, error)
	// ListClaims lists an installer's claims, newest first.
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
	// device on the claim and makes it visible through DeviceStore. The
	// record is then retained for good (no TTL).
	Device *Device
}

// DeviceStore reads provisioned devices.
type DeviceStore interface {
	// GetDevice returns the most recent provisioning of serial in tenant.
	GetDevice(ctx context.Context, tenant TenantID, serial string) (Device, error)
	// ListDevices lists a tenant's devices ordered by serial.
	ListDevices(ctx context.Context, tenant TenantID, p Page) ([]Device, string, error)
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
	// ListAudit lists a tenant's events, newest first.
	ListAudit(ctx context.Context, tenant TenantID, p Page) ([]AuditEvent, string, error)
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

// GroupManager changes Cognito group membership and sessions for a user.
type GroupManager interface {
	AddUserToGroup(ctx context.Context, username, group string) error
	RemoveUserFromGroup(ctx context.Context, username, group string) error
	// SignOutEverywhere revokes the user's refresh tokens.
	SignOutEverywhere(ctx context.Context, username string) error
}
