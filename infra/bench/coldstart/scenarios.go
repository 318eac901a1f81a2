package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/infra/bench/benchid"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// The records the sample events under events/ name.
const (
	tenant     = fleetclaim.TenantID("acme")
	installer  = fleetclaim.InstallerID("4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f") // approved installer of acme
	template   = "fleetclaim-prod"
	userPoolID = "eu-west-1_Ab12Cd34E"
)

// scenario is one function and the invocation its cold starts answer. Each
// takes the function's successful path through the store, so the first
// answer includes the SDK's first requests (connection set-up included).
type scenario struct {
	function string
	// event is the sample event under events/ it starts from.
	event string
	// prepare seeds the store for one start and returns the event to send.
	prepare func(ctx context.Context, s fleetclaim.Store, event map[string]any) error
	// check says whether the answer is the successful one.
	check func(response []byte) error
	// confirm, if set, says whether the store shows the start's effect,
	// for functions whose answer says nothing (an asynchronous event's).
	confirm func(ctx context.Context, s fleetclaim.Store) error
}

var scenarios = []scenario{
	{
		// POST /claims: installer and tenant reads, the device index query,
		// the quota, CreateProvisioningClaim (a stand-in), claim and audit writes.
		function: "claims",
		event:    "events/claims/issue-claim.json",
		check: func(b []byte) error {
			var r struct {
				StatusCode int `json:"statusCode"`
			}
			if err := json.Unmarshal(b, &r); err != nil || r.StatusCode != http.StatusCreated {
				return fmt.Errorf("want a 201 answer, got %.300s", b)
			}
			return nil
		},
	},
	{
		// A new user's confirmation: installer read (a miss), tenant read,
		// installer and audit writes.
		function: "postconfirm",
		event:    "events/postconfirm/confirm-signup-pending.json",
		prepare: func(_ context.Context, _ fleetclaim.Store, ev map[string]any) error {
			sub := benchid.Sub()
			ev["userName"] = sub
			return set(ev, sub, "request", "userAttributes", "sub")
		},
		check: func(b []byte) error {
			if !json.Valid(b) || len(b) < 2 {
				return fmt.Errorf("want the event back, got %.300s", b)
			}
			return nil
		},
	},
	{
		// A sign-in: one installer read.
		function: "pretoken",
		event:    "events/pretoken/authentication-approved.json",
		check: func(b []byte) error {
			var ev events.CognitoEventUserPoolsPreTokenGenV2_0
			if err := json.Unmarshal(b, &ev); err != nil ||
				!slices.Contains(ev.Response.ClaimsAndScopeOverrideDetails.AccessTokenGeneration.ScopesToAdd, fleetclaim.ScopeClaims) {
				return fmt.Errorf("want the claims scope granted, got %.300s", b)
			}
			return nil
		},
	},
	{
		// An allowed registration: claim, installer and tenant reads, the
		// conditional consume, the audit write. Each start gets a claim and
		// a serial of its own, since a claim is consumed once and a serial
		// registers once.
		function: "provisionhook",
		event:    "events/provisionhook/allow.json",
		prepare: func(ctx context.Context, s fleetclaim.Store, ev map[string]any) error {
			now := time.Now().UTC()
			serial := "SN-" + benchid.Hex(4)
			c := fleetclaim.Claim{ID: fleetclaim.ClaimID(benchid.Hex(32)), TenantID: tenant, InstallerID: installer,
				Template: template, Serial: serial, Status: fleetclaim.ClaimIssued, IssuedAt: now,
				ExpiresAt: now.Add(5 * time.Minute), UpdatedAt: now, RetainUntil: now.Add(time.Hour)}
			if err := s.CreateClaim(ctx, c, ""); err != nil {
				return err
			}
			params, ok := ev["parameters"].(map[string]any)
			if !ok {
				return fmt.Errorf("the sample event has no parameters")
			}
			ev["claimCertificateId"], ev["clientId"], params["SerialNumber"] = string(c.ID), serial, serial
			return nil
		},
		check: func(b []byte) error {
			var r struct {
				Allow bool `json:"allowProvisioning"`
			}
			if err := json.Unmarshal(b, &r); err != nil || !r.Allow {
				return fmt.Errorf("want provisioning allowed, got %.300s", b)
			}
			return nil
		},
	},
	presenceScenario(),
}

