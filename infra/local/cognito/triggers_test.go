package cognito_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

// recordPostConfirmation is a trigger that notes "<source> <userName> <clientId>".
func recordPostConfirmation(seen *[]string) cognito.PostConfirmationFunc {
	var mu sync.Mutex
	return func(_ context.Context, ev events.CognitoEventUserPoolsPostConfirmation) (events.CognitoEventUserPoolsPostConfirmation, error) {
		mu.Lock()
		defer mu.Unlock()
		*seen = append(*seen, ev.TriggerSource+" "+ev.UserName+" "+ev.CallerContext.ClientID)
		return ev, nil
	}
}

// invocation is one trigger call as the handler saw it.
type invocation[E any] struct {
	event     E
	requestID string
	deadline  time.Duration
}

// recorder captures invocations and answers with a replaceable function.
type recorder[E any] struct {
	mu     sync.Mutex
	calls  []invocation[E]
	answer func(context.Context, E) (E, error)
}

func (r *recorder[E]) handle(ctx context.Context, ev E) (E, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	dl, _ := ctx.Deadline()
	r.mu.Lock()
	var id string
	if lc != nil {
		id = lc.AwsRequestID
	}
	r.calls = append(r.calls, invocation[E]{event: ev, requestID: id, deadline: time.Until(dl)})
	answer := r.answer
	r.mu.Unlock()
	if answer == nil {
		return ev, nil
	}
	return answer(ctx, ev)
}

func (r *recorder[E]) set(answer func(context.Context, E) (E, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.answer = nil, answer
}

func (r *recorder[E]) invocations() []invocation[E] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

type preToken = events.CognitoEventUserPoolsPreTokenGenV2_0
type postConfirmation = events.CognitoEventUserPoolsPostConfirmation

func TestPostConfirmationEvent(t *testing.T) {
	var post recorder[postConfirmation]
	s := newStack(t, cognito.Options{PostConfirmation: post.handle})
	ctx := t.Context()

	tests := []struct {
		name         string
		confirm      func(t *testing.T)
		clientID     string
		verified     string
		clientMeta   map[string]string
		wantUserName string
	}{
		{"ConfirmSignUp", func(t *testing.T) {
			code, _ := s.pool.ConfirmationCode("jane")
			if _, err := s.client.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(s.pool.ClientID()),
				Username: aws.String("jane"), ConfirmationCode: aws.String(code), ClientMetadata: map[string]string{"origin": "app"}}); err != nil {
				t.Fatalf("ConfirmSignUp: %v", err)
			}
		}, s.pool.ClientID(), "true", map[string]string{"origin": "app"}, "jane"},
		{"AdminConfirmSignUp", func(t *testing.T) {
			if _, err := s.client.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(s.pool.PoolID()),
				Username: aws.String("joe"), ClientMetadata: map[string]string{"by": "admin"}}); err != nil {
				t.Fatalf("AdminConfirmSignUp: %v", err)
			}
		}, "CLIENT_ID_NOT_APPLICABLE", "false", map[string]string{"by": "admin"}, "joe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := aws.ToString(s.signUp(t, tt.wantUserName).UserSub)
			post.set(nil)
			tt.confirm(t)

			calls := post.invocations()
			if len(calls) != 1 {
				t.Fatalf("got %d post-confirmation invocations, want exactly 1", len(calls))
			}
			c := calls[0]
			ev := c.event
			wantHeader := events.CognitoEventUserPoolsHeader{
				Version: "1", TriggerSource: "PostConfirmation_ConfirmSignUp", Region: "local-1", UserPoolID: s.pool.PoolID(),
				UserName:      tt.wantUserName,
				CallerContext: events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: tt.clientID},
			}
			if ev.CognitoEventUserPoolsHeader != wantHeader {
				t.Errorf("got header %+v, want %+v", ev.CognitoEventUserPoolsHeader, wantHeader)
			}
			wantAttrs := map[string]string{
				"sub": sub, "email": tt.wantUserName + "@acme.example", "email_verified": tt.verified,
				"cognito:user_status": "CONFIRMED", "custom:tenant_id": "acme",
			}
			if !maps.Equal(ev.Request.UserAttributes, wantAttrs) {
				t.Errorf("got userAttributes %v, want %v", ev.Request.UserAttributes, wantAttrs)
			}
			if !maps.Equal(ev.Request.ClientMetadata, tt.clientMeta) {
				t.Errorf("got clientMetadata %v, want %v", ev.Request.ClientMetadata, tt.clientMeta)
			}
			if len(c.requestID) != 36 || c.deadline <= 0 || c.deadline > cognito.DefaultTriggerTimeout {
				t.Errorf("got request ID %q and %v to the deadline, want a UUID and at most %v", c.requestID, c.deadline, cognito.DefaultTriggerTimeout)
			}

			// Confirming again is refused and does not run the trigger again.
			_, err := s.client.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String(tt.wantUserName)})
			wantAPIError[*types.NotAuthorizedException](t, err, "")
			if got := len(post.invocations()); got != 1 {
				t.Errorf("got %d invocations after a second confirmation, want 1", got)
			}
		})
	}
}

