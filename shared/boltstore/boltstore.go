// Package boltstore is the embedded fleetclaim store of the local stack: one
// bbolt file, pure Go, no server. Every port method is one bbolt transaction,
// so each conditional write is atomic, and bbolt syncs each commit to disk, so
// a record that was written survives a kill -9.
package boltstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	bolt "go.etcd.io/bbolt"
)

// Buckets. Index keys are built from NUL-separated parts, which no ID,
// email or serial contains, so ranges cannot bleed into each other.
var (
	bClaims       = []byte("claims")         // claim ID → claim
	bByInstaller  = []byte("claims-by-inst") // installer, -issuedAt, -claim ID → ""
	bSerials      = []byte("serials")        // tenant, serial → current claim ID
	bLive         = []byte("live-devices")   // tenant, serial → live device
	bHistory      = []byte("device-history") // tenant, serial, -provisionedAt, -certificate ID → device
	bInstallers   = []byte("installers")     // installer ID → installer
	bByTenant     = []byte("installers-by-tenant")
	bTenants      = []byte("tenants")
	bQuotas       = []byte("quotas") // key, window end → uint64 count
	bAudit        = []byte("audit")  // tenant, -time, -ID → event
	allBuckets    = [][]byte{bClaims, bByInstaller, bSerials, bLive, bHistory, bInstallers, bByTenant, bTenants, bQuotas, bAudit}
	errBadRequest = errors.New("invalid store call")
)

// Store is the embedded fleetclaim.Store.
type Store struct{ db *bolt.DB }

var _ fleetclaim.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		// Checked once the single writer lock is held: waiting for it can
		// outlast the caller's deadline, and a late write must not happen.
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(tx)
	})
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

func key(parts ...string) []byte { return []byte(joinParts(parts)) }

func joinParts(parts []string) string {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(p)
	}
	return b.String()
}

// desc encodes t so that byte order is newest first.
func desc(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ^uint64(t.UnixNano()))
	return string(b[:])
}

// descString inverts s byte-wise so that ties sort by ID in reverse too.
func descString(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = ^b[i]
	}
	return string(b)
}

func get[T any](tx *bolt.Tx, bucket, k []byte) (T, error) {
	var v T
	raw := tx.Bucket(bucket).Get(k)
	if raw == nil {
		return v, fleetclaim.ErrNotFound
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", bucket, err)
	}
	return v, nil
}

func put(tx *bolt.Tx, bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(k, raw)
}

// The records as stored: the domain types with their times in UTC.

func utc(t time.Time) time.Time { return t.UTC() }

func claimUTC(c fleetclaim.Claim) fleetclaim.Claim {
	c.IssuedAt, c.ExpiresAt, c.UpdatedAt, c.RetainUntil = utc(c.IssuedAt), utc(c.ExpiresAt), utc(c.UpdatedAt), utc(c.RetainUntil)
	if c.Device != nil {
		d := deviceUTC(*c.Device)
		c.Device = &d
	}
	return c
}

func deviceUTC(d fleetclaim.Device) fleetclaim.Device {
	d.ProvisionedAt, d.OnlineAt, d.LastConnectedAt = utc(d.ProvisionedAt), utc(d.OnlineAt), utc(d.LastConnectedAt)
	d.DecommissionedAt = utc(d.DecommissionedAt)
	return d
}

// CreateClaim implements fleetclaim.ClaimStore.
func (s *Store) CreateClaim(ctx context.Context, c fleetclaim.Claim, replaces fleetclaim.ClaimID) error {
	switch {
	case c.ID == "" || c.TenantID == "" || c.InstallerID == "":
		return invalid("create claim: ID, tenant and installer are required")
	case c.Device != nil:
		return invalid("create claim %s: a device is recorded only by consuming the claim", c.ID)
	}
	c = claimUTC(c)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		k := []byte(c.ID)
		if tx.Bucket(bClaims).Get(k) != nil {
			return fleetclaim.ErrConflict
		}
		sk := key(string(c.TenantID), c.Serial)
		current := fleetclaim.ClaimID(tx.Bucket(bSerials).Get(sk))
		switch {
		case current != replaces, tx.Bucket(bLive).Get(sk) != nil:
			return fleetclaim.ErrConflict
		case current != "":
			prev, err := get[fleetclaim.Claim](tx, bClaims, []byte(current))
			if err != nil {
				return fmt.Errorf("current claim %s: %w", current, err)
			}
			if prev.Status == fleetclaim.ClaimIssued && prev.ExpiresAt.After(c.IssuedAt) {
				return fleetclaim.ErrConflict // still open
			}
		}
		if err := put(tx, bClaims, k, c); err != nil {
			return err
		}
		if err := tx.Bucket(bSerials).Put(sk, k); err != nil {
			return err
		}
		return tx.Bucket(bByInstaller).Put(key(string(c.InstallerID), desc(c.IssuedAt), descString(string(c.ID))), k)
	})
	if err != nil {
		return fmt.Errorf("create claim %s: %w", c.ID, err)
	}
	return nil
}

