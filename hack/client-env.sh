#!/usr/bin/env bash
# Builds (once) the third-party Metadata API clients the simulator's client tests run unchanged
# (salesforce-sim/tests/api/clients.rs): a Python venv with simple-salesforce (pinned in
# salesforce-sim/tests/clients/requirements.txt, from PyPI) and node_modules with jsforce (pinned
# in salesforce-sim/tests/clients/package.json, from npm; 3.9.5 runs on Node 20, while
# jsforce 3.10.26 declares node >= 22). Both live outside the repository, in
# ${XDG_CACHE_HOME:-~/.cache}/sso-operator/client-env/<hash of the pins and tool versions>/, so a
# changed pin gets a new one; concurrent callers wait on a lock. Prints two lines:
#   python=<path of the venv's python>
#   node_path=<the node_modules directory, for NODE_PATH>
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/salesforce-sim/tests/clients"
python="${CLIENT_PYTHON:-python3}"

version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
key="$( { cat "$dir/requirements.txt" "$dir/package.json"; echo "python $version"; node --version; } | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sso-operator/client-env"
env="$cache/$key"
mkdir -p "$cache"

build() {
  if [ -f "$env/.complete" ]; then
    return 0
  fi
  rm -rf "$env"
  mkdir -p "$env/js"
  echo "client-env: building $env (simple-salesforce, jsforce; once)" >&2
  "$python" -m venv "$env/venv" >&2
  "$env/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$dir/requirements.txt" >&2
  "$env/venv/bin/python" -c 'import simple_salesforce' >&2
  cp "$dir/package.json" "$env/js/"
  (cd "$env/js" && npm install --silent --no-audit --no-fund --omit=dev) >&2
  node -e "require('$env/js/node_modules/jsforce')" >&2
  touch "$env/.complete"
}

if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.lock"
  flock 9
fi
build
echo "python=$env/venv/bin/python"
echo "node_path=$env/js/node_modules"
