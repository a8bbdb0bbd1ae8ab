#!/usr/bin/env bash
# Starts etcd and kube-apiserver on free loopback ports (no controller-manager, no kubelet) with
# their own PKI, and writes:
#   $SSO_LOCAL_DIR/kubeconfig               admin (system:masters, static token)
#   $SSO_LOCAL_DIR/operator-sa.kubeconfig   user system:serviceaccount:sso-operator-system:sso-operator
#   $SSO_LOCAL_DIR/bin/kubectl, bin/helm    wrappers around the cached binaries (default: the admin kubeconfig)
#   $SSO_LOCAL_DIR/cluster/                 PIDs, logs, PKI, etcd data (removed by cluster-down.sh)
# SSO_LOCAL_DIR defaults to <repo>/.local. Already up and ready: a no-op. Any failure stops what
# was started and exits non-zero.
#
# Optional:
#   SSO_CLUSTER_TIMEOUT=180        seconds to wait for /readyz
#   SSO_CLUSTER_WATCH_PID=<pid>    run cluster-down.sh once that process is gone (test harnesses)
#   SSO_CLUSTER_EPHEMERAL=1        with the above: also delete SSO_LOCAL_DIR afterwards
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LOCAL=${SSO_LOCAL_DIR:-$REPO/.local}
mkdir -p "$LOCAL"
LOCAL=$(cd "$LOCAL" && pwd)
CL=$LOCAL/cluster
PKI=$CL/pki
TIMEOUT=${SSO_CLUSTER_TIMEOUT:-180}
SA_USER=system:serviceaccount:sso-operator-system:sso-operator
SA_GROUPS=system:serviceaccounts,system:serviceaccounts:sso-operator-system,system:authenticated

log() { echo "cluster-up: $*" >&2; }

# One cluster-up/cluster-down at a time per directory.
exec 9>"$LOCAL/.cluster.lock"
flock 9

alive() { # pidfile name
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && grep -qa -- "$2" "/proc/$pid/cmdline" 2>/dev/null
}

readyz() { # [path]
  curl -fsS --max-time 5 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(cat "$PKI/admin.token")" \
    "https://127.0.0.1:$(cat "$CL/apiserver.port")${1:-/readyz}"
}

if alive "$CL/apiserver.pid" kube-apiserver && alive "$CL/etcd.pid" etcd && readyz >/dev/null 2>&1; then
  log "already up: $(cat "$CL/server")"
  exit 0
fi
if [ -e "$CL" ]; then
  log "stale state in $CL: cleaning up first"
  flock -u 9
  SSO_LOCAL_DIR=$LOCAL "$HERE/cluster-down.sh"
  flock 9
fi

BIN=$("$HERE/k8s-bins.sh")
mkdir -p "$PKI" "$CL/etcd" "$LOCAL/bin"
chmod 700 "$CL" "$PKI"

started=0
fail() {
  log "FAILED: $*"
  if [ -s "$CL/apiserver.port" ] && [ -s "$PKI/admin.token" ]; then
    echo "--- /readyz?verbose" >&2
    curl -sS --max-time 5 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(cat "$PKI/admin.token")" \
      "https://127.0.0.1:$(cat "$CL/apiserver.port")/readyz?verbose" >&2 || true
  fi
  for f in etcd apiserver; do
    [ -f "$CL/$f.log" ] && { echo "--- tail $CL/$f.log" >&2; tail -n 40 "$CL/$f.log" >&2; }
  done
  if [ "$started" = 1 ]; then
    flock -u 9
    SSO_LOCAL_DIR=$LOCAL "$HERE/cluster-down.sh" >&2 || true
  fi
  exit 1
}

freeport() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# --- PKI: CA, serving cert (IP SAN 127.0.0.1, DNS localhost), SA signing key, static tokens
ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1"; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 30 \
  -subj /CN=sso-operator-test-ca -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey rsa:2048 -nodes -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" -subj /CN=kube-apiserver
printf '%s\n' \
  'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc' \
  'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE' >"$PKI/san.ext"
ossl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
  -out "$PKI/apiserver.crt" -days 30 -extfile "$PKI/san.ext"
