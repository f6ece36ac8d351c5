GO      ?= go
BIN     := bin/nexus
PKGS    := ./...
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/nexus-run/nexus/internal/version.Commit=$(COMMIT)

.PHONY: build run test bench bench-terraform lint fmt clean

# Terraform 1.5.7 for bench-terraform: where go install puts it, else on PATH.
TERRAFORM ?= $(shell p="$$($(GO) env GOPATH)/bin/terraform"; if test -x "$$p"; then echo "$$p"; else command -v terraform 2>/dev/null; fi)
TF_INSTALL := go install github.com/hashicorp/terraform@v1.5.7

# The quickstart's secret comes from the env provider; override it at will.
export NEXUS_SECRET_QUICKSTART_TOKEN ?= quickstart-demo-token

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/nexus
	$(GO) build -o bin/nexus-echo ./examples/quickstart/echo

run: build
	$(BIN) up examples/quickstart

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 60m $(PKGS)
	@if [ -n "$(TERRAFORM)" ]; then $(MAKE) --no-print-directory bench-terraform; \
	else echo "bench-terraform skipped: no terraform in $$($(GO) env GOPATH)/bin or on PATH; install it with: $(TF_INSTALL)"; fi

# The side-by-side benchmark against Terraform (minutes); rewrites docs/BENCHMARKS.md.
bench-terraform: build
	@test -n "$(TERRAFORM)" || { echo "no terraform in $$($(GO) env GOPATH)/bin or on PATH; install it with: $(TF_INSTALL)"; exit 1; }
	$(GO) run ./internal/tfbench/cmd/tfbench -nexus $(BIN) -terraform $(TERRAFORM) -out docs/BENCHMARKS.md -command 'make bench-terraform'

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l .)" || (gofmt -l . && false)

fmt:
	gofmt -w .

clean:
	rm -rf bin .nexus
