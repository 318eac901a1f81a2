package iothook

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// slowDecider takes `took` of the test clock to decide.
type slowDecider struct {
	Decider
	clock *fleetclaimtest.Clock
	took  time.Duration
}

func (d slowDecider) Decide(ctx context.Context, r fleetclaim.ProvisionRequest) fleetclaim.Decision {
	d.clock.Advance(d.took)
	return d.Decider.Decide(ctx, r)
}

// Every decision of the real Gatekeeper is published: its time, allowed or
// denied by reason, and for an allowed one the claim's age.
func TestHookMetrics(t *testing.T) {
	issued := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		serial      string
		stallClaims bool
		wantAllowed int64
		wantReason  fleetclaim.Reason // "" when allowed
		wantAge     float64           // ClaimToRegistrationSeconds, when allowed
	}{
		{name: "allowed", serial: testSerial, wantAllowed: 1, wantAge: 90},
		{name: "wrong serial", serial: "SN-9999", wantReason: fleetclaim.ReasonSerialMismatch},
		{name: "store stalls", serial: testSerial, stallClaims: true, wantReason: fleetclaim.ReasonStoreUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := seeded(t, issued)
			st := &stall{Store: store, claims: tt.stallClaims}
			clock := fleetclaimtest.NewClock(issued.Add(90*time.Second - 40*time.Millisecond))
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			tally := metrics.NewTally("")
			h := &Handler{Deadline: testDeadline, Log: log, Metrics: tally, Now: clock.Now,
				Decider: slowDecider{clock: clock, took: 40 * time.Millisecond, Decider: &fleetclaim.Gatekeeper{
					Claims: st, Devices: store, Installers: store, Tenants: store, Audit: store,
					Revoker: &fleetclaimtest.Revoker{}, Now: clock.Now, Log: log}}}
			ev := hookEvent()
			ev.Parameters[fleetclaim.ParamSerialNumber] = tt.serial

			handleWithin(t, h, ev)

			if got := tally.Get(metrics.HookDecisionMilliseconds, ""); got.Count != 1 || got.Sum != 40 {
				t.Errorf("decision time: got %+v, want one value of 40 ms", got)
			}
			if got := tally.Get(metrics.RegistrationsAllowed, "").Count; got != tt.wantAllowed {
				t.Errorf("allowed: got %d, want %d", got, tt.wantAllowed)
			}
			wantDenied := int64(0)
			if tt.wantReason != "" {
				wantDenied = 1
			}
			if got := tally.Get(metrics.RegistrationsDenied, "").Count; got != wantDenied {
				t.Errorf("denied in all: got %d, want %d", got, wantDenied)
			}
			if tt.wantReason != "" {
				if got := tally.Get(metrics.RegistrationsDenied, string(tt.wantReason)).Count; got != 1 {
					t.Errorf("denied for %s: got %d, want 1", tt.wantReason, got)
				}
			}
			age := tally.Get(metrics.ClaimToRegistrationSeconds, "")
			if got, want := age.Count, tt.wantAllowed; got != want || age.Sum != tt.wantAge {
				t.Errorf("claim age: got %+v, want %d value(s) summing to %v s", age, want, tt.wantAge)
			}
		})
	}
}
