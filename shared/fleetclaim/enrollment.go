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
//
// It writes no Cognito group: authorization reads the installer record and
// the admin groups, so an "installers" group would gate nothing, and the
// permission to write groups cannot be limited to one group in IAM.
type Enrollment struct {
	Installers InstallerStore
	Tenants    TenantStore
	// Quotas caps automatic approvals per tenant and day.
	Quotas QuotaStore
	// AutoApprovalsPerDay is the most installers one tenant approves
	// automatically per UTC day; DefaultAutoApprovalsPerDay when zero.
	AutoApprovalsPerDay int
	Audit               AuditStore
	Now                 func() time.Time
	Log                 *slog.Logger
}

// DefaultAutoApprovalsPerDay bounds automatic approvals per tenant and UTC
// day. Plus-addressing and mailbox aliases give one mailbox owner any number
// of verified addresses on an auto-approved domain; past the cap, new
// installers are recorded pending for an admin, as if the domain were not
// auto-approved. A crew's sign-ups in one day stay well under it.
const DefaultAutoApprovalsPerDay = 50

// Registration is a confirmed Cognito user.
type Registration struct {
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
		return in, nil
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
		if e.takeAutoApproval(ctx, r) {
			status = InstallerApproved
		}
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
		return in, nil
	case err != nil:
		return Installer{}, fmt.Errorf("create installer %s: %w", r.Subject, err)
	}
	if err := e.Audit.AppendAudit(ctx, AuditEvent{TenantID: in.TenantID, ID: newEventID(now), At: now,
		Action: ActionInstallerRegistered, Subject: string(in.ID), Detail: "status " + string(status)}); err != nil {
		e.Log.ErrorContext(ctx, "audit event not recorded", "action", ActionInstallerRegistered, "error", err)
	}
	e.Log.InfoContext(ctx, "installer registered", "installerId", in.ID, "tenantId", in.TenantID, "status", in.Status)
	return in, nil
}

// takeAutoApproval spends one of the tenant's automatic approvals for the
// current UTC day. A spent cap, or a quota store that cannot answer, leaves
// the installer pending: waiting for an admin is the safe side.
func (e *Enrollment) takeAutoApproval(ctx context.Context, r Registration) bool {
	limit := e.AutoApprovalsPerDay
	if limit <= 0 {
		limit = DefaultAutoApprovalsPerDay
	}
	day := e.Now().UTC().Truncate(24 * time.Hour)
	err := e.Quotas.TakeQuota(ctx, "autoapprove#"+string(r.TenantID), day.Add(24*time.Hour), limit)
	switch {
	case errors.Is(err, ErrQuotaExhausted):
		e.Log.WarnContext(ctx, "tenant's automatic approvals for today are used up; installer left pending",
			"installerId", r.Subject, "tenantId", r.TenantID, "limit", limit)
		return false
	case err != nil:
		e.Log.ErrorContext(ctx, "automatic approval quota unreadable; installer left pending",
			"installerId", r.Subject, "tenantId", r.TenantID, "error", err)
		return false
	}
	return true
}

// StatusUnknown is the installer_status claim of a user without a record.
const StatusUnknown InstallerStatus = "unknown"

// TenantStatusUnknown is the tenant_status claim when the user's tenant is
// not known: no record, no such tenant, or a tenant record that cannot be
// read right now.
const TenantStatusUnknown TenantStatus = "unknown"

// TokenGrant is what a user's tokens carry.
type TokenGrant struct {
	TenantID TenantID
	Status   InstallerStatus
	// TenantStatus is the tenant's status at sign-in, so that the app can
	// tell an installer that their company, not they, lost access.
	TenantStatus TenantStatus
	// Scopes are added to the access token; SuppressScopes removed from it.
	Scopes         []string
	SuppressScopes []string
	// Groups is the user's cognito:groups as the tokens should state it.
	Groups []string
}

