package cognito_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

const newPassword = "N3wPassw0rdLocal"

func (s *stack) forgot(t *testing.T, username string) (*cip.ForgotPasswordOutput, error) {
	return s.client.ForgotPassword(t.Context(), &cip.ForgotPasswordInput{ClientId: aws.String(s.pool.ClientID()), Username: aws.String(username)})
}

func (s *stack) reset(t *testing.T, username, code, password string) error {
	_, err := s.client.ConfirmForgotPassword(t.Context(), &cip.ConfirmForgotPasswordInput{ClientId: aws.String(s.pool.ClientID()),
		Username: aws.String(username), ConfirmationCode: aws.String(code), Password: aws.String(password)})
	return err
}

// TestForgotPassword: a reset code sent to a verified email sets a new
// password for both sign-in flows; the old one stops working.
func TestForgotPassword(t *testing.T) {
	clock := &clockMu{t: time.Now()}
	s := newStack(t, cognito.Options{Now: clock.now})
	s.register(t, "jane")
	if _, err := s.forgot(t, "jane"); err != nil {
		t.Fatalf("ForgotPassword: %v", err)
	}
	code, ok := s.pool.PasswordResetCode("jane")
	if !ok || len(code) != 6 {
		t.Fatalf("reset code = %q, %v; want six digits", code, ok)
	}
	tests := []struct {
		name           string
		code, password string
		check          func(*testing.T, error)
	}{
		{"wrong code", "000000" + "x", newPassword, func(t *testing.T, err error) {
			wantAPIError[*types.CodeMismatchException](t, err, "Invalid verification code provided, please try again.")
		}},
		{"weak password", code, "short", func(t *testing.T, err error) {
			wantAPIError[*types.InvalidPasswordException](t, err, "")
		}},
		{"right code", code, newPassword, func(t *testing.T, err error) {
			if err != nil {
				t.Fatalf("ConfirmForgotPassword: %v", err)
			}
		}},
		{"the code is spent", code, newPassword, func(t *testing.T, err error) {
			wantAPIError[*types.CodeMismatchException](t, err, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, s.reset(t, "jane", tt.code, tt.password)) })
	}
	if _, err := s.passwordAuth(t, "jane", testPassword); err == nil {
		t.Error("the old password still signs in")
	}
	if _, err := s.passwordAuth(t, "jane", newPassword); err != nil {
		t.Errorf("USER_PASSWORD_AUTH with the new password: %v", err)
	}
	if _, err := s.srpSignIn(t, "jane", newPassword, nil); err != nil {
		t.Errorf("USER_SRP_AUTH with the new password: %v", err)
	}

	// A code is good for an hour.
	if _, err := s.forgot(t, "jane"); err != nil {
		t.Fatal(err)
	}
	code, _ = s.pool.PasswordResetCode("jane")
	clock.set(clock.now().Add(time.Hour + time.Second))
	wantAPIError[*types.ExpiredCodeException](t, s.reset(t, "jane", code, testPassword), "")
}

func TestForgotPasswordRefusals(t *testing.T) {
	s := newStack(t, cognito.Options{})
	s.signUp(t, "adminconfirmed")
	if _, err := s.client.AdminConfirmSignUp(t.Context(), &cip.AdminConfirmSignUpInput{
		UserPoolId: aws.String(s.pool.PoolID()), Username: aws.String("adminconfirmed")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		username string
		check    func(*testing.T, *cip.ForgotPasswordOutput, error)
	}{
		{"unverified email", "adminconfirmed", func(t *testing.T, _ *cip.ForgotPasswordOutput, err error) {
			wantAPIError[*types.InvalidParameterException](t, err, "Cannot reset password for the user as there is no registered/verified email or phone_number")
		}},
		{"unknown user answers as if a code was sent", "nobody", func(t *testing.T, out *cip.ForgotPasswordOutput, err error) {
			if err != nil || out.CodeDeliveryDetails == nil {
				t.Fatalf("got %v, %v; want a delivery like a real user's", out, err)
			}
			if _, ok := s.pool.PasswordResetCode("nobody"); ok {
				t.Error("a code exists for an unknown user")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.forgot(t, tt.username)
			tt.check(t, out, err)
		})
	}
}

// TestResetCodeLimit: wrong reset codes are limited like sign-up codes, and
// reaching the limit spends the code.
func TestResetCodeLimit(t *testing.T) {
	s := newStack(t, cognito.Options{})
	s.register(t, "jane")
	if _, err := s.forgot(t, "jane"); err != nil {
		t.Fatal(err)
	}
	code, _ := s.pool.PasswordResetCode("jane")
	for i := range 4 {
		wantAPIError[*types.CodeMismatchException](t, s.reset(t, "jane", "wrong"+code, newPassword), "")
		if t.Failed() {
			t.Fatalf("wrong code %d", i+1)
		}
	}
	wantAPIError[*types.LimitExceededException](t, s.reset(t, "jane", "wrong"+code, newPassword), "")
	wantAPIError[*types.LimitExceededException](t, s.reset(t, "jane", code, newPassword), "")
	if _, ok := s.pool.PasswordResetCode("jane"); ok {
		t.Error("the reset code survived the limit")
	}
}
