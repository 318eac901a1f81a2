package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

func testInstallerRoundTrip(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	in := NewInstaller(NewTenantID(), "ana@example.com", at(0))
	in.UpdatedBy = NewInstallerID()
	checkErr(t, "CreateInstaller", s.CreateInstaller(ctx, in), nil)
	got, err := s.GetInstaller(ctx, in.ID)
	checkErr(t, "GetInstaller", err, nil)
	checkEqual(t, "GetInstaller", got, installerInUTC(in))
	_, err = s.GetInstaller(ctx, NewInstallerID())
	checkErr(t, "GetInstaller of a missing installer", err, fleetclaim.ErrNotFound)
}

// testCreateInstallerConflict: creation is what makes the post-confirmation
// trigger idempotent; a second create must fail and change nothing.
func testCreateInstallerConflict(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	in := NewInstaller(NewTenantID(), "ana@example.com", at(0))
	checkErr(t, "CreateInstaller", s.CreateInstaller(ctx, in), nil)
	again := in
	again.Status, again.Email = fleetclaim.InstallerApproved, "mallory@example.com"
	checkErr(t, "CreateInstaller again", s.CreateInstaller(ctx, again), fleetclaim.ErrConflict)
	got, err := s.GetInstaller(ctx, in.ID)
	checkErr(t, "GetInstaller", err, nil)
	checkEqual(t, "installer after the refused create", got, installerInUTC(in))
}

func testSetInstallerStatus(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	pending, approved := fleetclaim.InstallerPending, fleetclaim.InstallerApproved
	suspended := fleetclaim.InstallerSuspended
	tests := []struct {
		name    string
		from    []fleetclaim.InstallerStatus
		to      fleetclaim.InstallerStatus
		missing bool
		want    error
	}{
		{name: "from the stored status", from: []fleetclaim.InstallerStatus{pending}, to: approved},
		{name: "from one of several", from: []fleetclaim.InstallerStatus{approved, pending}, to: suspended},
		{name: "stored status not in from", from: []fleetclaim.InstallerStatus{approved}, to: suspended, want: fleetclaim.ErrConflict},
		{name: "missing installer", from: []fleetclaim.InstallerStatus{pending}, to: approved, missing: true, want: fleetclaim.ErrNotFound},
		{name: "no from", to: approved, want: errInvalidCall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := NewInstaller(NewTenantID(), "ana@example.com", at(0))
			checkErr(t, "CreateInstaller", s.CreateInstaller(ctx, in), nil)
			id, by := in.ID, NewInstallerID()
			if tt.missing {
				id = NewInstallerID()
			}
			got, err := s.SetInstallerStatus(ctx, id, tt.from, tt.to, at(5), by)
			checkErr(t, "SetInstallerStatus", err, tt.want)
			stored, err := s.GetInstaller(ctx, in.ID)
			checkErr(t, "GetInstaller", err, nil)
			if tt.want != nil {
				checkEqual(t, "installer after the refused change", stored, installerInUTC(in))
				return
			}
			want := installerInUTC(in)
			want.Status, want.UpdatedAt, want.UpdatedBy = tt.to, at(5).UTC(), by
			checkEqual(t, "SetInstallerStatus result", got, want)
			checkEqual(t, "installer after the change", stored, want)
		})
	}
}

func testListInstallers(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant := NewTenantID()
	var want []fleetclaim.Installer
	for i, email := range []string{"zoe@example.com", "ana@example.com", "max@example.com", "ana@example.com", "bob@example.com"} {
		in := NewInstaller(tenant, email, at(i))
		checkErr(t, "CreateInstaller", s.CreateInstaller(ctx, in), nil)
		want = append(want, installerInUTC(in))
	}
	checkErr(t, "CreateInstaller of another tenant",
		s.CreateInstaller(ctx, NewInstaller(NewTenantID(), "eve@example.com", at(0))), nil)
	slices.SortFunc(want, func(a, b fleetclaim.Installer) int {
		if c := strings.Compare(a.Email, b.Email); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	for _, limit := range []int{1, 2, 5, 50} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.Installer, string, error) {
				return s.ListInstallers(ctx, tenant, p)
			})
			checkEqual(t, "ListInstallers, by email then ID", got, want)
		})
	}
}

