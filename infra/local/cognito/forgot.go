package cognito

import (
	"context"
	"time"
)

// passwordResetCodeLifetime is how long Cognito accepts a password reset
// code.
const passwordResetCodeLifetime = time.Hour

// forgotPassword starts a password reset: a code goes to the user's verified
// email (here: the log).
func (p *Pool) forgotPassword(_ context.Context, body []byte) (any, error) {
	var in struct{ ClientId, Username string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkClient(in.ClientId); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.store.find(in.Username, false)
	switch {
	case u == nil:
		// The deployed app client prevents user existence errors: Cognito
		// answers as if it had sent a code.
		return map[string]any{"CodeDeliveryDetails": delivery(in.Username)}, nil
	case u.Attributes["email_verified"] != "true":
		// Only a proven address may receive the means to take an account.
		return nil, newError(codeInvalidParameter,
			"Cannot reset password for the user as there is no registered/verified email or phone_number")
	}
	u.Reset = &pendingCode{Value: randomString(6, digits), Expires: p.now().Add(passwordResetCodeLifetime)}
	if err := p.store.save(); err != nil {
		return nil, err
	}
	// As with sign-up codes, the log stands in for the email.
	p.log.Info("password reset code (Cognito would email it)", "username", in.Username, "code", u.Reset.Value)
	p.printCode("password reset code", in.Username, u.Reset.Value)
	return map[string]any{"CodeDeliveryDetails": delivery(u.Attributes["email"])}, nil
}

// confirmForgotPassword sets a new password with the reset code; the user's
// SRP verifier follows it.
func (p *Pool) confirmForgotPassword(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClientId, Username, ConfirmationCode, Password string
		ClientMetadata                                 map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkClient(in.ClientId); err != nil {
		return nil, err
	}
	if v := p.policy.violation(in.Password); v != "" {
		return nil, newError(codeInvalidPassword, v)
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		return nil, newError(codeInternal, "Internal error.")
	}
	mismatch := newError(codeCodeMismatch, "Invalid verification code provided, please try again.")
	now := p.now()
	p.mu.Lock()
	u := p.store.find(in.Username, false)
	// Reset codes are guessed under the same limits as sign-up codes.
	key := attemptKey(u, in.Username)
	switch {
	case p.limits.codeLocked(key, now):
		p.mu.Unlock()
		return nil, errAttemptLimitExceeded
	case u == nil || u.Reset == nil || u.Reset.Value != in.ConfirmationCode:
		defer p.mu.Unlock()
		if !p.limits.codeFailed(key, now) {
			return nil, mismatch
		}
		// As with sign-up codes, reaching the limit spends the code.
		if u != nil && u.Reset != nil {
			u.Reset = nil
			if err := p.store.save(); err != nil {
				return nil, err
			}
		}
		return nil, errAttemptLimitExceeded
	case !now.Before(u.Reset.Expires):
		p.mu.Unlock()
		return nil, newError(codeExpiredCode, "Invalid code provided, please request a code again.")
	}
	p.limits.codeSucceeded(key)
	u.Password, u.SRP, u.Reset, u.Modified = hash, newSRPVerifier(p.poolName(), u.Username, in.Password), nil, p.now()
	snap := u.clone()
	err = p.store.save()
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return struct{}{}, p.runPostConfirmationFor(ctx, "PostConfirmation_ConfirmForgotPassword", snap, in.ClientId, sdkVersionUnknown, in.ClientMetadata)
}

// PasswordResetCode returns the password reset code pending for a user, as
// the logs show it, for tests and tooling.
func (p *Pool) PasswordResetCode(username string) (string, bool) {
	return p.pending(username, false, func(u *user) *pendingCode { return u.Reset })
}
