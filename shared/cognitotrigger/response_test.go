package cognitotrigger_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/cognitotrigger"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// The V2_0 answer carries no JSON null: empty members are left out, except
// an empty groupsToOverride, which is how groups are stripped.
func TestPreTokenResponseBytes(t *testing.T) {
	tests := []struct {
		name   string
		status fleetclaim.InstallerStatus // "" = no record, and none can be made (no tenant)
		groups string                     // the request's groupConfiguration
		want   string
	}{
		{"approved installer, no groups", fleetclaim.InstallerApproved, `{"groupsToOverride":[],"iamRolesToOverride":[],"preferredRole":null}`,
			`{"claimsAndScopeOverrideDetails":{` +
				`"idTokenGeneration":{"claimsToAddOrOverride":{"installer_status":"approved","tenant_id":"acme","tenant_status":"active"}},` +
				`"accessTokenGeneration":{"claimsToAddOrOverride":{"installer_status":"approved","tenant_id":"acme","tenant_status":"active"},"scopesToAdd":["fleetclaim/claims"],"scopesToSuppress":["fleetclaim/admin"]},` +
				`"groupOverrideDetails":{"groupsToOverride":[]}}}`},
		{"approved admin with a role", fleetclaim.InstallerApproved,
			`{"groupsToOverride":["admins"],"iamRolesToOverride":["arn:aws:iam::123456789012:role/r"],"preferredRole":"arn:aws:iam::123456789012:role/r"}`,
			`{"claimsAndScopeOverrideDetails":{` +
				`"idTokenGeneration":{"claimsToAddOrOverride":{"installer_status":"approved","tenant_id":"acme","tenant_status":"active"}},` +
				`"accessTokenGeneration":{"claimsToAddOrOverride":{"installer_status":"approved","tenant_id":"acme","tenant_status":"active"},"scopesToAdd":["fleetclaim/claims","fleetclaim/admin"]},` +
				`"groupOverrideDetails":{"groupsToOverride":["admins"],"iamRolesToOverride":["arn:aws:iam::123456789012:role/r"],"preferredRole":"arn:aws:iam::123456789012:role/r"}}}`},
		{"unknown user in a privileged group", "", `{"groupsToOverride":["platform-admins"],"iamRolesToOverride":[],"preferredRole":""}`,
			`{"claimsAndScopeOverrideDetails":{` +
				`"idTokenGeneration":{"claimsToAddOrOverride":{"installer_status":"unknown","tenant_id":"","tenant_status":"unknown"}},` +
				`"accessTokenGeneration":{"claimsToAddOrOverride":{"installer_status":"unknown","tenant_id":"","tenant_status":"unknown"},"scopesToSuppress":["fleetclaim/claims","fleetclaim/admin"]},` +
				`"groupOverrideDetails":{"groupsToOverride":[]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			tenant := ""
			if tt.status != "" {
				tenant = "acme"
				if err := st.CreateInstaller(context.Background(), fleetclaim.Installer{ID: sub, Username: sub, Email: "ana@acme.example",
					TenantID: "acme", Status: tt.status}); err != nil {
					t.Fatal(err)
				}
			}
			h := &cognitotrigger.PreTokenGeneration{Enrollment: enrollment(st, st), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			payload := `{"version":"2","triggerSource":"TokenGeneration_Authentication","region":"eu-west-1","userPoolId":"eu-west-1_AbC123",` +
				`"userName":"` + sub + `","callerContext":{"awsSdkVersion":"aws-sdk-unknown-unknown","clientId":"client"},` +
				`"request":{"userAttributes":{"sub":"` + sub + `","custom:tenant_id":"` + tenant + `"},"groupConfiguration":` + tt.groups +
				`,"scopes":["openid"]},"response":{"claimsAndScopeOverrideDetails":null}}`
			out, err := h.Invoke(context.Background(), []byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			got := string(out)
			want := `{"callerContext":{"awsSdkVersion":"aws-sdk-unknown-unknown","clientId":"client"},"region":"eu-west-1",` +
				`"request":{"userAttributes":{"sub":"` + sub + `","custom:tenant_id":"` + tenant + `"},"groupConfiguration":` + tt.groups +
				`,"scopes":["openid"]},"response":` + tt.want +
				`,"triggerSource":"TokenGeneration_Authentication","userName":"` + sub + `","userPoolId":"eu-west-1_AbC123","version":"2"}`
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// An empty response encodes as an empty object, not as nulls.
func TestEncodePreTokenResponseEmpty(t *testing.T) {
	got, err := cognitotrigger.EncodePreTokenResponse(events.CognitoEventUserPoolsPreTokenGenResponseV2_0{})
	if err != nil || string(got) != `{}` {
		t.Errorf("got %s, %v; want {}", got, err)
	}
}

// A confirmed user without a record (post confirmation failed) gets one at
// sign-in, approved here because the tenant auto-approves the domain, and a
// token that says so.
func TestPreTokenGenerationRepairsMissingRecord(t *testing.T) {
	st := openStore(t)
	h := &cognitotrigger.PreTokenGeneration{Enrollment: enrollment(st, st), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ev := events.CognitoEventUserPoolsPreTokenGenV2_0{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{TriggerSource: "TokenGeneration_Authentication", UserName: sub},
		Request: events.CognitoEventUserPoolsPreTokenGenRequestV2_0{UserAttributes: map[string]string{
			"sub": sub, "email": "ana@acme.example", "email_verified": "true", cognitotrigger.AttrTenantID: "acme"}},
	}
	out, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Response.ClaimsAndScopeOverrideDetails.AccessTokenGeneration.ScopesToAdd; len(got) != 1 || got[0] != fleetclaim.ScopeClaims {
		t.Errorf("got scopes %v, want [%s]", got, fleetclaim.ScopeClaims)
	}
	if in, err := st.GetInstaller(context.Background(), sub); err != nil || in.Status != fleetclaim.InstallerApproved {
		t.Errorf("got record %+v, %v; want approved", in, err)
	}
}
