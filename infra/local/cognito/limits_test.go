package cognito_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

const (
	incorrect = "Incorrect username or password."
	exceeded  = "Password attempts exceeded"
)

// TestSignInLockout: five failed sign-ins are free; then each failure locks
// the user out for twice as long as the last lock-out (1 s, 2 s, 4 s...),
// during which even the right password is refused as "Password attempts
// exceeded"; a success forgets the failures; other users are not affected.
func TestSignInLockout(t *testing.T) {
	start := time.Now()
	var clock clockMu
	clock.set(start)
	s := newStack(t, cognito.Options{Now: clock.now})
	s.register(t, "jane")
	s.register(t, "john")

	for i := range 5 {
		_, err := s.passwordAuth(t, "jane", "Wrong-Password-1")
		wantAPIError[*types.NotAuthorizedException](t, err, incorrect)
		if t.Failed() {
			t.Fatalf("failure %d", i+1)
		}
	}
	// The fifth failure started a 1 s lock-out.
	_, err := s.passwordAuth(t, "jane", testPassword)
	wantAPIError[*types.NotAuthorizedException](t, err, exceeded)
	if _, err := s.passwordAuth(t, "john", testPassword); err != nil {
		t.Errorf("another user during jane's lock-out: %v", err)
	}

	// Each failure after a lock-out doubles it.
	at := start
	for _, lockout := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		clock.set(at.Add(lockout - time.Millisecond))
		_, err := s.passwordAuth(t, "jane", testPassword)
		wantAPIError[*types.NotAuthorizedException](t, err, exceeded)
		at = at.Add(lockout)
		clock.set(at)
		_, err = s.passwordAuth(t, "jane", "Wrong-Password-1")
		wantAPIError[*types.NotAuthorizedException](t, err, incorrect)
	}

	// Past the last lock-out (16 s) the right password works, and
	// forgets the failures: the next one is free again.
	clock.set(at.Add(16 * time.Second))
	if _, err := s.passwordAuth(t, "jane", testPassword); err != nil {
		t.Fatalf("after the lock-out: %v", err)
	}
	_, err = s.passwordAuth(t, "jane", "Wrong-Password-1")
	wantAPIError[*types.NotAuthorizedException](t, err, incorrect)
	if _, err := s.passwordAuth(t, "jane", testPassword); err != nil {
		t.Errorf("one failure after a success locks nothing: %v", err)
	}
}

// TestSignInLockoutLimits: a lock-out never exceeds 15 minutes, and 15
// minutes without attempts forget the failures.
func TestSignInLockoutLimits(t *testing.T) {
	now := time.Now()
	var clock clockMu
	clock.set(now)
	s := newStack(t, cognito.Options{Now: clock.now})
	s.register(t, "jane")
	fail := func() {
		t.Helper()
		_, err := s.passwordAuth(t, "jane", "Wrong-Password-1")
		wantAPIError[*types.NotAuthorizedException](t, err, incorrect)
	}
	for range 5 {
		fail()
	}
	// Lock-outs of 1 s, 2 s ... 512 s, each failure just as the last
	// lock-out ends; the next would be 1024 s and is 15 minutes.
	for lockout := time.Second; lockout <= 512*time.Second; lockout *= 2 {
		now = now.Add(lockout)
		clock.set(now)
		fail()
	}
	clock.set(now.Add(15*time.Minute - time.Millisecond))
	_, err := s.passwordAuth(t, "jane", testPassword)
	wantAPIError[*types.NotAuthorizedException](t, err, exceeded)
	clock.set(now.Add(15 * time.Minute))
	if _, err := s.passwordAuth(t, "jane", testPassword); err != nil {
		t.Fatalf("after a 15-minute lock-out: %v", err)
	}

	// Four failures, 15 quiet minutes, four more: never five in a row.
	now = now.Add(time.Hour)
	clock.set(now)
	for range 4 {
		fail()
	}
	clock.set(now.Add(15 * time.Minute))
	for range 4 {
		fail()
	}
	if _, err := s.passwordAuth(t, "jane", testPassword); err != nil {
		t.Errorf("after 15 quiet minutes between failures: %v", err)
	}
}

// TestUnknownUserLockout: a user that does not exist is locked out like
// one that does, so the lock-out does not tell which users exist.
func TestUnknownUserLockout(t *testing.T) {
	var clock clockMu
	clock.set(time.Now())
	s := newStack(t, cognito.Options{Now: clock.now})
	for range 5 {
		_, err := s.passwordAuth(t, "nobody", "Wrong-Password-1")
		wantAPIError[*types.NotAuthorizedException](t, err, incorrect)
	}
	_, err := s.passwordAuth(t, "nobody", "Wrong-Password-1")
	wantAPIError[*types.NotAuthorizedException](t, err, exceeded)
}

// TestConfirmationCodeLimit: the fifth wrong code answers
// LimitExceededException and invalidates the code; confirmation stays
// locked for 15 minutes even with the right code, after which the old code
// is expired and a new one (ResendConfirmationCode) confirms. Two hundred
// guesses check five codes at most. Other users are not affected.
func TestConfirmationCodeLimit(t *testing.T) {
	now := time.Now()
	var clock clockMu
	clock.set(now)
	s := newStack(t, cognito.Options{Now: clock.now})
	s.signUp(t, "jane")
	s.signUp(t, "john")
	code, ok := s.pool.ConfirmationCode("jane")
	if !ok {
		t.Fatal("no code for jane")
	}
	confirm := func(username, code string) error {
		_, err := s.client.ConfirmSignUp(t.Context(), &cip.ConfirmSignUpInput{
			ClientId: aws.String(s.pool.ClientID()), Username: aws.String(username), ConfirmationCode: aws.String(code)})
		return err
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	for range 4 {
		wantAPIError[*types.CodeMismatchException](t, confirm("jane", wrong), "Invalid verification code provided, please try again.")
	}
	limit := "Attempt limit exceeded, please try after some time."
	wantAPIError[*types.LimitExceededException](t, confirm("jane", wrong), limit)
	mismatches := 0
	for range 200 {
		if err := confirm("jane", wrong); err != nil {
			if m := (*types.CodeMismatchException)(nil); errors.As(err, &m) {
				mismatches++
			}
		}
	}
	if mismatches != 0 {
		t.Errorf("%d of 200 guesses past the limit were checked", mismatches)
	}
	wantAPIError[*types.LimitExceededException](t, confirm("jane", code), limit)
	s.confirm(t, "john")

	clock.set(now.Add(15 * time.Minute))
	wantAPIError[*types.ExpiredCodeException](t, confirm("jane", code), "Invalid code provided, please request a code again.")
	if _, err := s.client.ResendConfirmationCode(t.Context(), &cip.ResendConfirmationCodeInput{
		ClientId: aws.String(s.pool.ClientID()), Username: aws.String("jane")}); err != nil {
		t.Fatalf("ResendConfirmationCode: %v", err)
	}
	s.confirm(t, "jane")
}

// TestUnknownUserCodeLimit: guesses for a user that does not exist meet
// the same limit.
func TestUnknownUserCodeLimit(t *testing.T) {
	s := newStack(t, cognito.Options{})
	var err error
	for range 5 {
		_, err = s.client.ConfirmSignUp(t.Context(), &cip.ConfirmSignUpInput{
			ClientId: aws.String(s.pool.ClientID()), Username: aws.String("nobody"), ConfirmationCode: aws.String("123456")})
	}
	wantAPIError[*types.LimitExceededException](t, err, "Attempt limit exceeded, please try after some time.")
}
