package fleetclaim_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/logging"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// world is a tenant with an approved installer and an admin, over a real
// embedded store, with fakes for AWS IoT and Cognito and a settable clock.
type world struct {
	t      *testing.T
	store  fleetclaim.Store
	minter *fleetclaimtest.Minter
	// revoker stands in for AWS IoT's certificate deactivation.
	revoker *fleetclaimtest.Revoker
	groups  *fleetclaimtest.Groups
	logs    *fleetclaimtest.LogBuffer
	now     time.Time
	mu      sync.Mutex

	svc  *fleetclaim.Service
	gate *fleetclaim.Gatekeeper
	life *fleetclaim.Lifecycle
	enr  *fleetclaim.Enrollment

	tenant    fleetclaim.Tenant
	installer fleetclaim.Installer
	admin     fleetclaim.Installer
	other     fleetclaim.Installer // another approved installer of acme
}

const template = "fleetclaim-test"

var t0 = time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	return newWorldWith(t, fleetclaimtest.OpenBolt(t))
}

func newWorldWith(t *testing.T, store fleetclaim.Store) *world {
	t.Helper()
	w := &world{t: t, store: store, groups: &fleetclaimtest.Groups{}, logs: &fleetclaimtest.LogBuffer{}, now: t0}
	w.minter = &fleetclaimtest.Minter{Now: w.clock}
	w.revoker = &fleetclaimtest.Revoker{}
	log := logging.New(w.logs, "debug")
	w.svc = &fleetclaim.Service{
		Store: store, Minter: w.minter, Groups: w.groups, Revoker: w.revoker, OnlineWithin: 15 * time.Minute,
		Endpoint:  func(context.Context) (string, error) { return "iot.example.test", nil },
		Templates: []string{template, "other-template"}, ClaimsPerHour: 5, Retention: 7 * 24 * time.Hour,
		Now: w.clock, Log: log,
	}
	w.gate = &fleetclaim.Gatekeeper{Claims: store, Devices: store, Installers: store, Tenants: store, Audit: store,
		Revoker: w.revoker, Now: w.clock, Log: log}
	w.life = &fleetclaim.Lifecycle{Devices: store, Audit: store, Now: w.clock, Log: log}
	w.enr = &fleetclaim.Enrollment{Installers: store, Tenants: store, Quotas: store, Audit: store, Now: w.clock, Log: log}

	w.tenant = w.addTenant("acme", fleetclaim.TenantActive, "acme.example")
	w.installer = w.addInstaller("acme", fleetclaim.InstallerApproved)
	w.admin = w.addInstaller("acme", fleetclaim.InstallerApproved)
	w.other = w.addInstaller("acme", fleetclaim.InstallerApproved)
	return w
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

func (w *world) addTenant(id fleetclaim.TenantID, status fleetclaim.TenantStatus, domains ...string) fleetclaim.Tenant {
	w.t.Helper()
	tn := fleetclaim.Tenant{ID: id, Name: string(id), Status: status, AutoApproveDomains: domains}
	if err := w.store.PutTenant(context.Background(), tn); err != nil {
		w.t.Fatalf("put tenant: %v", err)
	}
	return tn
}

func (w *world) addInstaller(tenant fleetclaim.TenantID, status fleetclaim.InstallerStatus) fleetclaim.Installer {
	w.t.Helper()
	sub := storetest.NewInstallerID()
	in := fleetclaim.Installer{ID: sub, Username: "user-" + string(sub[:8]), Email: string(sub[:8]) + "@acme.example",
		TenantID: tenant, Status: status, CreatedAt: w.clock(), UpdatedAt: w.clock()}
	if err := w.store.CreateInstaller(context.Background(), in); err != nil {
		w.t.Fatalf("create installer: %v", err)
	}
	return in
}

// principal is the token the authorizer would pass for in, with its groups.
func principal(in fleetclaim.Installer, groups ...string) fleetclaim.Principal {
	scopes := []string{fleetclaim.ScopeClaims}
	for _, g := range groups {
		if g == fleetclaim.GroupAdmins || g == fleetclaim.GroupPlatformAdmins {
			scopes = append(scopes, fleetclaim.ScopeAdmin)
		}
	}
	return fleetclaim.Principal{Subject: in.ID, Username: in.Username, TenantID: in.TenantID,
		Groups: append([]string{fleetclaim.GroupInstallers}, groups...), Scopes: scopes}
}

func (w *world) installerP() fleetclaim.Principal { return principal(w.installer) }
func (w *world) adminP() fleetclaim.Principal     { return principal(w.admin, fleetclaim.GroupAdmins) }

// issue issues a claim for serial as the world's installer.
func (w *world) issue(serial string) fleetclaim.IssuedClaim {
	w.t.Helper()
	ic, err := w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: serial})
	if err != nil {
		w.t.Fatalf("issue claim for %s: %v", serial, err)
	}
	return ic
}