// presenceScenario is a device's first connection with its own
// certificate: one read of its serial and the conditional write that marks
// it online, then the audit write. Each start gets a registered device of
// its own, since only the first connection moves it to online.
func presenceScenario() scenario {
	var serial string // the device of the latest start
	return scenario{
		function: "presence",
		event:    "events/presence/connected-device.json",
		prepare: func(ctx context.Context, s fleetclaim.Store, ev map[string]any) error {
			now := time.Now().UTC()
			serial = "SN-" + benchid.Hex(4)
			c := fleetclaim.Claim{ID: fleetclaim.ClaimID(benchid.Hex(32)), TenantID: tenant, InstallerID: installer,
				Template: template, Serial: serial, Status: fleetclaim.ClaimIssued, IssuedAt: now,
				ExpiresAt: now.Add(5 * time.Minute), UpdatedAt: now, RetainUntil: now.Add(time.Hour)}
			if err := s.CreateClaim(ctx, c, ""); err != nil {
				return err
			}
			d := fleetclaim.Device{TenantID: tenant, Serial: serial, ThingName: fleetclaim.ThingName(tenant, serial),
				CertificateID: benchid.Hex(32), InstallerID: installer, ClaimID: c.ID, Template: template,
				ProvisionedAt: now, State: fleetclaim.DeviceRegistered}
			if _, err := s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: now,
				Status: fleetclaim.ClaimConsumed, At: now, Device: &d}); err != nil {
				return err
			}
			ev["clientId"], ev["principalIdentifier"], ev["timestamp"] = d.ThingName, d.CertificateID, float64(now.UnixMilli())
			return nil
		},
		// AWS IoT invokes it asynchronously: a nil error is all it answers.
		check: func(b []byte) error {
			if string(b) != "null" {
				return fmt.Errorf("want null, got %.300s", b)
			}
			return nil
		},
		confirm: func(ctx context.Context, s fleetclaim.Store) error {
			d, err := s.GetDevice(ctx, tenant, serial)
			if err != nil || d.State != fleetclaim.DeviceOnline {
				return fmt.Errorf("want device %s online, got %q (%v)", serial, d.State, err)
			}
			return nil
		},
	}
}

// seed writes the tenant and installer every scenario relies on.
func seed(ctx context.Context, s fleetclaim.Store) error {
	if err := s.PutTenant(ctx, fleetclaim.Tenant{ID: tenant, Name: "Acme", Status: fleetclaim.TenantActive}); err != nil {
		return err
	}
	now := time.Now().UTC()
	return s.CreateInstaller(ctx, fleetclaim.Installer{ID: installer, Username: string(installer), Email: "ines@acme.example",
		TenantID: tenant, Status: fleetclaim.InstallerApproved, CreatedAt: now, UpdatedAt: now})
}

// eventFor reads the scenario's sample event and prepares it for one start.
func (sc scenario) eventFor(ctx context.Context, s fleetclaim.Store) ([]byte, error) {
	b, err := os.ReadFile(sc.event)
	if err != nil {
		return nil, err
	}
	if sc.prepare == nil {
		return b, nil
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("%s: %w", sc.event, err)
	}
	if err := sc.prepare(ctx, s, ev); err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

// set stores v at the path of nested objects in m.
func set(m map[string]any, v any, path ...string) error {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return fmt.Errorf("no object at %q", k)
		}
		m = next
	}
	m[path[len(path)-1]] = v
	return nil
}

// iotStandIn answers AWS IoT's CreateProvisioningClaim for the claims
// function, with a fixed certificate under a new ID each time: AWS IoT's
// own latency is not what is measured here.
func iotStandIn() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /provisioning-templates/{name}/provisioning-claim", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"certificateId":  benchid.Hex(32),
			"certificatePem": placeholderPEM("CERTIFICATE"),
			"keyPair":        map[string]string{"PublicKey": placeholderPEM("PUBLIC KEY"), "PrivateKey": placeholderPEM("RSA PRIVATE KEY")},
			"expiration":     float64(time.Now().Add(5 * time.Minute).Unix()),
		})
	})
	return mux
}

// placeholderPEM is a PEM block of kind holding no real key or certificate:
// the functions pass what AWS IoT returns through without parsing it.
func placeholderPEM(kind string) string {
	return "-----BEGIN " + kind + "-----\nMIIB\n-----END " + kind + "-----\n"
}
