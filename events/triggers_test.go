package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// postConfirmationCase is what one post-confirmation event must leave
// behind after Cognito delivered it twice.
type postConfirmationCase struct {
	sub    string
	status fleetclaim.InstallerStatus // "" for no record
	// registered is how many installer.registered events name sub.
	registered int
}

var postConfirmationCases = map[string]postConfirmationCase{
	"confirm-signup-pending":       {sub: newUser, status: fleetclaim.InstallerPending, registered: 1},
	"confirm-signup-auto-approved": {sub: newUser, status: fleetclaim.InstallerApproved, registered: 1},
	// Cognito's retry after the record was written: nothing changes.
	"confirm-signup-retry": {sub: pending, status: fleetclaim.InstallerPending},
	// A password reset leaves the record alone (invariant 8): still suspended.
	"confirm-forgot-password": {sub: suspended, status: fleetclaim.InstallerSuspended},
	// Without a tenant there is nothing to enroll in; sign-up still succeeds.
	"missing-tenant": {sub: newUser},
}

func TestPostConfirmationEvents(t *testing.T) {
	for _, path := range fixtures("postconfirm", postConfirmationCases) {
		name := nameOf(path)
		t.Run(name, func(t *testing.T) {
			want := postConfirmationCases[name]
			w := newWorld(t)
			h := app.PostConfirmation(w.parts)
			if got, want := eventType(h.Handle), reflect.TypeFor[events.CognitoEventUserPoolsPostConfirmation](); got != want {
				t.Fatalf("the post-confirmation handler takes %s, want %s", got, want)
			}
			ev := load(t, path, h.Handle).(events.CognitoEventUserPoolsPostConfirmation)
			before, _ := w.store.GetInstaller(t.Context(), fleetclaim.InstallerID(want.sub))

			for range 2 { // Cognito retries a trigger; the second delivery must change nothing
				out, err := h.Handle(t.Context(), ev)
				if err != nil {
					t.Fatalf("got error %v, which would fail the user's confirmation", err)
				}
				if !reflect.DeepEqual(out, ev) {
					t.Errorf("got event %+v back, want the event as received", out)
				}
			}

			in, err := w.store.GetInstaller(t.Context(), fleetclaim.InstallerID(want.sub))
			switch {
			case want.status == "" && !errors.Is(err, fleetclaim.ErrNotFound):
				t.Errorf("got record %+v (%v), want none", in, err)
			case want.status != "" && (err != nil || in.Status != want.status):
				t.Errorf("got status %q (%v), want %q", in.Status, err, want.status)
			case before.ID != "" && in != before:
				t.Errorf("got the record changed to %+v, want it untouched", in)
			case before.ID == "" && want.status != "" && (in.TenantID != "acme" || in.Email != ev.Request.UserAttributes["email"] || in.Username != ev.UserName):
				t.Errorf("got record %+v, want it for %s of acme", in, ev.Request.UserAttributes["email"])
			}
			// Enrollment writes no Cognito group.
			if got := w.groups.Calls(); len(got) != 0 {
				t.Errorf("got Cognito calls %q, want none", got)
			}
			registered := 0
			for _, e := range w.audit(t, "acme") {
				if e.Action == fleetclaim.ActionInstallerRegistered && e.Subject == want.sub {
					registered++
				}
			}
			if registered != want.registered {
				t.Errorf("got %d registrations audited, want %d", registered, want.registered)
			}
		})
	}
}

// preTokenCase is what one pre-token-generation event's answer must say.
type preTokenCase struct {
	status, tenant string
	tenantStatus   string
	setup          func(t *testing.T, w *world) // changes the seeded world first
	scopes         []string                     // added to the access token
	suppressed     []string                     // removed from it
	groups         []string                     // cognito:groups in both tokens
}

var (
	claimsOnly = []string{fleetclaim.ScopeClaims}
	adminOnly  = []string{fleetclaim.ScopeAdmin}
	bothScopes = []string{fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin}
)

