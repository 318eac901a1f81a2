package apigw_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// Invariant 7: an installer or an admin of tenant A reaches none of tenant
// B's claims, devices, installers or audit events, by any route.
func TestTenantIsolationEveryRoute(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	const (
		acmeInstaller = "aaaaaaaa-0000-4000-8000-000000000001"
		acmeAdmin     = "aaaaaaaa-0000-4000-8000-000000000002"
		globexUser    = "bbbbbbbb-0000-4000-8000-000000000003"
	)
	globexClaim := fleetclaim.ClaimID(strings.Repeat("b1", 32))
	globexDevice := fleetclaim.ClaimID(strings.Repeat("b2", 32))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []fleetclaim.TenantID{"acme", "globex"} {
		must(s.PutTenant(ctx, fleetclaim.Tenant{ID: id, Name: string(id), Status: fleetclaim.TenantActive}))
	}
	for id, tenant := range map[string]fleetclaim.TenantID{acmeInstaller: "acme", acmeAdmin: "acme", globexUser: "globex"} {
		must(s.CreateInstaller(ctx, fleetclaim.Installer{ID: fleetclaim.InstallerID(id), Username: id, Email: id[:4] + "@x.example",
			TenantID: tenant, Status: fleetclaim.InstallerApproved, CreatedAt: now, UpdatedAt: now}))
	}
	for _, id := range []fleetclaim.ClaimID{globexClaim, globexDevice} {
		must(s.CreateClaim(ctx, fleetclaim.Claim{ID: id, TenantID: "globex", InstallerID: globexUser, Template: "tpl", Serial: "SN-GLOBEX-" + string(id[:2]),
			Status: fleetclaim.ClaimIssued, IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute), UpdatedAt: now}))
	}
	_, err = s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: globexDevice, IfStatus: fleetclaim.ClaimIssued, Status: fleetclaim.ClaimConsumed, At: now,
		Device: &fleetclaim.Device{TenantID: "globex", Serial: "SN-GLOBEX-b2", ThingName: "globex_SN-GLOBEX-b2", ClaimID: globexDevice,
			InstallerID: globexUser, ProvisionedAt: now}})
	must(err)
	must(s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: "globex", ID: "e1", At: now, Action: fleetclaim.ActionClaimIssued, Subject: string(globexClaim)}))

	h := app.Claims(config.Claims{DefaultTemplate: "tpl", AllowedTemplates: []string{"tpl"}, ClaimsPerHour: 100, ClaimRetention: time.Hour, UserPoolID: "pool"},
		app.Parts{Store: s, Minter: fakeMinter{now}, Log: logging.New(io.Discard, "error"), Now: func() time.Time { return now },
			Endpoint:  func(context.Context) (string, error) { return "iot.example", nil },
			GroupsFor: func(string) fleetclaim.GroupManager { return noGroups{} }})

	actors := map[string]map[string]any{
		"installer of acme": {"sub": acmeInstaller, "tenant_id": "acme", "cognito:groups": "installers", "scope": "fleetclaim/claims"},
		"admin of acme":     {"sub": acmeAdmin, "tenant_id": "acme", "cognito:groups": "installers,admins", "scope": "fleetclaim/claims fleetclaim/admin"},
	}
	// Every route, aimed at globex: by ID, or by naming the tenant.
	targets := map[string]struct {
		params map[string]string
		query  map[string]string
	}{
		"issueClaim":         {},
		"listClaims":         {query: map[string]string{"tenant": "globex"}},
		"getClaim":           {params: map[string]string{"id": string(globexClaim)}},
		"revokeClaim":        {params: map[string]string{"id": string(globexClaim)}},
		"listDevices":        {query: map[string]string{"tenant": "globex"}},
		"getDevice":          {params: map[string]string{"serial": "SN-GLOBEX-b2"}},
		"listInstallers":     {query: map[string]string{"tenant": "globex"}},
		"getInstaller":       {params: map[string]string{"id": globexUser}},
		"approveInstaller":   {params: map[string]string{"id": globexUser}},
		"suspendInstaller":   {params: map[string]string{"id": globexUser}},
		"reinstateInstaller": {params: map[string]string{"id": globexUser}},
		"listAuditEvents":    {query: map[string]string{"tenant": "globex"}},
	}
	for actor, claims := range actors {
		for _, r := range apigw.Routes {
			target, ok := targets[r.Operation]
			if !ok {
				t.Fatalf("route %s has no target in this test", r.Operation)
			}
			t.Run(actor+"/"+r.Operation, func(t *testing.T) {
				body := ""
				if r.Method == "POST" && r.Operation == "issueClaim" {
					// The serial of globex's device: a claim for it must not
					// be refused as "already provisioned", which would leak
					// that globex has it.
					body = `{"serialNumber":"SN-GLOBEX-b2"}`
				}
				resp, err := h.Handle(t.Context(), events.APIGatewayProxyRequest{Resource: r.Path, HTTPMethod: r.Method, Body: body,
					PathParameters: target.params, QueryStringParameters: target.query,
					RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": claims}}})
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(resp.Body, "globex") || strings.Contains(resp.Body, globexUser) || strings.Contains(resp.Body, string(globexClaim)) {
					t.Errorf("got %d %s: globex's data reached acme", resp.StatusCode, resp.Body)
				}
				switch {
				case r.Operation == "issueClaim":
					if resp.StatusCode != http.StatusCreated {
						t.Errorf("got %d %s, want 201: a serial of another tenant is no conflict here", resp.StatusCode, resp.Body)
					}
				case r.Operation == "listClaims":
					// Claims are listed per installer; the tenant parameter is ignored.
					if resp.StatusCode != http.StatusOK {
						t.Errorf("got %d, want 200 with only the caller's claims", resp.StatusCode)
					}
				case !slices.Contains([]int{http.StatusForbidden, http.StatusNotFound}, resp.StatusCode):
					t.Errorf("got %d %s, want 403 or 404", resp.StatusCode, resp.Body)
				}
			})
		}
	}
	// Nothing of globex changed.
	c, _ := s.GetClaim(ctx, globexClaim)
	in, _ := s.GetInstaller(ctx, globexUser)
	if c.Status != fleetclaim.ClaimIssued || in.Status != fleetclaim.InstallerApproved {
		t.Errorf("got globex claim %s and installer %s after acme's attempts, want them untouched", c.Status, in.Status)
	}
}
