#!/usr/bin/env bash
# Proves, without a Docker engine, that the binary the Dockerfile builds runs on
# gcr.io/distroless/static-debian12 (which has no libc and no dynamic loader): builds the release
# binary for the same target and checks that it is statically linked, has no ELF interpreter and no
# NEEDED libraries, and runs.
#
# Needs: rustup target add <this machine's arch>-unknown-linux-musl; apt-get install musl-tools cmake.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Dockerfile builds the musl target of the platform it runs on; so does this script.
TARGET=$(uname -m)-unknown-linux-musl
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN="$TARGET_DIR/$TARGET/release/sso-operator"

grep -q -- '--target "$(cat /rust-target)" --bin sso-operator' Dockerfile \
  || { echo "FAIL: the Dockerfile does not build the platform's musl target" >&2; exit 1; }
grep -q '^ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:' Dockerfile \
  || { echo "FAIL: the Dockerfile's final stage is not a digest-pinned distroless/static" >&2; exit 1; }
grep -q '^FROM ${RUNTIME_IMAGE}' Dockerfile \
  || { echo "FAIL: the Dockerfile's final stage is not RUNTIME_IMAGE" >&2; exit 1; }

# The operator only (the workspace's other member, the simulator, is for tests).
cargo build --release --locked -p sso-operator --target "$TARGET" --bin sso-operator

fail=0
echo "== file"
file_out=$(file -L "$BIN")
echo "$file_out"
# musl builds are static-pie: `file` says "static-pie linked" (no interpreter, no shared libs).
echo "$file_out" | grep -Eq 'statically linked|static-pie linked' || { echo "FAIL: not statically linked" >&2; fail=1; }

echo "== ldd"
ldd_out=$(ldd "$BIN" 2>&1 || true)
echo "$ldd_out"
echo "$ldd_out" | grep -Eq 'not a dynamic executable|statically linked' || { echo "FAIL: ldd sees dynamic dependencies" >&2; fail=1; }

echo "== readelf: program interpreter and NEEDED"
if readelf -lW "$BIN" | grep -q 'INTERP'; then
  echo "FAIL: has an ELF interpreter: $(readelf -lW "$BIN" | grep -A1 INTERP | tail -1)" >&2; fail=1
else
  echo "no INTERP segment"
fi
needed=$(readelf -dW "$BIN" 2>/dev/null | grep NEEDED || true)
if [ -n "$needed" ]; then echo "FAIL: NEEDED libraries:" >&2; echo "$needed" >&2; fail=1; else echo "no NEEDED entries"; fi

echo "== runs with an empty environment, as UID 65532 would see it (no /etc, no libs needed)"
env -i "$BIN" --version
env -i "$BIN" crd > "${TMPDIR:-/tmp}/sso-operator-crd.$$" \
  && echo "crd: $(grep -c '^kind: CustomResourceDefinition' "${TMPDIR:-/tmp}/sso-operator-crd.$$") CRDs printed" \
  && rm -f "${TMPDIR:-/tmp}/sso-operator-crd.$$"

echo "== size"
ls -l "$BIN" | awk '{print $5" bytes"}'

if [ "$fail" -ne 0 ]; then echo "RESULT: NOT static; do not ship it on distroless/static" >&2; exit 1; fi
echo "RESULT: static; on distroless/static it needs only the base image's CA bundle"
echo "        (/etc/ssl/certs/ca-certificates.crt, read by rustls-platform-verifier for Salesforce)"