var preTokenCases = map[string]preTokenCase{
	"authentication-approved":  {status: "approved", tenant: "acme", tenantStatus: "active", scopes: claimsOnly, suppressed: adminOnly, groups: []string{"installers"}},
	"authentication-admin":     {status: "approved", tenant: "acme", tenantStatus: "active", scopes: bothScopes, groups: []string{"installers", "admins"}},
	"authentication-suspended": {status: "suspended", tenant: "acme", tenantStatus: "active", suppressed: bothScopes, groups: []string{}},
	"refresh-tokens":           {status: "approved", tenant: "acme", tenantStatus: "active", scopes: claimsOnly, suppressed: adminOnly, groups: []string{"installers"}},
	// A refresh after the suspension: the new access token opens nothing.
	"refresh-tokens-suspended": {status: "suspended", tenant: "acme", tenantStatus: "active", suppressed: bothScopes, groups: []string{}},
	// An approved installer, in the admins group, of a tenant suspended
	// since: no scope and no privileged group, and the token says it is the
	// tenant.
	"authentication-tenant-suspended": {status: "approved", tenant: "globex", tenantStatus: "suspended",
		suppressed: bothScopes, groups: []string{}, setup: suspendGlobex},
	// No record, and none can be made (no tenant attribute), however
	// privileged the groups Cognito holds: no privileges, and sign-in is not
	// blocked.
	"unknown-user": {status: "unknown", tenant: "", tenantStatus: "unknown", suppressed: bothScopes, groups: []string{}},
	// A confirmed user whose post confirmation failed: the record is made
	// now, as post confirmation would have (approved: a verified address on
	// the tenant's auto-approved domain), and the token says so.
	"missing-record-repaired": {status: "approved", tenant: "acme", tenantStatus: "active", scopes: claimsOnly, suppressed: adminOnly, groups: []string{}},
}

// suspendGlobex suspends the seeded globex tenant (a seed write: the API
// has not changed it).
func suspendGlobex(t *testing.T, w *world) {
	t.Helper()
	if err := w.store.PutTenant(t.Context(), fleetclaim.Tenant{ID: "globex", Name: "Globex", Status: fleetclaim.TenantSuspended}); err != nil {
		t.Fatal(err)
	}
}

func TestPreTokenGenerationEvents(t *testing.T) {
	for _, path := range fixtures("pretoken", preTokenCases) {
		name := nameOf(path)
		t.Run(name, func(t *testing.T) {
			want := preTokenCases[name]
			w := newWorld(t)
			if want.setup != nil {
				want.setup(t, w)
			}
			h := app.PreTokenGeneration(w.parts)
			if got, want := eventType(h.Handle), reflect.TypeFor[events.CognitoEventUserPoolsPreTokenGenV2_0](); got != want {
				t.Fatalf("the pre-token handler takes %s, want %s", got, want)
			}
			ev := load(t, path, h.Handle).(events.CognitoEventUserPoolsPreTokenGenV2_0)
			out, err := h.Handle(t.Context(), ev)
			if err != nil {
				t.Fatalf("got error %v, which would block sign-in", err)
			}
			d := out.Response.ClaimsAndScopeOverrideDetails
			for token, claims := range map[string]map[string]any{"ID": d.IDTokenGeneration.ClaimsToAddOrOverride,
				"access": d.AccessTokenGeneration.ClaimsToAddOrOverride} {
				if claims["tenant_id"] != want.tenant || claims["installer_status"] != want.status || claims["tenant_status"] != want.tenantStatus {
					t.Errorf("got %s token claims %v, want tenant_id %q, installer_status %q and tenant_status %q",
						token, claims, want.tenant, want.status, want.tenantStatus)
				}
			}
			if got := d.AccessTokenGeneration.ScopesToAdd; !slices.Equal(got, want.scopes) {
				t.Errorf("got scopes added %q, want %q", got, want.scopes)
			}
			if got := d.AccessTokenGeneration.ScopesToSuppress; !slices.Equal(got, want.suppressed) {
				t.Errorf("got scopes suppressed %q, want %q", got, want.suppressed)
			}
			if got := d.GroupOverrideDetails.GroupsToOverride; !slices.Equal(got, want.groups) || got == nil {
				t.Errorf("got groups %q, want %q (an empty list, not null, removes them all)", got, want.groups)
			}
			if got := d.GroupOverrideDetails.PreferredRole; got != ev.Request.GroupConfiguration.PreferredRole {
				t.Errorf("got preferred role %v, want it carried over", got)
			}
			// Cognito reads the answer as JSON: it must be the same event
			// with the response filled in.
			b, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			var back events.CognitoEventUserPoolsPreTokenGenV2_0
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Request, ev.Request) || back.UserName != ev.UserName {
				t.Errorf("got answer %s (%v), want the event back with its response", b, err)
			}
			// What the Lambda runtime sends back (Invoke) has no JSON null in
			// its response, which Cognito may reject.
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := app.PreTokenGeneration(newWorld(t).parts).Invoke(t.Context(), raw)
			if err != nil {
				t.Fatal(err)
			}
			var sent struct{ Response json.RawMessage }
			if err := json.Unmarshal(answer, &sent); err != nil || bytes.Contains(sent.Response, []byte("null")) {
				t.Errorf("got response %s (%v), want no null member", sent.Response, err)
			}
		})
	}
}

