package boltstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	bolt "go.etcd.io/bbolt"
)

// Tenants live in bTenants under their ID, so the bucket's byte order is
// ListTenants' order and no index is needed.

func tenantUTC(t fleetclaim.Tenant) fleetclaim.Tenant {
	t.CreatedAt, t.UpdatedAt = utc(t.CreatedAt), utc(t.UpdatedAt)
	if len(t.AutoApproveDomains) == 0 {
		t.AutoApproveDomains = nil
	}
	if len(t.AllowedTemplates) == 0 {
		t.AllowedTemplates = nil
	}
	return t
}

// GetTenant implements fleetclaim.TenantStore.
func (s *Store) GetTenant(ctx context.Context, id fleetclaim.TenantID) (fleetclaim.Tenant, error) {
	var t fleetclaim.Tenant
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		t, err = get[fleetclaim.Tenant](tx, bTenants, []byte(id))
		return err
	})
	if err != nil {
		return fleetclaim.Tenant{}, fmt.Errorf("get tenant %s: %w", id, err)
	}
	return tenantUTC(t), nil
}

// PutTenant implements fleetclaim.TenantStore: the seed writes a tenant no
// API call has changed (Revision 0), and only such a one.
func (s *Store) PutTenant(ctx context.Context, t fleetclaim.Tenant) error {
	switch {
	case t.ID == "":
		return invalid("put tenant: ID is required")
	case t.Revision != 0:
		return invalid("put tenant %s: a seeded tenant has revision 0, not %d", t.ID, t.Revision)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := get[fleetclaim.Tenant](tx, bTenants, []byte(t.ID))
		switch {
		case err == nil && old.Revision != 0:
			return fleetclaim.ErrConflict
		case err != nil && !errors.Is(err, fleetclaim.ErrNotFound):
			return err
		}
		return put(tx, bTenants, []byte(t.ID), tenantUTC(t))
	})
	if err != nil {
		return fmt.Errorf("put tenant %s: %w", t.ID, err)
	}
	return nil
}

// CreateTenant implements fleetclaim.TenantStore.
func (s *Store) CreateTenant(ctx context.Context, t fleetclaim.Tenant) error {
	switch {
	case t.ID == "":
		return invalid("create tenant: ID is required")
	case t.Revision < 1:
		return invalid("create tenant %s: revision must be at least 1", t.ID)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bTenants).Get([]byte(t.ID)) != nil {
			return fleetclaim.ErrConflict
		}
		return put(tx, bTenants, []byte(t.ID), tenantUTC(t))
	})
	if err != nil {
		return fmt.Errorf("create tenant %s: %w", t.ID, err)
	}
	return nil
}

// UpdateTenant implements fleetclaim.TenantStore.
func (s *Store) UpdateTenant(ctx context.Context, t fleetclaim.Tenant, ifRevision int) (fleetclaim.Tenant, error) {
	switch {
	case t.ID == "":
		return fleetclaim.Tenant{}, invalid("update tenant: ID is required")
	case ifRevision < 0:
		return fleetclaim.Tenant{}, invalid("update tenant %s: revision must not be negative", t.ID)
	}
	return s.changeTenant(ctx, "update tenant", t.ID, func(old fleetclaim.Tenant) (fleetclaim.Tenant, bool) {
		if old.Revision != ifRevision {
			return old, false
		}
		nt := t
		nt.Status, nt.CreatedAt, nt.Revision = old.Status, old.CreatedAt, ifRevision+1
		return nt, true
	})
}

// SetTenantStatus implements fleetclaim.TenantStore.
func (s *Store) SetTenantStatus(ctx context.Context, id fleetclaim.TenantID, from, to fleetclaim.TenantStatus, at time.Time, by fleetclaim.InstallerID) (fleetclaim.Tenant, error) {
	if id == "" || from == "" || to == "" {
		return fleetclaim.Tenant{}, invalid("set tenant status: ID and both statuses are required")
	}
	return s.changeTenant(ctx, "set tenant status", id, func(old fleetclaim.Tenant) (fleetclaim.Tenant, bool) {
		if old.Status != from {
			return old, false
		}
		old.Status, old.Revision, old.UpdatedAt, old.UpdatedBy = to, old.Revision+1, at, by
		return old, true
	})
}

// changeTenant applies change to the stored tenant in one transaction;
// change reports whether its condition held.
func (s *Store) changeTenant(ctx context.Context, what string, id fleetclaim.TenantID,
	change func(fleetclaim.Tenant) (fleetclaim.Tenant, bool)) (fleetclaim.Tenant, error) {
	var out fleetclaim.Tenant
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := get[fleetclaim.Tenant](tx, bTenants, []byte(id))
		if err != nil {
			return err
		}
		nt, ok := change(old)
		if !ok {
			return fleetclaim.ErrConflict
		}
		out = tenantUTC(nt)
		return put(tx, bTenants, []byte(id), out)
	})
	if err != nil {
		return fleetclaim.Tenant{}, fmt.Errorf("%s %s: %w", what, id, err)
	}
	return out, nil
}

// tenantsCursor is ListTenants' cursor kind; no other listing accepts it.
const tenantsCursor = "tenants"

// ListTenants implements fleetclaim.TenantStore.
func (s *Store) ListTenants(ctx context.Context, p fleetclaim.Page) ([]fleetclaim.Tenant, string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = fleetclaim.DefaultPageSize
	}
	limit = min(limit, fleetclaim.MaxPageSize)
	var after []byte
	if p.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		var c cursor
		if err != nil || json.Unmarshal(raw, &c) != nil || c.Kind != tenantsCursor || c.Scope != "" || len(c.After) == 0 {
			return nil, "", fmt.Errorf("list tenants: %w", fleetclaim.ErrInvalidCursor)
		}
		after = c.After
	}
	var out []fleetclaim.Tenant
	next := ""
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bTenants).Cursor()
		k, v := c.First()
		if after != nil {
			if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if len(out) == limit {
				next = encodeCursor(tenantsCursor, "", []byte(out[len(out)-1].ID))
				return nil
			}
			var t fleetclaim.Tenant
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("decode %s: %w", bTenants, err)
			}
			out = append(out, tenantUTC(t))
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list tenants: %w", err)
	}
	return out, next, nil
}
