package fleetclaim_test

import (
	"cmp"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// Invariant 2, rule by rule: each case breaks exactly one condition.
func TestDecideDeniesEachBrokenRule(t *testing.T) {
	tests := []struct {
		name       string
		arrange    func(w *world, c fleetclaim.ClaimID)
		serial     string // presented; "" means the bound one
		template   string // presented; "" means the bound one
		claimID    fleetclaim.ClaimID
		wantReason fleetclaim.Reason
		wantStatus fleetclaim.ClaimStatus // stored afterwards; "" to skip
		wantStored fleetclaim.Reason      // stored afterwards, when not wantReason
	}{
		{name: "no claim record", claimID: storetest.NewClaimID(), wantReason: fleetclaim.ReasonUnknownClaim},
		{name: "malformed claim ID", claimID: "not-a-certificate-id", wantReason: fleetclaim.ReasonInvalidRequest},
		{name: "another serial", serial: "SN-OTHER", wantReason: fleetclaim.ReasonSerialMismatch, wantStatus: fleetclaim.ClaimRejected},
		{name: "serial differing in case", serial: "sn-0001", wantReason: fleetclaim.ReasonSerialMismatch, wantStatus: fleetclaim.ClaimRejected},
		{name: "serial with a trailing space", serial: "SN-0001 ", wantReason: fleetclaim.ReasonSerialMismatch, wantStatus: fleetclaim.ClaimRejected},
		{name: "serial with full-width look-alikes", serial: "ＳＮ-0001", wantReason: fleetclaim.ReasonSerialMismatch, wantStatus: fleetclaim.ClaimRejected},
		{name: "serial with a null byte", serial: "SN-0001\x00", wantReason: fleetclaim.ReasonSerialMismatch, wantStatus: fleetclaim.ClaimRejected},
		{name: "no serial", serial: "-", wantReason: fleetclaim.ReasonSerialMismatch, wantStatus: fleetclaim.ClaimRejected},
		{name: "another template", template: "other-template", wantReason: fleetclaim.ReasonTemplateMismatch, wantStatus: fleetclaim.ClaimRejected},
		{name: "expired but still in the table",
			arrange:    func(w *world, _ fleetclaim.ClaimID) { w.advance(5*time.Minute + time.Second) },
			wantReason: fleetclaim.ReasonExpired, wantStatus: fleetclaim.ClaimExpired},
		{name: "expires at this very instant",
			arrange:    func(w *world, _ fleetclaim.ClaimID) { w.advance(5 * time.Minute) },
			wantReason: fleetclaim.ReasonExpired, wantStatus: fleetclaim.ClaimExpired},
		{name: "revoked",
			arrange: func(w *world, c fleetclaim.ClaimID) {
				if _, err := w.svc.RevokeClaim(context.Background(), w.installerP(), c); err != nil {
					w.t.Fatalf("revoke: %v", err)
				}
			},
			// The device is told the claim is revoked; the claim keeps who
			// revoked it.
			wantReason: fleetclaim.ReasonRevoked, wantStatus: fleetclaim.ClaimRevoked, wantStored: fleetclaim.ReasonRevokedByInstaller},
		{name: "installer suspended after issue",
			arrange: func(w *world, _ fleetclaim.ClaimID) {
				w.setInstallerStatus(w.installer.ID, fleetclaim.InstallerSuspended)
			},
			wantReason: fleetclaim.ReasonInstallerNotApproved, wantStatus: fleetclaim.ClaimRejected},
		{name: "tenant suspended after issue",
			arrange:    func(w *world, _ fleetclaim.ClaimID) { w.addTenant("acme", fleetclaim.TenantSuspended) },
			wantReason: fleetclaim.ReasonTenantInactive, wantStatus: fleetclaim.ClaimRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ic := w.issue("SN-0001")
			id := ic.Claim.ID
			if tt.arrange != nil {
				tt.arrange(w, id)
			}
			serial, tmpl := "SN-0001", template
			switch tt.serial {
			case "":
			case "-":
				serial = ""
			default:
				serial = tt.serial
			}
			if tt.template != "" {
				tmpl = tt.template
			}
			if tt.claimID != "" {
				id = tt.claimID
			}
			d := w.register(id, serial, tmpl)
			if d.Allow {
				t.Fatalf("got allow, want deny with %s", tt.wantReason)
			}
			if d.Reason != tt.wantReason {
				t.Errorf("got reason %q, want %q", d.Reason, tt.wantReason)
			}
			if tt.wantStatus == "" {
				return
			}
			// Invariant 4: the reason is recorded on the claim for the installer.
			c := w.claim(ic.Claim.ID)
			wantStored := cmp.Or(tt.wantStored, tt.wantReason)
			if c.Status != tt.wantStatus || c.Reason != wantStored {
				t.Errorf("got stored status %q reason %q, want %q %q", c.Status, c.Reason, tt.wantStatus, wantStored)
			}
			if _, err := w.store.GetDevice(context.Background(), "acme", "SN-0001"); err == nil {
				t.Errorf("got a device record after a denial, want none")
			}
		})
	}
}

