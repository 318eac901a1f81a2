package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
)

// TestEndToEndLifecycle runs the lifecycle through the local stack's AWS IoT
// and the functions wired as in AWS: a device is online once it connects with
// its own certificate (presence event, topic rule, presence function); a
// revoked claim's certificate and a decommissioned device's lose their open
// connection and are refused afterwards (the Revoker through the control
// plane).
func TestEndToEndLifecycle(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, x *e2e) {
		in := x.approvedInstaller("acme")
		within := func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			t.Cleanup(cancel)
			return ctx
		}
		connect := func(ctx context.Context, clientID string, c device.Credentials) (*device.Client, error) {
			cfg := x.deviceConfig()
			cfg.ClientID = clientID
			return device.Connect(ctx, cfg, c)
		}

		t.Run("a provisioned device comes online", func(t *testing.T) {
			t.Parallel()
			x, ctx := x.on(t), within(t)
			serial := "SN-" + randomSuffix()
			c := x.issue(in, serial)
			res, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, serial, false)
			if err != nil {
				t.Fatalf("provision: %v", err)
			}
			d, err := in.awaitOnline(ctx, serial)
			if err != nil || d.CertificateID != res.Certificate.CertificateID || d.OnlineAt.IsZero() {
				t.Errorf("got device %+v (%v), want it online with certificate %.12s", d, err, res.Certificate.CertificateID)
			}
		})

		t.Run("a revoked claim's certificate is dropped and refused", func(t *testing.T) {
			t.Parallel()
			x, ctx := x.on(t), within(t)
			serial := "SN-" + randomSuffix()
			c := x.issue(in, serial)
			conn, err := connect(ctx, serial, creds(c))
			if err != nil {
				t.Fatalf("connect with the claim: %v", err)
			}
			defer conn.Close()
			if err := in.call(ctx, "DELETE", "/claims/"+c.ClaimID, nil, nil); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			if _, err := conn.CreateKeysAndCertificate(ctx); !errors.Is(err, device.ErrConnectionLost) {
				t.Errorf("CreateKeysAndCertificate on the open connection after the revocation: got %v, want the connection lost", err)
			}
			if _, err := connect(ctx, serial, creds(c)); !errors.Is(err, device.ErrConnectionRefused) {
				t.Errorf("connect with the revoked claim: got %v, want refused", err)
			}
		})

		t.Run("a decommissioned device's certificate is dropped and refused", func(t *testing.T) {
			t.Parallel()
			x, ctx := x.on(t), within(t)
			serial := "SN-" + randomSuffix()
			c := x.issue(in, serial)
			res, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, serial, false)
			if err != nil {
				t.Fatalf("provision: %v", err)
			}
			own := device.Credentials{CertificatePEM: res.Certificate.CertificatePEM, PrivateKeyPEM: res.Certificate.PrivateKeyPEM}
			conn, err := connect(ctx, res.ThingName, own)
			if err != nil {
				t.Fatalf("connect as the device: %v", err)
			}
			defer conn.Close()
			if err := x.admin.call(ctx, "POST", "/devices/"+serial+"/decommission", map[string]string{"reason": "end-to-end test"}, nil); err != nil {
				t.Fatalf("decommission: %v", err)
			}
			if err := conn.Publish(ctx, "dt/"+res.ThingName+"/status", []byte(`{}`)); !errors.Is(err, device.ErrConnectionLost) {
				t.Errorf("publish on the open connection after the decommission: got %v, want the connection lost", err)
			}
			if _, err := connect(ctx, res.ThingName, own); !errors.Is(err, device.ErrConnectionRefused) {
				t.Errorf("connect with the decommissioned certificate: got %v, want refused", err)
			}
		})
	})
}
