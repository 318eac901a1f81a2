package apigw

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// principalOf reads the caller from requestContext.authorizer.claims, which
// the Cognito user pools authorizer fills after verifying the access token.
// Nothing else in the request (body, headers, query) is trusted to say who the
// caller is or which tenant they belong to.
func principalOf(req events.APIGatewayProxyRequest) (fleetclaim.Principal, bool) {
	claims, ok := req.RequestContext.Authorizer["claims"].(map[string]any)
	if !ok {
		return fleetclaim.Principal{}, false
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	p := fleetclaim.Principal{
		Subject:  fleetclaim.InstallerID(str("sub")),
		Username: firstNonEmpty(str("username"), str("cognito:username")),
		TenantID: fleetclaim.TenantID(str("tenant_id")),
		Groups:   listClaim(claims["cognito:groups"]),
		Scopes:   strings.Fields(str("scope")),
	}
	return p, p.Subject != ""
}

// listClaim reads a multi-valued claim in any of the shapes API Gateway and
// its emulators produce: a JSON array, a JSON-array string, a bracketed
// space-separated string "[a b]", or a comma-separated string.
func listClaim(v any) []string {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case string:
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, "[") {
			var out []string
			if json.Unmarshal([]byte(s), &out) == nil {
				return out
			}
		}
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	}
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
