package apigw_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/logging"
	"gopkg.in/yaml.v3"
)

type document struct {
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas map[string]schema `yaml:"schemas"`
	} `yaml:"components"`
}

type operation struct {
	OperationID string                `yaml:"operationId"`
	Security    []map[string][]string `yaml:"security"`
	Responses   map[string]any        `yaml:"responses"`
}

type schema struct {
	Ref        string            `yaml:"$ref"`
	Required   []string          `yaml:"required"`
	Properties map[string]schema `yaml:"properties"`
	Items      *schema           `yaml:"items"`
}

func loadDocument(t *testing.T) (document, map[string]operation) {
	t.Helper()
	var doc document
	if err := yaml.Unmarshal(apigw.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	ops := map[string]operation{} // "METHOD path"
	for path, methods := range doc.Paths {
		for method, node := range methods {
			if method == "parameters" {
				continue
			}
			var op operation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return doc, ops
}

// The document and apigw.Routes (which the handler serves and the CDK app
// deploys) list the same operations, with the same IDs and scopes.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	_, ops := loadDocument(t)
	for _, r := range apigw.Routes {
		op, ok := ops[r.Method+" "+r.Path]
		if !ok {
			t.Errorf("%s %s is served but not documented", r.Method, r.Path)
			continue
		}
		if op.OperationID != r.Operation {
			t.Errorf("%s %s: got operationId %q, want %q", r.Method, r.Path, op.OperationID, r.Operation)
		}
		if len(op.Security) != 1 || !slices.Equal(op.Security[0]["cognito"], []string{r.Scope}) {
			t.Errorf("%s %s: got security %v, want cognito [%s]", r.Method, r.Path, op.Security, r.Scope)
		}
	}
	for key := range ops {
		method, path, _ := strings.Cut(key, " ")
		if !slices.ContainsFunc(apigw.Routes, func(r apigw.Route) bool { return r.Method == method && r.Path == path }) {
			t.Errorf("%s is documented but not served", key)
		}
	}
}

// Every documented route answers, with a status the document lists for it;
// an undocumented one answers 404.
func TestHandlerAnswersAsDocumented(t *testing.T) {
	_, ops := loadDocument(t)
	h := newHandler(t)
	for _, r := range apigw.Routes {
		t.Run(r.Operation, func(t *testing.T) {
			resp := call(t, h, r.Method, r.Path, `{"serialNumber":"SN-7"}`)
			op := ops[r.Method+" "+r.Path]
			if _, ok := op.Responses[fmt.Sprint(resp.StatusCode)]; !ok {
				t.Errorf("got %d %s, which the document does not list for %s", resp.StatusCode, resp.Body, r.Operation)
			}
		})
	}
	for _, tt := range []struct{ method, resource string }{{"PUT", "/claims"}, {"GET", "/tenants"}, {"PATCH", "/installers/{id}"}} {
		if resp := call(t, h, tt.method, tt.resource, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: got %d, want 404", tt.method, tt.resource, resp.StatusCode)
		}
	}
}

// Real answers have exactly the documented fields.
func TestAnswersMatchSchemas(t *testing.T) {
	doc, _ := loadDocument(t)
	h := newHandler(t)
	issued := call(t, h, "POST", "/claims", `{"serialNumber":"SN-9","site":"Hall 3"}`)
	var claim map[string]any
	_ = json.Unmarshal([]byte(issued.Body), &claim)
	tests := []struct {
		name, method, resource, body, schema string
		status                               int
	}{
		{"issueClaim", "POST", "/claims", `{"serialNumber":"SN-8"}`, "IssuedClaim", 201},
		{"getClaim", "GET", "/claims/" + fmt.Sprint(claim["claimId"]), "", "Claim", 200},
		{"listClaims", "GET", "/claims", "", "ClaimList", 200},
		{"listDevices", "GET", "/devices", "", "DeviceList", 200},
		{"listInstallers", "GET", "/installers", "", "InstallerList", 200},
		{"listAuditEvents", "GET", "/audit", "", "AuditEventList", 200},
		{"a problem", "POST", "/claims", `{"serialNumber":"bad serial"}`, "Problem", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, h, tt.method, tt.resource, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tt.status)
			}
			var body any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			conform(t, doc, doc.Components.Schemas[tt.schema], body, tt.schema)
		})
	}
}

