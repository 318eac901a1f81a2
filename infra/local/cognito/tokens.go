package cognito

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"
)

// scopeSignIn is the scope Cognito puts in every access token from the
// user-pool API (not the OAuth endpoints).
const scopeSignIn = "aws.cognito.signin.user.admin"

// reservedClaims cannot be added, overridden or suppressed by a trigger.
var reservedClaims = []string{"acr", "amr", "aud", "auth_time", "azp", "at_hash", "client_id", "event_id", "exp", "iat",
	"identities", "iss", "jti", "nbf", "nonce", "origin_jti", "scope", "sub", "token_use", "username", "version"}

// groupClaims are the "cognito:" claims a trigger may suppress; it changes
// them through groupOverrideDetails.
var groupClaims = []string{"cognito:groups", "cognito:roles", "cognito:preferred_role"}

func reserved(claim string) bool {
	return slices.Contains(reservedClaims, claim) || strings.HasPrefix(claim, "cognito:")
}

// tokens is one issue of ID and access tokens.
type tokens struct{ access, id string }

// issue signs an ID and an access token for u, after the pre-token trigger
// (V2_0) has had its say. source is TokenGeneration_Authentication or
// TokenGeneration_RefreshTokens; originJTI, eventID and authTime belong to
// the sign-in, which every refresh of it repeats.
func (p *Pool) issue(ctx context.Context, u *user, source, originJTI, eventID string, authTime time.Time) (tokens, error) {
	groups := slices.Clone(u.Groups)
	scopes := []string{scopeSignIn}
	var roles []string
	var preferredRole *string
	var idAdd, accessAdd map[string]any
	var idDrop, accessDrop, scopesDrop []string

	if p.preTokenGeneration != nil {
		attrs := u.allAttributes()
		attrs["cognito:user_status"] = u.Status
		ev := events.CognitoEventUserPoolsPreTokenGenV2_0{
			CognitoEventUserPoolsHeader: p.header(source, "2", u.Username, p.clientID, sdkVersionUnknown),
			Request: events.CognitoEventUserPoolsPreTokenGenRequestV2_0{
				UserAttributes:     attrs,
				GroupConfiguration: events.GroupConfigurationV2_0{GroupsToOverride: slices.Clone(groups), IAMRolesToOverride: []string{}},
				Scopes:             slices.Clone(scopes),
			},
		}
		var out events.CognitoEventUserPoolsPreTokenGenV2_0
		err := invoke(ctx, p, "PreTokenGeneration", func(ctx context.Context) error {
			var err error
			out, err = p.preTokenGeneration(ctx, ev)
			return err
		})
		if err != nil {
			return tokens{}, err
		}
		d := out.Response.ClaimsAndScopeOverrideDetails
		idAdd, idDrop = d.IDTokenGeneration.ClaimsToAddOrOverride, d.IDTokenGeneration.ClaimsToSuppress
		accessAdd, accessDrop = d.AccessTokenGeneration.ClaimsToAddOrOverride, d.AccessTokenGeneration.ClaimsToSuppress
		for _, s := range d.AccessTokenGeneration.ScopesToAdd {
			if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
				p.log.Warn("pre token generation: scope ignored, scopes cannot contain spaces", "scope", s)
				continue
			}
			scopes = append(scopes, s)
		}
		scopesDrop = d.AccessTokenGeneration.ScopesToSuppress
		// The developer guide: "The groupOverrideDetails object is replaced
		// with the one you provide. If you provide an empty or null object in
		// the response, then the groups are suppressed." A Go handler always
		// answers with the object, so one that leaves it zero drops the
		// groups, in AWS as here; to keep them it copies groupConfiguration.
		groups = d.GroupOverrideDetails.GroupsToOverride
		roles, preferredRole = d.GroupOverrideDetails.IAMRolesToOverride, d.GroupOverrideDetails.PreferredRole
	}
	// Suppression wins over addition, as it does for claims.
	scopes = slices.DeleteFunc(unique(scopes), func(s string) bool { return slices.Contains(scopesDrop, s) })

	now := p.now()
	common := func(lifetime time.Duration) map[string]any {
		c := map[string]any{
			"sub": u.Sub, "iss": p.issuer, "origin_jti": originJTI, "event_id": eventID,
			"auth_time": authTime.Unix(), "iat": now.Unix(), "exp": now.Add(lifetime).Unix(), "jti": newUUID(),
		}
		if len(groups) > 0 {
			c["cognito:groups"] = groups
		}
		return c
	}
	access := common(p.accessLifetime)
	access["token_use"], access["client_id"], access["username"], access["version"] = "access", p.clientID, u.Username, 2
	if len(scopes) > 0 {
		access["scope"] = strings.Join(scopes, " ")
	}
	p.apply("access", access, accessAdd, accessDrop)

	// The ID token carries the user's attributes, then the claims Cognito
	// sets, so that no attribute can stand for one of those (sign-up only
	// accepts the client's write attributes; this holds even if state on
	// disk says otherwise).
	id := make(map[string]any, len(u.Attributes)+12)
	for k, v := range u.Attributes {
		switch {
		case reserved(k):
			continue
		case k == "email_verified" || k == "phone_number_verified":
			id[k] = v == "true" // booleans in tokens, strings in the API
		default:
			id[k] = v
		}
	}
	if _, ok := id["email_verified"]; !ok && u.Attributes["email"] != "" {
		id["email_verified"] = false
	}
	maps.Copy(id, common(p.idLifetime))
	id["token_use"], id["aud"], id["cognito:username"] = "id", p.clientID, u.Username
	if len(roles) > 0 {
		id["cognito:roles"] = roles
	}
	if preferredRole != nil && *preferredRole != "" {
		id["cognito:preferred_role"] = *preferredRole
	}
	p.apply("id", id, idAdd, idDrop)

	var t tokens
	var err error
	if t.access, err = p.keys.sign(access); err != nil {
		return tokens{}, err
	}
	if t.id, err = p.keys.sign(id); err != nil {
		return tokens{}, err
	}
	return t, nil
}

// apply adds, overrides and then suppresses claims as a trigger asked:
// Cognito suppresses a claim that a response both overrides and suppresses.
// Reserved claims are left alone and the attempt logged, so that a handler
// relying on one shows up here rather than silently in AWS.
func (p *Pool) apply(token string, claims, add map[string]any, drop []string) {
	for k, v := range add {
		if reserved(k) {
			p.log.Warn("pre token generation: reserved claim not overridden", "token", token, "claim", k)
			continue
		}
		claims[k] = v
	}
	for _, k := range drop {
		if reserved(k) && !slices.Contains(groupClaims, k) {
			p.log.Warn("pre token generation: reserved claim not suppressed", "token", token, "claim", k)
			continue
		}
		delete(claims, k)
	}
}

// unique drops repeated values, keeping the first of each.
func unique(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
