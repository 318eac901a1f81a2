#!/usr/bin/env bash
# lint.sh runs the static checks: gofmt, go vet, staticcheck and gosec, at
# pinned versions (go run pkg@version leaves go.mod alone).
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
echo "lint: ok"
