package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/console"
)

// testCertificateARN is the prod stack's console certificate.
const testCertificateARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"

// A development stage without the console, as a team that ships its own app
// deploys it.
var (
	noConsoleOnce   sync.Once
	noConsoleResult *synthesized
)

func noConsoleStack(t *testing.T) *synthesized {
	t.Helper()
	noConsoleOnce.Do(func() { noConsoleResult = synthesize("noconsole", map[string]any{ctxConsole: "false"}) })
	if noConsoleResult.fatal != nil {
		t.Fatalf("synthesize without the console: %v", noConsoleResult.fatal)
	}
	return noConsoleResult
}

// render writes a CloudFormation value as text, naming what is known only
// at deploy time: <LogicalID> for a Ref, <LogicalID.Attribute> for a
// Fn::GetAtt, <AWS::Region> for a pseudo parameter.
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = render(p)
		}
		return plainJSON(parts)
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			return "<" + r + ">"
		}
		if a, ok := v["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("<%v.%v>", a[0], a[1])
		}
		if j, ok := v["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	return asJSON(v)
}

// plainJSON is v as JSON without HTML escapes, so that <Ref>s read as such.
func plainJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// consoleOrigin is the dev console's origin: its distribution's own name.
func consoleOrigin(t *testing.T, s *synthesized) string {
	t.Helper()
	id, _ := s.resource(t, "AWS::CloudFront::Distribution", "ConsoleDistribution")
	return "https://<" + id + ".DomainName>"
}

// The bucket is reachable by the distribution alone: all public access
// blocked, encrypted, no website endpoint, TLS required, and no one but
// CloudFront for this distribution (and, where the stack empties it before
// deleting it, the CDK's auto-delete function) allowed anything.
func TestConsoleBucketIsPrivate(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		t.Run(s.settings.Stage, func(t *testing.T) {
			bucketID, bucket := s.resource(t, "AWS::S3::Bucket", "ConsoleBucket")
			distributionID, _ := s.resource(t, "AWS::CloudFront::Distribution", "ConsoleDistribution")
			p := props(bucket)
			for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				if got := p["PublicAccessBlockConfiguration"].(map[string]any)[k]; got != true {
					t.Errorf("PublicAccessBlockConfiguration.%s: got %v, want true", k, got)
				}
			}
			if got := render(p["BucketEncryption"]); !strings.Contains(got, `"SSEAlgorithm":"AES256"`) {
				t.Errorf("encryption: got %s, want S3-managed (AES256)", got)
			}
			if got := render(p["OwnershipControls"]); !strings.Contains(got, "BucketOwnerEnforced") {
				t.Errorf("ownership: got %s, want BucketOwnerEnforced (no ACLs)", got)
			}
			for _, k := range []string{"WebsiteConfiguration", "AccessControl", "CorsConfiguration"} {
				if p[k] != nil {
					t.Errorf("%s: got %s, want none", k, asJSON(p[k]))
				}
			}

			policies := s.resources("AWS::S3::BucketPolicy")
			var statements []any
			for _, bp := range policies {
				if render(props(bp)["Bucket"]) == "<"+bucketID+">" {
					statements = append(statements, props(bp)["PolicyDocument"].(map[string]any)["Statement"].([]any)...)
				}
			}
			distributionARN := ":distribution/<" + distributionID + ">"
			deniesPlainHTTP, cloudFrontReads := false, false
			for _, st := range statements {
				st := st.(map[string]any)
				principal := st["Principal"].(map[string]any)
				switch {
				case st["Effect"] == "Deny":
					if render(st["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` && st["Action"] == "s3:*" {
						deniesPlainHTTP = true
					}
				case principal["Service"] == "cloudfront.amazonaws.com":
					cond := st["Condition"].(map[string]any)["StringEquals"].(map[string]any)
					if st["Action"] != "s3:GetObject" || !strings.HasSuffix(render(cond["AWS:SourceArn"]), distributionARN) {
						t.Errorf("CloudFront may %v for %s, want s3:GetObject for the console's distribution only",
							st["Action"], render(cond["AWS:SourceArn"]))
					}
					cloudFrontReads = true
				case !s.settings.RetainData && strings.HasPrefix(render(principal["AWS"]), "<CustomS3AutoDeleteObjectsCustomResourceProviderRole"):
				default:
					t.Errorf("the bucket policy allows %s: %s", render(principal), asJSON(st))
				}
			}
			if !deniesPlainHTTP || !cloudFrontReads {
				t.Errorf("bucket policy denies plain HTTP %v, lets the distribution read %v; want both", deniesPlainHTTP, cloudFrontReads)
			}

			// Kept with the data, or emptied and deleted with the stack.
			wantPolicy, wantAutoDelete := "Delete", 1
			if s.settings.RetainData {
				wantPolicy, wantAutoDelete = "Retain", 0
			}
			if bucket["DeletionPolicy"] != wantPolicy {
				t.Errorf("DeletionPolicy: got %v, want %s", bucket["DeletionPolicy"], wantPolicy)
			}
			if got := len(s.resources("Custom::S3AutoDeleteObjects")); got != wantAutoDelete {
				t.Errorf("auto-delete resources: got %d, want %d", got, wantAutoDelete)
			}
		})
	}
}

