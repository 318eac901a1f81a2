package cognitosrp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
	"github.com/fleetclaim/fleetclaim/shared/cognitosrp"
)

// The sign-in runs against the local stack's Cognito stand-in over HTTP on
// 127.0.0.1, with the unmodified SDK client, as the project's tools do.

const password = "Passw0rd-Local-1"

var operator = aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "local-secret"}

type pool struct {
	*cognito.Pool
	api *cip.Client
}

// newPool serves a pool that signs in with email, as the deployed one does,
// and whose app client allows SRP and refresh only.
func newPool(t *testing.T) pool {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p, err := cognito.New(cognito.Options{DataDir: t.TempDir(), BaseURL: "http://" + srv.Listener.Addr().String(),
		SignInWithEmail: true, AdminCredentials: operator, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		AuthFlows: []string{"USER_SRP_AUTH", "REFRESH_TOKEN_AUTH"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return pool{Pool: p, api: cip.New(cip.Options{Region: p.Region(), BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.StaticCredentialsProvider{Value: operator}, HTTPClient: srv.Client(), RetryMaxAttempts: 1})}
}

// register signs email up and confirms it with its code; it returns the
// user's sub.
func (p pool) register(t *testing.T, email string) string {
	t.Helper()
	out, err := p.api.SignUp(t.Context(), &cip.SignUpInput{ClientId: aws.String(p.ClientID()), Username: aws.String(email),
		Password: aws.String(password), UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)}}})
	if err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	code, ok := p.ConfirmationCode(email)
	if !ok {
		t.Fatal("no confirmation code")
	}
	if _, err := p.api.ConfirmSignUp(t.Context(), &cip.ConfirmSignUpInput{ClientId: aws.String(p.ClientID()),
		Username: aws.String(email), ConfirmationCode: aws.String(code)}); err != nil {
		t.Fatalf("ConfirmSignUp: %v", err)
	}
	return aws.ToString(out.UserSub)
}

// claims decodes a JWT's payload; the stand-in's own tests check its
// signatures.
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("got token %q, want a JWT", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignIn(t *testing.T) {
	p := newPool(t)
	sub := p.register(t, "jane@acme.example")
	tests := []struct {
		name               string
		username, password string
		wantErr            bool
	}{
		{"right password", "jane@acme.example", password, false},
		{"the address in another case", "Jane@Acme.example", password, false},
		{"wrong password", "jane@acme.example", "Wr0ng-Password-1", true},
		{"unknown user", "nobody@acme.example", password, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cognitosrp.SignIn(t.Context(), p.api, p.PoolID(), p.ClientID(), tt.username, tt.password)
			if tt.wantErr {
				var refused *types.NotAuthorizedException
				if !errors.As(err, &refused) || out != nil {
					t.Fatalf("got %+v, %v; want NotAuthorizedException", out, err)
				}
				return
			}
			if err != nil || out.AuthenticationResult == nil {
				t.Fatalf("got %+v, %v; want tokens", out, err)
			}
			if got := claims(t, aws.ToString(out.AuthenticationResult.AccessToken))["sub"]; got != sub {
				t.Errorf("got access token sub %v, want %s", got, sub)
			}
			if aws.ToString(out.AuthenticationResult.RefreshToken) == "" {
				t.Error("got no refresh token")
			}
		})
	}
}

// TestNewPassword: a user an administrator created signs in with the
// temporary password, is asked for a new one, and signs in with it from
// then on; the temporary one no longer works.
func TestNewPassword(t *testing.T) {
	p := newPool(t)
	const email, chosen = "ops@acme.example", "Chosen-Passw0rd-1"
	if _, err := p.api.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(p.PoolID()),
		Username: aws.String(email), UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	temporary, ok := p.TemporaryPassword(email)
	if !ok {
		t.Fatal("no temporary password")
	}
	first, err := cognitosrp.SignIn(t.Context(), p.api, p.PoolID(), p.ClientID(), email, temporary)
	if err != nil || first.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || first.AuthenticationResult != nil {
		t.Fatalf("got %+v, %v; want the NEW_PASSWORD_REQUIRED challenge", first, err)
	}
	if _, err := cognitosrp.NewPassword(t.Context(), p.api, p.ClientID(), &cip.RespondToAuthChallengeOutput{}, chosen, nil); !errors.Is(err, cognitosrp.ErrNotNewPasswordRequired) {
		t.Errorf("NewPassword without the challenge: got %v, want ErrNotNewPasswordRequired", err)
	}
	done, err := cognitosrp.NewPassword(t.Context(), p.api, p.ClientID(), first, chosen, nil)
	if err != nil || done.AuthenticationResult == nil {
		t.Fatalf("NewPassword: got %+v, %v; want tokens", done, err)
	}
	again, err := cognitosrp.SignIn(t.Context(), p.api, p.PoolID(), p.ClientID(), email, chosen)
	if err != nil || again.AuthenticationResult == nil {
		t.Fatalf("sign-in with the new password: got %+v, %v; want tokens", again, err)
	}
	var refused *types.NotAuthorizedException
	if _, err := cognitosrp.SignIn(t.Context(), p.api, p.PoolID(), p.ClientID(), email, temporary); !errors.As(err, &refused) {
		t.Errorf("sign-in with the spent temporary password: got %v, want NotAuthorizedException", err)
	}
}

// TestSignInRefusesAnUnusableChallenge: a server that answers with no
// usable B gets no proof of the password.
func TestSignInRefusesAnUnusableChallenge(t *testing.T) {
	api := fakeAPI{params: map[string]string{"USER_ID_FOR_SRP": "jane", "SALT": "ab", "SRP_B": "0", "SECRET_BLOCK": "c2VjcmV0"}}
	_, err := cognitosrp.SignIn(t.Context(), &api, "eu-west-1_Ab12", "client", "jane", password)
	if !errors.Is(err, cognitosrp.ErrBadChallenge) {
		t.Errorf("got %v, want ErrBadChallenge", err)
	}
	if api.responded {
		t.Error("answered a challenge whose B is 0")
	}
}

// fakeAPI answers InitiateAuth with fixed challenge parameters.
type fakeAPI struct {
	params    map[string]string
	responded bool
}

func (f *fakeAPI) InitiateAuth(_ context.Context, _ *cip.InitiateAuthInput, _ ...func(*cip.Options)) (*cip.InitiateAuthOutput, error) {
	return &cip.InitiateAuthOutput{ChallengeName: types.ChallengeNameTypePasswordVerifier, ChallengeParameters: f.params}, nil
}

func (f *fakeAPI) RespondToAuthChallenge(_ context.Context, _ *cip.RespondToAuthChallengeInput, _ ...func(*cip.Options)) (*cip.RespondToAuthChallengeOutput, error) {
	f.responded = true
	return &cip.RespondToAuthChallengeOutput{}, nil
}
