#!/usr/bin/env bash
# Install the pinned Pulumi CLI with its Python language host and the Python SDK's shims into a
# cache outside the checkout, and print the path of the `pulumi` binary on the LAST line (other
# tools read that line; progress goes to stderr).
#
#   bash scripts/install-pulumi.sh            # install (or reuse) and print the path
#   PULUMI_INSTALL_FROM=source bash ...       # skip the official installer, build from Go modules
#
# The version is the `github.com/pulumi/pulumi/sdk/v3` requirement of tools/langhost/go.mod: one
# pin for the CLI, the language host and the shims (see the README for why it may be newer than
# the `pulumi` Python SDK in requirements.txt). Where Pulumi's download site answers, its official
# installer is used. Otherwise the CLI is built from the Go module proxy:
#   1. `go mod download` github.com/pulumi/pulumi/pkg/v3 and sdk/v3 at the pinned version;
#   2. a scratch copy of pkg/v3 whose `replace .../sdk/v3 => ../sdk` points at the downloaded sdk/v3
#      (a plain `go install pkg@version` refuses a module with replace directives);
#   3. `go build ./cmd/pulumi` with the version stamped;
#   4. the Python language host: the official module is not served by the proxy, so the project's
#      own host (tools/langhost, same gRPC protocol, runs the SDK's exec script) is built;
#   5. the shims of sdk/v3's python/ folder (pulumi-resource-pulumi-python for dynamic providers,
#      pulumi-language-python-exec) are copied beside the binaries.
# A second run finds everything in the cache and takes well under a second.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LANGHOST_DIR="$ROOT/tools/langhost"

say() { echo "install-pulumi: $*" >&2; }
STEP="reading the pinned version"
fail() {
  say "FAILED while $STEP."
  say "To install Pulumi by hand: with internet, 'curl -fsSL https://get.pulumi.com | sh -s -- --version $VERSION'"
  say "(https://www.pulumi.com/docs/install/), then put ~/.pulumi/bin on PATH and run scripts/setup.sh again."
  exit 1
}
VERSION="?"
trap fail ERR

VERSION=$(awk '$1 == "github.com/pulumi/pulumi/sdk/v3" { sub(/^v/, "", $2); print $2; exit }' \
  <(sed -n '/^require/,/^)/p; /^require github.com\/pulumi\/pulumi\/sdk\/v3 /{s/^require //;p}' "$LANGHOST_DIR/go.mod"))
[ -n "$VERSION" ] || { STEP="reading the sdk/v3 version in $LANGHOST_DIR/go.mod"; false; }

CACHE="${VLLM_AI_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vllm-ai-deploy}"
PREFIX="$CACHE/pulumi-$VERSION"
BIN="$PREFIX/bin"

