// Package console serves the installer and admin console: static files
// built from web/ into dist/ (go generate runs build/), embedded here, and
// the runtime config.json that points the page at a user pool and an API.
// The same files work against AWS and against the local stack; only
// config.json differs.
package console

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

//go:generate go run ./build -dir .

//go:embed dist
var dist embed.FS

// Config is config.json: what the page needs to find Cognito and the API.
type Config struct {
	Region     string `json:"region"`
	UserPoolID string `json:"userPoolId"`
	ClientID   string `json:"clientId"`
	APIURL     string `json:"apiUrl"`
	// CognitoEndpoint overrides Cognito's regional endpoint; set only for
	// the local stand-in.
	CognitoEndpoint string `json:"cognitoEndpoint,omitempty"`
	// CAPEM is the CA that the MQTT endpoint's certificate chains to, put
	// in claim bundles as caPem; empty for AWS IoT, whose devices trust
	// Amazon's public roots.
	CAPEM string `json:"caPem,omitempty"`
	// DeviceCommand is how to play a device with a downloaded bundle where
	// no real one is at hand: set by the local stack (`make device`), so the
	// page can say it under the download; empty when deployed.
	DeviceCommand string `json:"deviceCommand,omitempty"`
}

// Built reports whether the bundle was built into dist/ (go generate).
func Built() bool {
	_, err := fs.Stat(dist, "dist/app.js")
	return err == nil
}

// Handler serves the console with cfg as its config.json, behind the
// security headers the deployed distribution sends too: a strict content
// security policy that lets the page talk to its API and Cognito only.
func Handler(cfg Config) http.Handler {
	body, _ := json.Marshal(cfg) // a struct of strings always marshals
	root, _ := fs.Sub(dist, "dist")
	files := http.FileServerFS(root)
	csp := ContentSecurityPolicy(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		case r.URL.Path == "/config.json":
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(body)
		case !Built():
			http.Error(w, "the console is not built: run `go generate ./shared/console` (make local does)", http.StatusServiceUnavailable)
		default:
			h.Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
		}
	})
}

// ContentSecurityPolicy is the page's policy for cfg: scripts, styles and
// images from its own origin only, and connections to its own origin, the
// API and Cognito.
func ContentSecurityPolicy(cfg Config) string {
	connect := []string{"'self'"}
	for _, u := range []string{cfg.APIURL, cfg.CognitoEndpoint} {
		if o := origin(u); o != "" {
			connect = append(connect, o)
		}
	}
	if cfg.CognitoEndpoint == "" && cfg.Region != "" {
		connect = append(connect, "https://cognito-idp."+cfg.Region+".amazonaws.com")
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: blob:",
		"connect-src " + strings.Join(connect, " "),
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