func TestDecideAllowsOnceAndRecordsTheDevice(t *testing.T) {
	w := newWorld(t)
	ic := w.issue("SN-0001")

	d := w.register(ic.Claim.ID, "SN-0001", template)
	if !d.Allow {
		t.Fatalf("got deny %q, want allow", d.Reason)
	}
	want := map[string]string{"ThingName": "acme_SN-0001", "SerialNumber": "SN-0001", "TenantId": "acme", "InstallerId": string(w.installer.ID)}
	for k, v := range want {
		if d.Overrides[k] != v {
			t.Errorf("got override %s=%q, want %q", k, d.Overrides[k], v)
		}
	}
	c := w.claim(ic.Claim.ID)
	if c.Status != fleetclaim.ClaimConsumed || c.Device == nil || c.Device.ThingName != "acme_SN-0001" {
		t.Errorf("got claim %+v, want consumed with the device", c)
	}
	dev, err := w.store.GetDevice(context.Background(), "acme", "SN-0001")
	if err != nil || dev.InstallerID != w.installer.ID || dev.ClaimID != ic.Claim.ID {
		t.Errorf("got device %+v, %v; want it recorded with installer and claim", dev, err)
	}

	// Single use: the same claim again, even with the right serial, is denied.
	again := w.register(ic.Claim.ID, "SN-0001", template)
	if again.Allow || again.Reason != fleetclaim.ReasonAlreadyUsed {
		t.Errorf("got %+v for a second registration, want deny %q", again, fleetclaim.ReasonAlreadyUsed)
	}
	if got := w.claim(ic.Claim.ID); got.Status != fleetclaim.ClaimConsumed || got.Reason != fleetclaim.ReasonAlreadyUsed {
		t.Errorf("got status %q reason %q after reuse, want consumed with %q", got.Status, got.Reason, fleetclaim.ReasonAlreadyUsed)
	}
}

func TestDecideRejectedClaimStaysRejected(t *testing.T) {
	w := newWorld(t)
	ic := w.issue("SN-0001")
	if d := w.register(ic.Claim.ID, "SN-EVIL", template); d.Allow {
		t.Fatalf("got allow for the wrong serial")
	}
	// A claim seen with a wrong serial may have leaked: it is burnt.
	if d := w.register(ic.Claim.ID, "SN-0001", template); d.Allow || d.Reason != fleetclaim.ReasonRejected {
		t.Errorf("got %+v, want deny %q", d, fleetclaim.ReasonRejected)
	}
	// Invariant 4: the installer still sees why it was burnt; later attempts
	// are in the audit trail, not over the reason.
	if c := w.claim(ic.Claim.ID); c.Status != fleetclaim.ClaimRejected || c.Reason != fleetclaim.ReasonSerialMismatch {
		t.Errorf("got stored %q %q, want %q %q", c.Status, c.Reason, fleetclaim.ClaimRejected, fleetclaim.ReasonSerialMismatch)
	}
	if n := w.deniedInAudit(ic.Claim.ID); n != 2 {
		t.Errorf("got %d denials in the audit trail, want 2", n)
	}
}