func TestPreTokenGenerationEvent(t *testing.T) {
	var pre recorder[preToken]
	s := newStack(t, cognito.Options{PreTokenGeneration: pre.handle})
	sub := s.register(t, "jane")
	s.addToGroup(t, "jane", "installers")
	pre.set(nil)

	auth := s.login(t, "jane")
	if _, err := s.refresh(t, aws.ToString(auth.RefreshToken)); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	calls := pre.invocations()
	if len(calls) != 2 {
		t.Fatalf("got %d pre-token invocations, want 2", len(calls))
	}
	if calls[0].requestID == "" || calls[0].requestID == calls[1].requestID {
		t.Errorf("got request IDs %q and %q, want a fresh one per invocation", calls[0].requestID, calls[1].requestID)
	}
	for i, source := range []string{"TokenGeneration_Authentication", "TokenGeneration_RefreshTokens"} {
		ev := calls[i].event
		wantHeader := events.CognitoEventUserPoolsHeader{
			Version: "2", TriggerSource: source, Region: "local-1", UserPoolID: s.pool.PoolID(), UserName: "jane",
			CallerContext: events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: s.pool.ClientID()},
		}
		if ev.CognitoEventUserPoolsHeader != wantHeader {
			t.Errorf("%s: got header %+v, want %+v", source, ev.CognitoEventUserPoolsHeader, wantHeader)
		}
		wantAttrs := map[string]string{
			"sub": sub, "email": "jane@acme.example", "email_verified": "true", "cognito:user_status": "CONFIRMED", "custom:tenant_id": "acme",
		}
		if !maps.Equal(ev.Request.UserAttributes, wantAttrs) {
			t.Errorf("%s: got userAttributes %v, want %v", source, ev.Request.UserAttributes, wantAttrs)
		}
		g := ev.Request.GroupConfiguration
		if !slices.Equal(g.GroupsToOverride, []string{"installers"}) || g.IAMRolesToOverride == nil || len(g.IAMRolesToOverride) != 0 || g.PreferredRole != nil {
			t.Errorf("%s: got groupConfiguration %+v, want groups [installers], no roles, no preferred role", source, g)
		}
		if !slices.Equal(ev.Request.Scopes, []string{"aws.cognito.signin.user.admin"}) {
			t.Errorf("%s: got scopes %v, want [aws.cognito.signin.user.admin]", source, ev.Request.Scopes)
		}
		if ev.Request.ClientMetadata != nil {
			t.Errorf("%s: got clientMetadata %v, want none: InitiateAuth does not pass it to this trigger", source, ev.Request.ClientMetadata)
		}
	}
}

