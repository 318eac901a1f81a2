package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	iotsdk "github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/fleetclaim/fleetclaim/infra/local/device"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// The end-to-end tests run the whole local stack in-process on free loopback
// ports and drive it as its users would: the unmodified AWS SDK Cognito
// client, net/http against the API, and a real MQTT client for the device.

const testAdmin, testAdminPassword = "admin@acme.example", "Local-Admin-1"

type e2e struct {
	t     *testing.T
	stack *Stack
	e     Endpoints
	admin *installer
}

// startStack starts the stack on dir, with extra flags after the tests' own.
func startStack(t *testing.T, dir string, extra ...string) *e2e {
	t.Helper()
	cfg, err := parseConfig(append([]string{"-data-dir", dir, "-api-port", "0", "-cognito-port", "0", "-iot-port", "0", "-mqtt-port", "0",
		"-tenant", "acme:Acme:acme.example", "-tenant", "globex:Globex:globex.example",
		"-admin", testAdmin + ":" + testAdminPassword + ":acme", "-claim-lifetime", "1m", "-extra-template", "other-template"}, extra...), io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(testWriter{t}, nil))
	}
	s, err := Start(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	x := &e2e{t: t, stack: s, e: s.Endpoints}
	x.admin = newInstaller(s.Endpoints, testAdmin, testAdminPassword)
	if err := x.admin.signIn(t.Context()); err != nil {
		t.Fatalf("admin sign-in: %v", err)
	}
	return x
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// autoApproved signs up an installer at a domain the tenant auto-approves.
func (x *e2e) autoApproved(tenant, domain string) *installer {
	x.t.Helper()
	in := newInstaller(x.e, "inst-"+randomSuffix()+"@"+domain, "Passw0rd-"+randomSuffix())
	if err := in.register(x.t.Context(), tenant); err != nil {
		x.t.Fatalf("sign up: %v", err)
	}
	code, ok := x.stack.Pool.ConfirmationCode(in.email)
	if !ok {
		x.t.Fatalf("no confirmation code for %s", in.email)
	}
	if err := in.confirm(x.t.Context(), "000000"); err == nil && code != "000000" {
		x.t.Fatalf("a wrong confirmation code was accepted")
	}
	if err := in.confirm(x.t.Context(), code); err != nil {
		x.t.Fatalf("confirm: %v", err)
	}
	if err := in.signIn(x.t.Context()); err != nil {
		x.t.Fatalf("sign in: %v", err)
	}
	return in
}

// approvedInstaller signs up a new installer for tenant, has the admin
// approve them, and refreshes their tokens.
func (x *e2e) approvedInstaller(tenant string) *installer {
	x.t.Helper()
	ctx := x.t.Context()
	email := "inst-" + randomSuffix() + "@installers.example"
	in := newInstaller(x.e, email, "Passw0rd-"+randomSuffix())
	if err := in.signUp(ctx, tenant); err != nil {
		x.t.Fatalf("sign up: %v", err)
	}
	if err := in.signIn(ctx); err != nil {
		x.t.Fatalf("sign in: %v", err)
	}
	rec, err := x.admin.findInstaller(ctx, email)
	if err != nil {
		x.t.Fatalf("find installer: %v", err)
	}
	if err := x.admin.call(ctx, "POST", "/installers/"+rec.InstallerID+"/approve", nil, nil); err != nil {
		x.t.Fatalf("approve: %v", err)
	}
	if err := in.refreshTokens(ctx); err != nil {
		x.t.Fatalf("refresh: %v", err)
	}
	return in
}

func (x *e2e) issue(in *installer, serial string) claimJSON {
	x.t.Helper()
	var c claimJSON
	if err := in.call(x.t.Context(), "POST", "/claims", map[string]string{"serialNumber": serial}, &c); err != nil {
		x.t.Fatalf("issue claim for %s: %v", serial, err)
	}
	return c
}

func (x *e2e) deviceConfig() device.Config {
	return device.Config{Endpoint: x.e.MQTTEndpoint, CAFile: x.e.CAFile, Timeout: 10 * time.Second}
}

func creds(c claimJSON) device.Credentials {
	return device.Credentials{CertificatePEM: c.CertificatePEM, PrivateKeyPEM: c.PrivateKey}
}

func TestEndToEndProvisioning(t *testing.T) {
	x := startStack(t, t.TempDir())
	ctx := t.Context()
	in := x.approvedInstaller("acme")

	for _, useCSR := range []bool{false, true} {
		t.Run(fmt.Sprintf("csr=%v", useCSR), func(t *testing.T) {
			serial := "SN-" + randomSuffix()
			c := x.issue(in, serial)
			if c.Status != "issued" || c.IoTEndpoint != x.e.MQTTEndpoint || c.TemplateName != x.e.TemplateName {
				t.Fatalf("got claim %+v", c)
			}
			res, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, serial, useCSR)
			if err != nil {
				t.Fatalf("provision: %v", err)
			}
			if want := "acme_" + serial; res.ThingName != want {
				t.Errorf("got thing %q, want %q", res.ThingName, want)
			}
			var got claimJSON
			if err := in.call(ctx, "GET", "/claims/"+c.ClaimID, nil, &got); err != nil || got.Status != "consumed" {
				t.Errorf("got claim status %q (%v), want consumed", got.Status, err)
			}
			var d deviceJSON
			if err := in.call(ctx, "GET", "/devices/"+serial, nil, &d); err != nil || d.ThingName != res.ThingName {
				t.Errorf("got device %+v (%v), want thing %s", d, err, res.ThingName)
			}
		})
	}
}

