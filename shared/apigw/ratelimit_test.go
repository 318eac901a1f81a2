package apigw_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// Each installer has their own allowance per minute, across routes; past it
// they get 429 throttled with Retry-After, and others are unaffected.
func TestPerInstallerRateLimit(t *testing.T) {
	w := newWorld(t, withRequestsPerMinute(3))
	get := func(token map[string]any) (int, string, string) {
		resp := w.handle(request("GET", "/claims/{id}", map[string]string{"id": issuedClaim}, token))
		var p struct{ Code string }
		_ = json.Unmarshal([]byte(resp.Body), &p)
		return resp.StatusCode, p.Code, resp.Headers["Retry-After"]
	}
	tests := []struct {
		name       string
		token      map[string]any
		wantStatus int
		wantCode   string
	}{
		{"first", asInstaller(), http.StatusOK, ""},
		{"second", asInstaller(), http.StatusOK, ""},
		{"third", asInstaller(), http.StatusOK, ""},
		{"fourth", asInstaller(), http.StatusTooManyRequests, "throttled"},
		{"another installer", asAdmin(), http.StatusOK, ""},
	}
	for _, tt := range tests {
		status, code, retry := get(tt.token)
		if status != tt.wantStatus || code != tt.wantCode {
			t.Errorf("%s: got %d %q, want %d %q", tt.name, status, code, tt.wantStatus, tt.wantCode)
		}
		if status == http.StatusTooManyRequests && retry == "" {
			t.Errorf("%s: no Retry-After", tt.name)
		}
	}
}
