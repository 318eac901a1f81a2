package fleetclaim_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/logging"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// Benchmarks of the domain decisions alone, the store excluded: an
// in-memory store that does what the real ones promise (conditional claim
// updates included) for the few records a decision touches. They measure
// what the code adds on top of its store round trips; shared/app has the
// same paths through the Lambda handlers over the real stores.
//
// Logging is at the deployed default level ("info") into io.Discard, so the
// cost of formatting each line is included but not that of writing it.

// BenchmarkDecide is the pre-provisioning hook's decision. Each iteration
// starts from an issued claim: the allowed case consumes it, and the
// benchmark puts it back before the next decision (a struct copy under a
// lock, a few nanoseconds of the figure).
func BenchmarkDecide(b *testing.B) {
	cases := []struct {
		name   string
		serial string
		allow  bool
	}{
		{name: "allow", serial: "SN-0001", allow: true},
		// A wrong serial is the costliest denial: it rejects the claim for
		// good and records why (a conditional update and an audit event).
		{name: "deny-serial", serial: "SN-9999"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s, c := newBenchStore()
			g := &fleetclaim.Gatekeeper{Claims: s, Installers: s, Tenants: s, Audit: s, Revoker: fleetclaimtest.NopRevoker{},
				Now: func() time.Time { return c.IssuedAt.Add(time.Minute) }, Log: logging.New(io.Discard, "info")}
			req := fleetclaim.ProvisionRequest{ClaimID: c.ID, DeviceCertificateID: fleetclaimtest.NewCertificateID(), Template: c.Template,
				Serial: tc.serial, ClientID: tc.serial}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if d := g.Decide(ctx, req); d.Allow != tc.allow {
					b.Fatalf("allow = %v (reason %q), want %v", d.Allow, d.Reason, tc.allow)
				}
				s.PutClaim(c) // puts the claim back as issued
			}
		})
	}
}

// BenchmarkGrant is the pre-token trigger's decision, made at every sign-in
// and token refresh.
func BenchmarkGrant(b *testing.B) {
	s, c := newBenchStore()
	e := &fleetclaim.Enrollment{Installers: s, Tenants: s, Quotas: s, Audit: s, Now: time.Now, Log: logging.New(io.Discard, "info")}
	groups := []string{fleetclaim.GroupInstallers}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if g := e.Grant(ctx, c.InstallerID, groups); len(g.Scopes) == 0 {
			b.Fatalf("no scopes granted: %+v", g)
		}
	}
}

// BenchmarkIssueClaim is claim issuance with AWS IoT's part faked: the
// checks, the quota, and recording the claim and its audit event.
func BenchmarkIssueClaim(b *testing.B) {
	s, c := newBenchStore()
	now := c.IssuedAt
	minted := fleetclaim.MintedClaim{CertificatePEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		PrivateKey: fleetclaim.NewSecret("KEY"), Expiration: now.Add(5 * time.Minute)}
	ids := &benchIDs{}
	svc := &fleetclaim.Service{Store: s, Minter: benchMinter{minted: minted, ids: ids}, Revoker: fleetclaimtest.NopRevoker{},
		Endpoint:  func(context.Context) (string, error) { return "iot.example.test", nil },
		Templates: []string{c.Template}, ClaimsPerHour: 60, Retention: time.Hour,
		Now: func() time.Time { return now }, Log: logging.New(io.Discard, "info")}
	p := fleetclaim.Principal{Subject: c.InstallerID, TenantID: c.TenantID,
		Groups: []string{fleetclaim.GroupInstallers}, Scopes: []string{fleetclaim.ScopeClaims}}
	req := fleetclaim.IssueRequest{Serial: "SN-0100", Site: "Depot 4"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.IssueClaim(ctx, p, req); err != nil {
			b.Fatal(err)
		}
	}
}

// benchStore is the in-memory store with one tenant, one installer and one
// claim. It drops the claims that BenchmarkIssueClaim creates, so that the
// figure holds no growing map.
type benchStore struct{ *fleetclaimtest.MemStore }

func (benchStore) CreateClaim(context.Context, fleetclaim.Claim, fleetclaim.ClaimID) error {
	return nil
}

func newBenchStore() (benchStore, fleetclaim.Claim) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	in := fleetclaim.Installer{ID: storetest.NewInstallerID(), Username: "ines", Email: "ines@acme.example", TenantID: "acme",
		Status: fleetclaim.InstallerApproved, CreatedAt: t0, UpdatedAt: t0}
	c := fleetclaim.Claim{ID: storetest.NewClaimID(), TenantID: "acme", InstallerID: in.ID,
		Template: "fleetclaim-bench", Serial: "SN-0001", Status: fleetclaim.ClaimIssued, IssuedAt: t0,
		ExpiresAt: t0.Add(5 * time.Minute), UpdatedAt: t0, RetainUntil: t0.Add(time.Hour)}
	s := benchStore{fleetclaimtest.NewMemStore()}
	ctx := context.Background() // an empty MemStore takes these without fail
	_ = s.PutTenant(ctx, fleetclaim.Tenant{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive})
	_ = s.CreateInstaller(ctx, in)
	s.PutClaim(c)
	return s, c
}

// benchMinter hands out the same certificate under a new ID each time, as
// AWS IoT does; the IDs are made in advance so that the benchmark does not
// measure crypto/rand.
type benchMinter struct {
	minted fleetclaim.MintedClaim
	ids    *benchIDs
}

func (m benchMinter) CreateProvisioningClaim(context.Context, string) (fleetclaim.MintedClaim, error) {
	c := m.minted
	c.CertificateID = m.ids.next()
	return c, nil
}

// benchIDs cycles through a fixed set of certificate IDs.
type benchIDs struct {
	mu  sync.Mutex
	ids []string
	i   int
}

func (g *benchIDs) next() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ids == nil {
		for range 1024 {
			g.ids = append(g.ids, fleetclaimtest.NewCertificateID())
		}
	}
	g.i = (g.i + 1) % len(g.ids)
	return g.ids[g.i]
}
