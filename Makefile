# The README's test command is `make test`; CI runs it through .ci/run.
GO ?= go

.PHONY: test models check bench fuzz

# The packages with concurrency, tested again under the race detector.
RACE_PKGS = ./tensor/gemm/ ./tensor/vec/ ./nn/ ./train/ ./face/ ./gallery/ ./server/...

# Tests that use the pretrained models need them in the model directory
# ($FACEREC_MODELS or the user cache dir): fetch them once, first.
models:
	@$(GO) run ./cmd/facerec models verify >/dev/null 2>&1 || $(GO) run ./cmd/facerec models pull >/dev/null

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...

test: models check
	$(GO) test ./...
	# Packages with concurrency, again under the race detector (short mode
	# keeps the heavy numeric cases out of the ~10x slower race build). The
	# race detector needs cgo, so a C compiler: without one the step is
	# skipped, saying so.
	@cc="$$($(GO) env CC)"; cgo="$$($(GO) env CGO_ENABLED)"; \
	if [ "$$cgo" = 1 ] && command -v "$${cc%% *}" >/dev/null 2>&1; then \
		echo '$(GO) test -race -short $(RACE_PKGS)'; $(GO) test -race -short $(RACE_PKGS); \
	else \
		echo "SKIPPED: the race-detector step (go test -race): it needs cgo and a C compiler, and here CGO_ENABLED=$$cgo, CC=$$cc $$(command -v "$${cc%% *}" >/dev/null 2>&1 || echo '(not found)') (install gcc, or set CC)"; \
	fi

# Every fuzz target for FUZZTIME each (go test -fuzz takes one target at a
# time). Their seed corpora (f.Add and testdata/fuzz/) also run as plain
# tests in `make test`; this explores beyond them. .ci/run runs it short.
FUZZTIME ?= 30s
# Minimising each new input through the whole server can stall a short run
# for tens of seconds; a second is enough to keep the corpus small.
FUZZMINIMIZE ?= 1s
FUZZ_TARGETS = ./server/:FuzzRequests ./server/:FuzzAuthorization ./photo/:FuzzDecode \
	./model/onnx/:FuzzParse ./model/onnx/:FuzzCompile ./model/:FuzzParseWeights
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "$(GO) test -run '^$$' -fuzz '^$$fn\$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	done

bench: models
	$(GO) test -run '^$$' -bench . -cpu 1 ./tensor/gemm/ ./face/
	$(GO) run ./cmd/facerec bench
