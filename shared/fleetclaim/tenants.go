package fleetclaim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Tenant administration. Platform admins (the platform-admins group, with
// the admin scope) create, list, configure, suspend and reactivate tenants.
// A tenant's own admins read their tenant and may rename it, nothing more:
// auto-approve domains decide who becomes an installer without anyone
// looking, so only a platform admin sets them, and never to a domain where
// anyone can get an address (publicmail.go). To a tenant admin, every other
// tenant is "not found" (invariant 7).

// Limits on tenant settings.
const (
	MaxTenantNameLength   = 100
	MaxAutoApproveDomains = 20
	// MaxClaimsPerHour bounds a tenant's quota override; 0 means the
	// deployment's quota.
	MaxClaimsPerHour = 10000
)

// TenantSettings are the settings of a tenant a change may set; a nil
// member is left as it is.
type TenantSettings struct {
	Name                      *string
	AutoApproveDomains        *[]string
	ClaimsPerHour             *int
	AllowedTemplates          *[]string
	InstallersMayDecommission *bool
}

// NewTenantRequest is a platform admin's request for a new tenant.
type NewTenantRequest struct {
	ID TenantID
	TenantSettings
}

// TenantChange is a change to a tenant made from its revision Revision:
// if the tenant changed since, the change is refused, not merged.
type TenantChange struct {
	Revision int
	TenantSettings
}

// platformOnly lists the settings only platform admins may change.
func (ts TenantSettings) platformOnly() []string {
	var out []string
	if ts.AutoApproveDomains != nil {
		out = append(out, "autoApproveDomains")
	}
	if ts.ClaimsPerHour != nil {
		out = append(out, "claimsPerHour")
	}
	if ts.AllowedTemplates != nil {
		out = append(out, "allowedTemplates")
	}
	if ts.InstallersMayDecommission != nil {
		out = append(out, "installersMayDecommission")
	}
	return out
}

// apply validates the settings and writes them into t; it reports the
// names of the settings given.
func (s *Service) apply(t *Tenant, ts TenantSettings) ([]string, error) {
	var changed []string
	if ts.Name != nil {
		if err := ValidateTenantName(*ts.Name); err != nil {
			return nil, err
		}
		t.Name, changed = *ts.Name, append(changed, "name")
	}
	if ts.AutoApproveDomains != nil {
		domains, err := ParseAutoApproveDomains(*ts.AutoApproveDomains)
		if err != nil {
			return nil, err
		}
		t.AutoApproveDomains, changed = domains, append(changed, "autoApproveDomains")
	}
	if ts.ClaimsPerHour != nil {
		if n := *ts.ClaimsPerHour; n < 0 || n > MaxClaimsPerHour {
			return nil, Invalid("claimsPerHour", "must be from 0 (the deployment's quota) to %d", MaxClaimsPerHour)
		}
		t.ClaimsPerHour, changed = *ts.ClaimsPerHour, append(changed, "claimsPerHour")
	}
	if ts.AllowedTemplates != nil {
		templates, err := s.allowedTemplates(*ts.AllowedTemplates)
		if err != nil {
			return nil, err
		}
		t.AllowedTemplates, changed = templates, append(changed, "allowedTemplates")
	}
	if ts.InstallersMayDecommission != nil {
		t.InstallersMayDecommission, changed = *ts.InstallersMayDecommission, append(changed, "installersMayDecommission")
	}
	return changed, nil
}

// allowedTemplates checks a tenant's template subset against the
// deployment's templates.
func (s *Service) allowedTemplates(ts []string) ([]string, error) {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if err := ValidateTemplateName(t); err != nil {
			return nil, Invalid("allowedTemplates", "%s", ErrorOf(err).Message)
		}
		if !slices.Contains(s.Templates, t) {
			return nil, Invalid("allowedTemplates", "names %q, which is not a template this deployment offers (%s)", t, strings.Join(s.Templates, ", "))
		}
		if slices.Contains(out, t) {
			return nil, Invalid("allowedTemplates", "names %q twice", t)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// ValidateTenantName checks a tenant's display name: 1 to 100 printable
// characters, not all spaces.
func ValidateTenantName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return Invalid("name", "must be valid UTF-8")
	case strings.TrimSpace(name) == "":
		return Invalid("name", "is required")
	case utf8.RuneCountInString(name) > MaxTenantNameLength:
		return Invalid("name", "must be at most %d characters", MaxTenantNameLength)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return Invalid("name", "must not contain control or invisible characters")
		}
	}
	return nil
}

