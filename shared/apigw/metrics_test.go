package apigw_test

import (
	"fmt"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// The API counts what only it sees: claims issued, quota refusals and AWS
// IoT's throttling, each once per answer, and nothing for other refusals.
func TestAPIMetrics(t *testing.T) {
	type counts struct{ issued, quota, throttled int64 }
	tests := []struct {
		name     string
		quota    int
		throttle bool
		bodies   []string
		want     counts
	}{
		{name: "issued", quota: 60, bodies: []string{`{"serialNumber":"SN-0700"}`, `{"serialNumber":"SN-0701"}`},
			want: counts{issued: 2}},
		{name: "quota used up", quota: 1, bodies: []string{`{"serialNumber":"SN-0700"}`, `{"serialNumber":"SN-0701"}`},
			want: counts{issued: 1, quota: 1}},
		{name: "AWS IoT throttling", quota: 60, throttle: true, bodies: []string{`{"serialNumber":"SN-0700"}`},
			want: counts{throttled: 1}},
		{name: "bad input counts nothing", quota: 60, bodies: []string{`{"serialNumber":"SN 0700"}`, `{}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, withQuota(tt.quota))
			tally := metrics.NewTally("")
			w.handler.Metrics = tally
			if tt.throttle {
				w.minter.Fail(fmt.Errorf("create provisioning claim: %w", fleetclaim.ErrThrottled))
			}
			for _, body := range tt.bodies {
				w.handle(issueRequest(body, asInstaller()))
			}
			got := counts{
				issued:    tally.Get(metrics.ClaimsIssued, "").Count,
				quota:     tally.Get(metrics.QuotaRefusals, "").Count,
				throttled: tally.Get(metrics.IoTThrottled, "").Count,
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
