package apigw_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// The people and things of the test world. Tenant acme has an installer in
// every status, an admin and a platform admin; tenant globex has one
// installer with one claim and one device.
const (
	installerSub = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f" // approved installer of acme
	adminSub     = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d" // approved admin of acme
	operatorSub  = "5c4b3a29-1807-4f6e-9d5c-4b3a29180f7e" // approved platform admin, of acme
	pendingSub   = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e" // pending installer of acme
	suspendedSub = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918" // suspended installer of acme
	globexSub    = "bbbbbbbb-0000-4000-8000-000000000003" // approved installer of globex
	nobodySub    = "0e0e0e0e-1f1f-4a2a-8b3b-4c4c5d5d6e6e" // no record anywhere

	template     = "fleetclaim-prod"
	acmeDevice   = "SN-0042"
	globexDevice = "SN-GLOBEX-7"
)

var (
	issuedClaim   = strings.Repeat("a1", 32) // installer's, SN-0001, usable
	consumedClaim = strings.Repeat("c0", 32) // installer's, provisioned acmeDevice
	rejectedClaim = strings.Repeat("d1", 32) // installer's, presented with a wrong serial
	globexClaim   = strings.Repeat("b1", 32) // globex's, SN-0001, usable
	unknownClaim  = strings.Repeat("0f", 32) // no such claim

	deviceCertificate = strings.Repeat("d4", 32) // the certificate of the seeded devices

	now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

// storeFault is the text of a store failure. It must never reach a caller.
const storeFault = "bolt: write /var/lib/fleetclaim/fleetclaim.db: input/output error (node 7f3a)"

// world is the claims API as the Lambda runs it (apigw over the domain over
// the embedded store), with fakes for AWS IoT and Cognito, a fixed clock and
// the logs kept for inspection.
type world struct {
	t       *testing.T
	store   *faultyStore
	handler *apigw.Handler
	minter  *fleetclaimtest.Minter
	groups  *fleetclaimtest.Groups
	revoker *fleetclaimtest.Revoker
	logs    *fleetclaimtest.LogBuffer
}

// option changes the configuration a world's handler is built with.
type option func(*config.Claims)

func withOrigin(origin string) option { return func(c *config.Claims) { c.AllowedOrigin = origin } }
func withQuota(perHour int) option    { return func(c *config.Claims) { c.ClaimsPerHour = perHour } }
func withRequestsPerMinute(n int) option {
	return func(c *config.Claims) { c.RequestsPerMinute = n }
}

func newWorld(t *testing.T, opts ...option) *world {
	t.Helper()
	w := &world{t: t, store: &faultyStore{Store: fleetclaimtest.OpenBolt(t)}, minter: &fleetclaimtest.Minter{Now: func() time.Time { return now }},
		groups: &fleetclaimtest.Groups{}, revoker: &fleetclaimtest.Revoker{}, logs: &fleetclaimtest.LogBuffer{}}
	w.seed()

	cfg := config.Claims{DefaultTemplate: template, AllowedTemplates: []string{template, "fleetclaim-lab"},
		ClaimsPerHour: 60, ClaimRetention: config.DefaultClaimRetention, UserPoolID: "eu-west-1_Ab12Cd34E"}
	for _, o := range opts {
		o(&cfg)
	}
	w.handler = app.Claims(cfg, app.Parts{
		Store: w.store, Minter: w.minter, Revoker: w.revoker, Log: logging.New(w.logs, "debug"), Now: func() time.Time { return now },
		Endpoint:  func(context.Context) (string, error) { return "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com", nil },
		GroupsFor: func(string) fleetclaim.GroupManager { return w.groups },
	})
	return w
}

func (w *world) seed() {
	ctx := context.Background()
	must := func(err error) {
		w.t.Helper()
		if err != nil {
			w.t.Fatalf("seed: %v", err)
		}
	}
	must(w.store.PutTenant(ctx, fleetclaim.Tenant{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive}))
	must(w.store.PutTenant(ctx, fleetclaim.Tenant{ID: "globex", Name: "Globex", Status: fleetclaim.TenantActive}))
	for sub, in := range map[string]struct {
		tenant fleetclaim.TenantID
		status fleetclaim.InstallerStatus
		email  string
	}{
		installerSub: {"acme", fleetclaim.InstallerApproved, "ines@acme.example"},
		adminSub:     {"acme", fleetclaim.InstallerApproved, "ada@acme.example"},
		operatorSub:  {"acme", fleetclaim.InstallerApproved, "otto@acme.example"},
		pendingSub:   {"acme", fleetclaim.InstallerPending, "pat@acme.example"},
		suspendedSub: {"acme", fleetclaim.InstallerSuspended, "sam@acme.example"},
		globexSub:    {"globex", fleetclaim.InstallerApproved, "gil@globex.example"},
	} {
		must(w.store.CreateInstaller(ctx, fleetclaim.Installer{ID: fleetclaim.InstallerID(sub), Username: sub, Email: in.email,
			TenantID: in.tenant, Status: in.status, CreatedAt: now.Add(-48 * time.Hour), UpdatedAt: now.Add(-24 * time.Hour)}))
	}
	claim := func(id string, tenant fleetclaim.TenantID, by, serial string, issued time.Time) {
		must(w.store.CreateClaim(ctx, fleetclaim.Claim{ID: fleetclaim.ClaimID(id), TenantID: tenant,
			InstallerID: fleetclaim.InstallerID(by), Template: template, Serial: serial, Site: "Depot 4",
			Status: fleetclaim.ClaimIssued, IssuedAt: issued, ExpiresAt: issued.Add(5 * time.Minute), UpdatedAt: issued,
			RetainUntil: issued.Add(config.DefaultClaimRetention)}, ""))
	}
	claim(issuedClaim, "acme", installerSub, "SN-0001", now.Add(-time.Minute))
	claim(consumedClaim, "acme", installerSub, acmeDevice, now.Add(-2*time.Hour))
	claim(rejectedClaim, "acme", installerSub, "SN-0002", now.Add(-3*time.Minute))
	claim(globexClaim, "globex", globexSub, "SN-0001", now.Add(-time.Minute))
	consume := func(id string, tenant fleetclaim.TenantID, by, serial string, at time.Time) {
		_, err := w.store.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: fleetclaim.ClaimID(id), IfStatus: fleetclaim.ClaimIssued,
			Status: fleetclaim.ClaimConsumed, At: at, Device: &fleetclaim.Device{TenantID: tenant, Serial: serial,
				ThingName: fleetclaim.ThingName(tenant, serial), CertificateID: deviceCertificate,
				InstallerID: fleetclaim.InstallerID(by), ClaimID: fleetclaim.ClaimID(id), Template: template, Site: "Depot 4",
				ProvisionedAt: at}})
		must(err)
	}
	consume(consumedClaim, "acme", installerSub, acmeDevice, now.Add(-2*time.Hour+time.Minute))
	_, err := w.store.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: fleetclaim.ClaimID(rejectedClaim), IfStatus: fleetclaim.ClaimIssued,
		Status: fleetclaim.ClaimRejected, Reason: fleetclaim.ReasonSerialMismatch, At: now.Add(-2 * time.Minute)})
	must(err)
	claim(strings.Repeat("b2", 32), "globex", globexSub, globexDevice, now.Add(-time.Hour))
	consume(strings.Repeat("b2", 32), "globex", globexSub, globexDevice, now.Add(-time.Hour+time.Minute))
	must(w.store.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: "acme", ID: "20261123T095800.000000000Z-0a1b2c3d4e5f",
		At: now.Add(-2 * time.Minute), Actor: installerSub, Action: fleetclaim.ActionProvisioningDenied, Subject: rejectedClaim,
		Reason: fleetclaim.ReasonSerialMismatch, Detail: `serial presented "SN-9999"`}))
	must(w.store.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: "globex", ID: "20261123T090000.000000000Z-0a1b2c3d4e60",
		At: now.Add(-time.Hour), Actor: globexSub, Action: fleetclaim.ActionClaimIssued, Subject: globexClaim}))
}

