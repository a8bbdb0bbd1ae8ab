#!/usr/bin/env bash
# Builds (once) the Python venv of the test SAML service provider (salesforce-sim/tests/sp/sp.py:
# pysaml2 from PyPI, pinned in salesforce-sim/tests/sp/requirements.txt) and prints the path of
# its python on stdout. The venv lives outside the repository, in
# ${XDG_CACHE_HOME:-~/.cache}/sso-operator/sp-venv/<hash of requirements and python version>/,
# so a changed requirements file or python gets a new one; concurrent callers wait on a lock.
# Also checks for xmlsec1 (pysaml2 runs it), and installs it with apt-get when it can.
#
#   hack/sp-venv.sh            # -> /root/.cache/sso-operator/sp-venv/3f2a.../bin/python
#   SP_PYTHON=python3.12 hack/sp-venv.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/salesforce-sim/tests/sp/requirements.txt"
python="${SP_PYTHON:-python3}"

if ! command -v xmlsec1 >/dev/null 2>&1; then
  echo "sp-venv: installing xmlsec1 (Debian package xmlsec1)" >&2
  { apt-get install -y -qq xmlsec1 || { apt-get update -qq && apt-get install -y -qq xmlsec1; }; } >&2 \
    || { echo "sp-venv: xmlsec1 is missing and could not be installed (apt-get install xmlsec1)" >&2; exit 1; }
fi

version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
key="$( { cat "$req"; echo "python $version"; } | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sso-operator/sp-venv"
venv="$cache/$key"
mkdir -p "$cache"

build() {
  if [ -f "$venv/.complete" ]; then
    return 0
  fi
  rm -rf "$venv"
  echo "sp-venv: building $venv (pysaml2, once)" >&2
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req" >&2
  "$venv/bin/python" -c 'import saml2.client' >&2
  touch "$venv/.complete"
}

if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.lock"
  flock 9
fi
build
echo "$venv/bin/python"
