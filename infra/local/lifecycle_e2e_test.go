package main

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
)

// One live identity per serial (invariant 9), revocation in AWS IoT
// (invariant 10) and a stuck serial repaired through the API, over HTTP and
// MQTT with mutual TLS on the local stack: a second installer cannot take a
// serial that has an open claim or a device; a superseded claim's
// certificate is refused at connection; a registration that never comes
// online shows overdue; decommissioning it refuses its certificate and frees
// the serial for a new device.
func TestEndToEndSerialLifecycle(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, x *e2e) {
		ctx := t.Context()
		owner, other := x.approvedInstaller("acme"), x.approvedInstaller("acme")
		serial := "SN-" + randomSuffix()
		thing := "acme_" + serial

		wantProblem := func(err error, status int, code string) {
			t.Helper()
			var p *apiError
			if !errors.As(err, &p) || p.Status != status || p.Code != code {
				t.Fatalf("got %v, want %d %s", err, status, code)
			}
		}
		refused := func(clientID string, c device.Credentials) {
			t.Helper()
			cfg := x.deviceConfig()
			cfg.ClientID = clientID
			cl, err := device.Connect(ctx, cfg, c)
			if err == nil {
				cl.Close()
			}
			if !errors.Is(err, device.ErrConnectionRefused) {
				t.Errorf("got %v connecting as %s, want the certificate refused", err, clientID)
			}
		}

		first := x.issue(owner, serial)
		err := other.call(ctx, "POST", "/claims", map[string]string{"serialNumber": serial}, nil)
		wantProblem(err, http.StatusConflict, "claim_open")

		// The owner's second claim supersedes the first, whose certificate
		// AWS IoT then refuses.
		second := x.issue(owner, serial)
		var old claimJSON
		if err := owner.call(ctx, "GET", "/claims/"+first.ClaimID, nil, &old); err != nil || old.Status != "revoked" || old.Reason != "claim_superseded" {
			t.Errorf("got the first claim %q %q (%v), want revoked claim_superseded", old.Status, old.Reason, err)
		}
		refused(serial, creds(first))

		// A registration that never comes online: the device registers and
		// never connects with its own certificate.
		cfg := x.deviceConfig()
		cfg.ClientID = serial
		cl, err := device.Connect(ctx, cfg, creds(second))
		if err != nil {
			t.Fatalf("connect with the claim: %v", err)
		}
		cert, err := cl.CreateKeysAndCertificate(ctx)
		if err != nil {
			t.Fatalf("create keys and certificate: %v", err)
		}
		if _, err := cl.RegisterThing(ctx, second.TemplateName, cert.OwnershipToken,
			map[string]string{device.SerialNumberParameter: serial}); err != nil {
			t.Fatalf("register thing: %v", err)
		}
		cl.Close()
		err = other.call(ctx, "POST", "/claims", map[string]string{"serialNumber": serial}, nil)
		wantProblem(err, http.StatusConflict, "device_already_provisioned")

		var d deviceJSON
		if err := owner.call(ctx, "GET", "/devices/"+serial, nil, &d); err != nil || d.State != "registered" || d.Overdue {
			t.Fatalf("got %+v (%v), want registered, not yet overdue", d, err)
		}
		x.stack.clock.advance(15 * time.Minute)
		err = owner.call(ctx, "GET", "/devices/"+serial, nil, &d)
		x.stack.clock.reset()
		if err != nil || d.State != "registered" || !d.Overdue {
			t.Fatalf("got %+v (%v) fifteen minutes on, want registered and overdue", d, err)
		}

		// acme does not let installers decommission; its admin does.
		err = owner.call(ctx, "POST", "/devices/"+serial+"/decommission", nil, nil)
		wantProblem(err, http.StatusForbidden, "forbidden")
		if err := x.admin.call(ctx, "POST", "/devices/"+serial+"/decommission", map[string]string{"reason": "never came online"}, &d); err != nil {
			t.Fatalf("decommission: %v", err)
		}
		if d.State != "decommissioned" || d.CertificateID != cert.CertificateID {
			t.Errorf("got %+v, want the registered device decommissioned", d)
		}
		refused(thing, device.Credentials{CertificatePEM: cert.CertificatePEM, PrivateKeyPEM: cert.PrivateKeyPEM})

		// The serial is free: the other installer provisions a new unit.
		third := x.issue(other, serial)
		res, err := device.Provision(ctx, x.deviceConfig(), creds(third), third.TemplateName, serial, false)
		if err != nil {
			t.Fatalf("provision the replacement: %v", err)
		}
		if err := other.call(ctx, "GET", "/devices/"+serial, nil, &d); err != nil || d.CertificateID != res.Certificate.CertificateID {
			t.Errorf("got %+v (%v), want the new unit, certificate %s", d, err, res.Certificate.CertificateID)
		}
		var hist listJSON[deviceJSON]
		if err := other.call(ctx, "GET", "/devices/"+serial+"/history", nil, &hist); err != nil ||
			len(hist.Items) != 1 || hist.Items[0].CertificateID != cert.CertificateID {
			t.Errorf("got history %+v (%v), want the decommissioned device", hist.Items, err)
		}
	})
}
