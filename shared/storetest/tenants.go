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

// testTenants holds the tenant methods to their contract: the seed's
// PutTenant never overwrites an API change, CreateTenant never replaces,
// UpdateTenant is optimistic, SetTenantStatus is conditional, and
// ListTenants pages through every tenant by ID with cursors of its own.
func testTenants(t *testing.T, s fleetclaim.Store) {
	for _, tt := range []struct {
		name string
		test func(t *testing.T, s fleetclaim.Store)
	}{
		{"RoundTrip", testTenantRoundTrip},
		{"SeedNeverOverwritesAPIChanges", testSeedNeverOverwritesAPIChanges},
		{"CreateTenantConflict", testCreateTenantConflict},
		{"UpdateTenant", testUpdateTenant},
		{"UpdateTenantRace", testUpdateTenantRace},
		{"SetTenantStatus", testSetTenantStatus},
		{"ListTenants", testListTenants},
		{"RejectsBadInput", testTenantsRejectBadInput},
		{"ContextDone", testTenantsContextDone},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, s) })
	}
}

// NewTenant returns an active tenant with a new ID, created through the API
// at createdAt (Revision 1), with every setting given a value.
func NewTenant(createdAt time.Time) fleetclaim.Tenant {
	return fleetclaim.Tenant{
		ID: NewTenantID(), Name: "Acme Field Services", Status: fleetclaim.TenantActive, Revision: 1,
		AllowedTemplates: []string{"fleet-default"}, CreatedAt: createdAt, UpdatedAt: createdAt, UpdatedBy: NewInstallerID(),
		AutoApproveDomains: []string{"acme.example", "acme.test"}, ClaimsPerHour: 12, InstallersMayDecommission: true,
	}
}

func tenantInUTC(tn fleetclaim.Tenant) fleetclaim.Tenant {
	tn.CreatedAt = tn.CreatedAt.UTC()
	tn.UpdatedAt = tn.UpdatedAt.UTC()
	if len(tn.AutoApproveDomains) == 0 {
		tn.AutoApproveDomains = nil
	}
	if len(tn.AllowedTemplates) == 0 {
		tn.AllowedTemplates = nil
	}
	return tn
}

func testTenantRoundTrip(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tests := []struct {
		name   string
		write  func(fleetclaim.Tenant) error
		tenant fleetclaim.Tenant
	}{
		{"seeded, with domains and a quota", func(tn fleetclaim.Tenant) error { return s.PutTenant(ctx, tn) },
			fleetclaim.Tenant{ID: NewTenantID(), Name: "Acme", Status: fleetclaim.TenantActive,
				AutoApproveDomains: []string{"acme.example", "acme.test"}, ClaimsPerHour: 12}},
		{"seeded, no domains", func(tn fleetclaim.Tenant) error { return s.PutTenant(ctx, tn) },
			fleetclaim.Tenant{ID: NewTenantID(), Name: "Globex", Status: fleetclaim.TenantSuspended}},
		{"seeded, installers may decommission", func(tn fleetclaim.Tenant) error { return s.PutTenant(ctx, tn) },
			fleetclaim.Tenant{ID: NewTenantID(), Name: "Hooli", Status: fleetclaim.TenantActive, InstallersMayDecommission: true}},
		{"seeded, empty lists read back as nil", func(tn fleetclaim.Tenant) error { return s.PutTenant(ctx, tn) },
			fleetclaim.Tenant{ID: NewTenantID(), Name: "Initech", Status: fleetclaim.TenantActive,
				AutoApproveDomains: []string{}, AllowedTemplates: []string{}}},
		{"created, every field", func(tn fleetclaim.Tenant) error { return s.CreateTenant(ctx, tn) }, NewTenant(at(0))},
		{"created, empty lists read back as nil", func(tn fleetclaim.Tenant) error { return s.CreateTenant(ctx, tn) },
			fleetclaim.Tenant{ID: NewTenantID(), Name: "Umbrella", Status: fleetclaim.TenantActive, Revision: 3,
				AutoApproveDomains: []string{}, AllowedTemplates: []string{}, CreatedAt: at(1), UpdatedAt: at(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, "write", tt.write(tt.tenant), nil)
			got, err := s.GetTenant(ctx, tt.tenant.ID)
			checkErr(t, "GetTenant", err, nil)
			checkEqual(t, "GetTenant", got, tenantInUTC(tt.tenant))
		})
	}
	_, err := s.GetTenant(ctx, NewTenantID())
	checkErr(t, "GetTenant of a missing tenant", err, fleetclaim.ErrNotFound)
}