// The distribution reads the bucket through origin access control (not an
// origin access identity), sends viewers to HTTPS, compresses, opens
// index.html at the root, and uses TLS 1.2 at least where it has a
// certificate of its own.
func TestConsoleDistribution(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		t.Run(s.settings.Stage, func(t *testing.T) {
			bucketID, _ := s.resource(t, "AWS::S3::Bucket", "ConsoleBucket")
			oacID, oac := s.resource(t, "AWS::CloudFront::OriginAccessControl", "ConsoleOriginAccess")
			headersID, _ := s.resource(t, "AWS::CloudFront::ResponseHeadersPolicy", "ConsoleHeaders")
			_, d := s.resource(t, "AWS::CloudFront::Distribution", "ConsoleDistribution")
			cfg := props(d)["DistributionConfig"].(map[string]any)

			if n := len(s.resources("AWS::CloudFront::CloudFrontOriginAccessIdentity")); n != 0 {
				t.Errorf("got %d origin access identities, want none", n)
			}
			oacConfig := props(oac)["OriginAccessControlConfig"].(map[string]any)
			if oacConfig["OriginAccessControlOriginType"] != "s3" || oacConfig["SigningBehavior"] != "always" || oacConfig["SigningProtocol"] != "sigv4" {
				t.Errorf("origin access control: got %s, want s3, always, sigv4", asJSON(oacConfig))
			}
			origins := cfg["Origins"].([]any)
			if len(origins) != 1 {
				t.Fatalf("got %d origins, want the bucket alone", len(origins))
			}
			origin := origins[0].(map[string]any)
			if got, want := render(origin["DomainName"]), "<"+bucketID+".RegionalDomainName>"; got != want {
				t.Errorf("origin: got %s, want %s", got, want)
			}
			if got, want := render(origin["OriginAccessControlId"]), "<"+oacID+".Id>"; got != want {
				t.Errorf("origin access control: got %s, want %s", got, want)
			}
			if got := render(origin["S3OriginConfig"]); got != `{"OriginAccessIdentity":""}` {
				t.Errorf("S3OriginConfig: got %s, want no origin access identity", got)
			}

			behavior := cfg["DefaultCacheBehavior"].(map[string]any)
			for k, want := range map[string]string{
				"ViewerProtocolPolicy":    "redirect-to-https",
				"Compress":                "true",
				"AllowedMethods":          `["GET","HEAD"]`,
				"ResponseHeadersPolicyId": "<" + headersID + ">",
			} {
				if got := render(behavior[k]); got != want {
					t.Errorf("default behaviour %s: got %s, want %s", k, got, want)
				}
			}
			if got := cfg["DefaultRootObject"]; got != "index.html" {
				t.Errorf("DefaultRootObject: got %v, want index.html", got)
			}

			wantAliases, wantCertificate := "null", "null"
			if s.settings.ConsoleDomainName != "" {
				wantAliases = `["console.example.com"]`
				wantCertificate = `{"AcmCertificateArn":"` + testCertificateARN + `","MinimumProtocolVersion":"TLSv1.2_2021","SslSupportMethod":"sni-only"}`
			}
			if got := render(cfg["Aliases"]); got != wantAliases {
				t.Errorf("aliases: got %s, want %s", got, wantAliases)
			}
			if got := render(cfg["ViewerCertificate"]); got != wantCertificate {
				t.Errorf("viewer certificate: got %s, want %s", got, wantCertificate)
			}
		})
	}
}

