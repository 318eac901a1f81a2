package cognitotrigger

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// Invoke is the Lambda entry point of the pre-token trigger (it makes
// PreTokenGeneration a lambda.Handler). It answers with the event Cognito
// sent, unchanged but for its response, which is encoded by
// EncodePreTokenResponse: aws-lambda-go's V2_0 types have no omitempty, and
// would send JSON nulls that Cognito may reject.
func (h *PreTokenGeneration) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.CognitoEventUserPoolsPreTokenGenV2_0
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("decode pre token generation event: %w", err)
	}
	out, err := h.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	var echo map[string]json.RawMessage
	if err := json.Unmarshal(payload, &echo); err != nil {
		return nil, fmt.Errorf("decode pre token generation event: %w", err)
	}
	if echo["response"], err = EncodePreTokenResponse(out.Response); err != nil {
		return nil, err
	}
	return json.Marshal(echo)
}

// EncodePreTokenResponse encodes a V2_0 pre-token response with every empty
// member left out, so it carries no JSON null. The one empty value kept is
// groupOverrideDetails.groupsToOverride: there an empty list means "no
// groups", which is how privileged groups are stripped, whereas leaving it
// out would keep the user's groups.
func EncodePreTokenResponse(r events.CognitoEventUserPoolsPreTokenGenResponseV2_0) (json.RawMessage, error) {
	type tokenGeneration struct {
		ClaimsToAddOrOverride map[string]any `json:"claimsToAddOrOverride,omitempty"`
		ClaimsToSuppress      []string       `json:"claimsToSuppress,omitempty"`
		ScopesToAdd           []string       `json:"scopesToAdd,omitempty"`
		ScopesToSuppress      []string       `json:"scopesToSuppress,omitempty"`
	}
	type groupOverride struct {
		GroupsToOverride   []string `json:"groupsToOverride"`
		IAMRolesToOverride []string `json:"iamRolesToOverride,omitempty"`
		PreferredRole      *string  `json:"preferredRole,omitempty"`
	}
	type details struct {
		IDTokenGeneration     *tokenGeneration `json:"idTokenGeneration,omitempty"`
		AccessTokenGeneration *tokenGeneration `json:"accessTokenGeneration,omitempty"`
		GroupOverrideDetails  *groupOverride   `json:"groupOverrideDetails,omitempty"`
	}
	type response struct {
		ClaimsAndScopeOverrideDetails *details `json:"claimsAndScopeOverrideDetails,omitempty"`
	}
	d := r.ClaimsAndScopeOverrideDetails
	gen := func(claims map[string]any, suppress, add, suppressScopes []string) *tokenGeneration {
		if len(claims)+len(suppress)+len(add)+len(suppressScopes) == 0 {
			return nil
		}
		return &tokenGeneration{ClaimsToAddOrOverride: claims, ClaimsToSuppress: suppress, ScopesToAdd: add, ScopesToSuppress: suppressScopes}
	}
	out := details{
		IDTokenGeneration: gen(d.IDTokenGeneration.ClaimsToAddOrOverride, d.IDTokenGeneration.ClaimsToSuppress, nil, nil),
		AccessTokenGeneration: gen(d.AccessTokenGeneration.ClaimsToAddOrOverride, d.AccessTokenGeneration.ClaimsToSuppress,
			d.AccessTokenGeneration.ScopesToAdd, d.AccessTokenGeneration.ScopesToSuppress),
	}
	g := d.GroupOverrideDetails
	if g.PreferredRole != nil && *g.PreferredRole == "" {
		g.PreferredRole = nil
	}
	if g.GroupsToOverride != nil || len(g.IAMRolesToOverride) > 0 || g.PreferredRole != nil {
		out.GroupOverrideDetails = &groupOverride{GroupsToOverride: nonNil(g.GroupsToOverride),
			IAMRolesToOverride: g.IAMRolesToOverride, PreferredRole: g.PreferredRole}
	}
	resp := response{}
	if out != (details{}) {
		resp.ClaimsAndScopeOverrideDetails = &out
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("encode pre token generation response: %w", err)
	}
	return b, nil
}
