package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// The metrics page shows, over real HTTP, what the deployed functions would
// have published for the same flow: claims issued, a registration allowed
// and one denied with its reason, and the hook's timing.
func TestEndToEndMetricsPage(t *testing.T) {
	x := startStack(t, t.TempDir())
	ctx := t.Context()
	in := x.approvedInstaller("acme")

	good := "SN-" + randomSuffix()
	c := x.issue(in, good)
	if _, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, good, false); err != nil {
		t.Fatalf("provision: %v", err)
	}
	bad := x.issue(in, "SN-"+randomSuffix())
	_, err := device.Provision(ctx, x.deviceConfig(), creds(bad), bad.TemplateName, "SN-NOT-BOUND", false)
	var rej *device.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("got %v, want a /rejected reply", err)
	}

	resp, err := http.Get(x.e.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", x.e.MetricsURL, resp.StatusCode)
	}
	var page metrics.Page
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if page.Namespace != metricsNamespace || len(page.Metrics) != len(metrics.All) {
		t.Fatalf("got namespace %q with %d metrics, want %q with all %d", page.Namespace, len(page.Metrics), metricsNamespace, len(metrics.All))
	}
	byName := map[string]metrics.PageMetric{}
	for _, m := range page.Metrics {
		byName[m.Name] = m
	}
	tests := []struct {
		name string
		got  int64
		want int64
	}{
		{"ClaimsIssued", byName[metrics.ClaimsIssued.Name].Total.Count, 2},
		{"RegistrationsAllowed", byName[metrics.RegistrationsAllowed.Name].Total.Count, 1},
		{"RegistrationsDenied", byName[metrics.RegistrationsDenied.Name].Total.Count, 1},
		{"RegistrationsDenied serial_mismatch", byName[metrics.RegistrationsDenied.Name].Values[string(fleetclaim.ReasonSerialMismatch)].Count, 1},
		{"ClaimToRegistrationSeconds", byName[metrics.ClaimToRegistrationSeconds.Name].Total.Count, 1},
		{"HookDecisionMilliseconds", byName[metrics.HookDecisionMilliseconds.Name].Total.Count, 2},
		{"QuotaRefusals", byName[metrics.QuotaRefusals.Name].Total.Count, 0},
		{"StoreErrors", byName[metrics.StoreErrors.Name].Total.Count, 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if hook := byName[metrics.HookDecisionMilliseconds.Name].Total; hook.Max >= 5000 {
		t.Errorf("hook decision took %v ms; AWS IoT waits 5000", hook.Max)
	}
}
