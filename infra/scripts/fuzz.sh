#!/usr/bin/env bash
# fuzz.sh runs every native Go fuzz target in the repository for FUZZTIME
# each (default 5s). The seed corpora under testdata/fuzz run with every
# plain `go test`; this adds fresh inputs. Findings are saved under the
# package's testdata/fuzz, as go test does, to be committed with the fix.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
FUZZTIME="${FUZZTIME:-5s}"

for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for target in $targets; do
		echo "fuzz: $pkg $target ($FUZZTIME)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/fuzz.$$.log 2>&1 || { cat /tmp/fuzz.$$.log; exit 1; }
	done
done
rm -f /tmp/fuzz.$$.log
echo "fuzz: ok"
