package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// Each stack is synthesized at most once per test binary (a synth costs
// seconds), lazily, so tests that need none stay instant.

var (
	// workDir holds placeholder function assets and the cloud assemblies.
	workDir string
	// assetDir holds <name>/bootstrap placeholders: synthesis only hashes
	// and copies them, so no cross-compilation is needed.
	assetDir string
	// consoleDir stands for a built shared/console/dist: synthesis zips it
	// without reading it.
	consoleDir string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	var err error
	if workDir, err = os.MkdirTemp("", "fleetclaim-infra-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	// jsii.Close stops the Node.js process and removes the runtime it
	// unpacked. In jsii-runtime-go v1.139.0 it waits for the process while
	// the runtime's own watcher goroutine does too, which the race detector
	// reports; under it, the process is left to exit with this binary (its
	// stdin closes) and the unpacked runtime (about 2 MB) stays in TMPDIR.
	if !raceDetector {
		defer jsii.Close()
	}
	assetDir = filepath.Join(workDir, "bin")
	for _, name := range FunctionNames {
		dir := filepath.Join(assetDir, name)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// Distinct contents give each function its own asset, as real builds do.
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("placeholder "+name), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	consoleDir = filepath.Join(workDir, "console")
	if err := os.MkdirAll(consoleDir, 0o750); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, name := range append([]string{"README.md", ".gitignore", "styles.css"}, consoleBuilt...) {
		if err := os.WriteFile(filepath.Join(consoleDir, name), []byte("placeholder "+name), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// synthesized is one stack's synthesis: its template and every error the
// synthesis reported (cdk-nag findings included).
type synthesized struct {
	settings Settings
	// template is the CloudFormation template as plain JSON values, and
	// templateFile the file it was read from.
	template     map[string]any
	templateFile string
	// assert is the same template for the assertions library.
	assert assertions.Template
	// errors are validation failures and aws:cdk:error annotations.
	errors []string
	// fatal is set when synthesis itself could not complete.
	fatal error
}

// The two deployments the tests look at: a development stage with the
// defaults, and a production stage with tenants, an extra template and data
// retention.
var (
	devContext = map[string]any{}

	prodContext = map[string]any{
		ctxStage:            "prod",
		ctxAllowedOrigin:    "https://installer.example.com",
		ctxAllowedTemplates: `["legacy-template"]`,
		ctxLogRetentionDays: "365",
		ctxAlarmTopicARN:    testAlarmTopicARN,
		ctxWAFRateLimit:     "2000",
		ctxOnlineWithin:     "45m",
		// The console on a domain of its own (TLS 1.2 at least); the API's
		// origin above overrides the one that domain would give.
		ctxConsoleDomainName:     "console.example.com",
		ctxConsoleCertificateARN: testCertificateARN,
		ctxTenants: []any{
			map[string]any{"id": "acme", "name": "Acme", "autoApproveDomains": []any{"Acme.example"}, "claimsPerHour": 120},
			map[string]any{"id": "globex", "status": "suspended"},
		},
	}

	devOnce, prodOnce     sync.Once
	devResult, prodResult *synthesized
)

// devStack and prodStack synthesize on first use and fail the calling test
// if synthesis did not complete.
func devStack(t *testing.T) *synthesized {
	t.Helper()
	devOnce.Do(func() { devResult = synthesize("dev", devContext) })
	if devResult.fatal != nil {
		t.Fatalf("synthesize dev: %v", devResult.fatal)
	}
	return devResult
}

func prodStack(t *testing.T) *synthesized {
	t.Helper()
	prodOnce.Do(func() { prodResult = synthesize("prod", prodContext) })
	if prodResult.fatal != nil {
		t.Fatalf("synthesize prod: %v", prodResult.fatal)
	}
	return prodResult
}

// synthesize builds the app as main does, from cdk.json's context plus
// extra, and synthesizes it into its own directory.
func synthesize(name string, extra map[string]any) (out *synthesized) {
	out = &synthesized{}
	defer func() {
		if r := recover(); r != nil {
			out.fatal = fmt.Errorf("%v", r)
		}
	}()
	ctx := *defaultContext()
	for k, v := range extra {
		ctx[k] = v
	}
	s, err := SettingsFromContext(func(key string) any { return ctx[key] })
	if err != nil {
		out.fatal = err
		return out
	}
	out.settings = s
	outdir := filepath.Join(workDir, "cdk.out."+name)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(outdir)})
	stack := addStack(app, s, assetDir, consoleDir)

	if err := synth(app); err != nil {
		// A failed validation leaves its findings in the report.
		out.errors = append(out.errors, err.Error())
		out.errors = append(out.errors, validationViolations(outdir)...)
		out.fatal = fmt.Errorf("%v", out.errors)
		return out
	}
	// The cloud assembly's manifest holds the stack's annotations and names
	// its template. Flag sets without validation reports let synthesis
	// succeed despite error annotations (cdk-nag's findings among them), so
	// these are read even after a successful synthesis.
	var manifest struct {
		Artifacts map[string]struct {
			Properties struct {
				TemplateFile string `json:"templateFile"`
			} `json:"properties"`
			Metadata map[string][]struct {
				Type string `json:"type"`
				Data any    `json:"data"`
			} `json:"metadata"`
		} `json:"artifacts"`
	}
	if err := readJSON(filepath.Join(outdir, "manifest.json"), &manifest); err != nil {
		out.fatal = err
		return out
	}
	art, ok := manifest.Artifacts[*stack.ArtifactId()]
	if !ok {
		out.fatal = fmt.Errorf("no artifact %s in the cloud assembly", *stack.ArtifactId())
		return out
	}
	for path, entries := range art.Metadata {
		for _, e := range entries {
			if e.Type == "aws:cdk:error" {
				out.errors = append(out.errors, fmt.Sprintf("%s: %v", path, e.Data))
			}
		}
	}
	out.templateFile = filepath.Join(outdir, art.Properties.TemplateFile)
	if err := readJSON(out.templateFile, &out.template); err != nil {
		out.fatal = err
		return out
	}
	// Template_FromJSON also rejects templates whose resources depend on
	// each other in a cycle, which CloudFormation would refuse at deploy.
	out.assert = assertions.Template_FromJSON(&out.template, nil)
	return out
}

// readJSON decodes a file of the cloud assembly.
func readJSON(path string, into any) error {
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// validationViolations lists the findings of a failed synthesis.
func validationViolations(outdir string) []string {
	var report struct {
		PluginReports []struct {
			Violations []struct {
				Description         string `json:"description"`
				ViolatingConstructs []struct {
					ConstructPath string `json:"constructPath"`
				} `json:"violatingConstructs"`
			} `json:"violations"`
		} `json:"pluginReports"`
	}
	if err := readJSON(filepath.Join(outdir, "validation-report.json"), &report); err != nil {
		return []string{"no readable validation report: " + err.Error()}
	}
	var out []string
	for _, p := range report.PluginReports {
		for _, v := range p.Violations {
			for _, c := range v.ViolatingConstructs {
				out = append(out, c.ConstructPath+": "+v.Description)
			}
		}
	}
	return out
}

// resources returns the template's resources of one type by logical ID.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.template["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// resource returns the one resource of a type whose logical ID is the
// construct ID path (without the characters logical IDs drop) followed by
// the CDK's 8-character hash, or that alone.
func (s *synthesized) resource(t *testing.T, typ, constructID string) (string, map[string]any) {
	t.Helper()
	stem := nonAlphanumeric.ReplaceAllString(constructID, "")
	pattern := regexp.MustCompile("^" + stem + "([0-9A-F]{8})?$")
	var ids []string
	for id := range s.resources(typ) {
		if pattern.MatchString(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		sort.Strings(ids)
		t.Fatalf("want one %s named %s, got %v", typ, constructID, ids)
	}
	return ids[0], s.resources(typ)[ids[0]]
}

var nonAlphanumeric = regexp.MustCompile("[^A-Za-z0-9]")

// props returns a resource's Properties.
func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// check runs an assertions call, which panics on a mismatch, as a test error.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

// asJSON renders v for comparisons and messages.
func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// getAtt is CloudFormation's Fn::GetAtt of a resource's attribute.
func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

// ref is CloudFormation's Ref.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }
