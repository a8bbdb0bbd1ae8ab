# Supply-chain checks (included from the Makefile): hack/supply-chain.sh.
#
# ADVISORY_DB: a RustSec advisory database (git bundle or clone) to check against offline; .ci/run
# sets it to the shared snapshot when there is one. Unset: the live database, when GitHub is
# reachable (otherwise the advisory part is skipped with a loud line).

.PHONY: deny audit
export ADVISORY_DB

deny: ## cargo deny check: licenses, bans, sources, advisories (ADVISORY_DB=<bundle or clone> offline)
	@hack/supply-chain.sh deny

audit: ## cargo audit against the same advisory database (unmaintained and yanked crates fail)
	@hack/supply-chain.sh audit
