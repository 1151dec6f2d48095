# EventPulse developer targets. `make help` lists them.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin/eventpulse
RUN_DIR   ?= .run
PGPORT    ?= 5432
REDIS_PORT ?= 6379
export DATABASE_URL ?= postgres://postgres@127.0.0.1:$(PGPORT)/eventpulse?sslmode=disable
export REDIS_URL ?= redis://127.0.0.1:$(REDIS_PORT)/0

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_\/-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/eventpulse
	$(GO) build -o $(BIN) ./cmd/eventpulse

.PHONY: generate
generate: ## regenerate the ogen server and client from openapi.yaml
	$(GO) generate ./internal/oas/...

.PHONY: verify
verify: generate ## fail when generated code is stale
	@git diff --exit-code -- internal/oas || (echo "internal/oas is stale: run make generate and commit" && exit 1)
	@test -z "$$(git status --porcelain -- internal/oas)" || (git status --porcelain -- internal/oas; echo "internal/oas has uncommitted files: run make generate and commit"; exit 1)

.PHONY: verify/compose
verify/compose: ## validate docker-compose.yml with the values of .env.example
	docker-compose -f docker-compose.yml --env-file .env.example config --quiet

.PHONY: services/start
services/start: ## start PostgreSQL and Redis for development, data under .run/
	RUN_DIR=$(RUN_DIR) PGPORT=$(PGPORT) REDIS_PORT=$(REDIS_PORT) scripts/services.sh start

.PHONY: services/stop
services/stop: ## stop the development PostgreSQL and Redis
	RUN_DIR=$(RUN_DIR) PGPORT=$(PGPORT) REDIS_PORT=$(REDIS_PORT) scripts/services.sh stop

.PHONY: db/migrate
db/migrate: build ## apply the migrations to DATABASE_URL
	$(BIN) migrate

.PHONY: run
run: build services/start ## start PostgreSQL, Redis and eventpulse run on 127.0.0.1:8080, with the example rules on a fresh database
	$(BIN) migrate
	@# The server runs in the background so the example rules can be sent
	@# once it is ready; Ctrl-C reaches it through the trap, and `wait`
	@# keeps make in the foreground until it stops. `rules apply` reads
	@# EVENTPULSE_API_KEY from the environment that make passes on.
	@$(BIN) run & pid=$$!; \
	trap 'kill -INT $$pid 2>/dev/null; wait $$pid' INT TERM; \
	$(BIN) rules apply --if-empty --wait 30s --url http://$${EVENTPULSE_HTTP_ADDR:-127.0.0.1:8080} examples/rules/*.json \
		|| echo "example rules not applied; once API keys exist, set EVENTPULSE_API_KEY to a key with the admin scope; the server keeps running"; \
	wait $$pid

.PHONY: stop
stop: services/stop ## stop the PostgreSQL and Redis that make run started (stop eventpulse itself with Ctrl-C)

.PHONY: test
test: ## run every test against a throwaway PostgreSQL and Redis
	$(GO) test -race -count=1 -timeout 30m ./...

.PHONY: test/chaos
test/chaos: ## run only the chaos tests: killed workers, Redis and PostgreSQL restarts
	$(GO) test -count=1 -timeout 15m -v -run . ./tests/chaos/

.PHONY: test/short
test/short: ## run the quick tests only
	$(GO) test -short -count=1 ./...

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 200000x executions)
	$(GO) test ./internal/ingest -run '^$$' -fuzz '^FuzzDecodeEvent$$' -fuzztime $${FUZZTIME:-200000x}
	$(GO) test ./internal/ingest -run '^$$' -fuzz '^FuzzDecodeBatch$$' -fuzztime $${FUZZTIME:-200000x}
	$(GO) test ./internal/ingest -run '^$$' -fuzz '^FuzzPlainValue$$' -fuzztime $${FUZZTIME:-200000x}

.PHONY: lint
lint: ## run gofmt, go vet and golangci-lint
	@files=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$files" ]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool golangci-lint run ./...

BENCH_FLAGS ?=

.PHONY: bench
bench: build ## measure eventpulse end to end against its own PostgreSQL and Redis, with the ceilings
	$(GO) build -o bin/eventpulse-bench ./cmd/eventpulse-bench
	bin/eventpulse-bench -bin $(BIN) -out $(RUN_DIR)/bench $(BENCH_FLAGS)

.PHONY: bench/micro
bench/micro: ## run the Go micro-benchmarks of the hot paths
	$(GO) test -run '^$$' -bench . -benchmem ./...