// The distribution sends the headers the local console sends
// (console.Handler): the same content security policy for the deployed
// Region and API, whose connect-src names exactly the page itself, the API
// and Cognito, and HSTS on top.
func TestConsoleSecurityHeaders(t *testing.T) {
	s := devStack(t)
	apiID, _ := s.resource(t, "AWS::ApiGateway::RestApi", "Api")
	_, policy := s.resource(t, "AWS::CloudFront::ResponseHeadersPolicy", "ConsoleHeaders")
	cfg := props(policy)["ResponseHeadersPolicyConfig"].(map[string]any)
	security := cfg["SecurityHeadersConfig"].(map[string]any)

	csp := render(security["ContentSecurityPolicy"].(map[string]any)["ContentSecurityPolicy"])
	directives := map[string][]string{}
	for _, d := range strings.Split(csp, ";") {
		fields := strings.Fields(d)
		directives[fields[0]] = fields[1:]
	}
	for name, want := range map[string][]string{
		"connect-src": {"'self'", "https://<" + apiID + ">.execute-api.<AWS::Region>.<AWS::URLSuffix>",
			"https://cognito-idp.<AWS::Region>.amazonaws.com"},
		"script-src":      {"'self'"},
		"default-src":     {"'none'"},
		"frame-ancestors": {"'none'"},
	} {
		if got := directives[name]; !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}

	// The local console's headers, for the same Region and API.
	const region, restAPI = "eu-west-1", "a1b2c3d4e5"
	srv := httptest.NewServer(console.Handler(console.Config{Region: region,
		APIURL: "https://" + restAPI + ".execute-api." + region + ".amazonaws.com/" + apiStageName + "/"}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	local := resp.Header

	deployedCSP := strings.NewReplacer("<"+apiID+">", restAPI, "<AWS::Region>", region, "<AWS::URLSuffix>", "amazonaws.com").Replace(csp)
	frame := security["FrameOptions"].(map[string]any)
	referrer := security["ReferrerPolicy"].(map[string]any)
	var permissions map[string]any
	for _, h := range cfg["CustomHeadersConfig"].(map[string]any)["Items"].([]any) {
		if h := h.(map[string]any); h["Header"] == "Permissions-Policy" {
			permissions = h
		}
	}
	if permissions == nil {
		t.Fatal("no Permissions-Policy header")
	}
	nosniff := ""
	if security["ContentTypeOptions"] != nil {
		nosniff = "nosniff" // CloudFront's only value for it
	}
	for _, h := range []struct {
		name, deployed string
		override       any
	}{
		{"Content-Security-Policy", deployedCSP, security["ContentSecurityPolicy"].(map[string]any)["Override"]},
		{"X-Frame-Options", frame["FrameOption"].(string), frame["Override"]},
		{"Referrer-Policy", referrer["ReferrerPolicy"].(string), referrer["Override"]},
		{"Permissions-Policy", permissions["Value"].(string), permissions["Override"]},
		{"X-Content-Type-Options", nosniff, security["ContentTypeOptions"].(map[string]any)["Override"]},
	} {
		if got := local.Get(h.name); h.deployed != got {
			t.Errorf("%s: deployed %q, local %q", h.name, h.deployed, got)
		}
		if h.override != true {
			t.Errorf("%s: override %v, want true (the bucket's own headers never win)", h.name, h.override)
		}
	}

	hsts := security["StrictTransportSecurity"].(map[string]any)
	if age, _ := hsts["AccessControlMaxAgeSec"].(float64); age < 365*24*60*60 || hsts["IncludeSubdomains"] != true || hsts["Override"] != true {
		t.Errorf("Strict-Transport-Security: got %s, want a year at least, subdomains included", asJSON(hsts))
	}
}

// One upload writes the built files (not dist's README) and config.json,
// whose values are the stack's own outputs, all revalidated on every use,
// and invalidates the distribution.
func TestConsoleConfigFromOutputs(t *testing.T) {
	s := devStack(t)
	distributionID, _ := s.resource(t, "AWS::CloudFront::Distribution", "ConsoleDistribution")
	bucketID, _ := s.resource(t, "AWS::S3::Bucket", "ConsoleBucket")
	_, deployment := s.resource(t, "Custom::CDKBucketDeployment", "ConsoleDeploymentCustomResource")
	p := props(deployment)
	for k, want := range map[string]string{
		"DestinationBucketName": "<" + bucketID + ">",
		"DistributionId":        "<" + distributionID + ">",
		"DistributionPaths":     `["/*"]`,
		"SystemMetadata":        `{"cache-control":"no-cache"}`,
	} {
		if got := render(p[k]); got != want {
			t.Errorf("%s: got %s, want %s", k, got, want)
		}
	}
	if p["Prune"] == false {
		t.Error("the upload keeps files a new build no longer has")
	}

	outdir := filepath.Dir(s.templateFile)
	keys := p["SourceObjectKeys"].([]any)
	markers := p["SourceMarkers"].([]any)
	var files, configs []string
	var configJSON map[string]string
	for i, key := range keys {
		dir := filepath.Join(outdir, "asset."+strings.TrimSuffix(key.(string), ".zip"))
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("source %d: %v", i, err)
		}
		for _, e := range entries {
			files = append(files, e.Name())
		}
		raw, err := os.ReadFile(filepath.Join(dir, consoleConfigKey))
		if err != nil {
			continue
		}
		configs = append(configs, key.(string))
		text := string(raw)
		for marker, value := range markers[i].(map[string]any) {
			text = strings.ReplaceAll(text, marker, render(value))
		}
		if err := json.Unmarshal([]byte(text), &configJSON); err != nil {
			t.Fatalf("config.json %q: %v", text, err)
		}
	}
	slices.Sort(files)
	if want := []string{"app.js", consoleConfigKey, "index.html", "styles.css"}; !slices.Equal(files, want) {
		t.Errorf("uploaded files: got %v, want %v", files, want)
	}
	if len(configs) != 1 {
		t.Fatalf("sources with config.json: got %v, want one", configs)
	}

	outputs := s.template["Outputs"].(map[string]any)
	output := func(name string) string { return render(outputs[name].(map[string]any)["Value"]) }
	want := map[string]string{
		"region":     output("Region"),
		"userPoolId": output("UserPoolId"),
		"clientId":   output("UserPoolClientId"),
		"apiUrl":     output("ApiUrl"),
	}
	if fmt.Sprint(configJSON) != fmt.Sprint(want) {
		t.Errorf("config.json: got %v, want the stack's outputs %v", configJSON, want)
	}
	// Not vacuous: the outputs are the deployed pool, client and stage.
	poolID, _ := s.resource(t, "AWS::Cognito::UserPool", "UserPool")
	if configJSON["userPoolId"] != "<"+poolID+">" || !strings.HasPrefix(configJSON["apiUrl"], "https://<") || configJSON["region"] != "<AWS::Region>" {
		t.Errorf("config.json: got %v", configJSON)
	}
	// Every field the local config.json has that applies to AWS.
	var fields map[string]any
	raw, _ := json.Marshal(console.Config{Region: "r", UserPoolID: "p", ClientID: "c", APIURL: "a"})
	_ = json.Unmarshal(raw, &fields)
	if len(fields) != len(configJSON) {
		t.Errorf("config.json fields: got %v, want those of console.Config %v", configJSON, fields)
	}

	if got, want := output("ConsoleUrl"), consoleOrigin(t, s); got != want {
		t.Errorf("ConsoleUrl: got %s, want %s", got, want)
	}
	if got, want := output("ConsoleDistributionDomainName"), "<"+distributionID+".DomainName>"; got != want {
		t.Errorf("ConsoleDistributionDomainName: got %s, want %s", got, want)
	}
	if got := render(prodStack(t).template["Outputs"].(map[string]any)["ConsoleUrl"].(map[string]any)["Value"]); got != "https://console.example.com" {
		t.Errorf("prod ConsoleUrl: got %s, want its own domain", got)
	}
}

// The API allows the console's origin by default (CORS preflight, the
// function's answers, the gateway's own error answers, the app client's
// callback URL); allowedOrigin overrides it.
func TestConsoleIsTheAPIsOrigin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		s      *synthesized
		origin func(*synthesized) string
	}{
		{"dev: the distribution", devStack(t), func(s *synthesized) string { return consoleOrigin(t, s) }},
		{"prod: allowedOrigin", prodStack(t), func(*synthesized) string { return "https://installer.example.com" }},
		{"no console: the development default", noConsoleStack(t), func(*synthesized) string { return defaultAllowedOrigin }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, want := tc.s, tc.origin(tc.s)
			preflights := 0
			for id, m := range s.resources("AWS::ApiGateway::Method") {
				if props(m)["HttpMethod"] != "OPTIONS" {
					continue
				}
				preflights++
				integration := props(m)["Integration"].(map[string]any)
				params := integration["IntegrationResponses"].([]any)[0].(map[string]any)["ResponseParameters"].(map[string]any)
				if got := render(params["method.response.header.Access-Control-Allow-Origin"]); got != "'"+want+"'" {
					t.Errorf("%s: Access-Control-Allow-Origin %s, want %s", id, got, want)
				}
			}
			if preflights == 0 {
				t.Error("no CORS preflight methods")
			}
			_, claims := s.resource(t, "AWS::Lambda::Function", "Claims")
			env := props(claims)["Environment"].(map[string]any)["Variables"].(map[string]any)
			if got := render(env[config.EnvAllowedOrigin]); got != want {
				t.Errorf("claims function's %s: got %s, want %s", config.EnvAllowedOrigin, got, want)
			}
			for _, r := range s.resources("AWS::ApiGateway::GatewayResponse") {
				p := props(r)
				if got := render(p["ResponseParameters"].(map[string]any)["gatewayresponse.header.Access-Control-Allow-Origin"]); got != "'"+want+"'" {
					t.Errorf("gateway response %v: Access-Control-Allow-Origin %s, want %s", p["ResponseType"], got, want)
				}
			}
			_, client := s.resource(t, "AWS::Cognito::UserPoolClient", "UserPoolInstallerApp")
			if got := render(props(client)["CallbackURLs"]); got != `["`+want+`/"]` {
				t.Errorf("callback URLs: got %s, want %s/", got, want)
			}
		})
	}
}