// GetClaim implements fleetclaim.ClaimStore.
func (s *Store) GetClaim(ctx context.Context, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	var c fleetclaim.Claim
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		c, err = get[fleetclaim.Claim](tx, bClaims, []byte(id))
		return err
	})
	if err != nil {
		return fleetclaim.Claim{}, fmt.Errorf("get claim %s: %w", id, err)
	}
	return c, nil
}

// UpdateClaim implements fleetclaim.ClaimStore.
func (s *Store) UpdateClaim(ctx context.Context, u fleetclaim.ClaimUpdate) (fleetclaim.Claim, error) {
	switch {
	case u.ID == "":
		return fleetclaim.Claim{}, invalid("update claim: ID is required")
	case u.At.IsZero():
		return fleetclaim.Claim{}, invalid("update claim %s: At is required", u.ID)
	case u.Device != nil && (u.Status != fleetclaim.ClaimConsumed || u.Device.ClaimID != u.ID):
		return fleetclaim.Claim{}, invalid("update claim %s: a device goes with status consumed and its own claim", u.ID)
	}
	var out fleetclaim.Claim
	err := s.update(ctx, func(tx *bolt.Tx) error {
		c, err := get[fleetclaim.Claim](tx, bClaims, []byte(u.ID))
		if err != nil {
			return err
		}
		sk := key(string(c.TenantID), c.Serial)
		switch {
		case fleetclaim.ClaimID(tx.Bucket(bSerials).Get(sk)) != c.ID,
			u.IfStatus != "" && c.Status != u.IfStatus,
			!u.IfUnexpiredAt.IsZero() && !c.ExpiresAt.After(u.IfUnexpiredAt),
			u.Device != nil && (u.Device.TenantID != c.TenantID || u.Device.Serial != c.Serial),
			u.Device != nil && tx.Bucket(bLive).Get(sk) != nil,
			// Only an issued claim, unexpired at the write's time, is
			// consumed, whatever the caller states: a consumed claim stays
			// current once its device is decommissioned (invariant 9).
			u.Device != nil && (c.Status != fleetclaim.ClaimIssued || !c.ExpiresAt.After(u.At)):
			return fleetclaim.ErrConflict
		}
		if u.Status != "" {
			c.Status = u.Status
		}
		if u.Reason != "" {
			c.Reason = u.Reason
		}
		c.UpdatedAt = u.At
		if u.Device != nil {
			d := registered(*u.Device)
			c.Device, c.RetainUntil = &d, time.Time{}
			if err := put(tx, bLive, sk, d); err != nil {
				return err
			}
		}
		out = claimUTC(c)
		return put(tx, bClaims, []byte(c.ID), out)
	})
	if err != nil {
		return fleetclaim.Claim{}, fmt.Errorf("update claim %s: %w", u.ID, err)
	}
	return out, nil
}

// registered is d as a new live device: registered, never online.
func registered(d fleetclaim.Device) fleetclaim.Device {
	d.State, d.OnlineAt, d.LastConnectedAt = fleetclaim.DeviceRegistered, time.Time{}, time.Time{}
	d.DecommissionedAt, d.DecommissionedBy, d.DecommissionReason = time.Time{}, "", ""
	return deviceUTC(d)
}

