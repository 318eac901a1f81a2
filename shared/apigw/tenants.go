package apigw

import (
	"context"
	"net/http"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// TenantService is tenant administration, for platform admins and, on
// their own tenant, tenant admins (fleetclaim/tenants.go).
type TenantService interface {
	CreateTenant(ctx context.Context, p fleetclaim.Principal, r fleetclaim.NewTenantRequest) (fleetclaim.Tenant, error)
	ListTenants(ctx context.Context, p fleetclaim.Principal, pg fleetclaim.Page) ([]fleetclaim.Tenant, string, error)
	GetTenant(ctx context.Context, p fleetclaim.Principal, id fleetclaim.TenantID) (fleetclaim.Tenant, error)
	UpdateTenant(ctx context.Context, p fleetclaim.Principal, id fleetclaim.TenantID, c fleetclaim.TenantChange) (fleetclaim.Tenant, error)
	SuspendTenant(ctx context.Context, p fleetclaim.Principal, id fleetclaim.TenantID) (fleetclaim.Tenant, error)
	ReactivateTenant(ctx context.Context, p fleetclaim.Principal, id fleetclaim.TenantID) (fleetclaim.Tenant, error)
}

// createTenantBody is POST /tenants. The settings are pointers so that an
// absent member reads as "not given", not as its zero value.
type createTenantBody struct {
	TenantID                  string    `json:"tenantId"`
	Name                      *string   `json:"name"`
	AutoApproveDomains        *[]string `json:"autoApproveDomains,omitempty"`
	ClaimsPerHour             *int      `json:"claimsPerHour,omitempty"`
	AllowedTemplates          *[]string `json:"allowedTemplates,omitempty"`
	InstallersMayDecommission *bool     `json:"installersMayDecommission,omitempty"`
}

// updateTenantBody is PATCH /tenants/{id}: the revision the caller read,
// and the settings to change.
type updateTenantBody struct {
	Revision                  *int      `json:"revision"`
	Name                      *string   `json:"name,omitempty"`
	AutoApproveDomains        *[]string `json:"autoApproveDomains,omitempty"`
	ClaimsPerHour             *int      `json:"claimsPerHour,omitempty"`
	AllowedTemplates          *[]string `json:"allowedTemplates,omitempty"`
	InstallersMayDecommission *bool     `json:"installersMayDecommission,omitempty"`
}

type tenantView struct {
	TenantID                  string     `json:"tenantId"`
	Name                      string     `json:"name"`
	Status                    string     `json:"status"`
	Revision                  int        `json:"revision"`
	AutoApproveDomains        []string   `json:"autoApproveDomains"`
	ClaimsPerHour             int        `json:"claimsPerHour"`
	AllowedTemplates          []string   `json:"allowedTemplates"`
	InstallersMayDecommission bool       `json:"installersMayDecommission"`
	CreatedAt                 *time.Time `json:"createdAt,omitempty"`
	UpdatedAt                 *time.Time `json:"updatedAt,omitempty"`
	UpdatedBy                 string     `json:"updatedBy,omitempty"`
}

func viewTenant(t fleetclaim.Tenant) tenantView {
	v := tenantView{TenantID: string(t.ID), Name: t.Name, Status: string(t.Status), Revision: t.Revision,
		AutoApproveDomains: t.AutoApproveDomains, ClaimsPerHour: t.ClaimsPerHour, AllowedTemplates: t.AllowedTemplates,
		InstallersMayDecommission: t.InstallersMayDecommission, UpdatedBy: string(t.UpdatedBy)}
	if v.AutoApproveDomains == nil {
		v.AutoApproveDomains = []string{}
	}
	if v.AllowedTemplates == nil {
		v.AllowedTemplates = []string{}
	}
	// A seeded tenant has no times until the API changes it.
	if !t.CreatedAt.IsZero() {
		v.CreatedAt = &t.CreatedAt
	}
	if !t.UpdatedAt.IsZero() {
		v.UpdatedAt = &t.UpdatedAt
	}
	return v
}

func tenantIDOf(r request) fleetclaim.TenantID { return fleetclaim.TenantID(r.PathParameters["id"]) }

func (h *Handler) createTenant(ctx context.Context, r request) (int, any, error) {
	var body createTenantBody
	if err := decodeBody(r, &body); err != nil {
		return 0, nil, err
	}
	t, err := h.Service.CreateTenant(ctx, r.principal, fleetclaim.NewTenantRequest{ID: fleetclaim.TenantID(body.TenantID),
		TenantSettings: fleetclaim.TenantSettings{Name: body.Name, AutoApproveDomains: body.AutoApproveDomains,
			ClaimsPerHour: body.ClaimsPerHour, AllowedTemplates: body.AllowedTemplates,
			InstallersMayDecommission: body.InstallersMayDecommission}})
	return http.StatusCreated, viewTenant(t), err
}

func (h *Handler) listTenants(ctx context.Context, r request) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ts, next, err := h.Service.ListTenants(ctx, r.principal, pg)
	return http.StatusOK, viewList(ts, next, viewTenant), err
}

func (h *Handler) getTenant(ctx context.Context, r request) (int, any, error) {
	t, err := h.Service.GetTenant(ctx, r.principal, tenantIDOf(r))
	return http.StatusOK, viewTenant(t), asParameter(err, "tenantId", "id")
}

func (h *Handler) updateTenant(ctx context.Context, r request) (int, any, error) {
	var body updateTenantBody
	if err := decodeBody(r, &body); err != nil {
		return 0, nil, err
	}
	if body.Revision == nil {
		return 0, nil, fleetclaim.Invalid("revision", "is required: the revision of the tenant as you read it")
	}
	t, err := h.Service.UpdateTenant(ctx, r.principal, tenantIDOf(r), fleetclaim.TenantChange{Revision: *body.Revision,
		TenantSettings: fleetclaim.TenantSettings{Name: body.Name, AutoApproveDomains: body.AutoApproveDomains,
			ClaimsPerHour: body.ClaimsPerHour, AllowedTemplates: body.AllowedTemplates,
			InstallersMayDecommission: body.InstallersMayDecommission}})
	return http.StatusOK, viewTenant(t), asParameter(err, "tenantId", "id")
}

func (h *Handler) suspendTenant(ctx context.Context, r request) (int, any, error) {
	t, err := h.Service.SuspendTenant(ctx, r.principal, tenantIDOf(r))
	return http.StatusOK, viewTenant(t), asParameter(err, "tenantId", "id")
}

func (h *Handler) reactivateTenant(ctx context.Context, r request) (int, any, error) {
	t, err := h.Service.ReactivateTenant(ctx, r.principal, tenantIDOf(r))
	return http.StatusOK, viewTenant(t), asParameter(err, "tenantId", "id")
}
