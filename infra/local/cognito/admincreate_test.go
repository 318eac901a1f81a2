package cognito_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

// emailPool is a pool shaped like the deployed one: email signs in, and
// email and the tenant are required.
func emailPool(t *testing.T, opts cognito.Options) *stack {
	opts.SignInWithEmail = true
	opts.RequiredAttributes = []string{"email", "custom:tenant_id"}
	return newStack(t, opts)
}

func (s *stack) adminCreate(t *testing.T, in *cip.AdminCreateUserInput) (*cip.AdminCreateUserOutput, error) {
	t.Helper()
	in.UserPoolId = aws.String(s.pool.PoolID())
	return s.client.AdminCreateUser(t.Context(), in)
}

func (s *stack) status(t *testing.T, username string) types.UserStatusType {
	t.Helper()
	out, err := s.client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String(username)})
	if err != nil {
		t.Fatalf("AdminGetUser %s: %v", username, err)
	}
	return out.UserStatus
}

func (s *stack) newPassword(t *testing.T, session string, responses map[string]string) (*cip.RespondToAuthChallengeOutput, error) {
	t.Helper()
	return s.client.RespondToAuthChallenge(t.Context(), &cip.RespondToAuthChallengeInput{ClientId: aws.String(s.pool.ClientID()),
		ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: aws.String(session), ChallengeResponses: responses})
}

