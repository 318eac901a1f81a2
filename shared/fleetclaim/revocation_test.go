package fleetclaim_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// One open claim per serial, decided at issue time: a live device or
// another installer's open claim refuses; the holder's own open claim is
// superseded (revoked, and its certificate deactivated).
func TestIssueClaimOneOpenClaimPerSerial(t *testing.T) {
	tests := []struct {
		name string
		// arrange leaves the serial SN-0001 in some state and returns the
		// claim (if any) the new request meets there.
		arrange    func(w *world) fleetclaim.ClaimID
		as         func(w *world) fleetclaim.Principal
		wantCode   string        // "" for success
		wantRetry  time.Duration // for claim_open
		wantOld    fleetclaim.ClaimStatus
		wantReason fleetclaim.Reason
	}{
		{name: "a serial never claimed", arrange: func(*world) fleetclaim.ClaimID { return "" }},
		{name: "another installer's open claim",
			arrange: func(w *world) fleetclaim.ClaimID {
				id := w.issueAs(w.other, "SN-0001").Claim.ID
				w.advance(time.Minute)
				return id
			},
			wantCode: fleetclaim.CodeClaimOpen, wantRetry: 4 * time.Minute, wantOld: fleetclaim.ClaimIssued},
		{name: "another installer's expired claim",
			arrange: func(w *world) fleetclaim.ClaimID {
				id := w.issueAs(w.other, "SN-0001").Claim.ID
				w.advance(5 * time.Minute)
				return id
			},
			wantOld: fleetclaim.ClaimIssued},
		{name: "another installer's revoked claim",
			arrange: func(w *world) fleetclaim.ClaimID {
				id := w.issueAs(w.other, "SN-0001").Claim.ID
				if _, err := w.svc.RevokeClaim(context.Background(), principal(w.other), id); err != nil {
					w.t.Fatalf("revoke: %v", err)
				}
				return id
			},
			wantOld: fleetclaim.ClaimRevoked, wantReason: fleetclaim.ReasonRevokedByInstaller},
		{name: "the caller's own open claim",
			arrange: func(w *world) fleetclaim.ClaimID { return w.issue("SN-0001").Claim.ID },
			wantOld: fleetclaim.ClaimRevoked, wantReason: fleetclaim.ReasonClaimSuperseded},
		{name: "an admin meets another installer's open claim",
			arrange: func(w *world) fleetclaim.ClaimID { return w.issue("SN-0001").Claim.ID },
			as:      (*world).adminP, wantCode: fleetclaim.CodeClaimOpen, wantRetry: 5 * time.Minute, wantOld: fleetclaim.ClaimIssued},
		{name: "a live device",
			arrange: func(w *world) fleetclaim.ClaimID {
				id := w.issue("SN-0001").Claim.ID
				if d := w.register(id, "SN-0001", template); !d.Allow {
					w.t.Fatalf("register: %s", d.Reason)
				}
				return id
			},
			wantCode: fleetclaim.CodeDeviceAlreadyProvisioned, wantOld: fleetclaim.ClaimConsumed},
		{name: "a decommissioned device",
			arrange: func(w *world) fleetclaim.ClaimID {
				id := w.issue("SN-0001").Claim.ID
				w.register(id, "SN-0001", template)
				if _, err := w.svc.DecommissionDevice(context.Background(), w.adminP(), "SN-0001", ""); err != nil {
					w.t.Fatalf("decommission: %v", err)
				}
				return id
			},
			wantOld: fleetclaim.ClaimConsumed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			old := tt.arrange(w)
			minted := w.minter.Calls()
			as := (*world).installerP
			if tt.as != nil {
				as = tt.as
			}
			ic, err := w.svc.IssueClaim(context.Background(), as(w), fleetclaim.IssueRequest{Serial: "SN-0001"})
			if tt.wantCode != "" {
				e := errorOf(t, err)
				if e.Kind != fleetclaim.KindConflict || e.Code != tt.wantCode || e.RetryAfter != tt.wantRetry {
					t.Errorf("got %s/%s Retry-After %v, want conflict/%s %v", e.Kind, e.Code, e.RetryAfter, tt.wantCode, tt.wantRetry)
				}
				if n := w.minter.Calls(); n != minted {
					t.Errorf("got %d certificates minted for a refused request, want none", n-minted)
				}
			} else if err != nil {
				t.Fatalf("got %v, want a claim", err)
			}
			if old == "" {
				return
			}
			c := w.claim(old)
			if c.Status != tt.wantOld || c.Reason != tt.wantReason {
				t.Errorf("got the earlier claim %q %q, want %q %q", c.Status, c.Reason, tt.wantOld, tt.wantReason)
			}
			superseded := tt.wantReason == fleetclaim.ReasonClaimSuperseded
			// Revoked claims' certificates are deactivated; no other is.
			if got, want := w.revoker.Inactive(string(old)), tt.wantOld == fleetclaim.ClaimRevoked; got != want {
				t.Errorf("got the earlier claim's certificate deactivated %v, want %v", got, want)
			}
			if superseded {
				// The superseded claim is refused by the hook; the new one works.
				if d := w.register(old, "SN-0001", template); d.Allow {
					t.Errorf("got the superseded claim allowed")
				}
				if d := w.register(ic.Claim.ID, "SN-0001", template); !d.Allow {
					t.Errorf("got the new claim denied %q", d.Reason)
				}
				w.wantAudit(fleetclaim.ActionClaimRevoked, string(old), fleetclaim.ReasonClaimSuperseded)
				w.wantAudit(fleetclaim.ActionCertificateDeactivated, string(old), fleetclaim.ReasonClaimSuperseded)
			}
		})
	}
}

