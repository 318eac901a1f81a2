# fleetclaim: the project's verbs. `make help` lists them.

SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
FUNCTIONS   := claims postconfirm pretoken provisionhook
GOFLAGS_BUILD := -trimpath -ldflags='-s -w' -tags lambda.norpc

.PHONY: help build test lint fuzz clean $(addprefix build-,$(FUNCTIONS))

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: $(addprefix build-,$(FUNCTIONS)) ## Build every function as bin/<name>/bootstrap (linux/arm64, CGO off).

build-%:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GOFLAGS_BUILD) -o bin/$*/bootstrap ./functions/$*

test: ## Run every test, against real local servers the scripts install.
	infra/scripts/test.sh

lint: ## gofmt, go vet, staticcheck and gosec.
	infra/scripts/lint.sh

clean: ## Remove build output and local state.
	rm -rf bin infra/cdk.out .local coverage.out
