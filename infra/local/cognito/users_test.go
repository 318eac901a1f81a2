package cognito_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

func TestGroups(t *testing.T) {
	s := newStack(t, cognito.Options{})
	ctx := t.Context()
	sub := s.register(t, "jane")
	pool := aws.String(s.pool.PoolID())

	s.addToGroup(t, "jane", "installers")
	s.addToGroup(t, sub, "admins") // admin calls also take the sub
	s.addToGroup(t, "jane", "installers")

	list, err := s.client.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: pool, Username: aws.String("jane")})
	if err != nil {
		t.Fatalf("AdminListGroupsForUser: %v", err)
	}
	var names []string
	for _, g := range list.Groups {
		names = append(names, aws.ToString(g.GroupName))
		if aws.ToString(g.UserPoolId) != s.pool.PoolID() || g.CreationDate == nil {
			t.Errorf("got group %+v, want the pool ID and a creation date", g)
		}
	}
	if want := []string{"admins", "installers"}; !slices.Equal(names, want) {
		t.Errorf("got groups %v, want %v", names, want)
	}

	auth := s.login(t, "jane")
	for _, tok := range []string{aws.ToString(auth.AccessToken), aws.ToString(auth.IdToken)} {
		if got, want := stringsOf(s.verify(t, tok)["cognito:groups"]), []string{"admins", "installers"}; !slices.Equal(got, want) {
			t.Errorf("got cognito:groups %v, want %v", got, want)
		}
	}

	if _, err := s.client.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{
		UserPoolId: pool, Username: aws.String("jane"), GroupName: aws.String("admins")}); err != nil {
		t.Fatalf("AdminRemoveUserFromGroup: %v", err)
	}
	// A refresh re-reads membership, as Cognito's does.
	out, err := s.refresh(t, aws.ToString(auth.RefreshToken))
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if got, want := stringsOf(s.verify(t, aws.ToString(out.AuthenticationResult.AccessToken))["cognito:groups"]), []string{"installers"}; !slices.Equal(got, want) {
		t.Errorf("after removal got cognito:groups %v, want %v", got, want)
	}

	tests := []struct {
		name  string
		call  func() error
		check func(*testing.T, error)
	}{
		{"unknown group", func() error {
			_, err := s.client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String("jane"), GroupName: aws.String("nope")})
			return err
		}, func(t *testing.T, err error) {
			wantAPIError[*types.ResourceNotFoundException](t, err, "Group not found.")
		}},
		{"unknown user", func() error {
			_, err := s.client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String("nobody"), GroupName: aws.String("admins")})
			return err
		}, func(t *testing.T, err error) {
			wantAPIError[*types.UserNotFoundException](t, err, "User does not exist.")
		}},
		{"unknown pool", func() error {
			_, err := s.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String("local-1_Other1234"), Username: aws.String("jane")})
			return err
		}, func(t *testing.T, err error) {
			wantAPIError[*types.ResourceNotFoundException](t, err, "User pool local-1_Other1234 does not exist.")
		}},
		{"no user groups for unknown user", func() error {
			_, err := s.client.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: pool, Username: aws.String("nobody")})
			return err
		}, func(t *testing.T, err error) { wantAPIError[*types.UserNotFoundException](t, err, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tt.call()) })
	}
}

