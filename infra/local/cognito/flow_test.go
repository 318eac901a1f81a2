package cognito_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

func TestSignUpConfirmSignInRefresh(t *testing.T) {
	s := newStack(t, cognito.Options{})
	ctx := t.Context()

	up := s.signUp(t, "jane")
	if up.UserConfirmed {
		t.Errorf("got UserConfirmed true, want false before confirmation")
	}
	if ok, _ := regexp.MatchString(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, aws.ToString(up.UserSub)); !ok {
		t.Errorf("got UserSub %q, want a UUID", aws.ToString(up.UserSub))
	}
	d := up.CodeDeliveryDetails
	if d == nil || d.DeliveryMedium != types.DeliveryMediumTypeEmail || aws.ToString(d.AttributeName) != "email" ||
		aws.ToString(d.Destination) == "jane@acme.example" {
		t.Errorf("got CodeDeliveryDetails %+v, want a masked EMAIL destination for attribute email", d)
	}

	_, err := s.passwordAuth(t, "jane", testPassword)
	wantAPIError[*types.UserNotConfirmedException](t, err, "User is not confirmed.")

	// The code is delivered through the log, where Cognito would email it.
	recs := s.logs.records(t, "confirmation code")
	if len(recs) != 1 || recs[0]["username"] != "jane" {
		t.Fatalf("got confirmation code log records %v, want one for jane", recs)
	}
	code, _ := recs[0]["code"].(string)
	if ok, _ := regexp.MatchString(`^[0-9]{6}$`, code); !ok {
		t.Fatalf("got code %q, want six digits", code)
	}
	if got, _ := s.pool.ConfirmationCode("jane"); got != code {
		t.Errorf("got ConfirmationCode %q, want the logged %q", got, code)
	}

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	_, err = s.client.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane"), ConfirmationCode: aws.String(wrong)})
	wantAPIError[*types.CodeMismatchException](t, err, "Invalid verification code provided, please try again.")

	if _, err := s.client.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane"), ConfirmationCode: aws.String(code)}); err != nil {
		t.Fatalf("ConfirmSignUp: %v", err)
	}
	_, err = s.client.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane"), ConfirmationCode: aws.String(code)})
	wantAPIError[*types.NotAuthorizedException](t, err, "User cannot be confirmed. Current status is CONFIRMED")

	auth := s.login(t, "jane")
	if got, want := aws.ToString(auth.TokenType), "Bearer"; got != want {
		t.Errorf("got TokenType %q, want %q", got, want)
	}
	if got, want := auth.ExpiresIn, int32(3600); got != want {
		t.Errorf("got ExpiresIn %d, want %d", got, want)
	}
	if aws.ToString(auth.RefreshToken) == "" {
		t.Fatalf("got no refresh token")
	}
	access := s.verify(t, aws.ToString(auth.AccessToken))
	id := s.verify(t, aws.ToString(auth.IdToken))
	checkAccessLayout(t, s, access, "jane", up)
	checkIDLayout(t, s, id, "jane", up)
	if access["origin_jti"] != id["origin_jti"] || access["event_id"] != id["event_id"] || access["jti"] == id["jti"] {
		t.Errorf("got origin_jti %v/%v event_id %v/%v jti %v/%v, want shared origin_jti and event_id and distinct jti",
			access["origin_jti"], id["origin_jti"], access["event_id"], id["event_id"], access["jti"], id["jti"])
	}

	got, err := s.client.GetUser(ctx, &cip.GetUserInput{AccessToken: auth.AccessToken})
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	gotAttrs := map[string]string{}
	for _, a := range got.UserAttributes {
		gotAttrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	wantAttrs := map[string]string{"sub": aws.ToString(up.UserSub), "email": "jane@acme.example", "email_verified": "true", "custom:tenant_id": "acme"}
	if aws.ToString(got.Username) != "jane" || !mapsEqual(gotAttrs, wantAttrs) {
		t.Errorf("got GetUser %s %v, want jane %v", aws.ToString(got.Username), gotAttrs, wantAttrs)
	}

	for _, flow := range []types.AuthFlowType{types.AuthFlowTypeRefreshTokenAuth, types.AuthFlowTypeRefreshToken} {
		out, err := s.client.InitiateAuth(ctx, &cip.InitiateAuthInput{
			AuthFlow: flow, ClientId: aws.String(s.pool.ClientID()),
			AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(auth.RefreshToken)},
		})
		if err != nil {
			t.Fatalf("InitiateAuth %s: %v", flow, err)
		}
		r := out.AuthenticationResult
		if r.RefreshToken != nil {
			t.Errorf("%s: got a new refresh token, want none (no rotation, as Cognito)", flow)
		}
		refreshed := s.verify(t, aws.ToString(r.AccessToken))
		if refreshed["origin_jti"] != access["origin_jti"] || refreshed["auth_time"] != access["auth_time"] || refreshed["jti"] == access["jti"] {
			t.Errorf("%s: got origin_jti %v auth_time %v jti %v, want the session's origin_jti and auth_time and a new jti",
				flow, refreshed["origin_jti"], refreshed["auth_time"], refreshed["jti"])
		}
		checkIDLayout(t, s, s.verify(t, aws.ToString(r.IdToken)), "jane", up)
	}
}

