# Drawbridge: the two commands that matter are `make demo` and `make test`.
GO        ?= go
BIN       ?= bin/drawbridge
PKGS      ?= ./...
FUZZTIME  ?= 10s
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build demo test test-race fuzz bench-ci bench bench-policy lint vet fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/drawbridge

## demo: scripted end-to-end lifecycle on a temporary SQLite store and the emulator
demo:
	$(GO) run ./cmd/drawbridge demo

## test: everything CI runs: vet, the race-enabled suite, a short fuzz run, benchmarks once
test: vet test-race fuzz bench-ci

vet:
	$(GO) vet $(PKGS)

test-race:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./policy

## bench-ci: every benchmark once, so they cannot rot (figures come from `make bench`)
bench-ci:
	$(GO) test -run '^$$' -bench . -benchtime 1x $(PKGS)

## bench: the figures in docs/benchmarks.md
bench: bench-policy

bench-policy:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./policy

lint: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@command -v staticcheck >/dev/null || GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