func TestPreTokenGenerationResponse(t *testing.T) {
	var pre recorder[preToken]
	s := newStack(t, cognito.Options{PreTokenGeneration: pre.handle})
	sub := s.register(t, "jane")
	s.addToGroup(t, "jane", "installers")

	type tokens struct{ id, access map[string]any }
	respond := func(d events.ClaimsAndScopeOverrideDetailsV2_0) func(context.Context, preToken) (preToken, error) {
		return func(_ context.Context, ev preToken) (preToken, error) {
			ev.Response.ClaimsAndScopeOverrideDetails = d
			return ev, nil
		}
	}
	tests := []struct {
		name   string
		answer func(context.Context, preToken) (preToken, error)
		check  func(*testing.T, tokens)
	}{
		{"unchanged event: an empty groupOverrideDetails suppresses the groups", nil, func(t *testing.T, tk tokens) {
			wantGroups(t, tk.id, tk.access, nil)
			wantScope(t, tk.access, "aws.cognito.signin.user.admin")
		}},
		{"groups copied from the request are kept", func(_ context.Context, ev preToken) (preToken, error) {
			ev.Response.ClaimsAndScopeOverrideDetails.GroupOverrideDetails = ev.Request.GroupConfiguration
			return ev, nil
		}, func(t *testing.T, tk tokens) { wantGroups(t, tk.id, tk.access, []string{"installers"}) }},
		{"groups overridden", respond(events.ClaimsAndScopeOverrideDetailsV2_0{
			GroupOverrideDetails: events.GroupConfigurationV2_0{GroupsToOverride: []string{"admins", "group-b"}},
		}), func(t *testing.T, tk tokens) { wantGroups(t, tk.id, tk.access, []string{"admins", "group-b"}) }},
		{"claims added, overridden and suppressed per token", respond(events.ClaimsAndScopeOverrideDetailsV2_0{
			IDTokenGeneration: events.IDTokenGenerationV2_0{
				ClaimsToAddOrOverride: map[string]any{"tenant_id": "acme", "email": "other@acme.example", "both": "x"},
				ClaimsToSuppress:      []string{"custom:tenant_id", "both"},
			},
			AccessTokenGeneration: events.AccessTokenGenerationV2_0{
				ClaimsToAddOrOverride: map[string]any{"tenant_id": "acme", "limits": map[string]any{"perHour": 60, "sites": []string{"a", "b"}}},
			},
		}), func(t *testing.T, tk tokens) {
			wantClaims(t, "ID", tk.id, map[string]any{"tenant_id": "acme", "email": "other@acme.example", "custom:tenant_id": nil, "both": nil})
			wantClaims(t, "access", tk.access, map[string]any{"tenant_id": "acme", "email": nil})
			limits, _ := tk.access["limits"].(map[string]any)
			if limits["perHour"] != float64(60) || !slices.Equal(stringsOf(limits["sites"]), []string{"a", "b"}) {
				t.Errorf("got access limits %v, want the JSON object as added", tk.access["limits"])
			}
		}},
		{"scopes added and suppressed", respond(events.ClaimsAndScopeOverrideDetailsV2_0{
			AccessTokenGeneration: events.AccessTokenGenerationV2_0{
				ScopesToAdd:      []string{"fleetclaim/claims", "fleetclaim/admin", "fleetclaim/claims"},
				ScopesToSuppress: []string{"aws.cognito.signin.user.admin", "fleetclaim/admin"},
			},
		}), func(t *testing.T, tk tokens) {
			wantScope(t, tk.access, "fleetclaim/claims")
			if _, ok := tk.id["scope"]; ok {
				t.Errorf("the ID token got a scope claim")
			}
		}},
		{"every scope suppressed", respond(events.ClaimsAndScopeOverrideDetailsV2_0{
			AccessTokenGeneration: events.AccessTokenGenerationV2_0{ScopesToSuppress: []string{"aws.cognito.signin.user.admin"}},
		}), func(t *testing.T, tk tokens) { wantScope(t, tk.access, "") }},
		{"reserved claims stay as Cognito sets them", respond(events.ClaimsAndScopeOverrideDetailsV2_0{
			IDTokenGeneration: events.IDTokenGenerationV2_0{
				ClaimsToAddOrOverride: map[string]any{"sub": "forged", "iss": "https://evil.example", "cognito:username": "root", "token_use": "access"},
				ClaimsToSuppress:      []string{"exp", "aud"},
			},
			AccessTokenGeneration: events.AccessTokenGenerationV2_0{
				ClaimsToAddOrOverride: map[string]any{"client_id": "other", "scope": "admin", "cognito:groups": []string{"admins"}},
				ClaimsToSuppress:      []string{"origin_jti"},
			},
		}), func(t *testing.T, tk tokens) {
			wantClaims(t, "ID", tk.id, map[string]any{"sub": sub, "cognito:username": "jane", "token_use": "id", "aud": s.pool.ClientID()})
			wantClaims(t, "access", tk.access, map[string]any{"client_id": s.pool.ClientID(), "scope": "aws.cognito.signin.user.admin", "cognito:groups": nil})
			if tk.access["origin_jti"] == nil {
				t.Errorf("origin_jti was suppressed")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre.set(tt.answer)
			auth := s.login(t, "jane") // s.verify proves iss and exp survived
			tk := tokens{id: s.verify(t, aws.ToString(auth.IdToken)), access: s.verify(t, aws.ToString(auth.AccessToken))}
			tt.check(t, tk)

			// A refresh applies the trigger's answer the same way.
			out, err := s.refresh(t, aws.ToString(auth.RefreshToken))
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			tt.check(t, tokens{id: s.verify(t, aws.ToString(out.AuthenticationResult.IdToken)),
				access: s.verify(t, aws.ToString(out.AuthenticationResult.AccessToken))})
		})
	}
}

func wantGroups(t *testing.T, id, access map[string]any, want []string) {
	t.Helper()
	for name, c := range map[string]map[string]any{"ID": id, "access": access} {
		v, ok := c["cognito:groups"]
		if want == nil && ok {
			t.Errorf("%s token: got cognito:groups %v, want none", name, v)
		}
		if want != nil && !slices.Equal(stringsOf(v), want) {
			t.Errorf("%s token: got cognito:groups %v, want %v", name, v, want)
		}
	}
}

func wantScope(t *testing.T, access map[string]any, want string) {
	t.Helper()
	got, ok := access["scope"]
	if want == "" && ok {
		t.Errorf("got scope %v, want no scope claim", got)
	}
	if want != "" && got != want {
		t.Errorf("got scope %v, want %q", got, want)
	}
}

// wantClaims checks claims; a nil want means the claim must be absent.
func wantClaims(t *testing.T, token string, c map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		got, ok := c[k]
		switch {
		case w == nil && ok:
			t.Errorf("%s token: got %s %v, want it suppressed", token, k, got)
		case w != nil && got != w:
			t.Errorf("%s token: got %s %v, want %v", token, k, got, w)
		}
	}
}

