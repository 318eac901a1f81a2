package events_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// present stands for any value of a member the answer must have.
const present = "<present>"

// claimsCase is what one claims fixture must produce.
type claimsCase struct {
	config func(*config.Claims)
	// before runs first, with the fixture's own event, to set the scene.
	before func(t *testing.T, w *world, h *apigw.Handler, req events.APIGatewayProxyRequest)
	status int
	// code, field and retryAfter describe a problem answer.
	code       string
	field      string
	retryAfter string
	// body holds members the answer must have, with their values.
	body map[string]any
	// listed is how many items a listing answers; 0 for other answers
	// (no fixture lists nothing).
	listed int
	// after checks the state the call left behind.
	after func(t *testing.T, w *world, body map[string]any)
}

var claimsCases = map[string]claimsCase{
	"issue-claim": {status: 201, body: map[string]any{
		"claimId": present, "status": "issued", "serialNumber": "SN-0100", "site": "Depot 4, bay 2", "tenantId": "acme",
		"installerId": installer, "templateName": template, "thingName": "acme_SN-0100", "certificatePem": present,
		"privateKey": present, "iotEndpoint": endpoint, "issuedAt": "2026-11-23T10:00:00Z", "expiresAt": "2026-11-23T10:05:00Z"},
		after: func(t *testing.T, w *world, body map[string]any) {
			c, err := w.store.GetClaim(t.Context(), fleetclaim.ClaimID(body["claimId"].(string)))
			if err != nil || c.TenantID != "acme" || c.InstallerID != installer || c.Serial != "SN-0100" || c.Template != template || c.Status != fleetclaim.ClaimIssued {
				t.Errorf("got claim %+v (%v), want it recorded issued and bound to acme, the installer, SN-0100 and %s", c, err, template)
			}
			wantAudit(t, w, "acme", fleetclaim.ActionClaimIssued, body["claimId"].(string))
		}},
	"issue-claim-tenant-header-ignored": {status: 201, body: map[string]any{"tenantId": "acme", "thingName": "acme_SN-0101"},
		after: func(t *testing.T, w *world, body map[string]any) {
			if c, err := w.store.GetClaim(t.Context(), fleetclaim.ClaimID(body["claimId"].(string))); err != nil || c.TenantID != "acme" {
				t.Errorf("got claim in %q (%v), want acme: the tenant comes from the token only", c.TenantID, err)
			}
		}},
	"issue-claim-unknown-field":       {status: 400, code: "invalid_json", field: "tenantId", after: nothingMinted},
	"issue-claim-bad-serial":          {status: 400, code: "invalid_request", field: "serialNumber", after: nothingMinted},
	"issue-claim-suspended-installer": {status: 403, code: "installer_not_approved", after: nothingMinted},
	"issue-claim-already-provisioned": {status: 409, code: "device_already_provisioned", after: nothingMinted},
	"issue-claim-quota-exceeded": {
		config: func(c *config.Claims) { c.ClaimsPerHour = 1 },
		before: func(t *testing.T, w *world, h *apigw.Handler, req events.APIGatewayProxyRequest) {
			req.Body = `{"serialNumber": "SN-0099"}`
			if resp, err := h.Handle(t.Context(), req); err != nil || resp.StatusCode != 201 {
				t.Fatalf("first claim of the hour: got %d %s (%v), want 201", resp.StatusCode, resp.Body, err)
			}
		},
		// The window is the clock hour: at 10:00:00 the next starts in an hour.
		status: 429, code: "quota_exceeded", retryAfter: "3600",
		after: func(t *testing.T, w *world, _ map[string]any) {
			if n := w.minter.Calls(); n != 1 {
				t.Errorf("got %d claims minted, want only the first", n)
			}
		}},
	"get-claim": {status: 200, body: map[string]any{"claimId": string(issuedClaim), "status": "issued", "serialNumber": "SN-0001",
		"thingName": "acme_SN-0001", "expiresAt": "2026-11-23T10:04:00Z"}},
	"get-claim-rejected": {status: 200, body: map[string]any{"claimId": string(rejectedClaim), "status": "rejected",
		"reason": "serial_mismatch"}},
	"get-claim-other-tenant": {status: 404, code: "not_found"},
	"list-claims":            {status: 200, listed: 5},
	"revoke-claim": {status: 200, body: map[string]any{"status": "revoked", "reason": "revoked_by_installer"},
		after: func(t *testing.T, w *world, _ map[string]any) {
			if c, err := w.store.GetClaim(t.Context(), issuedClaim); err != nil || c.Status != fleetclaim.ClaimRevoked {
				t.Errorf("got claim %s (%v), want it revoked", c.Status, err)
			}
			wantAudit(t, w, "acme", fleetclaim.ActionClaimRevoked, string(issuedClaim))
		}},
	"revoke-consumed-claim": {status: 409, code: "claim_not_usable",
		after: func(t *testing.T, w *world, _ map[string]any) {
			if c, err := w.store.GetClaim(t.Context(), consumedClaim); err != nil || c.Status != fleetclaim.ClaimConsumed || c.Device == nil {
				t.Errorf("got claim %s (%v), want it consumed with its device", c.Status, err)
			}
		}},
	"list-devices":              {status: 200, listed: 1},
	"list-devices-other-tenant": {status: 404, code: "not_found"},
	"get-device": {status: 200, body: map[string]any{"serialNumber": "SN-0042", "thingName": "acme_SN-0042",
		"certificateId": deviceCertificate, "claimId": string(consumedClaim), "installerId": installer, "tenantId": "acme"}},
	"list-installers":           {status: 200, listed: 4},
	"list-installers-not-admin": {status: 403, code: "missing_scope"},
	"get-installer": {status: 200, body: map[string]any{"installerId": pending, "status": "pending",
		"email": "pat@gmail.example", "tenantId": "acme"}},
	"approve-installer": {status: 200, body: map[string]any{"installerId": pending, "status": "approved", "updatedBy": admin},
		after: func(t *testing.T, w *world, _ map[string]any) {
			wantInstaller(t, w, pending, fleetclaim.InstallerApproved)
			wantGroupCalls(t, w, "exists "+pending)
			wantAudit(t, w, "acme", fleetclaim.ActionInstallerApproved, pending)
		}},
	"suspend-installer": {status: 200, body: map[string]any{"installerId": installer, "status": "suspended", "updatedBy": admin},
		after: func(t *testing.T, w *world, _ map[string]any) {
			wantInstaller(t, w, installer, fleetclaim.InstallerSuspended)
			wantGroupCalls(t, w, "signout "+installer)
			wantAudit(t, w, "acme", fleetclaim.ActionInstallerSuspended, installer)
		}},
	"reinstate-installer": {status: 200, body: map[string]any{"installerId": suspended, "status": "approved"},
		after: func(t *testing.T, w *world, _ map[string]any) {
			wantInstaller(t, w, suspended, fleetclaim.InstallerApproved)
			wantGroupCalls(t, w, "exists "+suspended)
			wantAudit(t, w, "acme", fleetclaim.ActionInstallerReinstated, suspended)
		}},
	"list-audit": {status: 200, listed: 2},
	// The seed has two events; the filters keep the one denial of SN-0002.
	"list-audit-filtered": {status: 200, listed: 1, after: func(t *testing.T, _ *world, body map[string]any) {
		e, _ := body["items"].([]any)[0].(map[string]any)
		if e["action"] != fleetclaim.ActionProvisioningDenied || e["serial"] != "SN-0002" || e["subject"] != string(rejectedClaim) {
			t.Errorf("got %v, want the denial of SN-0002", e)
		}
	}},
	"list-audit-unknown-action": {status: 400, code: fleetclaim.CodeUnknownAuditAction, field: "action"},
	"issue-claim-open": {status: 409, code: "claim_open", retryAfter: "240", after: func(t *testing.T, w *world, body map[string]any) {
		// The installer's claim for SN-0001 expires at 10:04:00.
		nothingMinted(t, w, body)
		if c, err := w.store.GetClaim(t.Context(), issuedClaim); err != nil || c.Status != fleetclaim.ClaimIssued {
			t.Errorf("got the open claim %s (%v), want it issued still", c.Status, err)
		}
	}},
	"revoke-revoked-claim": {status: 200, body: map[string]any{"status": "revoked", "reason": "revoked_by_installer"},
		after: func(t *testing.T, w *world, _ map[string]any) {
			if got, want := w.revoker.Calls(), []string{"deactivate " + string(revokedClaim)}; !slices.Equal(got, want) {
				t.Errorf("got AWS IoT calls %q, want %q: a repeat retries the deactivation", got, want)
			}
		}},
	"decommission-device": {status: 200, body: map[string]any{"serialNumber": "SN-0042", "state": "decommissioned",
		"certificateId": deviceCertificate, "decommissionReason": "water damage", "decommissionedBy": admin,
		"decommissionedAt": "2026-11-23T10:00:00Z", "overdue": false},
		after: func(t *testing.T, w *world, _ map[string]any) {
			want := []string{"deactivate " + deviceCertificate, "detach acme_SN-0042 " + deviceCertificate}
			if got := w.revoker.Calls(); !slices.Equal(got, want) {
				t.Errorf("got AWS IoT calls %q, want %q", got, want)
			}
			if _, err := w.store.GetDevice(t.Context(), "acme", "SN-0042"); !errors.Is(err, fleetclaim.ErrNotFound) {
				t.Errorf("got %v reading the live device, want the serial free", err)
			}
			wantAudit(t, w, "acme", fleetclaim.ActionDeviceDecommissioned, "SN-0042")
		}},
	"decommission-device-not-allowed": {status: 403, code: "forbidden",
		after: func(t *testing.T, w *world, _ map[string]any) {
			if calls := w.revoker.Calls(); len(calls) != 0 {
				t.Errorf("got AWS IoT calls %q, want none", calls)
			}
			if d, err := w.store.GetDevice(t.Context(), "acme", "SN-0042"); err != nil || d.CertificateID != deviceCertificate {
				t.Errorf("got %+v (%v), want the device live still", d, err)
			}
		}},
	"replace-device": {status: 201, body: map[string]any{"claimId": present, "status": "issued", "serialNumber": "SN-0042",
		"thingName": "acme_SN-0042", "site": "Depot 4, bay 2", "installerId": admin, "certificatePem": present, "privateKey": present},
		after: func(t *testing.T, w *world, body map[string]any) {
			hist, _, err := w.store.ListDeviceHistory(t.Context(), "acme", "SN-0042", fleetclaim.Page{})
			if err != nil || len(hist) != 1 || hist[0].CertificateID != deviceCertificate || hist[0].DecommissionReason != "replaced" {
				t.Errorf("got history %+v (%v), want the old device, replaced", hist, err)
			}
			wantAudit(t, w, "acme", fleetclaim.ActionDeviceReplaced, "SN-0042")
			wantAudit(t, w, "acme", fleetclaim.ActionClaimIssued, body["claimId"].(string))
		}},
	// A retry of a decommission that succeeded, naming the device: the
	// history entry, and nothing done again.
	"decommission-device-retry": {before: decommissionSN0042,
		status: 200, body: map[string]any{"serialNumber": "SN-0042", "state": "decommissioned",
			"certificateId": deviceCertificate, "decommissionReason": "water damage", "decommissionedAt": "2026-11-23T09:59:00Z"},
		after: func(t *testing.T, w *world, _ map[string]any) {
			if calls := w.revoker.Calls(); len(calls) != 0 {
				t.Errorf("got AWS IoT calls %q, want none", calls)
			}
		}},
	// The same retry after a replacement unit registered under the serial:
	// refused, and the replacement stays live.
	"decommission-device-changed": {
		before: func(t *testing.T, w *world, h *apigw.Handler, req events.APIGatewayProxyRequest) {
			decommissionSN0042(t, w, h, req)
			ctx := t.Context()
			id := fleetclaim.ClaimID(strings.Repeat("e6", 32))
			if err := w.store.CreateClaim(ctx, fleetclaim.Claim{ID: id, TenantID: "acme", InstallerID: admin, Template: template,
				Serial: "SN-0042", Status: fleetclaim.ClaimIssued, IssuedAt: now.Add(-time.Minute),
				ExpiresAt: now.Add(4 * time.Minute), UpdatedAt: now.Add(-time.Minute), RetainUntil: now.Add(time.Hour)}, consumedClaim); err != nil {
				t.Fatal(err)
			}
			if _, err := w.store.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: id, IfStatus: fleetclaim.ClaimIssued,
				Status: fleetclaim.ClaimConsumed, At: now.Add(-30 * time.Second), Device: &fleetclaim.Device{TenantID: "acme",
					Serial: "SN-0042", ThingName: "acme_SN-0042", CertificateID: replacementCertificate, InstallerID: admin,
					ClaimID: id, Template: template, ProvisionedAt: now.Add(-30 * time.Second)}}); err != nil {
				t.Fatal(err)
			}
		},
		status: 409, code: "device_changed",
		after: func(t *testing.T, w *world, _ map[string]any) {
			if calls := w.revoker.Calls(); len(calls) != 0 {
				t.Errorf("got AWS IoT calls %q, want none", calls)
			}
			if d, err := w.store.GetDevice(t.Context(), "acme", "SN-0042"); err != nil || d.CertificateID != replacementCertificate {
				t.Errorf("got %+v (%v), want the replacement live still", d, err)
			}
		}},
	"list-device-history": {
		before: func(t *testing.T, w *world, _ *apigw.Handler, _ events.APIGatewayProxyRequest) {
			if _, err := w.store.DecommissionDevice(t.Context(), "acme", "SN-0042", deviceCertificate, now.Add(-time.Minute), admin, "water damage"); err != nil {
				t.Fatal(err)
			}
		},
		status: 200, listed: 1},
}

