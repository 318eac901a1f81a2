package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/console"
)

var local = console.Config{Region: "us-east-1", UserPoolID: "us-east-1_abc", ClientID: "client",
	APIURL: "http://127.0.0.1:8080/local", CognitoEndpoint: "http://127.0.0.1:9229", CAPEM: "-----BEGIN CERTIFICATE-----"}

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHandler(t *testing.T) {
	if !console.Built() {
		t.Fatal("the console is not built: run go generate ./shared/console (make test does)")
	}
	h := console.Handler(local)
	tests := []struct {
		method, path string
		wantStatus   int
		wantType     string
		wantBody     string
	}{
		{"GET", "/", http.StatusOK, "text/html", `<script type="module" src="app.js">`},
		{"GET", "/app.js", http.StatusOK, "javascript", "PASSWORD_VERIFIER"},
		{"GET", "/styles.css", http.StatusOK, "text/css", "[hidden]"},
		{"GET", "/config.json", http.StatusOK, "application/json", `"userPoolId":"us-east-1_abc"`},
		{"GET", "/nope.js", http.StatusNotFound, "", ""},
		{"POST", "/config.json", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp := get(t, h, tt.method, tt.path)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); !strings.Contains(got, tt.wantType) {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body lacks %q", tt.wantBody)
			}
			for _, name := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
				if resp.Header.Get(name) == "" {
					t.Errorf("no %s header", name)
				}
			}
		})
	}
}

func TestConfigJSON(t *testing.T) {
	resp := get(t, console.Handler(local), "GET", "/config.json")
	var got map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"region": "us-east-1", "userPoolId": "us-east-1_abc", "clientId": "client",
		"apiUrl": "http://127.0.0.1:8080/local", "cognitoEndpoint": "http://127.0.0.1:9229", "caPem": "-----BEGIN CERTIFICATE-----"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("config.json %s = %q, want %q", k, got[k], v)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store: a restarted stack has new IDs", resp.Header.Get("Cache-Control"))
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	tests := []struct {
		name        string
		cfg         console.Config
		wantConnect []string
	}{
		{"local stand-ins", local, []string{"'self'", "http://127.0.0.1:8080", "http://127.0.0.1:9229"}},
		{"AWS", console.Config{Region: "eu-west-1", APIURL: "https://abc.execute-api.eu-west-1.amazonaws.com/prod"},
			[]string{"'self'", "https://abc.execute-api.eu-west-1.amazonaws.com", "https://cognito-idp.eu-west-1.amazonaws.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csp := console.ContentSecurityPolicy(tt.cfg)
			var connect []string
			for _, d := range strings.Split(csp, "; ") {
				if rest, ok := strings.CutPrefix(d, "connect-src "); ok {
					connect = strings.Fields(rest)
				}
			}
			if !slices.Equal(connect, tt.wantConnect) {
				t.Errorf("connect-src = %v, want %v", connect, tt.wantConnect)
			}
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("policy %q lacks %q", csp, want)
				}
			}
		})
	}
}

// TestCataloguesMatch: every string has an English and a Spanish version.
func TestCataloguesMatch(t *testing.T) {
	keys := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range regexp.MustCompile(`(?m)^\s*'([^']+)':`).FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return out
	}
	en, es := keys("web/src/i18n/en.js"), keys("web/src/i18n/es.js")
	if len(en) < 50 {
		t.Fatalf("read only %d English keys; is the catalogue's format still one 'key': value a line?", len(en))
	}
	for _, k := range en {
		if !slices.Contains(es, k) {
			t.Errorf("Spanish lacks %q", k)
		}
	}
	for _, k := range es {
		if !slices.Contains(en, k) {
			t.Errorf("English lacks %q", k)
		}
	}
}
