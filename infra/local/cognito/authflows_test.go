package cognito_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

// TestAuthFlowsOfTheClient: the app client runs only the flows it allows,
// and refuses the others as Cognito refuses a flow missing from a client's
// ExplicitAuthFlows, before looking at the credentials.
func TestAuthFlowsOfTheClient(t *testing.T) {
	srpOnly := newStack(t, cognito.Options{AuthFlows: []string{"USER_SRP_AUTH", "REFRESH_TOKEN_AUTH"}})
	srpOnly.register(t, "jane")
	passwordOnly := newStack(t, cognito.Options{AuthFlows: []string{"USER_PASSWORD_AUTH"}})
	passwordOnly.register(t, "jane")
	tokens, err := srpOnly.srpSignIn(t, "jane", testPassword, nil)
	if err != nil {
		t.Fatalf("SRP sign-in on a client that allows it: %v", err)
	}
	refresh := aws.ToString(tokens.AuthenticationResult.RefreshToken)

	initiate := func(s *stack, flow types.AuthFlowType, params map[string]string) error {
		_, err := s.client.InitiateAuth(t.Context(), &cip.InitiateAuthInput{AuthFlow: flow,
			ClientId: aws.String(s.pool.ClientID()), AuthParameters: params})
		return err
	}
	tests := []struct {
		name    string
		s       *stack
		flow    types.AuthFlowType
		params  map[string]string
		wantErr string // "" means the flow runs
	}{
		{"password flow on an SRP client, right password", srpOnly, types.AuthFlowTypeUserPasswordAuth,
			map[string]string{"USERNAME": "jane", "PASSWORD": testPassword}, "USER_PASSWORD_AUTH flow not enabled for this client"},
		{"password flow on an SRP client, no parameters", srpOnly, types.AuthFlowTypeUserPasswordAuth,
			nil, "USER_PASSWORD_AUTH flow not enabled for this client"},
		{"refresh on an SRP client", srpOnly, types.AuthFlowTypeRefreshTokenAuth,
			map[string]string{"REFRESH_TOKEN": refresh}, ""},
		{"refresh by its older name on an SRP client", srpOnly, types.AuthFlowTypeRefreshToken,
			map[string]string{"REFRESH_TOKEN": refresh}, ""},
		{"SRP on a password client", passwordOnly, types.AuthFlowTypeUserSrpAuth,
			map[string]string{"USERNAME": "jane", "SRP_A": "02"}, "USER_SRP_AUTH flow not enabled for this client"},
		{"refresh on a password client", passwordOnly, types.AuthFlowTypeRefreshTokenAuth,
			map[string]string{"REFRESH_TOKEN": refresh}, "REFRESH_TOKEN_AUTH flow not enabled for this client"},
		{"password flow on a password client", passwordOnly, types.AuthFlowTypeUserPasswordAuth,
			map[string]string{"USERNAME": "jane", "PASSWORD": testPassword}, ""},
		{"a flow the pool does not serve", srpOnly, types.AuthFlowTypeCustomAuth,
			map[string]string{"USERNAME": "jane"}, "Initiate Auth method not supported."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := initiate(tt.s, tt.flow, tt.params)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want the flow to run", err)
				}
				return
			}
			wantAPIError[*types.InvalidParameterException](t, err, tt.wantErr)
		})
	}

	// Refused attempts prove nothing and count toward no lock-out.
	for range 6 {
		if err := initiate(srpOnly, types.AuthFlowTypeUserPasswordAuth, map[string]string{"USERNAME": "jane", "PASSWORD": "Wrong-Passw0rd"}); err == nil {
			t.Fatal("a refused flow ran")
		}
	}
	if _, err := srpOnly.srpSignIn(t, "jane", testPassword, nil); err != nil {
		t.Errorf("SRP sign-in after refused password-flow attempts: %v", err)
	}
}

func TestAuthFlowsOptionRefusesUnknownFlows(t *testing.T) {
	for _, flows := range [][]string{{"CUSTOM_AUTH"}, {"ALLOW_USER_SRP_AUTH"}, {"USER_SRP_AUTH", ""}} {
		_, err := cognito.New(cognito.Options{DataDir: t.TempDir(), BaseURL: "http://127.0.0.1:9", AuthFlows: flows})
		if err == nil {
			t.Errorf("New with AuthFlows %q: got no error, want one", flows)
		}
	}
}
