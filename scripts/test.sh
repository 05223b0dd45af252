#!/usr/bin/env bash
# The whole suite. Spark Connect (Sail) and classic JVM Spark cannot share one Python process, so the
# classic-Spark conformance tests run in a second pytest process.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p test-artifacts
status=0
$PY -m pytest -q -m "not classic" --junitxml=test-artifacts/junit-main.xml "$@" || status=$?
$PY -m pytest -q -m classic -p no:cacheprovider --junitxml=test-artifacts/junit-classic.xml "$@" || {
  rc=$?; [ $rc -eq 5 ] || status=$rc   # 5 = no classic tests selected by the caller's filter
}
exit $status
