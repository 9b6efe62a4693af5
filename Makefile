# Strata build. Every target runs from the repository root (go.work).
MODULE    := github.com/stratadb/strata
BIN       := $(CURDIR)/bin
TOOLS_BIN := $(BIN)/tools
BUF_VERSION := v1.75.0
export PATH := $(TOOLS_BIN):$(PATH)

SERVICES := page-service:services/pageservice/cmd/page-service \
            walredo-pool:services/walredopool/cmd/walredo-pool \
            upload-worker:services/uploadworker/cmd/upload-worker \
            gc-compactor:services/gccompactor/cmd/gc-compactor \
            size-calculator:services/sizecalculator/cmd/size-calculator \
            gateway:gateway/cmd/gateway \
            stratactl:tools/cmd/stratactl

.PHONY: build build-failpoints build-static test prereqs demo down proto proto-check tools clean

## build: every binary into bin/
build:
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do name=$${s%%:*}; dir=$${s#*:}; \
	  echo "go build $$name"; go build -o $(BIN)/$$name ./$$dir || exit 1; done

## build-failpoints: the same binaries with failpoints compiled in (bin/failpoints/)
build-failpoints:
	@mkdir -p $(BIN)/failpoints
	@for s in $(SERVICES); do name=$${s%%:*}; dir=$${s#*:}; \
	  go build -tags failpoints -o $(BIN)/failpoints/$$name ./$$dir || exit 1; done

## build-static: static binaries (CGO_ENABLED=0) for the FROM scratch image (bin/static/)
build-static:
	@mkdir -p $(BIN)/static
	@for s in $(SERVICES); do name=$${s%%:*}; dir=$${s#*:}; \
	  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o $(BIN)/static/$$name ./$$dir || exit 1; done

## prereqs: install missing apt packages (redis-server, postgresql-15, make, gcc); checks Go
prereqs:
	@.ci/install-prereqs

## test: the whole suite in two passes over every package:
##   1. the race detector over everything that needs no real PostgreSQL (-short);
##   2. everything, with real PostgreSQL 15 clusters and the real binaries of
##      bin/ and bin/failpoints/, without the race detector (it makes the
##      WAL oracles 5-10x slower and CI must stay under 30 minutes).
TEST_ENV := STRATA_BIN_DIR=$(BIN) STRATA_FAILPOINTS_BIN_DIR=$(BIN)/failpoints
test: prereqs build build-failpoints
	@echo "== pass 1: go test -race -short"
	$(TEST_ENV) go test -race -short -count=1 $(MODULE)/...
	@echo "== pass 2: go test (real PostgreSQL 15, real binaries)"
	$(TEST_ENV) go test -count=1 -timeout 20m $(MODULE)/...

## demo: the main job: the local stack, a PG15 primary imported into Strata, pgbench, and a
## branch at an earlier LSN started as its own PostgreSQL, compared side by side (keeps running)
demo: prereqs build
	@$(BIN)/stratactl status --dir .strata >/dev/null 2>&1 || $(BIN)/stratactl up --dir .strata
	@$(BIN)/stratactl demo stop --stack .strata >/dev/null
	$(BIN)/stratactl demo --stack .strata

## down: stop the demo's PostgreSQL servers, then the local stack started by `make demo`
down:
	-$(BIN)/stratactl demo stop --stack .strata
	$(BIN)/stratactl down --dir .strata

## tools: protoc plugins (pinned by `tool` directives in tools/protoc/go.mod, a module kept out
## of go.work) and buf $(BUF_VERSION), installed into bin/tools.
tools:
	cd tools/protoc && GOWORK=off GOBIN=$(TOOLS_BIN) go install tool
	@if ! $(TOOLS_BIN)/buf --version 2>/dev/null | grep -qx '$(patsubst v%,%,$(BUF_VERSION))'; then \
	  echo "go install buf@$(BUF_VERSION) (slow the first time)"; \
	  GOWORK=off GOBIN=$(TOOLS_BIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION); fi

## proto: lint and format-check the protos, then regenerate proto/gen and proto/openapi
proto: tools
	buf lint
	buf format --exit-code --diff --path proto/strata
	find proto/gen -type f \( -name '*.pb.go' -o -name '*.pb.gw.go' \) -delete
	rm -f proto/openapi/*.swagger.json
	buf generate

## proto-check: make proto must leave the committed generated code unchanged
proto-check: proto
	@git diff --exit-code -- proto/gen proto/openapi
	@untracked="$$(git status --porcelain --untracked-files=all -- proto/gen proto/openapi)"; \
	  if [ -n "$$untracked" ]; then echo "$$untracked"; echo "generated files not committed"; exit 1; fi

clean:
	rm -rf $(BIN)
