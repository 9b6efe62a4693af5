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

clean:
	rm -rf $(BIN)
