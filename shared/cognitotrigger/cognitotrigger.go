// Package cognitotrigger adapts the Amazon Cognito user pool triggers (post
// confirmation and pre token generation V2_0) to the fleetclaim enrollment
// rules. Cognito retries triggers and gives each 5 seconds, so both handlers
// are idempotent and make at most a few store calls.
package cognitotrigger

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Trigger sources this package acts on.
const (
	SourceConfirmSignUp         = "PostConfirmation_ConfirmSignUp"
	SourceConfirmForgotPassword = "PostConfirmation_ConfirmForgotPassword"
)

// AttrTenantID is the custom attribute installers sign up with.
const AttrTenantID = "custom:tenant_id"

// Token claims the pre-token trigger adds.
const (
	ClaimTenantID        = "tenant_id"
	ClaimInstallerStatus = "installer_status"
	// ClaimTenantStatus is the tenant's status at sign-in (active,
	// suspended, or unknown), so that the app can say why a token of an
	// approved installer opens nothing.
	ClaimTenantStatus = "tenant_status"
)

// DefaultDeadline bounds the work of one trigger invocation: Cognito waits
// 5 s, and the deployed functions time out at 4 s (infra/stack.go), so a
// stalled store or Cognito call is cut off with a second to spare for the
// answer: a logged error from post confirmation, a token that opens nothing
// from pre token generation, rather than a Lambda timeout.
const DefaultDeadline = 3 * time.Second

// Enrollment is the domain service behind the triggers.
type Enrollment interface {
	Register(ctx context.Context, r fleetclaim.Registration) (fleetclaim.Installer, error)
	SignIn(ctx context.Context, r fleetclaim.Registration, groups []string) fleetclaim.TokenGrant
}

// registration is the user an event is about, as Register and SignIn take it.
func registration(userName string, attrs map[string]string) fleetclaim.Registration {
	return fleetclaim.Registration{
		Subject:       fleetclaim.InstallerID(attrs["sub"]),
		Username:      userName,
		Email:         attrs["email"],
		EmailVerified: attrs["email_verified"] == "true",
		TenantID:      fleetclaim.TenantID(attrs[AttrTenantID]),
	}
}

// PostConfirmation handles the post-confirmation trigger.
type PostConfirmation struct {
	Enrollment Enrollment
	// Deadline bounds each invocation's calls; zero means DefaultDeadline.
	Deadline time.Duration
	Log      *slog.Logger
}

// Handle records a newly confirmed user as an installer. A confirmed password
// reset is not a new user and must not touch the record (invariant 8).
// Input that cannot name a tenant is logged and left alone: returning an error
// would only fail the user's confirmation, and without a record they hold no
// privileges.
func (h *PostConfirmation) Handle(ctx context.Context, ev events.CognitoEventUserPoolsPostConfirmation) (events.CognitoEventUserPoolsPostConfirmation, error) {
	if ev.TriggerSource != SourceConfirmSignUp {
		return ev, nil
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(h.Deadline, DefaultDeadline))
	defer cancel()
	_, err := h.Enrollment.Register(ctx, registration(ev.UserName, ev.Request.UserAttributes))
	var de *fleetclaim.Error
	switch {
	case errors.As(err, &de) && de.Kind == fleetclaim.KindInvalid:
		h.Log.WarnContext(ctx, "confirmed user not enrolled", "userName", ev.UserName, "field", de.Field, "problem", de.Message)
		return ev, nil
	case err != nil:
		// Cognito retries; Register is idempotent, so the retry is safe.
		h.Log.ErrorContext(ctx, "enrollment failed", "userName", ev.UserName, "error", err)
		return ev, errors.New("enrollment failed; try again")
	}
	return ev, nil
}

// PreTokenGeneration handles the pre-token-generation trigger, V2_0 event.
type PreTokenGeneration struct {
	Enrollment Enrollment
	// Deadline bounds each invocation's calls; zero means DefaultDeadline.
	Deadline time.Duration
	Log      *slog.Logger
}

// Handle writes tenant_id, installer_status and tenant_status into the ID and
// access tokens, grants the API scopes only to approved installers of an
// active tenant, and leaves privileged groups out of every other user's
// tokens. A confirmed user whose record the
// post-confirmation trigger failed to write gets it now (Enrollment.SignIn).
// It never fails sign-in: a user the rules cannot vouch for gets a token that
// opens nothing.
func (h *PreTokenGeneration) Handle(ctx context.Context, ev events.CognitoEventUserPoolsPreTokenGenV2_0) (events.CognitoEventUserPoolsPreTokenGenV2_0, error) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(h.Deadline, DefaultDeadline))
	defer cancel()
	r := registration(ev.UserName, ev.Request.UserAttributes)
	sub := r.Subject
	g := h.Enrollment.SignIn(ctx, r, ev.Request.GroupConfiguration.GroupsToOverride)
	claims := map[string]any{
		ClaimTenantID:        string(g.TenantID),
		ClaimInstallerStatus: string(g.Status),
		ClaimTenantStatus:    string(g.TenantStatus),
	}
	ev.Response.ClaimsAndScopeOverrideDetails = events.ClaimsAndScopeOverrideDetailsV2_0{
		IDTokenGeneration: events.IDTokenGenerationV2_0{ClaimsToAddOrOverride: claims},
		AccessTokenGeneration: events.AccessTokenGenerationV2_0{
			ClaimsToAddOrOverride: claims,
			ScopesToAdd:           g.Scopes,
			ScopesToSuppress:      g.SuppressScopes,
		},
		// Cognito replaces the user's groups with this object, and an empty
		// list means no groups; roles are carried over as they were.
		GroupOverrideDetails: events.GroupConfigurationV2_0{
			GroupsToOverride:   nonNil(g.Groups),
			IAMRolesToOverride: ev.Request.GroupConfiguration.IAMRolesToOverride,
			PreferredRole:      ev.Request.GroupConfiguration.PreferredRole,
		},
	}
	h.Log.InfoContext(ctx, "token claims set", "installerId", sub, "tenantId", g.TenantID,
		"status", g.Status, "tenantStatus", g.TenantStatus, "scopes", g.Scopes, "source", ev.TriggerSource)
	return ev, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