// Grant decides a user's token contents from the live records. Only approved
// installers of an active tenant get the claims scope, and admins among them
// the admin scope. Anyone else, including a user with no record, one whose
// tenant is suspended or missing, or one whose installer or tenant record
// cannot be read right now, signs in with no privileges at all: fail closed
// without blocking sign-in.
func (e *Enrollment) Grant(ctx context.Context, sub InstallerID, groups []string) TokenGrant {
	in, err := e.Installers.GetInstaller(ctx, sub)
	switch {
	case errors.Is(err, ErrNotFound):
		return noGrant(groups)
	case err != nil:
		e.Log.ErrorContext(ctx, "installer unreadable; token carries no privileges", "installerId", sub, "error", err)
		return noGrant(groups)
	}
	return e.grantFor(ctx, in, groups)
}

// SignIn is Grant for a signing-in user that also repairs a missing record:
// Cognito does not retry a failed post-confirmation trigger, so a confirmed
// user can be left without one. The record is then created here exactly as
// Register would have (pending, or approved on an auto-approved domain);
// Register is idempotent, so a concurrent confirmation or sign-in changes
// nothing. Any failure signs the user in with no privileges (fail closed),
// and the next sign-in tries again.
func (e *Enrollment) SignIn(ctx context.Context, r Registration, groups []string) TokenGrant {
	in, err := e.Installers.GetInstaller(ctx, r.Subject)
	switch {
	case errors.Is(err, ErrNotFound):
		if in, err = e.Register(ctx, r); err != nil {
			e.Log.ErrorContext(ctx, "missing installer record not repaired; token carries no privileges",
				"installerId", r.Subject, "error", err)
			return noGrant(groups)
		}
		e.Log.WarnContext(ctx, "installer record was missing at sign-in; created",
			"installerId", in.ID, "tenantId", in.TenantID, "status", in.Status)
	case err != nil:
		e.Log.ErrorContext(ctx, "installer unreadable; token carries no privileges", "installerId", r.Subject, "error", err)
		return noGrant(groups)
	}
	return e.grantFor(ctx, in, groups)
}

// noGrant is the token of a user the rules cannot vouch for: no scope and no
// privileged group.
func noGrant(groups []string) TokenGrant {
	return TokenGrant{Status: StatusUnknown, TenantStatus: TenantStatusUnknown,
		SuppressScopes: []string{ScopeClaims, ScopeAdmin}, Groups: stripGroups(groups)}
}

// grantFor decides the token of the user whose record is in. The tenant is
// read at every sign-in and refresh, so a suspension takes effect on the
// next token as it does on the next request, and not only once the tokens
// issued before it expire.
func (e *Enrollment) grantFor(ctx context.Context, in Installer, groups []string) TokenGrant {
	tenantStatus := TenantStatusUnknown
	switch t, err := e.Tenants.GetTenant(ctx, in.TenantID); {
	case errors.Is(err, ErrNotFound):
		e.Log.WarnContext(ctx, "installer's tenant does not exist; token carries no privileges",
			"installerId", in.ID, "tenantId", in.TenantID)
	case err != nil:
		e.Log.ErrorContext(ctx, "tenant unreadable; token carries no privileges",
			"installerId", in.ID, "tenantId", in.TenantID, "error", err)
	default:
		tenantStatus = t.Status
	}
	if in.Status != InstallerApproved || tenantStatus != TenantActive {
		none := noGrant(groups)
		none.TenantID, none.Status, none.TenantStatus = in.TenantID, in.Status, tenantStatus
		return none
	}
	g := TokenGrant{TenantID: in.TenantID, Status: in.Status, TenantStatus: tenantStatus, Scopes: []string{ScopeClaims},
		SuppressScopes: []string{ScopeAdmin}, Groups: groups}
	if slices.Contains(groups, GroupAdmins) || slices.Contains(groups, GroupPlatformAdmins) {
		g.Scopes, g.SuppressScopes = []string{ScopeClaims, ScopeAdmin}, nil
	}
	return g
}
