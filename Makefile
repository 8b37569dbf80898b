# Lattice — the two commands that matter are `make run` and `make test`.
GO      ?= go
PKGS    := ./...
BIN     := bin/lattice
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: run build image compose-up compose-down test test-deploy test-migration test-contract check check-deploy lint-specs generate docs-assets bench bench-gateway bench-journeys bench-search bench-import clean

## run: serve the platform (every built service) on this machine
run: build
	scripts/ensure-services
	$(BIN) serve --target=all

## build: compile the lattice binary, and beside it the file extractor the processing service runs, into bin/
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/lattice
	$(GO) build -o $(dir $(BIN))lattice-extract ./cmd/lattice-extract

## image: the one lattice image (deploy/Dockerfile), from a binary built here on the local base
image:
	scripts/build-image

## compose-up: Lattice as separate containers (deploy/compose): certificates and secrets, then up
compose-up:
	scripts/compose up -d
	@echo "gateways: https://127.0.0.1:8443 and :8444 (CA: deploy/compose/.state/certs/ca.crt)"

## compose-down: stop the compose deployment (V=1 also drops its volumes)
compose-down:
	scripts/compose down $(if $(V),--volumes)

## test: every test — the SDK module's, unit, adapter, contract (testcontainers) and e2e — with the race detector, then the contract-coverage gate on what they exercised
test:
	cd sdk && $(GO) test -race -count=1 ./...
	rm -rf bin/contract-coverage && mkdir -p bin/contract-coverage
	LATTICE_CONTRACT_COVERAGE=$(CURDIR)/bin/contract-coverage scripts/with-test-env $(GO) test -race -count=1 -timeout 30m $(PKGS)
	@# The gate needs every suite's records: not for a partial PKGS.
	@if [ "$(PKGS)" = "./..." ]; then scripts/contract-coverage --stamp && scripts/contract-coverage --gate; fi

## test-deploy: only the deployment tests (the image, services in containers of their own)
test-deploy:
	scripts/with-test-env $(GO) test -count=1 -timeout 30m ./tests/deploy/...

## test-migration: only the migration tests (the reference Python monolith; issue 13)
test-migration:
	scripts/with-test-env $(GO) test -race -count=1 -timeout 20m ./tests/migration/...

## test-contract: only the contract tests (testcontainers)
test-contract:
	scripts/with-test-env $(GO) test -race -count=1 ./tests/contract/...

## generate: regenerate OpenAPI transports, the SDK's clients and sqlc data access with the pinned tools
generate:
	$(GO) generate ./services/... ./pkg/...
	cd sdk && $(GO) generate ./...
	$(GO) tool sqlc generate

## docs-assets: refresh the Swagger UI files embedded by the gateway's /docs (from npm, pinned)
SWAGGER_UI_VERSION := 5.35.0
docs-assets:
	rm -f services/gateway/publicspec/assets/*
	tmp=$$(mktemp -d) && cd $$tmp && npm pack swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz && \
	cp package/swagger-ui-bundle.js package/swagger-ui-bundle.js.LICENSE.txt package/swagger-ui.css package/LICENSE package/NOTICE $(CURDIR)/services/gateway/publicspec/assets/ && rm -rf $$tmp

## check: generated code in sync (services and the SDK), go.mod tidy, gofmt, vet, staticcheck, golangci-lint (depguard: the import rules), the specs' lint, no breaking change to a spec, the contract-coverage gate (reusing the records of the last make test of the same tree, else running the contract, e2e and migration tests)
check: generate
	@git diff --exit-code -- services pkg sdk sqlc.yaml || (echo "generated code is out of date: run make generate and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain --untracked-files=all -- services pkg sdk | grep -v '^ M')" || (git status --porcelain -- services pkg sdk; echo "make generate created files that are not committed" >&2; exit 1)
	$(GO) mod tidy -diff
	cd sdk && $(GO) mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || (echo "gofmt needed:" >&2; echo "$$out" >&2; exit 1)
	@# -race: vet then reuses the packages make test compiled. That checks
	@# the files the plain build compiles only while no file depends on the
	@# race build tag, which this guard keeps true.
	@out=$$(git grep --untracked -lE '^//(go:build|[[:space:]]*\+build)([^[:alnum:]_].*)?[^[:alnum:]_.]race([^[:alnum:]_.]|$$)' -- '*.go'); test -z "$$out" || (echo "these files depend on the race build tag, so vet -race no longer checks what the plain build compiles: drop the tag, or make check vet without -race too:" >&2; echo "$$out" >&2; exit 1)
	$(GO) vet -race $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(GO) tool golangci-lint run $(PKGS)
	@# The SDK is a module of its own: the same tools, built from the root's pins.
	$(GO) build -o bin/tools/ honnef.co/go/tools/cmd/staticcheck github.com/golangci/golangci-lint/v2/cmd/golangci-lint
	cd sdk && $(GO) vet -race ./... && ../bin/tools/staticcheck ./... && ../bin/tools/golangci-lint run ./...
	$(MAKE) --no-print-directory lint-specs
	scripts/breaking-changes
	scripts/contract-coverage

## lint-specs: the OpenAPI specs under Redocly CLI's recommended rules, no error allowed (the CLI is pinned in scripts/speclint, from npm)
lint-specs:
	cd scripts/speclint && npm ci --no-audit --no-fund --silent
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true scripts/speclint/node_modules/.bin/redocly lint --format=summary openapi/*.yaml

## check-deploy: the operator's files: alert rules (promtool check and unit tests), Alertmanager example (amtool), dashboards against the code, every Kubernetes overlay rendered, strictly decoded, CRD-validated and compared with the code
check-deploy:
	scripts/ensure-prometheus-tools
	promtool check rules deploy/prometheus/rules/*.yaml
	promtool test rules deploy/prometheus/tests/*.yaml
	amtool check-config deploy/alertmanager/alertmanager.yaml
	@# -race, as make test: its compiled packages are reused (Kubernetes' are many).
	scripts/with-test-env $(GO) test -race -count=1 ./tests/observability/... ./tests/k8s/...

## bench: the benchmarks behind docs/benchmarks.md
bench:
	scripts/with-test-env $(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

## bench-gateway: the gateway against direct and nginx, from outside with wrk, interleaved (local PostgreSQL; a few minutes)
bench-gateway:
	scripts/ensure-load-tools
	$(GO) run ./bench/gateway

## bench-journeys: the main journeys through the whole platform at 200 req/s for 60 s each (vegeta; local servers; about six minutes)
bench-journeys:
	scripts/ensure-services
	$(GO) run ./bench/journeys

## bench-import: lattice import of 100,000 monolith resources into fresh stores (local servers; under a minute)
bench-import:
	$(GO) run ./bench/import -resources 100000

## bench-search: the search core on a generated 100,000-chunk corpus (a few minutes)
bench-search:
	$(GO) run ./bench/search -chunks 100000

clean:
	rm -rf bin