// Every negative path ends on the device's /rejected topic with AWS's error
// payload, or, for a claim revoked before the device uses it, with AWS IoT
// refusing the deactivated claim certificate at CONNECT; the installer can
// read why on GET /claims/{id}. A claim the hook burns hears ACCESS_DENIED,
// and its certificate is refused from then on: the hook deactivated it in
// AWS IoT (invariant 10).
func TestEndToEndRejections(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, x *e2e) {
		ctx := t.Context()
		in := x.approvedInstaller("acme")

		tests := []struct {
			name       string
			prepare    func(t *testing.T, c claimJSON)
			serial     func(bound string) string
			template   string
			wantReason fleetclaim.Reason
			wantStatus string
			// refused: the claim certificate is refused at CONNECT; the hook's
			// refusal stays the backstop (the gatekeeper's tests).
			// deactivated: it is refused at CONNECT after this attempt.
			refused, deactivated bool
		}{
			{name: "claim presented with another serial", serial: func(string) string { return "SN-NOT-BOUND" },
				wantReason: fleetclaim.ReasonSerialMismatch, wantStatus: "rejected", deactivated: true},
			{name: "revoked claim", prepare: func(t *testing.T, c claimJSON) {
				if err := in.call(ctx, "DELETE", "/claims/"+c.ClaimID, nil, nil); err != nil {
					t.Fatalf("revoke: %v", err)
				}
			}, wantReason: fleetclaim.ReasonRevokedByInstaller, wantStatus: "revoked", refused: true, deactivated: true},
			{name: "claim for another template", template: "other-template",
				wantReason: fleetclaim.ReasonTemplateMismatch, wantStatus: "rejected", deactivated: true},
			{name: "expired claim still in the table", prepare: func(_ *testing.T, c claimJSON) {
				x.stack.clock.advance(2 * time.Minute) // past the claim's expiry for the handlers
			}, wantReason: fleetclaim.ReasonExpired, wantStatus: "expired"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				defer x.stack.clock.reset()
				x := x.on(t)
				serial := "SN-" + randomSuffix()
				c := x.issue(in, serial)
				if tt.prepare != nil {
					tt.prepare(t, c)
				}
				presented, tmpl := serial, c.TemplateName
				if tt.serial != nil {
					presented = tt.serial(serial)
				}
				if tt.template != "" {
					tmpl = tt.template
				}
				_, err := device.Provision(ctx, x.deviceConfig(), creds(c), tmpl, presented, false)
				var rej *device.RejectedError
				switch {
				case tt.refused:
					if !errors.Is(err, device.ErrConnectionRefused) {
						t.Fatalf("got %v, want the claim certificate refused at CONNECT", err)
					}
				case !errors.As(err, &rej):
					t.Fatalf("got %v, want a /rejected reply", err)
				case rej.StatusCode != http.StatusForbidden || rej.ErrorCode != "ACCESS_DENIED":
					t.Errorf("got rejection %+v, want 403 ACCESS_DENIED", rej)
				}
				if tt.deactivated {
					cfg := x.deviceConfig()
					cfg.ClientID = serial
					if cl, err := device.Connect(ctx, cfg, creds(c)); !errors.Is(err, device.ErrConnectionRefused) {
						if err == nil {
							cl.Close()
						}
						t.Errorf("got %v connecting with the claim afterwards, want it refused: deactivated in AWS IoT", err)
					}
				}
				var got claimJSON
				if err := in.call(ctx, "GET", "/claims/"+c.ClaimID, nil, &got); err != nil {
					t.Fatalf("get claim: %v", err)
				}
				if got.Status != tt.wantStatus || got.Reason != string(tt.wantReason) {
					t.Errorf("got status %q reason %q, want %q %q", got.Status, got.Reason, tt.wantStatus, tt.wantReason)
				}
			})
		}

		t.Run("claim reused for a second serial", func(t *testing.T) {
			x := x.on(t)
			serial := "SN-" + randomSuffix()
			c := x.issue(in, serial)
			if _, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, serial, false); err != nil {
				t.Fatalf("first provisioning: %v", err)
			}
			_, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, "SN-SECOND-"+randomSuffix(), false)
			var rej *device.RejectedError
			if !errors.As(err, &rej) || rej.ErrorCode != "ACCESS_DENIED" {
				t.Fatalf("got %v, want ACCESS_DENIED on /rejected", err)
			}
			var got claimJSON
			if err := in.call(ctx, "GET", "/claims/"+c.ClaimID, nil, &got); err != nil || got.Reason != string(fleetclaim.ReasonAlreadyUsed) {
				t.Errorf("got reason %q (%v), want %q", got.Reason, err, fleetclaim.ReasonAlreadyUsed)
			}
		})
	})
}

