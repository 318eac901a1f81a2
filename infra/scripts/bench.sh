#!/usr/bin/env bash
# bench.sh measures fleetclaim on this machine and writes BENCHMARKS.md (and
# the short cost summary infra/bench/COST.md):
#
#   1. hot paths: go test -bench over every package with benchmarks;
#   2. cold starts: each function's real bootstrap through a Lambda Runtime
#      API of our own (infra/bench/coldstart);
#   3. the cost model: each flow's DynamoDB capacity, calls and logs, priced
#      (infra/bench/cost);
#   4. throughput: a local stack on free ports in a temporary directory, once
#      with the embedded store and once with dynalite, loaded by
#      `fleetclaim-local load` at 1, 8 and 64 clients.
#
# Everything listens on 127.0.0.1, every step is bounded in time, and
# everything this script starts is stopped when it ends.
#
# Knobs (environment): BENCH_COUNT (go test -count, default 6), BENCH_STARTS
# (cold starts per function, default 21), BENCH_WINDOW (load window per level,
# default 20s), BENCH_LEVELS (default 1,8,64), BENCH_LOAD_STORES (default
# "bolt dynamodb"), BENCH_OUT (default BENCHMARKS.md), BENCH_SHORT (default
# infra/bench/COST.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

OUT="${BENCH_OUT:-BENCHMARKS.md}"
SHORT="${BENCH_SHORT:-infra/bench/COST.md}"
COUNT="${BENCH_COUNT:-6}"
STARTS="${BENCH_STARTS:-21}"
WINDOW="${BENCH_WINDOW:-20s}"
LEVELS="${BENCH_LEVELS:-1,8,64}"
LOAD_STORES="${BENCH_LOAD_STORES:-bolt dynamodb}"

WORK="$(mktemp -d)"
STACK_PID=""
DYNALITE_PORT=""

stop_stack() {
	if [[ -n "$STACK_PID" ]]; then
		kill "$STACK_PID" 2>/dev/null || true
		wait "$STACK_PID" 2>/dev/null || true
		STACK_PID=""
	fi
}
cleanup() {
	stop_stack
	[[ -n "$DYNALITE_PORT" ]] && infra/scripts/dynalite.sh stop "$DYNALITE_PORT" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }

infra/scripts/deps.sh
eval "$(infra/scripts/dynalite.sh start)"
export FLEETCLAIM_TEST_DYNAMODB_ENDPOINT
DYNALITE_PORT="${FLEETCLAIM_TEST_DYNAMODB_ENDPOINT##*:}"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

say "hot paths (go test -bench, -count $COUNT)"
mapfile -t PKGS < <(grep -rl --include='*_test.go' '^func Benchmark' shared infra functions | xargs -n1 dirname | sort -u | sed 's|^|./|')
timeout 30m go test -run '^$' -bench . -benchmem -count "$COUNT" -timeout 25m "${PKGS[@]}" | tee "$WORK/bench.txt" >&2
go run ./infra/bench/benchtable <"$WORK/bench.txt" >"$WORK/bench.md"

say "cold starts ($STARTS per function)"
timeout 15m go run ./infra/bench/coldstart -dynamodb "$FLEETCLAIM_TEST_DYNAMODB_ENDPOINT" -n "$STARTS" \
	-json "$WORK/coldstart.json" >"$WORK/coldstart.md"

say "cost model"
timeout 10m go run ./infra/bench/cost -dynamodb "$FLEETCLAIM_TEST_DYNAMODB_ENDPOINT" \
	-coldstart "$WORK/coldstart.json" -short "$SHORT" >"$WORK/cost.md"

