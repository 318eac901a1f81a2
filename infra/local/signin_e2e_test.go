package main

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestEndToEndSignInIsSRPOnly: the local stack's app client allows the
// deployed one's flows (config.AppClientAuthFlows), so the password flow
// is refused as Cognito refuses it, and the admin's SRP sign-in (in
// startStack) and refresh work.
func TestEndToEndSignInIsSRPOnly(t *testing.T) {
	x := startStack(t, t.TempDir())
	_, err := x.admin.cognito.InitiateAuth(t.Context(), &cip.InitiateAuthInput{ClientId: aws.String(x.e.ClientID),
		AuthFlow: types.AuthFlowTypeUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": testAdmin, "PASSWORD": testAdminPassword}})
	var refused *types.InvalidParameterException
	if !errors.As(err, &refused) || refused.ErrorMessage() != "USER_PASSWORD_AUTH flow not enabled for this client" {
		t.Errorf("USER_PASSWORD_AUTH: got %v, want InvalidParameterException: USER_PASSWORD_AUTH flow not enabled for this client", err)
	}
	if err := x.admin.refreshTokens(t.Context()); err != nil {
		t.Errorf("refresh after an SRP sign-in: %v", err)
	}
}
