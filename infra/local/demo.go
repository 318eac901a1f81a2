package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
)

const demoUsage = `fleetclaim-local demo plays the whole trusted-installer flow against a running
local stack and prints each step; it exits non-zero if any step fails:

  1. a new installer signs up (Cognito SignUp) and is confirmed
  2. signed in, still pending: the token has no claims scope, so API
     Gateway's authorizer refuses POST /claims (401); the token says why
  3. the admin signs in and approves the installer (POST /installers/{id}/approve)
  4. the installer refreshes their tokens and now holds the claims scope
  5. POST /claims issues a claim bound to one device serial
  6. the device connects to MQTT with the claim certificate, creates its own
     keys and certificate, and calls RegisterThing with its SerialNumber;
     the pre-provisioning hook allows it
  7. the device reconnects with its new certificate as its thing name
  8. GET /claims/{id} shows the claim consumed; GET /devices/{serial} the device
  9. the same claim presented again is rejected
 10. AWS IoT reports the device's first connection with its own certificate
     (a presence event); GET /devices/{serial} shows it online
 11. the admin decommissions the device (POST /devices/{serial}/decommission):
     its certificate is deactivated and detached, the serial freed
 12. the old device certificate is refused at connection
 13. a new claim is issued for the same serial (the replacement unit)
 14. the replacement registers, connects and shows online; the serial's
     history (GET /devices/{serial}/history) holds the old device

Flags:
`

type demoConfig struct {
	endpoints     string
	tenant        string
	adminEmail    string
	adminPassword string
	useCSR        bool
	timeout       time.Duration
}

func runDemo(args []string) int {
	var c demoConfig
	fs := flag.NewFlagSet("fleetclaim-local demo", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), demoUsage); fs.PrintDefaults() }
	fs.StringVar(&c.endpoints, "endpoints", filepath.Join(".local", "endpoints.json"), "the running stack's endpoints.json")
	fs.StringVar(&c.tenant, "tenant", "acme", "tenant the installer signs up for")
	fs.StringVar(&c.adminEmail, "admin-email", "admin@acme.example", "the stack's admin (see fleetclaim-local -admin)")
	fs.StringVar(&c.adminPassword, "admin-password", "Local-Admin-1", "the admin's password")
	fs.BoolVar(&c.useCSR, "csr", false, "have the device send a CSR (CreateCertificateFromCsr) instead of asking for keys")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	e, err := readEndpoints(c.endpoints)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := demo(ctx, os.Stdout, e, c); err != nil {
		fmt.Fprintf(os.Stdout, "FAILED: %v\n", err)
		return 1
	}
	return 0
}

// demo runs the steps in demoUsage, printing one line per step.
func demo(ctx context.Context, out io.Writer, e Endpoints, c demoConfig) error {
	step := 0
	ok := func(format string, args ...any) {
		step++
		fmt.Fprintf(out, "%2d. ok  %s\n", step, fmt.Sprintf(format, args...))
	}
	suffix := randomSuffix()
	email := "installer-" + suffix + "@installers.example"
	serial := "SN-" + suffix

	in := newInstaller(e, email, "Demo-Passw0rd-"+suffix)
	if err := in.signUp(ctx, c.tenant); err != nil {
		return err
	}
	ok("signed up and confirmed %s for tenant %s", email, c.tenant)

	if err := in.signIn(ctx); err != nil {
		return err
	}
	var refused *apiError
	err := in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": serial}, nil)
	if !errors.As(err, &refused) || refused.Status != 401 {
		return fmt.Errorf("a pending installer's claim request: got %v, want 401", err)
	}
	ok("signed in as pending (installer_status=%v, scope=%q); POST /claims refused by the authorizer: %d",
		in.tokenClaims()["installer_status"], in.tokenClaims()["scope"], refused.Status)

	admin := newInstaller(e, c.adminEmail, c.adminPassword)
	if err := admin.signIn(ctx); err != nil {
		return fmt.Errorf("admin %s: %w", c.adminEmail, err)
	}
	rec, err := admin.findInstaller(ctx, email)
	if err != nil {
		return err
	}
	if err := admin.call(ctx, "POST", "/installers/"+rec.InstallerID+"/approve", nil, &rec); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	ok("admin %s approved installer %s (status %s)", c.adminEmail, rec.InstallerID, rec.Status)

	if err := in.refreshTokens(ctx); err != nil {
		return err
	}
	ok("refreshed tokens: installer_status=%v scope=%q", in.tokenClaims()["installer_status"], in.tokenClaims()["scope"])

	var claim claimJSON
	if err := in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": serial}, &claim); err != nil {
		return fmt.Errorf("issue claim: %w", err)
	}
	ok("claim %s… issued for %s, template %s, expires %s", claim.ClaimID[:12], serial, claim.TemplateName, claim.ExpiresAt.Format(time.TimeOnly))

	dev := device.Config{Endpoint: e.MQTTEndpoint, CAFile: e.CAFile, Timeout: 10 * time.Second}
	res, err := device.Provision(ctx, dev, device.Credentials{CertificatePEM: claim.CertificatePEM, PrivateKeyPEM: claim.PrivateKey},
		claim.TemplateName, serial, c.useCSR)
	if err != nil {
		return fmt.Errorf("provision device: %w", err)
	}
	ok("device registered over MQTT as thing %s (certificate %s…)", res.ThingName, res.Certificate.CertificateID[:12])
	ok("device reconnected with its own certificate as %s and published on dt/%s/provisioned", res.ThingName, res.ThingName)

	if err := in.call(ctx, "GET", "/claims/"+claim.ClaimID, nil, &claim); err != nil {
		return err
	}
	var d deviceJSON
	if err := in.call(ctx, "GET", "/devices/"+serial, nil, &d); err != nil {
		return err
	}
	if claim.Status != "consumed" || d.ThingName != res.ThingName {
		return fmt.Errorf("got claim %s and device %+v, want consumed and thing %s", claim.Status, d, res.ThingName)
	}
	ok("GET /claims/{id}: %s; GET /devices/%s: thing %s", claim.Status, serial, d.ThingName)

	_, err = device.Provision(ctx, dev, device.Credentials{CertificatePEM: claim.CertificatePEM, PrivateKeyPEM: claim.PrivateKey},
		claim.TemplateName, serial, c.useCSR)
	var rejected *device.RejectedError
	if !errors.As(err, &rejected) {
		return fmt.Errorf("reusing the claim: got %v, want a rejection", err)
	}
	if err := in.call(ctx, "GET", "/claims/"+claim.ClaimID, nil, &claim); err != nil {
		return err
	}
	ok("the same claim again: rejected by AWS IoT (%s); the installer sees reason %q", rejected.ErrorCode, claim.Reason)

	if d, err = in.awaitOnline(ctx, serial); err != nil {
		return err
	}
	ok("GET /devices/%s: %s since %s (AWS IoT's presence event for its own certificate)", serial, d.State, d.OnlineAt.Format(time.TimeOnly))

	if err := replace(ctx, ok, in, admin, dev, res, serial, c.useCSR); err != nil {
		return err
	}
	fmt.Fprintln(out, "demo complete")
	return nil
}

