package apigw

import (
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// The JSON shapes of the API, as published in openapi.yaml.

type issueClaimBody struct {
	SerialNumber string `json:"serialNumber"`
	Template     string `json:"template,omitempty"`
	Site         string `json:"site,omitempty"`
}

// replaceDeviceBody is POST /devices/{serial}/replace: POST /claims's body
// without the serial, which the path names, and with the certificate of
// the device meant, optionally.
type replaceDeviceBody struct {
	Template      string `json:"template,omitempty"`
	Site          string `json:"site,omitempty"`
	CertificateID string `json:"certificateId,omitempty"`
}

type decommissionBody struct {
	Reason        string `json:"reason,omitempty"`
	CertificateID string `json:"certificateId,omitempty"`
}

type claimView struct {
	ClaimID      string      `json:"claimId"`
	Status       string      `json:"status"`
	Reason       string      `json:"reason,omitempty"`
	SerialNumber string      `json:"serialNumber"`
	ThingName    string      `json:"thingName"`
	TemplateName string      `json:"templateName"`
	Site         string      `json:"site,omitempty"`
	TenantID     string      `json:"tenantId"`
	InstallerID  string      `json:"installerId"`
	IssuedAt     time.Time   `json:"issuedAt"`
	ExpiresAt    time.Time   `json:"expiresAt"`
	UpdatedAt    time.Time   `json:"updatedAt"`
	Device       *deviceView `json:"device,omitempty"`
}

// issuedClaimView is the one response that carries the private key.
type issuedClaimView struct {
	claimView
	CertificatePEM string `json:"certificatePem"`
	PrivateKey     string `json:"privateKey"`
	IoTEndpoint    string `json:"iotEndpoint"`
}

type deviceView struct {
	SerialNumber  string    `json:"serialNumber"`
	ThingName     string    `json:"thingName"`
	CertificateID string    `json:"certificateId"`
	TenantID      string    `json:"tenantId"`
	InstallerID   string    `json:"installerId"`
	ClaimID       string    `json:"claimId"`
	TemplateName  string    `json:"templateName"`
	Site          string    `json:"site,omitempty"`
	ProvisionedAt time.Time `json:"provisionedAt"`
	// State is registered, online or decommissioned; Overdue, derived on
	// read, says a registered device has not come online in time.
	State              string    `json:"state"`
	Overdue            bool      `json:"overdue"`
	OnlineAt           time.Time `json:"onlineAt,omitzero"`
	LastConnectedAt    time.Time `json:"lastConnectedAt,omitzero"`
	DecommissionedAt   time.Time `json:"decommissionedAt,omitzero"`
	DecommissionedBy   string    `json:"decommissionedBy,omitempty"`
	DecommissionReason string    `json:"decommissionReason,omitempty"`
}

type installerView struct {
	InstallerID string    `json:"installerId"`
	Username    string    `json:"username"`
	Email       string    `json:"email"`
	TenantID    string    `json:"tenantId"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	UpdatedBy   string    `json:"updatedBy,omitempty"`
}

type auditView struct {
	EventID  string    `json:"eventId"`
	TenantID string    `json:"tenantId"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor,omitempty"`
	Action   string    `json:"action"`
	Subject  string    `json:"subject"`
	Serial   string    `json:"serial,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

type listView[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func viewClaim(c fleetclaim.Claim) claimView {
	v := claimView{
		ClaimID: string(c.ID), Status: string(c.Status), Reason: string(c.Reason),
		SerialNumber: c.Serial, ThingName: fleetclaim.ThingName(c.TenantID, c.Serial),
		TemplateName: c.Template, Site: c.Site, TenantID: string(c.TenantID), InstallerID: string(c.InstallerID),
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, UpdatedAt: c.UpdatedAt,
	}
	if c.Device != nil {
		d := viewDevice(*c.Device)
		v.Device = &d
	}
	return v
}

func viewDevice(d fleetclaim.Device) deviceView {
	return deviceView{SerialNumber: d.Serial, ThingName: d.ThingName, CertificateID: d.CertificateID,
		TenantID: string(d.TenantID), InstallerID: string(d.InstallerID), ClaimID: string(d.ClaimID),
		TemplateName: d.Template, Site: d.Site, ProvisionedAt: d.ProvisionedAt,
		State: string(d.State), Overdue: d.Overdue, OnlineAt: d.OnlineAt, LastConnectedAt: d.LastConnectedAt,
		DecommissionedAt: d.DecommissionedAt, DecommissionedBy: string(d.DecommissionedBy), DecommissionReason: d.DecommissionReason}
}

func viewInstaller(in fleetclaim.Installer) installerView {
	return installerView{InstallerID: string(in.ID), Username: in.Username, Email: in.Email,
		TenantID: string(in.TenantID), Status: string(in.Status), CreatedAt: in.CreatedAt,
		UpdatedAt: in.UpdatedAt, UpdatedBy: string(in.UpdatedBy)}
}

func viewAudit(e fleetclaim.AuditEvent) auditView {
	return auditView{EventID: e.ID, TenantID: string(e.TenantID), At: e.At, Actor: string(e.Actor),
		Action: e.Action, Subject: e.Subject, Serial: e.Serial, Reason: string(e.Reason), Detail: e.Detail}
}

func viewList[S, T any](items []S, next string, view func(S) T) listView[T] {
	out := listView[T]{Items: make([]T, 0, len(items)), NextCursor: next}
	for _, it := range items {
		out.Items = append(out.Items, view(it))
	}
	return out
}
