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

// serialScene is a story of SN-0001, and the certificates it left: first
// and second are its devices in order (second is "" when there was one).
type serialScene struct {
	first, second string
}

// serialScenes set up SN-0001 as a request naming a certificate may find it.
var serialScenes = map[string]func(w *world) serialScene{
	// One device, live.
	"live": func(w *world) serialScene {
		_, cert := w.provision("SN-0001")
		return serialScene{first: cert}
	},
	// One device, decommissioned: no live device.
	"decommissioned": func(w *world) serialScene {
		_, cert := w.provision("SN-0001")
		if _, err := w.svc.DecommissionDevice(context.Background(), w.adminP(), "SN-0001", ""); err != nil {
			w.t.Fatalf("decommission: %v", err)
		}
		return serialScene{first: cert}
	},
	// The first device replaced, and the replacement unit registered.
	"replaced": func(w *world) serialScene {
		first, second := w.replaceAndRegister()
		return serialScene{first: first, second: second}
	},
	// Replaced, and then the replacement decommissioned too.
	"replaced, then decommissioned": func(w *world) serialScene {
		first, second := w.replaceAndRegister()
		w.advance(time.Minute)
		if _, err := w.svc.DecommissionDevice(context.Background(), w.adminP(), "SN-0001", ""); err != nil {
			w.t.Fatalf("decommission: %v", err)
		}
		return serialScene{first: first, second: second}
	},
}

// replaceAndRegister provisions SN-0001, replaces it a minute later and
// registers the replacement unit; it returns both certificates.
func (w *world) replaceAndRegister() (string, string) {
	w.t.Helper()
	ctx := context.Background()
	_, first := w.provision("SN-0001")
	w.advance(time.Minute)
	ic, err := w.svc.ReplaceDevice(ctx, w.adminP(), "SN-0001", fleetclaim.IssueRequest{})
	if err != nil {
		w.t.Fatalf("replace: %v", err)
	}
	second := fleetclaimtest.NewCertificateID()
	if d := w.gate.Decide(ctx, fleetclaim.ProvisionRequest{ClaimID: ic.Claim.ID, DeviceCertificateID: second,
		Template: template, Serial: "SN-0001", ClientID: "client-SN-0001"}); !d.Allow {
		w.t.Fatalf("register the replacement: %s", d.Reason)
	}
	return first, second
}

// serialSnapshot is what a refused request must leave as it was.
type serialSnapshot struct {
	live    string // the live device's certificate, "" for none
	history []string
	claim   fleetclaim.ClaimID // the serial's newest claim
	calls   int                // AWS IoT calls so far
}

// wantRefusedUnchanged fails the test unless err is of kind and code and
// the serial is as it was before the refused request.
func (w *world) wantRefusedUnchanged(err error, kind fleetclaim.Kind, code, serial string, before serialSnapshot) {
	w.t.Helper()
	if e := errorOf(w.t, err); e.Kind != kind || e.Code != code {
		w.t.Errorf("got %s/%s, want %s/%s", e.Kind, e.Code, kind, code)
	}
	if after := w.snapshot(serial); !after.equal(before) {
		w.t.Errorf("got %+v after the refusal, want %+v: nothing changed", after, before)
	}
}

func (w *world) snapshot(serial string) serialSnapshot {
	w.t.Helper()
	ctx := context.Background()
	var s serialSnapshot
	if d, err := w.store.GetDevice(ctx, "acme", serial); err == nil {
		s.live = d.CertificateID
	}
	hist, _, err := w.store.ListDeviceHistory(ctx, "acme", serial, fleetclaim.Page{})
	if err != nil {
		w.t.Fatalf("list history: %v", err)
	}
	for _, d := range hist {
		s.history = append(s.history, d.CertificateID)
	}
	st, err := w.store.GetSerial(ctx, "acme", serial)
	if err != nil {
		w.t.Fatalf("get serial: %v", err)
	}
	if st.Claim != nil {
		s.claim = st.Claim.ID
	}
	s.calls = len(w.revoker.Calls())
	return s
}

func (s serialSnapshot) equal(o serialSnapshot) bool {
	return s.live == o.live && slices.Equal(s.history, o.history) && s.claim == o.claim && s.calls == o.calls
}

