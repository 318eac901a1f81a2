// Command infra is the fleetclaim CDK app. The CDK CLI runs it from this
// directory (see cdk.json); DEPLOY.md lists the context settings it reads.
//
// It needs the functions built first (`make build` writes bin/<name>/bootstrap);
// the "assetDir" context value points elsewhere.
package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// cdkJSON is this directory's cdk.json. The CLI passes its context to the
// app; reading it here too gives `go run .` and the tests the same feature
// flags and defaults.
//
//go:embed cdk.json
var cdkJSON []byte

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fleetclaim:", err)
		os.Exit(1)
	}
}

// run synthesizes the app into CDK_OUTDIR (the CLI sets it; default cdk.out).
func run() error {
	defer jsii.Close()
	app := awscdk.NewApp(&awscdk.AppProps{Context: defaultContext()})
	if err := configure(app); err != nil {
		return err
	}
	return synth(app)
}

// synth writes the cloud assembly. A failed validation (an unsuppressed
// cdk-nag finding is one) surfaces from the CDK as a panic; it is returned
// as an error naming the report that lists the findings.
func synth(app awscdk.App) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synth failed: %v", r)
		}
	}()
	app.Synth(nil)
	return nil
}

// defaultContext is cdk.json's context. Context from the CLI (cdk.json
// itself, -c flags, cdk.context.json) takes precedence over it.
func defaultContext() *map[string]any {
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(cdkJSON, &cfg); err != nil {
		panic("infra/cdk.json: " + err.Error()) // embedded at build time; a test reads it too
	}
	return &cfg.Context
}

// configure reads the settings and the asset directory and adds the stack.
func configure(app awscdk.App) error {
	ctx := func(key string) any { return app.Node().TryGetContext(jsii.String(key)) }
	s, err := SettingsFromContext(ctx)
	if err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	assetDir := filepath.Join(root, "bin")
	if dir, ok := ctx(ctxAssetDir).(string); ok && dir != "" {
		assetDir = dir
		if !filepath.IsAbs(dir) {
			assetDir = filepath.Join(root, dir)
		}
	}
	for _, name := range FunctionNames {
		if _, err := os.Stat(filepath.Join(assetDir, name, "bootstrap")); err != nil {
			return fmt.Errorf("%s/%s/bootstrap is missing: run `make build` first (%w)", assetDir, name, err)
		}
	}
	consoleDir := filepath.Join(root, "shared", "console", "dist")
	if s.Console {
		if err := checkConsoleBuilt(consoleDir); err != nil {
			return err
		}
	}
	addStack(app, s, assetDir, consoleDir)
	return nil
}

// addStack adds the fleetclaim stack for s and checks the whole app against
// cdk-nag's AWS Solutions rules: an unsuppressed finding is an error
// annotation, which fails `cdk synth` and `cdk deploy`.
func addStack(app awscdk.App, s Settings, assetDir, consoleDir string) awscdk.Stack {
	stack := NewFleetclaimStack(app, "Fleetclaim-"+s.Stage, &FleetclaimStackProps{
		StackProps: awscdk.StackProps{
			Description:           jsii.String("fleetclaim (" + s.Stage + "): trusted-user fleet provisioning for AWS IoT"),
			TerminationProtection: jsii.Bool(s.RetainData),
		},
		Settings:   s,
		AssetDir:   assetDir,
		ConsoleDir: consoleDir,
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return stack
}

// repoRoot is the module root above the working directory: the CDK CLI runs
// the app from infra/, `go run ./infra` from the root.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the repository")
		}
		dir = parent
	}
}