func TestEndToEndAccess(t *testing.T) {
	x := startStack(t, t.TempDir())
	ctx := t.Context()

	// A pending installer's token carries no claims scope (DESIGN section 3),
	// so API Gateway's Cognito authorizer refuses it with 401 before the
	// handler runs, as AWS does; the token says why (installer_status).
	// Once a token with the scope exists, the live record decides: 403.
	t.Run("unapproved installer is refused", func(t *testing.T) {
		in := newInstaller(x.e, "pending-"+randomSuffix()+"@installers.example", "Passw0rd-"+randomSuffix())
		if err := in.signUp(ctx, "acme"); err != nil {
			t.Fatalf("sign up: %v", err)
		}
		if err := in.signIn(ctx); err != nil {
			t.Fatalf("sign in: %v", err)
		}
		if got := in.tokenClaims()["installer_status"]; got != "pending" {
			t.Errorf("got installer_status %v, want pending", got)
		}
		err := in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": "SN-1"}, nil)
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Code != fleetclaim.CodeUnauthenticated {
			t.Errorf("got %v, want 401 %s from the authorizer's gateway response", err, fleetclaim.CodeUnauthenticated)
		}
		err = in.call(ctx, "GET", "/no-such-route", nil, nil)
		if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != fleetclaim.CodeNotFound {
			t.Errorf("unknown route: got %v, want 404 %s", err, fleetclaim.CodeNotFound)
		}
	})

	t.Run("auto-approved domain gets claims at once", func(t *testing.T) {
		in := x.autoApproved("acme", "acme.example")
		x.issue(in, "SN-"+randomSuffix())
		// GetUser with the access token, as the installer app shows the profile.
		out, err := in.cognito.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(in.access)})
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		attrs := map[string]string{}
		for _, a := range out.UserAttributes {
			attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		if attrs["email"] != in.email || attrs["email_verified"] != "true" || attrs["custom:tenant_id"] != "acme" || attrs["sub"] == "" {
			t.Errorf("got attributes %v", attrs)
		}
	})

	t.Run("an approved installer suspended keeps a token with the scope: 403, and cannot refresh it", func(t *testing.T) {
		in := x.approvedInstaller("acme")
		x.issue(in, "SN-"+randomSuffix())
		rec, err := x.admin.findInstaller(ctx, in.email)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.admin.call(ctx, "POST", "/installers/"+rec.InstallerID+"/suspend", nil, nil); err != nil {
			t.Fatalf("suspend: %v", err)
		}
		err = in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": "SN-" + randomSuffix()}, nil)
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || ae.Code != fleetclaim.CodeInstallerNotApproved {
			t.Errorf("got %v with the old token, want 403 %s", err, fleetclaim.CodeInstallerNotApproved)
		}
		if err := in.refreshTokens(ctx); err == nil {
			t.Errorf("got a refreshed token after suspension, want the refresh token revoked")
		}
	})

	t.Run("tokens the authorizer must refuse", func(t *testing.T) {
		in := x.approvedInstaller("acme")
		for name, token := range map[string]string{
			"none":      "",
			"garbage":   "not.a.token",
			"tampered":  in.access[:len(in.access)-4] + "AAAA",
			"alg none":  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.",
			"truncated": in.access[:len(in.access)/2],
		} {
			t.Run(name, func(t *testing.T) {
				forged := *in
				forged.access = token
				err := forged.call(ctx, "GET", "/claims", nil, nil)
				var ae *apiError
				if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
					t.Errorf("got %v, want 401", err)
				}
			})
		}
	})

	t.Run("another tenant's installer sees nothing of acme", func(t *testing.T) {
		in := x.approvedInstaller("acme")
		c := x.issue(in, "SN-"+randomSuffix())
		var ae *apiError
		globexInstaller := x.autoApproved("globex", "globex.example") // an installer, not an admin
		if err := globexInstaller.call(ctx, "GET", "/claims/"+c.ClaimID, nil, nil); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
			t.Errorf("got %v reading another tenant's claim, want 404", err)
		}
		if err := globexInstaller.call(ctx, "GET", "/installers", nil, nil); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			t.Errorf("got %v on an admin route without the admin scope, want 401", err)
		}
	})
}

