package fleetclaim_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// Invariant 1: the claim is recorded under the certificate ID, bound to the
// installer, tenant, template and one serial.
func TestIssueClaimBindsAndRecords(t *testing.T) {
	w := newWorld(t)
	ic, err := w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-0001", Site: "Depot 4"})
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	c := w.claim(ic.Claim.ID)
	want := fleetclaim.Claim{ID: ic.Claim.ID, TenantID: "acme", InstallerID: w.installer.ID, Template: template,
		Serial: "SN-0001", Site: "Depot 4", Status: fleetclaim.ClaimIssued}
	if c.ID != want.ID || c.TenantID != want.TenantID || c.InstallerID != want.InstallerID ||
		c.Template != want.Template || c.Serial != want.Serial || c.Site != want.Site || c.Status != want.Status {
		t.Errorf("got recorded claim %+v, want %+v", c, want)
	}
	if !c.ExpiresAt.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("got expiry %v, want the minted expiry %v", c.ExpiresAt, t0.Add(5*time.Minute))
	}
	if !c.RetainUntil.Equal(c.ExpiresAt.Add(7 * 24 * time.Hour)) {
		t.Errorf("got retain-until %v, want expiry + retention", c.RetainUntil)
	}
	if ic.PrivateKey.Reveal() == "" || ic.CertificatePEM == "" || ic.IoTEndpoint != "iot.example.test" {
		t.Errorf("got issued claim without credentials or endpoint: %+v", ic)
	}
}

// Bad input gets a clear error naming the field and changes nothing: no
// certificate minted, no quota spent, no record.
func TestIssueClaimRejectsBadInput(t *testing.T) {
	tests := []struct {
		name      string
		req       fleetclaim.IssueRequest
		wantField string
	}{
		{"empty serial", fleetclaim.IssueRequest{}, "serialNumber"},
		{"serial too long", fleetclaim.IssueRequest{Serial: strings.Repeat("A", 65)}, "serialNumber"},
		{"serial with a space", fleetclaim.IssueRequest{Serial: "SN 1"}, "serialNumber"},
		{"serial with full-width look-alikes", fleetclaim.IssueRequest{Serial: "ＳＮ１"}, "serialNumber"},
		{"serial with Cyrillic look-alikes", fleetclaim.IssueRequest{Serial: "SN-0001-СО"}, "serialNumber"},
		{"serial with a null byte", fleetclaim.IssueRequest{Serial: "SN\x001"}, "serialNumber"},
		{"serial with an injection", fleetclaim.IssueRequest{Serial: "x'; DROP TABLE claims;--"}, "serialNumber"},
		{"serial with a path", fleetclaim.IssueRequest{Serial: "../../etc/passwd"}, "serialNumber"},
		{"serial with an MQTT wildcard", fleetclaim.IssueRequest{Serial: "SN/#"}, "serialNumber"},
		{"template not offered", fleetclaim.IssueRequest{Serial: "SN-1", Template: "someone-elses"}, "template"},
		{"template malformed", fleetclaim.IssueRequest{Serial: "SN-1", Template: "a b"}, "template"},
		{"site with a control character", fleetclaim.IssueRequest{Serial: "SN-1", Site: "a\nb"}, "site"},
		{"site too long", fleetclaim.IssueRequest{Serial: "SN-1", Site: strings.Repeat("é", 129)}, "site"},
		{"site not UTF-8", fleetclaim.IssueRequest{Serial: "SN-1", Site: "\xff"}, "site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_, err := w.svc.IssueClaim(context.Background(), w.installerP(), tt.req)
			e := errorOf(t, err)
			if e.Kind != fleetclaim.KindInvalid || e.Field != tt.wantField {
				t.Errorf("got %s field %q, want invalid field %q", e.Kind, e.Field, tt.wantField)
			}
			assertNothingIssued(t, w)
		})
	}
}

func assertNothingIssued(t *testing.T, w *world) {
	t.Helper()
	if n := w.minter.Calls(); n != 0 {
		t.Errorf("got %d CreateProvisioningClaim calls, want 0", n)
	}
	cs, _, err := w.store.ListClaims(context.Background(), w.installer.ID, fleetclaim.Page{Limit: 10})
	if err != nil || len(cs) != 0 {
		t.Errorf("got %d claims recorded (%v), want 0", len(cs), err)
	}
}

