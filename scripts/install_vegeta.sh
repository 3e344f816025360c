#!/usr/bin/env bash
# Builds the pinned vegeta (an HTTP load generator) into .local/bin from the Go module proxy (first run
# only): make bench offers the REST doors their load with it, since a Python client tops out below the
# rates measured.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v12.12.0
STAMP=".local/bin/.vegeta-$VERSION"  # go install stamps no version into the binary
if [ -x .local/bin/vegeta ] && [ -f "$STAMP" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "install_vegeta: Go is needed to build vegeta (go.dev/dl)" >&2; exit 1; }
echo "install_vegeta: building vegeta $VERSION (first run only) ..."
mkdir -p .local/bin
GOBIN="$PWD/.local/bin" GOTOOLCHAIN=local GOFLAGS=-mod=mod go install "github.com/tsenart/vegeta/v12@$VERSION"
touch "$STAMP"
