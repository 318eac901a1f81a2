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
	stranger := NewInstaller(NewTenantID(), "eve@example.com", at(0))
	checkErr(t, "CreateInstaller of another tenant", s.CreateInstaller(ctx, stranger), nil)
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
	t.Run("another tenant", func(t *testing.T) {
		got := listAll(t, 50, func(p fleetclaim.Page) ([]fleetclaim.Installer, string, error) {
			return s.ListInstallers(ctx, stranger.TenantID, p)
		})
		checkEqual(t, "ListInstallers of another tenant", got, []fleetclaim.Installer{installerInUTC(stranger)})
	})
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
			Actor: NewInstallerID(), Action: fleetclaim.ActionClaimIssued, Subject: "SN-1", Serial: "SN-1", Reason: fleetclaim.ReasonExpired, Detail: "d"}
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, e), nil)
		want = append(want, auditInUTC(e))
	}
	// The other tenant's event has the same time and ID as one of ours:
	// the trail is per tenant, so it is no duplicate.
	foreign := fleetclaim.AuditEvent{TenantID: NewTenantID(), ID: want[1].ID, At: want[1].At, Action: "a"}
	checkErr(t, "AppendAudit of another tenant", s.AppendAudit(ctx, foreign), nil)
	// Append-only: an event cannot be rewritten by appending it again.
	rewritten := want[0]
	rewritten.Action, rewritten.Detail = fleetclaim.ActionClaimRevoked, "rewritten"
	checkErr(t, "AppendAudit of an existing event", s.AppendAudit(ctx, rewritten), fleetclaim.ErrConflict)
	slices.SortFunc(want, func(a, b fleetclaim.AuditEvent) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return -strings.Compare(a.ID, b.ID)
	})
	for _, limit := range []int{1, 2, 50} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
				return s.ListAudit(ctx, tenant, fleetclaim.AuditFilter{}, p)
			})
			checkEqual(t, "ListAudit, newest first", got, want)
		})
	}
	t.Run("another tenant", func(t *testing.T) {
		got := listAll(t, 50, func(p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
			return s.ListAudit(ctx, foreign.TenantID, fleetclaim.AuditFilter{}, p)
		})
		checkEqual(t, "ListAudit of another tenant", got, []fleetclaim.AuditEvent{auditInUTC(foreign)})
	})
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
		got, next, err := s.ListAudit(ctx, tenant, fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: tt.limit})
		checkErr(t, "ListAudit", err, nil)
		checkEqual(t, fmt.Sprintf("page size for limit %d", tt.limit), len(got), tt.want)
		if next == "" {
			t.Errorf("limit %d: got no cursor with more events to list", tt.limit)
		}
	}
}

