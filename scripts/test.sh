#!/usr/bin/env bash
# The whole test suite: set-up, lint, type check, tests. In CI (CI=true) a skipped test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${CI:-}" = "true" ] || [ -z "${IDNODE_TEST_PG:-}" ]; then
  scripts/postgres.sh || [ "${CI:-}" != "true" ]
fi
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
