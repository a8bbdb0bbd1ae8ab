#!/usr/bin/env bash
# Stops or restarts only the kube-apiserver of a control plane started by cluster-up.sh, leaving
# etcd and its data alone: `stop` (SIGTERM, SIGKILL after 10 s), `start` (same binary, flags and
# port as cluster-up.sh recorded in cluster/apiserver.cmd; waits for /readyz), `compact` (compacts
# etcd at its current revision, so every older resourceVersion is gone: watches resumed from one
# get 410 Gone). For fault tests; SSO_LOCAL_DIR selects the control plane as for cluster-up.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LOCAL=${SSO_LOCAL_DIR:-$REPO/.local}
LOCAL=$(cd "$LOCAL" && pwd)
CL=$LOCAL/cluster
PKI=$CL/pki
TIMEOUT=${SSO_CLUSTER_TIMEOUT:-180}

log() { echo "apiserver.sh: $*" >&2; }
[ -s "$CL/apiserver.cmd" ] || { log "no $CL/apiserver.cmd (start the cluster with hack/cluster-up.sh)"; exit 1; }

running() {
  local pid
  pid=$(cat "$CL/apiserver.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && grep -qa -- kube-apiserver "/proc/$pid/cmdline" 2>/dev/null
}

readyz() {
  curl -fsS --max-time 5 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(cat "$PKI/admin.token")" \
    "https://127.0.0.1:$(cat "$CL/apiserver.port")/readyz" >/dev/null 2>&1
}

case "${1:-}" in
  stop)
    running || { log "not running"; exit 0; }
    pid=$(cat "$CL/apiserver.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      grep -qa -- kube-apiserver "/proc/$pid/cmdline" 2>/dev/null || { log "stopped (pid $pid)"; exit 0; }
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    log "killed (pid $pid)"
    ;;
  start)
    if running; then log "already running"; exit 0; fi
    mapfile -t cmd <"$CL/apiserver.cmd"
    setsid "${cmd[@]}" </dev/null >>"$CL/apiserver.log" 2>&1 &
    echo $! >"$CL/apiserver.pid"
    deadline=$((SECONDS + TIMEOUT))
    until readyz; do
      running || { log "kube-apiserver exited"; tail -n 30 "$CL/apiserver.log" >&2; exit 1; }
      [ $SECONDS -lt $deadline ] || { log "not ready after ${TIMEOUT}s"; exit 1; }
      sleep 0.2
    done
    log "ready again on port $(cat "$CL/apiserver.port")"
    ;;
  compact)
    etcd="http://127.0.0.1:$(cat "$CL/etcd.port")"
    rev=$(curl -fsS --max-time 5 -X POST "$etcd/v3/kv/range" -d '{"key":"AA=="}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
    curl -fsS --max-time 30 -X POST "$etcd/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
    log "etcd compacted at revision $rev"
    echo "$rev"
    ;;
  *)
    echo "usage: $0 stop|start|compact" >&2
    exit 2
    ;;
esac
