#!/usr/bin/env bash
# Unit tests of the chart's alert rules: renders charts/sso-operator/templates/prometheusrule.yaml
# with the default values (prometheusRule.enabled=true), takes its rule groups out of the
# PrometheusRule, then runs `promtool check rules` and `promtool test rules` on
# hack/promtool/rules-test.yaml. promtool is built once from the Prometheus Go module pinned in
# hack/promtool/go.mod (hack/go-tool.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
HELM=$(hack/helm.sh)
PROMTOOL=$(hack/go-tool.sh promtool)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$HELM" template sso-operator charts/sso-operator --namespace sso-operator-system \
  --set prometheusRule.enabled=true --show-only templates/prometheusrule.yaml > "$tmp/prometheusrule.yaml"
python3 - "$tmp/prometheusrule.yaml" "$tmp/rules.yaml" <<'PY'
import sys, yaml
rule = yaml.safe_load(open(sys.argv[1]))
assert rule["kind"] == "PrometheusRule", rule["kind"]
yaml.safe_dump({"groups": rule["spec"]["groups"]}, open(sys.argv[2], "w"), sort_keys=False)
PY
cp hack/promtool/rules-test.yaml "$tmp/"
"$PROMTOOL" check rules "$tmp/rules.yaml"
"$PROMTOOL" test rules "$tmp/rules-test.yaml"
