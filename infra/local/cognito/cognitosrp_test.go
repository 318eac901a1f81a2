package cognito_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
	"github.com/fleetclaim/fleetclaim/shared/cognitosrp"
	"github.com/fleetclaim/fleetclaim/shared/config"
)

// The project's Go SRP client (shared/cognitosrp), which the local stack's
// tools and tests sign in with, against the pool over HTTP: a pool that
// signs in with email, as the deployed one does, whose client allows the
// deployed client's flows.

func newSRPOnlyStack(t *testing.T) *stack {
	t.Helper()
	return newStack(t, cognito.Options{SignInWithEmail: true, AuthFlows: config.AppClientAuthFlows()})
}

func TestCognitoSRPSignIn(t *testing.T) {
	s := newSRPOnlyStack(t)
	sub := aws.ToString(s.signUp(t, "jane@acme.example").UserSub)
	s.confirm(t, "jane@acme.example")
	tests := []struct {
		name               string
		username, password string
		wantErr            bool
	}{
		{"right password", "jane@acme.example", testPassword, false},
		{"the address in another case", "Jane@Acme.example", testPassword, false},
		{"wrong password", "jane@acme.example", "Wr0ng-Password-1", true},
		{"unknown user", "nobody@acme.example", testPassword, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cognitosrp.SignIn(t.Context(), s.client, s.pool.PoolID(), s.pool.ClientID(), tt.username, tt.password)
			if tt.wantErr {
				if out != nil {
					t.Errorf("got %+v, want no answer", out)
				}
				wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
				return
			}
			if err != nil || out.AuthenticationResult == nil {
				t.Fatalf("got %+v, %v; want tokens", out, err)
			}
			claims := s.verify(t, aws.ToString(out.AuthenticationResult.AccessToken))
			if claims["sub"] != sub {
				t.Errorf("got access token sub %v, want %s", claims["sub"], sub)
			}
			if aws.ToString(out.AuthenticationResult.RefreshToken) == "" {
				t.Error("got no refresh token")
			}
		})
	}
}

// TestCognitoSRPNewPassword: a user an administrator created signs in with
// the temporary password, is asked for a new one, and signs in with it from
// then on; the temporary one no longer works.
func TestCognitoSRPNewPassword(t *testing.T) {
	s := newSRPOnlyStack(t)
	const email, chosen = "ops@acme.example", "Chosen-Passw0rd-1"
	if _, err := s.adminCreate(t, &cip.AdminCreateUserInput{Username: aws.String(email),
		UserAttributes: attrs("email", email, "email_verified", "true", "custom:tenant_id", "acme")}); err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	temporary, ok := s.pool.TemporaryPassword(email)
	if !ok {
		t.Fatal("no temporary password")
	}
	first, err := cognitosrp.SignIn(t.Context(), s.client, s.pool.PoolID(), s.pool.ClientID(), email, temporary)
	if err != nil || first.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || first.AuthenticationResult != nil {
		t.Fatalf("got %+v, %v; want the NEW_PASSWORD_REQUIRED challenge", first, err)
	}
	if _, err := cognitosrp.NewPassword(t.Context(), s.client, s.pool.ClientID(), &cip.RespondToAuthChallengeOutput{}, chosen, nil); !errors.Is(err, cognitosrp.ErrNotNewPasswordRequired) {
		t.Errorf("NewPassword without the challenge: got %v, want ErrNotNewPasswordRequired", err)
	}
	done, err := cognitosrp.NewPassword(t.Context(), s.client, s.pool.ClientID(), first, chosen, nil)
	if err != nil || done.AuthenticationResult == nil {
		t.Fatalf("NewPassword: got %+v, %v; want tokens", done, err)
	}
	again, err := cognitosrp.SignIn(t.Context(), s.client, s.pool.PoolID(), s.pool.ClientID(), email, chosen)
	if err != nil || again.AuthenticationResult == nil {
		t.Fatalf("sign-in with the new password: got %+v, %v; want tokens", again, err)
	}
	_, err = cognitosrp.SignIn(t.Context(), s.client, s.pool.PoolID(), s.pool.ClientID(), email, temporary)
	wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
}
