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
	fmt.Fprintln(out, "demo complete")
	return nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
