# fleetclaim: the project's verbs. `make help` lists them.

SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
FUNCTIONS   := claims postconfirm pretoken provisionhook presence
GOFLAGS_BUILD := -trimpath -ldflags='-s -w' -tags lambda.norpc

# The local stack's seed: one tenant, its first admin and a platform admin (local only).
LOCAL_FLAGS ?= -tenant 'acme:Acme Ltd:acme.example' -admin 'admin@acme.example:Local-Admin-1:acme' \
	-platform-admin 'ops@operators.example:Local-Platform-1'

CDK      := infra/scripts/cdk.sh
CDK_ARGS ?=

.PHONY: help build console test lint fuzz bench local demo device synth deploy diff destroy clean $(addprefix build-,$(FUNCTIONS))

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: console $(addprefix build-,$(FUNCTIONS)) ## Build every function as bin/<name>/bootstrap (linux/arm64, CGO off), and the console.

console: ## Build the console's bundle (shared/console/web -> dist, npm ci + esbuild).
	go generate ./shared/console

$(addprefix build-,$(FUNCTIONS)): build-%:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 infra/scripts/gobuild.sh bin/$*/bootstrap ./functions/$* $(GOFLAGS_BUILD)

test: ## Run every test, against real local servers the scripts install.
	infra/scripts/test.sh

# The local stack is built once into bin/ (with progress on a fresh machine)
# and run from there; it needs Go alone, not Node.js or the CDK's modules.
local: ## Run the whole system on this machine, offline (Ctrl-C stops it; state in .local/).
	@command -v npm >/dev/null || infra/scripts/deps.sh
	go generate ./shared/console
	infra/scripts/gobuild.sh bin/fleetclaim-local ./infra/local
	bin/fleetclaim-local $(LOCAL_FLAGS)

demo: ## Play an installer and a device against a running `make local`.
	infra/scripts/gobuild.sh bin/fleetclaim-local ./infra/local
	bin/fleetclaim-local demo

device: ## Play a device with a claim bundle the console downloaded: make device BUNDLE=path/to/claim-SN-1.json
	@[[ -n "$(BUNDLE)" ]] || { echo "make device: name the downloaded bundle, e.g. make device BUNDLE=~/Downloads/claim-SN-1.json" >&2; exit 2; }
	infra/scripts/gobuild.sh bin/fleetclaim-local ./infra/local
	bin/fleetclaim-local device $(DEVICE_FLAGS) "$(BUNDLE)"

synth: build ## Write the CloudFormation template to infra/cdk.out, offline (no AWS account needed).
	$(CDK) synth --quiet $(CDK_ARGS)

deploy: build ## Deploy to the account and region of your AWS credentials (infra/DEPLOY.md).
	$(CDK) deploy $(CDK_ARGS)

diff: build ## Show what `make deploy` would change.
	$(CDK) diff $(CDK_ARGS)

destroy: build ## Delete the stack (a retained stage keeps its data; infra/DEPLOY.md).
	$(CDK) destroy $(CDK_ARGS)

bench: ## Measure hot paths, cold starts and local throughput, price a device; writes BENCHMARKS.md.
	infra/scripts/bench.sh

fuzz: ## Run every fuzz target for FUZZTIME each (default 5s).
	infra/scripts/fuzz.sh

lint: ## gofmt, go vet, staticcheck and gosec.
	infra/scripts/lint.sh

clean: ## Remove build output and local state.
	rm -rf bin infra/cdk.out .local coverage.out