// testSeedNeverOverwritesAPIChanges: the seed rewrites its own records
// (a changed context is redeployed), but not one the API created or
// changed, whatever the seed now says.
func testSeedNeverOverwritesAPIChanges(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	t.Run("the seed replaces its own record", func(t *testing.T) {
		tn := fleetclaim.Tenant{ID: NewTenantID(), Name: "A", Status: fleetclaim.TenantActive}
		checkErr(t, "PutTenant", s.PutTenant(ctx, tn), nil)
		tn.Status, tn.AutoApproveDomains = fleetclaim.TenantSuspended, []string{"a.example"}
		checkErr(t, "PutTenant again", s.PutTenant(ctx, tn), nil)
		got, err := s.GetTenant(ctx, tn.ID)
		checkErr(t, "GetTenant", err, nil)
		checkEqual(t, "GetTenant after the second seed", got, tn)
	})
	changes := map[string]func(t *testing.T, seeded fleetclaim.Tenant){
		"updated": func(t *testing.T, seeded fleetclaim.Tenant) {
			seeded.Name, seeded.UpdatedAt = "Renamed by the API", at(5)
			_, err := s.UpdateTenant(ctx, seeded, 0)
			checkErr(t, "UpdateTenant", err, nil)
		},
		"suspended": func(t *testing.T, seeded fleetclaim.Tenant) {
			_, err := s.SetTenantStatus(ctx, seeded.ID, fleetclaim.TenantActive, fleetclaim.TenantSuspended, at(5), NewInstallerID())
			checkErr(t, "SetTenantStatus", err, nil)
		},
	}
	for name, change := range changes {
		t.Run("a record the API "+name, func(t *testing.T) {
			seeded := fleetclaim.Tenant{ID: NewTenantID(), Name: "A", Status: fleetclaim.TenantActive}
			checkErr(t, "PutTenant", s.PutTenant(ctx, seeded), nil)
			change(t, seeded)
			want, err := s.GetTenant(ctx, seeded.ID)
			checkErr(t, "GetTenant", err, nil)
			if want.Revision != 1 {
				t.Fatalf("got revision %d after one API change, want 1", want.Revision)
			}
			reseed := seeded
			reseed.Name, reseed.AutoApproveDomains = "Seeded again", []string{"mallory.example"}
			checkErr(t, "PutTenant after the API change", s.PutTenant(ctx, reseed), fleetclaim.ErrConflict)
			got, err := s.GetTenant(ctx, seeded.ID)
			checkErr(t, "GetTenant", err, nil)
			checkEqual(t, "tenant after the refused seed", got, want)
		})
	}
	t.Run("a record the API created", func(t *testing.T) {
		created := NewTenant(at(0))
		checkErr(t, "CreateTenant", s.CreateTenant(ctx, created), nil)
		seed := fleetclaim.Tenant{ID: created.ID, Name: "Seed", Status: fleetclaim.TenantActive}
		checkErr(t, "PutTenant", s.PutTenant(ctx, seed), fleetclaim.ErrConflict)
		got, err := s.GetTenant(ctx, created.ID)
		checkErr(t, "GetTenant", err, nil)
		checkEqual(t, "tenant after the refused seed", got, tenantInUTC(created))
	})
}

