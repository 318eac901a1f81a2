package fleetclaim

import (
	"context"
	"errors"
	"slices"
)

// Principal is the caller as the Cognito authorizer vouched for it: the token's
// claims, nothing more. Services re-check everything that can change within a
// token's lifetime against the live records (invariant 5).
type Principal struct {
	Subject  InstallerID
	Username string
	// TenantID is the token's tenant_id claim, added by the pre-token trigger.
	TenantID TenantID
	Groups   []string
	Scopes   []string
}

// InGroup reports whether the token names group g.
func (p Principal) InGroup(g string) bool { return slices.Contains(p.Groups, g) }

// actor is a principal checked against the live records.
type actor struct {
	Installer
	tenant   Tenant
	admin    bool // may administer its own tenant
	platform bool // may administer every tenant
}

// liveDirectory is what resolving an actor reads.
type liveDirectory interface {
	GetInstaller(ctx context.Context, id InstallerID) (Installer, error)
	GetTenant(ctx context.Context, id TenantID) (Tenant, error)
}

// resolveActor loads the caller's live installer and tenant records and
// refuses anyone who is not, right now, an approved installer of an active
// tenant matching the token. This is what makes a suspension effective at once
// for tokens already issued.
func resolveActor(ctx context.Context, d liveDirectory, p Principal) (actor, error) {
	if p.Subject == "" {
		return actor{}, &Error{Kind: KindUnauthenticated, Code: CodeUnauthenticated, Message: "The token has no subject."}
	}
	in, err := d.GetInstaller(ctx, p.Subject)
	switch {
	case errors.Is(err, ErrNotFound):
		return actor{}, Forbidden(CodeInstallerNotApproved, "You are not a registered installer.")
	case err != nil:
		return actor{}, Unavailable(err)
	case in.Status != InstallerApproved:
		return actor{}, Forbidden(CodeInstallerNotApproved, "Your installer account is "+string(in.Status)+".")
	case p.TenantID == "" || p.TenantID != in.TenantID:
		return actor{}, Forbidden(CodeTenantMismatch, "The token's tenant does not match your installer account; sign in again.")
	}
	t, err := d.GetTenant(ctx, in.TenantID)
	switch {
	case errors.Is(err, ErrNotFound):
		return actor{}, Forbidden(CodeTenantInactive, "Your tenant is not active.")
	case err != nil:
		return actor{}, Unavailable(err)
	case t.Status != TenantActive:
		return actor{}, Forbidden(CodeTenantInactive, "Your tenant is not active.")
	}
	return actor{
		Installer: in,
		tenant:    t,
		admin:     p.InGroup(GroupAdmins) || p.InGroup(GroupPlatformAdmins),
		platform:  p.InGroup(GroupPlatformAdmins),
	}, nil
}

// canSee reports whether the actor may read or act on a resource of tenant t.
func (a actor) canSee(t TenantID) bool { return a.platform || t == a.TenantID }

// targetTenant resolves an admin's optional tenant parameter. Another tenant
// is "not found" for anyone but a platform admin (invariant 7).
func (a actor) targetTenant(param TenantID) (TenantID, error) {
	if param == "" {
		return a.TenantID, nil
	}
	if err := ValidateTenantID(param); err != nil {
		return "", err
	}
	if !a.canSee(param) {
		return "", NotFound("Tenant")
	}
	return param, nil
}

func (a actor) requireAdmin() error {
	if !a.admin {
		return Forbidden(CodeForbidden, "This action needs an admin.")
	}
	return nil
}
