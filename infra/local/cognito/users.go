package cognito

import (
	"context"
	"fmt"
	"maps"
	"net/mail"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Caller context of calls that come from no app client (CreateConfirmedUser).
const (
	adminClientID     = "CLIENT_ID_NOT_APPLICABLE"
	sdkVersionUnknown = "aws-sdk-unknown-unknown"
)

// maxAttributeLength is Cognito's bound on a string attribute's value.
const maxAttributeLength = 2048

// register adds an unconfirmed user with a fresh confirmation code and
// returns a copy of it and the code.
func (p *Pool) register(username, password string, attrs map[string]string) (*user, string, error) {
	if p.signInWithEmail {
		if _, err := mail.ParseAddress(username); err != nil {
			return nil, "", newError(codeInvalidParameter, "Username should be an email.")
		}
		attrs["email"] = username
	}
	for _, name := range p.required {
		if strings.TrimSpace(attrs[name]) == "" {
			return nil, "", newError(codeInvalidParameter, "Attributes did not conform to the schema: "+name+": The attribute is required")
		}
	}
	for name, value := range attrs {
		switch {
		case name == "sub" || name == "email_verified" || strings.HasPrefix(name, "cognito:"):
			return nil, "", newError(codeInvalidParameter, "Cannot modify the non-mutable attribute "+name)
		case !slices.Contains(p.writable, name):
			// Cognito's answer to an attribute outside the client's
			// WriteAttributes, including one the schema does not have.
			return nil, "", newError(codeNotAuthorized, "A client attempted to write unauthorized attribute")
		case len(value) > maxAttributeLength:
			return nil, "", newError(codeInvalidParameter,
				fmt.Sprintf("Attributes did not conform to the schema: %s: String must be no longer than %d characters", name, maxAttributeLength))
		}
	}
	if email, ok := attrs["email"]; ok {
		if _, err := mail.ParseAddress(email); err != nil {
			return nil, "", newError(codeInvalidParameter, "Invalid email address format.")
		}
	}
	if v := p.policy.violation(password); v != "" {
		return nil, "", newError(codeInvalidPassword, v)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return nil, "", newError(codeInternal, "Internal error.")
	}
	now := p.now()
	sub := newUUID()
	name := username
	if p.signInWithEmail {
		name = sub // Cognito's username is the sub when email is the sign-in attribute
	}
	if attrs["email"] != "" {
		attrs["email_verified"] = "false" // until a confirmation code proves it
	}
	code := randomString(6, digits)
	u := &user{Sub: sub, Username: name, Password: hash, SRP: newSRPVerifier(p.poolName(), name, password), Attributes: maps.Clone(attrs), Status: statusUnconfirmed,
		Created: now, Modified: now, Code: &pendingCode{Value: code, Expires: now.Add(confirmationCodeLifetime)}}

	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.signInWithEmail && p.store.emailTaken(username):
		return nil, "", newError(codeUsernameExists, "An account with the given email already exists.")
	case p.store.find(username, false) != nil:
		return nil, "", newError(codeUsernameExists, "User already exists")
	}
	p.store.add(u)
	if err := p.store.save(); err != nil {
		delete(p.store.Users, u.Sub)
		return nil, "", newError(codeInternal, "Internal error.")
	}
	return u.clone(), code, nil
}

// runPostConfirmation invokes the post-confirmation trigger for u. The user
// is confirmed whatever the trigger answers; its failure is the caller's
// error, as in Cognito.
func (p *Pool) runPostConfirmation(ctx context.Context, u *user, clientID, sdkVersion string, meta map[string]string) error {
	return p.runPostConfirmationFor(ctx, "PostConfirmation_ConfirmSignUp", u, clientID, sdkVersion, meta)
}

// runPostConfirmationFor invokes the post-confirmation trigger with the
// trigger source: Cognito runs it after a confirmed sign-up and after a
// confirmed password reset.
func (p *Pool) runPostConfirmationFor(ctx context.Context, source string, u *user, clientID, sdkVersion string, meta map[string]string) error {
	if p.postConfirmation == nil {
		return nil
	}
	attrs := u.allAttributes()
	attrs["cognito:user_status"] = statusConfirmed
	ev := events.CognitoEventUserPoolsPostConfirmation{
		CognitoEventUserPoolsHeader: p.header(source, "1", u.Username, clientID, sdkVersion),
		Request:                     events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: attrs, ClientMetadata: meta},
	}
	err := invoke(ctx, p, "PostConfirmation", func(ctx context.Context) error {
		_, err := p.postConfirmation(ctx, ev)
		return err
	})
	return err
}

func (p *Pool) header(source, version, username, clientID, sdkVersion string) events.CognitoEventUserPoolsHeader {
	return events.CognitoEventUserPoolsHeader{
		Version: version, TriggerSource: source, Region: p.region, UserPoolID: p.poolID, UserName: username,
		CallerContext: events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: sdkVersion, ClientID: clientID},
	}
}

// invoke runs a trigger as Lambda would: a fresh request ID and Cognito's
// deadline, which holds even if the trigger ignores its context. Failures
// reach the caller as Cognito words them: a handler error (or panic) as
// UserLambdaValidationException, a timeout as UnexpectedLambdaException.
func invoke(ctx context.Context, p *Pool, name string, call func(ctx context.Context) error) error {
	// A client hanging up does not cancel a Lambda invocation.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.triggerTimeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: newUUID(),
		InvokedFunctionArn: "arn:aws:lambda:" + p.region + ":000000000000:function:" + name})
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				// The Lambda runtime reports a panic with the panic value as
				// the error message, which is all Cognito passes on; the
				// stack is for the developer's log only.
				p.log.Error("trigger panicked", "trigger", name, "panic", r, "stack", string(debug.Stack()))
				done <- fmt.Errorf("%v", r)
			}
		}()
		done <- call(ctx)
	}()
	select {
	case err := <-done:
		if err != nil {
			p.log.Warn("trigger failed", "trigger", name, "error", err)
			return newError(codeUserLambdaValidation, name+" failed with error "+err.Error()+".")
		}
		return nil
	case <-ctx.Done():
		p.log.Warn("trigger timed out", "trigger", name, "timeout", p.triggerTimeout)
		return newError(codeUnexpectedLambda, name+" invocation failed due to error Socket timeout while invoking Lambda function.")
	}
}

func sortedUnion(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
