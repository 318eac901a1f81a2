package apigw_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Invariant 7: an installer or an admin of acme reaches none of globex's
// claims, devices, installers, audit events or tenant record, by any route,
// and changes none of them; the tenant routes do not even tell them that
// globex exists.
func TestTenantIsolationEveryRoute(t *testing.T) {
	// Every route, aimed at globex: by ID, or by naming the tenant.
	targets := map[string]struct {
		params map[string]string
		query  map[string]string
		body   string
	}{
		// The serial of globex's device: a claim for it must not be refused
		// as "already provisioned", which would tell acme that globex has it.
		"issueClaim":         {body: `{"serialNumber":"` + globexDevice + `"}`},
		"listClaims":         {query: map[string]string{"tenant": "globex"}},
		"getClaim":           {params: map[string]string{"id": globexClaim}},
		"revokeClaim":        {params: map[string]string{"id": globexClaim}},
		"listDevices":        {query: map[string]string{"tenant": "globex"}},
		"getDevice":          {params: map[string]string{"serial": globexDevice}},
		"decommissionDevice": {params: map[string]string{"serial": globexDevice}},
		"replaceDevice":      {params: map[string]string{"serial": globexDevice}, body: `{}`},
		"listDeviceHistory":  {params: map[string]string{"serial": globexDevice}},
		"listInstallers":     {query: map[string]string{"tenant": "globex"}},
		"getInstaller":       {params: map[string]string{"id": globexSub}},
		"approveInstaller":   {params: map[string]string{"id": globexSub}},
		"suspendInstaller":   {params: map[string]string{"id": globexSub}},
		"reinstateInstaller": {params: map[string]string{"id": globexSub}},
		"listAuditEvents":    {query: map[string]string{"tenant": "globex"}},
		// Refused as for any tenant admin, not as "exists already".
		"createTenant":     {body: `{"tenantId":"globex","name":"Globex"}`},
		"listTenants":      {query: map[string]string{"tenant": "globex"}},
		"getTenant":        {params: map[string]string{"id": "globex"}},
		"updateTenant":     {params: map[string]string{"id": "globex"}, body: `{"revision":0,"name":"Acme's now"}`},
		"suspendTenant":    {params: map[string]string{"id": "globex"}},
		"reactivateTenant": {params: map[string]string{"id": "globex"}},
	}
	actors := []struct {
		name  string
		token func() map[string]any
	}{
		{"installer of acme", asInstaller},
		{"admin of acme", asAdmin},
	}
	for _, actor := range actors {
		for _, r := range apigw.Routes {
			target, ok := targets[r.Operation]
			if !ok {
				t.Fatalf("route %s has no target in this test", r.Operation)
			}
			t.Run(actor.name+"/"+r.Operation, func(t *testing.T) {
				w := newWorld(t)
				req := request(r.Method, r.Path, target.params, actor.token())
				req.QueryStringParameters = target.query
				req.Body = target.body
				resp := w.handle(req)
				if strings.Contains(resp.Body, "globex") || strings.Contains(resp.Body, globexSub) || strings.Contains(resp.Body, globexClaim) {
					t.Errorf("got %d %s: globex's data reached acme", resp.StatusCode, resp.Body)
				}
				switch {
				case r.Operation == "issueClaim":
					if resp.StatusCode != http.StatusCreated {
						t.Errorf("got %d %s, want 201: a serial of another tenant is no conflict here", resp.StatusCode, resp.Body)
					}
				case r.Operation == "listTenants" && actor.name == "admin of acme":
					// A tenant admin's listing holds their own tenant only.
					if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"tenantId":"acme"`) {
						t.Errorf("got %d %s, want 200 with acme only", resp.StatusCode, resp.Body)
					}
				case r.Operation == "listClaims":
					// Claims are listed per installer; the tenant parameter is not read.
					if resp.StatusCode != http.StatusOK {
						t.Errorf("got %d %s, want 200 with the caller's claims only", resp.StatusCode, resp.Body)
					}
				case !slices.Contains([]int{http.StatusForbidden, http.StatusNotFound}, resp.StatusCode):
					t.Errorf("got %d %s, want 403 or 404", resp.StatusCode, resp.Body)
				}
				assertGlobexUntouched(t, w)
			})
		}
	}
}

// assertGlobexUntouched fails if globex's claim, device or installer changed.
func assertGlobexUntouched(t *testing.T, w *world) {
	t.Helper()
	d, err := w.store.GetDevice(t.Context(), "globex", globexDevice)
	if err != nil || d.State == fleetclaim.DeviceDecommissioned {
		t.Errorf("got globex's device %q (%v), want it live and untouched", d.State, err)
	}
	if calls := w.revoker.Calls(); len(calls) != 0 {
		t.Errorf("got AWS IoT calls %v, want none", calls)
	}
	c, err := w.store.GetClaim(t.Context(), fleetclaim.ClaimID(globexClaim))
	if err != nil || c.Status != fleetclaim.ClaimIssued || c.Reason != "" {
		t.Errorf("got globex's claim %s %q (%v), want it issued and untouched", c.Status, c.Reason, err)
	}
	in, err := w.store.GetInstaller(t.Context(), globexSub)
	if err != nil || in.Status != fleetclaim.InstallerApproved || in.UpdatedBy != "" {
		t.Errorf("got globex's installer %s by %q (%v), want it approved and untouched", in.Status, in.UpdatedBy, err)
	}
	if tn, err := w.store.GetTenant(t.Context(), "globex"); err != nil || tn.Revision != 0 || tn.Status != fleetclaim.TenantActive || tn.Name != "Globex" {
		t.Errorf("got globex's tenant %+v (%v), want it untouched", tn, err)
	}
	if calls := w.groups.Calls(); slices.ContainsFunc(calls, func(c string) bool { return strings.Contains(c, globexSub) }) {
		t.Errorf("got Cognito calls %v about globex's installer", calls)
	}
}

// A platform admin may name any tenant; that is the one way across.
func TestPlatformAdminNamesTenant(t *testing.T) {
	tests := []struct {
		name       string
		token      func() map[string]any
		wantStatus int
	}{
		{"platform admin", asOperator, http.StatusOK},
		{"tenant admin", asAdmin, http.StatusNotFound},
		{"platform-admins group with a claims-only token", func() map[string]any {
			c := asOperator()
			c["scope"] = scopeClaims
			return c
		}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			req := request("GET", "/installers", nil, tt.token())
			req.QueryStringParameters = map[string]string{"tenant": "globex"}
			resp := w.handle(req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			if got := strings.Contains(resp.Body, globexSub); got != (tt.wantStatus == http.StatusOK) {
				t.Errorf("got globex's installer listed %v: %s", got, resp.Body)
			}
		})
	}
}