// replacementCertificate is the certificate of the unit that replaced
// SN-0042's, where a fixture registers one.
var replacementCertificate = strings.Repeat("e5", 32)

// decommissionSN0042 retires SN-0042's device a minute before the fixture
// arrives, as an earlier request would have.
func decommissionSN0042(t *testing.T, w *world, _ *apigw.Handler, _ events.APIGatewayProxyRequest) {
	t.Helper()
	if _, err := w.store.DecommissionDevice(t.Context(), "acme", "SN-0042", deviceCertificate, now.Add(-time.Minute), admin, "water damage"); err != nil {
		t.Fatal(err)
	}
}

func TestClaimsEvents(t *testing.T) {
	for _, path := range fixtures("claims", claimsCases) {
		name := nameOf(path)
		t.Run(name, func(t *testing.T) {
			want := claimsCases[name]
			w := newWorld(t)
			cfg := claimsConfig()
			if want.config != nil {
				want.config(&cfg)
			}
			h := app.Claims(cfg, w.parts)
			if got, want := eventType(h.Handle), reflect.TypeFor[events.APIGatewayProxyRequest](); got != want {
				t.Fatalf("the claims handler takes %s, want %s", got, want)
			}
			req := load(t, path, h.Handle).(events.APIGatewayProxyRequest)
			if want.before != nil {
				want.before(t, w, h, req)
			}

			resp, err := h.Handle(t.Context(), req)
			if err != nil {
				t.Fatalf("got error %v; the handler must answer every request", err)
			}
			if resp.StatusCode != want.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, want.status)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("got body %q: %v", resp.Body, err)
			}
			wantType := "application/json"
			if want.code != "" {
				wantType = "application/problem+json"
				field, _ := body["field"].(string)
				if body["code"] != want.code || field != want.field || body["instance"] != req.RequestContext.RequestID {
					t.Errorf("got problem %s, want code %s field %q instance %s", resp.Body, want.code, want.field, req.RequestContext.RequestID)
				}
			}
			if got := resp.Headers["Content-Type"]; got != wantType {
				t.Errorf("got Content-Type %q, want %q", got, wantType)
			}
			if got := resp.Headers["Retry-After"]; got != want.retryAfter {
				t.Errorf("got Retry-After %q, want %q", got, want.retryAfter)
			}
			if got := resp.Headers["Cache-Control"]; got != "no-store" {
				t.Errorf("got Cache-Control %q, want no-store", got)
			}
			for k, v := range want.body {
				if got, ok := body[k]; !ok || (v != present && got != v) {
					t.Errorf("got %s %v, want %v", k, got, v)
				}
			}
			if want.listed > 0 {
				if items, ok := body["items"].([]any); !ok || len(items) != want.listed {
					t.Errorf("got items %v, want %d of them", body["items"], want.listed)
				}
			}
			if got, want := strings.Count(resp.Body, fleetclaimtest.KeyMarker), map[bool]int{true: 1}[want.status == 201 && req.Resource != "/tenants"]; got != want {
				t.Errorf("got the private key %d times in the answer, want %d", got, want)
			}
			if strings.Contains(w.logs.String(), fleetclaimtest.KeyMarker) {
				t.Errorf("got the private key in the logs")
			}
			if want.after != nil {
				want.after(t, w, body)
			}
		})
	}
}

