# Fault suite and supply-chain checks (included from the Makefile).

.PHONY: test-faults deny

# Not part of `make test` (Cargo.toml: test = false), so linted here too. One binary
# (tests/faults/): Salesforce and operator faults run on the shared control plane (each test in
# its own namespace); the API-server test (tests/faults/apiserver.rs) starts a private one of its
# own, because it stops and restarts it.
test-faults: ## the fault suite: Salesforce faults, SIGKILL/SIGTERM, quota, API-server restart (~3 min)
	$(CARGO) clippy --test faults -- -D warnings
	@start=$$SECONDS; status=0; \
	  $(MAKE) --no-print-directory cluster-up || status=$$?; \
	  if [ $$status -eq 0 ]; then \
	    KUBECONFIG="$(SSO_LOCAL_DIR)/kubeconfig" $(CARGO) test --test faults \
	      -- --test-threads=$(TEST_THREADS) || status=$$?; \
	  fi; \
	  $(MAKE) --no-print-directory cluster-down || true; \
	  echo "test-faults: $$((SECONDS - start))s (exit $$status)"; \
	  exit $$status

# cargo-deny: licenses, bans and sources always (they read Cargo.lock and the crates.io registry,
# which is reachable); advisories only when the RustSec database can be fetched (it lives on GitHub).
deny: ## cargo deny check: licenses, bans, sources; advisories when the RustSec DB is reachable
	@command -v cargo-deny >/dev/null 2>&1 || { echo "deny: cargo-deny missing; run make deps" >&2; exit 1; }
	$(CARGO) deny check --hide-inclusion-graph licenses bans sources
	@if $(CARGO) deny fetch db >/dev/null 2>&1; then \
	  $(CARGO) deny check advisories; \
	else \
	  echo "deny: ADVISORIES SKIPPED: the RustSec advisory database (github.com/rustsec/advisory-db) cannot be fetched from here (no network to GitHub); run 'cargo deny check advisories' where it can" >&2; \
	fi
