// Package cognitoadmin reaches users of a Cognito user pool with the admin
// API: whether a user still exists (before approval) and revoking their
// sessions (on suspension). It changes no group membership.
package cognitoadmin

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// API is the part of the Cognito Identity Provider client this package calls.
type API interface {
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, opts ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminUserGlobalSignOut(ctx context.Context, in *cip.AdminUserGlobalSignOutInput, opts ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error)
}

// Groups manages the users of one user pool.
type Groups struct {
	api  API
	pool string
}

// New returns Groups for the user pool with ID pool.
func New(api API, pool string) *Groups { return &Groups{api: api, pool: pool} }

// UserExists reports whether username is still a user of the pool.
func (g *Groups) UserExists(ctx context.Context, username string) (bool, error) {
	_, err := g.api.AdminGetUser(ctx, &cip.AdminGetUserInput{
		UserPoolId: aws.String(g.pool), Username: aws.String(username)})
	var missing *types.UserNotFoundException
	switch {
	case errors.As(err, &missing):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get user: %w", err)
	}
	return true, nil
}

// SignOutEverywhere revokes all of username's refresh tokens.
func (g *Groups) SignOutEverywhere(ctx context.Context, username string) error {
	_, err := g.api.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{
		UserPoolId: aws.String(g.pool), Username: aws.String(username)})
	var missing *types.UserNotFoundException
	switch {
	case errors.As(err, &missing):
		return fmt.Errorf("global sign-out: %w: %w", fleetclaim.ErrNotFound, err)
	case err != nil:
		return fmt.Errorf("global sign-out: %w", err)
	}
	return nil
}