// Invariant 9, the takeover: two usable claims for one serial (which issue
// no longer hands out, so the store makes them: the second replaces the
// first once the first was no longer open at the second's issue time, and
// the clock is then set back to when both are unexpired) are raced through
// the hook. Exactly one device registers, on every store; the loser is
// denied serial_in_use and its certificate deactivated.
func TestDecideTakeoverExactlyOneRegisters(t *testing.T) {
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			w := newWorldWith(t, open(t))
			first := w.issue("SN-TAKE").Claim
			second := first
			second.ID = fleetclaim.ClaimID(fleetclaimtest.NewCertificateID())
			second.InstallerID = w.other.ID
			second.IssuedAt, second.UpdatedAt = first.ExpiresAt, first.ExpiresAt
			second.ExpiresAt = first.ExpiresAt.Add(5 * time.Minute)
			second.RetainUntil = second.ExpiresAt.Add(time.Hour)
			if err := w.store.CreateClaim(context.Background(), second, first.ID); err != nil {
				t.Fatalf("create the second claim: %v", err)
			}
			w.advance(time.Minute) // both are issued and unexpired now

			const n = 16
			var wg sync.WaitGroup
			decisions := make([]fleetclaim.Decision, n)
			claims := make([]fleetclaim.ClaimID, n)
			start := make(chan struct{})
			for i := range n {
				claims[i] = []fleetclaim.ClaimID{first.ID, second.ID}[i%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					decisions[i] = w.register(claims[i], "SN-TAKE", template)
				}()
			}
			close(start)
			wg.Wait()
			var winners []fleetclaim.ClaimID
			for i, d := range decisions {
				if d.Allow {
					winners = append(winners, claims[i])
				}
			}
			if len(winners) != 1 {
				t.Fatalf("got %d registrations allowed (%v), want exactly 1", len(winners), winners)
			}
			dev, err := w.store.GetDevice(context.Background(), "acme", "SN-TAKE")
			if err != nil || dev.ClaimID != winners[0] {
				t.Fatalf("got device %+v (%v), want the winner's, claim %s", dev, err, winners[0])
			}
			loser := first.ID
			if winners[0] == first.ID {
				loser = second.ID
			}
			for i, d := range decisions {
				if claims[i] == loser && d.Reason != fleetclaim.ReasonSerialInUse {
					t.Errorf("got the other claim denied %q, want %q", d.Reason, fleetclaim.ReasonSerialInUse)
				}
			}
			if !w.revoker.Inactive(string(loser)) {
				t.Errorf("got the losing claim's certificate still active, want it deactivated")
			}
			// Later, alone, the loser still cannot register.
			if d := w.register(loser, "SN-TAKE", template); d.Allow {
				t.Errorf("got the losing claim allowed afterwards")
			}
		})
	}
}

