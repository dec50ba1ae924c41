# Drawbridge: the two commands that matter are `make demo` and `make test`.
GO        ?= go
BIN       ?= bin/drawbridge
PKGS      ?= ./...
FUZZTIME  ?= 10s
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build demo dev test deps-awscli deps-postgres deps-chromium deps-sqlite3 test-race fuzz bench-ci bench bench-policy bench-lag bench-lag-100k bench-grants bench-http bench-store bench-export bench-dashboard chaos lint vet fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/drawbridge

## demo: scripted end-to-end lifecycle on a temporary SQLite store and the emulator
demo:
	$(GO) run ./cmd/drawbridge demo

## dev: zero-config development server (loopback, in-process emulator, fixed tokens)
dev: build
	./$(BIN) dev

## test: everything CI runs: vet, the race-enabled suite, a short fuzz run, benchmarks once
test: deps-awscli deps-postgres deps-chromium deps-sqlite3 vet test-race fuzz bench-ci

## deps-awscli: the AWS CLI, the independent client the emulator's tests are checked with
## (installed from Debian when missing and running as root; CI fails that test without it)
deps-awscli:
	@command -v aws >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null; \
	  else echo "the AWS CLI is missing: install it (Debian: apt-get install awscli) so the emulator is checked against it"; exit 1; fi; }

## deps-postgres: the PostgreSQL server programs (initdb, pg_ctl) the PostgreSQL store's tests
## start a throwaway cluster from (installed from Debian when missing and running as root;
## CI fails those tests without them, or set DRAWBRIDGE_TEST_POSTGRES_URL to use a server)
deps-postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  [ -n "$$DRAWBRIDGE_TEST_POSTGRES_URL" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL is missing: install it (Debian: apt-get install postgresql) or set DRAWBRIDGE_TEST_POSTGRES_URL"; exit 1; fi; }

## deps-sqlite3: the sqlite3 shell, the ceiling BenchmarkExportCSV measures the CSV export
## against (installed from Debian when missing and running as root; the benchmark fails without it)
deps-sqlite3:
	@command -v sqlite3 >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; \
	  else echo "the sqlite3 shell is missing: install it (Debian: apt-get install sqlite3) for BenchmarkExportCSV"; exit 1; fi; }

## deps-chromium: Debian's Chromium, the browser the dashboard's end-to-end tests drive
## (installed when missing and running as root; CI fails those tests without it)
deps-chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install it (Debian: apt-get install chromium) so the dashboard is tested in a browser"; exit 1; fi; }

vet:
	$(GO) vet $(PKGS)

test-race:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./policy
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./grammar

## bench-ci: every benchmark once, so they cannot rot (figures come from `make bench`)
bench-ci:
	$(GO) test -run '^$$' -bench . -benchtime 1x $(PKGS)

## bench: the figures in docs/benchmarks.md
bench: bench-policy bench-lag bench-lag-100k bench-http bench-export bench-dashboard bench-grants

bench-policy:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./policy

## bench-lag: revocation lag for 10,000 grants expiring within a minute, uncapped and at 200 calls/s
bench-lag:
	$(GO) test -count=1 -timeout 15m -v -run TestRevocationLag ./internal/lagharness -args -lag.n 10000 -lag.window 60s -lag.q 200

## bench-lag-100k: revocation lag for 100,000 grants expiring within ten minutes, uncapped,
## seeded straight into the store and the emulator
bench-lag-100k:
	$(GO) test -count=1 -timeout 45m -v -run 'TestRevocationLag/uncapped' ./internal/lagharness -args -lag.n 100000 -lag.window 600s -lag.timeout 40m -lag.direct

## bench-grants: what must not grow with the number of ACTIVE grants, at 0, 100,000 and
## 1,000,000: engine wake-up, /metrics count (beside the full recount it replaced),
## reconciliation (time, live heap), and the built server's ready time, RSS and submit rate
bench-grants: build
	$(GO) test -run '^$$' -bench . -benchtime 3x -count 3 -timeout 60m ./internal/grantbench -args -grantbench.sizes 0,100000,1000000
	$(GO) test -count=1 -timeout 60m -v -run TestServerAtScale ./internal/grantbench -args -grantbench.sizes 0,100000,1000000 -grantbench.rounds 3 -grantbench.requests 1000 -grantbench.bin $(CURDIR)/$(BIN)

## bench-audit: audit list and CSV export over 1,000,000 requests, and the idle server (RSS, time to ready)
bench-audit: build
	$(GO) test -count=1 -timeout 15m -v -run 'TestAuditAPIAtScale|TestIdleServer' ./internal/auditbench -args -auditbench.n 1000000 -auditbench.bin $(CURDIR)/$(BIN)

## bench-export: CSV export of 999,617 of 1,000,000 requests, 3 rounds, each beside the sqlite3
## shell writing the same rows (-csv) from the same file; then the store's export read alone
BENCH_STORE ?= $(CURDIR)/bin/bench-1m.db
bench-store:
	@test -s $(BENCH_STORE) || $(GO) test -count=1 -timeout 60m -run '^TestLoadBenchStore$$' ./internal/auditbench -args -auditbench.n 1000000 -auditbench.store $(BENCH_STORE)

bench-export: deps-sqlite3 bench-store
	$(GO) test -run '^$$' -bench 'BenchmarkExport' -benchtime 3x -timeout 60m ./internal/auditbench -args -auditbench.n 1000000 -auditbench.store $(BENCH_STORE)

## bench-dashboard: every dashboard page's p95 over 100 fetches with 1,000,000 requests in the store
bench-dashboard: bench-store
	$(GO) test -run '^$$' -bench BenchmarkPages -benchtime 100x -count 3 -timeout 60m ./dashboard/ -args -dashbench.n 1000000 -dashbench.store $(BENCH_STORE)

## bench-http: submit→ACTIVE over HTTP on SQLite, 3 rounds; emulator, server and load generator
## each in a process of their own, beside the SQLite and plain net/http ceilings of the same rounds
bench-http: build
	./$(BIN) loadtest --requests 2000 --concurrency 8 --rounds 3

## chaos: the long chaos run of docs/reliability.md: 3 replicas on PostgreSQL (300 short grants
## over 90 s) and 1 on SQLite (a third of that), replicas SIGKILLed and restarted, PostgreSQL restarted, a faulty
## emulator (`make test` runs the same harness with 40 requests over 12 s)
CHAOS_SEED ?= 7
chaos: deps-postgres
	$(GO) test -count=1 -timeout 30m -v -run 'TestChaos' ./cmd/drawbridge -args -chaos.requests 300 -chaos.load 90s -chaos.seed $(CHAOS_SEED)

lint: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@command -v staticcheck >/dev/null || GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
