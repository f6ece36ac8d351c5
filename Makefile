GO      ?= go
BIN     := bin/nexus
PKGS    := ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/nexus-run/nexus/internal/version.Version=$(VERSION)

.PHONY: build run test bench lint fmt clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/nexus

run: build
	$(BIN) up examples/quickstart

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 60m $(PKGS)

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l .)" || (gofmt -l . && false)

fmt:
	gofmt -w .

clean:
	rm -rf bin .nexus
