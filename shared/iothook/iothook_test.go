package iothook

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

const (
	testClaimID   = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
	testInstaller = "0b6f3a52-9d4e-4c1a-8f27-5e0d2c9b7a61"
	testSerial    = "SN-0001"
	testTemplate  = "fleetclaim-provisioning"
	// testDeadline is the Handler's own deadline. The stalled store below
	// never answers on its own, so every test here ends only because the
	// Handler's deadline cuts the call short.
	testDeadline = 300 * time.Millisecond
	// hang is how long a test waits for an answer before calling the
	// Handler stuck: far beyond testDeadline, so only a Handler that ignores
	// its deadline reaches it.
	hang = 10 * time.Second
)

// stall makes chosen store calls block until their context is done, as a
// store that accepted the connection and never answered would.
type stall struct {
	*boltstore.Store
	claims, installers bool
	fleetclaimtest.Stall
}

func (s *stall) GetClaim(ctx context.Context, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	if s.claims {
		return fleetclaim.Claim{}, s.Wait(ctx)
	}
	return s.Store.GetClaim(ctx, id)
}

func (s *stall) GetInstaller(ctx context.Context, id fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	if s.installers {
		return fleetclaim.Installer{}, s.Wait(ctx)
	}
	return s.Store.GetInstaller(ctx, id)
}

// seeded opens an embedded store holding an active tenant, an approved
// installer and one issued, unexpired claim for testSerial.
func seeded(t *testing.T, now time.Time) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "fleetclaim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	err = st.PutTenant(ctx, fleetclaim.Tenant{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive})
	if err == nil {
		err = st.CreateInstaller(ctx, fleetclaim.Installer{ID: testInstaller, Username: "ana", Email: "ana@acme.example",
			TenantID: "acme", Status: fleetclaim.InstallerApproved, CreatedAt: now, UpdatedAt: now})
	}
	if err == nil {
		err = st.CreateClaim(ctx, fleetclaim.Claim{ID: testClaimID, TenantID: "acme", InstallerID: testInstaller,
			Template: testTemplate, Serial: testSerial, Status: fleetclaim.ClaimIssued, IssuedAt: now,
			ExpiresAt: now.Add(5 * time.Minute), UpdatedAt: now, RetainUntil: now.Add(24 * time.Hour)}, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func hookEvent() events.IoTPreProvisionHookRequest {
	return events.IoTPreProvisionHookRequest{
		ClaimCertificateID: testClaimID,
		CertificateID:      strings.Repeat("d", 64),
		CertificatePEM:     "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
		TemplateARN:        "arn:aws:iot:eu-west-1:123456789012:provisioningtemplate/" + testTemplate,
		ClientID:           "client-" + testSerial,
		Parameters:         map[string]string{fleetclaim.ParamSerialNumber: testSerial},
	}
}

func handler(st fleetclaim.ClaimStore, in fleetclaim.InstallerStore, store *boltstore.Store, now time.Time) *Handler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &Handler{Deadline: testDeadline, Log: log, Decider: &fleetclaim.Gatekeeper{
		Claims: st, Devices: store, Installers: in, Tenants: store, Audit: store, Revoker: &fleetclaimtest.Revoker{},
		Now: func() time.Time { return now }, Log: log}}
}

// handleWithin runs h on ev from a context with no deadline, so that only
// the Handler's own can cut a stalled call short, and fails the test if no
// answer comes before hang.
func handleWithin(t *testing.T, h *Handler, ev events.IoTPreProvisionHookRequest) events.IoTPreProvisionHookResponse {
	t.Helper()
	resp, err := fleetclaimtest.Within(t, hang, func(ctx context.Context) (events.IoTPreProvisionHookResponse, error) {
		return h.Handle(ctx, ev)
	})
	if err != nil {
		t.Fatalf("Handle returned an error, want an explicit denial: %v", err)
	}
	return resp
}

// Invariant 3: the Handler bounds each decision by its own Deadline, even
// when the invocation's context has none, and a store that stalls past it
// turns into a denial, not a hang and not an allow. The claim stays usable:
// the same registration, once the store answers again, is allowed.
func TestHandlerDeadlineDeniesStalledStore(t *testing.T) {
	for _, tt := range []struct {
		name               string
		claims, installers bool
	}{
		{"claim read stalls", true, false},
		{"installer read stalls", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now().UTC()
			store := seeded(t, now)
			st := &stall{Store: store, claims: tt.claims, installers: tt.installers}

			start := time.Now()
			resp := handleWithin(t, handler(st, st, store, now), hookEvent())
			if resp.AllowProvisioning || len(resp.ParameterOverrides) != 0 {
				t.Fatalf("got %+v from a stalled store, want a denial with no overrides", resp)
			}
			st.CheckDeadline(t, start, testDeadline)

			c, err := store.GetClaim(context.Background(), testClaimID)
			if err != nil || c.Status != fleetclaim.ClaimIssued {
				t.Fatalf("after the denial the claim is %+v, %v; want it still issued", c, err)
			}
			resp = handleWithin(t, handler(store, store, store, now), hookEvent())
			if !resp.AllowProvisioning || resp.ParameterOverrides[fleetclaim.ParamThingName] != "acme_"+testSerial {
				t.Fatalf("retry with the store answering: got %+v, want allowed as acme_%s", resp, testSerial)
			}
		})
	}
}