# The language host we build is rebuilt whenever its sources change.
langhost_stamp() { cat "$LANGHOST_DIR"/go.mod "$LANGHOST_DIR"/go.sum "$LANGHOST_DIR"/*.go | sha256sum | cut -c1-16; }

is_complete() {  # $1: a bin folder; true when it holds the pinned CLI and what the Python runtime needs
  local dir=$1
  [ -x "$dir/pulumi" ] && [ -x "$dir/pulumi-language-python" ] && [ -x "$dir/pulumi-resource-pulumi-python" ] \
    && [ -e "$dir/pulumi-language-python-exec" ] \
    && [ "$("$dir/pulumi" version 2>/dev/null)" = "v$VERSION" ] || return 1
  if [ -e "$dir/.langhost-stamp" ]; then [ "$(cat "$dir/.langhost-stamp")" = "$(langhost_stamp)" ] || return 1; fi
}

# Already on PATH at the pinned version (with its language host beside it)?
if on_path=$(command -v pulumi 2>/dev/null) && is_complete "$(dirname "$(readlink -f "$on_path")")"; then
  say "pulumi v$VERSION is on PATH"
  echo "$(readlink -f "$on_path")"
  exit 0
fi
if is_complete "$BIN"; then
  say "pulumi v$VERSION found in $BIN"
  echo "$BIN/pulumi"
  exit 0
fi

mkdir -p "$BIN"
started=$SECONDS
elapsed() { echo "$((SECONDS - started)) s"; }

official_installer() {
  STEP="running Pulumi's official installer"
  say "Pulumi's download site answers: official installer for v$VERSION into $PREFIX"
  local tmp; tmp=$(mktemp -d)
  curl -fsSL https://get.pulumi.com -o "$tmp/install.sh"
  sh "$tmp/install.sh" --version "$VERSION" --install-root "$PREFIX" --no-edit-path >&2
  rm -rf "$tmp"
  rm -f "$BIN/.langhost-stamp"
}

source_build() {
  STEP="checking for Go"
  command -v go >/dev/null || { say "no Go toolchain: install Go 1.24+ (or use the official installer with internet)"; false; }
  local scratch="$PREFIX/build"
  rm -rf "$scratch"; mkdir -p "$scratch"

  STEP="downloading github.com/pulumi/pulumi/pkg/v3 and sdk/v3 v$VERSION from the Go module proxy"
  say "[1/5] go mod download pkg/v3 and sdk/v3 v$VERSION"
  (cd "$scratch" && go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$VERSION" \
    "github.com/pulumi/pulumi/sdk/v3@v$VERSION") > "$scratch/download.json"
  local dirs; dirs=$(python3 - "$scratch/download.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
decoder, pos, found = json.JSONDecoder(), 0, {}
while pos < len(text):
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    obj, pos = decoder.raw_decode(text, pos)
    if obj.get("Error"):
        sys.exit(f"{obj['Path']}: {obj['Error']}")
    found[obj["Path"]] = obj["Dir"]
print(found["github.com/pulumi/pulumi/pkg/v3"])
print(found["github.com/pulumi/pulumi/sdk/v3"])
PY
)
  local pkg_dir sdk_dir
  pkg_dir=$(sed -n 1p <<<"$dirs"); sdk_dir=$(sed -n 2p <<<"$dirs")

  STEP="preparing a scratch copy of pkg/v3 with its sdk/v3 replace pointed at the downloaded module"
  say "[2/5] scratch copy of pkg/v3, replace sdk/v3 => $sdk_dir"
  cp -r "$pkg_dir" "$scratch/pkg"; chmod -R u+w "$scratch/pkg"
  (cd "$scratch/pkg" && go mod edit -replace "github.com/pulumi/pulumi/sdk/v3=$sdk_dir")

  STEP="building the Pulumi CLI (go build ./cmd/pulumi)"
  say "[3/5] go build ./cmd/pulumi (the first build takes about 10 to 15 minutes on 2 cores; later ones reuse Go's build cache)"
  (cd "$scratch/pkg" && go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION" \
    -o "$BIN/pulumi" ./cmd/pulumi)
  say "      built in $(elapsed)"

  STEP="building the Python language host (tools/langhost)"
  say "[4/5] go build tools/langhost -> pulumi-language-python"
  (cd "$LANGHOST_DIR" && go build -trimpath -ldflags "-s -w -X main.version=$VERSION" \
    -o "$BIN/pulumi-language-python" .)
  langhost_stamp > "$BIN/.langhost-stamp"

  STEP="copying the Python SDK's shims from sdk/v3's python/ folder"
  say "[5/5] shims from $sdk_dir/python"
  install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$BIN/"
  install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$BIN/"
  rm -rf "$scratch"
}

if [ "${PULUMI_INSTALL_FROM:-auto}" != "source" ] && command -v curl >/dev/null \
   && curl -fsS --max-time 5 -o /dev/null https://get.pulumi.com 2>/dev/null; then
  official_installer
else
  say "Pulumi's download site is not reachable: building v$VERSION from the Go module proxy into $PREFIX"
  source_build
fi

STEP="checking the installed CLI"
is_complete "$BIN" || { say "the installed CLI in $BIN is incomplete or reports another version"; false; }
say "pulumi $("$BIN/pulumi" version) ready in $(elapsed) ($(du -sh "$PREFIX" | cut -f1) in $PREFIX)"
echo "$BIN/pulumi"
