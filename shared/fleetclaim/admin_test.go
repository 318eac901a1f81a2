package fleetclaim_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

func TestInstallerLifecycle(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	pending := w.addInstaller("acme", fleetclaim.InstallerPending)

	in, err := w.svc.ApproveInstaller(ctx, w.adminP(), pending.ID)
	if err != nil || in.Status != fleetclaim.InstallerApproved || in.UpdatedBy != w.admin.ID {
		t.Fatalf("got %+v, %v; want approved by the admin", in, err)
	}
	// Approval writes no Cognito group: it only asks whether the user still exists.
	if got, want := w.groups.Calls(), []string{"exists " + pending.Username}; !slices.Equal(got, want) {
		t.Errorf("got Cognito calls %v, want %v", got, want)
	}
	if _, err := w.svc.IssueClaim(ctx, principal(pending), fleetclaim.IssueRequest{Serial: "SN-1"}); err != nil {
		t.Errorf("got %v issuing as the newly approved installer", err)
	}

	in, err = w.svc.SuspendInstaller(ctx, w.adminP(), pending.ID)
	if err != nil || in.Status != fleetclaim.InstallerSuspended {
		t.Fatalf("got %+v, %v; want suspended", in, err)
	}
	if got, want := w.groups.Calls()[1:], []string{"signout " + pending.Username}; !slices.Equal(got, want) {
		t.Errorf("got Cognito calls %v, want only the global sign-out", got)
	}
	// The token they still hold no longer issues claims.
	if _, err := w.svc.IssueClaim(ctx, principal(pending), fleetclaim.IssueRequest{Serial: "SN-2"}); errorOf(t, err).Code != fleetclaim.CodeInstallerNotApproved {
		t.Errorf("got %v issuing while suspended, want %s", err, fleetclaim.CodeInstallerNotApproved)
	}
	if _, err := w.svc.ApproveInstaller(ctx, w.adminP(), pending.ID); errorOf(t, err).Kind != fleetclaim.KindConflict {
		t.Errorf("got %v approving a suspended installer, want conflict (reinstate instead)", err)
	}
	if in, err = w.svc.ReinstateInstaller(ctx, w.adminP(), pending.ID); err != nil || in.Status != fleetclaim.InstallerApproved {
		t.Errorf("got %+v, %v; want reinstated", in, err)
	}

	events, _, err := w.svc.ListAudit(ctx, w.adminP(), "", fleetclaim.AuditQuery{}, fleetclaim.Page{})
	if err != nil {
		t.Fatalf("list audit: %v", err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{fleetclaim.ActionInstallerApproved, fleetclaim.ActionInstallerSuspended,
		fleetclaim.ActionInstallerReinstated, fleetclaim.ActionClaimIssued} {
		if !slices.Contains(actions, want) {
			t.Errorf("got audit actions %v, want %s among them", actions, want)
		}
	}
}

// Invariant 7 for the admin routes: tenant admins act only within their
// tenant; platform admins anywhere; installers not at all.
func TestAdminBoundaries(t *testing.T) {
	w := newWorld(t)
	w.addTenant("globex", fleetclaim.TenantActive)
	foreign := w.addInstaller("globex", fleetclaim.InstallerPending)
	platform := w.addInstaller("acme", fleetclaim.InstallerApproved)
	ctx := context.Background()
	tests := []struct {
		name     string
		p        fleetclaim.Principal
		target   fleetclaim.InstallerID
		wantKind fleetclaim.Kind
	}{
		{"installer approves", w.installerP(), foreign.ID, fleetclaim.KindForbidden},
		{"admin approves another tenant's installer", w.adminP(), foreign.ID, fleetclaim.KindNotFound},
		{"admin approves an unknown installer", w.adminP(), storetest.NewInstallerID(), fleetclaim.KindNotFound},
		{"admin changes own status", w.adminP(), w.admin.ID, fleetclaim.KindForbidden},
		{"malformed installer ID", w.adminP(), "../x", fleetclaim.KindInvalid},
		{"platform admin approves another tenant's installer", principal(platform, fleetclaim.GroupPlatformAdmins), foreign.ID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.svc.ApproveInstaller(ctx, tt.p, tt.target)
			if tt.wantKind == "" {
				if err != nil {
					t.Errorf("got %v, want success", err)
				}
				return
			}
			if e := errorOf(t, err); e.Kind != tt.wantKind {
				t.Errorf("got %s, want %s", e.Kind, tt.wantKind)
			}
		})
	}
	if _, _, err := w.svc.ListInstallers(ctx, w.adminP(), "globex", fleetclaim.Page{}); errorOf(t, err).Kind != fleetclaim.KindNotFound {
		t.Errorf("got %v listing another tenant's installers, want not found", err)
	}
	if _, _, err := w.svc.ListAudit(ctx, w.adminP(), "globex", fleetclaim.AuditQuery{}, fleetclaim.Page{}); errorOf(t, err).Kind != fleetclaim.KindNotFound {
		t.Errorf("got %v listing another tenant's audit, want not found", err)
	}
	ins, _, err := w.svc.ListInstallers(ctx, principal(platform, fleetclaim.GroupPlatformAdmins), "globex", fleetclaim.Page{})
	if err != nil || len(ins) != 1 || ins[0].ID != foreign.ID {
		t.Errorf("got %v, %v; want the platform admin to see globex's installer", ins, err)
	}
}

// Approval is a record change only; Cognito being unavailable does not stop it.
func TestApproveWhileCognitoUnavailable(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	pending := w.addInstaller("acme", fleetclaim.InstallerPending)
	w.groups.Fail(errors.New("TooManyRequestsException"))
	in, err := w.svc.ApproveInstaller(ctx, w.adminP(), pending.ID)
	if err != nil || in.Status != fleetclaim.InstallerApproved {
		t.Fatalf("got %+v, %v; want approved", in, err)
	}
	if stored, _ := w.store.GetInstaller(ctx, pending.ID); stored.Status != fleetclaim.InstallerApproved {
		t.Errorf("got stored status %q, want approved", stored.Status)
	}
}

// A user deleted from the pool is offboarded, not approved or reinstated:
// the record is suspended and the admin told why.
func TestApproveDeletedUserOffboards(t *testing.T) {
	for _, from := range []fleetclaim.InstallerStatus{fleetclaim.InstallerPending, fleetclaim.InstallerSuspended} {
		t.Run(string(from), func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			gone := w.addInstaller("acme", from)
			w.groups.Delete(gone.Username)
			act := w.svc.ApproveInstaller
			if from == fleetclaim.InstallerSuspended {
				act = w.svc.ReinstateInstaller
			}
			if _, err := act(ctx, w.adminP(), gone.ID); errorOf(t, err).Code != fleetclaim.CodeInstallerStatusConflict {
				t.Errorf("got %v, want %s", err, fleetclaim.CodeInstallerStatusConflict)
			}
			if stored, _ := w.store.GetInstaller(ctx, gone.ID); stored.Status != fleetclaim.InstallerSuspended {
				t.Errorf("got stored status %q, want suspended", stored.Status)
			}
			events, _, _ := w.svc.ListAudit(ctx, w.adminP(), "", fleetclaim.AuditQuery{}, fleetclaim.Page{})
			if len(events) == 0 || events[0].Action != fleetclaim.ActionInstallerOffboarded || events[0].Subject != string(gone.ID) {
				t.Errorf("got audit %+v, want %s of %s first", events, fleetclaim.ActionInstallerOffboarded, gone.ID)
			}
		})
	}
}

