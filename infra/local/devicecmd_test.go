package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an output the device command writes from its goroutine
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// writeBundle writes a claim's bundle as the console's download does
// (shared/console/web/src/claimbundle.js).
func (x *e2e) writeBundle(c claimJSON, edit func(map[string]any)) string {
	x.t.Helper()
	ca, err := os.ReadFile(x.e.CAFile)
	if err != nil {
		x.t.Fatal(err)
	}
	b := map[string]any{"format": bundleFormat, "claimId": c.ClaimID, "serialNumber": c.SerialNumber,
		"thingName": c.ThingName, "templateName": c.TemplateName, "iotEndpoint": c.IoTEndpoint,
		"expiresAt": c.ExpiresAt, "certificatePem": c.CertificatePEM, "privateKey": c.PrivateKey, "caPem": string(ca)}
	if edit != nil {
		edit(b)
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		x.t.Fatal(err)
	}
	path := filepath.Join(x.t.TempDir(), "claim-"+c.SerialNumber+".json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		x.t.Fatal(err)
	}
	return path
}

// awaitProvisionedOnline waits for a device that has yet to register: its
// serial answers 404 until then.
func awaitProvisionedOnline(ctx context.Context, in *installer, serial string) (deviceJSON, error) {
	for {
		d, err := in.awaitOnline(ctx, serial)
		if err == nil || !strings.Contains(err.Error(), "404") || ctx.Err() != nil {
			return d, err
		}
		select {
		case <-ctx.Done():
			return d, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// A person who downloaded a claim bundle from the console finishes the
// install with `fleetclaim-local device <bundle>`: the device provisions,
// shows online, and stays connected until it is stopped or decommissioned;
// the same bundle a second time is refused, as the claim is used.
func TestDeviceCommand(t *testing.T) {
	x := startStack(t, t.TempDir())
	in := x.approvedInstaller("acme")

	t.Run("online until stopped, then the bundle is used up", func(t *testing.T) {
		c := x.issue(in, "SN-DEV-"+randomSuffix())
		bundle := x.writeBundle(c, nil)
		ctx, stop := context.WithCancel(t.Context())
		var out, errs syncBuffer
		code := make(chan int, 1)
		go func() { code <- deviceMain(ctx, []string{bundle}, &out, &errs) }()
		waitCtx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		d, err := awaitProvisionedOnline(waitCtx, in, c.SerialNumber)
		if err != nil {
			stop()
			t.Fatalf("%v; device said %q, %q", err, out.String(), errs.String())
		}
		if !strings.Contains(out.String(), "online as "+d.ThingName) {
			t.Errorf("output = %q, want it to say the device is online as %s", out.String(), d.ThingName)
		}
		stop()
		if got := <-code; got != 0 {
			t.Errorf("exit code after Ctrl-C = %d, want 0; stderr %q", got, errs.String())
		}

		var again syncBuffer
		if got := deviceMain(t.Context(), []string{"-once", bundle}, &again, &again); got != 1 {
			t.Errorf("the used bundle again: exit %d, want 1; output %q", got, again.String())
		}
	})

	t.Run("decommissioned while connected", func(t *testing.T) {
		c := x.issue(in, "SN-DEV-"+randomSuffix())
		bundle := x.writeBundle(c, nil)
		var out, errs syncBuffer
		code := make(chan int, 1)
		go func() { code <- deviceMain(t.Context(), []string{"-csr", bundle}, &out, &errs) }()
		waitCtx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		if _, err := awaitProvisionedOnline(waitCtx, in, c.SerialNumber); err != nil {
			t.Fatalf("%v; device said %q, %q", err, out.String(), errs.String())
		}
		if err := x.admin.call(t.Context(), "POST", "/devices/"+c.SerialNumber+"/decommission", map[string]string{}, nil); err != nil {
			t.Fatalf("decommission: %v", err)
		}
		select {
		case got := <-code:
			if got != 1 || !strings.Contains(out.String(), "the broker ended the connection") {
				t.Errorf("exit %d, output %q; want 1 and the broker's ending said", got, out.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the device command still runs 20 s after its device was decommissioned")
		}
	})

	t.Run("a bundle a device cannot use is refused before any connection", func(t *testing.T) {
		c := x.issue(in, "SN-DEV-"+randomSuffix())
		tests := []struct {
			name string
			edit func(map[string]any)
			want string
		}{
			{"another format", func(b map[string]any) { b["format"] = "fleetclaim.claim-bundle/2" }, `format is "fleetclaim.claim-bundle/2"`},
			{"the key cleared", func(b map[string]any) { b["privateKey"] = "" }, "a bundle whose key was cleared cannot be used"},
			{"a bad serial", func(b map[string]any) { b["serialNumber"] = "SN 1" }, "is not a serial number"},
			{"no endpoint", func(b map[string]any) { delete(b, "iotEndpoint") }, "templateName and iotEndpoint are required"},
			{"expired", func(b map[string]any) { b["expiresAt"] = time.Now().Add(-time.Minute) }, "the claim expired at"},
			{"a bad CA", func(b map[string]any) { b["caPem"] = "not a certificate" }, "caPem is not a PEM certificate"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var out, errs syncBuffer
				if got := deviceMain(t.Context(), []string{"-once", x.writeBundle(c, tt.edit)}, &out, &errs); got != 2 || !strings.Contains(errs.String(), tt.want) {
					t.Errorf("exit %d, stderr %q; want 2 and %q", got, errs.String(), tt.want)
				}
				if out.String() != "" {
					t.Errorf("stdout %q: want nothing done", out.String())
				}
			})
		}
		var claim claimJSON
		if err := in.call(t.Context(), "GET", "/claims/"+c.ClaimID, nil, &claim); err != nil || claim.Status != "issued" {
			t.Errorf("claim after the refused bundles: %+v (%v), want still issued", claim, err)
		}
	})
}
