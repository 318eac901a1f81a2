#!/usr/bin/env bash
# dynalite.sh runs dynalite, a DynamoDB-compatible server, on 127.0.0.1 for
# tests and the local stack. It installs the pinned version under .tools/ in
# the repository root on first use, so nothing is assumed to be on the machine
# beyond node and npm.
#
# Usage:
#   infra/scripts/dynalite.sh install      install dynalite if missing; print cli.js
#   infra/scripts/dynalite.sh start [PORT] start on PORT (default: a free port),
#                                          wait until it answers, print
#                                          FLEETCLAIM_TEST_DYNAMODB_ENDPOINT=...
#   infra/scripts/dynalite.sh stop [PORT]  stop the server started on PORT, or every one
#
# Use `eval "$(infra/scripts/dynalite.sh start)"` to export the endpoint. Each
# start runs its own server, so a test run and a benchmark can run at once.
set -euo pipefail

VERSION=4.0.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
CLI="$TOOLS/node_modules/dynalite/cli.js"
pidfile() { echo "$TOOLS/dynalite.$1.pid"; }

die() { echo "dynalite.sh: $*" >&2; exit 1; }

install() {
	command -v node >/dev/null || die "node is not installed"
	# The version check keeps a stale install from an older pin from being used.
	if [[ -f "$CLI" ]] && node -e "process.exit(require('$TOOLS/node_modules/dynalite/package.json').version === '$VERSION' ? 0 : 1)"; then
		return
	fi
	command -v npm >/dev/null || die "npm is not installed"
	mkdir -p "$TOOLS"
	# Progress goes to stderr so that stdout stays machine-readable.
	npm install --prefix "$TOOLS" "dynalite@$VERSION" --no-audit --no-fund --no-save >&2
	[[ -f "$CLI" ]] || die "npm install finished but $CLI is missing"
}

free_port() {
	# Binding port 0 lets the kernel pick a free port; node is already required.
	node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

start() {
	install
	local port="${1:-$(free_port)}"
	[[ "$port" =~ ^[0-9]+$ ]] || die "port must be a number: $port"
	local PIDFILE LOGFILE
	PIDFILE="$(pidfile "$port")"
	LOGFILE="$TOOLS/dynalite.$port.log"
	node "$CLI" --host 127.0.0.1 --port "$port" \
		--createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$LOGFILE" 2>&1 &
	local pid=$!
	echo "$pid" >"$PIDFILE"
	local endpoint="http://127.0.0.1:$port"
	# dynalite answers any HTTP request (even a bad one) once it listens.
	for _ in $(seq 1 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$PIDFILE"
			die "exited at start; see $LOGFILE"
		fi
		if node -e "require('http').get('$endpoint',()=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null; then
			echo "FLEETCLAIM_TEST_DYNAMODB_ENDPOINT=$endpoint"
			return
		fi
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	rm -f "$PIDFILE"
	die "did not answer on $endpoint within 10 s; see $LOGFILE"
}

stop() {
	local f
	for f in "$TOOLS"/dynalite.${1:-*}.pid; do
		[[ -f "$f" ]] || continue
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
}

case "${1:-}" in
install) install; echo "$CLI" ;;
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
*) die "usage: $0 install | start [PORT] | stop [PORT]" ;;
esac
