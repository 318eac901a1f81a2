package events_test

import (
	"context"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// TestStoreCallsAreTheGrantedOnes runs every fixture of every function
// through its handler with a store that records which methods are called,
// and holds app.StoreCalls (from which the CDK app derives each function's
// table grants) to what was recorded: a call missing from the list would
// be refused by IAM in AWS, and a listed method no fixture calls is a grant
// without a use (or a fixture to add).
func TestStoreCallsAreTheGrantedOnes(t *testing.T) {
	// The recorder must record every store method, or a call could pass
	// through it unseen.
	storeType := reflect.TypeFor[fleetclaim.Store]()
	for i := range storeType.NumMethod() {
		if name := storeType.Method(i).Name; !slices.Contains(recordedMethods, name) {
			t.Fatalf("recordingStore does not record fleetclaim.Store.%s; add it", name)
		}
	}
	handlers := map[string]func(app.Parts) any{
		app.FnClaims: func(p app.Parts) any {
			return app.Claims(config.Claims{DefaultTemplate: template, AllowedTemplates: []string{template}, ClaimsPerHour: 60,
				ClaimRetention: config.DefaultClaimRetention, UserPoolID: userPoolID}, p).Handle
		},
		app.FnPostConfirm: func(p app.Parts) any { return app.PostConfirmation(p).Handle },
		app.FnPreToken:    func(p app.Parts) any { return app.PreTokenGeneration(p).Handle },
		app.FnProvisionHook: func(p app.Parts) any {
			return app.ProvisioningHook(config.Hook{HookDeadline: config.DefaultHookDeadline}, p).Handle
		},
		app.FnPresence: func(p app.Parts) any { return app.Presence(p).Handle },
	}
	for _, fn := range slices.Sorted(maps.Keys(handlers)) {
		t.Run(fn, func(t *testing.T) {
			paths, err := filepath.Glob(filepath.Join(fn, "*.json"))
			if err != nil || len(paths) == 0 {
				t.Fatalf("no fixtures for %s: %v", fn, err)
			}
			called := map[string]bool{}
			for _, path := range paths {
				w := newWorld(t)
				rec := &recordingStore{Store: w.store, called: called}
				p := w.parts
				p.Store = rec
				handle := handlers[fn](p)
				ev := load(t, path, handle)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				reflect.ValueOf(handle).Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(ev)})
				cancel()
			}
			got := slices.Sorted(maps.Keys(called))
			if want := slices.Sorted(slices.Values(app.StoreCalls[fn])); !slices.Equal(got, want) {
				t.Errorf("%s's fixtures call %v; app.StoreCalls says %v", fn, got, want)
			}
		})
	}
}

// recordedMethods are the fleetclaim.Store methods recordingStore records.
var recordedMethods = []string{"AppendAudit", "CreateClaim", "CreateInstaller", "DecommissionDevice", "GetClaim",
	"GetDevice", "GetInstaller", "GetSerial", "GetTenant", "ListAudit", "ListClaims", "ListDeviceHistory", "ListDevices",
	"ListInstallers", "MarkDeviceOnline", "PutTenant", "SetInstallerStatus", "TakeQuota", "UpdateClaim",
	"CreateTenant", "ListTenants", "UpdateTenant", "SetTenantStatus"}

// recordingStore is a fleetclaim.Store that notes each method called.
type recordingStore struct {
	fleetclaim.Store
	mu     sync.Mutex
	called map[string]bool
}

func (r *recordingStore) note(method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.called[method] = true
}

func (r *recordingStore) AppendAudit(ctx context.Context, e fleetclaim.AuditEvent) error {
	r.note("AppendAudit")
	return r.Store.AppendAudit(ctx, e)
}

func (r *recordingStore) CreateClaim(ctx context.Context, c fleetclaim.Claim, replaces fleetclaim.ClaimID) error {
	r.note("CreateClaim")
	return r.Store.CreateClaim(ctx, c, replaces)
}

func (r *recordingStore) GetSerial(ctx context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.SerialState, error) {
	r.note("GetSerial")
	return r.Store.GetSerial(ctx, tenant, serial)
}

func (r *recordingStore) MarkDeviceOnline(ctx context.Context, tenant fleetclaim.TenantID, serial, certificateID string, at time.Time) (fleetclaim.Device, error) {
	r.note("MarkDeviceOnline")
	return r.Store.MarkDeviceOnline(ctx, tenant, serial, certificateID, at)
}

