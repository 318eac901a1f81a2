package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// `make deploy` (and diff, destroy, bootstrap) without AWS credentials stops
// before installing or running anything, and says where to read how to get
// them; synth is left alone (it needs no account).
func TestCDKScriptWithoutCredentialsPointsToDeployGuide(t *testing.T) {
	for _, command := range []string{"deploy", "diff", "destroy", "bootstrap"} {
		cmd := exec.Command("bash", "scripts/cdk.sh", command)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "infra/DEPLOY.md") {
			t.Errorf("%s: got %v with %q, want exit 2 naming infra/DEPLOY.md", command, err, out)
		}
		if strings.Contains(string(out), "installing aws-cdk") {
			t.Errorf("%s: installed the CLI before checking credentials", command)
		}
	}
}
