package fleetclaim

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ListInstallers lists a tenant's installers for its admins.
func (s *Service) ListInstallers(ctx context.Context, p Principal, tenant TenantID, pg Page) ([]Installer, string, error) {
	return listInTenant(ctx, p, s.admin, tenant, pg, s.Store.ListInstallers)
}

// GetInstaller returns one installer of the admin's tenant.
func (s *Service) GetInstaller(ctx context.Context, p Principal, id InstallerID) (Installer, error) {
	_, in, err := s.managedInstaller(ctx, p, id)
	return in, err
}

// ApproveInstaller lets a pending installer request claims. Approving an
// approved installer changes nothing and succeeds.
func (s *Service) ApproveInstaller(ctx context.Context, p Principal, id InstallerID) (Installer, error) {
	return s.grant(ctx, p, id, InstallerPending, ActionInstallerApproved)
}

// ReinstateInstaller lifts a suspension.
func (s *Service) ReinstateInstaller(ctx context.Context, p Principal, id InstallerID) (Installer, error) {
	return s.grant(ctx, p, id, InstallerSuspended, ActionInstallerReinstated)
}

// grant moves an installer from `from` to approved. Only the record changes:
// every check reads it, and no Cognito group stands for approval, so
// approval works while Cognito is unavailable. Cognito is asked only whether
// the user still exists: a user deleted from the pool is offboarded (their
// record suspended) instead of approved, so it cannot linger as approved.
func (s *Service) grant(ctx context.Context, p Principal, id InstallerID, from InstallerStatus, action string) (Installer, error) {
	a, in, err := s.managedInstaller(ctx, p, id)
	if err != nil {
		return Installer{}, err
	}
	switch in.Status {
	case InstallerApproved:
		return in, nil
	case from:
	default:
		return Installer{}, Conflict(CodeInstallerStatusConflict,
			fmt.Sprintf("The installer is %s; this action applies to %s installers.", in.Status, from))
	}
	switch exists, err := s.Groups.UserExists(ctx, in.Username); {
	case err != nil:
		// Approval must not hinge on Cognito: a user who no longer exists
		// cannot sign in to use it, and the next approval or suspension asks again.
		s.Log.WarnContext(ctx, "Cognito user not checked before approval", "installerId", id, "error", err)
	case !exists:
		if _, err := s.setStatus(ctx, a, in, []InstallerStatus{from}, InstallerSuspended, ActionInstallerOffboarded); err != nil {
			return Installer{}, err
		}
		return Installer{}, Conflict(CodeInstallerStatusConflict,
			"The installer's user no longer exists in the user pool; the installer is now suspended.")
	}
	return s.setStatus(ctx, a, in, []InstallerStatus{from}, InstallerApproved, action)
}

// ActionInstallerOffboarded is the audit action of an installer suspended
// because their Cognito user was deleted.
const ActionInstallerOffboarded = "installer.offboarded"

// SuspendInstaller stops an installer at once: the record changes first, so
// claim issuance and the hook refuse them on their next read, whatever tokens
// they hold (invariant 5); then Cognito revokes their refresh tokens, and
// every open claim of theirs is revoked and its certificate deactivated in
// AWS IoT (invariant 10). Suspending a suspended installer repeats the
// clean-up, which completes one that failed.
func (s *Service) SuspendInstaller(ctx context.Context, p Principal, id InstallerID) (Installer, error) {
	a, in, err := s.managedInstaller(ctx, p, id)
	if err != nil {
		return Installer{}, err
	}
	if in.Status != InstallerSuspended {
		if in, err = s.setStatus(ctx, a, in, []InstallerStatus{InstallerPending, InstallerApproved},
			InstallerSuspended, ActionInstallerSuspended); err != nil {
			return Installer{}, err
		}
	}
	// The suspension is in force already; a Cognito failure here only delays
	// the clean-up, which the pre-token trigger covers (it strips groups and
	// scopes from suspended installers), so it is logged rather than failed.
	// A user already deleted from the pool has no tokens left to revoke.
	switch err := s.Groups.SignOutEverywhere(ctx, in.Username); {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		s.Log.ErrorContext(ctx, "suspended installer's refresh tokens not revoked", "installerId", id, "error", err)
	}
	if _, err := s.revokeInstallerClaims(ctx, a.ID, in.ID); err != nil {
		// The hook refuses a suspended installer's claims already.
		s.Log.ErrorContext(ctx, "suspended installer's claims not all revoked in AWS IoT", "installerId", id, "error", err)
		return Installer{}, inForce("The installer is suspended", "the certificate of each of their open claims", err)
	}
	return in, nil
}

func (s *Service) setStatus(ctx context.Context, a actor, in Installer, from []InstallerStatus, to InstallerStatus, action string) (Installer, error) {
	now := s.Now().UTC()
	out, err := s.Store.SetInstallerStatus(ctx, in.ID, from, to, now, a.ID)
	switch {
	case errors.Is(err, ErrConflict):
		return Installer{}, Conflict(CodeInstallerStatusConflict, "The installer's status changed meanwhile; reload and retry.")
	case err != nil:
		return Installer{}, Unavailable(fmt.Errorf("set installer %s %s: %w", in.ID, to, err))
	}
	s.audit(ctx, AuditEvent{TenantID: in.TenantID, At: now, Actor: a.ID, Action: action, Subject: string(in.ID)})
	s.Log.InfoContext(ctx, "installer status changed", "installerId", in.ID, "tenantId", in.TenantID,
		"from", in.Status, "to", to, "by", a.ID)
	return out, nil
}

// managedInstaller loads an installer the caller administers. Admins cannot
// change their own status: one compromised admin account cannot make itself
// unsuspendable, and nobody locks themselves out by mistake.
func (s *Service) managedInstaller(ctx context.Context, p Principal, id InstallerID) (actor, Installer, error) {
	if err := ValidateInstallerID(id); err != nil {
		return actor{}, Installer{}, err
	}
	a, err := s.admin(ctx, p)
	if err != nil {
		return actor{}, Installer{}, err
	}
	in, err := s.Store.GetInstaller(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return actor{}, Installer{}, NotFound("Installer")
	case err != nil:
		return actor{}, Installer{}, Unavailable(fmt.Errorf("get installer %s: %w", id, err))
	case !a.canSee(in.TenantID):
		return actor{}, Installer{}, NotFound("Installer")
	case in.ID == a.ID:
		return actor{}, Installer{}, Forbidden(CodeForbidden, "Admins cannot change their own status.")
	}
	return a, in, nil
}

// ListAudit lists a tenant's audit events that pass q's filters, newest
// first. Bad filters are refused before anything is read.
func (s *Service) ListAudit(ctx context.Context, p Principal, tenant TenantID, q AuditQuery, pg Page) ([]AuditEvent, string, error) {
	f, err := q.Filter()
	if err != nil {
		return nil, "", err
	}
	return listInTenant(ctx, p, s.admin, tenant, pg, func(ctx context.Context, t TenantID, pg Page) ([]AuditEvent, string, error) {
		return s.Store.ListAudit(ctx, t, f, pg)
	})
}

func (s *Service) admin(ctx context.Context, p Principal) (actor, error) {
	a, err := resolveActor(ctx, s.Store, p)
	if err != nil {
		return actor{}, err
	}
	return a, a.requireAdmin()
}

// stripGroups returns groups without the privileged ones.
func stripGroups(groups []string) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if !slices.Contains(PrivilegedGroups, g) {
			out = append(out, g)
		}
	}
	return out
}
