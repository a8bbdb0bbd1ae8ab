#!/usr/bin/env bash
# Builds (once) a Go tool pinned by a module under hack/ and prints the binary's path:
#
#   hack/go-tool.sh health-check   # hack/health-check: the Argo CD Lua + kstatus harness
#   hack/go-tool.sh promtool       # hack/promtool: Prometheus's promtool (`promtool test rules`)
#
# The binary goes to a cache folder outside the repo named after a hash of the module's files
# (go.mod, go.sum, *.go), so a change of pin or source builds a new one and an unchanged module is
# never rebuilt. Set SSO_TOOLS_DIR to use another cache folder. Modules come from the Go module
# proxy; go.sum must already list them (-mod=readonly).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: hack/go-tool.sh health-check|promtool}
case "$name" in
  health-check) pkg=. tags= ;;
  # remove_all_sd drops Prometheus's service-discovery plugins (cloud SDKs): promtool's rule tests
  # do not use them and the build takes a third of the time.
  promtool) pkg=github.com/prometheus/prometheus/cmd/promtool tags=remove_all_sd ;;
  *) echo "go-tool: unknown tool $name" >&2; exit 2 ;;
esac
mod="$HERE/$name"
hash=$(cd "$mod" && cat go.mod go.sum $(ls ./*.go 2>/dev/null) | sha256sum | cut -c1-12)
dir="${SSO_TOOLS_DIR:-$HOME/.cache/sso-operator/tools}/$name-$hash"
bin="$dir/$name"
if [ ! -x "$bin" ]; then
  echo "go-tool: building $name (once; promtool takes several minutes on 2 cores)" >&2
  mkdir -p "$dir"
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -tags "$tags" -ldflags "-s -w" \
     -o "$bin.tmp.$$" "$pkg")
  mv "$bin.tmp.$$" "$bin"
fi
echo "$bin"