// replace plays the replacement of a broken unit: decommission, the old
// certificate refused, a new claim for the same serial, the new unit online.
func replace(ctx context.Context, ok func(string, ...any), in, admin *installer, dev device.Config,
	old device.Result, serial string, useCSR bool) error {
	var d deviceJSON
	if err := admin.call(ctx, "POST", "/devices/"+serial+"/decommission", map[string]string{"reason": "replaced in the demo"}, &d); err != nil {
		return fmt.Errorf("decommission: %w", err)
	}
	if d.State != "decommissioned" {
		return fmt.Errorf("decommission: got state %q, want decommissioned", d.State)
	}
	ok("admin decommissioned %s: certificate %s… deactivated and detached, the serial is free", serial, d.CertificateID[:12])

	oldCreds := device.Credentials{CertificatePEM: old.Certificate.CertificatePEM, PrivateKeyPEM: old.Certificate.PrivateKeyPEM}
	oldCfg := dev
	oldCfg.ClientID = old.ThingName
	if cl, err := device.Connect(ctx, oldCfg, oldCreds); err == nil {
		cl.Close()
		return fmt.Errorf("the decommissioned certificate connected, want it refused")
	} else if !errors.Is(err, device.ErrConnectionRefused) {
		return fmt.Errorf("the decommissioned certificate: got %v, want a refused connection", err)
	}
	ok("the old device's certificate is refused by AWS IoT at connection")

	var claim claimJSON
	if err := in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": serial}, &claim); err != nil {
		return fmt.Errorf("issue the replacement's claim: %w", err)
	}
	ok("claim %s… issued for %s again, for the replacement unit", claim.ClaimID[:12], serial)

	res, err := device.Provision(ctx, dev, device.Credentials{CertificatePEM: claim.CertificatePEM, PrivateKeyPEM: claim.PrivateKey},
		claim.TemplateName, serial, useCSR)
	if err != nil {
		return fmt.Errorf("provision the replacement: %w", err)
	}
	if d, err = in.awaitOnline(ctx, serial); err != nil {
		return err
	}
	if d.CertificateID != res.Certificate.CertificateID {
		return fmt.Errorf("GET /devices/%s: got certificate %s, want the replacement's %s", serial, d.CertificateID, res.Certificate.CertificateID)
	}
	var hist listJSON[deviceJSON]
	if err := in.call(ctx, "GET", "/devices/"+serial+"/history", nil, &hist); err != nil {
		return err
	}
	if len(hist.Items) != 1 || hist.Items[0].CertificateID != old.Certificate.CertificateID {
		return fmt.Errorf("GET /devices/%s/history: got %+v, want the old device", serial, hist.Items)
	}
	ok("the replacement registered as %s and is online (certificate %s…); the history holds the old device, %s",
		res.ThingName, res.Certificate.CertificateID[:12], hist.Items[0].State)
	return nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
