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
# The rule groups are the PrometheusRule's `spec`, its last key: the lines after `spec:`, two
# spaces less indented (promtool check rules below refuses anything else).
sed -n '/^spec:$/,$p' "$tmp/prometheusrule.yaml" | sed -e 1d -e 's/^  //' > "$tmp/rules.yaml"
grep -q '^groups:$' "$tmp/rules.yaml" || { echo "rule-tests: no spec.groups in the rendered PrometheusRule" >&2; exit 1; }
cp hack/promtool/rules-test.yaml "$tmp/"
"$PROMTOOL" check rules "$tmp/rules.yaml"
"$PROMTOOL" test rules "$tmp/rules-test.yaml"