// console=false deploys nothing of the console.
func TestConsoleOff(t *testing.T) {
	s := noConsoleStack(t)
	for _, typ := range []string{"AWS::S3::Bucket", "AWS::CloudFront::Distribution", "AWS::CloudFront::ResponseHeadersPolicy",
		"AWS::CloudFront::OriginAccessControl", "Custom::CDKBucketDeployment", "Custom::S3AutoDeleteObjects"} {
		if n := len(s.resources(typ)); n != 0 {
			t.Errorf("%s: got %d, want none", typ, n)
		}
	}
	for _, name := range []string{"ConsoleUrl", "ConsoleDistributionDomainName"} {
		if _, ok := s.template["Outputs"].(map[string]any)[name]; ok {
			t.Errorf("a %s output without a console", name)
		}
	}
	for _, e := range s.errors {
		t.Errorf("cdk-nag: %s", e)
	}
}

// Synthesis refuses a console that was never built rather than deploy an
// empty site, and says how to build it or turn it off.
func TestCheckConsoleBuilt(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "README.md"), []byte("not built"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dir     string
		wantErr []string
	}{
		{"built", consoleDir, nil},
		{"only the README", empty, []string{"the console is not built", "make build", "console=false"}},
		{"no directory", filepath.Join(empty, "dist"), []string{"index.html is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkConsoleBuilt(tc.dir)
			if (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("got %v, want error %v", err, tc.wantErr != nil)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got %q, want it to say %q", err, want)
				}
			}
		})
	}
}
