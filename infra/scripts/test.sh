#!/usr/bin/env bash
# test.sh runs every test. It installs what the tests need, starts one
# DynamoDB-compatible server (dynalite) on 127.0.0.1 for the store, domain and
# end-to-end tests, and stops it on exit. Under CI=true nothing may be skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

infra/scripts/deps.sh --browser
# The console's bundle (shared/console/dist), which its tests and the local
# stack's browser tests serve.
go generate ./shared/console
DYNALITE_PORT=""
eval "$(infra/scripts/dynalite.sh start)"
DYNALITE_PORT="${FLEETCLAIM_TEST_DYNAMODB_ENDPOINT##*:}"
trap '[[ -n "$DYNALITE_PORT" ]] && infra/scripts/dynalite.sh stop "$DYNALITE_PORT" >/dev/null 2>&1 || true' EXIT
export FLEETCLAIM_TEST_DYNAMODB_ENDPOINT

go test -race -count=1 -timeout 15m ./...

# A short fuzz run of every target on top of the committed seed corpora.
FUZZTIME="${FUZZTIME:-3s}" infra/scripts/fuzz.sh
