package fleetclaim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Service implements the API's operations for installers and admins. Every
// operation starts by resolving the caller against the live records.
type Service struct {
	Store  Store
	Minter ClaimMinter
	Groups GroupManager
	// Endpoint returns the AWS IoT data endpoint devices connect to.
	Endpoint func(ctx context.Context) (string, error)
	// Templates lists the provisioning templates installers may request; the
	// first is the default.
	Templates []string
	// ClaimsPerHour is the per-installer quota unless the tenant overrides it.
	ClaimsPerHour int
	// Retention is how long a claim record outlives its expiry.
	Retention time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// IssueRequest is an installer's request for a claim.
type IssueRequest struct {
	Serial   string
	Template string // "" for the default
	Site     string
}

// IssueClaim mints a claim certificate bound to one device serial and records
// it (invariant 1). The order matters: everything that can refuse the request
// is checked before AWS IoT is asked for a certificate, and a certificate that
// could not be recorded is useless, because the hook denies unknown claims.
func (s *Service) IssueClaim(ctx context.Context, p Principal, r IssueRequest) (IssuedClaim, error) {
	if err := ValidateSerial(r.Serial); err != nil {
		return IssuedClaim{}, err
	}
	template, err := s.template(r.Template)
	if err != nil {
		return IssuedClaim{}, err
	}
	if err := ValidateSite(r.Site); err != nil {
		return IssuedClaim{}, err
	}
	a, err := resolveActor(ctx, s.Store, p)
	if err != nil {
		return IssuedClaim{}, err
	}
	if template, err = tenantTemplate(a.tenant, r.Template, template); err != nil {
		return IssuedClaim{}, err
	}
	switch _, err := s.Store.GetDevice(ctx, a.TenantID, r.Serial); {
	case err == nil:
		return IssuedClaim{}, Conflict(CodeDeviceAlreadyProvisioned, "A device with this serial number is already provisioned.")
	case !errors.Is(err, ErrNotFound):
		return IssuedClaim{}, Unavailable(err)
	}
	endpoint, err := s.Endpoint(ctx)
	if err != nil {
		return IssuedClaim{}, Unavailable(fmt.Errorf("resolve IoT endpoint: %w", err))
	}
	if err := s.takeQuota(ctx, a); err != nil {
		return IssuedClaim{}, err
	}

	minted, err := s.Minter.CreateProvisioningClaim(ctx, template)
	if err != nil {
		if errors.Is(err, ErrThrottled) {
			return IssuedClaim{}, &Error{Kind: KindUnavailable, Code: CodeThrottled,
				Message: "AWS IoT is throttling claim creation; try again shortly.", RetryAfter: 2 * time.Second, Err: err}
		}
		return IssuedClaim{}, Unavailable(fmt.Errorf("create provisioning claim: %w", err))
	}
	now := s.Now().UTC()
	c := Claim{
		ID:          ClaimID(minted.CertificateID),
		TenantID:    a.TenantID,
		InstallerID: a.ID,
		Template:    template,
		Serial:      r.Serial,
		Site:        r.Site,
		Status:      ClaimIssued,
		IssuedAt:    now,
		ExpiresAt:   minted.Expiration.UTC(),
		UpdatedAt:   now,
		RetainUntil: minted.Expiration.UTC().Add(s.Retention),
	}
	if err := ValidateClaimID(c.ID); err != nil {
		return IssuedClaim{}, ErrorOf(fmt.Errorf("AWS IoT returned an unexpected certificate ID %q", minted.CertificateID))
	}
	if err := s.Store.CreateClaim(ctx, c); err != nil {
		// The certificate exists in AWS IoT but not here; the hook denies it.
		s.Log.ErrorContext(ctx, "claim minted but not recorded; it cannot be used",
			"claimId", c.ID, "serial", c.Serial, "error", err)
		return IssuedClaim{}, Unavailable(fmt.Errorf("record claim %s: %w", c.ID, err))
	}
	s.audit(ctx, AuditEvent{TenantID: c.TenantID, At: now, Actor: a.ID, Action: ActionClaimIssued,
		Subject: string(c.ID), Detail: "serial " + c.Serial + ", template " + template})
	s.Log.InfoContext(ctx, "claim issued", "claimId", c.ID, "tenantId", c.TenantID,
		"installerId", c.InstallerID, "serial", c.Serial, "template", template, "expiresAt", c.ExpiresAt)
	return IssuedClaim{Claim: c, CertificatePEM: minted.CertificatePEM, PrivateKey: minted.PrivateKey, IoTEndpoint: endpoint}, nil
}

func (s *Service) template(requested string) (string, error) {
	if requested == "" {
		return s.Templates[0], nil
	}
	if err := ValidateTemplateName(requested); err != nil {
		return "", err
	}
	if !slices.Contains(s.Templates, requested) {
		return "", Invalid("template", "is not a template this deployment offers")
	}
	return requested, nil
}

// takeQuota spends one of the installer's claims for this clock hour.
func (s *Service) takeQuota(ctx context.Context, a actor) error {
	limit := s.ClaimsPerHour
	if a.tenant.ClaimsPerHour > 0 {
		limit = a.tenant.ClaimsPerHour
	}
	now := s.Now().UTC()
	windowEnd := now.Truncate(time.Hour).Add(time.Hour)
	err := s.Store.TakeQuota(ctx, "claims#"+string(a.ID), windowEnd, limit)
	switch {
	case errors.Is(err, ErrQuotaExhausted):
		return &Error{Kind: KindQuota, Code: CodeQuotaExceeded,
			Message:    fmt.Sprintf("You may request %d claims per hour.", limit),
			RetryAfter: windowEnd.Sub(now)}
	case err != nil:
		return Unavailable(fmt.Errorf("take quota: %w", err))
	}
	return nil
}

// GetClaim returns a claim its installer, or an admin of its tenant, may see.
func (s *Service) GetClaim(ctx context.Context, p Principal, id ClaimID) (Claim, error) {
	_, c, err := s.visibleClaim(ctx, p, id)
	return c, err
}

// ListClaims lists the caller's own claims, newest first.
func (s *Service) ListClaims(ctx context.Context, p Principal, pg Page) ([]Claim, string, error) {
	pg, err := pg.normalize()
	if err != nil {
		return nil, "", err
	}
	a, err := resolveActor(ctx, s.Store, p)
	if err != nil {
		return nil, "", err
	}
	cs, next, err := s.Store.ListClaims(ctx, a.ID, pg)
	if err != nil {
		return nil, "", listError(err)
	}
	now := s.Now()
	for i := range cs {
		cs[i].Status = cs[i].StatusAt(now)
	}
	return cs, next, nil
}

// RevokeClaim makes an issued, unused claim unusable.
func (s *Service) RevokeClaim(ctx context.Context, p Principal, id ClaimID) (Claim, error) {
	a, c, err := s.visibleClaim(ctx, p, id)
	if err != nil {
		return Claim{}, err
	}
	reason := ReasonRevokedByInstaller
	if c.InstallerID != a.ID {
		reason = ReasonRevokedByAdmin
	}
	now := s.Now().UTC()
	c, err = s.Store.UpdateClaim(ctx, ClaimUpdate{ID: id, IfStatus: ClaimIssued, IfUnexpiredAt: now,
		Status: ClaimRevoked, Reason: reason, At: now})
	switch {
	case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
		return Claim{}, Conflict(CodeClaimNotUsable, "Only an issued, unexpired claim can be revoked.")
	case err != nil:
		return Claim{}, Unavailable(fmt.Errorf("revoke claim %s: %w", id, err))
	}
	s.audit(ctx, AuditEvent{TenantID: c.TenantID, At: now, Actor: a.ID, Action: ActionClaimRevoked,
		Subject: string(id), Reason: reason})
	return c, nil
}

// visibleClaim loads a claim the caller may see; any other is "not found".
func (s *Service) visibleClaim(ctx context.Context, p Principal, id ClaimID) (actor, Claim, error) {
	if err := ValidateClaimID(id); err != nil {
		return actor{}, Claim{}, err
	}
	a, err := resolveActor(ctx, s.Store, p)
	if err != nil {
		return actor{}, Claim{}, err
	}
	c, err := s.Store.GetClaim(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return actor{}, Claim{}, NotFound("Claim")
	case err != nil:
		return actor{}, Claim{}, Unavailable(fmt.Errorf("get claim %s: %w", id, err))
	case !a.canSee(c.TenantID) || (c.InstallerID != a.ID && !a.admin):
		return actor{}, Claim{}, NotFound("Claim")
	}
	c.Status = c.StatusAt(s.Now())
	return a, c, nil
}

// GetDevice returns one of the caller's tenant's devices.
func (s *Service) GetDevice(ctx context.Context, p Principal, serial string) (Device, error) {
	if err := ValidateSerial(serial); err != nil {
		return Device{}, err
	}
	a, err := resolveActor(ctx, s.Store, p)
	if err != nil {
		return Device{}, err
	}
	d, err := s.Store.GetDevice(ctx, a.TenantID, serial)
	switch {
	case errors.Is(err, ErrNotFound):
		return Device{}, NotFound("Device")
	case err != nil:
		return Device{}, Unavailable(fmt.Errorf("get device %s: %w", serial, err))
	}
	return d, nil
}

// ListDevices lists the caller's tenant's devices (any tenant's for a
// platform admin naming one).
func (s *Service) ListDevices(ctx context.Context, p Principal, tenant TenantID, pg Page) ([]Device, string, error) {
	return listInTenant(ctx, p, s.member, tenant, pg, s.Store.ListDevices)
}

// member resolves a caller who is an approved installer of an active tenant,
// as their live records say now (resolveActor, principal.go).
func (s *Service) member(ctx context.Context, p Principal) (actor, error) {
	return resolveActor(ctx, s.Store, p)
}

func (s *Service) audit(ctx context.Context, e AuditEvent) {
	e.ID = newEventID(e.At)
	// The audit trail is a record of what happened, not a gate on it: the
	// action is already committed, so a failed append is logged, not returned.
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		s.Log.ErrorContext(ctx, "audit event not recorded", "action", e.Action, "subject", e.Subject, "error", err)
	}
}