// Invariant 10 for revocation: the claim certificate is deactivated in AWS
// IoT; revoking again is a success that retries the deactivation; a failed
// deactivation leaves the revocation in force and says so.
func TestRevokeClaimDeactivatesCertificate(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id := w.issue("SN-0001").Claim.ID

	w.revoker.Fail(errStoreDown)
	_, err := w.svc.RevokeClaim(ctx, w.installerP(), id)
	e := errorOf(t, err)
	if e.Kind != fleetclaim.KindUnavailable || e.Code != fleetclaim.CodeUnavailable || !strings.Contains(e.Message, "in force") ||
		strings.Contains(e.Message, errStoreDown.Error()) {
		t.Errorf("got %s/%s %q, want unavailable saying the revocation is in force, without the cause", e.Kind, e.Code, e.Message)
	}
	if c := w.claim(id); c.Status != fleetclaim.ClaimRevoked {
		t.Errorf("got the claim %q after a failed deactivation, want revoked", c.Status)
	}
	if d := w.register(id, "SN-0001", template); d.Allow || d.Reason != fleetclaim.ReasonRevoked {
		t.Errorf("got %+v, want the hook to refuse the revoked claim", d)
	}
	if !strings.Contains(w.logs.String(), string(id)) {
		t.Errorf("got no log line naming the claim whose certificate stayed active")
	}

	w.revoker.Fail(nil)
	c, err := w.svc.RevokeClaim(ctx, w.installerP(), id)
	if err != nil || c.Status != fleetclaim.ClaimRevoked || c.Reason != fleetclaim.ReasonRevokedByInstaller {
		t.Fatalf("got %q %q, %v repeating the revocation; want revoked by the installer", c.Status, c.Reason, err)
	}
	if !w.revoker.Inactive(string(id)) {
		t.Errorf("got the certificate still active after the repeat")
	}
	w.wantAudit(fleetclaim.ActionCertificateDeactivated, string(id), fleetclaim.ReasonRevokedByInstaller)
	if n := w.countAudit(fleetclaim.ActionClaimRevoked, string(id)); n != 1 {
		t.Errorf("got %d claim.revoked events, want 1: the repeat changes nothing", n)
	}
}

// Invariant 10 for suspension: every open claim of the installer is revoked
// (installer_suspended) and its certificate deactivated; other claims are
// left alone; a failed deactivation is reported and a repeat completes it.
func TestSuspendInstallerRevokesOpenClaims(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	used := w.issue("SN-USED").Claim.ID
	w.register(used, "SN-USED", template)
	expired := w.issue("SN-OLD").Claim.ID
	w.advance(6 * time.Minute)
	var open []fleetclaim.ClaimID
	for i := range 3 {
		open = append(open, w.issue(fmt.Sprintf("SN-OPEN-%d", i)).Claim.ID)
	}
	others := w.issueAs(w.other, "SN-OTHER").Claim.ID

	w.revoker.Fail(errStoreDown)
	_, err := w.svc.SuspendInstaller(ctx, w.adminP(), w.installer.ID)
	if e := errorOf(t, err); e.Kind != fleetclaim.KindUnavailable || !strings.Contains(e.Message, "in force") {
		t.Errorf("got %s %q, want unavailable saying the suspension is in force", e.Kind, e.Message)
	}
	w.revoker.Fail(nil)
	in, err := w.svc.SuspendInstaller(ctx, w.adminP(), w.installer.ID)
	if err != nil || in.Status != fleetclaim.InstallerSuspended {
		t.Fatalf("got %q, %v repeating the suspension, want suspended", in.Status, err)
	}
	for _, id := range open {
		if c := w.claim(id); c.Status != fleetclaim.ClaimRevoked || c.Reason != fleetclaim.ReasonInstallerSuspended {
			t.Errorf("got open claim %s %q %q, want revoked %q", id[:8], c.Status, c.Reason, fleetclaim.ReasonInstallerSuspended)
		}
		if !w.revoker.Inactive(string(id)) {
			t.Errorf("got open claim %s's certificate still active", id[:8])
		}
	}
	for _, id := range []fleetclaim.ClaimID{used, expired, others} {
		if w.revoker.Inactive(string(id)) {
			t.Errorf("got claim %s deactivated, want only the suspended installer's open claims", id[:8])
		}
	}
	if c := w.claim(used); c.Status != fleetclaim.ClaimConsumed {
		t.Errorf("got the consumed claim %q, want it consumed", c.Status)
	}
	if c := w.claim(others); c.Status != fleetclaim.ClaimIssued {
		t.Errorf("got another installer's claim %q, want it issued", c.Status)
	}
}