// Invariant 2, last rule: of concurrent registrations with one claim exactly
// one wins. Run against every store in storesUnderTest.
func TestDecideConcurrentRegistrationsExactlyOneWins(t *testing.T) {
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			w := newWorldWith(t, open(t))
			ic := w.issue("SN-RACE")
			const n = 16
			var wg sync.WaitGroup
			decisions := make([]fleetclaim.Decision, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					decisions[i] = w.register(ic.Claim.ID, "SN-RACE", template)
				}()
			}
			close(start)
			wg.Wait()
			allowed := 0
			for _, d := range decisions {
				if d.Allow {
					allowed++
				} else if d.Reason != fleetclaim.ReasonAlreadyUsed {
					t.Errorf("got loser reason %q, want %q", d.Reason, fleetclaim.ReasonAlreadyUsed)
				}
			}
			if allowed != 1 {
				t.Fatalf("got %d allowed of %d concurrent registrations, want exactly 1", allowed, n)
			}
			// Every loser is audited, including those that lost the
			// conditional write, and none undoes the winner's record.
			if got := w.deniedInAudit(ic.Claim.ID); got != n-1 {
				t.Errorf("got %d denials in the audit trail, want %d", got, n-1)
			}
			if c := w.claim(ic.Claim.ID); c.Status != fleetclaim.ClaimConsumed || c.Device == nil {
				t.Errorf("got claim %q with device %v, want consumed with the winner's device", c.Status, c.Device)
			}
		})
	}
}

// Invariant 3: any fault denies, and a stalled store is cut off by the
// deadline rather than waited for.
func TestDecideFailsClosed(t *testing.T) {
	tests := []struct {
		name       string
		fault      func(f *faultyStore)
		wantReason fleetclaim.Reason
		wantUsable bool // the claim can still be used once the fault clears
	}{
		{name: "claim read fails", fault: func(f *faultyStore) { f.getClaim = fail }, wantReason: fleetclaim.ReasonStoreUnavailable, wantUsable: true},
		{name: "claim read stalls", fault: func(f *faultyStore) { f.getClaim = stall }, wantReason: fleetclaim.ReasonStoreUnavailable, wantUsable: true},
		{name: "installer read fails", fault: func(f *faultyStore) { f.getInstaller = fail }, wantReason: fleetclaim.ReasonStoreUnavailable, wantUsable: true},
		{name: "installer read stalls", fault: func(f *faultyStore) { f.getInstaller = stall }, wantReason: fleetclaim.ReasonStoreUnavailable, wantUsable: true},
		{name: "conditional write fails", fault: func(f *faultyStore) { f.updateClaim = fail }, wantReason: fleetclaim.ReasonStoreUnavailable, wantUsable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ic := w.issue("SN-0001")
			faulty := &faultyStore{Store: w.store}
			tt.fault(faulty)
			gate := *w.gate
			gate.Claims, gate.Installers = faulty, faulty

			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			d := gate.Decide(ctx, fleetclaim.ProvisionRequest{ClaimID: ic.Claim.ID, Template: template, Serial: "SN-0001", DeviceCertificateID: fleetclaimtest.NewCertificateID()})
			if d.Allow || d.Reason != tt.wantReason {
				t.Fatalf("got %+v, want deny %q", d, tt.wantReason)
			}
			if got := w.register(ic.Claim.ID, "SN-0001", template); got.Allow != tt.wantUsable {
				t.Errorf("got allow=%v once the fault cleared, want %v", got.Allow, tt.wantUsable)
			}
		})
	}
}

// The device's request is logged before it is validated, so each field is
// cut to the longest valid value: a huge serial, claim ID, template or
// client ID cannot flood the logs.
func TestDecideLogsBoundedRequest(t *testing.T) {
	w := newWorld(t)
	ic := w.issue("SN-0001")
	huge := strings.Repeat("A", 1<<20)
	before := len(w.logs.String())
	for _, r := range []fleetclaim.ProvisionRequest{
		{ClaimID: ic.Claim.ID, Serial: huge, Template: template, ClientID: "c"},
		{ClaimID: fleetclaim.ClaimID(huge), Serial: "SN-0001", Template: template, ClientID: "c"},
		{ClaimID: ic.Claim.ID, Serial: "SN-0001", Template: huge, ClientID: huge},
	} {
		if d := w.gate.Decide(context.Background(), r); d.Allow {
			t.Fatalf("got allow for %.40s…", r.Serial)
		}
	}
	if grown := len(w.logs.String()) - before; grown > 16<<10 {
		t.Errorf("three denials logged %d bytes, want the request cut to valid lengths", grown)
	}
}