// ListClaims implements fleetclaim.ClaimStore.
func (s *Store) ListClaims(ctx context.Context, installer fleetclaim.InstallerID, p fleetclaim.Page) ([]fleetclaim.Claim, string, error) {
	var out []fleetclaim.Claim
	var next string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		next, err = scan(tx.Bucket(bByInstaller), "claims", string(installer), p, func(_, v []byte) error {
			c, err := get[fleetclaim.Claim](tx, bClaims, v)
			out = append(out, c)
			return err
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list claims of %s: %w", installer, err)
	}
	return out, next, nil
}

// GetSerial implements fleetclaim.DeviceStore.
func (s *Store) GetSerial(ctx context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.SerialState, error) {
	var out fleetclaim.SerialState
	err := s.view(ctx, func(tx *bolt.Tx) error {
		sk := key(string(tenant), serial)
		id := tx.Bucket(bSerials).Get(sk)
		if id == nil {
			return nil
		}
		c, err := get[fleetclaim.Claim](tx, bClaims, id)
		if err != nil {
			return fmt.Errorf("current claim %s: %w", id, err)
		}
		out = fleetclaim.SerialState{TenantID: tenant, Serial: serial, Claim: &c}
		d, err := get[fleetclaim.Device](tx, bLive, sk)
		switch {
		case errors.Is(err, fleetclaim.ErrNotFound):
		case err != nil:
			return err
		default:
			out.Device = &d
		}
		return nil
	})
	if err != nil {
		return fleetclaim.SerialState{}, fmt.Errorf("get serial %s/%s: %w", tenant, serial, err)
	}
	return out, nil
}

// GetDevice implements fleetclaim.DeviceStore.
func (s *Store) GetDevice(ctx context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.Device, error) {
	var d fleetclaim.Device
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		d, err = get[fleetclaim.Device](tx, bLive, key(string(tenant), serial))
		return err
	})
	if err != nil {
		return fleetclaim.Device{}, fmt.Errorf("get device %s/%s: %w", tenant, serial, err)
	}
	return d, nil
}

// ListDevices implements fleetclaim.DeviceStore.
func (s *Store) ListDevices(ctx context.Context, tenant fleetclaim.TenantID, p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
	return list[fleetclaim.Device](ctx, s, bLive, "devices", string(tenant), p)
}

// MarkDeviceOnline implements fleetclaim.DeviceStore.
func (s *Store) MarkDeviceOnline(ctx context.Context, tenant fleetclaim.TenantID, serial, certificateID string, at time.Time) (fleetclaim.Device, error) {
	if tenant == "" || serial == "" || certificateID == "" || at.IsZero() {
		return fleetclaim.Device{}, invalid("mark device online: tenant, serial, certificate and time are required")
	}
	return s.changeLive(ctx, tenant, serial, certificateID, "mark device online", func(tx *bolt.Tx, d *fleetclaim.Device) error {
		at = utc(at)
		if d.State == fleetclaim.DeviceRegistered {
			d.State, d.OnlineAt = fleetclaim.DeviceOnline, at
		}
		if at.After(d.LastConnectedAt) {
			d.LastConnectedAt = at
		}
		return put(tx, bLive, key(string(tenant), serial), *d)
	})
}

// DecommissionDevice implements fleetclaim.DeviceStore.
func (s *Store) DecommissionDevice(ctx context.Context, tenant fleetclaim.TenantID, serial, certificateID string, at time.Time, by fleetclaim.InstallerID, reason string) (fleetclaim.Device, error) {
	if tenant == "" || serial == "" || certificateID == "" || at.IsZero() {
		return fleetclaim.Device{}, invalid("decommission device: tenant, serial, certificate and time are required")
	}
	return s.changeLive(ctx, tenant, serial, certificateID, "decommission device", func(tx *bolt.Tx, d *fleetclaim.Device) error {
		d.State, d.DecommissionedAt, d.DecommissionedBy, d.DecommissionReason = fleetclaim.DeviceDecommissioned, utc(at), by, reason
		if err := tx.Bucket(bLive).Delete(key(string(tenant), serial)); err != nil {
			return err
		}
		return put(tx, bHistory, historyKey(*d), *d)
	})
}

func historyKey(d fleetclaim.Device) []byte {
	return key(string(d.TenantID), d.Serial, desc(d.ProvisionedAt), descString(d.CertificateID))
}

// changeLive applies change to the serial's live device with certificateID,
// and mirrors the result on the claim that provisioned it, in one
// transaction.
func (s *Store) changeLive(ctx context.Context, tenant fleetclaim.TenantID, serial, certificateID, what string, change func(tx *bolt.Tx, d *fleetclaim.Device) error) (fleetclaim.Device, error) {
	var out fleetclaim.Device
	err := s.update(ctx, func(tx *bolt.Tx) error {
		d, err := get[fleetclaim.Device](tx, bLive, key(string(tenant), serial))
		if err != nil {
			return err
		}
		if d.CertificateID != certificateID {
			return fleetclaim.ErrConflict
		}
		if err := change(tx, &d); err != nil {
			return err
		}
		c, err := get[fleetclaim.Claim](tx, bClaims, []byte(d.ClaimID))
		if err != nil {
			return fmt.Errorf("claim %s of the device: %w", d.ClaimID, err)
		}
		c.Device, out = &d, d
		return put(tx, bClaims, []byte(c.ID), c)
	})
	if err != nil {
		return fleetclaim.Device{}, fmt.Errorf("%s %s/%s: %w", what, tenant, serial, err)
	}
	return out, nil
}

