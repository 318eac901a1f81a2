package events_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

func TestPostConfirmationEvents(t *testing.T) {
	type outcome struct {
		sub        string
		wantStatus fleetclaim.InstallerStatus // "" for no record
		wantGroup  bool
	}
	rows := map[string]outcome{
		"confirm-signup-auto-approved": {sub: newUser, wantStatus: fleetclaim.InstallerApproved, wantGroup: true},
		"confirm-signup-pending":       {sub: newUser, wantStatus: fleetclaim.InstallerPending},
		"confirm-signup-retry":         {sub: pending, wantStatus: fleetclaim.InstallerPending},
		// A password reset must not touch the record (invariant 8).
		"confirm-forgot-password": {sub: suspended, wantStatus: fleetclaim.InstallerSuspended},
		"missing-tenant":          {sub: newUser},
	}
	for _, path := range files(t, "postconfirm", keys(rows)) {
		name := strings.TrimSuffix(path[len("postconfirm/"):], ".json")
		t.Run(name, func(t *testing.T) {
			want := rows[name]
			var ev events.CognitoEventUserPoolsPostConfirmation
			load(t, path, &ev)
			w := newWorld(t)
			before, _ := w.store.GetInstaller(t.Context(), fleetclaim.InstallerID(want.sub))
			h := app.PostConfirmation(w.parts)
			for range 2 { // Cognito retries; the second call must change nothing
				out, err := h.Handle(t.Context(), ev)
				if err != nil {
					t.Fatalf("handler error: %v", err)
				}
				if out.UserName != ev.UserName {
					t.Errorf("got event for %s back, want %s", out.UserName, ev.UserName)
				}
			}
			in, err := w.store.GetInstaller(t.Context(), fleetclaim.InstallerID(want.sub))
			switch {
			case want.wantStatus == "" && !errors.Is(err, fleetclaim.ErrNotFound):
				t.Errorf("got record %+v, %v; want none", in, err)
			case want.wantStatus != "" && (err != nil || in.Status != want.wantStatus):
				t.Errorf("got %q, %v; want %q", in.Status, err, want.wantStatus)
			case before.ID != "" && in != before:
				t.Errorf("got record changed to %+v, want it untouched", in)
			}
			if got := slices.Contains(w.groups.calls, "add "+ev.UserName+" installers"); got != want.wantGroup {
				t.Errorf("got added to installers %v, want %v", got, want.wantGroup)
			}
		})
	}
}

func TestPreTokenGenerationEvents(t *testing.T) {
	type outcome struct {
		status string
		scopes []string
		groups []string
	}
	rows := map[string]outcome{
		"authentication-approved":  {status: "approved", scopes: []string{fleetclaim.ScopeClaims}, groups: []string{"installers"}},
		"authentication-admin":     {status: "approved", scopes: []string{fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin}, groups: []string{"installers", "admins"}},
		"authentication-suspended": {status: "suspended", groups: []string{}},
		"refresh-tokens":           {status: "approved", scopes: []string{fleetclaim.ScopeClaims}, groups: []string{"installers"}},
		"unknown-user":             {status: "unknown", groups: []string{}},
	}
	for _, path := range files(t, "pretoken", keys(rows)) {
		name := strings.TrimSuffix(path[len("pretoken/"):], ".json")
		t.Run(name, func(t *testing.T) {
			want := rows[name]
			var ev events.CognitoEventUserPoolsPreTokenGenV2_0
			load(t, path, &ev)
			w := newWorld(t)
			out, err := app.PreTokenGeneration(w.parts).Handle(t.Context(), ev)
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			d := out.Response.ClaimsAndScopeOverrideDetails
			for _, claims := range []map[string]any{d.IDTokenGeneration.ClaimsToAddOrOverride, d.AccessTokenGeneration.ClaimsToAddOrOverride} {
				if claims["installer_status"] != want.status {
					t.Errorf("got installer_status %v, want %s", claims["installer_status"], want.status)
				}
			}
			if !slices.Equal(d.AccessTokenGeneration.ScopesToAdd, want.scopes) {
				t.Errorf("got scopes %v, want %v", d.AccessTokenGeneration.ScopesToAdd, want.scopes)
			}
			if len(want.scopes) == 0 && !slices.Contains(d.AccessTokenGeneration.ScopesToSuppress, fleetclaim.ScopeClaims) {
				t.Errorf("got suppressed %v, want the claims scope suppressed", d.AccessTokenGeneration.ScopesToSuppress)
			}
			if !slices.Equal(d.GroupOverrideDetails.GroupsToOverride, want.groups) {
				t.Errorf("got groups %v, want %v", d.GroupOverrideDetails.GroupsToOverride, want.groups)
			}
		})
	}
}

func TestProvisioningHookEvents(t *testing.T) {
	type outcome struct {
		allow      bool
		wantReason fleetclaim.Reason // recorded on the claim, when there is one
		claim      fleetclaim.ClaimID
	}
	rows := map[string]outcome{
		"allow":          {allow: true, claim: issuedClaim},
		"wrong-serial":   {wantReason: fleetclaim.ReasonSerialMismatch, claim: issuedClaim},
		"reused-claim":   {wantReason: fleetclaim.ReasonAlreadyUsed, claim: consumedClaim},
		"unknown-claim":  {},
		"expired-claim":  {wantReason: fleetclaim.ReasonExpired, claim: expiredClaim},
		"wrong-template": {wantReason: fleetclaim.ReasonTemplateMismatch, claim: issuedClaim},
	}
	for _, path := range files(t, "provisionhook", keys(rows)) {
		name := strings.TrimSuffix(path[len("provisionhook/"):], ".json")
		t.Run(name, func(t *testing.T) {
			want := rows[name]
			var ev events.IoTPreProvisionHookRequest
			load(t, path, &ev)
			w := newWorld(t)
			resp, err := app.ProvisioningHook(hookConfig, w.parts).Handle(t.Context(), ev)
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			if resp.AllowProvisioning != want.allow {
				t.Fatalf("got allowProvisioning %v, want %v", resp.AllowProvisioning, want.allow)
			}
			if want.allow {
				if got := resp.ParameterOverrides["ThingName"]; got != "acme_"+ev.Parameters["SerialNumber"] {
					t.Errorf("got ThingName %q", got)
				}
				return
			}
			if len(resp.ParameterOverrides) != 0 {
				t.Errorf("got overrides %v on a denial, want none", resp.ParameterOverrides)
			}
			if want.claim != "" {
				c, err := w.store.GetClaim(t.Context(), want.claim)
				if err != nil || c.Reason != want.wantReason {
					t.Errorf("got reason %q (%v), want %q recorded on the claim", c.Reason, err, want.wantReason)
				}
			}
		})
	}
}
