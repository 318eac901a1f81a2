package fleetclaimtest

import (
	"context"
	"sync"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// MemStore keeps claims, installers and tenants in maps, so that a
// benchmark over it measures the code above the store alone. It is no
// store implementation: it has no listings, no paging and no device
// history, takes every quota and drops audit events. It does keep each
// serial's current claim and live device, with the rules of the real stores
// for CreateClaim and UpdateClaim. The methods it lacks are left to the
// embedded (nil) interface, and panic.
type MemStore struct {
	fleetclaim.Store

	mu         sync.Mutex
	claims     map[fleetclaim.ClaimID]fleetclaim.Claim
	serials    map[serialKey]fleetclaim.ClaimID // current claims
	live       map[serialKey]fleetclaim.Device
	installers map[fleetclaim.InstallerID]fleetclaim.Installer
	tenants    map[fleetclaim.TenantID]fleetclaim.Tenant
}

type serialKey struct {
	tenant fleetclaim.TenantID
	serial string
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{claims: map[fleetclaim.ClaimID]fleetclaim.Claim{}, serials: map[serialKey]fleetclaim.ClaimID{},
		live: map[serialKey]fleetclaim.Device{}, installers: map[fleetclaim.InstallerID]fleetclaim.Installer{},
		tenants: map[fleetclaim.TenantID]fleetclaim.Tenant{}}
}

// PutClaim stores c as it is, replacing the claim with its ID, as its
// serial's current claim with no live device: a benchmark puts back a claim
// that an iteration consumed.
func (m *MemStore) PutClaim(c fleetclaim.Claim) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims[c.ID] = c
	k := serialKey{c.TenantID, c.Serial}
	m.serials[k] = c.ID
	delete(m.live, k)
}

// CreateClaim stores c as its serial's current claim, under the rules of
// fleetclaim.ClaimStore: ErrConflict if a claim has its ID, if the serial's
// current claim is not replaces or is still open, or if it has a live device.
func (m *MemStore) CreateClaim(_ context.Context, c fleetclaim.Claim, replaces fleetclaim.ClaimID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := serialKey{c.TenantID, c.Serial}
	current, hasCurrent := m.serials[k]
	_, exists := m.claims[c.ID]
	_, live := m.live[k]
	prev := m.claims[current]
	switch {
	case exists, live, current != replaces,
		hasCurrent && prev.Status == fleetclaim.ClaimIssued && prev.ExpiresAt.After(c.IssuedAt):
		return fleetclaim.ErrConflict
	}
	m.claims[c.ID], m.serials[k] = c, c.ID
	return nil
}

// GetClaim returns the claim id; ErrNotFound if there is none.
func (m *MemStore) GetClaim(_ context.Context, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	return get(&m.mu, m.claims, id)
}

// UpdateClaim applies u under its conditions, as the real stores do:
// ErrNotFound for no claim, ErrConflict when the claim is not its serial's
// current claim, when IfStatus or IfUnexpiredAt does not hold, or when a
// Device comes for a serial that has a live device.
func (m *MemStore) UpdateClaim(_ context.Context, u fleetclaim.ClaimUpdate) (fleetclaim.Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.claims[u.ID]
	k := serialKey{c.TenantID, c.Serial}
	_, live := m.live[k]
	switch {
	case !ok:
		return fleetclaim.Claim{}, fleetclaim.ErrNotFound
	case m.serials[k] != c.ID,
		u.IfStatus != "" && c.Status != u.IfStatus,
		!u.IfUnexpiredAt.IsZero() && !c.ExpiresAt.After(u.IfUnexpiredAt),
		u.Device != nil && live,
		u.Device != nil && (c.Status != fleetclaim.ClaimIssued || !c.ExpiresAt.After(u.At)):
		return fleetclaim.Claim{}, fleetclaim.ErrConflict
	}
	if u.Status != "" {
		c.Status = u.Status
	}
	if u.Reason != "" {
		c.Reason = u.Reason
	}
	if u.Device != nil {
		d := *u.Device
		d.State = fleetclaim.DeviceRegistered
		c.Device, m.live[k] = &d, d
	}
	c.UpdatedAt = u.At
	m.claims[u.ID] = c
	return c, nil
}

// GetSerial returns the serial's current claim and live device.
func (m *MemStore) GetSerial(_ context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.SerialState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := serialKey{tenant, serial}
	id, ok := m.serials[k]
	if !ok {
		return fleetclaim.SerialState{}, nil
	}
	c := m.claims[id]
	out := fleetclaim.SerialState{TenantID: tenant, Serial: serial, Claim: &c}
	if d, ok := m.live[k]; ok {
		out.Device = &d
	}
	return out, nil
}

// GetDevice returns the serial's live device; ErrNotFound if it has none.
func (m *MemStore) GetDevice(_ context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.live[serialKey{tenant, serial}]
	if !ok {
		return fleetclaim.Device{}, fleetclaim.ErrNotFound
	}
	return d, nil
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
