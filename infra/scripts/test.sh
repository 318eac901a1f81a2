#!/usr/bin/env bash
# test.sh runs every test. It installs what the tests need, starts one
# DynamoDB-compatible server (dynalite) on 127.0.0.1 for the store, domain and
# end-to-end tests, and stops it on exit. Under CI=true nothing may be skipped.
#
# Each step prints how long it took, so a slow CI run shows where its time
# went. FUZZTIME (default 1s) is the short fuzz run's time per target; it
# runs beside the tests, at the lowest CPU priority.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

step() { echo "test: $1 took $(($SECONDS - $2))s"; }

t0=$SECONDS
infra/scripts/deps.sh --browser
# The console's bundle (shared/console/dist), which its tests and the local
# stack's browser tests serve.
go generate ./shared/console
DYNALITE_PORT=""
eval "$(infra/scripts/dynalite.sh start)"
DYNALITE_PORT="${FLEETCLAIM_TEST_DYNAMODB_ENDPOINT##*:}"
# On the way out, stop what runs in the background and dynalite.
trap 'kill $(jobs -p) 2>/dev/null || true; [[ -n "$DYNALITE_PORT" ]] && infra/scripts/dynalite.sh stop "$DYNALITE_PORT" >/dev/null 2>&1 || true' EXIT
export FLEETCLAIM_TEST_DYNAMODB_ENDPOINT
step "installing tools, building the console, starting dynalite" "$t0"

# Every package under the race detector, but the CDK app (./infra): its tests
# synthesize templates in one goroutine through jsii, and building the CDK's
# Go bindings (1.3 million lines) a second time with -race cost minutes of
# CI for nothing; without -race they reuse what `make lint`'s go vet built.
# The two run side by side: the CDK app's tests mostly wait for Node.js.
t0=$SECONDS
mapfile -t race_pkgs < <(go list ./... | grep -vx 'github.com/fleetclaim/fleetclaim/infra')
infra_log="$(mktemp)" fuzz_log="$(mktemp)"
go test -count=1 -timeout 15m ./infra >"$infra_log" 2>&1 &
infra_pid=$!
# A short fuzz run of every target on top of the committed seed corpora
# (which the go test below replays too), beside the tests at the lowest CPU
# priority: its instrumented builds and its fuzzing take the CPU time the
# tests leave idle (browsers polling, the CDK's Node.js) and slow no test.
# Longer runs: make fuzz.
FUZZTIME="${FUZZTIME:-1s}" nice -n 19 infra/scripts/fuzz.sh >"$fuzz_log" 2>&1 &
fuzz_pid=$!
status=0
# Every benchmark runs once too (-benchtime 1x), from the same test
# binaries: a benchmark nothing runs breaks unseen until `make bench`.
go test -race -count=1 -bench . -benchtime 1x -timeout 15m "${race_pkgs[@]}" || status=$?
wait "$infra_pid" || status=$?
cat "$infra_log"
step "go test" "$t0"
fuzz_status=0
wait "$fuzz_pid" || fuzz_status=$?
cat "$fuzz_log"
rm -f "$infra_log" "$fuzz_log"
step "go test and the fuzz run beside it" "$t0"
[[ $status -eq 0 && $fuzz_status -eq 0 ]] || exit 1
