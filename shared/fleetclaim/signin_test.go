package fleetclaim_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// Plus-addressing and aliases give one mailbox any number of verified
// addresses on an auto-approved domain: past the tenant's daily cap, new
// installers wait for an admin, and the next UTC day has a fresh cap.
func TestRegisterCapsAutoApprovalsPerTenantAndDay(t *testing.T) {
	w := newWorld(t)
	w.addTenant("bigcorp", fleetclaim.TenantActive, "bigcorp.example")
	w.enr.AutoApprovalsPerDay = 2
	register := func(tenant fleetclaim.TenantID, email string) fleetclaim.InstallerStatus {
		t.Helper()
		in, err := w.enr.Register(context.Background(), fleetclaim.Registration{Subject: storetest.NewInstallerID(),
			Username: email, Email: email, EmailVerified: true, TenantID: tenant})
		if err != nil {
			t.Fatalf("register %s: %v", email, err)
		}
		return in.Status
	}
	var got []fleetclaim.InstallerStatus
	for i := range 3 {
		got = append(got, register("acme", fmt.Sprintf("ana+%d@acme.example", i)))
	}
	got = append(got, register("bigcorp", "bo@bigcorp.example")) // another tenant's cap
	w.advance(24 * time.Hour)
	got = append(got, register("acme", "ana+next-day@acme.example"))
	want := []fleetclaim.InstallerStatus{fleetclaim.InstallerApproved, fleetclaim.InstallerApproved,
		fleetclaim.InstallerPending, fleetclaim.InstallerApproved, fleetclaim.InstallerApproved}
	if !slices.Equal(got, want) {
		t.Errorf("got statuses %v, want %v", got, want)
	}
}

// A quota store that cannot answer leaves the installer pending (fail closed)
// rather than failing the confirmation.
func TestRegisterQuotaFaultLeavesPending(t *testing.T) {
	w := newWorld(t)
	w.enr.Quotas = quotaFunc(func() error { return errors.New("ProvisionedThroughputExceededException") })
	in, err := w.enr.Register(context.Background(), fleetclaim.Registration{Subject: storetest.NewInstallerID(),
		Username: "ana", Email: "ana@acme.example", EmailVerified: true, TenantID: "acme"})
	if err != nil || in.Status != fleetclaim.InstallerPending {
		t.Errorf("got %q, %v; want pending, nil", in.Status, err)
	}
}

type quotaFunc func() error

func (f quotaFunc) TakeQuota(context.Context, string, time.Time, int) error { return f() }

// A confirmed user whose post-confirmation trigger failed has no record; the
// next sign-in creates it as post confirmation would have, once, and grants
// from it.
func TestSignInRepairsMissingRecord(t *testing.T) {
	tests := []struct {
		name       string
		email      string
		tenant     fleetclaim.TenantID
		wantStatus fleetclaim.InstallerStatus
		wantScopes []string
		wantStored bool
	}{
		{"auto-approved domain", "ana@acme.example", "acme", fleetclaim.InstallerApproved, []string{fleetclaim.ScopeClaims}, true},
		{"other domain", "ana@gmail.example", "acme", fleetclaim.InstallerPending, nil, true},
		{"no tenant attribute", "ana@acme.example", "", fleetclaim.StatusUnknown, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			r := fleetclaim.Registration{Subject: storetest.NewInstallerID(), Username: "ana", Email: tt.email,
				EmailVerified: true, TenantID: tt.tenant}
			for range 2 { // the second sign-in finds the record
				g := w.enr.SignIn(ctx, r, nil)
				if g.Status != tt.wantStatus || !slices.Equal(g.Scopes, tt.wantScopes) {
					t.Errorf("got %+v, want status %q scopes %v", g, tt.wantStatus, tt.wantScopes)
				}
			}
			_, err := w.store.GetInstaller(ctx, r.Subject)
			if stored := err == nil; stored != tt.wantStored {
				t.Errorf("got record stored %v (%v), want %v", stored, err, tt.wantStored)
			}
			events, _, _ := w.store.ListAudit(ctx, "acme", fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: 100})
			n := 0
			for _, e := range events {
				if e.Action == fleetclaim.ActionInstallerRegistered && e.Subject == string(r.Subject) {
					n++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantStored]; n != want {
				t.Errorf("got %d registrations audited, want %d", n, want)
			}
		})
	}
}

// SignIn never repairs over a record it cannot read: a store fault signs the
// user in with nothing, and creates nothing.
func TestSignInStoreFaultGrantsNothing(t *testing.T) {
	w := newWorld(t)
	enr := *w.enr
	enr.Installers = &faultyStore{Store: w.store, getInstaller: fail}
	g := enr.SignIn(context.Background(), fleetclaim.Registration{Subject: w.installer.ID, Username: "ana",
		Email: "ana@acme.example", EmailVerified: true, TenantID: "acme"}, nil)
	if g.Status != fleetclaim.StatusUnknown || len(g.Scopes) != 0 {
		t.Errorf("got %+v, want no privileges", g)
	}
}
