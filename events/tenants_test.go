package events_test

import (
	"maps"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// The tenant administration fixtures. Their tokens are the admin's: in the
// admins group (a tenant admin of acme) or in platform-admins.
var tenantCases = map[string]claimsCase{
	"create-tenant": {status: 201, body: map[string]any{"tenantId": "initech", "name": "Initech", "status": "active",
		"revision": float64(1), "claimsPerHour": float64(30), "updatedBy": admin, "createdAt": "2026-11-23T10:00:00Z"},
		after: func(t *testing.T, w *world, _ map[string]any) {
			tn, err := w.store.GetTenant(t.Context(), "initech")
			if err != nil || tn.Status != fleetclaim.TenantActive || len(tn.AutoApproveDomains) != 1 || tn.AutoApproveDomains[0] != "initech.example" {
				t.Errorf("got tenant %+v (%v), want initech active, auto-approving initech.example", tn, err)
			}
			wantAudit(t, w, "initech", fleetclaim.ActionTenantCreated, "initech")
		}},
	"create-tenant-public-mail-domain": {status: 400, code: "public_mail_domain", field: "autoApproveDomains",
		after: func(t *testing.T, w *world, _ map[string]any) { wantNoTenant(t, w, "initech") }},
	"list-tenants":            {status: 200, listed: 2},
	"get-tenant-other-tenant": {status: 404, code: "not_found"},
	"update-tenant": {status: 200, body: map[string]any{"tenantId": "globex", "revision": float64(1),
		"installersMayDecommission": true},
		after: func(t *testing.T, w *world, _ map[string]any) {
			if tn, err := w.store.GetTenant(t.Context(), "globex"); err != nil || !tn.InstallersMayDecommission ||
				len(tn.AutoApproveDomains) != 1 || tn.AutoApproveDomains[0] != "globex.example" {
				t.Errorf("got tenant %+v (%v), want globex.example auto-approved and installers allowed to decommission", tn, err)
			}
			wantAudit(t, w, "globex", fleetclaim.ActionTenantUpdated, "globex")
		}},
	"update-tenant-domains-by-tenant-admin": {status: 403, code: "forbidden",
		after: func(t *testing.T, w *world, _ map[string]any) { wantTenantRevision(t, w, "acme", 0) }},
	"update-tenant-stale-revision": {status: 409, code: "revision_conflict",
		after: func(t *testing.T, w *world, _ map[string]any) { wantTenantRevision(t, w, "acme", 0) }},
	"suspend-tenant": {status: 200, body: map[string]any{"tenantId": "globex", "status": "suspended", "revision": float64(1)},
		after: func(t *testing.T, w *world, _ map[string]any) {
			if c, err := w.store.GetClaim(t.Context(), foreignClaim); err != nil || c.Status != fleetclaim.ClaimRevoked || c.Reason != fleetclaim.ReasonTenantSuspended {
				t.Errorf("got globex's unused claim %s %s (%v), want revoked tenant_suspended", c.Status, c.Reason, err)
			}
			wantAudit(t, w, "globex", fleetclaim.ActionTenantSuspended, "globex")
			wantAudit(t, w, "globex", fleetclaim.ActionClaimRevoked, string(foreignClaim))
		}},
	"reactivate-tenant": {
		before: func(t *testing.T, w *world, h *apigw.Handler, req events.APIGatewayProxyRequest) {
			req.Resource = "/tenants/{id}/suspend"
			if resp, err := h.Handle(t.Context(), req); err != nil || resp.StatusCode != 200 {
				t.Fatalf("suspend first: got %d %s (%v)", resp.StatusCode, resp.Body, err)
			}
		},
		status: 200, body: map[string]any{"tenantId": "globex", "status": "active", "revision": float64(2)},
		after: func(t *testing.T, w *world, _ map[string]any) {
			if c, err := w.store.GetClaim(t.Context(), foreignClaim); err != nil || c.Status != fleetclaim.ClaimRevoked {
				t.Errorf("got globex's claim %s (%v), want it still revoked: reactivation restores nothing", c.Status, err)
			}
			wantAudit(t, w, "globex", fleetclaim.ActionTenantReactivated, "globex")
		}},
}

func init() { maps.Copy(claimsCases, tenantCases) }

func wantNoTenant(t *testing.T, w *world, id fleetclaim.TenantID) {
	t.Helper()
	if tn, err := w.store.GetTenant(t.Context(), id); err == nil {
		t.Errorf("got tenant %+v, want none", tn)
	}
}

func wantTenantRevision(t *testing.T, w *world, id fleetclaim.TenantID, revision int) {
	t.Helper()
	if tn, err := w.store.GetTenant(t.Context(), id); err != nil || tn.Revision != revision {
		t.Errorf("got tenant %s at revision %d (%v), want %d: unchanged", id, tn.Revision, err, revision)
	}
}