// nothingMinted checks that a refused request asked AWS IoT for nothing
// and recorded nothing (bad input changes nothing).
func nothingMinted(t *testing.T, w *world, _ map[string]any) {
	t.Helper()
	if n := w.minter.Calls(); n != 0 {
		t.Errorf("got %d claims minted, want none", n)
	}
	for _, sub := range []string{installer, suspended} {
		cs, _, err := w.store.ListClaims(t.Context(), fleetclaim.InstallerID(sub), fleetclaim.Page{Limit: fleetclaim.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{installer: 5, suspended: 1}[sub]; len(cs) != want {
			t.Errorf("got %d claims of %s, want the %d seeded", len(cs), sub, want)
		}
	}
}

func wantInstaller(t *testing.T, w *world, sub string, status fleetclaim.InstallerStatus) {
	t.Helper()
	if in, err := w.store.GetInstaller(t.Context(), fleetclaim.InstallerID(sub)); err != nil || in.Status != status {
		t.Errorf("got installer %s %s (%v), want %s", sub, in.Status, err, status)
	}
}

func wantGroupCalls(t *testing.T, w *world, calls ...string) {
	t.Helper()
	if got := w.groups.Calls(); !slices.Equal(got, calls) {
		t.Errorf("got Cognito calls %q, want %q", got, calls)
	}
}

func wantAudit(t *testing.T, w *world, tenant fleetclaim.TenantID, action, subject string) {
	t.Helper()
	if !slices.ContainsFunc(w.audit(t, tenant), func(e fleetclaim.AuditEvent) bool { return e.Action == action && e.Subject == subject }) {
		t.Errorf("got no %s audit event for %s in %s", action, subject, tenant)
	}
}