go build -o "$WORK/fleetclaim-local" ./infra/local
: >"$WORK/load.md"
for store in $LOAD_STORES; do
	say "local stack throughput ($store store)"
	args=()
	case "$store" in
	bolt) label="embedded store (bbolt, one file)" ;;
	dynamodb)
		label="DynamoDB adapter against dynalite"
		args=(-dynamodb-endpoint "$FLEETCLAIM_TEST_DYNAMODB_ENDPOINT" -table "load-$RANDOM$RANDOM")
		;;
	*) echo "bench: unknown store $store in BENCH_LOAD_STORES" >&2; exit 2 ;;
	esac
	dir="$WORK/stack-$store"
	"$WORK/fleetclaim-local" -data-dir "$dir" -api-port 0 -cognito-port 0 -iot-port 0 -mqtt-port 0 -console-port 0 \
		-claims-per-hour 1000000 -requests-per-minute 1000000 -log-level error "${args[@]}" \
		-tenant 'acme:Acme:acme.example' -admin 'admin@acme.example:Local-Admin-1:acme' >"$WORK/stack-$store.log" 2>&1 &
	STACK_PID=$!
	for _ in $(seq 1 600); do
		[[ -f "$dir/endpoints.json" ]] && break
		kill -0 "$STACK_PID" 2>/dev/null || { tail -20 "$WORK/stack-$store.log" >&2; exit 1; }
		sleep 0.1
	done
	[[ -f "$dir/endpoints.json" ]] || { echo "bench: the local stack did not start within 60 s" >&2; exit 1; }
	{
		echo "#### Local stack, $label"
		echo
		timeout 20m "$WORK/fleetclaim-local" load -endpoints "$dir/endpoints.json" -c "$LEVELS" -d "$WINDOW" \
			-admin-email admin@acme.example -admin-password Local-Admin-1 | sed 's/^### /##### /'
		echo
		if [[ "$store" == bolt ]]; then
			# The same devices making their own P-256 keys and sending a CSR:
			# the stand-in signs instead of generating an RSA key.
			timeout 20m "$WORK/fleetclaim-local" load -endpoints "$dir/endpoints.json" -c "$LEVELS" -d "$WINDOW" \
				-workloads provisionings -csr -admin-email admin@acme.example -admin-password Local-Admin-1 |
				sed 's/^### /##### /'
			echo
		fi
	} >>"$WORK/load.md"
	stop_stack
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# The previous run's throughput tables, kept beside the new ones so that a
# change's effect shows in one file: what followed "## Local stack
# throughput" in the old $OUT, from its first table heading up to the next
# "###" or "##" heading: not the run before it, nor notes written by hand.
: >"$WORK/previous.md"
if [[ -f "$OUT" ]]; then
	prev_when="$(grep -m1 -o 'on [0-9]\{4\}-[0-9][0-9]-[0-9][0-9]' "$OUT" | cut -c4- || true)"
	prev_load="$(grep -m1 -o 'Load average before and after: [^(]*' "$OUT" | sed 's/^Load average before and after: //; s/ *$//' || true)"
	awk '/^## Local stack throughput/ { on = 1; next }
		/^## / || /^### / { on = 0 }
		on && /^#### / { seen = 1 }
		on && seen' "$OUT" >"$WORK/previous-tables.md"
	if [[ -s "$WORK/previous-tables.md" ]]; then
		{
			echo "### The previous run (${prev_when:-date unknown}), for comparison"
			echo
			echo "The same measurement from the BENCHMARKS.md this run replaced (load average before and after:"
			echo "${prev_load:-not recorded})."
			echo
			cat "$WORK/previous-tables.md"
		} >"$WORK/previous.md"
	fi
