package fleetclaim

import "time"

// Token validities of the user pool's app client. The CDK app deploys them
// and the local stack's Cognito stand-in uses them as its defaults, so a
// token lives as long locally as in AWS unless a flag says otherwise.
// Invariant 5 is why access tokens stay short: claim issuance re-checks the
// installer record, but other readers trust a token for its lifetime.
const (
	// AccessTokenValidity is how long an access token, which carries the
	// API's scopes, is accepted (Cognito allows 5 minutes to 1 day).
	AccessTokenValidity = time.Hour
	// IDTokenValidity is how long an ID token is accepted (5 minutes to
	// 1 day).
	IDTokenValidity = time.Hour
	// RefreshTokenValidity is how long a refresh token can get new access
	// and ID tokens (60 minutes to 10 years).
	RefreshTokenValidity = 30 * 24 * time.Hour
)
