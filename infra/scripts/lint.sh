#!/usr/bin/env bash
# lint.sh runs the static checks: go.mod tidiness, gofmt, go vet, staticcheck
# and gosec. cfn-lint runs in `go test ./infra/` (TestCfnLint), on the
# templates those tests synthesize anyway, where cfn-lint is on PATH; it is
# never required (it cannot be installed everywhere): the CDK assertions and
# cdk-nag there are the template checks every run makes.
#
# The two tools are pinned here and run with go run pkg@version rather than
# with go.mod's tool directive: a tool directive would put each tool's own
# dependencies in our module graph (gosec's alone brings several AI SDKs and
# gRPC), which every `go mod download`, `make local` and deployment build
# would then fetch, and whose versions would constrain ours. Here they are
# built in their own module, and only lint pays for them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.7.0
GOSEC=github.com/securego/gosec/v2/cmd/gosec@v2.24.0

# go.mod and go.sum must be what `go mod tidy` makes of the imports: every
# direct dependency listed as direct, nothing unused. (The golang.org/x/lint
# and godoc requirements are not ours: tidy keeps them for the `tools` build
# tag of github.com/aws/jsii-runtime-go's tools.go.)
if ! tidy=$(go mod tidy -diff); then
	echo "go mod tidy: go.mod or go.sum is not tidy; run go mod tidy and commit:" >&2
	echo "$tidy" >&2
	exit 1
fi

unformatted=$(gofmt -l functions infra shared)
if [[ -n "$unformatted" ]]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi
t0=$SECONDS
go vet ./...
echo "lint: go vet took $((SECONDS - t0))s"

# staticcheck and gosec run side by side: each spends stretches on one core
# (building itself, loading packages), which the other fills. Their output
# is shown when they end, one after the other.
t0=$SECONDS
sc_log="$(mktemp)" gs_log="$(mktemp)"
trap 'rm -f "$sc_log" "$gs_log"' EXIT
go run "$STATICCHECK" ./... >"$sc_log" 2>&1 &
sc_pid=$!
# Findings are fixed, or justified inline with #nosec and a reason.
go run "$GOSEC" -quiet -exclude-generated ./... >"$gs_log" 2>&1 &
gs_pid=$!
failed=0
wait "$sc_pid" || failed=1
cat "$sc_log"
wait "$gs_pid" || failed=1
cat "$gs_log"
echo "lint: staticcheck and gosec took $((SECONDS - t0))s"
[[ $failed -eq 0 ]] || { echo "lint: staticcheck or gosec failed (above)" >&2; exit 1; }
echo "lint: ok"