func testTenants(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tests := []struct {
		name   string
		tenant fleetclaim.Tenant
	}{
		{"with domains and a quota", fleetclaim.Tenant{ID: NewTenantID(), Name: "Acme", Status: fleetclaim.TenantActive,
			AutoApproveDomains: []string{"acme.example", "acme.test"}, ClaimsPerHour: 12}},
		{"no domains", fleetclaim.Tenant{ID: NewTenantID(), Name: "Globex", Status: fleetclaim.TenantSuspended}},
		{"empty domains read back as nil", fleetclaim.Tenant{ID: NewTenantID(), Name: "Initech", Status: fleetclaim.TenantActive,
			AutoApproveDomains: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, "PutTenant", s.PutTenant(ctx, tt.tenant), nil)
			got, err := s.GetTenant(ctx, tt.tenant.ID)
			checkErr(t, "GetTenant", err, nil)
			want := tt.tenant
			if len(want.AutoApproveDomains) == 0 {
				want.AutoApproveDomains = nil
			}
			checkEqual(t, "GetTenant", got, want)
		})
	}
	t.Run("replace", func(t *testing.T) {
		tn := fleetclaim.Tenant{ID: NewTenantID(), Name: "A", Status: fleetclaim.TenantActive}
		checkErr(t, "PutTenant", s.PutTenant(ctx, tn), nil)
		tn.Status = fleetclaim.TenantSuspended
		checkErr(t, "PutTenant again", s.PutTenant(ctx, tn), nil)
		got, err := s.GetTenant(ctx, tn.ID)
		checkErr(t, "GetTenant", err, nil)
		checkEqual(t, "GetTenant after replace", got, tn)
	})
	_, err := s.GetTenant(ctx, NewTenantID())
	checkErr(t, "GetTenant of a missing tenant", err, fleetclaim.ErrNotFound)
}

func testTakeQuota(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	key := "claims#" + string(NewInstallerID())
	window := at(3600)
	for i := range 3 {
		checkErr(t, fmt.Sprintf("TakeQuota %d of 3", i+1), s.TakeQuota(ctx, key, window, 3), nil)
	}
	checkErr(t, "TakeQuota past the limit", s.TakeQuota(ctx, key, window, 3), fleetclaim.ErrQuotaExhausted)
	checkErr(t, "TakeQuota of another key", s.TakeQuota(ctx, key+"x", window, 3), nil)
	checkErr(t, "TakeQuota in the next window", s.TakeQuota(ctx, key, window.Add(time.Hour), 3), nil)
	checkErr(t, "TakeQuota with limit 0", s.TakeQuota(ctx, "k#"+randomHex(4), window, 0), fleetclaim.ErrQuotaExhausted)
	checkErr(t, "TakeQuota with a negative limit", s.TakeQuota(ctx, "k#"+randomHex(4), window, -1), fleetclaim.ErrQuotaExhausted)
}

// testTakeQuotaRace: concurrent takers at the edge never pass the limit.
func testTakeQuotaRace(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	const limit = 5
	key := "claims#" + string(NewInstallerID())
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken, refused := 0, 0
	start := make(chan struct{})
	for range 3 * limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := s.TakeQuota(ctx, key, at(3600), limit)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				taken++
			case errors.Is(err, fleetclaim.ErrQuotaExhausted):
				refused++
			default:
				t.Errorf("TakeQuota: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	checkEqual(t, "quota taken by racers", taken, limit)
	checkEqual(t, "racers refused", refused, 2*limit)
}

func testAudit(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant := NewTenantID()
	var want []fleetclaim.AuditEvent
	for i, sec := range []int{30, 10, 50, 10, 20} {
		e := fleetclaim.AuditEvent{TenantID: tenant, ID: fmt.Sprintf("evt-%02d-%s", i, randomHex(3)), At: at(sec),
			Actor: NewInstallerID(), Action: fleetclaim.ActionClaimIssued, Subject: "SN-1", Reason: fleetclaim.ReasonExpired, Detail: "d"}
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, e), nil)
		want = append(want, auditInUTC(e))
	}
	checkErr(t, "AppendAudit of another tenant", s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: NewTenantID(),
		ID: "x", At: at(10), Action: "a"}), nil)
	checkErr(t, "AppendAudit of an existing event", s.AppendAudit(ctx, want[0]), fleetclaim.ErrConflict)
	slices.SortFunc(want, func(a, b fleetclaim.AuditEvent) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return -strings.Compare(a.ID, b.ID)
	})
	for _, limit := range []int{1, 2, 50} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
				return s.ListAudit(ctx, tenant, p)
			})
			checkEqual(t, "ListAudit, newest first", got, want)
		})
	}
}

func testPageSizeBounds(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant := NewTenantID()
	for i := range fleetclaim.MaxPageSize + 5 {
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant,
			ID: fmt.Sprintf("e%04d", i), At: at(i), Action: "a"}), nil)
	}
	for _, tt := range []struct {
		limit, want int
	}{{0, fleetclaim.DefaultPageSize}, {-3, fleetclaim.DefaultPageSize}, {fleetclaim.MaxPageSize + 50, fleetclaim.MaxPageSize}} {
		got, next, err := s.ListAudit(ctx, tenant, fleetclaim.Page{Limit: tt.limit})
		checkErr(t, "ListAudit", err, nil)
		checkEqual(t, fmt.Sprintf("page size for limit %d", tt.limit), len(got), tt.want)
		if next == "" {
			t.Errorf("limit %d: got no cursor with more events to list", tt.limit)
		}
	}
}

