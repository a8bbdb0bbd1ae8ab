#!/usr/bin/env bash
# Stops the kube-apiserver and etcd started by cluster-up.sh (by PID: SIGTERM, then SIGKILL after
# a bounded wait) and removes their data. Idempotent: nothing running is a success.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LOCAL=${SSO_LOCAL_DIR:-$REPO/.local}
[ -d "$LOCAL" ] || exit 0
LOCAL=$(cd "$LOCAL" && pwd)
CL=$LOCAL/cluster

exec 9>"$LOCAL/.cluster.lock"
flock 9

# Stop one process by its PID file, only if that PID still runs the expected program.
stop() { # pidfile name
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  grep -qa -- "$2" "/proc/$pid/cmdline" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do   # 10 s
    grep -qa -- "$2" "/proc/$pid/cmdline" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "cluster-down: $2 (pid $pid) ignored SIGTERM for 10s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# The watchdog runs this script itself: never stop our own parent.
if [ "$(cat "$CL/watchdog.pid" 2>/dev/null)" != "$PPID" ]; then
  stop "$CL/watchdog.pid" sso-cluster-watchdog
fi
stop "$CL/apiserver.pid" kube-apiserver
stop "$CL/etcd.pid" etcd
rm -rf "$CL"
rm -f "$LOCAL/kubeconfig" "$LOCAL/operator-sa.kubeconfig"
echo "cluster-down: stopped ($LOCAL)" >&2
