#!/usr/bin/env bash
# Prepares web/ (the TypeScript browser client) for the tests and `make web-demo`: `npm ci` when node_modules is
# missing or older than package-lock.json (exact versions, no browser download: Debian's chromium is used), then
# the type check and the esbuild bundles in web/dist. Quiet when all is fresh; safe to run concurrently with itself
# only through ctest's fixture (it runs once).
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/../web" && pwd)"
cd "$web"
export PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package-lock.json -nt $stamp || package.json -nt $stamp ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx --no-install tsc --noEmit
npm run --silent build >/dev/null