// A denial that burns a claim deactivates its certificate; one that leaves
// it usable, or that the claim's state explains, does not; and a failed
// deactivation changes no decision.
func TestDecideBurnDeactivatesCertificate(t *testing.T) {
	tests := []struct {
		name           string
		arrange        func(w *world)
		serial         string
		fail           bool
		wantReason     fleetclaim.Reason
		wantDeactivate bool
	}{
		{name: "wrong serial", serial: "SN-EVIL", wantReason: fleetclaim.ReasonSerialMismatch, wantDeactivate: true},
		{name: "installer suspended", arrange: func(w *world) { w.setInstallerStatus(w.installer.ID, fleetclaim.InstallerSuspended) },
			serial: "SN-0001", wantReason: fleetclaim.ReasonInstallerNotApproved, wantDeactivate: true},
		{name: "wrong serial, AWS IoT failing", serial: "SN-EVIL", fail: true, wantReason: fleetclaim.ReasonSerialMismatch},
		{name: "expired", arrange: func(w *world) { w.advance(5 * time.Minute) }, serial: "SN-0001", wantReason: fleetclaim.ReasonExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			id := w.issue("SN-0001").Claim.ID
			if tt.arrange != nil {
				tt.arrange(w)
			}
			if tt.fail {
				w.revoker.Fail(errStoreDown)
			}
			d := w.register(id, tt.serial, template)
			if d.Allow || d.Reason != tt.wantReason {
				t.Fatalf("got %+v, want deny %q", d, tt.wantReason)
			}
			if got := w.revoker.Inactive(string(id)); got != tt.wantDeactivate {
				t.Errorf("got the certificate deactivated %v, want %v", got, tt.wantDeactivate)
			}
			if tt.fail && !strings.Contains(w.logs.String(), "not deactivated") {
				t.Errorf("got no log line for the failed deactivation")
			}
		})
	}
}

// countAudit counts the tenant's audit events of action about subject.
func (w *world) countAudit(action, subject string) int {
	w.t.Helper()
	events, _, err := w.store.ListAudit(context.Background(), "acme", fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: fleetclaim.MaxPageSize})
	if err != nil {
		w.t.Fatalf("list audit: %v", err)
	}
	n := 0
	for _, e := range events {
		if e.Action == action && e.Subject == subject {
			n++
		}
	}
	return n
}

// wantAudit fails the test unless an event of action about subject, with
// reason (when not empty), is in the tenant's audit trail.
func (w *world) wantAudit(action, subject string, reason fleetclaim.Reason) fleetclaim.AuditEvent {
	w.t.Helper()
	events, _, err := w.store.ListAudit(context.Background(), "acme", fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: fleetclaim.MaxPageSize})
	if err != nil {
		w.t.Fatalf("list audit: %v", err)
	}
	i := slices.IndexFunc(events, func(e fleetclaim.AuditEvent) bool {
		return e.Action == action && e.Subject == subject && (reason == "" || e.Reason == reason)
	})
	if i < 0 {
		w.t.Errorf("got no %s event for %s with reason %q in the audit trail", action, subject, reason)
		return fleetclaim.AuditEvent{}
	}
	return events[i]
}

// issueAs issues a claim for serial as installer in.
func (w *world) issueAs(in fleetclaim.Installer, serial string) fleetclaim.IssuedClaim {
	w.t.Helper()
	ic, err := w.svc.IssueClaim(context.Background(), principal(in), fleetclaim.IssueRequest{Serial: serial})
	if err != nil {
		w.t.Fatalf("issue claim for %s: %v", serial, err)
	}
	return ic
}