func TestTriggerFailures(t *testing.T) {
	var pre recorder[preToken]
	var post recorder[postConfirmation]
	s := newStack(t, cognito.Options{PreTokenGeneration: pre.handle, PostConfirmation: post.handle, TriggerTimeout: 300 * time.Millisecond})
	s.register(t, "jane")
	auth := s.login(t, "jane")

	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name   string
		answer func(context.Context, preToken) (preToken, error)
		check  func(*testing.T, error)
	}{
		{"error", func(_ context.Context, ev preToken) (preToken, error) {
			return ev, errors.New("boom")
		}, func(t *testing.T, err error) {
			wantAPIError[*types.UserLambdaValidationException](t, err, "PreTokenGeneration failed with error boom.")
		}},
		{"panic", func(_ context.Context, ev preToken) (preToken, error) {
			panic("nil map")
		}, func(t *testing.T, err error) {
			wantAPIError[*types.UserLambdaValidationException](t, err, "PreTokenGeneration failed with error nil map.")
		}},
		{"timeout, even when the handler ignores its context", func(_ context.Context, ev preToken) (preToken, error) {
			<-release
			return ev, nil
		}, func(t *testing.T, err error) {
			wantAPIError[*types.UnexpectedLambdaException](t, err,
				"PreTokenGeneration invocation failed due to error Socket timeout while invoking Lambda function.")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre.set(tt.answer)
			start := time.Now()
			_, err := s.passwordAuth(t, "jane", testPassword)
			tt.check(t, err)
			_, err = s.refresh(t, aws.ToString(auth.RefreshToken))
			tt.check(t, err)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("the failing calls took %v", d)
			}
		})
	}

	// The failed sign-ins left no session behind: only the first one exists.
	pre.set(nil)
	_, err := s.client.AdminUserGlobalSignOut(t.Context(), &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String("jane")})
	if err != nil {
		t.Fatalf("AdminUserGlobalSignOut: %v", err)
	}

	t.Run("post confirmation error", func(t *testing.T) {
		post.set(func(_ context.Context, ev postConfirmation) (postConfirmation, error) {
			return ev, fmt.Errorf("enrollment failed; try again")
		})
		s.signUp(t, "joe")
		code, _ := s.pool.ConfirmationCode("joe")
		_, err := s.client.ConfirmSignUp(t.Context(), &cip.ConfirmSignUpInput{ClientId: aws.String(s.pool.ClientID()),
			Username: aws.String("joe"), ConfirmationCode: aws.String(code)})
		wantAPIError[*types.UserLambdaValidationException](t, err, "PostConfirmation failed with error enrollment failed; try again.")
		// Cognito runs the trigger after confirming: the user stays confirmed.
		s.login(t, "joe")
	})
}

