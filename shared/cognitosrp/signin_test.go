package cognitosrp_test

import (
	"context"
	"errors"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/shared/cognitosrp"
)

// SignIn and NewPassword against a real pool, the local stack's Cognito
// stand-in over HTTP, are tested with it (infra/local/cognito,
// TestCognitoSRPSignIn and TestCognitoSRPNewPassword), so that this package
// does not depend on the local stack. Here: what a client must refuse to
// do whatever the server says.

// fakeAPI answers InitiateAuth with a fixed challenge and records whether
// the challenge was answered.
type fakeAPI struct {
	challenge types.ChallengeNameType
	params    map[string]string
	responded bool
}

func (f *fakeAPI) InitiateAuth(_ context.Context, _ *cip.InitiateAuthInput, _ ...func(*cip.Options)) (*cip.InitiateAuthOutput, error) {
	return &cip.InitiateAuthOutput{ChallengeName: f.challenge, ChallengeParameters: f.params}, nil
}

func (f *fakeAPI) RespondToAuthChallenge(_ context.Context, _ *cip.RespondToAuthChallengeInput, _ ...func(*cip.Options)) (*cip.RespondToAuthChallengeOutput, error) {
	f.responded = true
	return &cip.RespondToAuthChallengeOutput{}, nil
}

func TestSignInRefusesUnusableChallenges(t *testing.T) {
	good := map[string]string{"USER_ID_FOR_SRP": "jane", "SALT": "ab", "SRP_B": "1234", "SECRET_BLOCK": "c2VjcmV0"}
	zeroB := map[string]string{"USER_ID_FOR_SRP": "jane", "SALT": "ab", "SRP_B": "0", "SECRET_BLOCK": "c2VjcmV0"}
	tests := []struct {
		name      string
		challenge types.ChallengeNameType
		params    map[string]string
		wantBad   bool // ErrBadChallenge, else any error
	}{
		{"B is zero", types.ChallengeNameTypePasswordVerifier, zeroB, true},
		{"another challenge than PASSWORD_VERIFIER", types.ChallengeNameTypeCustomChallenge, good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := fakeAPI{challenge: tt.challenge, params: tt.params}
			out, err := cognitosrp.SignIn(t.Context(), &api, "eu-west-1_Ab12", "client", "jane", "Passw0rd-1")
			if err == nil || out != nil || (tt.wantBad && !errors.Is(err, cognitosrp.ErrBadChallenge)) {
				t.Errorf("got %+v, %v; want an error (ErrBadChallenge: %v)", out, err, tt.wantBad)
			}
			if api.responded {
				t.Error("answered the challenge")
			}
		})
	}
}

func TestSignInRefusesABadPoolID(t *testing.T) {
	api := fakeAPI{challenge: types.ChallengeNameTypePasswordVerifier}
	if _, err := cognitosrp.SignIn(t.Context(), &api, "no-underscore", "client", "jane", "Passw0rd-1"); err == nil {
		t.Error("got no error, want one for a pool ID without a region")
	}
}
