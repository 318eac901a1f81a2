package fleetclaim_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

func TestAuditQueryFilter(t *testing.T) {
	sub := "0c6b1f7e-2a44-4d7a-9a51-3f2b8e9d1c00"
	tests := []struct {
		name      string
		q         fleetclaim.AuditQuery
		want      fleetclaim.AuditFilter
		wantField string // "" for success
		wantCode  string
	}{
		{name: "none", q: fleetclaim.AuditQuery{}},
		{name: "every filter", q: fleetclaim.AuditQuery{Since: "2026-11-01T00:00:00Z", Until: "2026-11-02T10:00:00.5+01:00",
			Action: fleetclaim.ActionClaimRevoked, Serial: "SN-0042", Actor: sub},
			want: fleetclaim.AuditFilter{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
				Until: time.Date(2026, 11, 2, 9, 0, 0, 5e8, time.UTC), Action: fleetclaim.ActionClaimRevoked,
				Serial: "SN-0042", Actor: fleetclaim.InstallerID(sub)}},
		{name: "offboarding is an action too", q: fleetclaim.AuditQuery{Action: fleetclaim.ActionInstallerOffboarded},
			want: fleetclaim.AuditFilter{Action: fleetclaim.ActionInstallerOffboarded}},
		{name: "since not RFC 3339", q: fleetclaim.AuditQuery{Since: "2026-11-01"}, wantField: "since", wantCode: fleetclaim.CodeInvalidRequest},
		{name: "until not RFC 3339", q: fleetclaim.AuditQuery{Until: "yesterday"}, wantField: "until", wantCode: fleetclaim.CodeInvalidRequest},
		{name: "until before since", q: fleetclaim.AuditQuery{Since: "2026-11-02T00:00:00Z", Until: "2026-11-01T00:00:00Z"},
			wantField: "until", wantCode: fleetclaim.CodeInvalidRequest},
		{name: "until equal to since", q: fleetclaim.AuditQuery{Since: "2026-11-02T00:00:00Z", Until: "2026-11-02T01:00:00+01:00"},
			wantField: "until", wantCode: fleetclaim.CodeInvalidRequest},
		{name: "unknown action", q: fleetclaim.AuditQuery{Action: "claim.deleted"}, wantField: "action", wantCode: fleetclaim.CodeUnknownAuditAction},
		{name: "action in another case", q: fleetclaim.AuditQuery{Action: "CLAIM.ISSUED"}, wantField: "action", wantCode: fleetclaim.CodeUnknownAuditAction},
		{name: "malformed serial", q: fleetclaim.AuditQuery{Serial: "SN 42"}, wantField: "serial", wantCode: fleetclaim.CodeInvalidRequest},
		{name: "serial too long", q: fleetclaim.AuditQuery{Serial: strings.Repeat("S", fleetclaim.MaxSerialLength+1)}, wantField: "serial", wantCode: fleetclaim.CodeInvalidRequest},
		{name: "actor not a sub", q: fleetclaim.AuditQuery{Actor: "admin@acme.example"}, wantField: "actor", wantCode: fleetclaim.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.Filter()
			if tt.wantField == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			e := errorOf(t, err)
			if e.Kind != fleetclaim.KindInvalid || e.Field != tt.wantField || e.Code != tt.wantCode {
				t.Errorf("got %s %s field %q, want invalid %s field %q", e.Kind, e.Code, e.Field, tt.wantCode, tt.wantField)
			}
		})
	}
}