// conform checks that v has every required field and no undocumented one,
// recursively through references, objects and arrays.
func conform(t *testing.T, doc document, s schema, v any, at string) {
	t.Helper()
	if s.Ref != "" {
		name := s.Ref[strings.LastIndex(s.Ref, "/")+1:]
		conform(t, doc, doc.Components.Schemas[name], v, at)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if s.Properties == nil {
			return
		}
		for _, r := range s.Required {
			if _, ok := v[r]; !ok {
				t.Errorf("%s: got no %s, which the document requires", at, r)
			}
		}
		for k, e := range v {
			ps, ok := s.Properties[k]
			if !ok {
				t.Errorf("%s: got %s, which the document does not have", at, k)
				continue
			}
			conform(t, doc, ps, e, at+"."+k)
		}
	case []any:
		if s.Items != nil {
			for i, e := range v {
				conform(t, doc, *s.Items, e, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
}

const (
	sub   = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	other = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
)

// newHandler is the claims handler over an embedded store holding an
// approved admin (sub) and a pending installer (other) of tenant acme.
func newHandler(t *testing.T) *apigw.Handler {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	_ = s.PutTenant(ctx, fleetclaim.Tenant{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive})
	for id, st := range map[string]fleetclaim.InstallerStatus{sub: fleetclaim.InstallerApproved, other: fleetclaim.InstallerPending} {
		if err := s.CreateInstaller(ctx, fleetclaim.Installer{ID: fleetclaim.InstallerID(id), Username: id, Email: id[:4] + "@acme.example",
			TenantID: "acme", Status: st, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	return app.Claims(config.Claims{DefaultTemplate: "tpl", AllowedTemplates: []string{"tpl"}, ClaimsPerHour: 100,
		ClaimRetention: time.Hour, UserPoolID: "pool"}, app.Parts{
		Store: s, Minter: fakeMinter{now}, Log: logging.New(io.Discard, "error"), Now: func() time.Time { return now },
		Endpoint:  func(context.Context) (string, error) { return "iot.example", nil },
		GroupsFor: func(string) fleetclaim.GroupManager { return noGroups{} },
	})
}

// call sends an API Gateway request as the admin, filling path parameters
// with real IDs.
func call(t *testing.T, h *apigw.Handler, method, resource, body string) events.APIGatewayProxyResponse {
	t.Helper()
	params := map[string]string{}
	path := resource
	for name, value := range map[string]string{"{id}": other, "{serial}": "SN-1"} {
		if strings.Contains(resource, name) {
			if strings.HasPrefix(resource, "/claims/") {
				value = strings.Repeat("ab", 32)
			}
			params[strings.Trim(name, "{}")] = value
			path = strings.ReplaceAll(path, name, value)
		}
	}
	if strings.HasPrefix(resource, "/claims/") && !strings.Contains(resource, "{") {
		// A concrete claim path: API Gateway gives the template as the resource.
		params["id"] = strings.TrimPrefix(resource, "/claims/")
		resource = "/claims/{id}"
	}
	resp, err := h.Handle(t.Context(), events.APIGatewayProxyRequest{
		Resource: resource, Path: path, HTTPMethod: method, Body: body, PathParameters: params,
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-1", Authorizer: map[string]any{"claims": map[string]any{
			"sub": sub, "username": sub, "tenant_id": "acme", "cognito:groups": "installers,admins",
			"scope": "aws.cognito.signin.user.admin fleetclaim/claims fleetclaim/admin", "token_use": "access",
		}}},
	})
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	if resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("%s %s: got Cache-Control %q, want no-store", method, resource, resp.Headers["Cache-Control"])
	}
	return resp
}

type fakeMinter struct{ now time.Time }

func (m fakeMinter) CreateProvisioningClaim(context.Context, string) (fleetclaim.MintedClaim, error) {
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return fleetclaim.MintedClaim{CertificateID: hex.EncodeToString(id), CertificatePEM: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
		PrivateKey: fleetclaim.NewSecret("KEY"), Expiration: m.now.Add(5 * time.Minute)}, nil
}

type noGroups struct{}

func (noGroups) AddUserToGroup(context.Context, string, string) error      { return nil }
func (noGroups) RemoveUserFromGroup(context.Context, string, string) error { return nil }
func (noGroups) SignOutEverywhere(context.Context, string) error           { return nil }