func TestAdminConfirmSignUpAndGetUser(t *testing.T) {
	s := newStack(t, cognito.Options{})
	ctx := t.Context()
	pool := aws.String(s.pool.PoolID())
	sub := aws.ToString(s.signUp(t, "jane").UserSub)

	got, err := s.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool, Username: aws.String("jane")})
	if err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	if got.UserStatus != types.UserStatusTypeUnconfirmed || got.UserCreateDate == nil {
		t.Errorf("got status %s created %v, want UNCONFIRMED with a creation date", got.UserStatus, got.UserCreateDate)
	}

	if _, err := s.client.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: pool, Username: aws.String("jane")}); err != nil {
		t.Fatalf("AdminConfirmSignUp: %v", err)
	}
	_, err = s.client.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: pool, Username: aws.String("jane")})
	wantAPIError[*types.NotAuthorizedException](t, err, "User cannot be confirmed. Current status is CONFIRMED")
	if _, ok := s.pool.ConfirmationCode("jane"); ok {
		t.Errorf("the confirmation code is still pending after AdminConfirmSignUp")
	}

	got, err = s.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool, Username: aws.String(sub)})
	if err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	attrs := map[string]string{}
	for _, a := range got.UserAttributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	// An administrator's confirmation does not verify the address.
	if got.UserStatus != types.UserStatusTypeConfirmed || attrs["email_verified"] == "true" || attrs["sub"] != sub {
		t.Errorf("got status %s attributes %v, want CONFIRMED, sub %s and email not verified", got.UserStatus, attrs, sub)
	}
	if id := s.verify(t, aws.ToString(s.login(t, "jane").IdToken)); id["email_verified"] != false {
		t.Errorf("got ID token email_verified %v, want false", id["email_verified"])
	}
}

