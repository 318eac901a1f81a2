package events_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/iotpresence"
)

// presenceCase is what one presence event must leave behind for SN-0042
// (registered, its thing acme_SN-0042) after AWS IoT delivered it twice, as
// a rule's action may be.
type presenceCase struct {
	state fleetclaim.DeviceState
	// online is how many device.online events name SN-0042.
	online int
}

var presenceCases = map[string]presenceCase{
	// The device's own certificate, as its thing: online, audited once.
	"connected-device": {state: fleetclaim.DeviceOnline, online: 1},
	// The consumed claim's certificate under the thing's name proves
	// nothing about the device.
	"connected-claim-certificate": {state: fleetclaim.DeviceRegistered},
	"disconnected":                {state: fleetclaim.DeviceRegistered},
	// A thing with no live device: ignored, and the invocation succeeds.
	"unknown-thing": {state: fleetclaim.DeviceRegistered},
}

func TestPresenceEvents(t *testing.T) {
	for _, path := range fixtures("presence", presenceCases) {
		name := nameOf(path)
		t.Run(name, func(t *testing.T) {
			want := presenceCases[name]
			w := newWorld(t)
			h := app.Presence(w.parts)
			if got, want := eventType(h.Handle), reflect.TypeFor[iotpresence.Event](); got != want {
				t.Fatalf("the presence handler takes %s, want %s", got, want)
			}
			ev := load(t, path, h.Handle).(iotpresence.Event)
			for range 2 {
				if err := h.Handle(t.Context(), ev); err != nil {
					t.Fatalf("got error %v, which would send the event to the rule's error action", err)
				}
			}

			d, err := w.store.GetDevice(t.Context(), "acme", "SN-0042")
			if err != nil || d.State != want.state {
				t.Fatalf("SN-0042: got state %q (%v), want %q", d.State, err, want.state)
			}
			wantOnlineAt := time.Time{}
			if want.state == fleetclaim.DeviceOnline {
				wantOnlineAt = time.UnixMilli(ev.Timestamp).UTC()
			}
			if !d.OnlineAt.Equal(wantOnlineAt) {
				t.Errorf("onlineAt: got %s, want %s", d.OnlineAt, wantOnlineAt)
			}
			online := 0
			for _, e := range w.audit(t, "acme") {
				if e.Action == fleetclaim.ActionDeviceOnline && e.Subject == "SN-0042" {
					online++
				}
			}
			if online != want.online {
				t.Errorf("got %d %s events, want %d", online, fleetclaim.ActionDeviceOnline, want.online)
			}
		})
	}
}