func checkAccessLayout(t *testing.T, s *stack, c map[string]any, username string, up *cip.SignUpOutput) {
	t.Helper()
	want := map[string]any{
		"sub": aws.ToString(up.UserSub), "iss": s.pool.Issuer(), "client_id": s.pool.ClientID(), "token_use": "access",
		"scope": "aws.cognito.signin.user.admin", "username": username, "version": float64(2),
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("access token %s: got %v, want %v", k, c[k], v)
		}
	}
	checkTimes(t, c)
	for _, k := range []string{"origin_jti", "event_id", "jti"} {
		if s, _ := c[k].(string); len(s) != 36 {
			t.Errorf("access token %s: got %v, want a UUID", k, c[k])
		}
	}
	for _, k := range []string{"aud", "email", "cognito:username"} {
		if _, ok := c[k]; ok {
			t.Errorf("access token has %s, which Cognito puts only in ID tokens", k)
		}
	}
}

func checkIDLayout(t *testing.T, s *stack, c map[string]any, username string, up *cip.SignUpOutput) {
	t.Helper()
	want := map[string]any{
		"sub": aws.ToString(up.UserSub), "iss": s.pool.Issuer(), "aud": s.pool.ClientID(), "token_use": "id",
		"cognito:username": username, "email": username + "@acme.example", "email_verified": true, "custom:tenant_id": "acme",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("ID token %s: got %v (%T), want %v (%T)", k, c[k], c[k], v, v)
		}
	}
	checkTimes(t, c)
	for _, k := range []string{"scope", "client_id", "username"} {
		if _, ok := c[k]; ok {
			t.Errorf("ID token has %s, which Cognito puts only in access tokens", k)
		}
	}
}

