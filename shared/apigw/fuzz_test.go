package apigw_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// Any body gets an answer, never an error or a panic: 201 only for a JSON
// object whose fields reach the service exactly as sent, 400 or 413
// otherwise, and a refusal never quotes the body back.
func FuzzIssueClaimBody(f *testing.F) {
	for _, s := range []string{`{"serialNumber":"SN-1"}`, `{"serialNumber":"SN-1","site":"a"}`, `{"serialNumber":42}`, `[]`, `null`,
		`{"serialNumber":"SN-1"} {}`, `{"serialNumber":"SN-1","tenantId":"globex"}`, `{"serialNumber":"\u0000"}`, `"x"`, `{`, ``,
		`{"serialNumber":"SN-1","serialNumber":"SN-2"}`, `{"SERIALNUMBER":"SN-1"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var got fleetclaim.IssueRequest
		svc := &fakeService{issue: func(_ fleetclaim.Principal, r fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error) {
			got = r
			return fleetclaim.IssuedClaim{}, nil
		}}
		h := &apigw.Handler{Service: svc, Log: logging.New(io.Discard, "error")}
		resp, err := h.Handle(t.Context(), events.APIGatewayProxyRequest{Resource: "/claims", HTTPMethod: "POST", Body: body,
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": installerClaims()}}})
		if err != nil {
			t.Fatalf("handler error: %v", err)
		}
		switch resp.StatusCode {
		case http.StatusCreated:
			var want struct{ SerialNumber, Template, Site string }
			if json.Unmarshal([]byte(body), &want) != nil || got.Serial != want.SerialNumber || got.Template != want.Template || got.Site != want.Site {
				t.Fatalf("body %q reached the service as %+v", body, got)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if len(body) > 12 && strings.Contains(resp.Body, body) {
				t.Fatalf("the refusal quotes the body: %s", resp.Body)
			}
		default:
			t.Fatalf("got %d for body %q", resp.StatusCode, body)
		}
	})
}
