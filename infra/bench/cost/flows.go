package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/infra/bench/benchid"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/cognitotrigger"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/iothook"
	"github.com/fleetclaim/fleetclaim/shared/iotpresence"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// The records the sample events under events/ name.
const (
	tenant    = fleetclaim.TenantID("acme")
	installer = fleetclaim.InstallerID("4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f") // approved installer of acme
	admin     = fleetclaim.InstallerID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d") // approved admin of acme
	template  = "fleetclaim-prod"
)

// handlers are the five functions' handlers over one store.
type handlers struct {
	claims   *apigw.Handler
	post     *cognitotrigger.PostConfirmation
	pre      *cognitotrigger.PreTokenGeneration
	hook     *iothook.Handler
	presence *iotpresence.Handler
}

func newHandlers(store fleetclaim.Store, log io.Writer, groups fleetclaim.GroupManager) handlers {
	p := app.Parts{
		Store:     store,
		Minter:    minter{},
		Revoker:   revoker{},
		Endpoint:  func(context.Context) (string, error) { return "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com", nil },
		GroupsFor: func(string) fleetclaim.GroupManager { return groups },
		// The deployed level, so that the log volume is the deployed one.
		Log: logging.New(log, "info"),
	}
	return handlers{
		claims: app.Claims(config.Claims{DefaultTemplate: template, AllowedTemplates: []string{template},
			ClaimsPerHour: 1 << 30, ClaimRetention: config.DefaultClaimRetention, UserPoolID: "us-east-1_Ab12Cd34E"}, p),
		post:     app.PostConfirmation(p),
		pre:      app.PreTokenGeneration(p),
		hook:     app.ProvisioningHook(config.Hook{HookDeadline: config.DefaultHookDeadline}, p),
		presence: app.Presence(p),
	}
}

// flow is one invocation of one function, as a user's action causes it.
type flow struct {
	name     string
	function string
	// api says whether the call passes through API Gateway.
	api bool
	// prepare seeds, through store, what one invocation needs and returns
	// the invocation.
	prepare func(ctx context.Context, store fleetclaim.Store) (invocation, error)
}

// invocation runs one event through a function's handler and checks that it
// took the successful path.
type invocation func(ctx context.Context, h handlers) error

// Flow names, as the model refers to them.
const (
	flowPostConfirmation = "post-confirmation (new installer)"
	flowApprove          = "POST /installers/{id}/approve"
	flowPreToken         = "pre-token generation (sign-in or refresh)" // #nosec G101 -- a flow's name, not a credential
	flowIssue            = "POST /claims"
	flowHook             = "pre-provisioning hook (allowed)"
	flowGetClaim         = "GET /claims/{id}"
	flowPresence         = "presence event (device online)"
	flowPresenceIgnored  = "presence event (ignored)"
)