// testCreateTenantConflict: creation never replaces, not even a seeded record.
func testCreateTenantConflict(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		first func(fleetclaim.Tenant) error
	}{
		{"created", func(tn fleetclaim.Tenant) error { return s.CreateTenant(ctx, tn) }},
		{"seeded", func(tn fleetclaim.Tenant) error { tn.Revision = 0; return s.PutTenant(ctx, tn) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := NewTenant(at(0))
			checkErr(t, "first write", tc.first(tn), nil)
			want, err := s.GetTenant(ctx, tn.ID)
			checkErr(t, "GetTenant", err, nil)
			again := NewTenant(at(9))
			again.ID, again.Name = tn.ID, "Mallory"
			checkErr(t, "CreateTenant again", s.CreateTenant(ctx, again), fleetclaim.ErrConflict)
			got, err := s.GetTenant(ctx, tn.ID)
			checkErr(t, "GetTenant", err, nil)
			checkEqual(t, "tenant after the refused create", got, want)
		})
	}
}

func testUpdateTenant(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tests := []struct {
		name       string
		ifRevision int
		missing    bool
		want       error
	}{
		{name: "at the stored revision", ifRevision: 1},
		{name: "at an older revision", ifRevision: 0, want: fleetclaim.ErrConflict},
		{name: "at a newer revision", ifRevision: 2, want: fleetclaim.ErrConflict},
		{name: "missing tenant", ifRevision: 1, missing: true, want: fleetclaim.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := NewTenant(at(0))
			checkErr(t, "CreateTenant", s.CreateTenant(ctx, tn), nil)
			changed := fleetclaim.Tenant{ID: tn.ID, Name: "Acme Renamed", Status: fleetclaim.TenantSuspended,
				Revision: 40, CreatedAt: at(100), UpdatedAt: at(7), UpdatedBy: NewInstallerID(),
				AutoApproveDomains: []string{"acme.example"}, AllowedTemplates: []string{"fleet-lab", "fleet-default"}}
			if tt.missing {
				changed.ID = NewTenantID()
			}
			got, err := s.UpdateTenant(ctx, changed, tt.ifRevision)
			checkErr(t, "UpdateTenant", err, tt.want)
			stored, err := s.GetTenant(ctx, tn.ID)
			checkErr(t, "GetTenant", err, nil)
			if tt.want != nil {
				checkEqual(t, "tenant after the refused update", stored, tenantInUTC(tn))
				return
			}
			// Status, CreatedAt and the revision are the store's to keep,
			// whatever the tenant passed in says.
			want := tenantInUTC(changed)
			want.Status, want.CreatedAt, want.Revision = tn.Status, tn.CreatedAt.UTC(), 2
			checkEqual(t, "UpdateTenant result", got, want)
			checkEqual(t, "tenant after the update", stored, want)
		})
	}
}

// testUpdateTenantRace: of concurrent updates from one revision, exactly
// one lands; the others get ErrConflict and change nothing.
func testUpdateTenantRace(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tn := NewTenant(at(0))
	checkErr(t, "CreateTenant", s.CreateTenant(ctx, tn), nil)
	const racers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			u := tn
			u.Name = fmt.Sprintf("racer %d", i)
			_, err := s.UpdateTenant(ctx, u, 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, u.Name)
			case !errors.Is(err, fleetclaim.ErrConflict):
				t.Errorf("UpdateTenant: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("got %d updates from revision 1, want exactly 1: %v", len(won), won)
	}
	got, err := s.GetTenant(ctx, tn.ID)
	checkErr(t, "GetTenant", err, nil)
	checkEqual(t, "name after the race", got.Name, won[0])
	checkEqual(t, "revision after the race", got.Revision, 2)
}