// Suspending a user already deleted from the pool succeeds: there are no
// sessions left to revoke.
func TestSuspendDeletedUser(t *testing.T) {
	w := newWorld(t)
	w.groups.Delete(w.installer.Username)
	in, err := w.svc.SuspendInstaller(context.Background(), w.adminP(), w.installer.ID)
	if err != nil || in.Status != fleetclaim.InstallerSuspended {
		t.Fatalf("got %+v, %v; want suspended", in, err)
	}
	if strings.Contains(w.logs.String(), "refresh tokens not revoked") {
		t.Errorf("a deleted user's sign-out was logged as a failure:\n%s", w.logs)
	}
}

func TestSuspendSucceedsWhenCognitoFails(t *testing.T) {
	w := newWorld(t)
	w.groups.Fail(errors.New("TooManyRequestsException"))
	in, err := w.svc.SuspendInstaller(context.Background(), w.adminP(), w.installer.ID)
	if err != nil || in.Status != fleetclaim.InstallerSuspended {
		t.Fatalf("got %+v, %v; want the suspension in force", in, err)
	}
	if _, err := w.svc.IssueClaim(context.Background(), w.installerP(), fleetclaim.IssueRequest{Serial: "SN-1"}); err == nil {
		t.Errorf("got a claim for a suspended installer")
	}
}

func TestDevicesAreTenantScoped(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ic := w.issue("SN-0001")
	w.register(ic.Claim.ID, "SN-0001", template)
	w.addTenant("globex", fleetclaim.TenantActive)
	foreigner := principal(w.addInstaller("globex", fleetclaim.InstallerApproved), fleetclaim.GroupAdmins)

	if d, err := w.svc.GetDevice(ctx, w.installerP(), "SN-0001"); err != nil || d.ThingName != "acme_SN-0001" {
		t.Errorf("got %+v, %v; want the device", d, err)
	}
	if _, err := w.svc.GetDevice(ctx, foreigner, "SN-0001"); errorOf(t, err).Kind != fleetclaim.KindNotFound {
		t.Errorf("got %v from another tenant, want not found", err)
	}
	if ds, _, err := w.svc.ListDevices(ctx, foreigner, "", fleetclaim.Page{}); err != nil || len(ds) != 0 {
		t.Errorf("got %v, %v from another tenant's list, want none", ds, err)
	}
	if _, _, err := w.svc.ListDevices(ctx, foreigner, "acme", fleetclaim.Page{}); errorOf(t, err).Kind != fleetclaim.KindNotFound {
		t.Errorf("got %v naming another tenant, want not found", err)
	}
}