var flows = []flow{
	{name: flowPostConfirmation, function: "postconfirm", prepare: func(_ context.Context, _ fleetclaim.Store) (invocation, error) {
		var ev events.CognitoEventUserPoolsPostConfirmation
		if err := readEvent("events/postconfirm/confirm-signup-pending.json", &ev); err != nil {
			return nil, err
		}
		sub := benchid.Sub()
		ev.UserName, ev.Request.UserAttributes["sub"] = sub, sub
		return func(ctx context.Context, h handlers) error {
			_, err := h.post.Handle(ctx, ev)
			return err
		}, nil
	}},
	{name: flowApprove, function: "claims", api: true, prepare: func(ctx context.Context, s fleetclaim.Store) (invocation, error) {
		var ev events.APIGatewayProxyRequest
		if err := readEvent("events/claims/approve-installer.json", &ev); err != nil {
			return nil, err
		}
		sub := fleetclaim.InstallerID(benchid.Sub())
		now := time.Now().UTC()
		if err := s.CreateInstaller(ctx, fleetclaim.Installer{ID: sub, Username: string(sub), Email: string(sub[:8]) + "@acme.example",
			TenantID: tenant, Status: fleetclaim.InstallerPending, CreatedAt: now, UpdatedAt: now}); err != nil {
			return nil, err
		}
		ev.PathParameters = map[string]string{"id": string(sub)}
		ev.Path = "/installers/" + string(sub) + "/approve"
		return apiCall(ev, http.StatusOK), nil
	}},
	{name: flowPreToken, function: "pretoken", prepare: func(context.Context, fleetclaim.Store) (invocation, error) {
		var ev events.CognitoEventUserPoolsPreTokenGenV2_0
		if err := readEvent("events/pretoken/authentication-approved.json", &ev); err != nil {
			return nil, err
		}
		return func(ctx context.Context, h handlers) error {
			out, err := h.pre.Handle(ctx, ev)
			if err == nil && !slices.Contains(out.Response.ClaimsAndScopeOverrideDetails.AccessTokenGeneration.ScopesToAdd, fleetclaim.ScopeClaims) {
				err = fmt.Errorf("no claims scope granted")
			}
			return err
		}, nil
	}},
	{name: flowIssue, function: "claims", api: true, prepare: func(context.Context, fleetclaim.Store) (invocation, error) {
		var ev events.APIGatewayProxyRequest
		if err := readEvent("events/claims/issue-claim.json", &ev); err != nil {
			return nil, err
		}
		// A serial of its own each time: a second claim for one serial
		// would supersede the first, which is not the common path.
		var body map[string]any
		if err := json.Unmarshal([]byte(ev.Body), &body); err != nil {
			return nil, fmt.Errorf("issue-claim.json body: %w", err)
		}
		body["serialNumber"] = "SN-" + benchid.Hex(4)
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		ev.Body = string(b)
		return apiCall(ev, http.StatusCreated), nil
	}},
	{name: flowHook, function: "provisionhook", prepare: func(ctx context.Context, s fleetclaim.Store) (invocation, error) {
		var ev events.IoTPreProvisionHookRequest
		if err := readEvent("events/provisionhook/allow.json", &ev); err != nil {
			return nil, err
		}
		c, err := seedClaim(ctx, s)
		if err != nil {
			return nil, err
		}
		ev.ClaimCertificateID, ev.ClientID, ev.Parameters["SerialNumber"] = string(c.ID), c.Serial, c.Serial
		return func(ctx context.Context, h handlers) error {
			out, err := h.hook.Handle(ctx, ev)
			if err == nil && !out.AllowProvisioning {
				err = fmt.Errorf("provisioning denied")
			}
			return err
		}, nil
	}},
	{name: flowGetClaim, function: "claims", api: true, prepare: func(ctx context.Context, s fleetclaim.Store) (invocation, error) {
		var ev events.APIGatewayProxyRequest
		if err := readEvent("events/claims/get-claim.json", &ev); err != nil {
			return nil, err
		}
		c, err := seedClaim(ctx, s)
		if err != nil {
			return nil, err
		}
		ev.PathParameters = map[string]string{"id": string(c.ID)}
		ev.Path = "/claims/" + string(c.ID)
		return apiCall(ev, http.StatusOK), nil
	}},
	{name: flowPresence, function: "presence", prepare: func(ctx context.Context, s fleetclaim.Store) (invocation, error) {
		var ev iotpresence.Event
		if err := readEvent("events/presence/connected-device.json", &ev); err != nil {
			return nil, err
		}
		d, err := seedDevice(ctx, s)
		if err != nil {
			return nil, err
		}
		ev.ClientID, ev.PrincipalIdentifier, ev.Timestamp = d.ThingName, d.CertificateID, time.Now().UnixMilli()
		return func(ctx context.Context, h handlers) error {
			if err := h.presence.Handle(ctx, ev); err != nil {
				return err
			}
			// Read through the unmetered store s: not the flow's cost.
			got, err := s.GetDevice(ctx, d.TenantID, d.Serial)
			if err == nil && got.State != fleetclaim.DeviceOnline {
				err = fmt.Errorf("device %s is %s, want online", d.Serial, got.State)
			}
			return err
		}, nil
	}},
	{name: flowPresenceIgnored, function: "presence", prepare: func(context.Context, fleetclaim.Store) (invocation, error) {
		var ev iotpresence.Event
		if err := readEvent("events/presence/disconnected.json", &ev); err != nil {
			return nil, err
		}
		return func(ctx context.Context, h handlers) error { return h.presence.Handle(ctx, ev) }, nil
	}},
}

