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

.PHONY: build build-failpoints test proto proto-check tools clean

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

## test: the whole suite (unit + integration on real binaries)
test:
	go test -race -count=1 $(MODULE)/...

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