fi

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
mem="$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
{
	cat <<EOF
# Benchmarks

Measured by \`make bench\` (infra/scripts/bench.sh) on $(date -u +%Y-%m-%d):
$(nproc) CPUs ($cpu), $mem of memory, Linux $(uname -r), $(go version | cut -d' ' -f3-).
Load average before and after: $LOAD_BEFORE → $LOAD_AFTER (other work on the machine shows up in
the spread). All traffic on 127.0.0.1. Figures are medians; ratios compare medians.

To reproduce: \`make bench\` (about a quarter of an hour on this machine; it installs dynalite under \`.tools/\` on first use).
Knobs: BENCH_COUNT, BENCH_STARTS, BENCH_WINDOW, BENCH_LEVELS, BENCH_LOAD_STORES (see the script).

## Hot paths

\`go test -run '^\$' -bench . -benchmem -count $COUNT\`, medians of the $COUNT runs. In
\`shared/fleetclaim\`, the domain decisions over an in-memory store: \`Decide\` is the
pre-provisioning hook's whole decision (target: under 50 µs and 50 allocations), \`Grant\` the
pre-token trigger's, \`IssueClaim\` issuance with AWS IoT faked. In \`shared/app\`, the same paths
through the Lambda handlers: \`memory\` is the handler's own cost, \`bolt\` the embedded store (each
write an fsync'd commit), \`dynamodb\` the DynamoDB adapter against dynalite on loopback (a Node.js
server, slower per call than DynamoDB itself). Logs are formatted at the deployed level (info) and
discarded.

EOF
	cat "$WORK/bench.md"
	cat <<EOF

## Cold starts

Each function's real \`bootstrap\` (built for this machine's architecture with the Makefile's
flags: \`-trimpath -ldflags='-s -w' -tags lambda.norpc\`, CGO off), started $STARTS times after one
untimed start, against a Lambda Runtime API of our own on loopback (infra/bench/coldstart). Init
is process start → the first \`GET /2018-06-01/runtime/invocation/next\`; first answer is process
start → the first invocation's response, which takes the function's successful path against dynalite
(POST /claims, a new user's confirmation, a sign-in, an allowed registration) with the SDK's first
requests and connections. Peak RSS is wait4's ru_maxrss. Package init is the sum of
\`GODEBUG=inittrace=1\`'s clock times. Targets: init under 25 ms median, binary under 15 MB.

EOF
	cat "$WORK/coldstart.md"
	cat <<EOF

These are full cores; at 256 MB Lambda gives a function about a seventh of a vCPU, so expect init
to scale up accordingly, and the first answer to add TLS handshakes that loopback HTTP does not have.

## Local stack throughput

\`fleetclaim-local load\` against a local stack (started with \`-claims-per-hour 1000000 -requests-per-minute 1000000\`), each
client its own approved installer with a valid access token, in a closed loop: $WINDOW measured per
level after a warm-up that lasts until every client has finished an operation. The API Gateway
stand-in verifies every token (RS256) as the Cognito authorizer does; the AWS IoT stand-in hands out
an RSA-2048 key pair for each CreateProvisioningClaim and each CreateKeysAndCertificate, as AWS does,
from a pool that one background worker keeps filled (\`-key-pool\`, 32 by default): the pool absorbs
bursts, but under sustained load each pair is still generated, which is AWS's work, not ours, and
dominates both workloads here. A change to the stand-in's registry costs the records it touches (one
appended, flushed journal line), not the registry's size, so later levels do not slow down as
certificates accumulate. Every provisioning also makes two MQTT connections with mutual TLS. The
client, the stack and, for the second table, dynalite share this machine's CPUs, so throughput stops
growing once they are busy and more clients add latency, not operations.

Each table's last two columns say where the CPU went: the stack's and the load generator's CPU time
per operation, and the rate this machine's CPUs could reach at that cost. When the measured rate is
close to that ceiling, the run was CPU-bound, and more clients cannot add operations. The
provisioning target (1,000 a minute, 16.7 a second, on this 2-CPU machine) is measured on the
CreateCertificateFromCsr flow, the one AWS recommends for devices (the private key never leaves the
device): it costs one RSA key pair (the claim's), where CreateKeysAndCertificate costs two, whose
mean generation time alone puts that flow's ceiling near 15 a second on two CPUs.

EOF
	cat "$WORK/load.md"
	cat "$WORK/previous.md"
	cat "$WORK/cost.md"
} >"$OUT"
say "wrote $OUT and $SHORT"
