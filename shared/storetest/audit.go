package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// testAuditFilters: every filter narrows the listing to exactly the events
// that pass it (fleetclaim.AuditFilter.Matches), newest first; the time
// range includes Since and excludes Until to the nanosecond; and paging is
// as exact as without a filter, at any page size.
func testAuditFilters(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant := NewTenantID()
	ann, bob := NewInstallerID(), NewInstallerID()
	actions := []string{fleetclaim.ActionClaimIssued, fleetclaim.ActionClaimRevoked, fleetclaim.ActionInstallerApproved}
	actors := []fleetclaim.InstallerID{ann, bob, ""}
	serials := []string{"SN-A", "SN-B", ""}
	var all []fleetclaim.AuditEvent
	for i := range 30 {
		// Every third event shares its second with the one before, so that
		// ties at a range's bounds are covered.
		sec := i - i%3/2
		e := fleetclaim.AuditEvent{TenantID: tenant, ID: fmt.Sprintf("evt-%02d-%s", i, randomHex(3)), At: at(sec),
			Actor: actors[i%3], Action: actions[i%5%3], Serial: serials[i%7%3], Subject: "s", Detail: "d"}
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, e), nil)
		all = append(all, auditInUTC(e))
	}
	// Another tenant's event passes every filter below: it must never show.
	foreign := fleetclaim.AuditEvent{TenantID: NewTenantID(), ID: "evt-foreign", At: at(10), Actor: ann,
		Action: fleetclaim.ActionClaimIssued, Serial: "SN-A"}
	checkErr(t, "AppendAudit of another tenant", s.AppendAudit(ctx, foreign), nil)
	newestFirst(all)

	tests := []struct {
		name string
		f    fleetclaim.AuditFilter
		// min is the fewest events the case must list, so that no case
		// passes by listing nothing.
		min int
	}{
		{"none", fleetclaim.AuditFilter{}, 30},
		{"since, inclusive", fleetclaim.AuditFilter{Since: at(10)}, 10},
		{"until, exclusive", fleetclaim.AuditFilter{Until: at(10)}, 10},
		{"since and until", fleetclaim.AuditFilter{Since: at(4), Until: at(20)}, 10},
		{"a nanosecond after an event", fleetclaim.AuditFilter{Since: at(10).Add(1), Until: at(14)}, 1},
		{"action", fleetclaim.AuditFilter{Action: fleetclaim.ActionClaimRevoked}, 5},
		{"serial", fleetclaim.AuditFilter{Serial: "SN-A"}, 5},
		{"actor", fleetclaim.AuditFilter{Actor: bob}, 5},
		{"serial and action", fleetclaim.AuditFilter{Serial: "SN-B", Action: fleetclaim.ActionClaimIssued}, 2},
		{"everything", fleetclaim.AuditFilter{Since: at(2), Until: at(28), Actor: ann, Serial: "SN-A",
			Action: fleetclaim.ActionClaimIssued}, 1},
	}
	for _, tt := range tests {
		var want []fleetclaim.AuditEvent
		for _, e := range all {
			if tt.f.Matches(e) {
				want = append(want, e)
			}
		}
		if len(want) < tt.min {
			t.Fatalf("%s: the fixture has %d matching events, want at least %d", tt.name, len(want), tt.min)
		}
		for _, limit := range []int{1, 3, 50} {
			t.Run(fmt.Sprintf("%s, limit %d", tt.name, limit), func(t *testing.T) {
				got := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
					return s.ListAudit(ctx, tenant, tt.f, p)
				})
				checkEqual(t, "ListAudit", got, want)
			})
		}
	}

	t.Run("no match", func(t *testing.T) {
		got, next, err := s.ListAudit(ctx, tenant, fleetclaim.AuditFilter{Serial: "SN-NONE"}, fleetclaim.Page{})
		checkErr(t, "ListAudit", err, nil)
		checkEqual(t, "events", len(got), 0)
		checkEqual(t, "cursor", next, "")
	})
	t.Run("empty range", func(t *testing.T) {
		got, next, err := s.ListAudit(ctx, tenant, fleetclaim.AuditFilter{Since: at(10), Until: at(10)}, fleetclaim.Page{})
		checkErr(t, "ListAudit", err, nil)
		checkEqual(t, "events", len(got), 0)
		checkEqual(t, "cursor", next, "")
	})
	t.Run("cursor of another filter", func(t *testing.T) {
		f := fleetclaim.AuditFilter{Action: fleetclaim.ActionClaimIssued}
		_, next, err := s.ListAudit(ctx, tenant, f, fleetclaim.Page{Limit: 1})
		checkErr(t, "ListAudit", err, nil)
		if next == "" {
			t.Fatal("got no cursor from a first page of one")
		}
		for _, other := range []fleetclaim.AuditFilter{{}, {Action: fleetclaim.ActionClaimRevoked}, {Action: f.Action, Serial: "SN-A"}} {
			_, _, err := s.ListAudit(ctx, tenant, other, fleetclaim.Page{Limit: 1, Cursor: next})
			checkErr(t, fmt.Sprintf("ListAudit with the cursor of another filter (%+v)", other), err, fleetclaim.ErrInvalidCursor)
		}
	})
}

// testAuditSparseMatches: two matching events hundreds of others apart. A
// store that reads a bounded stretch of the trail at a time (DynamoDB's
// Limit counts the items read, not the matches) must read on, so that the
// first page is neither short nor the end, and no page is empty.
func testAuditSparseMatches(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant := NewTenantID()
	const between = 700
	events := make([]fleetclaim.AuditEvent, 0, between+2)
	for i := range between + 2 {
		e := fleetclaim.AuditEvent{TenantID: tenant, ID: fmt.Sprintf("evt-%04d", i), At: at(i),
			Action: fleetclaim.ActionInstallerApproved, Subject: "s"}
		if i == 0 || i == between+1 {
			e.Action, e.Serial = fleetclaim.ActionDeviceOnline, "SN-SPARSE"
		}
		events = append(events, e)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(events))
	work := make(chan fleetclaim.AuditEvent)
	for range 8 {
		wg.Go(func() {
			for e := range work {
				if err := s.AppendAudit(ctx, e); err != nil {
					errs <- fmt.Errorf("AppendAudit %s: %w", e.ID, err)
				}
			}
		})
	}
	for _, e := range events {
		work <- e
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := []fleetclaim.AuditEvent{auditInUTC(events[between+1]), auditInUTC(events[0])}
	for _, f := range []fleetclaim.AuditFilter{{Serial: "SN-SPARSE"}, {Action: fleetclaim.ActionDeviceOnline, Until: at(between + 5)}} {
		got := listAll(t, 1, func(p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
			return s.ListAudit(ctx, tenant, f, p)
		})
		checkEqual(t, fmt.Sprintf("ListAudit %+v", f), got, want)
	}
}

// newestFirst sorts events as ListAudit lists them: newest first, ties by
// ID, in the same direction.
func newestFirst(es []fleetclaim.AuditEvent) {
	slices.SortFunc(es, func(a, b fleetclaim.AuditEvent) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return -strings.Compare(a.ID, b.ID)
	})
}