// One open claim per serial under concurrency: installers racing for one
// serial get exactly one claim; every other request is refused claim_open,
// and each refused request's certificate, minted before the store said no,
// is deactivated. Run against every store in storesUnderTest.
func TestIssueClaimConcurrentForOneSerialExactlyOneIssued(t *testing.T) {
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			w := newWorldWith(t, open(t))
			const n = 8
			installers := make([]fleetclaim.Installer, n)
			for i := range installers {
				installers[i] = w.addInstaller("acme", fleetclaim.InstallerApproved)
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			issued := make([]fleetclaim.ClaimID, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					ic, err := w.svc.IssueClaim(context.Background(), principal(installers[i]), fleetclaim.IssueRequest{Serial: "SN-RACE"})
					issued[i], errs[i] = ic.Claim.ID, err
				}()
			}
			close(start)
			wg.Wait()
			var winners []fleetclaim.ClaimID
			for i, err := range errs {
				switch {
				case err == nil:
					winners = append(winners, issued[i])
				case errorOf(t, err).Code != fleetclaim.CodeClaimOpen:
					t.Errorf("got %v, want a claim or %s", err, fleetclaim.CodeClaimOpen)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("got %d claims issued for one serial, want exactly 1", len(winners))
			}
			st, err := w.store.GetSerial(context.Background(), "acme", "SN-RACE")
			if err != nil || st.Claim == nil || st.Claim.ID != winners[0] {
				t.Errorf("got the serial's current claim %+v (%v), want the one issued", st.Claim, err)
			}
			if w.revoker.Inactive(string(winners[0])) {
				t.Errorf("got the issued claim's certificate deactivated")
			}
			// Requests refused before minting minted nothing; the others'
			// certificates are deactivated.
			if minted, deactivated := w.minter.Calls(), len(w.revoker.Calls()); deactivated != minted-1 {
				t.Errorf("got %d certificates deactivated of %d minted, want all but the issued one", deactivated, minted)
			}
		})
	}
}

// The device lifecycle on every store: registered, online, decommissioned,
// replaced, with its history.
func TestDeviceLifecycleOnEveryStore(t *testing.T) {
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			w := newWorldWith(t, open(t))
			ctx := context.Background()
			claim, cert := w.provision("SN-LIFE")
			if _, err := w.life.Observe(ctx, fleetclaim.PresenceEvent{EventType: "connected", ClientID: "acme_SN-LIFE",
				PrincipalID: cert, At: w.clock()}); err != nil {
				t.Fatalf("observe: %v", err)
			}
			if c, err := w.svc.GetClaim(ctx, w.installerP(), claim); err != nil || c.Device == nil || c.Device.State != fleetclaim.DeviceOnline {
				t.Fatalf("got the claim's device %+v (%v), want online", c.Device, err)
			}
			w.advance(time.Minute)
			ic, err := w.svc.ReplaceDevice(ctx, w.adminP(), "SN-LIFE", fleetclaim.IssueRequest{})
			if err != nil {
				t.Fatalf("replace: %v", err)
			}
			if d := w.register(ic.Claim.ID, "SN-LIFE", template); !d.Allow {
				t.Fatalf("got the replacement denied %q", d.Reason)
			}
			live, err := w.svc.GetDevice(ctx, w.installerP(), "SN-LIFE")
			if err != nil || live.ClaimID != ic.Claim.ID || live.State != fleetclaim.DeviceRegistered {
				t.Errorf("got %+v (%v), want the replacement registered", live, err)
			}
			hist, _, err := w.svc.ListDeviceHistory(ctx, w.installerP(), "SN-LIFE", fleetclaim.Page{})
			if err != nil || len(hist) != 1 || hist[0].CertificateID != cert || hist[0].State != fleetclaim.DeviceDecommissioned ||
				hist[0].OnlineAt.IsZero() {
				t.Errorf("got history %+v (%v), want the first device, decommissioned after it was online", hist, err)
			}
		})
	}
}

// A claim the hook burns is deactivated on the way to the denial, best
// effort; should AWS IoT fail then, DELETE on the rejected claim is how the
// installer or an admin completes it: 200, the claim as it is, and the
// certificate deactivated.
func TestRevokeRejectedClaimCompletesDeactivation(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id := w.issue("SN-0001").Claim.ID

	w.revoker.Fail(errStoreDown)
	if d := w.register(id, "SN-OTHER", template); d.Allow || d.Reason != fleetclaim.ReasonSerialMismatch {
		t.Fatalf("got %+v, want the hook to burn the claim presented with another serial", d)
	}
	if w.revoker.Inactive(string(id)) {
		t.Fatal("the certificate was deactivated while AWS IoT failed")
	}
	w.revoker.Fail(nil)
	c, err := w.svc.RevokeClaim(ctx, w.installerP(), id)
	if err != nil || c.Status != fleetclaim.ClaimRejected || c.Reason != fleetclaim.ReasonSerialMismatch {
		t.Fatalf("got %q %q, %v; want the claim as rejected (serial_mismatch), and no error", c.Status, c.Reason, err)
	}
	if !w.revoker.Inactive(string(id)) {
		t.Errorf("got the certificate still active after DELETE")
	}
	if n := w.countAudit(fleetclaim.ActionClaimRevoked, string(id)); n != 0 {
		t.Errorf("got %d claim.revoked events, want none: the claim stays rejected", n)
	}
}