func checkTimes(t *testing.T, c map[string]any) {
	t.Helper()
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	authTime, _ := c["auth_time"].(float64)
	now := float64(time.Now().Unix())
	if iat < now-60 || iat > now+5 || exp-iat != 3600 || authTime == 0 || authTime > iat {
		t.Errorf("got iat %v exp %v auth_time %v, want iat now, exp an hour later, auth_time at or before iat", iat, exp, authTime)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestDiscovery(t *testing.T) {
	s := newStack(t, cognito.Options{PoolID: "local-1_AbCdE1234", ClientID: "1example23456789abcdefghij"})
	if got, want := s.pool.Issuer(), s.srv.URL+"/local-1_AbCdE1234"; got != want {
		t.Errorf("got issuer %q, want %q", got, want)
	}
	var doc map[string]any
	s.getJSON(t, s.pool.Issuer()+"/.well-known/openid-configuration", &doc)
	if doc["issuer"] != s.pool.Issuer() || doc["jwks_uri"] != s.pool.Issuer()+"/.well-known/jwks.json" ||
		!slices.Equal(stringsOf(doc["id_token_signing_alg_values_supported"]), []string{"RS256"}) {
		t.Errorf("got discovery document %v, want the pool's issuer, JWKS URI and RS256", doc)
	}
	if keys := s.jwks(t); len(keys) == 0 {
		t.Errorf("got an empty JWKS")
	}
}

func TestSignUpRejects(t *testing.T) {
	s := newStack(t, cognito.Options{})
	s.signUp(t, "taken")
	tests := []struct {
		name     string
		client   string
		username string
		password string
		attrs    []types.AttributeType
		check    func(*testing.T, error)
	}{
		{"short password", "", "a1", "Sh0rt", nil, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidPasswordException](t, err, "Password did not conform with policy: Password not long enough")
		}},
		{"short in characters though long in bytes", "", "a9", "Päss0ö", nil, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidPasswordException](t, err, "Password did not conform with policy: Password not long enough")
		}},
		{"no upper case", "", "a2", "passw0rdlocal", nil, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidPasswordException](t, err, "Password did not conform with policy: Password must have uppercase characters")
		}},
		{"no lower case", "", "a3", "PASSW0RDLOCAL", nil, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidPasswordException](t, err, "Password did not conform with policy: Password must have lowercase characters")
		}},
		{"no digit", "", "a4", "PasswordLocal", nil, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidPasswordException](t, err, "Password did not conform with policy: Password must have numeric characters")
		}},
		{"existing username, other case", "", "TAKEN", testPassword, nil, func(t *testing.T, err error) {
			wantAPIError[*types.UsernameExistsException](t, err, "User already exists")
		}},
		{"unknown client", "nosuchclient", "a5", testPassword, nil, func(t *testing.T, err error) {
			wantAPIError[*types.ResourceNotFoundException](t, err, "User pool client nosuchclient does not exist.")
		}},
		{"missing email", "", "a6", testPassword, attrs("custom:tenant_id", "acme"), func(t *testing.T, err error) {
			wantAPIError[*types.InvalidParameterException](t, err, "Attributes did not conform to the schema: email: The attribute is required")
		}},
		{"malformed email", "", "a7", testPassword, attrs("email", "not-an-address"), func(t *testing.T, err error) {
			wantAPIError[*types.InvalidParameterException](t, err, "Invalid email address format.")
		}},
		{"attribute longer than Cognito allows", "", "a10", testPassword, attrs("email", "a10@acme.example", "custom:tenant_id", strings.Repeat("a", 2049)),
			func(t *testing.T, err error) {
				wantAPIError[*types.InvalidParameterException](t, err,
					"Attributes did not conform to the schema: custom:tenant_id: String must be no longer than 2048 characters")
			}},
		{"self-verified email", "", "a8", testPassword, attrs("email", "a8@acme.example", "email_verified", "true"), func(t *testing.T, err error) {
			wantAPIError[*types.InvalidParameterException](t, err, "")
		}},
		{"a claim name as an attribute", "", "b0", testPassword, attrs("email", "b0@acme.example", "token_use", "x"), func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "A client attempted to write unauthorized attribute")
		}},
		{"the scope claim", "", "b1", testPassword, attrs("email", "b1@acme.example", "scope", "x"), func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "A client attempted to write unauthorized attribute")
		}},
		{"the issuer claim", "", "b2", testPassword, attrs("email", "b2@acme.example", "iss", "x"), func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "A client attempted to write unauthorized attribute")
		}},
		{"the audience claim", "", "b3", testPassword, attrs("email", "b3@acme.example", "aud", "x"), func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "A client attempted to write unauthorized attribute")
		}},
		{"a custom attribute outside the schema", "", "b4", testPassword, attrs("email", "b4@acme.example", "custom:role", "x"), func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "A client attempted to write unauthorized attribute")
		}},
		{"a standard attribute the client may not write", "", "b5", testPassword, attrs("email", "b5@acme.example", "name", "x"), func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "A client attempted to write unauthorized attribute")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.attrs
			if a == nil {
				a = attrs("email", tt.username+"@acme.example")
			}
			client := tt.client
			if client == "" {
				client = s.pool.ClientID()
			}
			_, err := s.client.SignUp(t.Context(), &cip.SignUpInput{
				ClientId: aws.String(client), Username: aws.String(tt.username), Password: aws.String(tt.password), UserAttributes: a})
			tt.check(t, err)
			if _, ok := s.pool.ConfirmationCode(tt.username); ok && !strings.EqualFold(tt.username, "taken") {
				t.Errorf("a rejected sign-up left user %s behind", tt.username)
			}
		})
	}
}

