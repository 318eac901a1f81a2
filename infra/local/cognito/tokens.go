package cognito

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// scopeSignIn is the scope Cognito puts in every access token from the
// user-pool API (not the OAuth endpoints).
const scopeSignIn = "aws.cognito.signin.user.admin"

// reservedClaims cannot be added, overridden or suppressed by a trigger.
var reservedClaims = []string{"acr", "amr", "aud", "auth_time", "azp", "at_hash", "client_id", "event_id", "exp", "iat",
	"identities", "iss", "jti", "nbf", "nonce", "origin_jti", "scope", "sub", "token_use", "username", "cognito:username"}

func reserved(claim string) bool {
	return slices.Contains(reservedClaims, claim) || strings.HasPrefix(claim, "cognito:")
}

// tokens is one issue of ID and access tokens.
type tokens struct{ access, id string }

// issue signs an ID and an access token for u, after the pre-token trigger
// (V2_0) has had its say. source is TokenGeneration_Authentication or
// TokenGeneration_RefreshTokens.
func (p *Pool) issue(ctx context.Context, u *user, source, originJTI string, authTime time.Time) (tokens, error) {
	groups := slices.Clone(u.Groups)
	scopes := []string{scopeSignIn}
	idAdd, accessAdd := map[string]any{}, map[string]any{}
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
		scopes = append(scopes, d.AccessTokenGeneration.ScopesToAdd...)
		scopesDrop = d.AccessTokenGeneration.ScopesToSuppress
		// groupOverrideDetails replaces the user's groups: an empty object
		// suppresses them. A trigger that answered nothing at all leaves
		// them as they were.
		if !isZero(d) {
			groups = d.GroupOverrideDetails.GroupsToOverride
		}
	}
	scopes = slices.DeleteFunc(slices.Compact(scopes), func(s string) bool { return slices.Contains(scopesDrop, s) })

	now := p.now()
	exp := now.Add(p.tokenLifetime)
	eventID := newUUID()
	common := func() map[string]any {
		c := map[string]any{
			"sub": u.Sub, "iss": p.issuer, "origin_jti": originJTI, "event_id": eventID,
			"auth_time": authTime.Unix(), "iat": now.Unix(), "exp": exp.Unix(), "jti": newUUID(),
		}
		if len(groups) > 0 {
			c["cognito:groups"] = groups
		}
		return c
	}
	access := common()
	access["token_use"], access["client_id"], access["username"] = "access", p.clientID, u.Username
	access["scope"] = strings.Join(scopes, " ")
	apply(access, accessAdd, accessDrop)

	id := common()
	id["token_use"], id["aud"], id["cognito:username"] = "id", p.clientID, u.Username
	for k, v := range u.Attributes {
		if k == "email_verified" {
			id[k] = v == "true"
			continue
		}
		id[k] = v
	}
	if _, ok := id["email_verified"]; !ok && u.Attributes["email"] != "" {
		id["email_verified"] = false
	}
	apply(id, idAdd, idDrop)

	var t tokens
	var err error
	if t.access, err = p.keys.sign(access); err != nil {
		return tokens{}, newError(codeInternal, "Internal error.")
	}
	if t.id, err = p.keys.sign(id); err != nil {
		return tokens{}, newError(codeInternal, "Internal error.")
	}
	return t, nil
}

func apply(claims, add map[string]any, drop []string) {
	for k, v := range add {
		if !reserved(k) {
			claims[k] = v
		}
	}
	for _, k := range drop {
		if !reserved(k) {
			delete(claims, k)
		}
	}
}

func isZero(d events.ClaimsAndScopeOverrideDetailsV2_0) bool {
	return d.IDTokenGeneration.ClaimsToAddOrOverride == nil && d.IDTokenGeneration.ClaimsToSuppress == nil &&
		d.AccessTokenGeneration.ClaimsToAddOrOverride == nil && d.AccessTokenGeneration.ClaimsToSuppress == nil &&
		d.AccessTokenGeneration.ScopesToAdd == nil && d.AccessTokenGeneration.ScopesToSuppress == nil &&
		d.GroupOverrideDetails.GroupsToOverride == nil && d.GroupOverrideDetails.IAMRolesToOverride == nil &&
		d.GroupOverrideDetails.PreferredRole == nil
}
