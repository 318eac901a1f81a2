package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore/dynamotest"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

const operatorEmail, operatorPassword = "ops@operators.example", "Operator-Pass-1"

type tenantJSON struct {
	TenantID string `json:"tenantId"`
	Status   string `json:"status"`
	Revision int    `json:"revision"`
}

// The scenario of tenant administration, through real HTTP and MQTT on
// the local stack, on both stores: a platform admin onboards a tenant, its
// first installer signs up and is approved by the tenant's domain, the
// tenant is suspended, and its installer's next claim request and the
// registration of a claim it held are both refused. On DynamoDB the
// platform admin is made by the infra/admin command, as an operator makes
// the first one of a deployment; the embedded store is the running stack's
// alone, so there the stack's -admin flag makes them.
func TestEndToEndTenantOnboarding(t *testing.T) {
	for _, store := range []string{"embedded", "dynamodb"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"-data-dir", dir, "-api-port", "0", "-cognito-port", "0", "-iot-port", "0", "-mqtt-port", "0",
				"-tenant", "operators:Platform operators", "-tenant", "acme:Acme:acme.example", "-claim-lifetime", "2m"}
			if store == "dynamodb" {
				args = append(args, "-dynamodb-endpoint", dynamotest.Endpoint(t), "-table", "e2e-"+randomHexString(6))
			} else {
				args = append(args, "-admin", operatorEmail+":"+operatorPassword+":operators:platform")
			}
			cfg, err := parseConfig(args, io.Discard)
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			s, err := Start(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			t.Cleanup(s.Close)
			x := &e2e{t: t, stack: s, e: s.Endpoints}
			ctx := t.Context()

			operator := newInstaller(s.Endpoints, operatorEmail, operatorPassword)
			if store == "dynamodb" {
				if err := operator.signUp(ctx, "operators"); err != nil {
					t.Fatalf("operator sign-up: %v", err)
				}
				bin := buildAdminCommand(t)
				for range 2 { // the second run finds everything done
					out := runCommand(t, bin, "-email", operatorEmail, "-tenant", "operators", "-local", filepath.Join(dir, "endpoints.json"))
					if !strings.Contains(out, "is a platform admin") {
						t.Fatalf("fleetclaim-admin said %q", out)
					}
				}
			}
			if err := operator.signIn(ctx); err != nil {
				t.Fatalf("operator sign-in: %v", err)
			}
			if groups, _ := operator.tokenClaims()["cognito:groups"].([]any); !slices.Contains(groups, any(fleetclaim.GroupPlatformAdmins)) {
				t.Fatalf("operator's token groups %v, want platform-admins", groups)
			}

			// Onboard initech; a public mail domain is refused.
			var apiErr *apiError
			err = operator.call(ctx, "POST", "/tenants", map[string]any{"tenantId": "initech", "name": "Initech",
				"autoApproveDomains": []string{"initech.example", "gmail.com"}}, nil)
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Code != fleetclaim.CodePublicMailDomain {
				t.Fatalf("tenant auto-approving gmail.com: got %v, want 400 public_mail_domain", err)
			}
			var tn tenantJSON
			if err := operator.call(ctx, "POST", "/tenants", map[string]any{"tenantId": "initech", "name": "Initech",
				"autoApproveDomains": []string{"initech.example"}}, &tn); err != nil || tn.Status != "active" || tn.Revision != 1 {
				t.Fatalf("create tenant: got %+v, %v", tn, err)
			}

			// Its first installer signs up with a verified initech.example
			// address and is approved by the domain, with no admin.
			in := x.autoApproved("initech", "initech.example")
			if got := in.tokenClaims()["installer_status"]; got != "approved" {
				t.Fatalf("first installer's status %v, want approved", got)
			}
			inFlight := x.issue(in, "SN-INFLIGHT-1")

			if err := operator.call(ctx, "POST", "/tenants/initech/suspend", nil, &tn); err != nil || tn.Status != "suspended" {
				t.Fatalf("suspend: got %+v, %v", tn, err)
			}

			// The next claim request is refused, with the token still valid.
			err = in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": "SN-AFTER-1"}, nil)
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden || apiErr.Code != fleetclaim.CodeTenantInactive {
				t.Fatalf("claim after the suspension: got %v, want 403 tenant_inactive", err)
			}
			// The claim it held is refused over MQTT: by the hook
			// (ACCESS_DENIED on /rejected), or already at connection once
			// its certificate is deactivated in AWS IoT (invariant 10).
			_, err = device.Provision(ctx, x.deviceConfig(), creds(inFlight), inFlight.TemplateName, "SN-INFLIGHT-1", false)
			var rej *device.RejectedError
			switch {
			case errors.As(err, &rej):
				if rej.ErrorCode != "ACCESS_DENIED" {
					t.Fatalf("registration with the held claim: got %+v, want ACCESS_DENIED", rej)
				}
			case !errors.Is(err, device.ErrConnectionRefused):
				t.Fatalf("registration with the held claim: got %v, want it refused", err)
			}
			var devices listJSON[deviceJSON]
			if err := operator.call(ctx, "GET", "/devices?tenant=initech", nil, &devices); err != nil || len(devices.Items) != 0 {
				t.Fatalf("initech's devices: got %+v (%v), want none", devices.Items, err)
			}
			var c claimJSON
			if err := operator.call(ctx, "GET", "/claims/"+inFlight.ClaimID, nil, &c); err != nil ||
				c.Status != "revoked" || c.Reason != string(fleetclaim.ReasonTenantSuspended) {
				t.Fatalf("held claim: got %s %s (%v), want revoked tenant_suspended", c.Status, c.Reason, err)
			}

			// Reactivation brings the tenant back, not the claim.
			if err := operator.call(ctx, "POST", "/tenants/initech/reactivate", nil, &tn); err != nil || tn.Status != "active" {
				t.Fatalf("reactivate: got %+v, %v", tn, err)
			}
			if err := operator.call(ctx, "GET", "/claims/"+inFlight.ClaimID, nil, &c); err != nil || c.Status != "revoked" {
				t.Fatalf("held claim after reactivation: got %s (%v), want still revoked", c.Status, err)
			}
			x.issue(in, "SN-AFTER-2")

			// A restart applies the -tenant seeds again, and leaves the
			// tenants the API changed alone: acme, renamed here, keeps its name.
			if err := operator.call(ctx, "PATCH", "/tenants/acme", map[string]any{"revision": 0, "name": "Acme Renamed"}, &tn); err != nil {
				t.Fatalf("rename acme: %v", err)
			}
			s.Close()
			s2, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			t.Cleanup(s2.Close)
			acme, err := s2.Store.GetTenant(ctx, "acme")
			if err != nil || acme.Name != "Acme Renamed" || acme.Revision != 1 {
				t.Fatalf("acme after the restart: got %+v, %v; want the API's name kept", acme, err)
			}
		})
	}
}

// buildAdminCommand builds infra/admin, the operator's command, as its
// users run it.
func buildAdminCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fleetclaim-admin")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/fleetclaim/fleetclaim/infra/admin").CombinedOutput() // #nosec G204 -- fixed arguments
	if err != nil {
		t.Fatalf("build infra/admin: %v: %s", err, out)
	}
	return bin
}

// runCommand runs bin with args and returns what it printed.
func runCommand(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...) // #nosec G204 -- the command under test
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v: %s", filepath.Base(bin), args, err, stderr.String())
	}
	return stdout.String()
}

func randomHexString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
