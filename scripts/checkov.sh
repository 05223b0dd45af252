#!/usr/bin/env bash
# Run checkov on terraform/ in its own virtualenv (.venv-checkov): checkov ships a python-hcl2 fork that clashes
# with the python-hcl2 of the project's .venv. Offline: --skip-download (no policy or guideline downloads).
# Skips live in terraform/.checkov.yaml, each with its reason. Exit status is checkov's (non-zero on a failed check).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHECKOV_VENV:-$ROOT/.venv-checkov}"
VERSION="3.3.30"

if [ ! -x "$VENV/bin/checkov" ] || ! "$VENV/bin/checkov" --version 2>/dev/null | grep -qx "$VERSION"; then
  echo "checkov.sh: installing checkov==$VERSION into $VENV (one time)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$VERSION" >"$VENV/install.log" 2>&1 || {
    cat "$VENV/install.log" >&2
    exit 2
  }
fi

cd "$ROOT"
exec "$VENV/bin/checkov" \
  --config-file terraform/.checkov.yaml \
  --directory terraform \
  --framework terraform \
  --skip-download \
  --quiet \
  --compact \
  "$@"
