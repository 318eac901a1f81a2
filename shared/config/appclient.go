package config

// AppClientAuthFlows are the InitiateAuth flows the user pool's app client
// allows, by Cognito's names (its ExplicitAuthFlows without "ALLOW_"):
// SRP, so that a password never leaves the app or tool that knows it and
// Cognito never receives one, and refresh. There is no USER_PASSWORD_AUTH:
// the console and the project's Go tools (shared/cognitosrp) all sign in
// with SRP. The CDK app deploys this list and the local stack's Cognito
// stand-in refuses any other flow, so a sign-in that works locally works in
// AWS. A new slice on every call, so that no caller can change it.
func AppClientAuthFlows() []string {
	return []string{"USER_SRP_AUTH", "REFRESH_TOKEN_AUTH"}
}
