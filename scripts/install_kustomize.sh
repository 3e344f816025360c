#!/usr/bin/env bash
# Builds the pinned kustomize into .local/bin from the Go module proxy (first run only): make test
# renders every overlay with it.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v5.8.0
if [ -x .local/bin/kustomize ] && .local/bin/kustomize version 2>/dev/null | grep -q "$VERSION"; then
  exit 0
fi
command -v go >/dev/null || { echo "install_kustomize: Go is needed to build kustomize (go.dev/dl)" >&2; exit 1; }
echo "install_kustomize: building kustomize $VERSION (first run only) ..."
mkdir -p .local/bin
GOBIN="$PWD/.local/bin" GOTOOLCHAIN=local GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION"
.local/bin/kustomize version
