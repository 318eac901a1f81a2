package cognito_test

import (
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

// codeLine is the readable line a sign-up code is printed as.
var codeLine = regexp.MustCompile(`(?m)^sign-up code for (\S+): (\d{6})$`)

// Each sign-up and each resend prints its code as one readable line, beside
// the JSON log, and the printed code is the one that confirms the user.
func TestConfirmationCodesArePrintedReadably(t *testing.T) {
	codes := &logBuffer{}
	s := newStack(t, cognito.Options{Codes: codes})
	s.signUp(t, "jane")
	if _, err := s.client.ResendConfirmationCode(t.Context(), &cip.ResendConfirmationCodeInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane")}); err != nil {
		t.Fatalf("ResendConfirmationCode: %v", err)
	}

	lines := codeLine.FindAllStringSubmatch(codes.String(), -1)
	if len(lines) != 2 {
		t.Fatalf("got code lines %q, want two lines like %q", codes.String(), "sign-up code for jane: 123456")
	}
	for _, l := range lines {
		if l[1] != "jane" {
			t.Errorf("code line names %q, want jane", l[1])
		}
	}
	pending, _ := s.pool.ConfirmationCode("jane")
	if last := lines[1][2]; last != pending {
		t.Errorf("last printed code %s, want the pending code %s", last, pending)
	}
	if _, err := s.client.ConfirmSignUp(t.Context(), &cip.ConfirmSignUpInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane"), ConfirmationCode: aws.String(lines[1][2]),
	}); err != nil {
		t.Errorf("ConfirmSignUp with the printed code: %v", err)
	}
}

// A password reset code is printed the same way, and the printed code sets
// the new password.
func TestResetCodesArePrintedReadably(t *testing.T) {
	codes := &logBuffer{}
	s := newStack(t, cognito.Options{Codes: codes})
	s.register(t, "jane")
	if _, err := s.forgot(t, "jane"); err != nil {
		t.Fatalf("ForgotPassword: %v", err)
	}
	m := regexp.MustCompile(`(?m)^password reset code for jane: (\d{6})$`).FindStringSubmatch(codes.String())
	if m == nil {
		t.Fatalf("got code lines %q, want one like %q", codes.String(), "password reset code for jane: 123456")
	}
	if err := s.reset(t, "jane", m[1], newPassword); err != nil {
		t.Errorf("ConfirmForgotPassword with the printed code: %v", err)
	}
}
