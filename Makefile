# Wharf: `make run` starts the daemon, `make test` runs every test.
GO ?= go
# Debian keeps the Postgres server binaries off PATH.
export PATH := $(PATH):$(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin)))

.PHONY: build run test test-cluster deps vet lint bench-router clean

build:
	$(GO) build -o bin/wharfd ./cmd/wharfd
	$(GO) build -o bin/wharf ./cmd/wharf

deps:
	@bash scripts/install-deps.sh

run: build
	./bin/wharfd serve $(ARGS)

vet:
	$(GO) vet ./...

# gofmt, go vet and staticcheck (fetched through the Go module proxy).
lint: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above are not formatted"; exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

test: build lint
	$(GO) test -count=1 -timeout 45m ./...

# Multi-node Swarm tests alone: three Docker Engines in containers (about 2 minutes; make test runs them when CI is set).
test-cluster: build
	WHARF_TEST_CLUSTER=1 $(GO) test -count=1 -timeout 30m -run 'TestCluster' ./internal/swarmtest/ ./e2e/

# Wharf's router against nginx and the bare backend (needs wrk and nginx: WHARF_BENCH_DEPS=1 make deps).
bench-router:
	@bash scripts/bench-router.sh

clean:
	rm -rf bin