func apiCall(ev events.APIGatewayProxyRequest, want int) invocation {
	return func(ctx context.Context, h handlers) error {
		out, err := h.claims.Handle(ctx, ev)
		if err == nil && out.StatusCode != want {
			err = fmt.Errorf("%s %s: got %d, want %d: %.300s", ev.HTTPMethod, ev.Resource, out.StatusCode, want, out.Body)
		}
		return err
	}
}

// seed writes the tenant, the installer and the admin the events name.
func seed(ctx context.Context, s fleetclaim.Store) error {
	if err := s.PutTenant(ctx, fleetclaim.Tenant{ID: tenant, Name: "Acme", Status: fleetclaim.TenantActive}); err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, in := range []fleetclaim.Installer{
		{ID: installer, Username: string(installer), Email: "ines@acme.example"},
		{ID: admin, Username: string(admin), Email: "admin@acme.example"},
	} {
		in.TenantID, in.Status, in.CreatedAt, in.UpdatedAt = tenant, fleetclaim.InstallerApproved, now, now
		if err := s.CreateInstaller(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

// seedClaim records an issued claim of the installer for a serial of its
// own, as POST /claims would: a serial has one open claim and registers once.
func seedClaim(ctx context.Context, s fleetclaim.Store) (fleetclaim.Claim, error) {
	now := time.Now().UTC()
	c := fleetclaim.Claim{ID: fleetclaim.ClaimID(benchid.Hex(32)), TenantID: tenant, InstallerID: installer, Template: template,
		Serial: "SN-" + benchid.Hex(4), Site: "Depot 4, bay 2", Status: fleetclaim.ClaimIssued, IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		UpdatedAt: now, RetainUntil: now.Add(5*time.Minute + config.DefaultClaimRetention)}
	return c, s.CreateClaim(ctx, c, "")
}

// seedDevice records a device registered through a claim of its own, as
// the hook's consuming write leaves it before the device first connects.
func seedDevice(ctx context.Context, s fleetclaim.Store) (fleetclaim.Device, error) {
	c, err := seedClaim(ctx, s)
	if err != nil {
		return fleetclaim.Device{}, err
	}
	now := time.Now().UTC()
	d := fleetclaim.Device{TenantID: c.TenantID, Serial: c.Serial, ThingName: fleetclaim.ThingName(c.TenantID, c.Serial),
		CertificateID: benchid.Hex(32), InstallerID: c.InstallerID, ClaimID: c.ID, Template: c.Template, Site: c.Site,
		ProvisionedAt: now, State: fleetclaim.DeviceRegistered}
	_, err = s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: now,
		Status: fleetclaim.ClaimConsumed, At: now, Device: &d})
	return d, err
}

func readEvent(path string, v any) error {
	b, err := os.ReadFile(path) // #nosec G304 -- one of the fixed sample events under events/
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// minter stands in for AWS IoT CreateProvisioningClaim: a claim
// certificate of the usual size under a new ID.
type minter struct{}

func (minter) CreateProvisioningClaim(context.Context, string) (fleetclaim.MintedClaim, error) {
	return fleetclaim.MintedClaim{CertificateID: benchid.Hex(32), CertificatePEM: fakePEM("CERTIFICATE", 1220),
		PrivateKey: fleetclaim.NewSecret(fakePEM("RSA PRIVATE KEY", 1675)), Expiration: time.Now().Add(5 * time.Minute)}, nil
}

// revoker stands in for AWS IoT UpdateCertificate and
// DetachThingPrincipal, which carry no price; none of the measured flows
// should call it.
type revoker struct{}

func (revoker) DeactivateCertificate(context.Context, string) error     { return nil }
func (revoker) DetachCertificate(context.Context, string, string) error { return nil }

func fakePEM(kind string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'A'
	}
	return "-----BEGIN " + kind + "-----\n" + string(b) + "\n-----END " + kind + "-----\n"
}

// groups stands in for the Cognito admin API and counts its calls.
type groups struct{ calls atomic.Int64 }

func (g *groups) UserExists(context.Context, string) (bool, error) { g.calls.Add(1); return true, nil }
func (g *groups) SignOutEverywhere(context.Context, string) error  { g.calls.Add(1); return nil }

// byteCounter counts what is written to it.
type byteCounter struct {
	mu sync.Mutex
	n  int64
}

func (c *byteCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += int64(len(p))
	return len(p), nil
}

func (c *byteCounter) take() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = 0
	return n
}