// TestTriggersCallBackIntoPool runs triggers that call the pool over HTTP
// with the SDK while it confirms or signs in the same user, as the local
// stack's handlers do (the post-confirmation handler adds auto-approved
// installers to their group). A pool that held its lock across a trigger
// would stall each call until the trigger timed out.
func TestTriggersCallBackIntoPool(t *testing.T) {
	var s *stack // set before any request can run a trigger
	var mu sync.Mutex
	confirmed := map[string]int{}
	post := func(ctx context.Context, ev postConfirmation) (postConfirmation, error) {
		_, err := s.client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
			UserPoolId: aws.String(ev.UserPoolID), Username: aws.String(ev.UserName), GroupName: aws.String("installers")})
		mu.Lock()
		confirmed[ev.Request.UserAttributes["email"]]++
		mu.Unlock()
		return ev, err
	}
	pre := func(ctx context.Context, ev preToken) (preToken, error) {
		out, err := s.client.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{
			UserPoolId: aws.String(ev.UserPoolID), Username: aws.String(ev.UserName)})
		if err != nil {
			return ev, err
		}
		var listed []string
		for _, g := range out.Groups {
			listed = append(listed, aws.ToString(g.GroupName))
		}
		ev.Response.ClaimsAndScopeOverrideDetails = events.ClaimsAndScopeOverrideDetailsV2_0{
			AccessTokenGeneration: events.AccessTokenGenerationV2_0{ClaimsToAddOrOverride: map[string]any{"listed_groups": listed}},
			GroupOverrideDetails:  ev.Request.GroupConfiguration,
		}
		return ev, nil
	}
	const timeout = 2 * time.Second
	s = newStack(t, cognito.Options{SignInWithEmail: true, RequiredAttributes: []string{"email", "custom:tenant_id"},
		PostConfirmation: post, PreTokenGeneration: pre, TriggerTimeout: timeout})
	ctx := t.Context()
	signUp := func(email string) error {
		_, err := s.client.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(s.pool.ClientID()), Username: aws.String(email),
			Password: aws.String(testPassword), UserAttributes: attrs("custom:tenant_id", "acme")})
		return err
	}

	tests := []struct {
		name       string
		email      string
		confirm    func(email string) error
		wantGroups []string
	}{
		{"ConfirmSignUp", "jane@acme.example", func(email string) error {
			if err := signUp(email); err != nil {
				return err
			}
			code, _ := s.pool.ConfirmationCode(email)
			_, err := s.client.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(s.pool.ClientID()),
				Username: aws.String(email), ConfirmationCode: aws.String(code)})
			return err
		}, []string{"installers"}},
		{"AdminConfirmSignUp", "joe@acme.example", func(email string) error {
			if err := signUp(email); err != nil {
				return err
			}
			_, err := s.client.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(s.pool.PoolID()),
				Username: aws.String(email)})
			return err
		}, []string{"installers"}},
		{"CreateConfirmedUser", "root@acme.example", func(email string) error {
			_, err := s.pool.CreateConfirmedUser(ctx, cognito.NewUser{Username: email, Password: testPassword, Groups: []string{"admins"},
				Attributes: map[string]string{"email": email, "email_verified": "true", "custom:tenant_id": "acme"}})
			return err
		}, []string{"admins", "installers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			if err := tt.confirm(tt.email); err != nil {
				t.Fatalf("confirm: %v", err)
			}
			if d := time.Since(start); d >= timeout {
				t.Errorf("confirmation took %v: the trigger's call back waited for the pool", d)
			}
			mu.Lock()
			runs := confirmed[tt.email]
			mu.Unlock()
			if runs != 1 {
				t.Errorf("got %d post-confirmation runs, want 1", runs)
			}

			auth := s.login(t, tt.email)
			out, err := s.refresh(t, aws.ToString(auth.RefreshToken))
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			for _, tok := range []*string{auth.AccessToken, out.AuthenticationResult.AccessToken} {
				c := s.verify(t, aws.ToString(tok))
				if got := stringsOf(c["cognito:groups"]); !slices.Equal(got, tt.wantGroups) {
					t.Errorf("got cognito:groups %v, want %v", got, tt.wantGroups)
				}
				if got := stringsOf(c["listed_groups"]); !slices.Equal(got, tt.wantGroups) {
					t.Errorf("got groups listed by the pre-token trigger %v, want %v", got, tt.wantGroups)
				}
			}
		})
	}
}
