package fleetclaim_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

func TestRegister(t *testing.T) {
	tests := []struct {
		name       string
		email      string
		verified   bool
		tenant     fleetclaim.TenantID
		wantStatus fleetclaim.InstallerStatus
	}{
		{"auto-approved domain, verified", "ana@acme.example", true, "acme", fleetclaim.InstallerApproved},
		{"auto-approved domain in another case", "ana@ACME.example", true, "acme", fleetclaim.InstallerApproved},
		{"auto-approved domain, unverified", "ana@acme.example", false, "acme", fleetclaim.InstallerPending},
		{"other domain", "ana@gmail.example", true, "acme", fleetclaim.InstallerPending},
		{"subdomain is not the domain", "ana@evil.acme.example", true, "acme", fleetclaim.InstallerPending},
		// Unicode case rules fold 'İ' to 'i' and the Kelvin sign to 'k'; a
		// look-alike domain must not pass for an auto-approve one.
		{"dotted capital I look-alike", "mallory@b\u0130gcorp.example", true, "bigcorp", fleetclaim.InstallerPending},
		{"Kelvin sign look-alike", "mallory@bigcorp.\u212Aiosk", true, "bigcorp", fleetclaim.InstallerPending},
		{"Cyrillic look-alike", "mallory@bigcorp.ex\u0430mple", true, "bigcorp", fleetclaim.InstallerPending},
		{"auto-approved domain, upper case", "ana@BIGCORP.EXAMPLE", true, "bigcorp", fleetclaim.InstallerApproved},
		{"suspended tenant", "ana@initech.example", true, "initech", fleetclaim.InstallerPending},
		{"unknown tenant", "ana@acme.example", true, "nobody", fleetclaim.InstallerPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.addTenant("initech", fleetclaim.TenantSuspended, "initech.example")
			w.addTenant("bigcorp", fleetclaim.TenantActive, "bigcorp.example", "bigcorp.kiosk")
			r := fleetclaim.Registration{Subject: storetest.NewInstallerID(), Username: "ana", Email: tt.email,
				EmailVerified: tt.verified, TenantID: tt.tenant}
			in, err := w.enr.Register(context.Background(), r)
			if err != nil || in.Status != tt.wantStatus {
				t.Fatalf("got %q, %v; want %q", in.Status, err, tt.wantStatus)
			}
			stored, err := w.store.GetInstaller(context.Background(), r.Subject)
			if err != nil || stored.Status != tt.wantStatus || stored.TenantID != tt.tenant {
				t.Errorf("got stored %+v, %v", stored, err)
			}
			// Enrollment writes no Cognito group, whatever the status.
			if got := w.groups.Calls(); len(got) != 0 {
				t.Errorf("got Cognito calls %v, want none", got)
			}
		})
	}
}

// Invariant 8: Cognito retries triggers; a retry, or several at once, leaves
// exactly the record the first call made.
func TestRegisterIsIdempotent(t *testing.T) {
	w := newWorld(t)
	r := fleetclaim.Registration{Subject: storetest.NewInstallerID(), Username: "ana", Email: "ana@gmail.example",
		EmailVerified: true, TenantID: "acme"}
	first, err := w.enr.Register(context.Background(), r)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	// An admin approves meanwhile; a late retry must not undo it.
	w.setInstallerStatus(r.Subject, fleetclaim.InstallerApproved)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.enr.Register(context.Background(), r); err != nil {
				t.Errorf("retry: %v", err)
			}
		}()
	}
	wg.Wait()
	in, _ := w.store.GetInstaller(context.Background(), r.Subject)
	if in.Status != fleetclaim.InstallerApproved || !in.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("got %+v after retries, want the approved original", in)
	}
	list, _, _ := w.store.ListInstallers(context.Background(), "acme", fleetclaim.Page{Limit: 100})
	n := 0
	for _, x := range list {
		if x.ID == r.Subject {
			n++
		}
	}
	if n != 1 {
		t.Errorf("got %d records for one user, want 1", n)
	}
}

func TestRegisterRejectsInput(t *testing.T) {
	tests := []struct {
		name string
		r    fleetclaim.Registration
	}{
		{"no tenant", fleetclaim.Registration{Subject: storetest.NewInstallerID()}},
		{"tenant with an underscore", fleetclaim.Registration{Subject: storetest.NewInstallerID(), TenantID: "a_b"}},
		{"tenant injection", fleetclaim.Registration{Subject: storetest.NewInstallerID(), TenantID: "acme#INSTALLER"}},
		{"no subject", fleetclaim.Registration{TenantID: "acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_, err := w.enr.Register(context.Background(), tt.r)
			if e := errorOf(t, err); e.Kind != fleetclaim.KindInvalid {
				t.Errorf("got %s, want invalid", e.Kind)
			}
		})
	}
}

func TestGrant(t *testing.T) {
	w := newWorld(t)
	suspended := w.addInstaller("acme", fleetclaim.InstallerSuspended)
	pending := w.addInstaller("acme", fleetclaim.InstallerPending)
	all := []string{"installers", "admins", "platform-admins", "beta-testers"}
	tests := []struct {
		name         string
		sub          fleetclaim.InstallerID
		groups       []string
		store        fleetclaim.Store
		wantStatus   fleetclaim.InstallerStatus
		wantScopes   []string
		wantGroups   []string
		wantSuppress []string
	}{
		{"approved installer", w.installer.ID, []string{"installers"}, nil, fleetclaim.InstallerApproved,
			[]string{fleetclaim.ScopeClaims}, []string{"installers"}, []string{fleetclaim.ScopeAdmin}},
		{"approved admin", w.admin.ID, []string{"installers", "admins"}, nil, fleetclaim.InstallerApproved,
			[]string{fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin}, []string{"installers", "admins"}, nil},
		{"suspended", suspended.ID, all, nil, fleetclaim.InstallerSuspended,
			nil, []string{"beta-testers"}, []string{fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin}},
		{"pending", pending.ID, all, nil, fleetclaim.InstallerPending,
			nil, []string{"beta-testers"}, []string{fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin}},
		{"no record", storetest.NewInstallerID(), all, nil, fleetclaim.StatusUnknown,
			nil, []string{"beta-testers"}, []string{fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin}},
		{"store down", w.admin.ID, all, &faultyStore{Store: w.store, getInstaller: fail}, fleetclaim.StatusUnknown,
			nil, []string{"beta-testers"}, []string{fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enr := *w.enr
			if tt.store != nil {
				enr.Installers = tt.store
			}
			g := enr.Grant(context.Background(), tt.sub, tt.groups)
			if g.Status != tt.wantStatus || !slices.Equal(g.Scopes, tt.wantScopes) ||
				!slices.Equal(g.Groups, tt.wantGroups) || !slices.Equal(g.SuppressScopes, tt.wantSuppress) {
				t.Errorf("got %+v, want status %q scopes %v groups %v suppress %v", g, tt.wantStatus, tt.wantScopes, tt.wantGroups, tt.wantSuppress)
			}
		})
	}
}
