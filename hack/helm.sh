#!/usr/bin/env bash
# Prints the path of a helm to use: $SSO_HELM, else $SSO_BIN_DIR/helm, else .local/bin/helm, else the
# pinned tool cache, else whatever hack/k8s-bins.sh provides (which unpacks it once).
set -euo pipefail
cd "$(dirname "$0")/.."
for c in "${SSO_HELM:-}" "${SSO_BIN_DIR:+$SSO_BIN_DIR/helm}" .local/bin/helm \
         "$HOME/.cache/sso-operator/k8s-v1.34.4-etcd-v3.6.16/helm"; do
  if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; exit 0; fi
done
echo "$(hack/k8s-bins.sh)/helm"
