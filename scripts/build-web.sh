#!/usr/bin/env bash
# Builds the dashboard into apps/web/dist when its sources (or what it bundles from the contract
# and SDK, or the lockfile) changed since the last build; the manager serves that directory.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=apps/web/dist/.hearth-src-sha
want=$(
  find apps/web packages/contract/src packages/sdk/src \
    \( -path apps/web/dist -o -path apps/web/node_modules \) -prune -o -type f -print |
    LC_ALL=C sort | xargs sha256sum | cat - package-lock.json | sha256sum | cut -d' ' -f1
)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
echo "setup: building the web dashboard (apps/web)"
# Always a production build: callers under vitest have NODE_ENV=test, which would bundle React's
# development build (about 65 KiB more gzipped, and slower).
NODE_ENV=production npm run build --silent -w apps/web >/dev/null
echo "$want" > "$stamp"
