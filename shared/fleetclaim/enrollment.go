package fleetclaim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Enrollment holds the rules behind the Cognito triggers: who becomes an
// installer at confirmation, and what their tokens carry.
type Enrollment struct {
	Installers InstallerStore
	Tenants    TenantStore
	// GroupsFor returns the group manager of the user pool an event came
	// from. The post-confirmation trigger learns its pool from the event:
	// configuring it would make the pool and its trigger depend on each other.
	GroupsFor func(userPoolID string) GroupManager
	Audit     AuditStore
	Now       func() time.Time
	Log       *slog.Logger
}

// Registration is a confirmed Cognito user.
type Registration struct {
	UserPoolID    string
	Subject       InstallerID
	Username      string
	Email         string
	EmailVerified bool
	// TenantID is the custom:tenant_id the user signed up with. It is the
	// user's claim, not a fact: it only decides which tenant's admins see the
	// request, unless the verified email domain is one the tenant auto-approves.
	TenantID TenantID
}

// Register records a newly confirmed user as an installer: pending, or approved
// when the tenant is active and auto-approves the verified email's domain.
// Cognito retries triggers, so a second call for the same user changes
// nothing and returns the existing record (invariant 8).
func (e *Enrollment) Register(ctx context.Context, r Registration) (Installer, error) {
	if err := ValidateInstallerID(r.Subject); err != nil {
		return Installer{}, err
	}
	if err := ValidateTenantID(r.TenantID); err != nil {
		return Installer{}, err
	}
	in, err := e.Installers.GetInstaller(ctx, r.Subject)
	switch {
	case err == nil:
		return in, e.ensureGroup(ctx, r.UserPoolID, in)
	case !errors.Is(err, ErrNotFound):
		return Installer{}, fmt.Errorf("read installer %s: %w", r.Subject, err)
	}

	status := InstallerPending
	t, err := e.Tenants.GetTenant(ctx, r.TenantID)
	switch {
	case errors.Is(err, ErrNotFound):
		// Unknown tenant: recorded pending, where no admin will ever see it.
	case err != nil:
		return Installer{}, fmt.Errorf("read tenant %s: %w", r.TenantID, err)
	case t.Status == TenantActive && r.EmailVerified && slices.Contains(t.AutoApproveDomains, EmailDomain(r.Email)):
		status = InstallerApproved
	}
	now := e.Now().UTC()
	in = Installer{ID: r.Subject, Username: r.Username, Email: r.Email, TenantID: r.TenantID,
		Status: status, CreatedAt: now, UpdatedAt: now}
	switch err := e.Installers.CreateInstaller(ctx, in); {
	case errors.Is(err, ErrConflict):
		// A concurrent retry won; its record stands.
		if in, err = e.Installers.GetInstaller(ctx, r.Subject); err != nil {
			return Installer{}, fmt.Errorf("read installer %s: %w", r.Subject, err)
		}
		return in, e.ensureGroup(ctx, r.UserPoolID, in)
	case err != nil:
		return Installer{}, fmt.Errorf("create installer %s: %w", r.Subject, err)
	}
	if err := e.Audit.AppendAudit(ctx, AuditEvent{TenantID: in.TenantID, ID: newEventID(now), At: now,
		Action: ActionInstallerRegistered, Subject: string(in.ID), Detail: "status " + string(status)}); err != nil {
		e.Log.ErrorContext(ctx, "audit event not recorded", "action", ActionInstallerRegistered, "error", err)
	}
	e.Log.InfoContext(ctx, "installer registered", "installerId", in.ID, "tenantId", in.TenantID, "status", in.Status)
	return in, e.ensureGroup(ctx, r.UserPoolID, in)
}

// ensureGroup puts an approved installer in the installers group. Adding a
// member twice is harmless, which keeps retries idempotent.
func (e *Enrollment) ensureGroup(ctx context.Context, pool string, in Installer) error {
	if in.Status != InstallerApproved {
		return nil
	}
	if err := e.GroupsFor(pool).AddUserToGroup(ctx, in.Username, GroupInstallers); err != nil {
		return fmt.Errorf("add %s to %s: %w", in.ID, GroupInstallers, err)
	}
	return nil
}

// StatusUnknown is the installer_status claim of a user without a record.
const StatusUnknown InstallerStatus = "unknown"

// TokenGrant is what a user's tokens carry.
type TokenGrant struct {
	TenantID TenantID
	Status   InstallerStatus
	// Scopes are added to the access token; SuppressScopes removed from it.
	Scopes         []string
	SuppressScopes []string
	// Groups is the user's cognito:groups as the tokens should state it.
	Groups []string
}

// Grant decides a user's token contents from the live record. Only approved
// installers get the claims scope, and admins the admin scope. Anyone else,
// including a user with no record or one whose record cannot be read right
// now, signs in with no privileges at all: fail closed without blocking
// sign-in.
func (e *Enrollment) Grant(ctx context.Context, sub InstallerID, groups []string) TokenGrant {
	none := TokenGrant{Status: StatusUnknown, SuppressScopes: []string{ScopeClaims, ScopeAdmin}, Groups: stripGroups(groups)}
	in, err := e.Installers.GetInstaller(ctx, sub)
	switch {
	case errors.Is(err, ErrNotFound):
		return none
	case err != nil:
		e.Log.ErrorContext(ctx, "installer unreadable; token carries no privileges", "installerId", sub, "error", err)
		return none
	case in.Status != InstallerApproved:
		none.TenantID, none.Status = in.TenantID, in.Status
		return none
	}
	g := TokenGrant{TenantID: in.TenantID, Status: in.Status, Scopes: []string{ScopeClaims},
		SuppressScopes: []string{ScopeAdmin}, Groups: groups}
	if slices.Contains(groups, GroupAdmins) || slices.Contains(groups, GroupPlatformAdmins) {
		g.Scopes, g.SuppressScopes = []string{ScopeClaims, ScopeAdmin}, nil
	}
	return g
}
