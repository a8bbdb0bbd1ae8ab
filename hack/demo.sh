#!/usr/bin/env bash
# `make demo`: the whole job on an embedded default. Brings up the local control plane, starts
# salesforce-sim with the example org file (connected-app creation allowed, a JWT key generated
# here and registered as the integration app's certificate), installs the CRDs, creates the
# example SalesforceOrg (with its key Secret) and SsoConnectedApp, runs the operator, waits for
# Ready and shows the result. `hack/demo.sh down` (or `make demo-down`) stops everything.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LOCAL=${SSO_LOCAL_DIR:-$REPO/.local}
DEMO=$LOCAL/demo
NS=telephony

stop_pid() { # pidfile program
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  if [ -n "$pid" ] && grep -qa -- "$2" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      grep -qa -- "$2" "/proc/$pid/cmdline" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

if [ "${1:-}" = "down" ]; then
  stop_pid "$DEMO/operator.pid" sso-operator
  stop_pid "$DEMO/sim.pid" salesforce-sim
  exit 0
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "local control plane (kube-apiserver + etcd on loopback)"
"$HERE/cluster-up.sh"
export KUBECONFIG=$LOCAL/kubeconfig
K=$LOCAL/bin/kubectl

step "building sso-operator and salesforce-sim"
(cd "$REPO" && cargo build --quiet --workspace --bins)
BIN=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug

# A fresh demo each time: stop what an earlier run left.
"$0" down
mkdir -p "$DEMO"

step "salesforce-sim with deploy/examples/salesforce-sim-org.yaml (creation allowed for the demo)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DEMO/jwt.key" -out "$DEMO/jwt.crt" -days 30 \
  -subj /CN=sso-operator-demo 2>/dev/null
sed -e 's|^    # certificateFile: integration-cert.pem.*|    certificateFile: jwt.crt|' \
    -e 's|^policy: {connectedAppCreationAllowed: false}.*|policy: {connectedAppCreationAllowed: true}|' \
    "$REPO/deploy/examples/salesforce-sim-org.yaml" > "$DEMO/org.yaml"
"$BIN/salesforce-sim" --org-file "$DEMO/org.yaml" --listen 127.0.0.1:0 --self-signed-ca-out "$DEMO/ca.pem" \
  --control > "$DEMO/sim.out" 2> "$DEMO/sim.log" &
echo $! > "$DEMO/sim.pid"
for _ in $(seq 1 100); do [ -s "$DEMO/sim.out" ] && break; sleep 0.1; done
SIM=$(sed -n 's/^listening on //p' "$DEMO/sim.out")
[ -n "$SIM" ] || { echo "salesforce-sim did not start:"; cat "$DEMO/sim.log"; exit 1; }
PORT=${SIM##*:}
echo "simulated org at $SIM (believes it is https://acme.my.salesforce.com)"

step "CRDs"
"$BIN/sso-operator" crd | "$K" apply --server-side -f - >/dev/null
"$K" wait --for=condition=Established crd/salesforceorgs.sso-operator.dev crd/ssoconnectedapps.sso-operator.dev --timeout=60s

step "namespace $NS: the key Secret, the SalesforceOrg and the SsoConnectedApp (deploy/examples)"
"$K" create namespace "$NS" --dry-run=client -o yaml | "$K" apply -f - >/dev/null
"$K" -n "$NS" create secret generic acme-jwt --from-file=tls.key="$DEMO/jwt.key" --dry-run=client -o yaml \
  | "$K" apply -f - >/dev/null
sed -e "s|instanceUrl: https://acme.my.salesforce.com|instanceUrl: $SIM|" \
    -e "s|url: https://login.salesforce.com|url: $SIM|" \
    -e "s|clientId: 3MVG9EXAMPLEONLYREPLACEWITHYOURCONSUMERKEY|clientId: 3MVG9SIMULATOR|" \
    "$REPO/deploy/examples/salesforceorg.yaml" | "$K" -n "$NS" apply -f -
"$K" -n "$NS" apply -f "$REPO/deploy/examples/ssoconnectedapp.yaml"

step "sso-operator (allow-list widened to the simulator only)"
"$BIN/sso-operator" run --metrics-addr 127.0.0.1:0 --allow-host "localhost:$PORT" \
  --salesforce-ca-file "$DEMO/ca.pem" > "$DEMO/operator.log" 2>&1 &
echo $! > "$DEMO/operator.pid"
"$K" -n "$NS" wait --for=condition=Ready sca/telephony --timeout=60s

step "kubectl get sca,sforg"
"$K" -n "$NS" get sca,sforg
step "ConfigMap telephony-idp: metadata.xml (what the telephony pods mount)"
"$K" -n "$NS" get configmap telephony-idp -o jsonpath='{.data.metadata\.xml}'
echo
step "the app as the simulated org holds it"
curl -fsS --cacert "$DEMO/ca.pem" "$SIM/__sim/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(json.dumps({"identityProvider": s["identityProvider"], "connectedApps": {"Telephony_SSO": s["connectedApps"]["Telephony_SSO"]}}, indent=2))'

cat <<TXT

Done. Explore with:
  export KUBECONFIG=$LOCAL/kubeconfig; $K -n $NS describe sca telephony
  operator log: $DEMO/operator.log
Clean up (stops the operator, the simulator and the control plane):
  make demo-down
TXT
