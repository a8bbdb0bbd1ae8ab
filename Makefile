# sso-operator: build, CRDs, local control plane and tests. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# Directory of the local control plane (kubeconfig, kubectl wrapper, PIDs, data).
export SSO_LOCAL_DIR ?= $(CURDIR)/.local
# Integration tests mostly wait on the API server, each in its own namespace: some parallelism pays
# off even on 2 cores. Override with `make test TEST_THREADS=1`.
TEST_THREADS ?= 4

.PHONY: help build crds cluster-up cluster-down lint test test-unit deps demo demo-down bench

include hack/manifests.mk
include hack/faults.mk
include hack/supply-chain.mk
include hack/bench.mk
include hack/gitops.mk

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build the operator and the simulator (the workspace's binaries)
	$(CARGO) build --workspace --bins

crds: ## regenerate crds/ (and the chart's copy) from `sso-operator crd`
	@mkdir -p crds
	$(CARGO) run --quiet --bin sso-operator -- crd > crds/sso-operator.dev_crds.yaml.tmp
	@mv crds/sso-operator.dev_crds.yaml.tmp crds/sso-operator.dev_crds.yaml
	@cp crds/sso-operator.dev_crds.yaml charts/sso-operator/crds/sso-operator.dev_crds.yaml
	@echo "wrote crds/sso-operator.dev_crds.yaml and its copy in charts/sso-operator/crds/"

cluster-up: ## start etcd + kube-apiserver on loopback; kubeconfig in $(SSO_LOCAL_DIR)/kubeconfig
	@hack/cluster-up.sh

cluster-down: ## stop the local control plane (and the demo's processes) and remove its data
	@hack/demo.sh down
	@hack/cluster-down.sh

demo: ## the whole job locally: control plane + simulator + operator, a Ready External Client App, its ConfigMap, a sign-in
	@hack/demo.sh

demo-down: ## stop the demo's operator and simulator, and the control plane
	@$(MAKE) --no-print-directory cluster-down

lint: ## rustfmt check, clippy with warnings as errors (workspace), no import cycle between files (both crates)
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	python3 hack/import-cycles.py src salesforce-sim/src

test-unit: ## tests that need no cluster (skips tests named k8s_*), over the workspace
	$(CARGO) test --workspace --all-targets -- --skip k8s_

test: deps lint deny audit argocd-health rule-tests ## prerequisites (installed when missing), lint, supply chain, health checks, alert rules, then every test against a local control plane
	@status=0; \
	  $(MAKE) --no-print-directory cluster-up || status=$$?; \
	  if [ $$status -eq 0 ]; then \
	    SSO_REQUIRE_HELM=1 KUBECONFIG="$(SSO_LOCAL_DIR)/kubeconfig" $(CARGO) test --workspace --all-targets -- --test-threads=$(TEST_THREADS) \
	      || status=$$?; \
	  fi; \
	  $(MAKE) --no-print-directory cluster-down || true; \
	  exit $$status

deps: ## install what the tests need when missing (xmllint, cargo-deny, cargo-audit); check python3, pip, go, npm
	@if ! command -v xmllint >/dev/null 2>&1; then \
	  echo "deps: installing libxml2-utils (xmllint)"; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get install -y -qq libxml2-utils >/dev/null 2>&1 \
	    || { $$sudo apt-get update -qq >/dev/null && $$sudo apt-get install -y -qq libxml2-utils >/dev/null; } \
	    || { echo "deps: could not install xmllint with apt-get; install libxml2-utils (Debian/Ubuntu) or libxml2 yourself" >&2; exit 1; }; \
	fi
	@for t in python3 go npm openssl curl flock; do \
	  command -v $$t >/dev/null 2>&1 || { echo "deps: $$t is missing" >&2; exit 1; }; \
	done
	@python3 -m pip --version >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 \
	  || { echo "deps: pip is missing (python3 -m ensurepip)" >&2; exit 1; }
	@for tool in cargo-deny cargo-audit; do \
	  command -v $$tool >/dev/null 2>&1 || { \
	    echo "deps: installing $$tool (cargo install --locked; several minutes, once)"; \
	    $(CARGO) install --locked $$tool; } || exit 1; \
	done