// An administrator creates a user with a generated temporary password; the
// user is FORCE_CHANGE_PASSWORD, signs in once with it, answers
// NEW_PASSWORD_REQUIRED, and is then CONFIRMED with tokens from the
// pre-token trigger. No post-confirmation trigger runs, as in Cognito.
func TestAdminCreateUserFirstSignIn(t *testing.T) {
	var postConfirmations, preTokens atomic.Int32
	s := emailPool(t, cognito.Options{
		PostConfirmation: func(_ context.Context, ev postConfirmation) (postConfirmation, error) {
			postConfirmations.Add(1)
			return ev, nil
		},
		PreTokenGeneration: func(_ context.Context, ev preToken) (preToken, error) {
			preTokens.Add(1)
			return ev, nil
		},
	})
	const email = "ops@operators.example"
	out, err := s.adminCreate(t, &cip.AdminCreateUserInput{Username: aws.String(email),
		DesiredDeliveryMediums: []types.DeliveryMediumType{types.DeliveryMediumTypeEmail},
		UserAttributes:         attrs("email", email, "email_verified", "true", "custom:tenant_id", "operators")})
	if err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	got := map[string]string{}
	for _, a := range out.User.Attributes {
		got[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	if out.User.UserStatus != types.UserStatusTypeForceChangePassword || !out.User.Enabled ||
		aws.ToString(out.User.Username) != got["sub"] || got["email"] != email || got["email_verified"] != "true" ||
		got["custom:tenant_id"] != "operators" || out.User.UserCreateDate == nil {
		t.Fatalf("got user %+v with attributes %v, want FORCE_CHANGE_PASSWORD, named by its sub, with the attributes given", out.User, got)
	}
	if st := s.status(t, email); st != types.UserStatusTypeForceChangePassword {
		t.Fatalf("AdminGetUser: got %s, want FORCE_CHANGE_PASSWORD", st)
	}
	temporary, ok := s.pool.TemporaryPassword(email)
	if !ok || len(temporary) < 12 {
		t.Fatalf("got temporary password %q (%v), want one generated to the policy", temporary, ok)
	}
	if recs := s.logs.records(t, "temporary password"); len(recs) != 1 || recs[0]["temporaryPassword"] != temporary {
		t.Errorf("got invitation log %v, want one record with the temporary password", recs)
	}

	first, err := s.passwordAuth(t, email, temporary)
	if err != nil {
		t.Fatalf("sign-in with the temporary password: %v", err)
	}
	if first.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || aws.ToString(first.Session) == "" || first.AuthenticationResult != nil {
		t.Fatalf("got %+v, want the NEW_PASSWORD_REQUIRED challenge and no tokens", first)
	}
	var shown map[string]string
	if err := json.Unmarshal([]byte(first.ChallengeParameters["userAttributes"]), &shown); err != nil || shown["email"] != email {
		t.Errorf("got userAttributes %q (%v), want the user's attributes", first.ChallengeParameters["userAttributes"], err)
	}
	if got := first.ChallengeParameters["requiredAttributes"]; got != "[]" {
		t.Errorf("got requiredAttributes %q, want [] (every required attribute is set)", got)
	}
	if got := first.ChallengeParameters["USER_ID_FOR_SRP"]; got != aws.ToString(out.User.Username) {
		t.Errorf("got USER_ID_FOR_SRP %q, want the username %q", got, aws.ToString(out.User.Username))
	}

	session := aws.ToString(first.Session)
	const newPassword = "Operator-Pass-2"
	_, err = s.newPassword(t, session, map[string]string{"USERNAME": email, "NEW_PASSWORD": "short"})
	wantAPIError[*types.InvalidPasswordException](t, err, "")
	_, err = s.newPassword(t, "not-the-session", map[string]string{"USERNAME": email, "NEW_PASSWORD": newPassword})
	wantAPIError[*types.NotAuthorizedException](t, err, "Invalid session for the user, session is expired.")
	_, err = s.newPassword(t, session, map[string]string{"USERNAME": email})
	wantAPIError[*types.InvalidParameterException](t, err, "Missing required parameter NEW_PASSWORD")
	if st := s.status(t, email); st != types.UserStatusTypeForceChangePassword {
		t.Fatalf("after refused answers: got %s, want FORCE_CHANGE_PASSWORD", st)
	}

	done, err := s.newPassword(t, session, map[string]string{"USERNAME": email, "NEW_PASSWORD": newPassword})
	if err != nil {
		t.Fatalf("RespondToAuthChallenge: %v", err)
	}
	id := s.verify(t, aws.ToString(done.AuthenticationResult.IdToken))
	if id["email"] != email || id["sub"] != got["sub"] || aws.ToString(done.AuthenticationResult.RefreshToken) == "" {
		t.Errorf("got ID token %v, want the user's, and a refresh token", id)
	}
	if st := s.status(t, email); st != types.UserStatusTypeConfirmed {
		t.Errorf("after the new password: got %s, want CONFIRMED", st)
	}
	// The session is spent, the temporary password too; the new one works.
	_, err = s.newPassword(t, session, map[string]string{"USERNAME": email, "NEW_PASSWORD": "Operator-Pass-3"})
	wantAPIError[*types.NotAuthorizedException](t, err, "")
	_, err = s.passwordAuth(t, email, temporary)
	wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
	if again, err := s.passwordAuth(t, email, newPassword); err != nil || again.AuthenticationResult == nil {
		t.Fatalf("sign-in with the new password: %+v, %v", again, err)
	}
	if n := postConfirmations.Load(); n != 0 {
		t.Errorf("post confirmation ran %d times, want never", n)
	}
	if n := preTokens.Load(); n != 2 {
		t.Errorf("pre token generation ran %d times, want 2 (the challenge's answer, the second sign-in)", n)
	}
}

// A required attribute the administrator left out is asked for in the
// challenge, and the answer must give it.
func TestNewPasswordRequiredAttributes(t *testing.T) {
	s := emailPool(t, cognito.Options{})
	const email = "ana@acme.example"
	if _, err := s.adminCreate(t, &cip.AdminCreateUserInput{Username: aws.String(email), TemporaryPassword: aws.String("Temp-Pass-1"),
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	if recs := s.logs.records(t, "temporary password"); len(recs) != 0 {
		t.Errorf("SUPPRESS: got invitation %v, want none", recs)
	}
	first, err := s.passwordAuth(t, email, "Temp-Pass-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := first.ChallengeParameters["requiredAttributes"]; got != `["userAttributes.custom:tenant_id"]` {
		t.Errorf("got requiredAttributes %q, want the tenant", got)
	}
	_, err = s.newPassword(t, aws.ToString(first.Session), map[string]string{"USERNAME": email, "NEW_PASSWORD": "New-Pass-1"})
	wantAPIError[*types.InvalidParameterException](t, err, "Invalid attributes given, custom:tenant_id is missing")
	if _, err := s.newPassword(t, aws.ToString(first.Session), map[string]string{"USERNAME": email, "NEW_PASSWORD": "New-Pass-1",
		"userAttributes.custom:tenant_id": "acme"}); err != nil {
		t.Fatalf("answer with the tenant: %v", err)
	}
	out, err := s.client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String(email)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.UserAttributes {
		if aws.ToString(a.Name) == "custom:tenant_id" && aws.ToString(a.Value) != "acme" {
			t.Errorf("got tenant %q, want acme", aws.ToString(a.Value))
		}
	}
	if out.UserStatus != types.UserStatusTypeConfirmed {
		t.Errorf("got %s, want CONFIRMED", out.UserStatus)
	}
}

// A temporary password works for 7 days; RESEND gives a new one, with a new
// period, and the old one stops working.
func TestTemporaryPasswordExpiryAndResend(t *testing.T) {
	clock := &clockMu{}
	clock.set(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	s := emailPool(t, cognito.Options{Now: clock.now})
	const email = "bo@acme.example"
	if _, err := s.adminCreate(t, &cip.AdminCreateUserInput{Username: aws.String(email), TemporaryPassword: aws.String("Temp-Pass-1"),
		UserAttributes: attrs("custom:tenant_id", "acme")}); err != nil {
		t.Fatal(err)
	}
	clock.set(clock.now().Add(7 * 24 * time.Hour))
	_, err := s.passwordAuth(t, email, "Temp-Pass-1")
	wantAPIError[*types.NotAuthorizedException](t, err, "Temporary password has expired and must be reset by an administrator.")

	if _, err := s.adminCreate(t, &cip.AdminCreateUserInput{Username: aws.String(email), MessageAction: types.MessageActionTypeResend,
		DesiredDeliveryMediums: []types.DeliveryMediumType{types.DeliveryMediumTypeEmail}}); err != nil {
		t.Fatalf("RESEND: %v", err)
	}
	renewed, ok := s.pool.TemporaryPassword(email)
	if !ok || renewed == "Temp-Pass-1" {
		t.Fatalf("got temporary password %q after RESEND, want a new one", renewed)
	}
	_, err = s.passwordAuth(t, email, "Temp-Pass-1")
	wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
	if out, err := s.passwordAuth(t, email, renewed); err != nil || out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		t.Fatalf("sign-in with the renewed password: %+v, %v; want the challenge", out, err)
	}
	// The address was never verified: Cognito sends no email invitation.
	if recs := s.logs.records(t, "no invitation delivered"); len(recs) != 2 {
		t.Errorf("got %d undelivered invitations logged, want 2 (creation and RESEND)", len(recs))
	}
}

// Bad input is refused with Cognito's exception, and changes nothing.
func TestAdminCreateUserRefusals(t *testing.T) {
	s := emailPool(t, cognito.Options{})
	s.register(t, "taken@acme.example")
	tests := []struct {
		name  string
		in    cip.AdminCreateUserInput
		check func(t *testing.T, err error)
	}{
		{"username taken", cip.AdminCreateUserInput{Username: aws.String("taken@acme.example")}, func(t *testing.T, err error) {
			wantAPIError[*types.UsernameExistsException](t, err, "An account with the given email already exists.")
		}},
		{"username not an email", cip.AdminCreateUserInput{Username: aws.String("ops")}, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidParameterException](t, err, "Username should be an email.")
		}},
		{"weak temporary password", cip.AdminCreateUserInput{Username: aws.String("new@acme.example"), TemporaryPassword: aws.String("short")},
			func(t *testing.T, err error) { wantAPIError[*types.InvalidPasswordException](t, err, "") }},
		{"unknown message action", cip.AdminCreateUserInput{Username: aws.String("new@acme.example"), MessageAction: "SHOUT"},
			func(t *testing.T, err error) { wantAPIError[*types.InvalidParameterException](t, err, "") }},
		{"unknown delivery medium", cip.AdminCreateUserInput{Username: aws.String("new@acme.example"),
			DesiredDeliveryMediums: []types.DeliveryMediumType{"PIGEON"}},
			func(t *testing.T, err error) { wantAPIError[*types.InvalidParameterException](t, err, "") }},
		{"sub given", cip.AdminCreateUserInput{Username: aws.String("new@acme.example"), UserAttributes: attrs("sub", "x")},
			func(t *testing.T, err error) {
				wantAPIError[*types.InvalidParameterException](t, err, "Cannot modify the non-mutable attribute sub")
			}},
		{"attribute outside the schema", cip.AdminCreateUserInput{Username: aws.String("new@acme.example"), UserAttributes: attrs("custom:role", "x")},
			func(t *testing.T, err error) { wantAPIError[*types.InvalidParameterException](t, err, "") }},
		{"RESEND to nobody", cip.AdminCreateUserInput{Username: aws.String("nobody@acme.example"), MessageAction: types.MessageActionTypeResend},
			func(t *testing.T, err error) {
				wantAPIError[*types.UserNotFoundException](t, err, "User does not exist.")
			}},
		{"RESEND to a confirmed user", cip.AdminCreateUserInput{Username: aws.String("taken@acme.example"), MessageAction: types.MessageActionTypeResend},
			func(t *testing.T, err error) { wantAPIError[*types.UnsupportedUserStateException](t, err, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.adminCreate(t, &tt.in)
			tt.check(t, err)
			if _, ok := s.pool.TemporaryPassword(aws.ToString(tt.in.Username)); ok {
				t.Errorf("a refused call left a temporary password for %s", aws.ToString(tt.in.Username))
			}
		})
	}
	if _, err := s.client.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(s.pool.PoolID()),
		Username: aws.String("new@acme.example")}); err == nil {
		t.Error("a refused AdminCreateUser left a user")
	}
	// Like every Admin* operation, it is for IAM principals only.
	anonymous := cip.New(cip.Options{Region: s.pool.Region(), BaseEndpoint: aws.String(s.srv.URL), HTTPClient: s.srv.Client(),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	_, err := anonymous.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(s.pool.PoolID()),
		Username: aws.String("new@acme.example")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: got %v, want MissingAuthenticationTokenException", err)
	}
}
