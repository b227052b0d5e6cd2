#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs every test.
#   scripts/test.sh                 # the README's test command
#   STREAMCHECK_WERROR=ON STREAMCHECK_SANITIZE=ON BUILD_TYPE=Debug BUILD_DIR=build-asan scripts/test.sh -L unit
# Extra arguments go to ctest (e.g. -L unit, -R nginx).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/setup.sh" "$build" \
  -DSTREAMCHECK_WERROR="${STREAMCHECK_WERROR:-OFF}" \
  -DSTREAMCHECK_SANITIZE="${STREAMCHECK_SANITIZE:-OFF}" \
  -DSTREAMCHECK_DEBUG_INFO="${STREAMCHECK_DEBUG_INFO:--g}" \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