func testInvalidCursors(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant, installer := NewTenantID(), NewInstallerID()
	for i := range 3 {
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant, ID: fmt.Sprintf("e%d", i), At: at(i), Action: "a"}), nil)
		in := NewInstaller(tenant, fmt.Sprintf("u%d@example.com", i), at(i))
		checkErr(t, "CreateInstaller", s.CreateInstaller(ctx, in), nil)
		checkErr(t, "CreateClaim", s.CreateClaim(ctx, NewClaim(tenant, installer, fmt.Sprintf("SN-%d", i), at(i))), nil)
	}
	_, auditCursor, err := s.ListAudit(ctx, tenant, fleetclaim.Page{Limit: 1})
	checkErr(t, "ListAudit", err, nil)
	_, installersCursor, err := s.ListInstallers(ctx, tenant, fleetclaim.Page{Limit: 1})
	checkErr(t, "ListInstallers", err, nil)
	if auditCursor == "" || installersCursor == "" {
		t.Fatal("got no cursor from a first page of one")
	}
	other := NewTenantID()
	tests := []struct {
		name string
		list func(cursor string) error
	}{
		{"garbage", func(c string) error {
			_, _, err := s.ListAudit(ctx, tenant, fleetclaim.Page{Cursor: "!!not-a-cursor"})
			return err
		}},
		{"audit cursor of another tenant", func(c string) error {
			_, _, err := s.ListAudit(ctx, other, fleetclaim.Page{Cursor: auditCursor})
			return err
		}},
		{"audit cursor for installers", func(c string) error {
			_, _, err := s.ListInstallers(ctx, tenant, fleetclaim.Page{Cursor: auditCursor})
			return err
		}},
		{"installers cursor for devices", func(c string) error {
			_, _, err := s.ListDevices(ctx, tenant, fleetclaim.Page{Cursor: installersCursor})
			return err
		}},
		{"installers cursor for claims", func(c string) error {
			_, _, err := s.ListClaims(ctx, installer, fleetclaim.Page{Cursor: installersCursor})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, "list", tt.list(""), fleetclaim.ErrInvalidCursor)
		})
	}
}

// testContextDone: a done context fails every method and changes nothing.
func testContextDone(t *testing.T, s fleetclaim.Store) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()
	for name, ctx := range map[string]context.Context{"canceled": canceled, "past its deadline": expired} {
		t.Run(name, func(t *testing.T) {
			tenant := NewTenantID()
			c := NewClaim(tenant, NewInstallerID(), "SN-1", at(0))
			in := NewInstaller(tenant, "ana@example.com", at(0))
			calls := map[string]func() error{
				"CreateClaim":     func() error { return s.CreateClaim(ctx, c) },
				"CreateInstaller": func() error { return s.CreateInstaller(ctx, in) },
				"PutTenant": func() error {
					return s.PutTenant(ctx, fleetclaim.Tenant{ID: tenant, Name: "t", Status: fleetclaim.TenantActive})
				},
				"TakeQuota": func() error { return s.TakeQuota(ctx, "k#"+randomHex(4), at(3600), 5) },
				"AppendAudit": func() error {
					return s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant, ID: "e", At: at(0), Action: "a"})
				},
				"GetClaim":     func() error { _, err := s.GetClaim(ctx, c.ID); return err },
				"GetInstaller": func() error { _, err := s.GetInstaller(ctx, in.ID); return err },
				"GetTenant":    func() error { _, err := s.GetTenant(ctx, tenant); return err },
				"GetDevice":    func() error { _, err := s.GetDevice(ctx, tenant, "SN-1"); return err },
				"UpdateClaim": func() error {
					_, err := s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimRevoked, At: at(1)})
					return err
				},
				"SetInstallerStatus": func() error {
					_, err := s.SetInstallerStatus(ctx, in.ID, []fleetclaim.InstallerStatus{fleetclaim.InstallerPending}, fleetclaim.InstallerApproved, at(1), "")
					return err
				},
				"ListClaims":     func() error { _, _, err := s.ListClaims(ctx, c.InstallerID, fleetclaim.Page{}); return err },
				"ListDevices":    func() error { _, _, err := s.ListDevices(ctx, tenant, fleetclaim.Page{}); return err },
				"ListInstallers": func() error { _, _, err := s.ListInstallers(ctx, tenant, fleetclaim.Page{}); return err },
				"ListAudit":      func() error { _, _, err := s.ListAudit(ctx, tenant, fleetclaim.Page{}); return err },
			}
			for call, f := range calls {
				if err := f(); err == nil || !errors.Is(err, ctx.Err()) {
					t.Errorf("%s: got %v, want an error wrapping %v", call, err, ctx.Err())
				}
			}
			_, err := s.GetClaim(t.Context(), c.ID)
			checkErr(t, "GetClaim with a live context", err, fleetclaim.ErrNotFound)
			_, err = s.GetInstaller(t.Context(), in.ID)
			checkErr(t, "GetInstaller with a live context", err, fleetclaim.ErrNotFound)
			_, err = s.GetTenant(t.Context(), tenant)
			checkErr(t, "GetTenant with a live context", err, fleetclaim.ErrNotFound)
		})
	}
}
