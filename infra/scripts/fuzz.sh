#!/usr/bin/env bash
# fuzz.sh runs every native Go fuzz target (func FuzzXxx(*testing.F)) in the
# repository for FUZZTIME each, on top of its seed corpus in
# testdata/fuzz/<FuzzXxx>/, which every plain `go test` already replays.
# A failing input is written by go test to that directory: commit it with
# the fix, and it guards the fix from then on.
#
# Usage: infra/scripts/fuzz.sh [package pattern ...]     (default ./...)
#   FUZZTIME=5s (default) per target; any -fuzztime value, e.g. 1m or 20000x.
#   FUZZTIME=2m infra/scripts/fuzz.sh ./shared/apigw   fuzz one package longer
#
# Up to Go 1.26, go test may fail a run with a bare "context deadline
# exceeded" as -fuzztime runs out, having found nothing (go.dev/issue/75804).
# Such a run, with no failing input written, is retried once and then only
# reported; any other failure fails the script, after every target has run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

FUZZTIME="${FUZZTIME:-5s}"
patterns=("$@")
[[ ${#patterns[@]} -gt 0 ]] || patterns=(./...)

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# Build for -list only the packages that declare a fuzz target.
candidates=()
while IFS=$'\t' read -r pkg dir; do
	if grep -lqs '^func Fuzz' "$dir"/*_test.go; then
		candidates+=("$pkg")
	fi
done < <(go list -f '{{.ImportPath}}{{"\t"}}{{.Dir}}' "${patterns[@]}")
if [[ ${#candidates[@]} -eq 0 ]]; then
	echo "fuzz: no fuzz targets in ${patterns[*]}"
	exit 0
fi

# `go test -list` prints a package's matching names, then "ok <package> ...".
listing="$(go test -list '^Fuzz' "${candidates[@]}")"
targets=()
names=()
while read -r first second _; do
	case "$first" in
	Fuzz*) names+=("$first") ;;
	ok)
		for name in "${names[@]}"; do targets+=("$second $name"); done
		names=()
		;;
	esac
done <<<"$listing"

# run fuzzes one target; it returns 0 (passed), 1 (failed) or 2 (the
# deadline flake described above).
run() {
	local pkg="$1" name="$2"
	if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then
		return 0
	fi
	if grep -q 'context deadline exceeded' "$log" && ! grep -Eq 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"; then
		return 2
	fi
	return 1
}

start=$SECONDS
failed=0
flaky=0
for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	t0=$SECONDS
	status=0
	run "$pkg" "$name" || status=$?
	if [[ $status -eq 2 ]]; then
		echo "fuzz: $name: go test's deadline flake; retrying once"
		status=0
		run "$pkg" "$name" || status=$?
	fi
	case $status in
	0) echo "fuzz: ok    $pkg $name ($((SECONDS - t0))s)" ;;
	2)
		echo "fuzz: flaky $pkg $name: ended by go test's deadline flake twice, no failing input"
		flaky=$((flaky + 1))
		;;
	*)
		echo "fuzz: FAIL  $pkg $name"
		cat "$log"
		failed=$((failed + 1))
		;;
	esac
done

echo "fuzz: ${#targets[@]} targets, $failed failed, $flaky flaky, $((SECONDS - start))s at FUZZTIME=$FUZZTIME"
[[ $failed -eq 0 ]]
