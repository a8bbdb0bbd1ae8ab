# GitOps and alerting checks (included from the Makefile). Their Go tools are pinned by the modules
# in hack/health-check and hack/promtool and built once into ~/.cache/sso-operator/tools
# (hack/go-tool.sh).

.PHONY: argocd-cm argocd-health rule-tests

argocd-cm: ## regenerate deploy/argocd/argocd-cm-patch.yaml from deploy/argocd/*.lua
	@hack/argocd-cm.py

argocd-health: ## the Argo CD health checks (gopher-lua) and Flux's kstatus on recorded objects agree with docs/argocd-health.md
	@tool=$$(hack/go-tool.sh health-check) && "$$tool" -argocd-cm deploy/argocd/argocd-cm-patch.yaml \
	  -lua-dir deploy/argocd -cases hack/health-check/testdata/cases.yaml

rule-tests: ## promtool check + test rules on the chart's PrometheusRule (hack/promtool/rules-test.yaml)
	@hack/rule-tests.sh
