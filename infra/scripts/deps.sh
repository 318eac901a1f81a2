#!/usr/bin/env bash
# deps.sh installs what the project's commands need and a fresh machine may
# lack: Node.js and npm from Debian's packages (for dynalite and the CDK CLI),
# and the Go modules. Go itself must be on PATH (see the README).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

command -v go >/dev/null || { echo "deps.sh: Go 1.26 or newer is required on PATH" >&2; exit 1; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "deps.sh: installing Node.js and npm from Debian packages" >&2
	sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
	sudo_if_needed apt-get update -qq
	sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
fi

(cd "$ROOT" && go mod download)
