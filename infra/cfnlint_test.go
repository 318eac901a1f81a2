package main

import (
	"os/exec"
	"testing"
)

// TestCfnLint runs cfn-lint on the development and production templates the
// other tests synthesize, where cfn-lint is on PATH. It comes from PyPI, which
// not every machine reaches, so it is used where it exists and required
// nowhere: the CDK assertions and cdk-nag above are the checks every run makes.
//
// W3005 is ignored: the CDK states a function's dependency on its role both as
// DependsOn and through Fn::GetAtt, which is redundant, harmless and not ours.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not on PATH; the CDK assertions and cdk-nag checks ran")
	}
	for _, s := range []struct {
		name  string
		stack func(*testing.T) *synthesized
	}{{"dev", devStack}, {"prod", prodStack}} {
		t.Run(s.name, func(t *testing.T) {
			file := s.stack(t).templateFile
			if out, err := exec.Command(bin, "--ignore-checks", "W3005", "--", file).CombinedOutput(); err != nil { // #nosec G204 -- cfn-lint from PATH on a template this test wrote
				t.Errorf("cfn-lint %s: %v\n%s", file, err, out)
			}
		})
	}
}
