package device_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/infra/local/device"
	"github.com/fleetclaim/fleetclaim/infra/local/iot"
)

// startIoT runs the local AWS IoT with one template whose hook allows only
// serial SN-OK, naming the thing after it.
func startIoT(t *testing.T, now func() time.Time) *iot.Core {
	t.Helper()
	core, err := iot.New(iot.Options{
		DataDir:   t.TempDir(),
		MQTTAddr:  "127.0.0.1:0",
		Templates: []iot.Template{{Name: "widget"}},
		Now:       now,
		Hook: func(_ context.Context, req events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
			serial := req.Parameters["SerialNumber"]
			return events.IoTPreProvisionHookResponse{AllowProvisioning: serial == "SN-OK",
				ParameterOverrides: map[string]string{"ThingName": "widget_" + serial}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := core.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = core.Close() })
	return core
}

func claim(t *testing.T, core *iot.Core) device.Credentials {
	t.Helper()
	m, err := core.CreateProvisioningClaim(t.Context(), "widget")
	if err != nil {
		t.Fatal(err)
	}
	return device.Credentials{CertificatePEM: m.CertificatePEM, PrivateKeyPEM: m.PrivateKey.Reveal()}
}

func TestProvision(t *testing.T) {
	core := startIoT(t, nil)
	cfg := device.Config{Endpoint: core.MQTTAddr(), CAFile: core.CAFile(), Timeout: 5 * time.Second}
	tests := []struct {
		name      string
		serial    string
		useCSR    bool
		wantThing string
		wantCode  string
	}{
		{name: "keys from AWS IoT", serial: "SN-OK", wantThing: "widget_SN-OK"},
		{name: "certificate from a CSR", serial: "SN-OK", useCSR: true, wantThing: "widget_SN-OK"},
		{name: "hook denies", serial: "SN-BAD", wantCode: iot.ErrorCodeAccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := device.Provision(t.Context(), cfg, claim(t, core), "widget", tt.serial, tt.useCSR)
			if tt.wantCode != "" {
				var rej *device.RejectedError
				if !errors.As(err, &rej) || rej.ErrorCode != tt.wantCode || rej.StatusCode != 403 {
					t.Fatalf("got %v, want a %s rejection", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("provision: %v", err)
			}
			if res.ThingName != tt.wantThing || res.Certificate.CertificateID == "" {
				t.Errorf("got %+v, want thing %s with a certificate", res, tt.wantThing)
			}
		})
	}
}

func TestExpiredClaimCannotConnect(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	core := startIoT(t, clock)
	creds := claim(t, core)
	now = now.Add(6 * time.Minute)
	_, err := device.Connect(t.Context(), device.Config{Endpoint: core.MQTTAddr(), CAFile: core.CAFile(), Timeout: 3 * time.Second}, creds)
	if err == nil {
		t.Fatal("got a connection with an expired claim certificate, want a refusal")
	}
}