// testInvalidCursors: a cursor works only for the listing that produced it;
// replayed against another tenant's or installer's listing, or another kind
// of listing, it must not read from there.
func testInvalidCursors(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant, installer := NewTenantID(), NewInstallerID()
	for i := range 3 {
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant, ID: fmt.Sprintf("e%d", i), At: at(i), Action: "a"}), nil)
		in := NewInstaller(tenant, fmt.Sprintf("u%d@example.com", i), at(i))
		checkErr(t, "CreateInstaller", s.CreateInstaller(ctx, in), nil)
		c := NewClaim(tenant, installer, fmt.Sprintf("SN-%d", i), at(i))
		checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
		u, _ := consume(c, at(i+10))
		_, err := s.UpdateClaim(ctx, u)
		checkErr(t, "UpdateClaim", err, nil)
	}
	firstCursor := func(name string, list func(fleetclaim.Page) (string, error)) string {
		t.Helper()
		next, err := list(fleetclaim.Page{Limit: 1})
		checkErr(t, name, err, nil)
		if next == "" {
			t.Fatalf("%s: got no cursor from a first page of one", name)
		}
		return next
	}
	audit := firstCursor("ListAudit", func(p fleetclaim.Page) (string, error) {
		_, next, err := s.ListAudit(ctx, tenant, fleetclaim.AuditFilter{}, p)
		return next, err
	})
	installers := firstCursor("ListInstallers", func(p fleetclaim.Page) (string, error) {
		_, next, err := s.ListInstallers(ctx, tenant, p)
		return next, err
	})
	devices := firstCursor("ListDevices", func(p fleetclaim.Page) (string, error) {
		_, next, err := s.ListDevices(ctx, tenant, p)
		return next, err
	})
	claims := firstCursor("ListClaims", func(p fleetclaim.Page) (string, error) {
		_, next, err := s.ListClaims(ctx, installer, p)
		return next, err
	})
	// Two generations of one serial's devices, for a history of two.
	for i := range 2 {
		d, err := s.GetDevice(ctx, tenant, "SN-0")
		checkErr(t, "GetDevice", err, nil)
		_, err = s.DecommissionDevice(ctx, tenant, "SN-0", d.CertificateID, at(20+i), "", "replaced")
		checkErr(t, "DecommissionDevice", err, nil)
		c := NewClaim(tenant, installer, "SN-0", at(30+i))
		checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, d.ClaimID), nil)
		u, _ := consume(c, at(40+i))
		_, err = s.UpdateClaim(ctx, u)
		checkErr(t, "UpdateClaim", err, nil)
	}
	history := firstCursor("ListDeviceHistory", func(p fleetclaim.Page) (string, error) {
		_, next, err := s.ListDeviceHistory(ctx, tenant, "SN-0", p)
		return next, err
	})

	other, stranger := NewTenantID(), NewInstallerID()
	listAudit := func(tn fleetclaim.TenantID) func(string) error {
		return func(c string) error {
			_, _, err := s.ListAudit(ctx, tn, fleetclaim.AuditFilter{}, fleetclaim.Page{Cursor: c})
			return err
		}
	}
	listInstallers := func(tn fleetclaim.TenantID) func(string) error {
		return func(c string) error { _, _, err := s.ListInstallers(ctx, tn, fleetclaim.Page{Cursor: c}); return err }
	}
	listDevices := func(tn fleetclaim.TenantID) func(string) error {
		return func(c string) error { _, _, err := s.ListDevices(ctx, tn, fleetclaim.Page{Cursor: c}); return err }
	}
	listHistory := func(tn fleetclaim.TenantID, serial string) func(string) error {
		return func(c string) error {
			_, _, err := s.ListDeviceHistory(ctx, tn, serial, fleetclaim.Page{Cursor: c})
			return err
		}
	}
	listClaims := func(in fleetclaim.InstallerID) func(string) error {
		return func(c string) error { _, _, err := s.ListClaims(ctx, in, fleetclaim.Page{Cursor: c}); return err }
	}
	tests := []struct {
		name   string
		cursor string
		list   func(cursor string) error
	}{
		{"garbage", "!!not-a-cursor", listAudit(tenant)},
		{"cut off", audit[:len(audit)/2], listAudit(tenant)},
		{"audit cursor of another tenant", audit, listAudit(other)},
		{"installers cursor of another tenant", installers, listInstallers(other)},
		{"devices cursor of another tenant", devices, listDevices(other)},
		{"claims cursor of another installer", claims, listClaims(stranger)},
		{"audit cursor for installers", audit, listInstallers(tenant)},
		{"installers cursor for devices", installers, listDevices(tenant)},
		{"devices cursor for audit", devices, listAudit(tenant)},
		{"installers cursor for claims", installers, listClaims(installer)},
		{"claims cursor for installers", claims, listInstallers(tenant)},
		{"history cursor of another serial", history, listHistory(tenant, "SN-1")},
		{"history cursor of another tenant", history, listHistory(other, "SN-0")},
		{"history cursor for devices", history, listDevices(tenant)},
		{"devices cursor for history", devices, listHistory(tenant, "SN-0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, "list", tt.list(tt.cursor), fleetclaim.ErrInvalidCursor)
		})
	}
}

