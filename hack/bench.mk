# Included from the top-level Makefile: `make bench` (issues 8 and 21).

# Release binaries land here.
BENCH_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
# The target the image ships (the Dockerfile builds <arch>-unknown-linux-musl).
BENCH_MUSL_TARGET ?= $(shell uname -m)-unknown-linux-musl
# BENCH_COMPARE_GLIBC=1: also bench the glibc build, reported as separate rows.
BENCH_COMPARE_GLIBC ?=

.PHONY: bench bench-deps
bench-deps: ## install what make bench needs when missing (rustup musl target, musl-gcc)
	@rustup target list --installed 2>/dev/null | grep -qx '$(BENCH_MUSL_TARGET)' || { \
	  echo "bench: rustup target add $(BENCH_MUSL_TARGET)"; rustup target add '$(BENCH_MUSL_TARGET)'; }
	@command -v musl-gcc >/dev/null 2>&1 || { \
	  echo "bench: installing musl-tools (musl-gcc)"; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get install -y -qq musl-tools >/dev/null 2>&1 \
	    || { $$sudo apt-get update -qq >/dev/null && $$sudo apt-get install -y -qq musl-tools >/dev/null; } \
	    || { echo "bench: could not install musl-tools with apt-get; install musl-gcc yourself" >&2; exit 1; }; }

bench: bench-deps ## benchmark the shipped (musl) build vs local control plane + simulated orgs; writes BENCHMARKS.md (knobs: hack/bench/bench.py)
	@start=$$(date +%s); \
	  export CARGO_TARGET_DIR="$(BENCH_TARGET_DIR)"; \
	  $(CARGO) build --release --locked -p sso-operator --target '$(BENCH_MUSL_TARGET)' --bin sso-operator || exit 1; \
	  $(CARGO) build --release --locked -p salesforce-sim --bin salesforce-sim || exit 1; \
	  builds="musl=$(BENCH_TARGET_DIR)/$(BENCH_MUSL_TARGET)/release/sso-operator"; \
	  if [ -n "$(filter-out 0 false no,$(BENCH_COMPARE_GLIBC))" ]; then \
	    $(CARGO) build --release --locked -p sso-operator --bin sso-operator || exit 1; \
	    builds="$$builds glibc=$(BENCH_TARGET_DIR)/release/sso-operator"; \
	  fi; \
	  build=$$(( $$(date +%s) - start )); echo "bench: release build took $${build}s"; \
	  status=0; BENCH_BUILD_SECONDS=$$build BENCH_BUILDS="$$builds" \
	    BENCH_SIM_BIN="$(BENCH_TARGET_DIR)/release/salesforce-sim" python3 hack/bench/bench.py || status=$$?; \
	  echo "bench: make bench took $$(( $$(date +%s) - start ))s"; exit $$status
