#!/usr/bin/env bash
# Quick start, command 2: install what is missing, then run the whole suite: typecheck, lint,
# format, unit and API tests on PGlite and on a throwaway PostgreSQL cluster, and real-VM tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "test: typecheck, lint, format"
npx tsc -p .
npx tsc -p apps/web
npm run -s lint # eslint, then knip (unused exports, undeclared dependencies)
npx prettier --check . --log-level warn

echo "test: guest agent (gofmt, go vet, go test)"
(
  cd apps/guest
  cache=${HEARTH_CACHE_DIR:-/var/cache/hearth}
  export GOCACHE=$cache/go/cache GOPATH=$cache/go/path GOPROXY=off GOFLAGS=
  unformatted=$(gofmt -l .)
  if [ -n "$unformatted" ]; then echo "gofmt: these files need formatting: $unformatted" >&2; exit 1; fi
  go vet ./...
  go test -count=1 ./...
)

echo "test: vitest (PGlite and a throwaway PostgreSQL)"
bash scripts/with-pg.sh npx vitest run "$@"
