package fleetclaim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// A registered device is online when it first connects with its own
// certificate under its thing name; nothing else moves it.
func TestObservePresence(t *testing.T) {
	tests := []struct {
		name string
		// event is built from the device's claim and certificate.
		event      func(claim fleetclaim.ClaimID, cert string, at time.Time) fleetclaim.PresenceEvent
		wantState  fleetclaim.DeviceState
		wantOnline bool // an audited device.online
	}{
		{name: "its own certificate connects", event: func(_ fleetclaim.ClaimID, cert string, at time.Time) fleetclaim.PresenceEvent {
			return fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-0001", PrincipalID: cert, At: at}
		}, wantState: fleetclaim.DeviceOnline, wantOnline: true},
		{name: "its own certificate disconnects", event: func(_ fleetclaim.ClaimID, cert string, at time.Time) fleetclaim.PresenceEvent {
			return fleetclaim.PresenceEvent{EventType: "disconnected", ClientID: "acme_SN-0001", PrincipalID: cert, At: at}
		}, wantState: fleetclaim.DeviceRegistered},
		{name: "the claim certificate connects as the thing", event: func(claim fleetclaim.ClaimID, _ string, at time.Time) fleetclaim.PresenceEvent {
			return fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-0001", PrincipalID: string(claim), At: at}
		}, wantState: fleetclaim.DeviceRegistered},
		{name: "another certificate connects as the thing", event: func(_ fleetclaim.ClaimID, _ string, at time.Time) fleetclaim.PresenceEvent {
			return fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-0001", PrincipalID: fleetclaimtest.NewCertificateID(), At: at}
		}, wantState: fleetclaim.DeviceRegistered},
		{name: "its certificate under another client ID", event: func(_ fleetclaim.ClaimID, cert string, at time.Time) fleetclaim.PresenceEvent {
			return fleetclaim.PresenceEvent{EventType: "connected", ClientID: "client-SN-0001", PrincipalID: cert, At: at}
		}, wantState: fleetclaim.DeviceRegistered},
		{name: "its certificate as another tenant's thing", event: func(_ fleetclaim.ClaimID, cert string, at time.Time) fleetclaim.PresenceEvent {
			return fleetclaim.PresenceEvent{EventType: "connected", ClientID: "globex_SN-0001", PrincipalID: cert, At: at}
		}, wantState: fleetclaim.DeviceRegistered},
		{name: "a principal that is not a certificate", event: func(_ fleetclaim.ClaimID, _ string, at time.Time) fleetclaim.PresenceEvent {
			return fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-0001", PrincipalID: "AIDAEXAMPLE:session", At: at}
		}, wantState: fleetclaim.DeviceRegistered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			claim, cert := w.provision("SN-0001")
			w.advance(30 * time.Second)
			at := w.clock().Add(-time.Second) // AWS's timestamp precedes delivery
			online, err := w.life.Observe(ctx, tt.event(claim, cert, at))
			if err != nil {
				t.Fatalf("observe: %v", err)
			}
			if (online != nil) != tt.wantOnline {
				t.Errorf("got device brought online %+v, want one: %v", online, tt.wantOnline)
			}
			d, err := w.store.GetDevice(ctx, "acme", "SN-0001")
			if err != nil {
				t.Fatal(err)
			}
			if d.State != tt.wantState {
				t.Errorf("got state %q, want %q", d.State, tt.wantState)
			}
			if tt.wantOnline && (!d.OnlineAt.Equal(at) || !d.LastConnectedAt.Equal(at)) {
				t.Errorf("got online at %v, last connected %v; want both %v", d.OnlineAt, d.LastConnectedAt, at)
			}
			if n := w.countAudit(fleetclaim.ActionDeviceOnline, "SN-0001"); n != map[bool]int{true: 1}[tt.wantOnline] {
				t.Errorf("got %d device.online events, want %d", n, map[bool]int{true: 1}[tt.wantOnline])
			}
		})
	}
}

// AWS IoT delivers events at least once and in any order: a repeat or a
// later connection does not audit again, and an older event does not move
// the times back.
func TestObserveIsIdempotent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, cert := w.provision("SN-0001")
	first := w.clock().Add(time.Minute)
	later := first.Add(time.Hour)
	for i, at := range []time.Time{first, first, later, first} {
		online, err := w.life.Observe(ctx, fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-0001", PrincipalID: cert, At: at})
		if err != nil {
			t.Fatalf("observe: %v", err)
		}
		if (online != nil) != (i == 0) {
			t.Errorf("event %d: got device brought online %+v, want one only for the first", i, online)
		}
	}
	d, err := w.store.GetDevice(ctx, "acme", "SN-0001")
	if err != nil || !d.OnlineAt.Equal(first) || !d.LastConnectedAt.Equal(later) {
		t.Errorf("got online %v, last connected %v (%v); want %v and %v", d.OnlineAt, d.LastConnectedAt, err, first, later)
	}
	if n := w.countAudit(fleetclaim.ActionDeviceOnline, "SN-0001"); n != 1 {
		t.Errorf("got %d device.online events, want 1", n)
	}
	// The claim shows its device online, for the installer.
	c, err := w.svc.GetClaim(ctx, w.installerP(), d.ClaimID)
	if err != nil || c.Device == nil || c.Device.State != fleetclaim.DeviceOnline {
		t.Errorf("got claim %+v (%v), want its device online", c.Device, err)
	}
}

// Events for a thing with no live device are ignored; a store fault is an
// error, so the rule's action retries.
func TestObserveFaults(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ev := fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-NONE", PrincipalID: fleetclaimtest.NewCertificateID(), At: w.clock()}
	if online, err := w.life.Observe(ctx, ev); err != nil || online != nil {
		t.Errorf("got %+v, %v for a thing with no device, want it ignored", online, err)
	}
	life := *w.life
	life.Devices = brokenDevices{w.store}
	if _, err := life.Observe(ctx, ev); !errors.Is(err, errStoreDown) {
		t.Errorf("got %v with the store down, want the store's error", err)
	}
}

// brokenDevices is a device store that cannot be reached.
type brokenDevices struct{ fleetclaim.DeviceStore }

func (brokenDevices) GetDevice(context.Context, fleetclaim.TenantID, string) (fleetclaim.Device, error) {
	return fleetclaim.Device{}, errStoreDown
}

func TestParseThingName(t *testing.T) {
	tests := []struct {
		name, thing string
		wantTenant  fleetclaim.TenantID
		wantSerial  string
	}{
		{"a thing name", "acme_SN-0001", "acme", "SN-0001"},
		{"a serial with '_'", "acme_SN_1", "acme", "SN_1"},
		{"no separator", "acmeSN-0001", "", ""},
		{"no tenant", "_SN-0001", "", ""},
		{"no serial", "acme_", "", ""},
		{"an upper-case tenant", "Acme_SN-0001", "", ""},
		{"a serial with a space", "acme_SN 1", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant, serial, ok := fleetclaim.ParseThingName(tt.thing)
			if tenant != tt.wantTenant || serial != tt.wantSerial || ok != (tt.wantTenant != "") {
				t.Errorf("got %q %q %v, want %q %q", tenant, serial, ok, tt.wantTenant, tt.wantSerial)
			}
			if ok && fleetclaim.ThingName(tenant, serial) != tt.thing {
				t.Errorf("got ThingName %q, want the round trip to %q", fleetclaim.ThingName(tenant, serial), tt.thing)
			}
		})
	}
}
