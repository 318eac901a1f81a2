// Package cognito is the local stack's stand-in for an Amazon Cognito user
// pool with one app client.
//
// It speaks the Cognito Identity Provider JSON 1.1 API (POST /, header
// X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>), so an
// unmodified AWS SDK client pointed at it with a custom endpoint can sign up,
// confirm, sign in, refresh and manage group membership. Errors arrive the way
// Cognito sends them (HTTP 400, "__type" and x-amzn-ErrorType), so SDK callers
// see the same typed exceptions as in AWS.
//
// Tokens are RS256 JWTs laid out like Cognito's, signed with keys that are
// published at /<poolId>/.well-known/jwks.json next to an OpenID discovery
// document. The post-confirmation and pre-token-generation (V2_0) triggers run
// in-process as Go functions with the exact aws-lambda-go event types, a
// five-second deadline and a Lambda context carrying a fresh request ID.
//
// State lives in a data directory and survives a restart: users, groups,
// refresh-token sessions and the pool and client IDs in state.json, the RSA
// signing key in signing-key.pem, each replaced atomically on every change.
//
// Operations served: SignUp, ConfirmSignUp, ResendConfirmationCode,
// AdminConfirmSignUp, InitiateAuth (USER_PASSWORD_AUTH, USER_SRP_AUTH,
// REFRESH_TOKEN_AUTH, as far as the app client allows them: Options.AuthFlows
// is its ExplicitAuthFlows), RespondToAuthChallenge (PASSWORD_VERIFIER,
// NEW_PASSWORD_REQUIRED), ForgotPassword, ConfirmForgotPassword, GetUser,
// GlobalSignOut,
// AdminCreateUser, AdminGetUser, AdminAddUserToGroup,
// AdminRemoveUserFromGroup, AdminListGroupsForUser and AdminUserGlobalSignOut.
// Anything else is answered with UnknownOperationException. Browsers may
// call it from any origin (CORS), as they may call Cognito.
//
// USER_SRP_AUTH is SRP-6a over the 3072-bit group with SHA-256 and the
// HKDF-derived PASSWORD_VERIFIER signature, as amazon-cognito-identity-js and
// Amplify run it (srp.go); each user keeps a salt and verifier derived from
// the password at sign-up, admin creation, reset or new-password challenge.
//
// AdminCreateUser makes a FORCE_CHANGE_PASSWORD user with a temporary
// password (given, or generated to the password policy) valid for 7 days;
// MessageAction RESEND renews it, SUPPRESS sends nothing. The invitation is
// logged, not emailed (EMAIL medium and a verified address only; no SMS).
// The first sign-in with the temporary password answers
// NEW_PASSWORD_REQUIRED, with a Session valid for 3 minutes; the answer sets
// the password and any missing required attribute, confirms the user and
// signs them in (the pre-token trigger runs). No post-confirmation trigger
// runs for such a user, as in Cognito. Not modelled: the pre sign-up and
// custom message triggers, ValidationData, ForceAliasCreation (an address
// in use is refused), SMS.
package cognito