// hookCase is what one pre-provisioning hook event must decide, and what
// the claim records afterwards (invariants 2 and 4).
type hookCase struct {
	// seed sets the scene beyond the world's records.
	seed   func(t *testing.T, w *world)
	allow  bool
	claim  fleetclaim.ClaimID
	status fleetclaim.ClaimStatus // of the claim afterwards
	reason fleetclaim.Reason      // recorded on the claim
	// deactivated: the denial burns the claim, whose certificate is
	// deactivated in AWS IoT (invariant 10).
	deactivated bool
}

var hookCases = map[string]hookCase{
	"allow":               {allow: true, claim: issuedClaim, status: fleetclaim.ClaimConsumed},
	"wrong-serial":        {claim: issuedClaim, status: fleetclaim.ClaimRejected, reason: fleetclaim.ReasonSerialMismatch, deactivated: true},
	"wrong-template":      {claim: issuedClaim, status: fleetclaim.ClaimRejected, reason: fleetclaim.ReasonTemplateMismatch, deactivated: true},
	"reused-claim":        {claim: consumedClaim, status: fleetclaim.ClaimConsumed, reason: fleetclaim.ReasonAlreadyUsed},
	"expired-claim":       {claim: expiredClaim, status: fleetclaim.ClaimExpired, reason: fleetclaim.ReasonExpired},
	"revoked-claim":       {claim: revokedClaim, status: fleetclaim.ClaimRevoked, reason: fleetclaim.ReasonRevokedByInstaller}, // who revoked it stays
	"installer-suspended": {claim: suspendedClaim, status: fleetclaim.ClaimRejected, reason: fleetclaim.ReasonInstallerNotApproved, deactivated: true},
	"unknown-claim":       {claim: unknownClaim},
	// Invariant 9: a claim that is no longer its serial's current claim,
	// presented while another claim's device is live, loses at the
	// consuming write. The installer's claim was open until 10:00:01 by
	// one function's clock; another's, a second ahead, saw it expired and
	// let the admin's claim replace it, which registered. The loser cannot
	// be written (only a serial's current claim changes), so it stays
	// issued until it expires; its certificate is deactivated.
	"serial-in-use": {seed: seedTakenSerial, claim: takenClaim, status: fleetclaim.ClaimIssued, deactivated: true},
}

// takenClaim is the installer's claim for SN-0006, whose serial the
// admin's claim took (seedTakenSerial).
var takenClaim = fleetclaim.ClaimID(strings.Repeat("a6", 32))

func seedTakenSerial(t *testing.T, w *world) {
	t.Helper()
	ctx := t.Context()
	issued := now.Add(-5*time.Minute + time.Second)
	taken := fleetclaim.Claim{ID: takenClaim, TenantID: "acme", InstallerID: installer, Template: template, Serial: "SN-0006",
		Status: fleetclaim.ClaimIssued, IssuedAt: issued, ExpiresAt: issued.Add(5 * time.Minute), UpdatedAt: issued,
		RetainUntil: issued.Add(config.DefaultClaimRetention)}
	winner := taken
	winner.ID, winner.InstallerID = fleetclaim.ClaimID(strings.Repeat("b6", 32)), admin
	winner.IssuedAt, winner.UpdatedAt = taken.ExpiresAt, taken.ExpiresAt
	winner.ExpiresAt = winner.IssuedAt.Add(5 * time.Minute)
	if err := w.store.CreateClaim(ctx, taken, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.store.CreateClaim(ctx, winner, taken.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: winner.ID, IfStatus: fleetclaim.ClaimIssued,
		Status: fleetclaim.ClaimConsumed, At: now.Add(-time.Second), Device: &fleetclaim.Device{TenantID: "acme", Serial: "SN-0006",
			ThingName: "acme_SN-0006", CertificateID: strings.Repeat("e6", 32), InstallerID: admin, ClaimID: winner.ID,
			Template: template, ProvisionedAt: now.Add(-time.Second)}}); err != nil {
		t.Fatal(err)
	}
}