ossl genrsa -out "$PKI/sa.key" 2048
ossl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
openssl rand -hex 24 >"$PKI/admin.token"
openssl rand -hex 24 >"$PKI/operator-sa.token"
{
  echo "$(cat "$PKI/admin.token"),sso-test-admin,sso-test-admin-uid,\"system:masters,system:authenticated\""
  echo "$(cat "$PKI/operator-sa.token"),$SA_USER,sso-operator-sa-uid,\"$SA_GROUPS\""
} >"$PKI/tokens.csv"
chmod 600 "$PKI"/*.key "$PKI"/*.token "$PKI/tokens.csv"

# --- etcd
ETCD_PORT=$(freeport); PEER_PORT=$(freeport); API_PORT=$(freeport)
echo "$API_PORT" >"$CL/apiserver.port"
echo "$ETCD_PORT" >"$CL/etcd.port"
started=1
setsid "$BIN/etcd" --name=sso-test --data-dir="$CL/etcd/data" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$PEER_PORT" \
  --initial-cluster="sso-test=http://127.0.0.1:$PEER_PORT" \
  --unsafe-no-fsync --log-level=warn </dev/null >"$CL/etcd.log" 2>&1 9>&- &
echo $! >"$CL/etcd.pid"

deadline=$((SECONDS + 60))
until curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; do
  alive "$CL/etcd.pid" etcd || fail "etcd exited"
  [ $SECONDS -lt $deadline ] || fail "etcd not healthy after 60s"
  sleep 0.2
done

# --- kube-apiserver (its arguments are recorded so hack/apiserver.sh can restart it alike)
APISERVER_ARGS=(
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --token-auth-file="$PKI/tokens.csv" \
  --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --disable-admission-plugins=ServiceAccount --allow-privileged=true \
  --endpoint-reconciler-type=none \
  --profiling=false \
  --v=1
)
printf '%s\n' "$BIN/kube-apiserver" "${APISERVER_ARGS[@]}" >"$CL/apiserver.cmd"
setsid "$BIN/kube-apiserver" "${APISERVER_ARGS[@]}" </dev/null >"$CL/apiserver.log" 2>&1 9>&- &
echo $! >"$CL/apiserver.pid"

deadline=$((SECONDS + TIMEOUT))
until readyz >/dev/null 2>&1; do
  alive "$CL/apiserver.pid" kube-apiserver || fail "kube-apiserver exited"
  [ $SECONDS -lt $deadline ] || fail "kube-apiserver not ready after ${TIMEOUT}s"
  sleep 0.5
done
SERVER="https://127.0.0.1:$API_PORT"
echo "$SERVER" >"$CL/server"

# --- kubeconfigs (CA embedded, so they can be copied) and tool wrappers
kubeconfig() { # file user token namespace
  umask 077
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sso-test
  cluster:
    server: $SERVER
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $2
  user:
    token: $3
contexts:
- name: $2
  context: {cluster: sso-test, user: $2, namespace: $4}
current-context: $2
EOF
}
kubeconfig "$LOCAL/kubeconfig" admin "$(cat "$PKI/admin.token")" default
kubeconfig "$LOCAL/operator-sa.kubeconfig" sso-operator "$(cat "$PKI/operator-sa.token")" sso-operator-system

for tool in kubectl helm; do
  cat >"$LOCAL/bin/$tool.tmp" <<EOF
#!/usr/bin/env bash
# $tool from the pinned cache; uses the local test cluster unless KUBECONFIG is set.
export KUBECONFIG="\${KUBECONFIG:-$LOCAL/kubeconfig}"
exec "$BIN/$tool" "\$@"
EOF
  chmod 755 "$LOCAL/bin/$tool.tmp"
  mv "$LOCAL/bin/$tool.tmp" "$LOCAL/bin/$tool"
done

# The bootstrap controller creates `default` shortly after /readyz.
deadline=$((SECONDS + 60))
until KUBECONFIG="$LOCAL/kubeconfig" "$BIN/kubectl" get namespace default >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || fail "namespace default not there after 60s"
  sleep 0.5
done

if [ -n "${SSO_CLUSTER_WATCH_PID:-}" ]; then
  # Tear down when the watched process (e.g. a test binary) exits, however it exits.
  setsid bash -c '
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    SSO_LOCAL_DIR="$2" "$3/cluster-down.sh" >/dev/null 2>&1
    if [ "${4:-}" = 1 ]; then rm -rf "$2"; fi
  ' sso-cluster-watchdog "$SSO_CLUSTER_WATCH_PID" "$LOCAL" "$HERE" "${SSO_CLUSTER_EPHEMERAL:-}" \
    </dev/null >/dev/null 2>&1 9>&- &
  echo $! >"$CL/watchdog.pid"
fi

log "up: $SERVER (kubeconfig $LOCAL/kubeconfig, kubectl $LOCAL/bin/kubectl)"
