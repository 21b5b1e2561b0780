# Omnicanal — developer commands. `make help` lists them.
.DEFAULT_GOAL := help
GO ?= go

.PHONY: help run test generate check bench

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## start everything: private Postgres under .data/, migrations, demo data, server on :8080
	$(GO) run ./cmd/omnicanal dev

test: ## run the whole test suite (real Postgres, race detector)
	$(GO) test -race -count=1 ./...

# gqlgen prints commerce.ID (an alias of uuid.UUID) under either name, at
# random, when type aliases are materialized; without them it always writes
# uuid.UUID, so the output is the same on every run and `make check` is stable.
# genlists then points list marshalling and deferred paths at graph/generated/lists.go (see there).
generate: ## regenerate gqlgen and templ code (committed)
	GODEBUG=gotypesalias=0 $(GO) tool gqlgen generate
	$(GO) run ./graph/internal/genlists
	$(GO) tool templ generate -path admin

check: ## gofmt, go vet, and generated code up to date
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(MAKE) generate
	@git diff --exit-code -- . || (echo "make generate changed files: commit the regenerated code"; exit 1)
	@test -z "$$(git status --porcelain --untracked-files=all -- graph admin)" || (echo "make generate created files: commit them"; git status --short -- graph admin; exit 1)

bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...
