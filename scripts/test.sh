#!/usr/bin/env bash
# Quick start, command 2: install what is missing, then run the whole suite: typecheck, lint,
# format, unit and API tests on PGlite and on a throwaway PostgreSQL cluster, and real-VM tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "test: typecheck, lint, format"
npx tsc -p .
npx eslint . --max-warnings 0
npx prettier --check . --log-level warn

echo "test: vitest (PGlite and a throwaway PostgreSQL)"
bash scripts/with-pg.sh npx vitest run "$@"
