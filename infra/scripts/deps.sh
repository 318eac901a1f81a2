#!/usr/bin/env bash
# deps.sh installs what the project's commands need and a fresh machine may
# lack: Node.js and npm from Debian's packages (for dynalite and the CDK CLI),
# and the Go modules. Go itself must be on PATH (see the README). With
# --browser it also installs Debian's chromium, which the console's browser
# tests drive (make test asks for it; make local does not need it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

command -v go >/dev/null || { echo "deps.sh: Go 1.26 or newer is required on PATH" >&2; exit 1; }

sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
	if [[ -z "$apt_updated" ]]; then
		sudo_if_needed apt-get update -qq
		apt_updated=1
	fi
	sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "deps.sh: installing Node.js and npm from Debian packages" >&2
	apt_install nodejs npm
fi

if [[ "${1:-}" == "--browser" ]] && ! command -v chromium >/dev/null && [[ -z "${FLEETCLAIM_CHROMIUM:-}" ]]; then
	echo "deps.sh: installing chromium from Debian packages (for the console's browser tests)" >&2
	apt_install chromium
fi

(cd "$ROOT" && go mod download)
