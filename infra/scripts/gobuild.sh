#!/usr/bin/env bash
# gobuild.sh builds one command like go build, and says what it is doing:
# a first build on a fresh machine downloads modules and compiles a few
# hundred packages, minutes of silence otherwise. It prints a line when it
# starts, a count of the packages compiled every ten seconds or so, and how
# long it took; with everything in Go's build cache it prints nothing.
#
# Usage: infra/scripts/gobuild.sh <output> <package> [go build flags...]
# (an output of /dev/null only fills the build cache).
set -euo pipefail
command -v go >/dev/null || { echo "gobuild.sh: Go 1.26 or newer is required on PATH" >&2; exit 1; }
out="$1" pkg="$2"
shift 2

# go build -v names each package as it compiles it; nothing for a package
# already in the cache. The count is out of every non-standard package the
# command needs, and the standard library's when they are compiled too.
total=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "$pkg" | grep -c . || true)
progress() {
	local start=$SECONDS last=$SECONDS n=0 line
	while IFS= read -r line; do
		case "$line" in
		*[[:space:]]* | "") echo "$line" >&2 ;; # downloads, compiler messages
		*)
			n=$((n + 1))
			if [[ $n -eq 1 ]]; then
				echo "build: compiling $pkg: $total packages from modules, and the standard library's on a fresh machine" >&2
			fi
			if ((SECONDS - last >= 10)); then
				echo "build: $n packages compiled in $((SECONDS - start))s (now $line)" >&2
				last=$SECONDS
			fi
			;;
		esac
	done
	if [[ $n -gt 0 ]]; then
		echo "build: $pkg: $n packages compiled in $((SECONDS - start))s" >&2
	fi
}

status=0
go build -v -o "$out" "$@" "$pkg" 2>&1 | progress || status=$?
exit "$status"
