#!/bin/sh
# Builds one server's production folder: `node dist/main.js` with only production dependencies.
# This is the Dockerfile's build stage, kept in one script so that test/helm/artifact.test.ts runs
# exactly what the image build runs.
#
#   sh docker/build-artifact.sh <server> <out-dir>     (from the repository root)
#
# PNPM: how to call pnpm (default `pnpm` when installed, else `npx -y pnpm@10.33.0`).
# PNPM_INSTALL_FLAGS: install flags (the image build adds --offline after `pnpm fetch`).
set -eu

server="${1:?usage: build-artifact.sh <server> <out-dir>}"
out="${2:?usage: build-artifact.sh <server> <out-dir>}"
pkg="@mcp-fleet/server-${server}"
# The servers are the packages under servers/ with a manifest (package.json#mcpFleet).
grep -q '"mcpFleet"' "servers/${server}/package.json" 2>/dev/null || {
  echo "build-artifact: no server \"${server}\"; servers: $(grep -l '"mcpFleet"' servers/*/package.json | cut -d/ -f2 | tr '\n' ' ')" >&2
  exit 1
}
if [ -z "${PNPM:-}" ]; then
  if command -v pnpm >/dev/null 2>&1; then PNPM=pnpm; else PNPM="npx -y pnpm@10.33.0"; fi
fi

# Everything the server's build needs, dev dependencies included (tsc), from the lockfile only.
$PNPM install --frozen-lockfile ${PNPM_INSTALL_FLAGS:---prefer-offline}
# The server and the workspace packages it depends on (core), compiled to dist/.
$PNPM --filter "${pkg}..." run build
# A self-contained folder: the server package, its workspace dependencies copied in (not linked)
# and their production dependencies only. --legacy: pnpm 10 otherwise requires the whole
# workspace to use inject-workspace-packages.
rm -rf "$out"
$PNPM --filter "$pkg" deploy --prod --legacy "$out"

# Nothing the runtime does not execute: TypeScript sources, tests, build configs, source maps.
for dir in "$out" "$out"/node_modules/@mcp-fleet/*; do
  [ -d "$dir" ] || continue
  rm -rf "$dir/src" "$dir/test" "$dir"/tsconfig*.json
done
find "$out" -name '*.map' -type f -delete
find "$out" -name '*.tsbuildinfo' -type f -delete
test -f "$out/dist/main.js" || { echo "build-artifact: $out/dist/main.js is missing" >&2; exit 1; }
echo "build-artifact: ${pkg} -> ${out}"