// Invariant 5: issuance re-checks the live records, so a token minted before
// a change of status or tenant does not keep working.
func TestIssueClaimRechecksLiveInstaller(t *testing.T) {
	tests := []struct {
		name     string
		arrange  func(w *world) fleetclaim.Principal
		wantKind fleetclaim.Kind
		wantCode string
	}{
		{name: "suspended with a still-valid token", arrange: func(w *world) fleetclaim.Principal {
			w.setInstallerStatus(w.installer.ID, fleetclaim.InstallerSuspended)
			return w.installerP()
		}, wantKind: fleetclaim.KindForbidden, wantCode: fleetclaim.CodeInstallerNotApproved},
		{name: "pending", arrange: func(w *world) fleetclaim.Principal {
			return principal(w.addInstaller("acme", fleetclaim.InstallerPending))
		}, wantKind: fleetclaim.KindForbidden, wantCode: fleetclaim.CodeInstallerNotApproved},
		{name: "no installer record", arrange: func(w *world) fleetclaim.Principal {
			return fleetclaim.Principal{Subject: storetest.NewInstallerID(), TenantID: "acme", Scopes: []string{fleetclaim.ScopeClaims}}
		}, wantKind: fleetclaim.KindForbidden, wantCode: fleetclaim.CodeInstallerNotApproved},
		{name: "tenant suspended", arrange: func(w *world) fleetclaim.Principal {
			w.addTenant("acme", fleetclaim.TenantSuspended)
			return w.installerP()
		}, wantKind: fleetclaim.KindForbidden, wantCode: fleetclaim.CodeTenantInactive},
		{name: "token names another tenant", arrange: func(w *world) fleetclaim.Principal {
			w.addTenant("globex", fleetclaim.TenantActive)
			p := w.installerP()
			p.TenantID = "globex"
			return p
		}, wantKind: fleetclaim.KindForbidden, wantCode: fleetclaim.CodeTenantMismatch},
		{name: "token without tenant", arrange: func(w *world) fleetclaim.Principal {
			p := w.installerP()
			p.TenantID = ""
			return p
		}, wantKind: fleetclaim.KindForbidden, wantCode: fleetclaim.CodeTenantMismatch},
		{name: "token without subject", arrange: func(w *world) fleetclaim.Principal {
			return fleetclaim.Principal{TenantID: "acme"}
		}, wantKind: fleetclaim.KindUnauthenticated, wantCode: fleetclaim.CodeUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			p := tt.arrange(w)
			_, err := w.svc.IssueClaim(context.Background(), p, fleetclaim.IssueRequest{Serial: "SN-0001"})
			e := errorOf(t, err)
			if e.Kind != tt.wantKind || e.Code != tt.wantCode {
				t.Errorf("got %s/%s, want %s/%s", e.Kind, e.Code, tt.wantKind, tt.wantCode)
			}
			if n := w.minter.Calls(); n != 0 {
				t.Errorf("got %d CreateProvisioningClaim calls, want 0", n)
			}
		})
	}
}

func TestIssueClaimForProvisionedDeviceConflicts(t *testing.T) {
	w := newWorld(t)
	ic := w.issue("SN-0001")
	if d := w.register(ic.Claim.ID, "SN-0001", template); !d.Allow {
		t.Fatalf("register: %s", d.Reason)
	}
	_, err := w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-0001"})
	if e := errorOf(t, err); e.Kind != fleetclaim.KindConflict || e.Code != fleetclaim.CodeDeviceAlreadyProvisioned {
		t.Errorf("got %s/%s, want conflict/%s", e.Kind, e.Code, fleetclaim.CodeDeviceAlreadyProvisioned)
	}
}

func TestIssueClaimQuota(t *testing.T) {
	w := newWorld(t) // 5 claims per hour
	w.advance(20 * time.Minute)
	for i := range 5 {
		w.issue(fmt.Sprintf("SN-%d", i))
	}
	_, err := w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-6"})
	e := errorOf(t, err)
	if e.Kind != fleetclaim.KindQuota || e.Code != fleetclaim.CodeQuotaExceeded {
		t.Fatalf("got %s/%s, want quota/%s", e.Kind, e.Code, fleetclaim.CodeQuotaExceeded)
	}
	// 10:35 now; the window ends at 11:00.
	if e.RetryAfter != 25*time.Minute {
		t.Errorf("got Retry-After %v, want 25m", e.RetryAfter)
	}
	if n := w.minter.Calls(); n != 5 {
		t.Errorf("got %d mints, want 5: a refused request must not mint", n)
	}
	w.advance(25 * time.Minute)
	w.issue("SN-7") // a new hour, a new allowance

	// Another tenant's quota override applies to its installers.
	w.store.PutTenant(context.Background(), fleetclaim.Tenant{ID: "acme", Name: "acme", Status: fleetclaim.TenantActive, ClaimsPerHour: 1})
	_, err = w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-8"})
	if e := errorOf(t, err); e.Kind != fleetclaim.KindQuota {
		t.Errorf("got %s with the tenant's quota of 1 spent, want quota", e.Kind)
	}
}