// ListDeviceHistory implements fleetclaim.DeviceStore.
func (s *Store) ListDeviceHistory(ctx context.Context, tenant fleetclaim.TenantID, serial string, p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
	return list[fleetclaim.Device](ctx, s, bHistory, "history", joinParts([]string{string(tenant), serial}), p)
}

// CreateInstaller implements fleetclaim.InstallerStore.
func (s *Store) CreateInstaller(ctx context.Context, in fleetclaim.Installer) error {
	if in.ID == "" || in.TenantID == "" {
		return invalid("create installer: ID and tenant are required")
	}
	in.CreatedAt, in.UpdatedAt = utc(in.CreatedAt), utc(in.UpdatedAt)
	return s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bInstallers).Get([]byte(in.ID)) != nil {
			return fmt.Errorf("create installer %s: %w", in.ID, fleetclaim.ErrConflict)
		}
		if err := put(tx, bInstallers, []byte(in.ID), in); err != nil {
			return err
		}
		return tx.Bucket(bByTenant).Put(key(string(in.TenantID), in.Email, string(in.ID)), []byte(in.ID))
	})
}

// GetInstaller implements fleetclaim.InstallerStore.
func (s *Store) GetInstaller(ctx context.Context, id fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	var in fleetclaim.Installer
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		in, err = get[fleetclaim.Installer](tx, bInstallers, []byte(id))
		return err
	})
	if err != nil {
		return fleetclaim.Installer{}, fmt.Errorf("get installer %s: %w", id, err)
	}
	return in, nil
}

// SetInstallerStatus implements fleetclaim.InstallerStore.
func (s *Store) SetInstallerStatus(ctx context.Context, id fleetclaim.InstallerID, from []fleetclaim.InstallerStatus, to fleetclaim.InstallerStatus, at time.Time, by fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	if id == "" || len(from) == 0 || to == "" {
		return fleetclaim.Installer{}, invalid("set installer status: ID, from and to are required")
	}
	var out fleetclaim.Installer
	err := s.update(ctx, func(tx *bolt.Tx) error {
		in, err := get[fleetclaim.Installer](tx, bInstallers, []byte(id))
		if err != nil {
			return err
		}
		if !slices.Contains(from, in.Status) {
			return fleetclaim.ErrConflict
		}
		in.Status, in.UpdatedAt, in.UpdatedBy = to, utc(at), by
		out = in
		return put(tx, bInstallers, []byte(id), in)
	})
	if err != nil {
		return fleetclaim.Installer{}, fmt.Errorf("set installer %s %s: %w", id, to, err)
	}
	return out, nil
}

// ListInstallers implements fleetclaim.InstallerStore.
func (s *Store) ListInstallers(ctx context.Context, tenant fleetclaim.TenantID, p fleetclaim.Page) ([]fleetclaim.Installer, string, error) {
	var out []fleetclaim.Installer
	var next string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		next, err = scan(tx.Bucket(bByTenant), "installers", string(tenant), p, func(_, v []byte) error {
			in, err := get[fleetclaim.Installer](tx, bInstallers, v)
			out = append(out, in)
			return err
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list installers of %s: %w", tenant, err)
	}
	return out, next, nil
}

// TakeQuota implements fleetclaim.QuotaStore.
func (s *Store) TakeQuota(ctx context.Context, k string, windowEnd time.Time, limit int) error {
	if k == "" {
		return invalid("take quota: key is required")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bQuotas)
		qk := key(k, fmt.Sprint(windowEnd.Unix()))
		var n uint64
		if raw := b.Get(qk); raw != nil {
			n = binary.BigEndian.Uint64(raw)
		}
		if limit <= 0 || n >= uint64(limit) {
			return fmt.Errorf("take quota %s: %w", k, fleetclaim.ErrQuotaExhausted)
		}
		var raw [8]byte
		binary.BigEndian.PutUint64(raw[:], n+1)
		// Windows that ended are of no more use; dropping them here keeps
		// the bucket to one entry per key, as DynamoDB's TTL does in time.
		c := b.Cursor()
		prefix := key(k, "")
		for ck, _ := c.Seek(prefix); ck != nil && bytes.HasPrefix(ck, prefix); ck, _ = c.Next() {
			if !bytes.Equal(ck, qk) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return b.Put(qk, raw[:])
	})
}

