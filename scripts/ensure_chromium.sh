#!/usr/bin/env bash
# Make sure headless Chromium is available for the dashboards' browser test (tests/dashboards/test_browser.py).
# Quick no-op when it is installed. When it is missing and we run as root on a Debian/Ubuntu system, install
# Debian's `chromium` package with apt-get; otherwise say how to install it and exit 0 (the browser test then
# skips, or fails when CI=true).
set -euo pipefail

for bin in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$bin" >/dev/null 2>&1; then
    exit 0
  fi
done

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure_chromium: chromium is not installed and this is not root; install it with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: chromium is not installed and apt-get is not available; install Chromium by hand" >&2
  exit 0
fi

echo "ensure_chromium: installing chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "ensure_chromium: chromium still missing after apt-get" >&2; exit 1; }
echo "ensure_chromium: $(chromium --version 2>/dev/null || echo chromium installed)" >&2