func testSetTenantStatus(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	active, suspended := fleetclaim.TenantActive, fleetclaim.TenantSuspended
	tests := []struct {
		name     string
		from, to fleetclaim.TenantStatus
		missing  bool
		want     error
	}{
		{name: "suspend an active tenant", from: active, to: suspended},
		{name: "stored status is not from", from: suspended, to: active, want: fleetclaim.ErrConflict},
		{name: "missing tenant", from: active, to: suspended, missing: true, want: fleetclaim.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := NewTenant(at(0))
			checkErr(t, "CreateTenant", s.CreateTenant(ctx, tn), nil)
			id, by := tn.ID, NewInstallerID()
			if tt.missing {
				id = NewTenantID()
			}
			got, err := s.SetTenantStatus(ctx, id, tt.from, tt.to, at(5), by)
			checkErr(t, "SetTenantStatus", err, tt.want)
			stored, err := s.GetTenant(ctx, tn.ID)
			checkErr(t, "GetTenant", err, nil)
			if tt.want != nil {
				checkEqual(t, "tenant after the refused change", stored, tenantInUTC(tn))
				return
			}
			want := tenantInUTC(tn)
			want.Status, want.Revision, want.UpdatedAt, want.UpdatedBy = tt.to, 2, at(5).UTC(), by
			checkEqual(t, "SetTenantStatus result", got, want)
			checkEqual(t, "tenant after the change", stored, want)
		})
	}
	t.Run("back and forth", func(t *testing.T) {
		tn := NewTenant(at(0))
		checkErr(t, "CreateTenant", s.CreateTenant(ctx, tn), nil)
		_, err := s.SetTenantStatus(ctx, tn.ID, active, suspended, at(1), "")
		checkErr(t, "suspend", err, nil)
		got, err := s.SetTenantStatus(ctx, tn.ID, suspended, active, at(2), "")
		checkErr(t, "reactivate", err, nil)
		checkEqual(t, "status", got.Status, active)
		checkEqual(t, "revision", got.Revision, 3)
	})
}

// testListTenants: every tenant, seeded or created, by ID; a cursor of
// another listing is refused.
func testListTenants(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	// The store is shared with the other subtests, which add tenants of
	// their own concurrently: the listing is checked for the tenants this
	// test wrote, in order, and for the ordering of the whole.
	prefix := "l" + randomHex(4) + "-"
	var want []fleetclaim.Tenant
	for i, suffix := range []string{"delta", "alpha", "echo", "bravo", "charlie"} {
		tn := NewTenant(at(i))
		tn.ID = fleetclaim.TenantID(prefix + suffix)
		if i%2 == 0 {
			tn = fleetclaim.Tenant{ID: tn.ID, Name: suffix, Status: fleetclaim.TenantActive}
			checkErr(t, "PutTenant", s.PutTenant(ctx, tn), nil)
		} else {
			checkErr(t, "CreateTenant", s.CreateTenant(ctx, tn), nil)
		}
		want = append(want, tenantInUTC(tn))
	}
	slices.SortFunc(want, func(a, b fleetclaim.Tenant) int { return strings.Compare(string(a.ID), string(b.ID)) })
	for _, limit := range []int{1, 2, 5, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			all := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.Tenant, string, error) {
				return s.ListTenants(ctx, p)
			})
			if !slices.IsSortedFunc(all, func(a, b fleetclaim.Tenant) int { return strings.Compare(string(a.ID), string(b.ID)) }) {
				t.Errorf("ListTenants is not ordered by ID: %s", show(all))
			}
			var mine []fleetclaim.Tenant
			for _, tn := range all {
				if strings.HasPrefix(string(tn.ID), prefix) {
					mine = append(mine, tn)
				}
			}
			checkEqual(t, "ListTenants, this test's tenants", mine, want)
		})
	}
	t.Run("foreign cursors", func(t *testing.T) {
		tenant := NewTenantID()
		for i := range 2 {
			checkErr(t, "AppendAudit", s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant,
				ID: fmt.Sprintf("e%d", i), At: at(i), Action: "a"}), nil)
		}
		_, auditCursor, err := s.ListAudit(ctx, tenant, fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: 1})
		checkErr(t, "ListAudit", err, nil)
		if auditCursor == "" {
			t.Fatal("ListAudit gave no cursor for a full page")
		}
		_, tenantCursor, err := s.ListTenants(ctx, fleetclaim.Page{Limit: 1})
		checkErr(t, "ListTenants", err, nil)
		for name, cursor := range map[string]string{"an audit cursor": auditCursor, "garbage": "not-a-cursor"} {
			_, _, err := s.ListTenants(ctx, fleetclaim.Page{Limit: 1, Cursor: cursor})
			checkErr(t, "ListTenants with "+name, err, fleetclaim.ErrInvalidCursor)
		}
		_, _, err = s.ListAudit(ctx, tenant, fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: 1, Cursor: tenantCursor})
		checkErr(t, "ListAudit with a tenants cursor", err, fleetclaim.ErrInvalidCursor)
		_, _, err = s.ListInstallers(ctx, tenant, fleetclaim.Page{Limit: 1, Cursor: tenantCursor})
		checkErr(t, "ListInstallers with a tenants cursor", err, fleetclaim.ErrInvalidCursor)
	})
}