func TestIssueClaimConcurrentAtQuotaEdgeNeverExceeds(t *testing.T) {
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			w := newWorldWith(t, open(t))
			const n = 15 // three times the quota of 5
			var wg sync.WaitGroup
			var mu sync.Mutex
			issued, refused := 0, 0
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: fmt.Sprintf("SN-%d", i)})
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						issued++
					} else if e := errorOf(t, err); e.Kind == fleetclaim.KindQuota {
						refused++
					} else {
						t.Errorf("got %v, want success or quota", err)
					}
				}()
			}
			wg.Wait()
			if issued != 5 || refused != n-5 {
				t.Errorf("got %d issued, %d refused; want 5 and %d", issued, refused, n-5)
			}
		})
	}
}

// Faults: the right status, nothing half-done, and a claim that AWS IoT issued
// but the store did not record is unusable.
func TestIssueClaimFaults(t *testing.T) {
	t.Run("IoT throttles", func(t *testing.T) {
		w := newWorld(t)
		w.minter.Fail(fmt.Errorf("rate exceeded: %w", fleetclaim.ErrThrottled))
		_, err := w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-1"})
		e := errorOf(t, err)
		if e.Kind != fleetclaim.KindUnavailable || e.Code != fleetclaim.CodeThrottled || e.RetryAfter <= 0 {
			t.Errorf("got %s/%s retry %v, want unavailable/%s with Retry-After", e.Kind, e.Code, e.RetryAfter, fleetclaim.CodeThrottled)
		}
	})
	t.Run("IoT fails", func(t *testing.T) {
		w := newWorld(t)
		w.minter.Fail(errStoreDown)
		_, err := w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-1"})
		if e := errorOf(t, err); e.Kind != fleetclaim.KindUnavailable || strings.Contains(e.Message, "refused") {
			t.Errorf("got %s %q, want unavailable without the cause in the message", e.Kind, e.Message)
		}
	})
	t.Run("store fails after IoT minted", func(t *testing.T) {
		w := newWorld(t)
		faulty := &faultyStore{Store: w.store, createClaim: fail}
		svc := *w.svc
		svc.Store = faulty
		var minted fleetclaim.ClaimID
		svc.Minter = mintRecorder{w.minter, &minted}
		_, err := svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-1"})
		if e := errorOf(t, err); e.Kind != fleetclaim.KindUnavailable {
			t.Fatalf("got %s, want unavailable", e.Kind)
		}
		if d := w.register(minted, "SN-1", template); d.Allow || d.Reason != fleetclaim.ReasonUnknownClaim {
			t.Errorf("got %+v for the unrecorded claim, want deny %q", d, fleetclaim.ReasonUnknownClaim)
		}
	})
}

type mintRecorder struct {
	m  *fleetclaimtest.Minter
	id *fleetclaim.ClaimID
}

func (r mintRecorder) CreateProvisioningClaim(ctx context.Context, tmpl string) (fleetclaim.MintedClaim, error) {
	mc, err := r.m.CreateProvisioningClaim(ctx, tmpl)
	*r.id = fleetclaim.ClaimID(mc.CertificateID)
	return mc, err
}

// Invariant 6: the private key goes to the installer once and into no log line.
func TestPrivateKeyNeverLogged(t *testing.T) {
	w := newWorld(t)
	ic := w.issue("SN-0001")
	w.register(ic.Claim.ID, "SN-0001", template)
	w.register(ic.Claim.ID, "SN-0002", template)
	faulty := &faultyStore{Store: w.store, createClaim: fail}
	svc := *w.svc
	svc.Store = faulty
	_, _ = svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-0003"})

	logs := w.logs.String()
	if !strings.Contains(logs, "claim issued") || !strings.Contains(logs, "claim minted but not recorded") {
		t.Fatalf("got logs without the issue lines; the test would prove nothing:\n%s", logs)
	}
	for _, key := range w.minter.Keys() {
		body := strings.Split(key, "\n")[1]
		if strings.Contains(logs, body) {
			t.Errorf("got the private key in the logs:\n%s", logs)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v %s", ic, ic, ic, ic.PrivateKey); strings.Contains(s, "SECRET") {
		t.Errorf("got the key from fmt: %s", s)
	}
}

// Invariant 6: the private key is returned once and never stored. The
// embedded store's file, read byte for byte after issuing, provisioning and
// a failed issuance, holds the claims (the control) and none of the keys.
func TestPrivateKeyNeverStored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleetclaim.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldWith(t, st)
	ic := w.issue("SN-0001")
	w.issue("SN-0002")
	w.register(ic.Claim.ID, "SN-0001", template)
	faulty := &faultyStore{Store: w.store, createClaim: fail}
	svc := *w.svc
	svc.Store = faulty
	_, _ = svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-0003"})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(ic.Claim.ID)) || !bytes.Contains(data, []byte("SN-0002")) {
		t.Fatal("the store file does not hold the claims in the clear; the scan would prove nothing")
	}
	if len(w.minter.Keys()) != 3 {
		t.Fatalf("minted %d keys, want 3", len(w.minter.Keys()))
	}
	for _, key := range w.minter.Keys() {
		body := strings.Split(key, "\n")[1]
		if bytes.Contains(data, []byte(body)) {
			t.Errorf("the store file holds a private key")
		}
	}
	if bytes.Contains(data, []byte("PRIVATE KEY")) {
		t.Errorf("the store file holds a PEM private key block")
	}
}