// testDirectoryRejectsBadInput: calls missing what identifies a record fail
// as invalid, never as a decision, and write nothing.
func testDirectoryRejectsBadInput(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant := NewTenantID()
	in := NewInstaller(tenant, "ana@example.com", at(0))
	checkErr(t, "CreateInstaller", s.CreateInstaller(ctx, in), nil)
	pending := []fleetclaim.InstallerStatus{fleetclaim.InstallerPending}
	tests := []struct {
		name string
		call func() error
	}{
		{"CreateInstaller with no ID", func() error {
			bad := NewInstaller(tenant, "bob@example.com", at(0))
			bad.ID = ""
			return s.CreateInstaller(ctx, bad)
		}},
		{"CreateInstaller with no tenant", func() error {
			bad := NewInstaller(tenant, "bob@example.com", at(0))
			bad.TenantID = ""
			return s.CreateInstaller(ctx, bad)
		}},
		{"SetInstallerStatus with no ID", func() error {
			_, err := s.SetInstallerStatus(ctx, "", pending, fleetclaim.InstallerApproved, at(1), "")
			return err
		}},
		{"SetInstallerStatus with no target status", func() error {
			_, err := s.SetInstallerStatus(ctx, in.ID, pending, "", at(1), "")
			return err
		}},
		{"PutTenant with no ID", func() error {
			return s.PutTenant(ctx, fleetclaim.Tenant{Name: "Acme", Status: fleetclaim.TenantActive})
		}},
		{"TakeQuota with no key", func() error { return s.TakeQuota(ctx, "", at(3600), 5) }},
		{"AppendAudit with no tenant", func() error {
			return s.AppendAudit(ctx, fleetclaim.AuditEvent{ID: "e", At: at(0), Action: "a"})
		}},
		{"AppendAudit with no ID", func() error {
			return s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant, At: at(0), Action: "a"})
		}},
		{"AppendAudit with no time", func() error {
			return s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant, ID: "e", Action: "a"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.name, tt.call(), errInvalidCall)
		})
	}
	got, err := s.GetInstaller(ctx, in.ID)
	checkErr(t, "GetInstaller", err, nil)
	checkEqual(t, "installer after the refused calls", got, installerInUTC(in))
	installers, _, err := s.ListInstallers(ctx, tenant, fleetclaim.Page{})
	checkErr(t, "ListInstallers", err, nil)
	checkEqual(t, "installers after the refused calls", installers, []fleetclaim.Installer{installerInUTC(in)})
	events, _, err := s.ListAudit(ctx, tenant, fleetclaim.AuditFilter{}, fleetclaim.Page{})
	checkErr(t, "ListAudit", err, nil)
	checkEqual(t, "audit events after the refused calls", len(events), 0)
}