func TestInitiateAuthRejects(t *testing.T) {
	s := newStack(t, cognito.Options{})
	s.register(t, "jane")
	tests := []struct {
		name  string
		in    cip.InitiateAuthInput
		check func(*testing.T, error)
	}{
		{"wrong password", cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": "jane", "PASSWORD": "Wr0ngPassword"}}, func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
		}},
		{"unknown user answers like a wrong password", cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": "nobody", "PASSWORD": testPassword}}, func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
		}},
		{"missing password", cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": "jane"}}, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidParameterException](t, err, "Missing required parameter PASSWORD")
		}},
		{"unknown refresh token", cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
			AuthParameters: map[string]string{"REFRESH_TOKEN": "bogus"}}, func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "Invalid Refresh Token")
		}},
		{"unsupported flow", cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserSrpAuth,
			AuthParameters: map[string]string{"USERNAME": "jane", "SRP_A": "1234"}}, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidParameterException](t, err, "")
		}},
		{"unknown client", cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String("other"),
			AuthParameters: map[string]string{"USERNAME": "jane", "PASSWORD": testPassword}}, func(t *testing.T, err error) {
			wantAPIError[*types.ResourceNotFoundException](t, err, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.ClientId == nil {
				in.ClientId = aws.String(s.pool.ClientID())
			}
			_, err := s.client.InitiateAuth(t.Context(), &in)
			tt.check(t, err)
		})
	}
}

func TestAccessTokenChecks(t *testing.T) {
	s := newStack(t, cognito.Options{})
	s.register(t, "jane")
	auth := s.login(t, "jane")
	tests := []struct {
		name, token, message string
	}{
		{"ID token", aws.ToString(auth.IdToken), "Invalid Access Token"},
		{"garbage", "not.a.jwt", "Invalid Access Token"},
		{"tampered", aws.ToString(auth.AccessToken) + "x", "Invalid Access Token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.client.GetUser(t.Context(), &cip.GetUserInput{AccessToken: aws.String(tt.token)})
			wantAPIError[*types.NotAuthorizedException](t, err, tt.message)
		})
	}
}

func TestExpiredTokens(t *testing.T) {
	now := time.Now()
	var mu clockMu
	mu.set(now)
	s := newStack(t, cognito.Options{Now: mu.now, RefreshTokenLifetime: 2 * time.Hour})
	s.register(t, "jane")
	auth := s.login(t, "jane")

	mu.set(now.Add(61 * time.Minute))
	_, err := s.client.GetUser(t.Context(), &cip.GetUserInput{AccessToken: auth.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, err, "Access Token has expired")
	if _, err := s.refresh(t, aws.ToString(auth.RefreshToken)); err != nil {
		t.Fatalf("refresh within the refresh token's lifetime: %v", err)
	}

	mu.set(now.Add(121 * time.Minute))
	_, err = s.refresh(t, aws.ToString(auth.RefreshToken))
	wantAPIError[*types.NotAuthorizedException](t, err, "Refresh Token has expired")
}

// TestTokenValidities: each token lives as long as the app client says, so
// an app can watch a short access token expire and get a new one through
// REFRESH_TOKEN_AUTH while the ID token, given longer, is still good.
func TestTokenValidities(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	var mu clockMu
	mu.set(now)
	s := newStack(t, cognito.Options{Now: mu.now, AccessTokenLifetime: 2 * time.Minute, IDTokenLifetime: 10 * time.Minute,
		RefreshTokenLifetime: time.Hour})
	s.register(t, "jane")
	auth := s.login(t, "jane")
	if got, want := auth.ExpiresIn, int32(120); got != want {
		t.Errorf("got ExpiresIn %d, want %d", got, want)
	}
	for _, tt := range []struct {
		name  string
		token string
		want  time.Duration
	}{
		{"access", aws.ToString(auth.AccessToken), 2 * time.Minute},
		{"id", aws.ToString(auth.IdToken), 10 * time.Minute},
	} {
		exp, err := s.verify(t, tt.token).GetExpirationTime()
		if err != nil || !exp.Equal(now.Add(tt.want)) {
			t.Errorf("%s token: got exp %v (%v), want %v", tt.name, exp, err, now.Add(tt.want))
		}
	}

	mu.set(now.Add(2*time.Minute + time.Second))
	_, err := s.client.GetUser(t.Context(), &cip.GetUserInput{AccessToken: auth.AccessToken})
	wantAPIError[*types.NotAuthorizedException](t, err, "Access Token has expired")
	refreshed, err := s.refresh(t, aws.ToString(auth.RefreshToken))
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := s.client.GetUser(t.Context(), &cip.GetUserInput{AccessToken: refreshed.AuthenticationResult.AccessToken}); err != nil {
		t.Errorf("GetUser with the refreshed access token: %v", err)
	}
	exp, err := s.verify(t, aws.ToString(refreshed.AuthenticationResult.AccessToken)).GetExpirationTime()
	if err != nil || !exp.Equal(mu.now().Add(2*time.Minute)) {
		t.Errorf("refreshed access token: got exp %v (%v), want %v", exp, err, mu.now().Add(2*time.Minute))
	}

	mu.set(now.Add(time.Hour + time.Second))
	_, err = s.refresh(t, aws.ToString(auth.RefreshToken))
	wantAPIError[*types.NotAuthorizedException](t, err, "Refresh Token has expired")
}

func TestUnknownOperation(t *testing.T) {
	s := newStack(t, cognito.Options{})
	_, err := s.client.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(s.pool.PoolID())})
	if err == nil || !strings.Contains(err.Error(), "UnknownOperationException") {
		t.Errorf("got %v, want UnknownOperationException", err)
	}
}