func TestProvisioningHookEvents(t *testing.T) {
	for _, path := range fixtures("provisionhook", hookCases) {
		name := nameOf(path)
		t.Run(name, func(t *testing.T) {
			want := hookCases[name]
			w := newWorld(t)
			if want.seed != nil {
				want.seed(t, w)
			}
			h := app.ProvisioningHook(config.Hook{HookDeadline: config.DefaultHookDeadline}, w.parts)
			if got, want := eventType(h.Handle), reflect.TypeFor[events.IoTPreProvisionHookRequest](); got != want {
				t.Fatalf("the hook takes %s, want %s", got, want)
			}
			ev := load(t, path, h.Handle).(events.IoTPreProvisionHookRequest)
			if ev.ClaimCertificateID != string(want.claim) {
				t.Fatalf("the fixture presents claim %s, its row %s", ev.ClaimCertificateID, want.claim)
			}
			resp, err := h.Handle(t.Context(), ev)
			if err != nil {
				t.Fatalf("got error %v, want an explicit answer", err)
			}
			if resp.AllowProvisioning != want.allow {
				t.Fatalf("got allowProvisioning %v, want %v", resp.AllowProvisioning, want.allow)
			}

			c, err := w.store.GetClaim(t.Context(), want.claim)
			switch {
			case want.status == "":
				if !errors.Is(err, fleetclaim.ErrNotFound) {
					t.Errorf("got claim %+v (%v), want none recorded", c, err)
				}
			case err != nil || c.Status != want.status || c.Reason != want.reason:
				t.Errorf("got claim %s with reason %q (%v), want %s with %q", c.Status, c.Reason, err, want.status, want.reason)
			}

			if want.allow {
				serial := ev.Parameters["SerialNumber"]
				wantOverrides := map[string]string{"ThingName": "acme_" + serial, "SerialNumber": serial, "TenantId": "acme", "InstallerId": installer}
				if !reflect.DeepEqual(resp.ParameterOverrides, wantOverrides) {
					t.Errorf("got overrides %v, want %v", resp.ParameterOverrides, wantOverrides)
				}
				d, err := w.store.GetDevice(t.Context(), "acme", serial)
				if err != nil || d.CertificateID != ev.CertificateID || d.ClaimID != want.claim || d.InstallerID != installer || d.ThingName != "acme_"+serial {
					t.Errorf("got device %+v (%v), want it recorded with the device's certificate %s", d, err, ev.CertificateID)
				}
				wantAudit(t, w, "acme", fleetclaim.ActionDeviceProvisioned, serial)
				return
			}
			if len(resp.ParameterOverrides) != 0 {
				t.Errorf("got overrides %v on a denial, want none", resp.ParameterOverrides)
			}
			if got := w.revoker.Inactive(string(want.claim)); got != want.deactivated {
				t.Errorf("got the claim certificate deactivated %v, want %v", got, want.deactivated)
			}
			if want.status != "" {
				wantAudit(t, w, "acme", fleetclaim.ActionProvisioningDenied, string(want.claim))
			}
			if d, err := w.store.GetDevice(t.Context(), "acme", ev.Parameters["SerialNumber"]); err == nil && d.CertificateID == ev.CertificateID {
				t.Errorf("got the device's certificate recorded for %s, want none after a denial", ev.Parameters["SerialNumber"])
			} else if err != nil && !errors.Is(err, fleetclaim.ErrNotFound) {
				t.Errorf("got %v reading the device", err)
			}
		})
	}
}