func TestGlobalSignOut(t *testing.T) {
	tests := []struct {
		name    string
		signOut func(t *testing.T, s *stack, auth *types.AuthenticationResultType)
	}{
		{"AdminUserGlobalSignOut", func(t *testing.T, s *stack, _ *types.AuthenticationResultType) {
			if _, err := s.client.AdminUserGlobalSignOut(t.Context(), &cip.AdminUserGlobalSignOutInput{
				UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String("jane")}); err != nil {
				t.Fatalf("AdminUserGlobalSignOut: %v", err)
			}
		}},
		{"GlobalSignOut", func(t *testing.T, s *stack, auth *types.AuthenticationResultType) {
			if _, err := s.client.GlobalSignOut(t.Context(), &cip.GlobalSignOutInput{AccessToken: auth.AccessToken}); err != nil {
				t.Fatalf("GlobalSignOut: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, cognito.Options{})
			s.register(t, "jane")
			s.register(t, "joe")
			first, second, other := s.login(t, "jane"), s.login(t, "jane"), s.login(t, "joe")

			tt.signOut(t, s, first)

			for i, auth := range []*types.AuthenticationResultType{first, second} {
				_, err := s.refresh(t, aws.ToString(auth.RefreshToken))
				wantAPIError[*types.NotAuthorizedException](t, err, "")
				_, err = s.client.GetUser(t.Context(), &cip.GetUserInput{AccessToken: auth.AccessToken})
				wantAPIError[*types.NotAuthorizedException](t, err, "Access Token has been revoked")
				if t.Failed() {
					t.Fatalf("session %d survived the sign-out", i)
				}
			}
			if _, err := s.refresh(t, aws.ToString(other.RefreshToken)); err != nil {
				t.Errorf("another user's session was revoked: %v", err)
			}
			// Signing in again starts a fresh session.
			if _, err := s.refresh(t, aws.ToString(s.login(t, "jane").RefreshToken)); err != nil {
				t.Errorf("refresh after a new sign-in: %v", err)
			}
		})
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	s := newStack(t, cognito.Options{})
	sub := s.register(t, "jane")
	s.addToGroup(t, "jane", "installers")
	s.signUp(t, "pending")
	code, _ := s.pool.ConfirmationCode("pending")
	auth := s.login(t, "jane")
	before := s.jwks(t)
	poolID, clientID := s.pool.PoolID(), s.pool.ClientID()

	r := s.restart(t)
	if r.pool.PoolID() != poolID || r.pool.ClientID() != clientID {
		t.Errorf("got pool %s client %s after restart, want %s %s", r.pool.PoolID(), r.pool.ClientID(), poolID, clientID)
	}
	after := r.jwks(t)
	for kid, k := range before {
		if a, ok := after[kid]; !ok || !a.Equal(k) {
			t.Errorf("signing key %s did not survive the restart", kid)
		}
	}

	out, err := r.refresh(t, aws.ToString(auth.RefreshToken))
	if err != nil {
		t.Fatalf("refresh with a token issued before the restart: %v", err)
	}
	access := r.verify(t, aws.ToString(out.AuthenticationResult.AccessToken))
	if access["sub"] != sub || !slices.Equal(stringsOf(access["cognito:groups"]), []string{"installers"}) {
		t.Errorf("got sub %v groups %v, want %s [installers]", access["sub"], access["cognito:groups"], sub)
	}
	r.login(t, "jane")
	if got, _ := r.pool.ConfirmationCode("pending"); got != code {
		t.Errorf("got pending code %q after restart, want %q", got, code)
	}
	r.confirm(t, "pending")
	_, err = r.client.SignUp(t.Context(), &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("jane"),
		Password: aws.String(testPassword), UserAttributes: attrs("email", "jane@acme.example")})
	wantAPIError[*types.UsernameExistsException](t, err, "")
}

func TestCreateConfirmedUser(t *testing.T) {
	var events []string
	s := newStack(t, cognito.Options{PostConfirmation: recordPostConfirmation(&events)})
	nu := cognito.NewUser{
		Username: "root", Password: testPassword, Groups: []string{"admins", "platform-admins"},
		Attributes: map[string]string{"email": "root@acme.example", "email_verified": "true", "custom:tenant_id": "acme"},
	}
	sub, err := s.pool.CreateConfirmedUser(t.Context(), nu)
	if err != nil {
		t.Fatalf("CreateConfirmedUser: %v", err)
	}
	if want := []string{"PostConfirmation_ConfirmSignUp root CLIENT_ID_NOT_APPLICABLE"}; !slices.Equal(events, want) {
		t.Errorf("got post-confirmation events %v, want %v", events, want)
	}
	id := s.verify(t, aws.ToString(s.login(t, "root").IdToken))
	if id["sub"] != sub || id["email_verified"] != true || !slices.Equal(stringsOf(id["cognito:groups"]), []string{"admins", "platform-admins"}) {
		t.Errorf("got sub %v email_verified %v groups %v, want %s true [admins platform-admins]", id["sub"], id["email_verified"], id["cognito:groups"], sub)
	}

	_, err = s.pool.CreateConfirmedUser(t.Context(), nu)
	var ce *cognito.Error
	if !errors.As(err, &ce) || ce.Code != "UsernameExistsException" {
		t.Errorf("got %v creating the user again, want UsernameExistsException", err)
	}
	_, err = s.pool.CreateConfirmedUser(t.Context(), cognito.NewUser{Username: "x", Password: testPassword,
		Attributes: map[string]string{"email": "x@acme.example"}, Groups: []string{"nope"}})
	if !errors.As(err, &ce) || ce.Code != "ResourceNotFoundException" {
		t.Errorf("got %v for an unknown group, want ResourceNotFoundException", err)
	}
	if len(events) != 1 {
		t.Errorf("got %d post-confirmation events, want 1: failed creations must not run the trigger", len(events))
	}
}

// A pool cannot be configured to let the client write an attribute that no
// Cognito schema has: claim names such as token_use are not attributes.
func TestWriteAttributesMustBeAttributes(t *testing.T) {
	for _, name := range []string{"token_use", "scope", "sub", "email_verified", "cognito:groups", "custom:", "custom:" + strings.Repeat("a", 21)} {
		_, err := cognito.New(cognito.Options{DataDir: t.TempDir(), BaseURL: "http://127.0.0.1:9", WriteAttributes: []string{"email", name}})
		if err == nil || !strings.Contains(err.Error(), "write attribute") {
			t.Errorf("WriteAttributes %q: got %v, want it refused", name, err)
		}
	}
	if _, err := cognito.New(cognito.Options{DataDir: t.TempDir(), BaseURL: "http://127.0.0.1:9",
		WriteAttributes: []string{"email", "name", "custom:tenant_id"}}); err != nil {
		t.Errorf("standard and custom attributes: %v", err)
	}
}

// TestAdminCheckOrder holds every admin operation to one order of checks:
// the pool, then the user, then what the operation itself checks.
func TestAdminCheckOrder(t *testing.T) {
	s := newStack(t, cognito.Options{})
	ctx := t.Context()
	s.register(t, "jane")
	type call func(pool, username, group string) error
	ops := map[string]call{
		"AdminConfirmSignUp": func(pool, username, _ string) error {
			_, err := s.client.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: &pool, Username: &username})
			return err
		},
		"AdminGetUser": func(pool, username, _ string) error {
			_, err := s.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &username})
			return err
		},
		"AdminAddUserToGroup": func(pool, username, group string) error {
			_, err := s.client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: &username, GroupName: &group})
			return err
		},
		"AdminRemoveUserFromGroup": func(pool, username, group string) error {
			_, err := s.client.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{UserPoolId: &pool, Username: &username, GroupName: &group})
			return err
		},
		"AdminListGroupsForUser": func(pool, username, _ string) error {
			_, err := s.client.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &pool, Username: &username})
			return err
		},
		"AdminUserGlobalSignOut": func(pool, username, _ string) error {
			_, err := s.client.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: &pool, Username: &username})
			return err
		},
	}
	tests := []struct {
		name, op              string
		pool, username, group string
		check                 func(*testing.T, error)
	}{
		{name: "unknown pool, user and group", pool: "local-1_Other1234", username: "nobody", group: "nope", check: func(t *testing.T, err error) {
			wantAPIError[*types.ResourceNotFoundException](t, err, "User pool local-1_Other1234 does not exist.")
		}},
		{name: "unknown pool, confirmed user", pool: "local-1_Other1234", username: "jane", group: "nope", check: func(t *testing.T, err error) {
			wantAPIError[*types.ResourceNotFoundException](t, err, "User pool local-1_Other1234 does not exist.")
		}},
		{name: "unknown user and group", username: "nobody", group: "nope", check: func(t *testing.T, err error) {
			wantAPIError[*types.UserNotFoundException](t, err, "User does not exist.")
		}},
		{name: "confirmed user", op: "AdminConfirmSignUp", username: "jane", check: func(t *testing.T, err error) {
			wantAPIError[*types.NotAuthorizedException](t, err, "User cannot be confirmed. Current status is CONFIRMED")
		}},
		{name: "unknown group", op: "AdminAddUserToGroup", username: "jane", group: "nope", check: func(t *testing.T, err error) {
			wantAPIError[*types.ResourceNotFoundException](t, err, "Group not found.")
		}},
		{name: "unknown group", op: "AdminRemoveUserFromGroup", username: "jane", group: "nope", check: func(t *testing.T, err error) {
			wantAPIError[*types.ResourceNotFoundException](t, err, "Group not found.")
		}},
	}
	for _, tt := range tests {
		for op, call := range ops {
			if tt.op != "" && tt.op != op {
				continue
			}
			t.Run(op+" "+tt.name, func(t *testing.T) {
				pool := tt.pool
				if pool == "" {
					pool = s.pool.PoolID()
				}
				tt.check(t, call(pool, tt.username, tt.group))
			})
		}
	}
}

