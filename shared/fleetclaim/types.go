package fleetclaim

import (
	"log/slog"
	"time"
)

// TenantID identifies a tenant: an organisation whose installers provision its devices.
type TenantID string

// InstallerID is an installer's Cognito user `sub`.
type InstallerID string

// ClaimID identifies a provisioning claim: the ID of the claim certificate that
// AWS IoT returned from CreateProvisioningClaim.
type ClaimID string

// InstallerStatus is where an installer stands in the lifecycle.
type InstallerStatus string

// Installer statuses.
const (
	InstallerPending   InstallerStatus = "pending"
	InstallerApproved  InstallerStatus = "approved"
	InstallerSuspended InstallerStatus = "suspended"
)

// TenantStatus says whether a tenant's installers may provision devices.
type TenantStatus string

// Tenant statuses.
const (
	TenantActive    TenantStatus = "active"
	TenantSuspended TenantStatus = "suspended"
)

// ClaimStatus is the life stage of a provisioning claim.
type ClaimStatus string

// Claim statuses. ClaimExpired is usually derived on read (see Claim.StatusAt):
// DynamoDB TTL deletes expired items late, by up to days.
const (
	ClaimIssued   ClaimStatus = "issued"
	ClaimConsumed ClaimStatus = "consumed"
	ClaimExpired  ClaimStatus = "expired"
	ClaimRevoked  ClaimStatus = "revoked"
	ClaimRejected ClaimStatus = "rejected"
)

// Reason is a stable code recorded on a claim when a registration is denied or
// the claim is revoked, so the installer app can say why.
type Reason string

// Denial and revocation reasons.
const (
	ReasonUnknownClaim         Reason = "claim_unknown"
	ReasonAlreadyUsed          Reason = "claim_already_used"
	ReasonRevoked              Reason = "claim_revoked"
	ReasonRejected             Reason = "claim_rejected"
	ReasonExpired              Reason = "claim_expired"
	ReasonSerialMismatch       Reason = "serial_mismatch"
	ReasonTemplateMismatch     Reason = "template_mismatch"
	ReasonInstallerNotApproved Reason = "installer_not_approved"
	ReasonTenantInactive       Reason = "tenant_inactive"
	ReasonStoreUnavailable     Reason = "store_unavailable"
	ReasonInvalidRequest       Reason = "invalid_request"
	ReasonRevokedByInstaller   Reason = "revoked_by_installer"
	ReasonRevokedByAdmin       Reason = "revoked_by_admin"
	// ReasonClaimSuperseded: the installer who held the open claim asked
	// for a new one for the same serial, which replaced it.
	ReasonClaimSuperseded Reason = "claim_superseded"
	// ReasonInstallerSuspended: the installer was suspended while the
	// claim was open.
	ReasonInstallerSuspended Reason = "installer_suspended"
	// ReasonSerialInUse: the consuming write lost because the serial has a
	// live device or the claim is no longer its serial's current claim.
	ReasonSerialInUse Reason = "serial_in_use"
)

// Cognito groups and OAuth scopes that carry privileges.
const (
	// GroupInstallers is no longer written or created: approval is the
	// installer record. Deployments from before may still have members, so
	// it stays among the groups stripped from unapproved users' tokens.
	GroupInstallers     = "installers"
	GroupAdmins         = "admins"
	GroupPlatformAdmins = "platform-admins"

	// ResourceServer is the Cognito resource server identifier; scopes are
	// "<ResourceServer>/<name>" as Cognito writes them into access tokens.
	ResourceServer = "fleetclaim"
	ScopeClaims    = ResourceServer + "/claims"
	ScopeAdmin     = ResourceServer + "/admin"
)

// PrivilegedGroups are stripped from the tokens of installers who are not approved.
var PrivilegedGroups = []string{GroupInstallers, GroupAdmins, GroupPlatformAdmins}

// Tenant audit actions, recorded in the trail of the tenant acted on.
const (
	ActionTenantCreated     = "tenant.created"
	ActionTenantUpdated     = "tenant.updated"
	ActionTenantSuspended   = "tenant.suspended"
	ActionTenantReactivated = "tenant.reactivated"
)

// ReasonTenantSuspended is recorded on the unused claims that a tenant's
// suspension revokes.
const ReasonTenantSuspended Reason = "tenant_suspended"

// Tenant is an organisation. Platform admins create and configure tenants
// (tenants.go); the deploy-time seed may write them too; admins manage their
// installers.
type Tenant struct {
	ID     TenantID
	Name   string
	Status TenantStatus
	// Revision counts the changes made through the API: CreateTenant writes
	// 1 and every later change adds one. 0 marks a record only the
	// deploy-time seed has written, which the seed may therefore rewrite
	// (TenantStore.PutTenant). It is also UpdateTenant's concurrency token.
	Revision int
	// AllowedTemplates, when not empty, are the deployment's provisioning
	// templates this tenant's installers may request; the first is their
	// default. Empty means every template the deployment offers.
	AllowedTemplates []string
	CreatedAt        time.Time // zero for a seeded tenant
	UpdatedAt        time.Time
	UpdatedBy        InstallerID // who made the last API change
	// AutoApproveDomains lists email domains whose verified addresses are
	// approved at confirmation, without an admin.
	AutoApproveDomains []string
	// ClaimsPerHour overrides the deployment's per-installer quota when > 0.
	ClaimsPerHour int
	// InstallersMayDecommission lets an installer decommission the devices
	// they provisioned; admins always may.
	InstallersMayDecommission bool
}

