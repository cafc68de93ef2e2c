# Chroom — build, test and run the network locally.
# `make help` lists the targets.

SHELL        := /usr/bin/env bash
GO           ?= go
BUILD_DIR    ?= build
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SDK_VERSION  := github.com/cosmos/cosmos-sdk/version
LDFLAGS      := -X $(SDK_VERSION).Name=chroom -X $(SDK_VERSION).AppName=chroomd \
                -X $(SDK_VERSION).Version=$(VERSION) -X $(SDK_VERSION).Commit=$(COMMIT)
BINARIES     := chroomd medianode orchestrator chroom-loadtest

.PHONY: help build install test test-unit test-sdk sdk-pack test-sims econ-sim e2e e2e-soak test-faults devnet-check bench fuzz proto-check lint fmt proto-gen \
        localnet localnet-stop demo demo-stop demo-reset clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build every binary into build/
	@mkdir -p $(BUILD_DIR)
	@for b in $(BINARIES); do echo "==> go build $$b"; \
	  $(GO) build -ldflags '$(LDFLAGS) -X main.version=$(VERSION)' -o $(BUILD_DIR)/$$b ./cmd/$$b || exit 1; done

install: ## install the binaries into $GOBIN
	@for b in $(BINARIES); do $(GO) install -ldflags '$(LDFLAGS) -X main.version=$(VERSION)' ./cmd/$$b || exit 1; done

test: lint build ## vet, format check, every Go test, the JS SDK's unit tests, a devnet smoke run and the browser end-to-end test
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-sdk
	$(MAKE) --no-print-directory devnet-check
	$(MAKE) --no-print-directory e2e

# The browser tests that kill or cut off a part of the network belong to
# the fault suite (make test-faults), not to make e2e.
E2E_FAULTS := ^(TestCallMovesWhenItsNodeDies|TestOrchestratorKilledMidCall|TestChainUnreachableFor30s)$$

e2e: build ## the whole network in headless Chromium: call, chat, file, WHIP/WHEP, refused grants, rewards, resume and outages (needs root + nft), audio-only, a 10-call soak
	CHROOM_E2E=1 CHROOM_E2E_SOAK=$(or $(N),10) $(GO) test -count=1 -timeout 30m -v -skip '$(E2E_FAULTS)' ./tests/e2e/ 2>&1 | grep --line-buffered -vE '^(ice|pc|dtls|sctp) ' ; exit $${PIPESTATUS[0]}

e2e-soak: build ## N two-person calls in fresh rooms (default 50): failures and join → first frame, both sides
	CHROOM_E2E=1 CHROOM_E2E_SOAK=$(or $(N),50) $(GO) test -count=1 -timeout 120m -run 'TestSoak' -v ./tests/e2e/ 2>&1 | grep --line-buffered -vE '^(ice|pc|dtls|sctp) ' ; exit $${PIPESTATUS[0]}

test-faults: build ## fault suite: 4 validators under receipt load killed, paused, partitioned (FAULT_BLOCKS=200); a software upgrade; in Chromium: a media node, an orchestrator, the chain lost mid-call
	CHROOM_FAULTS=1 $(GO) test -count=1 -timeout 30m -v ./tests/faults/
	CHROOM_E2E=1 $(GO) test -count=1 -timeout 30m -v -run '$(E2E_FAULTS)' ./tests/e2e/ 2>&1 | grep --line-buffered -vE '^(ice|pc|dtls|sctp) ' ; exit $${PIPESTATUS[0]}

test-sdk: ## the JavaScript SDK's unit tests (@chroom/client, sdk/js) under Node's test runner, and its npm package installed and imported
	cd sdk/js && node --test test/
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  (cd sdk/js && npm pack --silent --pack-destination "$$tmp" >/dev/null) && cd "$$tmp" && npm init -y >/dev/null && \
	  npm install --offline --no-audit --no-fund ./chroom-client-*.tgz >/dev/null && \
	  node --input-type=module -e 'const m = await import("@chroom/client"); if (typeof m.connect !== "function" || typeof m.Room !== "function") throw new Error("@chroom/client exports no connect/Room"); console.log("npm pack: @chroom/client installs and imports")'

sdk-pack: ## pack @chroom/client into build/ (npm pack): an installable chroom-client-<version>.tgz
	@mkdir -p $(BUILD_DIR)
	cd sdk/js && npm pack --pack-destination $(abspath $(BUILD_DIR))