// A decommission naming a certificate applies only to that device, on every
// store: a retry after a replacement registered is refused, a retry after
// the decommission succeeded answers the history entry, and without the
// certificate the request is as it always was.
func TestDecommissionNamingCertificate(t *testing.T) {
	tests := []struct {
		name  string
		scene string
		cert  func(s serialScene) string
		// wantKind and wantCode describe a refusal; "" for success.
		wantKind fleetclaim.Kind
		wantCode string
		// wantCert is the certificate of the device answered.
		wantCert func(s serialScene) string
		// wantCalls is whether AWS IoT is called (a live device retired).
		wantCalls bool
	}{
		{name: "the live device", scene: "live", cert: first, wantCert: first, wantCalls: true},
		{name: "a retry after a replacement registered", scene: "replaced", cert: first,
			wantKind: fleetclaim.KindConflict, wantCode: fleetclaim.CodeDeviceChanged},
		{name: "the replacement, by its own certificate", scene: "replaced", cert: second, wantCert: second, wantCalls: true},
		{name: "a retry after it succeeded", scene: "decommissioned", cert: first, wantCert: first},
		{name: "an older device with none live", scene: "replaced, then decommissioned", cert: first,
			wantKind: fleetclaim.KindConflict, wantCode: fleetclaim.CodeDeviceChanged},
		{name: "the newest device with none live", scene: "replaced, then decommissioned", cert: second, wantCert: second},
		{name: "a certificate the serial never had", scene: "live",
			cert:     func(serialScene) string { return fleetclaimtest.NewCertificateID() },
			wantKind: fleetclaim.KindConflict, wantCode: fleetclaim.CodeDeviceChanged},
		{name: "none named, after a replacement registered", scene: "replaced",
			cert: func(serialScene) string { return "" }, wantCert: second, wantCalls: true},
	}
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					w := newWorldWith(t, open(t))
					s := serialScenes[tt.scene](w)
					before := w.snapshot("SN-0001")
					d, err := w.svc.Decommission(context.Background(), w.adminP(), "SN-0001",
						fleetclaim.DecommissionRequest{Reason: "retry", CertificateID: tt.cert(s)})
					if tt.wantKind != "" {
						w.wantRefusedUnchanged(err, tt.wantKind, tt.wantCode, "SN-0001", before)
						return
					}
					if err != nil {
						t.Fatalf("decommission: %v", err)
					}
					if d.State != fleetclaim.DeviceDecommissioned || d.CertificateID != tt.wantCert(s) {
						t.Errorf("got %s device %s, want decommissioned %s", d.State, d.CertificateID, tt.wantCert(s))
					}
					if calls := len(w.revoker.Calls()) - before.calls; (calls > 0) != tt.wantCalls {
						t.Errorf("got %d AWS IoT calls, want some: %v", calls, tt.wantCalls)
					}
					if live, err := w.store.GetDevice(context.Background(), "acme", "SN-0001"); err == nil {
						t.Errorf("got %s live still, want the serial free", live.CertificateID)
					}
				})
			}
		})
	}
}

// A replacement naming a certificate decommissions only that device; with
// none live and the newest history entry the one named it goes on to issue,
// as a repeat whose first answer was lost needs.
func TestReplaceNamingCertificate(t *testing.T) {
	tests := []struct {
		name     string
		scene    string
		cert     func(s serialScene) string
		wantKind fleetclaim.Kind
		wantCode string
		// wantOld is the certificate the device.replaced audit names.
		wantOld func(s serialScene) string
	}{
		{name: "the live device", scene: "live", cert: first, wantOld: first},
		{name: "a retry after the replacement registered", scene: "replaced", cert: first,
			wantKind: fleetclaim.KindConflict, wantCode: fleetclaim.CodeDeviceChanged},
		{name: "the replacement, by its own certificate", scene: "replaced", cert: second, wantOld: second},
		{name: "the newest device with none live", scene: "decommissioned", cert: first, wantOld: first},
		{name: "an older device with none live", scene: "replaced, then decommissioned", cert: first,
			wantKind: fleetclaim.KindConflict, wantCode: fleetclaim.CodeDeviceChanged},
	}
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					w := newWorldWith(t, open(t))
					s := serialScenes[tt.scene](w)
					w.advance(time.Minute)
					before := w.snapshot("SN-0001")
					ic, err := w.svc.Replace(context.Background(), w.adminP(), "SN-0001", tt.cert(s), fleetclaim.IssueRequest{})
					if tt.wantKind != "" {
						w.wantRefusedUnchanged(err, tt.wantKind, tt.wantCode, "SN-0001", before)
						return
					}
					if err != nil {
						t.Fatalf("replace: %v", err)
					}
					if ic.Claim.Serial != "SN-0001" || ic.Claim.Status != fleetclaim.ClaimIssued {
						t.Errorf("got claim %+v, want one issued for SN-0001", ic.Claim)
					}
					e := w.wantAudit(fleetclaim.ActionDeviceReplaced, "SN-0001", "")
					if old := tt.wantOld(s); !strings.Contains(e.Detail, old) || !strings.Contains(e.Detail, string(ic.Claim.ID)) {
						t.Errorf("got detail %q, want it to name %s and the new claim", e.Detail, old)
					}
				})
			}
		})
	}
}

// A malformed certificateId is refused by name before anything changes.
func TestDeviceCertificateIDValidated(t *testing.T) {
	bad := []string{
		strings.Repeat("A", 64),        // upper case
		strings.Repeat("a", 63),        // short
		strings.Repeat("a", 65),        // long
		"0x" + strings.Repeat("a", 62), // prefixed
		strings.Repeat("g", 64),        // not hex
	}
	w := newWorld(t)
	w.provision("SN-0001")
	before := w.snapshot("SN-0001")
	for _, id := range bad {
		_, err := w.svc.Decommission(context.Background(), w.adminP(), "SN-0001", fleetclaim.DecommissionRequest{CertificateID: id})
		if e := errorOf(t, err); e.Kind != fleetclaim.KindInvalid || e.Field != "certificateId" {
			t.Errorf("decommission naming %q: got %s field %q, want invalid certificateId", id, e.Kind, e.Field)
		}
		_, err = w.svc.Replace(context.Background(), w.adminP(), "SN-0001", id, fleetclaim.IssueRequest{})
		if e := errorOf(t, err); e.Kind != fleetclaim.KindInvalid || e.Field != "certificateId" {
			t.Errorf("replace naming %q: got %s field %q, want invalid certificateId", id, e.Kind, e.Field)
		}
	}
	if after := w.snapshot("SN-0001"); !after.equal(before) {
		t.Errorf("got %+v after the refusals, want %+v: nothing changed", after, before)
	}
}

func first(s serialScene) string  { return s.first }
func second(s serialScene) string { return s.second }