// The audit trail answers "who touched this device": every event of a
// serial's claims, registration and certificates carries the serial, so one
// filter finds them, and the other filters narrow as their names say.
func TestListAuditFilters(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	revoked := w.issue("SN-1")
	w.advance(time.Minute)
	if _, err := w.svc.RevokeClaim(ctx, w.installerP(), revoked.Claim.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	w.advance(time.Minute)
	mid := w.clock()
	used := w.issue("SN-2")
	if d := w.register(used.Claim.ID, "SN-2", template); !d.Allow {
		t.Fatalf("register SN-2: got %+v, want allowed", d)
	}
	w.advance(time.Minute)
	pending := w.addInstaller("acme", fleetclaim.InstallerPending)
	if _, err := w.svc.ApproveInstaller(ctx, w.adminP(), pending.ID); err != nil {
		t.Fatalf("approve: %v", err)
	}

	tests := []struct {
		name string
		q    fleetclaim.AuditQuery
		want []string // actions (events at one instant come in any order)
	}{
		{"serial", fleetclaim.AuditQuery{Serial: "SN-1"},
			[]string{fleetclaim.ActionCertificateDeactivated, fleetclaim.ActionClaimRevoked, fleetclaim.ActionClaimIssued}},
		{"serial of a registered device", fleetclaim.AuditQuery{Serial: "SN-2"},
			[]string{fleetclaim.ActionDeviceProvisioned, fleetclaim.ActionClaimIssued}},
		{"action", fleetclaim.AuditQuery{Action: fleetclaim.ActionClaimIssued},
			[]string{fleetclaim.ActionClaimIssued, fleetclaim.ActionClaimIssued}},
		{"actor", fleetclaim.AuditQuery{Actor: string(w.admin.ID)}, []string{fleetclaim.ActionInstallerApproved}},
		{"since", fleetclaim.AuditQuery{Since: mid.Format(time.RFC3339Nano)},
			[]string{fleetclaim.ActionInstallerApproved, fleetclaim.ActionDeviceProvisioned, fleetclaim.ActionClaimIssued}},
		{"until", fleetclaim.AuditQuery{Until: mid.Format(time.RFC3339Nano), Action: fleetclaim.ActionClaimIssued},
			[]string{fleetclaim.ActionClaimIssued}},
		{"nothing matches", fleetclaim.AuditQuery{Serial: "SN-3"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, next, err := w.svc.ListAudit(ctx, w.adminP(), "", tt.q, fleetclaim.Page{})
			if err != nil || next != "" {
				t.Fatalf("got %v, cursor %q; want one page", err, next)
			}
			var got []string
			for _, e := range events {
				got = append(got, e.Action)
				if tt.q.Serial != "" && e.Serial != tt.q.Serial {
					t.Errorf("%s: got serial %q, want %q", e.Action, e.Serial, tt.q.Serial)
				}
			}
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got actions %v, want %v", got, tt.want)
			}
		})
	}
}

// countingStore counts the store calls a listing makes.
type countingStore struct {
	fleetclaim.Store
	calls atomic.Int32
}

func (c *countingStore) GetInstaller(ctx context.Context, id fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	c.calls.Add(1)
	return c.Store.GetInstaller(ctx, id)
}

func (c *countingStore) ListAudit(ctx context.Context, t fleetclaim.TenantID, f fleetclaim.AuditFilter, p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
	c.calls.Add(1)
	return c.Store.ListAudit(ctx, t, f, p)
}

// Bad filters are refused before the store is asked anything, whoever asks.
func TestListAuditRefusesBadFiltersFirst(t *testing.T) {
	w := newWorld(t)
	store := &countingStore{Store: w.store}
	w.svc.Store = store
	for _, q := range []fleetclaim.AuditQuery{{Action: "nope"}, {Since: "now"}, {Serial: "a/b"}, {Actor: "x"}} {
		for _, p := range []fleetclaim.Principal{w.adminP(), w.installerP()} {
			_, _, err := w.svc.ListAudit(context.Background(), p, "", q, fleetclaim.Page{})
			if e := errorOf(t, err); e.Kind != fleetclaim.KindInvalid {
				t.Errorf("%+v: got %v, want invalid", q, err)
			}
		}
	}
	if n := store.calls.Load(); n != 0 {
		t.Errorf("got %d store calls, want none", n)
	}
	if _, _, err := w.svc.ListAudit(context.Background(), w.adminP(), "", fleetclaim.AuditQuery{Action: fleetclaim.ActionClaimIssued}, fleetclaim.Page{}); err != nil || store.calls.Load() == 0 {
		t.Errorf("got %v and %d store calls for a good filter, want the store asked", err, store.calls.Load())
	}
}
