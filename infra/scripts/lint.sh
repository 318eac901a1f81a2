#!/usr/bin/env bash
# lint.sh runs the static checks: gofmt, go vet, staticcheck and gosec, at
# pinned versions (go run pkg@version leaves go.mod alone), and cfn-lint on the
# synthesized template when cfn-lint is already on PATH. cfn-lint is never
# required (it cannot be installed everywhere): the CDK assertions and cdk-nag
# in `go test ./infra/` are the template checks every run makes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.7.0
GOSEC=github.com/securego/gosec/v2/cmd/gosec@v2.24.0

unformatted=$(gofmt -l functions infra shared)
if [[ -n "$unformatted" ]]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go run "$STATICCHECK" ./...
# Findings are fixed, or justified inline with #nosec and a reason.
go run "$GOSEC" -quiet -exclude-generated ./...
if command -v cfn-lint >/dev/null; then
	out="$(mktemp -d)"
	trap 'rm -rf "$out"' EXIT
	make --no-print-directory build >/dev/null
	CDK_OUTDIR="$out" infra/scripts/cdk.sh synth --quiet >/dev/null
	# W3005: the CDK states a function's dependency on its role both as
	# DependsOn and through Fn::GetAtt; redundant, harmless, and not ours.
	cfn-lint --ignore-checks W3005 -- "$out"/*.template.json
else
	echo "lint: cfn-lint is not on PATH; skipped (go test ./infra/ checks the template with CDK assertions and cdk-nag)"
fi
echo "lint: ok"
