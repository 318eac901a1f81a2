// Package cognitoadmin changes Cognito user pool group membership and
// sessions with the admin API, for installer approval and suspension.
package cognitoadmin

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// API is the part of the Cognito Identity Provider client this package calls.
type API interface {
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, opts ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	AdminRemoveUserFromGroup(ctx context.Context, in *cip.AdminRemoveUserFromGroupInput, opts ...func(*cip.Options)) (*cip.AdminRemoveUserFromGroupOutput, error)
	AdminUserGlobalSignOut(ctx context.Context, in *cip.AdminUserGlobalSignOutInput, opts ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error)
}

// Groups manages the users of one user pool.
type Groups struct {
	api  API
	pool string
}

// New returns Groups for the user pool with ID pool.
func New(api API, pool string) *Groups { return &Groups{api: api, pool: pool} }

// AddUserToGroup adds username to group; adding a member again is a no-op.
func (g *Groups) AddUserToGroup(ctx context.Context, username, group string) error {
	_, err := g.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
		UserPoolId: aws.String(g.pool), Username: aws.String(username), GroupName: aws.String(group)})
	if err != nil {
		return fmt.Errorf("add user to group %s: %w", group, err)
	}
	return nil
}

// RemoveUserFromGroup removes username from group.
func (g *Groups) RemoveUserFromGroup(ctx context.Context, username, group string) error {
	_, err := g.api.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{
		UserPoolId: aws.String(g.pool), Username: aws.String(username), GroupName: aws.String(group)})
	if err != nil {
		return fmt.Errorf("remove user from group %s: %w", group, err)
	}
	return nil
}

// SignOutEverywhere revokes all of username's refresh tokens.
func (g *Groups) SignOutEverywhere(ctx context.Context, username string) error {
	_, err := g.api.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{
		UserPoolId: aws.String(g.pool), Username: aws.String(username)})
	if err != nil {
		return fmt.Errorf("global sign-out: %w", err)
	}
	return nil
}
