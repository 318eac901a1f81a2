package events_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
)

func TestClaimsEvents(t *testing.T) {
	type outcome struct {
		status int
		code   string   // problem code, for errors
		fields []string // fields the JSON answer must hold
	}
	rows := map[string]outcome{
		"issue-claim":                       {status: 201, fields: []string{"claimId", "certificatePem", "privateKey", "iotEndpoint", "expiresAt", "templateName"}},
		"issue-claim-unknown-field":         {status: 400, code: "invalid_json"},
		"issue-claim-tenant-header-ignored": {status: 201, fields: []string{"tenantId"}},
		"issue-claim-bad-serial":            {status: 400, code: "invalid_request"},
		"issue-claim-suspended-installer":   {status: 403, code: "installer_not_approved"},
		"issue-claim-already-provisioned":   {status: 409, code: "device_already_provisioned"},
		"get-claim":                         {status: 200, fields: []string{"claimId", "status", "serialNumber"}},
		"get-claim-other-tenant":            {status: 404, code: "not_found"},
		"list-claims":                       {status: 200, fields: []string{"items"}},
		"revoke-claim":                      {status: 200, fields: []string{"status", "reason"}},
		"revoke-consumed-claim":             {status: 409, code: "claim_not_usable"},
		"list-devices":                      {status: 200, fields: []string{"items"}},
		"get-device":                        {status: 200, fields: []string{"thingName", "certificateId"}},
		"list-installers":                   {status: 200, fields: []string{"items"}},
		"list-installers-not-admin":         {status: 403, code: "missing_scope"},
		"get-installer":                     {status: 200, fields: []string{"installerId", "status"}},
		"approve-installer":                 {status: 200, fields: []string{"status"}},
		"suspend-installer":                 {status: 200, fields: []string{"status"}},
		"reinstate-installer":               {status: 200, fields: []string{"status"}},
		"list-audit":                        {status: 200, fields: []string{"items"}},
	}
	for _, path := range files(t, "claims", keys(rows)) {
		name := strings.TrimSuffix(path[len("claims/"):], ".json")
		t.Run(name, func(t *testing.T) {
			want := rows[name]
			var req events.APIGatewayProxyRequest
			load(t, path, &req)
			w := newWorld(t)
			h := app.Claims(config.Claims{DefaultTemplate: template, AllowedTemplates: []string{template}, ClaimsPerHour: 60,
				ClaimRetention: config.DefaultClaimRetention, UserPoolID: "eu-west-1_Ab12Cd34E"}, w.parts)
			resp, err := h.Handle(t.Context(), req)
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			if resp.StatusCode != want.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, want.status)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if want.code != "" {
				if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" || body["code"] != want.code {
					t.Errorf("got %s %v, want application/problem+json with code %s", ct, body["code"], want.code)
				}
			}
			for _, f := range want.fields {
				if _, ok := body[f]; !ok {
					t.Errorf("got %s, want field %s", resp.Body, f)
				}
			}
			if body["tenantId"] != nil && body["tenantId"] != "acme" {
				t.Errorf("got tenant %v, want acme: the tenant comes from the token only", body["tenantId"])
			}
			if strings.Contains(w.logs.String(), "secretsecret") {
				t.Errorf("the private key appeared in the logs")
			}
		})
	}
}
