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
	// Revoker deactivates, in AWS IoT, the certificates of what the service
	// revokes or decommissions (invariant 10).
	Revoker CertificateRevoker
	// Endpoint returns the AWS IoT data endpoint devices connect to.
	Endpoint func(ctx context.Context) (string, error)
	// Templates lists the provisioning templates installers may request; the
	// first is the default.
	Templates []string
	// ClaimsPerHour is the per-installer quota unless the tenant overrides it.
	ClaimsPerHour int
	// Retention is how long a claim record outlives its expiry.
	Retention time.Duration
	// OnlineWithin is how soon a registered device must connect with its own
	// certificate before it shows as overdue.
	OnlineWithin time.Duration
	Now          func() time.Time
	Log          *slog.Logger
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
//
// A serial has at most one open claim (issued and unexpired): a serial with a
// live device is refused (device_already_provisioned), one whose open claim
// is another installer's too (claim_open, until it expires). The installer
// who holds the open claim gets a new one that supersedes it: the old claim
// is revoked and its certificate deactivated. One open claim per serial means
// a claim says "this installer is installing this unit now", two open
// credentials for one unit are a takeover or a mistake, and the consuming
// write stays a single conditional write on one item (invariant 9).
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
	st, err := s.Store.GetSerial(ctx, a.TenantID, r.Serial)
	if err != nil {
		return IssuedClaim{}, Unavailable(fmt.Errorf("get serial %s: %w", r.Serial, err))
	}
	superseded, err := s.serialRefusal(st, a, s.Now().UTC())
	if err != nil {
		return IssuedClaim{}, err
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
	var replaces ClaimID
	if st.Claim != nil {
		replaces = st.Claim.ID
	}
	if superseded != nil {
		// Revoked only now, once the new certificate exists: a refusal or
		// failure before this point leaves the old claim usable.
		s.supersede(ctx, a, *superseded, c.ID, now)
	}
	if err := s.Store.CreateClaim(ctx, c, replaces); err != nil {
		// The certificate exists in AWS IoT but not here; the hook denies it,
		// and it is deactivated as well, best effort.
		s.Log.ErrorContext(ctx, "claim minted but not recorded; it cannot be used",
			"claimId", c.ID, "serial", c.Serial, "error", err)
		s.deactivateUnrecorded(ctx, c.ID)
		if errors.Is(err, ErrConflict) {
			return IssuedClaim{}, s.raceRefusal(ctx, a, r.Serial)
		}
		return IssuedClaim{}, Unavailable(fmt.Errorf("record claim %s: %w", c.ID, err))
	}
	s.audit(ctx, AuditEvent{TenantID: c.TenantID, At: now, Actor: a.ID, Action: ActionClaimIssued,
		Subject: string(c.ID), Serial: c.Serial, Detail: "serial " + c.Serial + ", template " + template})
	s.Log.InfoContext(ctx, "claim issued", "claimId", c.ID, "tenantId", c.TenantID,
		"installerId", c.InstallerID, "serial", c.Serial, "template", template, "expiresAt", c.ExpiresAt)
	if err := s.revokeIfSuspendedMeanwhile(ctx, a, c); err != nil {
		return IssuedClaim{}, err
	}
	return IssuedClaim{Claim: c, CertificatePEM: minted.CertificatePEM, PrivateKey: minted.PrivateKey, IoTEndpoint: endpoint}, nil
}

// serialRefusal applies the one-open-claim rule to a serial's state. It
// returns the caller's own open claim, which a new claim supersedes.
func (s *Service) serialRefusal(st SerialState, a actor, now time.Time) (*Claim, error) {
	if st.Device != nil {
		return nil, Conflict(CodeDeviceAlreadyProvisioned, "A device with this serial number is already provisioned.")
	}
	if st.Claim == nil || st.Claim.StatusAt(now) != ClaimIssued {
		return nil, nil
	}
	if st.Claim.InstallerID != a.ID {
		return nil, &Error{Kind: KindConflict, Code: CodeClaimOpen,
			Message:    "Another installer holds an open claim for this serial number until it expires.",
			RetryAfter: st.Claim.ExpiresAt.Sub(now)}
	}
	return st.Claim, nil
}

// raceRefusal explains a claim record that lost to a concurrent change of
// its serial: another claim, or a device, got there first.
func (s *Service) raceRefusal(ctx context.Context, a actor, serial string) error {
	st, err := s.Store.GetSerial(ctx, a.TenantID, serial)
	if err != nil {
		return Unavailable(fmt.Errorf("get serial %s: %w", serial, err))
	}
	if _, err := s.serialRefusal(st, a, s.Now().UTC()); err != nil {
		return err
	}
	return Conflict(CodeClaimOpen, "The serial number's claim changed meanwhile; try again.")
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
		if cs[i].Device != nil {
			d := s.overdue(*cs[i].Device, now)
			cs[i].Device = &d
		}
	}
	return cs, next, nil
}

// RevokeClaim makes an issued, unused claim unusable, here and in AWS IoT
// (invariant 10): the record first, which the hook reads, then the claim
// certificate is deactivated. Revoking a revoked claim succeeds and retries
// the deactivation, so a request that answered 503 for it is repeated.
func (s *Service) RevokeClaim(ctx context.Context, p Principal, id ClaimID) (Claim, error) {
	a, c, err := s.visibleClaim(ctx, p, id)
	if err != nil {
		return Claim{}, err
	}
	// A claim already revoked, or rejected by the hook (which deactivates
	// it on its way to the denial, best effort), is answered as it is, and
	// its certificate deactivated again: repeating the request completes a
	// deactivation that failed.
	if c.Status != ClaimRevoked && c.Status != ClaimRejected {
		reason := ReasonRevokedByInstaller
		if c.InstallerID != a.ID {
			reason = ReasonRevokedByAdmin
		}
		now := s.Now().UTC()
		revoked, err := s.Store.UpdateClaim(ctx, ClaimUpdate{ID: id, IfStatus: ClaimIssued, IfUnexpiredAt: now,
			Status: ClaimRevoked, Reason: reason, At: now})
		switch {
		case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
			// A concurrent revocation is this one done twice; anything
			// else (consumed, expired, rejected) cannot be revoked.
			if c, err = s.Store.GetClaim(ctx, id); err != nil || (c.Status != ClaimRevoked && c.Status != ClaimRejected) {
				return Claim{}, Conflict(CodeClaimNotUsable, "Only an issued, unexpired claim can be revoked.")
			}
		case err != nil:
			return Claim{}, Unavailable(fmt.Errorf("revoke claim %s: %w", id, err))
		default:
			c = revoked
			s.audit(ctx, AuditEvent{TenantID: c.TenantID, At: now, Actor: a.ID, Action: ActionClaimRevoked,
				Subject: string(id), Serial: c.Serial, Reason: reason})
		}
	}
	if err := s.deactivateClaim(ctx, a.ID, c); err != nil {
		return Claim{}, inForce("The claim is revoked", "its certificate", err)
	}
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
	now := s.Now()
	c.Status = c.StatusAt(now)
	if c.Device != nil {
		d := s.overdue(*c.Device, now)
		c.Device = &d
	}
	return a, c, nil
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