func (r *recordingStore) DecommissionDevice(ctx context.Context, tenant fleetclaim.TenantID, serial, certificateID string, at time.Time, by fleetclaim.InstallerID, reason string) (fleetclaim.Device, error) {
	r.note("DecommissionDevice")
	return r.Store.DecommissionDevice(ctx, tenant, serial, certificateID, at, by, reason)
}

func (r *recordingStore) ListDeviceHistory(ctx context.Context, tenant fleetclaim.TenantID, serial string, p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
	r.note("ListDeviceHistory")
	return r.Store.ListDeviceHistory(ctx, tenant, serial, p)
}

func (r *recordingStore) CreateInstaller(ctx context.Context, in fleetclaim.Installer) error {
	r.note("CreateInstaller")
	return r.Store.CreateInstaller(ctx, in)
}

func (r *recordingStore) GetClaim(ctx context.Context, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	r.note("GetClaim")
	return r.Store.GetClaim(ctx, id)
}

func (r *recordingStore) GetDevice(ctx context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.Device, error) {
	r.note("GetDevice")
	return r.Store.GetDevice(ctx, tenant, serial)
}

func (r *recordingStore) GetInstaller(ctx context.Context, id fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	r.note("GetInstaller")
	return r.Store.GetInstaller(ctx, id)
}

func (r *recordingStore) GetTenant(ctx context.Context, id fleetclaim.TenantID) (fleetclaim.Tenant, error) {
	r.note("GetTenant")
	return r.Store.GetTenant(ctx, id)
}

func (r *recordingStore) ListAudit(ctx context.Context, tenant fleetclaim.TenantID, f fleetclaim.AuditFilter, p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
	r.note("ListAudit")
	return r.Store.ListAudit(ctx, tenant, f, p)
}

func (r *recordingStore) ListClaims(ctx context.Context, installer fleetclaim.InstallerID, p fleetclaim.Page) ([]fleetclaim.Claim, string, error) {
	r.note("ListClaims")
	return r.Store.ListClaims(ctx, installer, p)
}

func (r *recordingStore) ListDevices(ctx context.Context, tenant fleetclaim.TenantID, p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
	r.note("ListDevices")
	return r.Store.ListDevices(ctx, tenant, p)
}

func (r *recordingStore) ListInstallers(ctx context.Context, tenant fleetclaim.TenantID, p fleetclaim.Page) ([]fleetclaim.Installer, string, error) {
	r.note("ListInstallers")
	return r.Store.ListInstallers(ctx, tenant, p)
}

func (r *recordingStore) PutTenant(ctx context.Context, tn fleetclaim.Tenant) error {
	r.note("PutTenant")
	return r.Store.PutTenant(ctx, tn)
}

func (r *recordingStore) SetInstallerStatus(ctx context.Context, id fleetclaim.InstallerID, from []fleetclaim.InstallerStatus, to fleetclaim.InstallerStatus, at time.Time, by fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	r.note("SetInstallerStatus")
	return r.Store.SetInstallerStatus(ctx, id, from, to, at, by)
}

func (r *recordingStore) TakeQuota(ctx context.Context, key string, windowEnd time.Time, limit int) error {
	r.note("TakeQuota")
	return r.Store.TakeQuota(ctx, key, windowEnd, limit)
}

func (r *recordingStore) UpdateClaim(ctx context.Context, u fleetclaim.ClaimUpdate) (fleetclaim.Claim, error) {
	r.note("UpdateClaim")
	return r.Store.UpdateClaim(ctx, u)
}

func (r *recordingStore) CreateTenant(ctx context.Context, t fleetclaim.Tenant) error {
	r.note("CreateTenant")
	return r.Store.CreateTenant(ctx, t)
}

func (r *recordingStore) ListTenants(ctx context.Context, p fleetclaim.Page) ([]fleetclaim.Tenant, string, error) {
	r.note("ListTenants")
	return r.Store.ListTenants(ctx, p)
}

func (r *recordingStore) UpdateTenant(ctx context.Context, t fleetclaim.Tenant, ifRevision int) (fleetclaim.Tenant, error) {
	r.note("UpdateTenant")
	return r.Store.UpdateTenant(ctx, t, ifRevision)
}

func (r *recordingStore) SetTenantStatus(ctx context.Context, id fleetclaim.TenantID, from, to fleetclaim.TenantStatus, at time.Time, by fleetclaim.InstallerID) (fleetclaim.Tenant, error) {
	r.note("SetTenantStatus")
	return r.Store.SetTenantStatus(ctx, id, from, to, at, by)
}
