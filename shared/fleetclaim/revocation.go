package fleetclaim

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Revocation in AWS IoT (invariant 10). What fleetclaim revokes, the store
// records first, because that is what the hook reads: the refusal is in
// force from that write. Then the claim certificate is deactivated in AWS
// IoT, which refuses its new connections and drops open ones, so a revoked
// claim can no longer even call CreateKeysAndCertificate. Should that fail,
// the store change stands (the hook's refusal is the backstop), the failure
// is logged with the claim ID, and the caller is told to repeat the request,
// which is idempotent and completes it. Nothing is dropped silently.

// inForce reports an action that is recorded, and so in force, but whose
// deactivation in AWS IoT failed: 503, saying that repeating the request
// completes it. done says what is in force, pending what is not done yet.
func inForce(done, pending string, cause error) *Error {
	return &Error{Kind: KindUnavailable, Code: CodeUnavailable, RetryAfter: time.Second, Err: cause,
		Message: done + " and that is in force, but AWS IoT has not yet deactivated " + pending + "; repeat the request to complete it."}
}

// deactivateClaim deactivates a claim's certificate in AWS IoT and audits it.
func (s *Service) deactivateClaim(ctx context.Context, by InstallerID, c Claim) error {
	if err := s.Revoker.DeactivateCertificate(ctx, string(c.ID)); err != nil {
		s.Log.ErrorContext(ctx, "claim certificate not deactivated in AWS IoT; the hook refuses it",
			"claimId", c.ID, "tenantId", c.TenantID, "error", err)
		return fmt.Errorf("deactivate claim certificate %s: %w", c.ID, err)
	}
	s.audit(ctx, AuditEvent{TenantID: c.TenantID, At: s.Now().UTC(), Actor: by, Action: ActionCertificateDeactivated,
		Subject: string(c.ID), Serial: c.Serial, Reason: c.Reason, Detail: "claim certificate, serial " + c.Serial})
	return nil
}

// supersede revokes the caller's own open claim for a serial, for which a new
// claim is being recorded. A failed deactivation does not fail the issuance:
// the new claim's key exists only in this answer, and the old claim is
// refused by the hook whatever AWS IoT says; the failure is logged.
func (s *Service) supersede(ctx context.Context, a actor, old Claim, by ClaimID, now time.Time) {
	c, err := s.Store.UpdateClaim(ctx, ClaimUpdate{ID: old.ID, IfStatus: ClaimIssued, IfUnexpiredAt: now,
		Status: ClaimRevoked, Reason: ReasonClaimSuperseded, At: now})
	switch {
	case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
		// Used, revoked or expired meanwhile; recording the new claim then
		// decides (it refuses if the old one became a live device).
		return
	case err != nil:
		s.Log.ErrorContext(ctx, "superseded claim not revoked", "claimId", old.ID, "error", err)
		return
	}
	s.audit(ctx, AuditEvent{TenantID: c.TenantID, At: now, Actor: a.ID, Action: ActionClaimRevoked,
		Subject: string(c.ID), Serial: c.Serial, Reason: ReasonClaimSuperseded, Detail: "superseded by claim " + string(by)})
	_ = s.deactivateClaim(ctx, a.ID, c)
}

// deactivateUnrecorded deactivates a certificate minted for a claim the
// store did not record. The hook denies it anyway (unknown claim); this keeps
// it from connecting at all.
func (s *Service) deactivateUnrecorded(ctx context.Context, id ClaimID) {
	if err := s.Revoker.DeactivateCertificate(ctx, string(id)); err != nil {
		s.Log.ErrorContext(ctx, "unrecorded claim certificate not deactivated in AWS IoT; the hook refuses it",
			"claimId", id, "error", err)
	}
}