// allowInstallersToDecommission lets acme's installers decommission the
// devices they provisioned.
func (w *world) allowInstallersToDecommission() {
	w.t.Helper()
	t, err := w.store.GetTenant(w.t.Context(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	t.InstallersMayDecommission = true
	if err := w.store.PutTenant(w.t.Context(), t); err != nil {
		w.t.Fatal(err)
	}
}

// handle sends one request and checks what every answer must have.
func (w *world) handle(req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	w.t.Helper()
	resp, err := w.handler.Handle(w.t.Context(), req)
	if err != nil {
		w.t.Fatalf("%s %s: got error %v; the handler must answer every request", req.HTTPMethod, req.Resource, err)
	}
	if got := resp.Headers["Cache-Control"]; got != "no-store" {
		w.t.Errorf("%s %s: got Cache-Control %q, want no-store", req.HTTPMethod, req.Resource, got)
	}
	if strings.Contains(resp.Body, storeFault) || strings.Contains(resp.Body, "input/output error") {
		w.t.Errorf("%s %s: got the store's error in the answer: %s", req.HTTPMethod, req.Resource, resp.Body)
	}
	return resp
}

// Token claims as API Gateway's Cognito authorizer renders them in
// requestContext.authorizer.claims: every value a string, groups joined
// with commas.
const (
	scopeClaims = "aws.cognito.signin.user.admin fleetclaim/claims"
	scopeAdmin  = "aws.cognito.signin.user.admin fleetclaim/claims fleetclaim/admin"
)

func tokenOf(sub, tenant, groups, scope string) map[string]any {
	c := map[string]any{
		"sub": sub, "username": sub, "tenant_id": tenant, "installer_status": "approved", "token_use": "access",
		"scope": scope, "client_id": "3n4b5urk1ft4fl3mg5e62d9ado",
		"iss":       "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12Cd34E",
		"auth_time": "1795424400", "iat": "Mon Nov 23 09:55:00 UTC 2026", "exp": "Mon Nov 23 10:55:00 UTC 2026",
	}
	if groups != "" {
		c["cognito:groups"] = groups
	}
	return c
}

// installerClaims is the installer's token, for tests that build their
// own requests.
func installerClaims() map[string]any { return asInstaller() }

// The callers' tokens. The suspended installer's was issued before the
// suspension, so it still carries the scope and says approved.
var (
	asInstaller = func() map[string]any { return tokenOf(installerSub, "acme", "installers", scopeClaims) }
	asAdmin     = func() map[string]any { return tokenOf(adminSub, "acme", "installers,admins", scopeAdmin) }
	asOperator  = func() map[string]any { return tokenOf(operatorSub, "acme", "installers,platform-admins", scopeAdmin) }
	asSuspended = func() map[string]any { return tokenOf(suspendedSub, "acme", "installers", scopeClaims) }
)

// request builds an API Gateway REST proxy event for route resource (as
// in apigw.Routes) with its path parameters filled in, as API Gateway
// builds it behind the Cognito authorizer. A nil token leaves the
// authorizer out.
func request(method, resource string, params map[string]string, token map[string]any) events.APIGatewayProxyRequest {
	path := resource
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	req := events.APIGatewayProxyRequest{
		Resource: resource, Path: path, HTTPMethod: method, PathParameters: params,
		Headers: map[string]string{"Accept": "application/json", "Authorization": "Bearer eyJraWQiOiJ...",
			"Host": "abc123def4.execute-api.eu-west-1.amazonaws.com"},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
			ResourcePath: resource, HTTPMethod: method, Stage: "v1", Path: "/v1" + path},
	}
	if token != nil {
		req.RequestContext.Authorizer = map[string]any{"claims": token}
	}
	return req
}

// issueRequest is POST /claims with body.
func issueRequest(body string, token map[string]any) events.APIGatewayProxyRequest {
	req := request("POST", "/claims", nil, token)
	req.Headers["Content-Type"] = "application/json"
	req.Body = body
	return req
}

// bodyRequest is request with a JSON body.
func bodyRequest(method, resource string, params map[string]string, body string, token map[string]any) events.APIGatewayProxyRequest {
	req := request(method, resource, params, token)
	if body != "" {
		req.Headers["Content-Type"] = "application/json"
		req.Body = body
	}
	return req
}

// faultyStore is the embedded store with faults to order: a method named
// in faults fails with that error.
type faultyStore struct {
	*boltstore.Store
	mu     sync.Mutex
	faults map[string]error
}

func (s *faultyStore) fail(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults == nil {
		s.faults = map[string]error{}
	}
	s.faults[method] = fmt.Errorf("%s: %s", method, storeFault)
}

func (s *faultyStore) fault(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[method]
}

func (s *faultyStore) GetInstaller(ctx context.Context, id fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	if err := s.fault("GetInstaller"); err != nil {
		return fleetclaim.Installer{}, err
	}
	return s.Store.GetInstaller(ctx, id)
}

func (s *faultyStore) UpdateClaim(ctx context.Context, u fleetclaim.ClaimUpdate) (fleetclaim.Claim, error) {
	if err := s.fault("UpdateClaim"); err != nil {
		return fleetclaim.Claim{}, err
	}
	return s.Store.UpdateClaim(ctx, u)
}

func (s *faultyStore) CreateClaim(ctx context.Context, c fleetclaim.Claim, replaces fleetclaim.ClaimID) error {
	if err := s.fault("CreateClaim"); err != nil {
		return err
	}
	return s.Store.CreateClaim(ctx, c, replaces)
}