// ParseAutoApproveDomains reads a tenant's auto-approve domains: ASCII DNS
// names (ParseDomain), no duplicates, at most MaxAutoApproveDomains, and
// none at which anyone can get an address (IsPublicMailDomain): a verified
// address there proves nothing about who the user works for.
func ParseAutoApproveDomains(ds []string) ([]string, error) {
	if len(ds) > MaxAutoApproveDomains {
		return nil, Invalid("autoApproveDomains", "may list at most %d domains", MaxAutoApproveDomains)
	}
	out := make([]string, 0, len(ds))
	for _, given := range ds {
		d, err := ParseDomain(given)
		if err != nil {
			return nil, Invalid("autoApproveDomains", "must be ASCII domain names (internationalized ones in their xn-- form)")
		}
		if IsPublicMailDomain(d) {
			return nil, &Error{Kind: KindInvalid, Code: CodePublicMailDomain, Field: "autoApproveDomains",
				Message: fmt.Sprintf("%s is a public mail provider; anyone can get an address there", d)}
		}
		if slices.Contains(out, d) {
			return nil, Invalid("autoApproveDomains", "lists %s twice", d)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// CreateTenant records a new, active tenant (platform admins only).
func (s *Service) CreateTenant(ctx context.Context, p Principal, r NewTenantRequest) (Tenant, error) {
	if err := ValidateTenantID(r.ID); err != nil {
		return Tenant{}, err
	}
	if r.Name == nil {
		return Tenant{}, Invalid("name", "is required")
	}
	a, err := s.admin(ctx, p)
	if err != nil {
		return Tenant{}, err
	}
	if !a.platform {
		return Tenant{}, Forbidden(CodeForbidden, "Only platform admins create tenants.")
	}
	now := s.Now().UTC()
	t := Tenant{ID: r.ID, Status: TenantActive, Revision: 1, CreatedAt: now, UpdatedAt: now, UpdatedBy: a.ID}
	changed, err := s.apply(&t, r.TenantSettings)
	if err != nil {
		return Tenant{}, err
	}
	switch err := s.Store.CreateTenant(ctx, t); {
	case errors.Is(err, ErrConflict):
		return Tenant{}, Conflict(CodeTenantExists, "A tenant with this ID exists already.")
	case err != nil:
		return Tenant{}, Unavailable(fmt.Errorf("create tenant %s: %w", t.ID, err))
	}
	s.audit(ctx, AuditEvent{TenantID: t.ID, At: now, Actor: a.ID, Action: ActionTenantCreated, Subject: string(t.ID),
		Detail: "set " + strings.Join(changed, ", ")})
	s.Log.InfoContext(ctx, "tenant created", "tenantId", t.ID, "by", a.ID)
	return t, nil
}

// ListTenants lists every tenant for a platform admin; a tenant admin's
// listing holds their own tenant only, so that no other tenant shows.
func (s *Service) ListTenants(ctx context.Context, p Principal, pg Page) ([]Tenant, string, error) {
	pg, err := pg.normalize()
	if err != nil {
		return nil, "", err
	}
	a, err := s.admin(ctx, p)
	if err != nil {
		return nil, "", err
	}
	if !a.platform {
		if pg.Cursor != "" {
			return nil, "", Invalid("cursor", "is not a cursor this API returned")
		}
		return []Tenant{a.tenant}, "", nil
	}
	ts, next, err := s.Store.ListTenants(ctx, pg)
	if err != nil {
		return nil, "", listError(err)
	}
	return ts, next, nil
}

// GetTenant returns a tenant to a platform admin, or their own tenant to
// a tenant admin.
func (s *Service) GetTenant(ctx context.Context, p Principal, id TenantID) (Tenant, error) {
	_, t, err := s.visibleTenant(ctx, p, id)
	return t, err
}

// UpdateTenant changes a tenant's settings from the revision the caller
// read. Tenant admins may change their tenant's name only.
func (s *Service) UpdateTenant(ctx context.Context, p Principal, id TenantID, c TenantChange) (Tenant, error) {
	if c.Revision < 0 {
		return Tenant{}, Invalid("revision", "must be the revision the tenant was read at")
	}
	a, t, err := s.visibleTenant(ctx, p, id)
	if err != nil {
		return Tenant{}, err
	}
	if only := c.platformOnly(); !a.platform && len(only) > 0 {
		return Tenant{}, Forbidden(CodeForbidden, "Only a platform admin may change "+strings.Join(only, ", ")+".")
	}
	if t.Revision != c.Revision {
		return Tenant{}, revisionConflict(t.Revision)
	}
	changed, err := s.apply(&t, c.TenantSettings)
	if err != nil {
		return Tenant{}, err
	}
	if len(changed) == 0 {
		return Tenant{}, Invalid("", "The change sets no setting.")
	}
	now := s.Now().UTC()
	t.UpdatedAt, t.UpdatedBy = now, a.ID
	out, err := s.Store.UpdateTenant(ctx, t, c.Revision)
	switch {
	case errors.Is(err, ErrConflict):
		return Tenant{}, revisionConflict(-1)
	case errors.Is(err, ErrNotFound):
		return Tenant{}, NotFound("Tenant")
	case err != nil:
		return Tenant{}, Unavailable(fmt.Errorf("update tenant %s: %w", id, err))
	}
	s.audit(ctx, AuditEvent{TenantID: id, At: now, Actor: a.ID, Action: ActionTenantUpdated, Subject: string(id),
		Detail: fmt.Sprintf("set %s (revision %d)", strings.Join(changed, ", "), out.Revision)})
	return out, nil
}

func revisionConflict(current int) error {
	msg := "The tenant changed since you read it; read it again and reapply your change."
	if current >= 0 {
		msg = fmt.Sprintf("The tenant is at revision %d, not the one you read; read it again and reapply your change.", current)
	}
	return Conflict(CodeRevisionConflict, msg)
}

// SuspendTenant stops a tenant at once (platform admins only): the record
// changes first, so every claim route, the hook and the Cognito triggers
// refuse the tenant's installers on their next read, whatever tokens they
// hold; then each unused claim of the tenant is revoked (reason
// tenant_suspended), so none comes back to life on a reactivation.
// Suspending a suspended tenant completes a revocation that a fault cut
// short.
func (s *Service) SuspendTenant(ctx context.Context, p Principal, id TenantID) (Tenant, error) {
	a, t, err := s.platformTenant(ctx, p, id)
	if err != nil {
		return Tenant{}, err
	}
	if t.ID == a.TenantID {
		return Tenant{}, Forbidden(CodeForbidden, "Platform admins cannot suspend their own tenant.")
	}
	now := s.Now().UTC()
	if t.Status != TenantSuspended {
		if t, err = s.setTenantStatus(ctx, a, t, TenantSuspended, ActionTenantSuspended); err != nil {
			return Tenant{}, err
		}
	}
	revoked, err := s.revokeTenantClaims(ctx, a, t.ID, now)
	if err != nil {
		s.Log.ErrorContext(ctx, "tenant suspended, its unused claims not all revoked", "tenantId", id, "revoked", revoked, "error", err)
		return Tenant{}, &Error{Kind: KindUnavailable, Code: CodeUnavailable, RetryAfter: time.Second, Err: err,
			Message: "The tenant is suspended and that is in force (the hook refuses its claims), but revoking its " +
				"unused claims did not complete; repeat the request to complete it."}
	}
	return t, nil
}

// ReactivateTenant lifts a tenant's suspension (platform admins only). It
// restores nothing else: claims revoked by the suspension stay revoked, and
// installers keep the status they had.
func (s *Service) ReactivateTenant(ctx context.Context, p Principal, id TenantID) (Tenant, error) {
	a, t, err := s.platformTenant(ctx, p, id)
	if err != nil {
		return Tenant{}, err
	}
	if t.Status == TenantActive {
		return t, nil
	}
	return s.setTenantStatus(ctx, a, t, TenantActive, ActionTenantReactivated)
}

func (s *Service) setTenantStatus(ctx context.Context, a actor, t Tenant, to TenantStatus, action string) (Tenant, error) {
	now := s.Now().UTC()
	out, err := s.Store.SetTenantStatus(ctx, t.ID, t.Status, to, now, a.ID)
	switch {
	case errors.Is(err, ErrConflict):
		return Tenant{}, Conflict(CodeTenantStatusConflict, "The tenant's status changed meanwhile; reload and retry.")
	case errors.Is(err, ErrNotFound):
		return Tenant{}, NotFound("Tenant")
	case err != nil:
		return Tenant{}, Unavailable(fmt.Errorf("set tenant %s %s: %w", t.ID, to, err))
	}
	detail := ""
	if to == TenantActive {
		detail = "claims revoked by the suspension stay revoked; installers keep their status"
	}
	s.audit(ctx, AuditEvent{TenantID: t.ID, At: now, Actor: a.ID, Action: action, Subject: string(t.ID), Detail: detail})
	s.Log.InfoContext(ctx, "tenant status changed", "tenantId", t.ID, "from", t.Status, "to", to, "by", a.ID)
	return out, nil
}

// MaxClaimLifetime bounds how long any claim certificate is valid: AWS IoT
// makes them valid for five minutes, the local stack for at most a day. A
// claim issued before now minus this has expired.
const MaxClaimLifetime = 24 * time.Hour

// revokeTenantClaims revokes every issued, unexpired claim of the tenant's
// installers, each with one conditional write (a claim consumed or revoked
// meanwhile is left as it is), audits each, and has AWS IoT deactivate its
// certificate. A claim an interrupted suspension revoked has its
// deactivation repeated (it is idempotent). Claims are listed newest first,
// so each installer's listing stops at the first claim too old to be open.
// A failed deactivation does not stop the others; the first is returned
// once all are done. It returns how many claims it revoked.
func (s *Service) revokeTenantClaims(ctx context.Context, a actor, tenant TenantID, now time.Time) (int, error) {
	revoked := 0
	var deactivation error
	deactivate := func(c Claim) {
		if err := s.deactivateClaim(ctx, a.ID, c); err != nil && deactivation == nil {
			deactivation = err
		}
	}
	err := eachPage(func(pg Page) ([]Installer, string, error) { return s.Store.ListInstallers(ctx, tenant, pg) },
		func(in Installer) error {
			return eachPage(func(pg Page) ([]Claim, string, error) { return s.Store.ListClaims(ctx, in.ID, pg) },
				func(c Claim) error {
					switch {
					case c.IssuedAt.Before(now.Add(-MaxClaimLifetime)):
						return errLastPage
					case c.TenantID != tenant || !now.Before(c.ExpiresAt):
						return nil
					case c.Status == ClaimRevoked && c.Reason == ReasonTenantSuspended:
						deactivate(c)
						return nil
					case c.Status != ClaimIssued:
						return nil
					}
					_, err := s.Store.UpdateClaim(ctx, ClaimUpdate{ID: c.ID, IfStatus: ClaimIssued, IfUnexpiredAt: now,
						Status: ClaimRevoked, Reason: ReasonTenantSuspended, At: now})
					switch {
					case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
						return nil
					case err != nil:
						return fmt.Errorf("revoke claim %s: %w", c.ID, err)
					}
					revoked++
					s.audit(ctx, AuditEvent{TenantID: tenant, At: now, Actor: a.ID, Action: ActionClaimRevoked,
						Subject: string(c.ID), Serial: c.Serial, Reason: ReasonTenantSuspended})
					deactivate(c)
					return nil
				})
		})
	return revoked, errors.Join(err, deactivation)
}

// errLastPage, from a visit, ends eachPage's listing without an error.
var errLastPage = errors.New("no further items wanted")

// eachPage calls visit for every item of a paged listing, until visit
// returns errLastPage or another error.
func eachPage[T any](list func(Page) ([]T, string, error), visit func(T) error) error {
	pg := Page{Limit: MaxPageSize}
	for {
		items, next, err := list(pg)
		if err != nil {
			return err
		}
		for _, it := range items {
			switch err := visit(it); {
			case errors.Is(err, errLastPage):
				return nil
			case err != nil:
				return err
			}
		}
		if next == "" {
			return nil
		}
		pg.Cursor = next
	}
}

// visibleTenant loads a tenant the caller administers: any, for a platform
// admin; their own, for a tenant admin; any other is "not found".
func (s *Service) visibleTenant(ctx context.Context, p Principal, id TenantID) (actor, Tenant, error) {
	if err := ValidateTenantID(id); err != nil {
		return actor{}, Tenant{}, err
	}
	a, err := s.admin(ctx, p)
	if err != nil {
		return actor{}, Tenant{}, err
	}
	if !a.canSee(id) {
		return actor{}, Tenant{}, NotFound("Tenant")
	}
	t, err := s.Store.GetTenant(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return actor{}, Tenant{}, NotFound("Tenant")
	case err != nil:
		return actor{}, Tenant{}, Unavailable(fmt.Errorf("get tenant %s: %w", id, err))
	}
	return a, t, nil
}

// platformTenant is visibleTenant for the actions of platform admins only.
func (s *Service) platformTenant(ctx context.Context, p Principal, id TenantID) (actor, Tenant, error) {
	a, t, err := s.visibleTenant(ctx, p, id)
	if err != nil {
		return actor{}, Tenant{}, err
	}
	if !a.platform {
		return actor{}, Tenant{}, Forbidden(CodeForbidden, "Only platform admins suspend and reactivate tenants.")
	}
	return a, t, nil
}

// tenantTemplate narrows the template of a claim request to the tenant's
// AllowedTemplates: the default is the tenant's first, and another the
// deployment offers but the tenant may not use is refused. resolved is the
// deployment's choice (Service.template).
func tenantTemplate(t Tenant, requested, resolved string) (string, error) {
	switch {
	case len(t.AllowedTemplates) == 0:
		return resolved, nil
	case requested == "":
		return t.AllowedTemplates[0], nil
	case !slices.Contains(t.AllowedTemplates, resolved):
		return "", Invalid("template", "is not a template your tenant may use")
	}
	return resolved, nil
}
