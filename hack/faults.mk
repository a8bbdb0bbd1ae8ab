# Fault suite (included from the Makefile).

.PHONY: test-faults soak

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

# The randomized multi-team fault soak (tests/faults/soak/, #[ignore]d so neither `make test`
# nor `make test-faults` runs it). It starts a private control plane of its own (it restarts the
# API server), so no cluster-up. SOAK_DURATION (default 10m) bounds it; SOAK_SEED replays a run
# (the seed is printed at the start and in every failure).
SOAK_DURATION ?= 10m
soak: ## randomized soak: teams' apps changed at random under Salesforce faults, replica kills, API-server restarts (SOAK_DURATION=10m, SOAK_SEED)
	$(CARGO) clippy --test faults -- -D warnings
	SOAK_DURATION=$(SOAK_DURATION) $(if $(SOAK_SEED),SOAK_SEED=$(SOAK_SEED)) \
	  $(CARGO) test --test faults soak::k8s_soak -- --ignored --nocapture --test-threads=1