func TestClaimVisibility(t *testing.T) {
	w := newWorld(t)
	ic := w.issue("SN-0001")
	w.addTenant("globex", fleetclaim.TenantActive)
	other := w.addInstaller("acme", fleetclaim.InstallerApproved)
	foreignAdmin := w.addInstaller("globex", fleetclaim.InstallerApproved)
	platform := w.addInstaller("globex", fleetclaim.InstallerApproved)
	tests := []struct {
		name     string
		p        fleetclaim.Principal
		wantKind fleetclaim.Kind // "" for success
	}{
		{"its installer", w.installerP(), ""},
		{"an admin of its tenant", w.adminP(), ""},
		{"another installer of its tenant", principal(other), fleetclaim.KindNotFound},
		{"an admin of another tenant", principal(foreignAdmin, fleetclaim.GroupAdmins), fleetclaim.KindNotFound},
		{"a platform admin", principal(platform, fleetclaim.GroupPlatformAdmins), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.svc.GetClaim(context.Background(), tt.p, ic.Claim.ID)
			if tt.wantKind == "" {
				if err != nil {
					t.Errorf("got %v, want the claim", err)
				}
				return
			}
			if e := errorOf(t, err); e.Kind != tt.wantKind {
				t.Errorf("got %s, want %s", e.Kind, tt.wantKind)
			}
			if _, err := w.svc.RevokeClaim(context.Background(), tt.p, ic.Claim.ID); errorOf(t, err).Kind != tt.wantKind {
				t.Errorf("got revoke %v, want %s", err, tt.wantKind)
			}
		})
	}
}

func TestClaimStatusOnRead(t *testing.T) {
	w := newWorld(t)
	ic := w.issue("SN-0001")
	w.advance(6 * time.Minute)
	c, err := w.svc.GetClaim(context.Background(), w.installerP(), ic.Claim.ID)
	if err != nil || c.Status != fleetclaim.ClaimExpired {
		t.Errorf("got %q, %v; want expired, derived on read", c.Status, err)
	}
	if _, err := w.svc.RevokeClaim(context.Background(), w.installerP(), ic.Claim.ID); errorOf(t, err).Code != fleetclaim.CodeClaimNotUsable {
		t.Errorf("got %v revoking an expired claim, want %s", err, fleetclaim.CodeClaimNotUsable)
	}
}

func TestRevokeClaim(t *testing.T) {
	w := newWorld(t)
	ic := w.issue("SN-0001")
	c, err := w.svc.RevokeClaim(context.Background(), w.adminP(), ic.Claim.ID)
	if err != nil || c.Status != fleetclaim.ClaimRevoked || c.Reason != fleetclaim.ReasonRevokedByAdmin {
		t.Fatalf("got %q %q, %v; want revoked by admin", c.Status, c.Reason, err)
	}
	// Revoking twice is idempotent: the claim keeps who revoked it first.
	if again, err := w.svc.RevokeClaim(context.Background(), w.installerP(), ic.Claim.ID); err != nil || again.Reason != fleetclaim.ReasonRevokedByAdmin {
		t.Errorf("got %q, %v revoking twice; want the revoked claim as it was", again.Reason, err)
	}
	used := w.issue("SN-0002")
	w.register(used.Claim.ID, "SN-0002", template)
	if _, err := w.svc.RevokeClaim(context.Background(), w.installerP(), used.Claim.ID); errorOf(t, err).Kind != fleetclaim.KindConflict {
		t.Errorf("got %v revoking a consumed claim, want conflict", err)
	}
}