// testContextDone: a done context fails every method and changes nothing,
// neither records that exist nor records that would be created.
func testContextDone(t *testing.T, s fleetclaim.Store) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancelExpired := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancelExpired()
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"canceled", canceled}, {"past its deadline", expired}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, live := tc.ctx, t.Context()
			tenant := fleetclaim.Tenant{ID: NewTenantID(), Name: "Acme", Status: fleetclaim.TenantActive}
			stored := NewClaim(tenant.ID, NewInstallerID(), "SN-1", at(0))
			in := NewInstaller(tenant.ID, "ana@example.com", at(0))
			quota := "k#" + randomHex(4)
			checkErr(t, "PutTenant", s.PutTenant(live, tenant), nil)
			checkErr(t, "CreateClaim", s.CreateClaim(live, stored, ""), nil)
			checkErr(t, "CreateInstaller", s.CreateInstaller(live, in), nil)
			checkErr(t, "TakeQuota", s.TakeQuota(live, quota, at(3600), 2), nil) // one use left

			fresh := NewClaim(tenant.ID, stored.InstallerID, "SN-2", at(1))
			newcomer := NewInstaller(tenant.ID, "bob@example.com", at(1))
			calls := map[string]func() error{
				"CreateClaim":     func() error { return s.CreateClaim(ctx, fresh, "") },
				"CreateInstaller": func() error { return s.CreateInstaller(ctx, newcomer) },
				"PutTenant": func() error {
					changed := tenant
					changed.Status = fleetclaim.TenantSuspended
					return s.PutTenant(ctx, changed)
				},
				"TakeQuota": func() error { return s.TakeQuota(ctx, quota, at(3600), 2) },
				"AppendAudit": func() error {
					return s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant.ID, ID: "e", At: at(0), Action: "a"})
				},
				"UpdateClaim": func() error {
					u, _ := consume(stored, at(10))
					_, err := s.UpdateClaim(ctx, u)
					return err
				},
				"SetInstallerStatus": func() error {
					_, err := s.SetInstallerStatus(ctx, in.ID, []fleetclaim.InstallerStatus{fleetclaim.InstallerPending},
						fleetclaim.InstallerApproved, at(1), "")
					return err
				},
				"GetClaim":     func() error { _, err := s.GetClaim(ctx, stored.ID); return err },
				"GetInstaller": func() error { _, err := s.GetInstaller(ctx, in.ID); return err },
				"GetTenant":    func() error { _, err := s.GetTenant(ctx, tenant.ID); return err },
				"GetDevice":    func() error { _, err := s.GetDevice(ctx, tenant.ID, "SN-1"); return err },
				"GetSerial":    func() error { _, err := s.GetSerial(ctx, tenant.ID, "SN-1"); return err },
				"MarkDeviceOnline": func() error {
					_, err := s.MarkDeviceOnline(ctx, tenant.ID, "SN-1", "certificate", at(20))
					return err
				},
				"DecommissionDevice": func() error {
					_, err := s.DecommissionDevice(ctx, tenant.ID, "SN-1", "certificate", at(20), "", "broken")
					return err
				},
				"ListDeviceHistory": func() error {
					_, _, err := s.ListDeviceHistory(ctx, tenant.ID, "SN-1", fleetclaim.Page{})
					return err
				},
				"ListClaims":     func() error { _, _, err := s.ListClaims(ctx, stored.InstallerID, fleetclaim.Page{}); return err },
				"ListDevices":    func() error { _, _, err := s.ListDevices(ctx, tenant.ID, fleetclaim.Page{}); return err },
				"ListInstallers": func() error { _, _, err := s.ListInstallers(ctx, tenant.ID, fleetclaim.Page{}); return err },
				"ListAudit": func() error {
					_, _, err := s.ListAudit(ctx, tenant.ID, fleetclaim.AuditFilter{}, fleetclaim.Page{})
					return err
				},
			}
			for call, f := range calls {
				if err := f(); err == nil || !errors.Is(err, ctx.Err()) {
					t.Errorf("%s: got %v, want an error wrapping %v", call, err, ctx.Err())
				}
			}

			_, err := s.GetClaim(live, fresh.ID)
			checkErr(t, "GetClaim of the claim not created", err, fleetclaim.ErrNotFound)
			gotClaim, err := s.GetClaim(live, stored.ID)
			checkErr(t, "GetClaim", err, nil)
			checkEqual(t, "claim after the refused update", gotClaim, claimInUTC(stored))
			_, err = s.GetDevice(live, tenant.ID, stored.Serial)
			checkErr(t, "GetDevice of the claim not consumed", err, fleetclaim.ErrNotFound)
			_, err = s.GetInstaller(live, newcomer.ID)
			checkErr(t, "GetInstaller of the installer not created", err, fleetclaim.ErrNotFound)
			gotInstaller, err := s.GetInstaller(live, in.ID)
			checkErr(t, "GetInstaller", err, nil)
			checkEqual(t, "installer after the refused change", gotInstaller, installerInUTC(in))
			gotTenant, err := s.GetTenant(live, tenant.ID)
			checkErr(t, "GetTenant", err, nil)
			checkEqual(t, "tenant after the refused replace", gotTenant, tenant)
			checkErr(t, "TakeQuota of the use left", s.TakeQuota(live, quota, at(3600), 2), nil)
			checkErr(t, "TakeQuota past the limit", s.TakeQuota(live, quota, at(3600), 2), fleetclaim.ErrQuotaExhausted)
			events, _, err := s.ListAudit(live, tenant.ID, fleetclaim.AuditFilter{}, fleetclaim.Page{})
			checkErr(t, "ListAudit", err, nil)
			checkEqual(t, "audit events after the refused append", len(events), 0)
		})
	}
}