func testTenantsRejectBadInput(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	stored := NewTenant(at(0))
	checkErr(t, "CreateTenant", s.CreateTenant(ctx, stored), nil)
	seeded := fleetclaim.Tenant{ID: NewTenantID(), Name: "Seed", Status: fleetclaim.TenantActive}
	tests := []struct {
		name string
		call func() error
	}{
		{"PutTenant with no ID", func() error {
			return s.PutTenant(ctx, fleetclaim.Tenant{Name: "Acme", Status: fleetclaim.TenantActive})
		}},
		{"PutTenant with a revision", func() error { tn := seeded; tn.Revision = 1; return s.PutTenant(ctx, tn) }},
		{"CreateTenant with no ID", func() error { tn := NewTenant(at(0)); tn.ID = ""; return s.CreateTenant(ctx, tn) }},
		{"CreateTenant at revision 0", func() error { tn := NewTenant(at(0)); tn.Revision = 0; return s.CreateTenant(ctx, tn) }},
		{"UpdateTenant with no ID", func() error { tn := stored; tn.ID = ""; _, err := s.UpdateTenant(ctx, tn, 1); return err }},
		{"UpdateTenant at a negative revision", func() error { _, err := s.UpdateTenant(ctx, stored, -1); return err }},
		{"SetTenantStatus with no ID", func() error {
			_, err := s.SetTenantStatus(ctx, "", fleetclaim.TenantActive, fleetclaim.TenantSuspended, at(1), "")
			return err
		}},
		{"SetTenantStatus with no status", func() error {
			_, err := s.SetTenantStatus(ctx, stored.ID, fleetclaim.TenantActive, "", at(1), "")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.name, tt.call(), errInvalidCall) })
	}
	got, err := s.GetTenant(ctx, stored.ID)
	checkErr(t, "GetTenant", err, nil)
	checkEqual(t, "tenant after the refused calls", got, tenantInUTC(stored))
	_, err = s.GetTenant(ctx, seeded.ID)
	checkErr(t, "GetTenant of the tenant not seeded", err, fleetclaim.ErrNotFound)
}

// testTenantsContextDone: a done context fails every tenant method and
// changes nothing.
func testTenantsContextDone(t *testing.T, s fleetclaim.Store) {
	live := t.Context()
	ctx, cancel := context.WithCancel(live)
	cancel()
	stored := NewTenant(at(0))
	checkErr(t, "CreateTenant", s.CreateTenant(live, stored), nil)
	fresh := NewTenant(at(1))
	calls := map[string]func() error{
		"CreateTenant": func() error { return s.CreateTenant(ctx, fresh) },
		"PutTenant": func() error {
			return s.PutTenant(ctx, fleetclaim.Tenant{ID: fresh.ID, Name: "x", Status: fleetclaim.TenantActive})
		},
		"UpdateTenant": func() error { u := stored; u.Name = "x"; _, err := s.UpdateTenant(ctx, u, 1); return err },
		"SetTenantStatus": func() error {
			_, err := s.SetTenantStatus(ctx, stored.ID, fleetclaim.TenantActive, fleetclaim.TenantSuspended, at(1), "")
			return err
		},
		"GetTenant":   func() error { _, err := s.GetTenant(ctx, stored.ID); return err },
		"ListTenants": func() error { _, _, err := s.ListTenants(ctx, fleetclaim.Page{}); return err },
	}
	for call, f := range calls {
		if err := f(); err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: got %v, want an error wrapping %v", call, err, context.Canceled)
		}
	}
	got, err := s.GetTenant(live, stored.ID)
	checkErr(t, "GetTenant", err, nil)
	checkEqual(t, "tenant after the refused calls", got, tenantInUTC(stored))
	_, err = s.GetTenant(live, fresh.ID)
	checkErr(t, "GetTenant of the tenant not created", err, fleetclaim.ErrNotFound)
}
