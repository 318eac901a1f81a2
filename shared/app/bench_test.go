package app_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore/dynamotest"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/logging"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// Benchmarks of the three hot paths: the pre-provisioning hook (5 s limit,
// once per device), the pre-token trigger (every sign-in and refresh) and
// claim issuance. Each runs over an in-memory store (the handler's own
// cost), the embedded store, and DynamoDB's protocol against the local
// DynamoDB-compatible server (make bench starts one). Logs are formatted at
// the deployed level (info) and discarded.

const (
	installer = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	template  = "fleetclaim-bench"
)

// TestMain stops the DynamoDB-compatible server that dynamotest starts when
// FLEETCLAIM_TEST_DYNAMODB_ENDPOINT is unset.
func TestMain(m *testing.M) { dynamotest.Main(m) }

// benchStore is one store a benchmark runs over.
type benchStore struct {
	name string
	open func(b *testing.B) fleetclaim.Store
}

// stores lists the stores in a fixed order, so that runs line up.
func stores() []benchStore {
	return []benchStore{
		{"memory", func(*testing.B) fleetclaim.Store { return fleetclaimtest.NewMemStore() }},
		{"bolt", func(b *testing.B) fleetclaim.Store { return fleetclaimtest.OpenBolt(b) }},
		{"dynamodb", func(b *testing.B) fleetclaim.Store { return dynamotest.Open(b) }},
	}
}

func seed(b *testing.B, s fleetclaim.Store) {
	ctx := context.Background()
	if err := s.PutTenant(ctx, fleetclaim.Tenant{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateInstaller(ctx, fleetclaim.Installer{ID: installer, Username: installer, Email: "a@acme.example",
		TenantID: "acme", Status: fleetclaim.InstallerApproved, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
}

func parts(s fleetclaim.Store) app.Parts {
	return app.Parts{Store: s, Minter: minter{}, Revoker: fleetclaimtest.NopRevoker{}, Log: logging.New(io.Discard, "info"),
		Endpoint:  func(context.Context) (string, error) { return "iot.example", nil },
		GroupsFor: func(string) fleetclaim.GroupManager { return nil }}
}

// BenchmarkProvisioningHook: one allowed registration per iteration (read
// claim, installer and tenant; conditional consume; audit).
func BenchmarkProvisioningHook(b *testing.B) {
	for _, st := range stores() {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			seed(b, s)
			h := app.ProvisioningHook(config.Hook{HookDeadline: 2 * time.Second}, parts(s))
			// One serial per claim: a serial registers once.
			ids, serials := make([]fleetclaim.ClaimID, b.N), make([]string, b.N)
			now := time.Now()
			for i := range ids {
				ids[i], serials[i] = storetest.NewClaimID(), fmt.Sprintf("SN-%d", i)
				if err := s.CreateClaim(context.Background(), fleetclaim.Claim{ID: ids[i], TenantID: "acme", InstallerID: installer,
					Template: template, Serial: serials[i], Status: fleetclaim.ClaimIssued, IssuedAt: now, ExpiresAt: now.Add(time.Hour), UpdatedAt: now}, ""); err != nil {
					b.Fatal(err)
				}
			}
			ev := events.IoTPreProvisionHookRequest{CertificateID: fleetclaimtest.NewCertificateID(), TemplateARN: "arn:aws:iot:eu-west-1:1:provisioningtemplate/" + template,
				ClientID: "SN-1", Parameters: map[string]string{"SerialNumber": "SN-1"}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				ev.ClaimCertificateID, ev.ClientID, ev.Parameters["SerialNumber"] = string(ids[i]), serials[i], serials[i]
				resp, _ := h.Handle(context.Background(), ev)
				if !resp.AllowProvisioning {
					b.Fatal("denied")
				}
			}
		})
	}
}

// BenchmarkPreTokenGeneration: one token generation for an approved
// installer (one installer read). Sign-in and refresh run the same code.
func BenchmarkPreTokenGeneration(b *testing.B) {
	for _, st := range stores() {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			seed(b, s)
			h := app.PreTokenGeneration(parts(s))
			ev := events.CognitoEventUserPoolsPreTokenGenV2_0{}
			ev.Request.UserAttributes = map[string]string{"sub": installer}
			ev.Request.GroupConfiguration.GroupsToOverride = []string{"installers"}
			b.ReportAllocs()
			for b.Loop() {
				out, _ := h.Handle(context.Background(), ev)
				if len(out.Response.ClaimsAndScopeOverrideDetails.AccessTokenGeneration.ScopesToAdd) == 0 {
					b.Fatal("no scope")
				}
			}
		})
	}
}

// BenchmarkIssueClaim: POST /claims through the API Gateway handler, with
// AWS IoT's part faked (its latency is AWS's, not ours).
func BenchmarkIssueClaim(b *testing.B) {
	for _, st := range stores() {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			seed(b, s)
			h := app.Claims(config.Claims{DefaultTemplate: template, AllowedTemplates: []string{template}, ClaimsPerHour: 1 << 30, RequestsPerMinute: 1 << 30,
				ClaimRetention: time.Hour, UserPoolID: "pool"}, parts(s))
			req := events.APIGatewayProxyRequest{Resource: "/claims", HTTPMethod: "POST", Body: `{"serialNumber":"SN-1"}`,
				RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": map[string]any{
					"sub": installer, "tenant_id": "acme", "scope": "fleetclaim/claims"}}}}
			// A serial of its own each time (one small allocation): the same
			// serial again would measure superseding the installer's open
			// claim, not issuance.
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				req.Body = `{"serialNumber":"SN-` + strconv.Itoa(i) + `"}`
				resp, _ := h.Handle(context.Background(), req)
				if resp.StatusCode != 201 {
					b.Fatal(resp.Body)
				}
			}
		})
	}
}

// minter stands in for AWS IoT at the least cost: a new certificate ID per
// claim (the stores refuse a claim ID twice) and nothing kept.
// fleetclaimtest.Minter keeps its keys for tests to look for, which would
// add its own cost to every figure.
type minter struct{}

func (minter) CreateProvisioningClaim(context.Context, string) (fleetclaim.MintedClaim, error) {
	return fleetclaim.MintedClaim{CertificateID: fleetclaimtest.NewCertificateID(), CertificatePEM: "PEM",
		PrivateKey: fleetclaim.NewSecret("KEY"), Expiration: time.Now().Add(5 * time.Minute)}, nil
}
