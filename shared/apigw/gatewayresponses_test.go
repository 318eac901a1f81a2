package apigw_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
)

// documentedAs names the OpenAPI response (components.responses) that
// documents each gateway response: the contract an app reads must describe
// what API Gateway sends, headers and members included.
var documentedAs = map[string]string{
	"UNAUTHORIZED":                 "Unauthorized",
	"EXPIRED_TOKEN":                "Unauthorized",
	"ACCESS_DENIED":                "Forbidden",
	"MISSING_AUTHENTICATION_TOKEN": "NotFound",
	"BAD_REQUEST_BODY":             "BadRequest",
	"BAD_REQUEST_PARAMETERS":       "BadRequest",
	"REQUEST_TOO_LARGE":            "ContentTooLarge",
	"THROTTLED":                    "Throttled",
	"INTEGRATION_TIMEOUT":          "GatewayError",
	"DEFAULT_4XX":                  "GatewayError",
	"DEFAULT_5XX":                  "GatewayError",
}

// catchAllStatus is a status each catch-all may carry, for the check.
var catchAllStatus = map[string]int{"DEFAULT_4XX": http.StatusUnsupportedMediaType, "DEFAULT_5XX": http.StatusBadGateway}

// Every gateway response is documented: its media type, every header the
// document declares for it (WWW-Authenticate on 401, Retry-After on 429,
// Cache-Control), no undeclared Retry-After or WWW-Authenticate, and a body
// of exactly the documented members (instance included) and codes.
func TestGatewayResponsesMatchOpenAPI(t *testing.T) {
	d := loadDocument(t)
	for _, r := range apigw.GatewayResponses {
		t.Run(r.Type, func(t *testing.T) {
			name, ok := documentedAs[r.Type]
			if !ok {
				t.Fatalf("no OpenAPI response documents %s; add it to the document and to documentedAs", r.Type)
			}
			doc := d.resolve(map[string]any{"$ref": "#/components/responses/" + name})
			if doc == nil {
				t.Fatalf("components.responses.%s does not exist", name)
			}
			status := r.Status
			if status == 0 {
				status = catchAllStatus[r.Type]
			}
			headers := r.Headers("https://app.example")
			media := object(object(doc["content"])[headers["Content-Type"]])
			if media == nil {
				t.Fatalf("%s: Content-Type %q is not documented", name, headers["Content-Type"])
			}
			raw := r.Body("API Gateway's message", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
			var body map[string]any
			if err := json.Unmarshal([]byte(raw), &body); err != nil {
				t.Fatalf("body %s: %v", raw, err)
			}
			for _, e := range d.conform(media["schema"], body, "body", true) {
				t.Error(e)
			}
			if s, ok := body["status"]; ok && s != float64(status) {
				t.Errorf("body status %v, answer %d", s, status)
			}
			declared := object(doc["headers"])
			for h, hdoc := range declared {
				v, ok := headers[h]
				if !ok {
					t.Errorf("%s declares %s, which the gateway response does not send", name, h)
					continue
				}
				var value any = v
				if n, err := strconv.Atoi(v); err == nil {
					value = float64(n)
				}
				for _, e := range d.conform(d.resolve(hdoc)["schema"], value, h, true) {
					t.Error(e)
				}
			}
			for _, h := range []string{"WWW-Authenticate", "Retry-After"} {
				if _, sent := headers[h]; sent && declared[h] == nil {
					t.Errorf("sends %s, which %s does not declare", h, name)
				}
			}
		})
	}
}
