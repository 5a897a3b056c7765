#!/usr/bin/env bash
# Build the pinned actionlint (the GitHub Actions linter of tests/test_workflows.py) from its Go
# module into the project's cache, once; its PyPI wrapper downloads a GitHub release binary, which
# these machines cannot reach. The last line printed is the binary's path.
set -euo pipefail
MODULE=github.com/rhysd/actionlint/cmd/actionlint
VERSION=v1.7.12
CACHE=${VLLM_AI_DEPLOY_CACHE:-$HOME/.cache/vllm-ai-deploy}
TOOLS="$CACHE/tools/$VERSION"
if [ ! -x "$TOOLS/actionlint" ]; then
  command -v go >/dev/null || { echo "install-actionlint: building $MODULE@$VERSION needs Go" >&2; exit 3; }
  GOBIN="$TOOLS" go install "$MODULE@$VERSION" >&2
fi
echo "$TOOLS/actionlint"
