package cognitosrp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// API is the part of the Cognito Identity Provider client a sign-in calls;
// *cognitoidentityprovider.Client is one.
type API interface {
	InitiateAuth(ctx context.Context, in *cip.InitiateAuthInput, opts ...func(*cip.Options)) (*cip.InitiateAuthOutput, error)
	RespondToAuthChallenge(ctx context.Context, in *cip.RespondToAuthChallengeInput, opts ...func(*cip.Options)) (*cip.RespondToAuthChallengeOutput, error)
}

// SignIn signs username in to the app client clientID of the user pool
// poolID with USER_SRP_AUTH and password, and returns Cognito's answer to
// the proof: tokens in AuthenticationResult, or the next challenge with its
// Session (NEW_PASSWORD_REQUIRED after a temporary password, which
// NewPassword answers, or an MFA challenge). Cognito's refusals (a wrong
// password is a NotAuthorizedException) come back wrapped, for errors.As.
func SignIn(ctx context.Context, api API, poolID, clientID, username, password string) (*cip.RespondToAuthChallengeOutput, error) {
	c, err := New(poolID)
	if err != nil {
		return nil, err
	}
	start, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserSrpAuth,
		ClientId: aws.String(clientID), AuthParameters: c.AuthParameters(username)})
	if err != nil {
		return nil, fmt.Errorf("initiate SRP sign-in: %w", err)
	}
	if start.ChallengeName != types.ChallengeNameTypePasswordVerifier {
		return nil, fmt.Errorf("initiate SRP sign-in: got challenge %q, want %s", start.ChallengeName, ChallengePasswordVerifier)
	}
	answer, err := c.PasswordVerifier(start.ChallengeParameters, password, time.Now())
	if err != nil {
		return nil, err
	}
	out, err := api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
		ChallengeName: types.ChallengeNameTypePasswordVerifier, ChallengeResponses: answer, Session: start.Session})
	if err != nil {
		return nil, fmt.Errorf("prove password: %w", err)
	}
	return out, nil
}

// ErrNotNewPasswordRequired is returned by NewPassword for an answer that
// is not the NEW_PASSWORD_REQUIRED challenge.
var ErrNotNewPasswordRequired = errors.New("cognitosrp: not a NEW_PASSWORD_REQUIRED challenge")

// NewPassword answers the NEW_PASSWORD_REQUIRED challenge that SignIn
// returned with the user's chosen password and any attributes the challenge
// asks for (without the "userAttributes." prefix), and returns Cognito's
// answer: tokens, or a further challenge.
func NewPassword(ctx context.Context, api API, clientID string, challenge *cip.RespondToAuthChallengeOutput,
	password string, attributes map[string]string) (*cip.RespondToAuthChallengeOutput, error) {
	if challenge == nil || challenge.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
		return nil, ErrNotNewPasswordRequired
	}
	// USER_ID_FOR_SRP is the user's real username, which a pool that signs
	// in with email does not take to be the address.
	responses := map[string]string{"USERNAME": challenge.ChallengeParameters["USER_ID_FOR_SRP"], "NEW_PASSWORD": password}
	for name, value := range attributes {
		responses["userAttributes."+name] = value
	}
	out, err := api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
		ChallengeName: types.ChallengeNameTypeNewPasswordRequired, ChallengeResponses: responses, Session: challenge.Session})
	if err != nil {
		return nil, fmt.Errorf("set new password: %w", err)
	}
	return out, nil
}