// revokeInstallerClaims revokes every open claim of a suspended installer
// (reason installer_suspended) and deactivates their certificates. Claims
// already revoked for the suspension and not yet expired are deactivated
// again, so that repeating the suspension completes an earlier attempt. It
// returns how many deactivations failed, and the first error.
func (s *Service) revokeInstallerClaims(ctx context.Context, by InstallerID, in InstallerID) (int, error) {
	var (
		failed int
		first  error
	)
	pg := Page{Limit: MaxPageSize}
	for {
		cs, next, err := s.Store.ListClaims(ctx, in, pg)
		if err != nil {
			return failed, fmt.Errorf("list claims of %s: %w", in, err)
		}
		for _, c := range cs {
			now := s.Now().UTC()
			switch {
			case c.StatusAt(now) == ClaimIssued:
				revoked, err := s.Store.UpdateClaim(ctx, ClaimUpdate{ID: c.ID, IfStatus: ClaimIssued, IfUnexpiredAt: now,
					Status: ClaimRevoked, Reason: ReasonInstallerSuspended, At: now})
				if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
					continue // used or expired meanwhile
				}
				if err != nil {
					return failed, fmt.Errorf("revoke claim %s: %w", c.ID, err)
				}
				c = revoked
				s.audit(ctx, AuditEvent{TenantID: c.TenantID, At: now, Actor: by, Action: ActionClaimRevoked,
					Subject: string(c.ID), Serial: c.Serial, Reason: ReasonInstallerSuspended})
			case c.Status == ClaimRevoked && c.Reason == ReasonInstallerSuspended && now.Before(c.ExpiresAt):
			default:
				continue
			}
			if err := s.deactivateClaim(ctx, by, c); err != nil {
				failed++
				if first == nil {
					first = err
				}
			}
		}
		if next == "" {
			return failed, first
		}
		pg.Cursor = next
	}
}

// revokeIfSuspendedMeanwhile closes the race between an issuance and the
// suspension of its installer or of their tenant. A suspension writes the
// status and then lists the claims to revoke; the issuance records its claim
// and then, here, reads the installer and the tenant again. So a claim
// recorded after a suspension listed the claims is seen here as an installer
// no longer approved, or a tenant no longer active: the claim is revoked
// (installer_suspended or tenant_suspended), its certificate deactivated in
// AWS IoT, and the issuance refused, so the key is never handed out. Should
// a record be unreadable now, the claim stands: the hook re-reads both
// before it allows anything.
func (s *Service) revokeIfSuspendedMeanwhile(ctx context.Context, a actor, c Claim) error {
	reason, refusal, err := s.standingNow(ctx, a, c)
	switch {
	case err != nil:
		s.Log.WarnContext(ctx, "installer or tenant not read again after issuance; the hook re-checks", "claimId", c.ID, "error", err)
		return nil
	case refusal == nil:
		return nil
	}
	now := s.Now().UTC()
	revoked, err := s.Store.UpdateClaim(ctx, ClaimUpdate{ID: c.ID, IfStatus: ClaimIssued, Status: ClaimRevoked,
		Reason: reason, At: now})
	switch {
	case err == nil:
		c = revoked
		s.audit(ctx, AuditEvent{TenantID: c.TenantID, At: now, Actor: c.InstallerID, Action: ActionClaimRevoked,
			Subject: string(c.ID), Serial: c.Serial, Reason: reason, Detail: "suspended while the claim was issued"})
	case errors.Is(err, ErrConflict):
		// Revoked by the suspension itself, or otherwise no longer usable.
	default:
		s.Log.ErrorContext(ctx, "claim of an installer or tenant suspended meanwhile not revoked; the hook refuses it",
			"claimId", c.ID, "error", err)
	}
	// A failed deactivation is logged by deactivateClaim; repeating the
	// suspension completes it.
	_ = s.deactivateClaim(ctx, a.ID, c)
	return refusal
}

// standingNow reads the claim's installer and tenant again. It returns the
// revocation reason and the refusal for an installer no longer approved (or
// gone) or a tenant no longer active (or gone), and nil for both when the
// claim may stand.
func (s *Service) standingNow(ctx context.Context, a actor, c Claim) (Reason, *Error, error) {
	in, err := s.Store.GetInstaller(ctx, a.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return ReasonInstallerSuspended, Forbidden(CodeInstallerNotApproved, "You are not a registered installer."), nil
	case err != nil:
		return "", nil, err
	case in.Status != InstallerApproved || in.TenantID != c.TenantID:
		return ReasonInstallerSuspended, Forbidden(CodeInstallerNotApproved, "Your installer account is "+string(in.Status)+"."), nil
	}
	t, err := s.Store.GetTenant(ctx, c.TenantID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return "", nil, err
	case t.Status == TenantActive:
		return "", nil, nil
	}
	return ReasonTenantSuspended, Forbidden(CodeTenantInactive, "Your tenant is not active."), nil
}