// State lives in the data directory and survives a restart.
func TestEndToEndRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	x := startStack(t, dir)
	in := x.approvedInstaller("acme")
	serial := "SN-" + randomSuffix()
	c := x.issue(in, serial)
	if _, err := device.Provision(t.Context(), x.deviceConfig(), creds(c), c.TemplateName, serial, false); err != nil {
		t.Fatalf("provision: %v", err)
	}
	x.stack.Close()

	y := startStack(t, dir)
	in.e = y.e
	in.cognito = newInstaller(y.e, in.email, in.password).cognito
	if err := in.signIn(t.Context()); err != nil {
		t.Fatalf("sign in after restart: %v", err)
	}
	var d deviceJSON
	if err := in.call(t.Context(), "GET", "/devices/"+serial, nil, &d); err != nil || d.ThingName != "acme_"+serial {
		t.Errorf("got %+v (%v) after restart, want the device", d, err)
	}
}

// The calls AWS reserves for IAM principals need this run's operator
// credentials: anyone else on the machine (here, with the SDK's local
// defaults) can neither put a user in a privileged group nor mint a claim
// without an installer's token. The credentials file is the owner's alone.
func TestEndToEndIAMCallsNeedTheOperator(t *testing.T) {
	x := startStack(t, t.TempDir())
	ctx := t.Context()
	in := x.approvedInstaller("acme")

	outsider := awsenv.Local(x.e.Region)
	_, err := awsenv.Cognito(outsider, x.e.CognitoEndpoint).AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
		UserPoolId: aws.String(x.e.UserPoolID), Username: aws.String(in.email), GroupName: aws.String(fleetclaim.GroupPlatformAdmins)})
	if err == nil {
		t.Error("AdminAddUserToGroup without the operator's credentials succeeded")
	}
	if _, err := awsenv.IoT(outsider, x.e.IoTEndpoint).CreateProvisioningClaim(ctx, &iotsdk.CreateProvisioningClaimInput{
		TemplateName: aws.String(x.e.TemplateName)}); err == nil {
		t.Error("CreateProvisioningClaim without the operator's credentials succeeded")
	}
	if err := in.signIn(ctx); err != nil {
		t.Fatal(err)
	}
	scope, _ := in.tokenClaims()["scope"].(string)
	groups := fmt.Sprint(in.tokenClaims()["cognito:groups"])
	if strings.Contains(scope, fleetclaim.ScopeAdmin) || strings.Contains(groups, fleetclaim.GroupPlatformAdmins) {
		t.Errorf("the installer's token has scope %q and groups %s", scope, groups)
	}

	info, err := os.Stat(x.e.CredentialsFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("credentials file: %v, %v; want mode 0600", info, err)
	}
	e, err := readEndpoints(filepath.Join(x.e.DataDir, "endpoints.json"))
	if err != nil || e.operator != x.e.operator {
		t.Errorf("the credentials written are not the ones the stack signs with: %v", err)
	}
}
