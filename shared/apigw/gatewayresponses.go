package apigw

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// GatewayResponse is an answer API Gateway gives itself, before or instead
// of the function (a customized gateway response), written as the function
// writes its errors: an RFC 9457 problem document with the stable code.
// GatewayResponses is the single list that the CDK app deploys and the
// local API stand-in answers with; a test checks it against the OpenAPI
// document.
type GatewayResponse struct {
	// Type is API Gateway's response type, e.g. "UNAUTHORIZED".
	Type string
	// Status is the HTTP status. Zero keeps API Gateway's own, which
	// varies for the DEFAULT_4XX and DEFAULT_5XX catch-alls.
	Status int
	// Code is the problem's stable code.
	Code string
}

// GatewayResponses covers the answers an installer app can meet. A missing,
// invalid or expired token, or one without the method's scope, is 401 from
// the Cognito authorizer (API Gateway answers a scope it does not find
// with UNAUTHORIZED, not ACCESS_DENIED, which is for explicit denies). An
// unknown path or method is 403 "Missing Authentication Token" in API
// Gateway's terms: a 404 here. Types not listed fall back to DEFAULT_4XX or
// DEFAULT_5XX with API Gateway's own status.
var GatewayResponses = []GatewayResponse{
	{"UNAUTHORIZED", http.StatusUnauthorized, fleetclaim.CodeUnauthenticated},
	{"EXPIRED_TOKEN", http.StatusUnauthorized, fleetclaim.CodeUnauthenticated},
	{"ACCESS_DENIED", http.StatusForbidden, fleetclaim.CodeForbidden},
	{"MISSING_AUTHENTICATION_TOKEN", http.StatusNotFound, fleetclaim.CodeNotFound},
	{"BAD_REQUEST_BODY", http.StatusBadRequest, fleetclaim.CodeInvalidRequest},
	{"BAD_REQUEST_PARAMETERS", http.StatusBadRequest, fleetclaim.CodeInvalidRequest},
	{"REQUEST_TOO_LARGE", http.StatusRequestEntityTooLarge, fleetclaim.CodeBodyTooLarge},
	{"THROTTLED", http.StatusTooManyRequests, fleetclaim.CodeThrottled},
	{"INTEGRATION_TIMEOUT", http.StatusGatewayTimeout, fleetclaim.CodeUnavailable},
	{"DEFAULT_4XX", 0, fleetclaim.CodeInvalidRequest},
	{"DEFAULT_5XX", 0, fleetclaim.CodeInternal},
}

// GatewayResponseFor returns the response API Gateway gives for an error of
// type responseType whose own status is status: the one customized for the
// type, else the DEFAULT_4XX or DEFAULT_5XX one, as API Gateway chooses.
func GatewayResponseFor(responses []GatewayResponse, responseType string, status int) (GatewayResponse, bool) {
	fallback := "DEFAULT_5XX"
	if status < 500 {
		fallback = "DEFAULT_4XX"
	}
	var def GatewayResponse
	found := false
	for _, r := range responses {
		switch r.Type {
		case responseType:
			return r, true
		case fallback:
			def, found = r, true
		}
	}
	return def, found
}

// retryAfterSeconds is what a throttled caller is told to wait: API
// Gateway's token bucket refills every second.
const retryAfterSeconds = "1"

// Title is the problem's title: the status phrase, or a generic one for the
// catch-alls, whose status varies.
func (r GatewayResponse) Title() string {
	switch {
	case r.Status != 0:
		return http.StatusText(r.Status)
	case r.Type == "DEFAULT_4XX":
		return "Client Error"
	}
	return "Server Error"
}

// Headers are the response's headers for an API whose installer app is
// served from origin ("" for none). They are static, as API Gateway's
// response parameters are: the same for every request.
func (r GatewayResponse) Headers(origin string) map[string]string {
	h := map[string]string{
		"Content-Type": "application/problem+json",
		// As on the function's answers: nothing between API Gateway and
		// the installer app keeps a copy.
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	if origin != "" {
		// Without CORS headers a browser hides even the status.
		h["Access-Control-Allow-Origin"] = origin
		h["Vary"] = "Origin"
	}
	switch r.Status {
	case http.StatusUnauthorized:
		h["WWW-Authenticate"] = "Bearer"
	case http.StatusTooManyRequests:
		h["Retry-After"] = retryAfterSeconds
	}
	return h
}

// Template is the response's mapping template. $context.error.messageString
// is API Gateway's own message, already a quoted JSON string, and
// $context.requestId the request ID the function's problems carry as
// instance. The catch-alls carry no status member: theirs varies.
func (r GatewayResponse) Template() string {
	status := ""
	if r.Status != 0 {
		status = fmt.Sprintf(`"status":%d,`, r.Status)
	}
	return fmt.Sprintf(`{"type":"about:blank","title":%q,%s"code":%q,"detail":$context.error.messageString,"instance":"$context.requestId"}`,
		r.Title(), status, r.Code)
}

// Body is the template as API Gateway renders it for a request with ID
// requestID whose error message ($context.error.message) is message. The
// local stand-in answers with it, so its bodies are the deployed ones.
func (r GatewayResponse) Body(message, requestID string) string {
	quoted, _ := json.Marshal(message) // a string always encodes
	return strings.NewReplacer(
		"$context.error.messageString", string(quoted),
		"$context.requestId", requestID,
	).Replace(r.Template())
}