// TestAdminChangesSurviveRestart holds each admin operation that changes
// the pool to saving it: the pool restarts straight after each change.
func TestAdminChangesSurviveRestart(t *testing.T) {
	s := newStack(t, cognito.Options{})
	ctx := t.Context()
	pool := aws.String(s.pool.PoolID())
	jane := aws.String("jane")
	s.signUp(t, "jane")
	groups := func(t *testing.T) []string {
		t.Helper()
		list, err := s.client.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: pool, Username: jane})
		if err != nil {
			t.Fatalf("AdminListGroupsForUser: %v", err)
		}
		var names []string
		for _, g := range list.Groups {
			names = append(names, aws.ToString(g.GroupName))
		}
		return names
	}

	if _, err := s.client.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: pool, Username: jane}); err != nil {
		t.Fatalf("AdminConfirmSignUp: %v", err)
	}
	s = s.restart(t)
	got, err := s.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool, Username: jane})
	if err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	if got.UserStatus != types.UserStatusTypeConfirmed {
		t.Errorf("got status %s after AdminConfirmSignUp and a restart, want CONFIRMED", got.UserStatus)
	}

	s.addToGroup(t, "jane", "installers")
	s.addToGroup(t, "jane", "admins")
	s = s.restart(t)
	if got, want := groups(t), []string{"admins", "installers"}; !slices.Equal(got, want) {
		t.Errorf("got groups %v after AdminAddUserToGroup and a restart, want %v", got, want)
	}

	if _, err := s.client.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{
		UserPoolId: pool, Username: jane, GroupName: aws.String("installers")}); err != nil {
		t.Fatalf("AdminRemoveUserFromGroup: %v", err)
	}
	s = s.restart(t)
	if got, want := groups(t), []string{"admins"}; !slices.Equal(got, want) {
		t.Errorf("got groups %v after AdminRemoveUserFromGroup and a restart, want %v", got, want)
	}

	auth := s.login(t, "jane")
	if _, err := s.client.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: pool, Username: jane}); err != nil {
		t.Fatalf("AdminUserGlobalSignOut: %v", err)
	}
	s = s.restart(t)
	_, err = s.refresh(t, aws.ToString(auth.RefreshToken))
	wantAPIError[*types.NotAuthorizedException](t, err, "Invalid Refresh Token")
}

