#!/usr/bin/env bash
# cdk.sh runs the pinned AWS CDK CLI against the app in infra/, installing the
# CLI under .tools/ first if it is not there yet. Arguments go to `cdk`:
#
#   infra/scripts/cdk.sh synth                       # offline, no account needed
#   infra/scripts/cdk.sh deploy -c stage=prod -c allowedOrigin=https://app.example.com
#   CDK_OUTDIR=/tmp/out infra/scripts/cdk.sh synth   # cloud assembly elsewhere
#
# CDK_OUTDIR, when set, is where the cloud assembly goes (default infra/cdk.out).
# The CLI's telemetry is off unless CDK_DISABLE_CLI_TELEMETRY says otherwise, and
# it does not fetch notices: a synth needs no network at all.
#
# Commands that talk to an AWS account (deploy, diff, destroy, bootstrap) stop at
# once, pointing to infra/DEPLOY.md, when the shell holds no AWS credentials.
set -euo pipefail

# has_credentials tells whether the AWS SDK's default chain could find
# credentials: environment keys, a profile, web identity, a container or
# instance role endpoint, or the shared config and credentials files.
has_credentials() {
	[[ -n "${AWS_ACCESS_KEY_ID:-}" || -n "${AWS_PROFILE:-}" || -n "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ]] && return 0
	[[ -n "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" || -n "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ]] && return 0
	[[ -s "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" || -s "${AWS_CONFIG_FILE:-$HOME/.aws/config}" ]] && return 0
	# On EC2, ECS or CodeBuild the instance role answers; the CLI finds it.
	[[ -n "${AWS_EXECUTION_ENV:-}${CODEBUILD_BUILD_ID:-}" ]]
}

case "${1:-}" in
deploy | diff | destroy | bootstrap)
	if ! has_credentials; then
		cat >&2 <<MSG
cdk.sh: \`cdk $1\` needs AWS credentials, and this shell has none (no AWS_PROFILE,
no AWS_ACCESS_KEY_ID, no ~/.aws/credentials or ~/.aws/config).
See infra/DEPLOY.md, "What you need": sign in (for example \`aws sso login\` and
export AWS_PROFILE), pick a region, and bootstrap the account once.
\`make synth\` works offline without any of this.
MSG
		exit 2
	fi
	;;
esac

# 2.1148.1 is a 2.x CLI released after aws-cdk-lib 2.270.0 (the version in
# go.mod): the CLI reads cloud assemblies of its own schema version and older,
# so it must not be older than the library.
CDK_VERSION=2.1148.1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools/aws-cdk-$CDK_VERSION"
CDK="$TOOLS/node_modules/.bin/cdk"

if [[ ! -x "$CDK" ]]; then
	command -v npm >/dev/null || { echo "cdk.sh: npm (Node.js 22 or later) is required; see infra/DEPLOY.md" >&2; exit 1; }
	echo "cdk.sh: installing aws-cdk@$CDK_VERSION into ${TOOLS#"$ROOT"/}" >&2
	mkdir -p "$TOOLS"
	npm install --prefix "$TOOLS" --no-audit --no-fund --ignore-scripts --loglevel=error "aws-cdk@$CDK_VERSION" >&2
fi

# The app (cdk.json's "go run .") is compiled here first, with progress: on
# a fresh machine that takes minutes for the CDK's large Go bindings, which
# the CLI would otherwise spend in silence. Its `go run .` then finds
# everything in the build cache. (Running a prebuilt binary as the app
# instead makes jsii-runtime-go v1.139.0 print a spurious "Runtime process
# exited abnormally: waitid: no child processes" as it ends.)
(cd "$ROOT" && infra/scripts/gobuild.sh /dev/null ./infra)
args=(--no-notices)
if [[ -n "${CDK_OUTDIR:-}" ]]; then
	# Relative to where the caller stands, not to infra/.
	args+=(--output "$(realpath -m "$CDK_OUTDIR")")
fi
export CDK_DISABLE_CLI_TELEMETRY="${CDK_DISABLE_CLI_TELEMETRY:-true}"

cd "$ROOT/infra"
exec "$CDK" "${args[@]}" "$@"