// AppendAudit implements fleetclaim.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, e fleetclaim.AuditEvent) error {
	if e.TenantID == "" || e.ID == "" || e.At.IsZero() {
		return invalid("append audit: tenant, ID and time are required")
	}
	e.At = utc(e.At)
	return s.update(ctx, func(tx *bolt.Tx) error {
		k := key(string(e.TenantID), desc(e.At), descString(e.ID))
		if tx.Bucket(bAudit).Get(k) != nil {
			return fmt.Errorf("append audit %s: %w", e.ID, fleetclaim.ErrConflict)
		}
		return put(tx, bAudit, k, e)
	})
}

// ListAudit implements fleetclaim.AuditStore. Keys order a tenant's events
// newest first, so the time range is a seek and a stop; the other filters
// are tested on each event, and a page ends only at its limit or at the
// end of the range, whatever the filters skip.
func (s *Store) ListAudit(ctx context.Context, tenant fleetclaim.TenantID, f fleetclaim.AuditFilter, p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
	kind, scope := "audit"+f.Key(), string(tenant)
	limit := p.Limit
	if limit <= 0 {
		limit = fleetclaim.DefaultPageSize
	}
	limit = min(limit, fleetclaim.MaxPageSize)
	var out []fleetclaim.AuditEvent
	var next string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := key(scope, "")
		start := prefix
		if !f.Until.IsZero() && f.Until.After(minNano) && f.Until.Before(maxNano) {
			// Events at Until sort first under this key; the loop skips them.
			start = key(scope, desc(f.Until))
		}
		if p.Cursor != "" {
			after, err := decodeCursor(p.Cursor, kind, scope)
			if err != nil {
				return err
			}
			if bytes.Compare(after, start) >= 0 {
				start = append(after, 0)
			}
		}
		if f.Empty() {
			return nil
		}
		c := tx.Bucket(bAudit).Cursor()
		var last []byte
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e fleetclaim.AuditEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode %s: %w", bAudit, err)
			}
			if !f.Since.IsZero() && e.At.Before(f.Since) {
				break
			}
			if !f.Matches(e) {
				continue
			}
			if len(out) == limit {
				next = encodeCursor(kind, scope, last)
				break
			}
			out = append(out, e)
			last = append(last[:0], k...)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list audit of %s: %w", tenant, err)
	}
	return out, next, nil
}

// Outside these instants a time has no int64 count of nanoseconds since
// 1970 (desc's encoding), so a seek to one would land anywhere.
var (
	minNano = time.Unix(0, math.MinInt64)
	maxNano = time.Unix(0, math.MaxInt64)
)

// list pages through records stored directly under scope in bucket.
func list[T any](ctx context.Context, s *Store, bucket []byte, kind, scope string, p fleetclaim.Page) ([]T, string, error) {
	var out []T
	var next string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		next, err = scan(tx.Bucket(bucket), kind, scope, p, func(_, v []byte) error {
			var r T
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %s: %w", bucket, err)
			}
			out = append(out, r)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list %s of %s: %w", kind, scope, err)
	}
	return out, next, nil
}

// scan visits up to one page of the keys under scope, in key order, after
// the cursor's key, and returns the next page's cursor if more follow.
func scan(b *bolt.Bucket, kind, scope string, p fleetclaim.Page, visit func(k, v []byte) error) (string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = fleetclaim.DefaultPageSize
	}
	limit = min(limit, fleetclaim.MaxPageSize)
	prefix := key(scope, "")
	c := b.Cursor()
	k, v := c.Seek(prefix)
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor, kind, scope)
		if err != nil {
			return "", err
		}
		k, v = c.Seek(after)
		if bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	var last []byte
	n := 0
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if n == limit {
			return encodeCursor(kind, scope, last), nil
		}
		if err := visit(k, v); err != nil {
			return "", err
		}
		last = append(last[:0], k...)
		n++
	}
	return "", nil
}

// A cursor names the listing it belongs to, so that a cursor of one listing
// cannot be replayed against another (another tenant's, say).
type cursor struct {
	Kind  string `json:"k"`
	Scope string `json:"s"`
	After []byte `json:"a"`
}

func encodeCursor(kind, scope string, after []byte) string {
	raw, _ := json.Marshal(cursor{Kind: kind, Scope: scope, After: after})
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCursor(s, kind, scope string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fleetclaim.ErrInvalidCursor
	}
	var c cursor
	if json.Unmarshal(raw, &c) != nil || c.Kind != kind || c.Scope != scope || !bytes.HasPrefix(c.After, key(scope, "")) {
		return nil, fleetclaim.ErrInvalidCursor
	}
	return c.After, nil
}
