#!/usr/bin/env bash
# Installs Debian's Chromium for the wallboard's browser test (first run only); a test tool's own
# browser download does not work on a closed network, the distribution's package does.
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install_browser: no chromium and no apt-get; install Chromium so that 'chromium' is on PATH." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install_browser: need root or sudo to apt-get install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install_browser: installing Debian's chromium (first run only) ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version
