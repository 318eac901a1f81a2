package iotpresence_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/iotpresence"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// observer records the events it is given and answers with online and err.
type observer struct {
	got    []fleetclaim.PresenceEvent
	online *fleetclaim.Device
	err    error
}

func (o *observer) Observe(_ context.Context, e fleetclaim.PresenceEvent) (*fleetclaim.Device, error) {
	o.got = append(o.got, e)
	return o.online, o.err
}

const certID = "66cb4e0a52dc204ac83f1ebacb3d887abbfc579eae974a5a610b15c98a1bead9"

func TestHandleTranslatesTheEvent(t *testing.T) {
	yes := true
	for _, tt := range []struct {
		name string
		in   iotpresence.Event
		want fleetclaim.PresenceEvent
	}{
		{"connected",
			iotpresence.Event{ClientID: "acme_SN-1", Timestamp: 1795428000123, EventType: "connected",
				SessionIdentifier: "5f0c0e0e-1f1f-4a2a-8b3b-4c4c5d5d6e6e", PrincipalIdentifier: certID, IPAddress: "192.0.2.7"},
			fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-1", PrincipalID: certID,
				At: time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.UTC)}},
		{"disconnected",
			iotpresence.Event{ClientID: "acme_SN-1", Timestamp: 1795428060000, EventType: "disconnected", PrincipalIdentifier: certID,
				ClientInitiatedDisconnect: &yes, DisconnectReason: "CLIENT_INITIATED_DISCONNECT", VersionNumber: 3},
			fleetclaim.PresenceEvent{EventType: "disconnected", ClientID: "acme_SN-1", PrincipalID: certID,
				At: time.Date(2026, 11, 23, 10, 1, 0, 0, time.UTC)}},
		{"no timestamp: the lifecycle's clock decides",
			iotpresence.Event{ClientID: "acme_SN-1", EventType: "connected", PrincipalIdentifier: certID},
			fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-1", PrincipalID: certID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := &observer{}
			if err := (&iotpresence.Handler{Lifecycle: o}).Handle(t.Context(), tt.in); err != nil {
				t.Fatalf("got error %v", err)
			}
			if len(o.got) != 1 || o.got[0] != tt.want {
				t.Errorf("observed %+v, want [%+v]", o.got, tt.want)
			}
		})
	}
}

// A store fault fails the invocation, so that AWS IoT retries it or logs it
// through the rule's error action.
func TestHandleFailsWhenTheLifecycleDoes(t *testing.T) {
	fault := errors.New("table unavailable")
	o := &observer{err: fault}
	err := (&iotpresence.Handler{Lifecycle: o}).Handle(t.Context(), iotpresence.Event{ClientID: "acme_SN-1", EventType: "connected"})
	if !errors.Is(err, fault) || !strings.Contains(err.Error(), "acme_SN-1") {
		t.Errorf("got %v, want the fault, naming the client", err)
	}
}

// The event that brings a device online records the time since its
// registration; any other records nothing.
func TestHandleRecordsRegistrationToOnline(t *testing.T) {
	registered := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		online *fleetclaim.Device
		want   metrics.Stats
	}{
		{"first connection", &fleetclaim.Device{ProvisionedAt: registered, OnlineAt: registered.Add(90 * time.Second)},
			metrics.Stats{Count: 1, Sum: 90, Min: 90, Max: 90}},
		{"any other event", nil, metrics.Stats{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tally := metrics.NewTally(metrics.DefaultNamespace)
			h := &iotpresence.Handler{Lifecycle: &observer{online: tt.online}, Metrics: tally}
			if err := h.Handle(t.Context(), iotpresence.Event{ClientID: "acme_SN-1", EventType: "connected"}); err != nil {
				t.Fatal(err)
			}
			if got := tally.Get(metrics.RegistrationToOnlineSeconds, ""); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
