#!/usr/bin/env bash
# Supply-chain checks: `deny` (cargo-deny: licenses, bans, sources, advisories) and `audit`
# (cargo-audit), both against one RustSec advisory database.
#
# ADVISORY_DB: a git bundle or clone of github.com/rustsec/advisory-db to check against offline
# (CI points it at the snapshot in ../shared/vendor). Unset: the live database, fetched from
# GitHub; where GitHub cannot be reached the advisory checks are skipped with a loud line, the
# other checks still run.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?usage: hack/supply-chain.sh deny|audit}
work="${CARGO_TARGET_DIR:-target}/advisory-db"

say() { echo "supply-chain: $*" >&2; }
skip() {
  say "ADVISORIES SKIPPED ($what): the RustSec advisory database cannot be fetched from here and ADVISORY_DB is not set;"
  say "run 'make $what ADVISORY_DB=<advisory-db clone or bundle>' or where github.com is reachable"
}

# Whether the live database can be fetched.
online() { timeout 20 git ls-remote --quiet https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; }

# A fresh clone of $ADVISORY_DB at $1 (cheap: a local clone).
clone_db() {
  rm -rf "$1"
  mkdir -p "$(dirname "$1")"
  git clone --quiet "$ADVISORY_DB" "$1"
  say "advisory database $ADVISORY_DB: $(git -C "$1" log -1 --format='%h %cs %s')"
}

deny() {
  cargo deny --workspace check --hide-inclusion-graph licenses bans sources
  if [ -n "${ADVISORY_DB:-}" ]; then
    # cargo-deny reads a database from <db-path>/<name derived from its URL>; for the default URL
    # (github.com/rustsec/advisory-db) that name is advisory-db-3157b0e258782691.
    clone_db "$work/deny/advisory-db-3157b0e258782691"
    local cfg="$work/deny.toml"
    sed "s|^\[advisories\]|[advisories]\ndb-path = \"$(cd "$work/deny" && pwd)\"|" deny.toml > "$cfg"
    cargo deny --workspace --offline --config "$cfg" check --hide-inclusion-graph advisories
  elif online; then
    cargo deny --workspace check --hide-inclusion-graph advisories
  else
    skip
  fi
}

audit() {
  if [ -n "${ADVISORY_DB:-}" ]; then
    clone_db "$work/audit"
    cargo audit --db "$work/audit" --no-fetch --deny warnings
  elif online; then
    cargo audit --deny warnings
  else
    skip
  fi
}

case "$what" in
  deny) deny ;;
  audit) audit ;;
  *) echo "usage: hack/supply-chain.sh deny|audit" >&2; exit 2 ;;
esac