// Admin operations are for IAM principals, as in AWS: a call signed with
// other credentials, or not signed, is refused and changes nothing, so a
// user of the pool cannot put themselves in a privileged group.
func TestAdminCallsNeedTheAdminCredentials(t *testing.T) {
	s := newStack(t, cognito.Options{})
	s.register(t, "ana")
	add := func(c *cip.Client) error {
		_, err := c.AdminAddUserToGroup(t.Context(), &cip.AdminAddUserToGroupInput{
			UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String("ana"), GroupName: aws.String("platform-admins")})
		return err
	}
	other := cip.New(cip.Options{Region: s.pool.Region(), BaseEndpoint: aws.String(s.srv.URL), HTTPClient: s.srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "guessed-secret", ""), RetryMaxAttempts: 1})
	var apiErr smithy.APIError
	if err := add(other); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" {
		t.Errorf("other credentials: got %v, want InvalidSignatureException", err)
	}
	stranger := cip.New(cip.Options{Region: s.pool.Region(), BaseEndpoint: aws.String(s.srv.URL), HTTPClient: s.srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSTRANGER", "local-secret", ""), RetryMaxAttempts: 1})
	if err := add(stranger); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnrecognizedClientException" {
		t.Errorf("unknown access key: got %v, want UnrecognizedClientException", err)
	}
	anonymous := cip.New(cip.Options{Region: s.pool.Region(), BaseEndpoint: aws.String(s.srv.URL), HTTPClient: s.srv.Client(),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	if err := add(anonymous); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "MissingAuthenticationTokenException" {
		t.Errorf("no signature: got %v, want MissingAuthenticationTokenException", err)
	}
	out, err := s.client.AdminListGroupsForUser(t.Context(), &cip.AdminListGroupsForUserInput{
		UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String("ana")})
	if err != nil || len(out.Groups) != 0 {
		t.Fatalf("got groups %v, %v; want none", out, err)
	}
	if err := add(s.client); err != nil {
		t.Errorf("the admin credentials: %v", err)
	}
}