func TestSignInWithEmail(t *testing.T) {
	s := newStack(t, cognito.Options{SignInWithEmail: true})
	ctx := t.Context()
	out, err := s.client.SignUp(ctx, &cip.SignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("Jane@Acme.example"), Password: aws.String(testPassword),
		UserAttributes: attrs("custom:tenant_id", "acme"),
	})
	if err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	sub := aws.ToString(out.UserSub)
	s.confirm(t, "jane@acme.example")

	_, err = s.client.SignUp(ctx, &cip.SignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane@acme.example"), Password: aws.String(testPassword)})
	wantAPIError[*types.UsernameExistsException](t, err, "An account with the given email already exists.")
	_, err = s.client.SignUp(ctx, &cip.SignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane"), Password: aws.String(testPassword)})
	wantAPIError[*types.InvalidParameterException](t, err, "Username should be an email.")

	id := s.verify(t, aws.ToString(s.login(t, "jane@acme.example").IdToken))
	if id["cognito:username"] != sub || id["email"] != "Jane@Acme.example" {
		t.Errorf("got cognito:username %v email %v, want the sub %s and the address as given", id["cognito:username"], id["email"], sub)
	}
	for _, name := range []string{"jane@acme.example", sub} {
		got, err := s.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String(name)})
		if err != nil {
			t.Fatalf("AdminGetUser %s: %v", name, err)
		}
		if aws.ToString(got.Username) != sub || got.UserStatus != types.UserStatusTypeConfirmed || !got.Enabled {
			t.Errorf("AdminGetUser %s: got %s %s enabled=%v, want %s CONFIRMED enabled", name, aws.ToString(got.Username), got.UserStatus, got.Enabled, sub)
		}
	}
}

func TestResendConfirmationCode(t *testing.T) {
	s := newStack(t, cognito.Options{})
	ctx := t.Context()
	s.signUp(t, "jane")
	first, _ := s.pool.ConfirmationCode("jane")
	resend := func(username string) (*cip.ResendConfirmationCodeOutput, error) {
		return s.client.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{
			ClientId: aws.String(s.pool.ClientID()), Username: aws.String(username)})
	}

	out, err := resend("jane")
	if err != nil {
		t.Fatalf("ResendConfirmationCode: %v", err)
	}
	if d := out.CodeDeliveryDetails; d == nil || d.DeliveryMedium != types.DeliveryMediumTypeEmail {
		t.Errorf("got CodeDeliveryDetails %+v, want EMAIL", d)
	}
	second, _ := s.pool.ConfirmationCode("jane")
	recs := s.logs.records(t, "confirmation code")
	if len(recs) != 2 || recs[1]["code"] != second {
		t.Errorf("got code log records %v, want the new code %s logged", recs, second)
	}
	if first != second {
		_, err = s.client.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{
			ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane"), ConfirmationCode: aws.String(first)})
		wantAPIError[*types.CodeMismatchException](t, err, "")
	}
	s.confirm(t, "jane")

	_, err = resend("jane")
	wantAPIError[*types.InvalidParameterException](t, err, "User is already confirmed.")
}

