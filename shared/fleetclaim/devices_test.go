package fleetclaim_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// provision issues a claim for serial as the world's installer and
// registers it with a new device certificate, which it returns.
func (w *world) provision(serial string) (fleetclaim.ClaimID, string) {
	w.t.Helper()
	id := w.issue(serial).Claim.ID
	cert := fleetclaimtest.NewCertificateID()
	d := w.gate.Decide(context.Background(), fleetclaim.ProvisionRequest{
		ClaimID: id, DeviceCertificateID: cert, Template: template, Serial: serial, ClientID: "client-" + serial})
	if !d.Allow {
		w.t.Fatalf("register %s: %s", serial, d.Reason)
	}
	return id, cert
}

// Decommission: who may, what it does in AWS IoT and in the store, and that
// the serial is then free.
func TestDecommissionDevice(t *testing.T) {
	tests := []struct {
		name      string
		mayDecom  bool // the tenant lets installers decommission
		as        func(w *world) fleetclaim.Principal
		wantKind  fleetclaim.Kind // "" for success
		wantState fleetclaim.DeviceState
	}{
		{name: "an admin", as: (*world).adminP},
		{name: "its installer, where the tenant allows it", mayDecom: true, as: (*world).installerP},
		{name: "its installer, where the tenant does not", as: (*world).installerP, wantKind: fleetclaim.KindForbidden},
		{name: "another installer, where the tenant allows it", mayDecom: true,
			as: func(w *world) fleetclaim.Principal { return principal(w.other) }, wantKind: fleetclaim.KindForbidden},
		{name: "an admin of another tenant", as: func(w *world) fleetclaim.Principal {
			w.addTenant("globex", fleetclaim.TenantActive)
			return principal(w.addInstaller("globex", fleetclaim.InstallerApproved), fleetclaim.GroupAdmins)
		}, wantKind: fleetclaim.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			if tt.mayDecom {
				w.tenant.InstallersMayDecommission = true
				if err := w.store.PutTenant(ctx, w.tenant); err != nil {
					t.Fatal(err)
				}
			}
			_, cert := w.provision("SN-0001")
			d, err := w.svc.DecommissionDevice(ctx, tt.as(w), "SN-0001", "water damage")
			if tt.wantKind != "" {
				if e := errorOf(t, err); e.Kind != tt.wantKind {
					t.Errorf("got %s, want %s", e.Kind, tt.wantKind)
				}
				if calls := w.revoker.Calls(); len(calls) != 0 {
					t.Errorf("got AWS IoT calls %v for a refused decommission, want none", calls)
				}
				if live, err := w.store.GetDevice(ctx, "acme", "SN-0001"); err != nil || live.State == fleetclaim.DeviceDecommissioned {
					t.Errorf("got %+v, %v; want the device live still", live, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decommission: %v", err)
			}
			if d.State != fleetclaim.DeviceDecommissioned || d.CertificateID != cert || d.DecommissionReason != "water damage" ||
				d.DecommissionedAt.IsZero() {
				t.Errorf("got %+v, want it decommissioned with its certificate, time and reason", d)
			}
			want := []string{"deactivate " + cert, "detach acme_SN-0001 " + cert}
			if got := w.revoker.Calls(); !slices.Equal(got, want) {
				t.Errorf("got AWS IoT calls %q, want %q", got, want)
			}
			w.wantAudit(fleetclaim.ActionDeviceDecommissioned, "SN-0001", "")
			// The serial is free: a new claim for it is issued.
			if _, err := w.svc.IssueClaim(ctx, w.installerP(), fleetclaim.IssueRequest{Serial: "SN-0001"}); err != nil {
				t.Errorf("got %v issuing a claim for the freed serial", err)
			}
			// A repeat is a success that changes nothing.
			again, err := w.svc.DecommissionDevice(ctx, tt.as(w), "SN-0001", "water damage")
			if err != nil || again.CertificateID != cert || again.State != fleetclaim.DeviceDecommissioned {
				t.Errorf("got %+v, %v repeating; want the decommissioned device", again, err)
			}
			if n := len(w.revoker.Calls()); n != 2 {
				t.Errorf("got %d AWS IoT calls after the repeat, want the first 2 only", n)
			}
		})
	}
}

// AWS IoT first: when it fails nothing changes in the store, and a repeat
// finishes the job. Bad input changes nothing either.
func TestDecommissionDeviceFailures(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, cert := w.provision("SN-0001")
	for _, reason := range []string{strings.Repeat("x", 201), "a\nb", "\xff"} {
		_, err := w.svc.DecommissionDevice(ctx, w.adminP(), "SN-0001", reason)
		if e := errorOf(t, err); e.Kind != fleetclaim.KindInvalid || e.Field != "reason" {
			t.Errorf("reason %q: got %s field %q, want invalid reason", reason, e.Kind, e.Field)
		}
	}
	if _, err := w.svc.DecommissionDevice(ctx, w.adminP(), "SN-NONE", ""); errorOf(t, err).Kind != fleetclaim.KindNotFound {
		t.Errorf("got %v for a serial with no device, want not found", err)
	}
	w.revoker.Fail(errStoreDown)
	if _, err := w.svc.DecommissionDevice(ctx, w.adminP(), "SN-0001", ""); errorOf(t, err).Kind != fleetclaim.KindUnavailable {
		t.Errorf("got %v with AWS IoT failing, want unavailable", err)
	}
	if d, err := w.store.GetDevice(ctx, "acme", "SN-0001"); err != nil || d.CertificateID != cert {
		t.Fatalf("got %+v, %v after the failure; want the device live still", d, err)
	}
	w.revoker.Fail(nil)
	if d, err := w.svc.DecommissionDevice(ctx, w.adminP(), "SN-0001", ""); err != nil || d.State != fleetclaim.DeviceDecommissioned {
		t.Errorf("got %+v, %v on the repeat; want decommissioned", d, err)
	}
}

// Replacement is decommission plus a new claim, one call, one story.
func TestReplaceDevice(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, cert := w.provision("SN-0001")

	_, err := w.svc.ReplaceDevice(ctx, w.adminP(), "SN-0001", fleetclaim.IssueRequest{Template: "someone-elses"})
	if e := errorOf(t, err); e.Kind != fleetclaim.KindInvalid || e.Field != "template" {
		t.Fatalf("got %v, want invalid template", err)
	}
	if d, err := w.store.GetDevice(ctx, "acme", "SN-0001"); err != nil || d.CertificateID != cert {
		t.Fatalf("got %+v, %v after a refused replacement; want the device live still", d, err)
	}

	ic, err := w.svc.ReplaceDevice(ctx, w.adminP(), "SN-0001", fleetclaim.IssueRequest{Site: "Hall 3"})
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	if ic.Claim.Serial != "SN-0001" || ic.Claim.Status != fleetclaim.ClaimIssued || ic.Claim.Site != "Hall 3" || ic.PrivateKey.Reveal() == "" {
		t.Errorf("got %+v, want an issued claim for SN-0001 with its key", ic.Claim)
	}
	if !w.revoker.Inactive(cert) {
		t.Errorf("got the old device certificate still active")
	}
	e := w.wantAudit(fleetclaim.ActionDeviceReplaced, "SN-0001", "")
	if !strings.Contains(e.Detail, cert) || !strings.Contains(e.Detail, string(ic.Claim.ID)) {
		t.Errorf("got detail %q, want it to name the old certificate and the new claim", e.Detail)
	}
	// The new claim registers the new device.
	if d := w.register(ic.Claim.ID, "SN-0001", template); !d.Allow {
		t.Fatalf("got the replacement's claim denied %q", d.Reason)
	}
	hist, _, err := w.svc.ListDeviceHistory(ctx, w.installerP(), "SN-0001", fleetclaim.Page{})
	if err != nil || len(hist) != 1 || hist[0].CertificateID != cert || hist[0].DecommissionReason != fleetclaim.ReasonReplaced {
		t.Errorf("got history %+v, %v; want the replaced device", hist, err)
	}
}

// GetDevice answers the live device, or the newest decommissioned one, with
// overdue derived on read; a serial that never had a device is not found.
func TestGetDeviceStatesAndOverdue(t *testing.T) {
	w := newWorld(t)
	w.svc.OnlineWithin = 15 * time.Minute
	ctx := context.Background()
	get := func() fleetclaim.Device {
		t.Helper()
		d, err := w.svc.GetDevice(ctx, w.installerP(), "SN-0001")
		if err != nil {
			t.Fatalf("get device: %v", err)
		}
		return d
	}
	if _, err := w.svc.GetDevice(ctx, w.installerP(), "SN-0001"); errorOf(t, err).Kind != fleetclaim.KindNotFound {
		t.Fatalf("got %v before any device, want not found", err)
	}
	claim, cert := w.provision("SN-0001")
	steps := []struct {
		name        string
		do          func()
		wantState   fleetclaim.DeviceState
		wantOverdue bool
	}{
		{"just registered", func() {}, fleetclaim.DeviceRegistered, false},
		{"a second before the window ends", func() { w.advance(15*time.Minute - time.Second) }, fleetclaim.DeviceRegistered, false},
		{"at the window's end", func() { w.advance(time.Second) }, fleetclaim.DeviceRegistered, true},
		{"online late", func() {
			if _, err := w.life.Observe(ctx, fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-0001",
				PrincipalID: cert, At: w.clock()}); err != nil {
				t.Fatal(err)
			}
		}, fleetclaim.DeviceOnline, false},
		{"decommissioned", func() {
			if _, err := w.svc.DecommissionDevice(ctx, w.adminP(), "SN-0001", ""); err != nil {
				t.Fatal(err)
			}
		}, fleetclaim.DeviceDecommissioned, false},
	}
	for _, s := range steps {
		s.do()
		if d := get(); d.State != s.wantState || d.Overdue != s.wantOverdue {
			t.Errorf("%s: got %q overdue %v, want %q overdue %v", s.name, d.State, d.Overdue, s.wantState, s.wantOverdue)
		}
		// The installer follows the same story on the claim.
		c, err := w.svc.GetClaim(ctx, w.installerP(), claim)
		if err != nil || c.Device == nil || c.Device.State != s.wantState || c.Device.Overdue != s.wantOverdue {
			t.Errorf("%s: got the claim's device %+v (%v), want %q overdue %v", s.name, c.Device, err, s.wantState, s.wantOverdue)
		}
	}
}

