# Included from the top-level Makefile: `make bench` (issue 8).

# Release binaries land here; the driver looks for them in $(BENCH_TARGET_DIR)/release.
BENCH_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: bench
bench: ## benchmark vs local control plane + simulated orgs; writes BENCHMARKS.md (knobs: hack/bench/bench.py)
	@start=$$(date +%s); \
	  CARGO_TARGET_DIR="$(BENCH_TARGET_DIR)" $(CARGO) build --release --workspace --bins; \
	  build=$$(( $$(date +%s) - start )); echo "bench: release build took $${build}s"; \
	  BENCH_BUILD_SECONDS=$$build CARGO_TARGET_DIR="$(BENCH_TARGET_DIR)" python3 hack/bench/bench.py; \
	  echo "bench: make bench took $$(( $$(date +%s) - start ))s"