// TestUnknownUserNotRevealed holds the self-service calls to the deployed
// app client's PreventUserExistenceErrors: an unknown username gets the
// answer a known one could get.
func TestUnknownUserNotRevealed(t *testing.T) {
	s := newStack(t, cognito.Options{})
	ctx := t.Context()
	client := aws.String(s.pool.ClientID())
	tests := []struct {
		name  string
		call  func() error
		check func(*testing.T, error)
	}{
		{"InitiateAuth", func() error {
			_, err := s.passwordAuth(t, "nobody", testPassword)
			return err
		}, func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "Incorrect username or password.")
		}},
		{"ConfirmSignUp", func() error {
			_, err := s.client.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: client, Username: aws.String("nobody"), ConfirmationCode: aws.String("123456")})
			return err
		}, func(t *testing.T, err error) {
			wantAPIError[*types.CodeMismatchException](t, err, "Invalid verification code provided, please try again.")
		}},
		{"ResendConfirmationCode", func() error {
			out, err := s.client.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: client, Username: aws.String("nobody@acme.example")})
			if err == nil {
				if d := out.CodeDeliveryDetails; d == nil || d.DeliveryMedium != types.DeliveryMediumTypeEmail || aws.ToString(d.Destination) != "n***@acme.example" {
					t.Errorf("got CodeDeliveryDetails %+v, want a simulated EMAIL delivery to n***@acme.example", d)
				}
			}
			return err
		}, func(t *testing.T, err error) {
			if err != nil {
				t.Errorf("got %v, want a simulated delivery", err)
			}
			if recs := s.logs.records(t, "confirmation code"); len(recs) != 0 {
				t.Errorf("got code log records %v for an unknown user, want none", recs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tt.call()) })
	}
}

func TestErrorsCarryRequestID(t *testing.T) {
	s := newStack(t, cognito.Options{})
	_, err := s.passwordAuth(t, "nobody", testPassword)
	var re interface{ ServiceRequestID() string }
	if !errors.As(err, &re) || len(re.ServiceRequestID()) != 36 {
		t.Errorf("got %v, want an error with the response's request ID", err)
	}
}

// The claims Cognito sets outrank the user's attributes: even attributes that
// sign-up would refuse, written into the state file behind the pool's back,
// cannot forge the token type, issuer, audience, subject or scope.
func TestIDTokenClaimsOutrankAttributes(t *testing.T) {
	s := newStack(t, cognito.Options{})
	sub := s.register(t, "ana")
	s.srv.Close()

	path := filepath.Join(s.opts.DataDir, "state.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	forged := map[string]any{"token_use": "access", "iss": "https://evil.example", "aud": "evil", "sub": "evil",
		"scope": "fleetclaim/claims", "client_id": "evil", "exp": "99999999999", "cognito:groups": "platform-admins",
		"custom:tenant_id": "acme"}
	user := state["users"].(map[string]any)[sub].(map[string]any)
	for k, v := range user["attributes"].(map[string]any) {
		forged[k] = v
	}
	forged["token_use"], forged["iss"] = "access", "https://evil.example" // after the copy, in case the key was there
	user["attributes"] = forged
	if raw, err = json.Marshal(state); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	s = s.restart(t)
	auth := s.login(t, "ana")
	id := s.verify(t, aws.ToString(auth.IdToken))
	for claim, want := range map[string]any{"token_use": "id", "iss": s.pool.Issuer(), "aud": s.pool.ClientID(), "sub": sub,
		"custom:tenant_id": "acme", "email": "ana@acme.example"} {
		if id[claim] != want {
			t.Errorf("ID token %s = %v, want %v", claim, id[claim], want)
		}
	}
	for _, claim := range []string{"scope", "client_id", "cognito:groups"} {
		if v, ok := id[claim]; ok {
			t.Errorf("ID token carries %s = %v from an attribute", claim, v)
		}
	}
	if exp, _ := id["exp"].(float64); exp > float64(time.Now().Add(2*time.Hour).Unix()) {
		t.Errorf("ID token exp = %v, from an attribute", id["exp"])
	}
}
