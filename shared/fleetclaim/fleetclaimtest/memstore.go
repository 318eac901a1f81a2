package fleetclaimtest

import (
	"context"
	"sync"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// MemStore keeps claims, installers and tenants in maps, so that a
// benchmark over it measures the code above the store alone. It is no
// store implementation: it has no listings, no paging and no devices, takes
// every quota and drops audit events. The methods it lacks are left to the
// embedded (nil) interface, and panic.
type MemStore struct {
	fleetclaim.Store

	mu         sync.Mutex
	claims     map[fleetclaim.ClaimID]fleetclaim.Claim
	installers map[fleetclaim.InstallerID]fleetclaim.Installer
	tenants    map[fleetclaim.TenantID]fleetclaim.Tenant
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{claims: map[fleetclaim.ClaimID]fleetclaim.Claim{},
		installers: map[fleetclaim.InstallerID]fleetclaim.Installer{}, tenants: map[fleetclaim.TenantID]fleetclaim.Tenant{}}
}

// PutClaim stores c as it is, replacing the claim with its ID: a benchmark
// puts back a claim that an iteration consumed.
func (m *MemStore) PutClaim(c fleetclaim.Claim) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims[c.ID] = c
}

// CreateClaim stores c; ErrConflict if a claim has its ID.
func (m *MemStore) CreateClaim(_ context.Context, c fleetclaim.Claim) error {
	return create(&m.mu, m.claims, c.ID, c)
}

// GetClaim returns the claim id; ErrNotFound if there is none.
func (m *MemStore) GetClaim(_ context.Context, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	return get(&m.mu, m.claims, id)
}

// UpdateClaim applies u under its conditions, as the real stores do:
// ErrNotFound for no claim, ErrConflict when IfStatus or IfUnexpiredAt
// does not hold.
func (m *MemStore) UpdateClaim(_ context.Context, u fleetclaim.ClaimUpdate) (fleetclaim.Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.claims[u.ID]
	switch {
	case !ok:
		return fleetclaim.Claim{}, fleetclaim.ErrNotFound
	case u.IfStatus != "" && c.Status != u.IfStatus,
		!u.IfUnexpiredAt.IsZero() && !c.ExpiresAt.After(u.IfUnexpiredAt):
		return fleetclaim.Claim{}, fleetclaim.ErrConflict
	}
	if u.Status != "" {
		c.Status = u.Status
	}
	if u.Reason != "" {
		c.Reason = u.Reason
	}
	if u.Device != nil {
		c.Device = u.Device
	}
	c.UpdatedAt = u.At
	m.claims[u.ID] = c
	return c, nil
}

// GetDevice finds no device: MemStore records none.
func (m *MemStore) GetDevice(context.Context, fleetclaim.TenantID, string) (fleetclaim.Device, error) {
	return fleetclaim.Device{}, fleetclaim.ErrNotFound
}

// CreateInstaller stores in; ErrConflict if an installer has its ID.
func (m *MemStore) CreateInstaller(_ context.Context, in fleetclaim.Installer) error {
	return create(&m.mu, m.installers, in.ID, in)
}

// GetInstaller returns the installer id; ErrNotFound if there is none.
func (m *MemStore) GetInstaller(_ context.Context, id fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	return get(&m.mu, m.installers, id)
}

// PutTenant stores t, replacing the tenant with its ID.
func (m *MemStore) PutTenant(_ context.Context, t fleetclaim.Tenant) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tenants[t.ID] = t
	return nil
}

// GetTenant returns the tenant id; ErrNotFound if there is none.
func (m *MemStore) GetTenant(_ context.Context, id fleetclaim.TenantID) (fleetclaim.Tenant, error) {
	return get(&m.mu, m.tenants, id)
}

// TakeQuota always grants the quota.
func (m *MemStore) TakeQuota(context.Context, string, time.Time, int) error { return nil }

// AppendAudit drops e.
func (m *MemStore) AppendAudit(context.Context, fleetclaim.AuditEvent) error { return nil }

// create puts v under k in table, under mu; ErrConflict if k is taken.
func create[K comparable, V any](mu *sync.Mutex, table map[K]V, k K, v V) error {
	mu.Lock()
	defer mu.Unlock()
	if _, ok := table[k]; ok {
		return fleetclaim.ErrConflict
	}
	table[k] = v
	return nil
}

// get reads k from table, under mu; ErrNotFound if it is not there.
func get[K comparable, V any](mu *sync.Mutex, table map[K]V, k K) (V, error) {
	mu.Lock()
	defer mu.Unlock()
	v, ok := table[k]
	if !ok {
		var zero V
		return zero, fleetclaim.ErrNotFound
	}
	return v, nil
}