// register is a device's RegisterThing through the hook.
func (w *world) register(c fleetclaim.ClaimID, serial, tmpl string) fleetclaim.Decision {
	return w.gate.Decide(context.Background(), fleetclaim.ProvisionRequest{
		ClaimID: c, DeviceCertificateID: fleetclaimtest.NewCertificateID(), Template: tmpl, Serial: serial, ClientID: "client-" + serial})
}

func (w *world) claim(id fleetclaim.ClaimID) fleetclaim.Claim {
	w.t.Helper()
	c, err := w.store.GetClaim(context.Background(), id)
	if err != nil {
		w.t.Fatalf("get claim %s: %v", id, err)
	}
	return c
}

func (w *world) setInstallerStatus(id fleetclaim.InstallerID, to fleetclaim.InstallerStatus) {
	w.t.Helper()
	all := []fleetclaim.InstallerStatus{fleetclaim.InstallerPending, fleetclaim.InstallerApproved, fleetclaim.InstallerSuspended}
	if _, err := w.store.SetInstallerStatus(context.Background(), id, all, to, w.clock(), ""); err != nil {
		w.t.Fatalf("set installer status: %v", err)
	}
}

// faultyStore fails or stalls chosen calls of a real store.
type faultyStore struct {
	fleetclaim.Store
	getClaim     func(ctx context.Context) error
	createClaim  func(ctx context.Context) error
	getInstaller func(ctx context.Context) error
	updateClaim  func(ctx context.Context) error
}

func (f *faultyStore) GetClaim(ctx context.Context, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	if f.getClaim != nil {
		if err := f.getClaim(ctx); err != nil {
			return fleetclaim.Claim{}, err
		}
	}
	return f.Store.GetClaim(ctx, id)
}

func (f *faultyStore) CreateClaim(ctx context.Context, c fleetclaim.Claim, replaces fleetclaim.ClaimID) error {
	if f.createClaim != nil {
		if err := f.createClaim(ctx); err != nil {
			return err
		}
	}
	return f.Store.CreateClaim(ctx, c, replaces)
}

func (f *faultyStore) GetInstaller(ctx context.Context, id fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	if f.getInstaller != nil {
		if err := f.getInstaller(ctx); err != nil {
			return fleetclaim.Installer{}, err
		}
	}
	return f.Store.GetInstaller(ctx, id)
}

func (f *faultyStore) UpdateClaim(ctx context.Context, u fleetclaim.ClaimUpdate) (fleetclaim.Claim, error) {
	if f.updateClaim != nil {
		if err := f.updateClaim(ctx); err != nil {
			return fleetclaim.Claim{}, err
		}
	}
	return f.Store.UpdateClaim(ctx, u)
}

var errStoreDown = errors.New("connection refused")

// stall blocks until the caller's deadline, like a store that stopped answering.
func stall(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func fail(context.Context) error { return errStoreDown }

func errorOf(t *testing.T, err error) *fleetclaim.Error {
	t.Helper()
	var e *fleetclaim.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *fleetclaim.Error", err)
	}
	return e
}

// deniedInAudit counts the provisioning denials of claim id in the audit trail.
func (w *world) deniedInAudit(id fleetclaim.ClaimID) int {
	w.t.Helper()
	events, _, err := w.store.ListAudit(context.Background(), "acme", fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: fleetclaim.MaxPageSize})
	if err != nil {
		w.t.Fatalf("list audit: %v", err)
	}
	n := 0
	for _, e := range events {
		if e.Action == fleetclaim.ActionProvisioningDenied && e.Subject == string(id) {
			n++
		}
	}
	return n
}