// A serial's history: not found if the tenant never claimed it, empty while
// its first device is live, newest first after replacements.
func TestListDeviceHistory(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, _, err := w.svc.ListDeviceHistory(ctx, w.installerP(), "SN-0001", fleetclaim.Page{}); errorOf(t, err).Kind != fleetclaim.KindNotFound {
		t.Fatalf("got %v for a serial never claimed, want not found", err)
	}
	_, first := w.provision("SN-0001")
	if hist, _, err := w.svc.ListDeviceHistory(ctx, w.installerP(), "SN-0001", fleetclaim.Page{}); err != nil || len(hist) != 0 {
		t.Fatalf("got %v, %v while the first device is live; want an empty history", hist, err)
	}
	var certs []string
	certs = append(certs, first)
	for range 2 {
		w.advance(time.Minute)
		ic, err := w.svc.ReplaceDevice(ctx, w.adminP(), "SN-0001", fleetclaim.IssueRequest{})
		if err != nil {
			t.Fatalf("replace: %v", err)
		}
		cert := fleetclaimtest.NewCertificateID()
		if d := w.gate.Decide(ctx, fleetclaim.ProvisionRequest{ClaimID: ic.Claim.ID, DeviceCertificateID: cert,
			Template: template, Serial: "SN-0001"}); !d.Allow {
			t.Fatalf("register the replacement: %s", d.Reason)
		}
		certs = append(certs, cert)
	}
	hist, _, err := w.svc.ListDeviceHistory(ctx, w.installerP(), "SN-0001", fleetclaim.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range hist {
		got = append(got, d.CertificateID)
	}
	if want := []string{certs[1], certs[0]}; !slices.Equal(got, want) {
		t.Errorf("got history %q, want %q (newest first)", got, want)
	}
	if live, err := w.svc.GetDevice(ctx, w.installerP(), "SN-0001"); err != nil || live.CertificateID != certs[2] {
		t.Errorf("got %+v, %v; want the third device live", live, err)
	}
}
