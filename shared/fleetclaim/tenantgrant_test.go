package fleetclaim_test

import (
	"context"
	"slices"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// tenantsDown is a tenant store that cannot answer reads.
type tenantsDown struct{ fleetclaim.TenantStore }

func (tenantsDown) GetTenant(context.Context, fleetclaim.TenantID) (fleetclaim.Tenant, error) {
	return fleetclaim.Tenant{}, errStoreDown
}

// An approved installer, or admin, of a tenant that is not active signs in
// with no privileged scope or group, and the tenant_status claim says why. A
// tenant that is missing, or cannot be read, grants nothing either (fail
// closed), without blocking sign-in.
func TestGrantFollowsTenantStatus(t *testing.T) {
	w := newWorld(t)
	w.addTenant("initech", fleetclaim.TenantSuspended)
	ivy := w.addInstaller("initech", fleetclaim.InstallerApproved)
	orphan := w.addInstaller("nosuchtenant", fleetclaim.InstallerApproved)
	privileged := []string{"admins", "platform-admins", "beta-testers"}
	none := []string{fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin}
	tests := []struct {
		name             string
		in               fleetclaim.Installer
		groups           []string
		tenants          fleetclaim.TenantStore
		wantTenantStatus fleetclaim.TenantStatus
		wantScopes       []string
		wantGroups       []string
		wantSuppress     []string
	}{
		{"active tenant's admin", w.admin, privileged, nil, fleetclaim.TenantActive,
			none, privileged, nil},
		{"suspended tenant's installer", ivy, []string{"installers"}, nil, fleetclaim.TenantSuspended,
			nil, nil, none},
		{"suspended tenant's admin", ivy, privileged, nil, fleetclaim.TenantSuspended,
			nil, []string{"beta-testers"}, none},
		{"tenant missing", orphan, privileged, nil, fleetclaim.TenantStatusUnknown,
			nil, []string{"beta-testers"}, none},
		{"tenant unreadable", w.admin, privileged, tenantsDown{w.store}, fleetclaim.TenantStatusUnknown,
			nil, []string{"beta-testers"}, none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enr := *w.enr
			if tt.tenants != nil {
				enr.Tenants = tt.tenants
			}
			r := fleetclaim.Registration{Subject: tt.in.ID, Username: tt.in.Username, Email: tt.in.Email,
				EmailVerified: true, TenantID: tt.in.TenantID}
			for how, g := range map[string]fleetclaim.TokenGrant{
				"Grant":  enr.Grant(context.Background(), tt.in.ID, tt.groups),
				"SignIn": enr.SignIn(context.Background(), r, tt.groups),
			} {
				if g.TenantID != tt.in.TenantID || g.Status != fleetclaim.InstallerApproved || g.TenantStatus != tt.wantTenantStatus {
					t.Errorf("%s: got tenant %q status %q tenant status %q, want %q approved %q",
						how, g.TenantID, g.Status, g.TenantStatus, tt.in.TenantID, tt.wantTenantStatus)
				}
				if !slices.Equal(g.Scopes, tt.wantScopes) || !slices.Equal(g.Groups, tt.wantGroups) ||
					!slices.Equal(g.SuppressScopes, tt.wantSuppress) {
					t.Errorf("%s: got scopes %v groups %v suppress %v, want %v %v %v", how,
						g.Scopes, g.Groups, g.SuppressScopes, tt.wantScopes, tt.wantGroups, tt.wantSuppress)
				}
			}
		})
	}
}

// A user with no record has no tenant to speak of.
func TestGrantUnknownUserTenantStatus(t *testing.T) {
	w := newWorld(t)
	if g := w.enr.Grant(context.Background(), "00000000-0000-4000-8000-000000000000", nil); g.TenantStatus != fleetclaim.TenantStatusUnknown {
		t.Errorf("got tenant status %q, want %q", g.TenantStatus, fleetclaim.TenantStatusUnknown)
	}
}