devnet-check: ## start a throw-away devnet on spare ports, register nodes by tx, check them, stop it
	bash scripts/devnet-check.sh

test-unit: ## unit and keeper tests only (fast)
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /tests)

econ-sim: ## adversarial economic simulation: strategies vs the real keepers, 100 epochs, seeded (EPOCHS=, SEED=)
	CHROOM_ECON_OUT=$(BUILD_DIR) $(GO) test -count=1 -tags econsim -run TestEconSim -v ./tests/econ/ -epochs $(or $(EPOCHS),100) -seed $(or $(SEED),1) 2>&1 | grep -vE '^=== RUN' ; exit $${PIPESTATUS[0]}

test-sims: ## simulations: determinism (3 seeds x 3 runs, 50 blocks) and a full-app run
	$(GO) test -tags sims -run TestAppStateDeterminism -timeout 60m -v ./app/ 2>&1 | grep -E '^(=== RUN|--- |    sim_test|ok|FAIL|PASS|\+\+\+ DONE)|app hash|panic' ; exit $${PIPESTATUS[0]}
	$(GO) test -tags sims -run TestFullAppSimulation -timeout 60m ./app/ -NumBlocks=100 -BlockSize=50 -Seed=11 -Enabled=true

bench: ## run the Go benchmarks recorded in docs/benchmarks.md
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./x/... ./medianode/...

fuzz: ## run each fuzz target for 30 s
	$(GO) test -run '^$$' -fuzz FuzzDecodeClientMessage -fuzztime 30s ./medianode/signal/
	$(GO) test -run '^$$' -fuzz FuzzDecodeEntry -fuzztime 30s ./receipts/
	$(GO) test -run '^$$' -fuzz FuzzReceiptJSON -fuzztime 30s ./receipts/
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./grant/
	$(GO) test -run '^$$' -fuzz FuzzParseNodeKey -fuzztime 30s ./format/

lint: ## go vet and gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

fmt: ## format the Go code
	gofmt -w $$(git ls-files '*.go')

proto-gen: ## regenerate the Go code from proto/ (offline)
	bash scripts/protocgen.sh

proto-check: proto-gen ## fail if the committed generated code differs from proto/
	@git diff --exit-code --stat -- '*.pb.go' '*.pb.gw.go' || \
	  (echo "generated code is stale: run 'make proto-gen' and commit"; exit 1)
	@test -z "$$(git status --porcelain -- '*.pb.go' '*.pb.gw.go')" || \
	  (echo "make proto-gen created files that are not committed"; git status --porcelain -- '*.pb.go'; exit 1)

localnet: build ## run a chain on 127.0.0.1 in .localnet/: one validator, or VALIDATORS=4 (Ctrl-C stops it)
	DEVNET_DIR=$(CURDIR)/.localnet FOREGROUND=1 VALIDATORS=$(or $(VALIDATORS),1) bash scripts/devnet.sh up

localnet-stop: ## stop a localnet started elsewhere
	DEVNET_DIR=$(CURDIR)/.localnet bash scripts/devnet.sh down

demo: build ## the whole network: chain (VALIDATORS=1 by default), ORCHESTRATORS=1 orchestrator(s) with the web client, MEDIA_NODES=2 media nodes, QoS probes on (PROBES=0 turns them off), the API key's calls embeddable from http://127.0.0.1:7900 (EMBED_ORIGINS; examples/support-call); Ctrl-C stops it
	DEVNET_DIR=$(CURDIR)/.demo NETWORK=1 FOREGROUND=1 VALIDATORS=$(or $(VALIDATORS),1) ORCHESTRATORS=$(or $(ORCHESTRATORS),1) MEDIA_NODES=$(or $(MEDIA_NODES),2) PROBES=$(or $(PROBES),1) EMBED_ORIGINS=$(or $(EMBED_ORIGINS),http://127.0.0.1:7900) bash scripts/devnet.sh up

demo-stop: ## stop the demo from another terminal
	DEVNET_DIR=$(CURDIR)/.demo bash scripts/devnet.sh down

demo-reset: ## stop the demo and delete its state
	DEVNET_DIR=$(CURDIR)/.demo bash scripts/devnet.sh reset

clean: ## remove build output
	rm -rf $(BUILD_DIR)
