#!/usr/bin/env bash
# `make demo`: the whole job on an embedded default, the post-Spring '26 path. Brings up the local
# control plane, starts salesforce-sim with the example org file (connected-app creation BLOCKED,
# as in every org since Spring '26; a JWT key generated here and registered as the integration
# app's certificate), installs the CRDs, creates the example SalesforceOrg (with its key Secret),
# the External Client App example (the demo's app) and the connected-app example (which shows
# ConnectedAppCreationBlocked and its remedy), runs the operator, waits, and shows the result. It
# ends with a sign-in: an agent of the simulated org signs in to a small SAML service provider
# (pysaml2, salesforce-sim/tests/sp/sp.py; venv built once by hack/sp-venv.sh) configured only
# from the app's ConfigMap as a pod would mount it, and the demo prints the accepted NameID and
# attributes. `hack/demo.sh down` (or `make demo-down`) stops everything.
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

step "salesforce-sim with deploy/examples/salesforce-sim-org.yaml (connected-app creation blocked, as since Spring '26)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DEMO/jwt.key" -out "$DEMO/jwt.crt" -days 30 \
  -subj /CN=sso-operator-demo 2>/dev/null
sed -e 's|^    # certificateFile: integration-cert.pem.*|    certificateFile: jwt.crt|' \
    "$REPO/deploy/examples/salesforce-sim-org.yaml" > "$DEMO/org.yaml"
grep -q '^policy: {connectedAppCreationAllowed: false}' "$DEMO/org.yaml" \
  || { echo "the example org file no longer blocks connected-app creation"; exit 1; }
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

step "namespace $NS: the key Secret, the SalesforceOrg and two SsoConnectedApps (deploy/examples)"
"$K" create namespace "$NS" --dry-run=client -o yaml | "$K" apply -f - >/dev/null
"$K" -n "$NS" create secret generic acme-jwt --from-file=tls.key="$DEMO/jwt.key" --dry-run=client -o yaml \
  | "$K" apply -f - >/dev/null
sed -e "s|instanceUrl: https://acme.my.salesforce.com|instanceUrl: $SIM|" \
    -e "s|url: https://login.salesforce.com|url: $SIM|" \
    -e "s|clientId: 3MVG9EXAMPLEONLYREPLACEWITHYOURCONSUMERKEY|clientId: 3MVG9SIMULATOR|" \
    "$REPO/deploy/examples/salesforceorg.yaml" | "$K" -n "$NS" apply -f -
# The demo's app: an External Client App (what works in an org since Spring '26).
"$K" -n "$NS" apply -f "$REPO/deploy/examples/migrate-to-external-client-app.yaml"
# The connected-app example: its creation is blocked in this org.
"$K" -n "$NS" apply -f "$REPO/deploy/examples/ssoconnectedapp.yaml"

step "sso-operator (allow-list widened to the simulator only)"
"$BIN/sso-operator" run --metrics-addr 127.0.0.1:0 --allow-host "localhost:$PORT" \
  --salesforce-ca-file "$DEMO/ca.pem" > "$DEMO/operator.log" 2>&1 &
echo $! > "$DEMO/operator.pid"
"$K" -n "$NS" wait --for=condition=Ready sca/telephony-eca --timeout=60s
"$K" -n "$NS" wait --for=jsonpath='{.status.conditions[?(@.type=="AppReady")].reason}'=ConnectedAppCreationBlocked \
  sca/telephony --timeout=60s

step "kubectl get sca,sforg"
"$K" -n "$NS" get sca,sforg
step "the connected app (deploy/examples/ssoconnectedapp.yaml): blocked, and the remedy"
"$K" -n "$NS" get sca telephony \
  -o jsonpath='{range .status.conditions[?(@.type=="AppReady")]}AppReady={.status} reason={.reason}{"\n"}{.message}{"\n"}{end}'
"$K" -n "$NS" get events --field-selector involvedObject.name=telephony,reason=ConnectedAppCreationBlocked \
  -o jsonpath='{range .items[-1:]}Event {.type} {.reason}: {.message}{"\n"}{end}'
step "ConfigMap telephony-eca-idp: metadata.xml (what the telephony pods mount)"
"$K" -n "$NS" get configmap telephony-eca-idp -o jsonpath='{.data.metadata\.xml}'
echo
step "the External Client App as the simulated org holds it"
curl -fsS --cacert "$DEMO/ca.pem" "$SIM/__sim/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(json.dumps({"identityProvider": s["identityProvider"],
                  "externalClientApps": {"Telephony_SSO_ECA": s["externalClientApps"]["Telephony_SSO_ECA"]},
                  "connectedApps": sorted(s["connectedApps"])}, indent=2))'

step "sign-in: agent1@acme.com signs in to a SAML service provider configured from the ConfigMap"
# The ConfigMap as a volume mount gives it to a pod: one file per key (no kubelet here).
MNT=$DEMO/mnt/telephony-eca-idp
rm -rf "$MNT" && mkdir -p "$MNT"
"$K" -n "$NS" get configmap telephony-eca-idp -o json | python3 -c '
import json, os, sys
for key, value in json.load(sys.stdin)["data"].items():
    with open(os.path.join(sys.argv[1], key), "w") as f:
        f.write(value)
print("mounted:", " ".join(sorted(os.listdir(sys.argv[1]))))' "$MNT"
SP_PYTHON=$("$HERE/sp-venv.sh")
# The SP (the telephony vendor's side): pysaml2 given only $MNT/metadata.xml, its own entity id and
# ACS URL (those of the example). SP-initiated: it sends an AuthnRequest by HTTP-Redirect to the
# metadata's SSO URL (My Domain, here the simulator), the org answers with its auto-post form, the
# SP checks the signed response.
python3 - "$SP_PYTHON" "$REPO/salesforce-sim/tests/sp/sp.py" "$MNT/metadata.xml" "$SIM" "$DEMO/ca.pem" <<'PY'
import json, subprocess, sys
python, sp, metadata, sim, ca = sys.argv[1:]
request = {
    "op": "signin", "flow": "redirect", "relayState": "/agent-desktop",
    "idpBaseUrl": sim, "caFile": ca, "username": "agent1@acme.com", "idpMetadata": metadata,
    "sp": {"entityId": "https://sso.vendor.example/sp", "acsUrl": "https://sso.vendor.example/saml/acs"},
}
out = subprocess.run([python, sp], input=json.dumps(request) + "\n", capture_output=True, text=True)
v = json.loads(out.stdout.splitlines()[0]) if out.stdout else {"ok": False, "error": out.stderr}
if not v.get("ok"):
    print("REFUSED:", v.get("reason"), v.get("error") or v.get("page", "")[:500])
    sys.exit(1)
print("accepted by pysaml2 (signature checked with the ConfigMap's key only)")
print("  NameID:     ", v["nameId"], "(" + v["nameIdFormat"] + ")")
print("  issuer:     ", v["issuer"])
print("  audience:   ", ", ".join(v["audience"]))
print("  RelayState: ", v["relayState"])
print("  attributes:")
for name, values in sorted(v["attributes"].items()):
    print(f"    {name}: {', '.join(values)}")
PY

cat <<TXT

Done. Explore with:
  export KUBECONFIG=$LOCAL/kubeconfig; $K -n $NS describe sca telephony-eca telephony
  operator log: $DEMO/operator.log
Clean up (stops the operator, the simulator and the control plane):
  make demo-down
TXT
