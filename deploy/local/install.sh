#!/usr/bin/env bash
# Installs what the local default and the tests need and the machine lacks:
# nats-server, redis-server and sqlite3 (Debian packages) and FerretDB v1.24.2 (built with Go). sqlite3 adds
# to FerretDB's SQLite files the `_id` index its lookups can use (libs/testing/src/ferret-indexes.ts).
# Idempotent: anything already present is left alone.
set -euo pipefail

FERRETDB_VERSION="v1.24.2"
GOBIN_DIR="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

log() { printf '[install] %s\n' "$*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else "$@"; fi
}

missing_pkgs=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing_pkgs+=(nats-server)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing_pkgs+=(redis-server)
command -v sqlite3 >/dev/null 2>&1 || [ -x /usr/bin/sqlite3 ] || missing_pkgs+=(sqlite3)
if [ "${#missing_pkgs[@]}" -gt 0 ]; then
  log "installing ${missing_pkgs[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  sudo_if_needed apt-get update -qq
  sudo_if_needed apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
fi

ferretdb_ok() {
  local bin="$1"
  # Read the whole output before matching: `grep -q` stops reading at the first match, and under pipefail the
  # binary's SIGPIPE would fail the check.
  [ -x "$bin" ] || return 1
  local version
  version="$("$bin" --version 2>/dev/null || true)"
  [[ "$version" == *"version: ${FERRETDB_VERSION}"* ]]
}

if ferretdb_ok "$(command -v ferretdb 2>/dev/null || true)" || ferretdb_ok "$GOBIN_DIR/ferretdb"; then
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || { log "Go is required to build FerretDB (apt-get install golang-go)"; exit 1; }

log "building FerretDB ${FERRETDB_VERSION} (takes a few minutes the first time)"
mkdir -p "$GOBIN_DIR"
# The plain `go install …@version` needs the module proxy's version list and leaves FerretDB without its
# version file (it panics at start), so build it from a small wrapper module instead: fetch the exact
# version, copy it writable, add build/version/version.txt, and build the command through a replace.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/go.mod" <<MOD
module kbinstall/ferretdb

go 1.24

require github.com/FerretDB/FerretDB ${FERRETDB_VERSION}
MOD
(cd "$work" && GOFLAGS=-mod=mod go mod download github.com/FerretDB/FerretDB)
src="$(cd "$work" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)"
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
echo "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
echo 'replace github.com/FerretDB/FerretDB => ./src' >>"$work/go.mod"
build() { (cd "$work" && GOFLAGS=-mod=mod "$@" go build -o "$GOBIN_DIR/ferretdb" github.com/FerretDB/FerretDB/cmd/ferretdb); }
if ! build env; then
  log "the machine's Go could not build FerretDB; retrying with go1.24.3"
  build env GOTOOLCHAIN=go1.24.3
fi
ferretdb_ok "$GOBIN_DIR/ferretdb" || { log "FerretDB build did not produce a working binary"; exit 1; }
log "FerretDB installed at $GOBIN_DIR/ferretdb"