// Installer is a person who provisions devices for a tenant.
type Installer struct {
	ID        InstallerID
	Username  string // Cognito user name, needed for admin calls
	Email     string
	TenantID  TenantID
	Status    InstallerStatus
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy InstallerID // who last changed Status; empty for the system
}

// Claim is a provisioning claim bound to one installer, tenant, template and
// device serial (invariant 1). It never holds the private key.
type Claim struct {
	ID          ClaimID
	TenantID    TenantID
	InstallerID InstallerID
	Template    string
	Serial      string
	Site        string
	Status      ClaimStatus
	Reason      Reason
	IssuedAt    time.Time
	ExpiresAt   time.Time
	UpdatedAt   time.Time
	// RetainUntil is when the record may be deleted (the DynamoDB TTL). A
	// consumed claim is the device's record and is retained for good.
	RetainUntil time.Time
	// Device is set once the claim is consumed.
	Device *Device
}

// StatusAt is the claim's status as seen at now: an issued claim past its
// expiry is expired even if no write has said so yet.
func (c Claim) StatusAt(now time.Time) ClaimStatus {
	if c.Status == ClaimIssued && !now.Before(c.ExpiresAt) {
		return ClaimExpired
	}
	return c.Status
}

// DeviceState is where a device identity stands after the hook allowed it.
type DeviceState string

// Device states. A serial has at most one live (registered or online)
// device; decommissioned devices are its history.
const (
	DeviceRegistered     DeviceState = "registered"
	DeviceOnline         DeviceState = "online"
	DeviceDecommissioned DeviceState = "decommissioned"
)

// Device is a device provisioned through a claim.
type Device struct {
	TenantID      TenantID
	Serial        string
	ThingName     string
	CertificateID string // the device's own certificate, not the claim's
	InstallerID   InstallerID
	ClaimID       ClaimID
	Template      string
	Site          string
	ProvisionedAt time.Time
	State         DeviceState
	// OnlineAt is the first AWS IoT presence "connected" event of the
	// device's own certificate; zero until then.
	OnlineAt time.Time
	// LastConnectedAt is the latest presence "connected" event seen.
	LastConnectedAt    time.Time
	DecommissionedAt   time.Time
	DecommissionedBy   InstallerID
	DecommissionReason string
	// Overdue is derived on read, never stored: a registered device that
	// has not come online within the deployment's window (Service.OnlineWithin).
	Overdue bool `json:"-" dynamodbav:"-"`
}

// AuditEvent records one security-relevant action within a tenant.
type AuditEvent struct {
	TenantID TenantID
	ID       string // unique, sortable by time
	At       time.Time
	Actor    InstallerID // empty for the system or a device
	Action   string
	Subject  string // claim ID, installer ID or serial
	// Serial is the device serial the event concerns (claims, devices and
	// their certificates), so that "who touched this device" is one
	// filter; empty for installer and tenant events.
	Serial string
	Reason Reason
	Detail string
}

// Audit actions.
const (
	ActionClaimIssued            = "claim.issued"
	ActionClaimRevoked           = "claim.revoked"
	ActionDeviceProvisioned      = "device.provisioned"
	ActionProvisioningDenied     = "device.provisioning_denied"
	ActionInstallerRegistered    = "installer.registered"
	ActionInstallerApproved      = "installer.approved"
	ActionInstallerSuspended     = "installer.suspended"
	ActionInstallerReinstated    = "installer.reinstated"
	ActionDeviceOnline           = "device.online"
	ActionDeviceDecommissioned   = "device.decommissioned"
	ActionDeviceReplaced         = "device.replaced"
	ActionCertificateDeactivated = "certificate.deactivated"
)

// Secret holds key material. It prints and logs as "[redacted]"; only Reveal
// gives the value, and only the HTTP response for the installer calls it.
type Secret struct{ value string }

// NewSecret wraps key material.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.value }

// String hides the value from fmt.
func (s Secret) String() string { return "[redacted]" }

// GoString hides the value from %#v.
func (s Secret) GoString() string { return "[redacted]" }

// LogValue hides the value from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalJSON hides the value from encoding/json; responses reveal it explicitly.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// IssuedClaim is what the installer receives once: the claim and its credentials.
type IssuedClaim struct {
	Claim          Claim
	CertificatePEM string
	PrivateKey     Secret
	IoTEndpoint    string
}

// Page asks for one page of a listing.
type Page struct {
	Limit  int    // 1..MaxPageSize; 0 means DefaultPageSize
	Cursor string // opaque, from the previous page; "" for the first
}

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)
