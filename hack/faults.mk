# Fault suite (included from the Makefile).

.PHONY: test-faults

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
