#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs every test.
#   scripts/test.sh                 # the README's test command
#   STREAMCHECK_WERROR=ON STREAMCHECK_SANITIZE=ON BUILD_TYPE=Debug BUILD_DIR=build-asan scripts/test.sh -L unit
# Extra arguments go to ctest (e.g. -L unit, -R nginx, -j2) instead of the default two passes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/setup.sh" "$build" \
  -DSTREAMCHECK_WERROR="${STREAMCHECK_WERROR:-OFF}" \
  -DSTREAMCHECK_SANITIZE="${STREAMCHECK_SANITIZE:-OFF}" \
  -DSTREAMCHECK_DEBUG_INFO="${STREAMCHECK_DEBUG_INFO:--g}" \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
cd "$build"
if [ $# -gt 0 ]; then
  exec ctest --output-on-failure --timeout 600 "$@"
fi
# Tests that measure time (labels timing, fixtures) run one at a time after the rest, which run
# in parallel: a loaded core must not become a proxy's latency in a verdict.
status=0
ctest --output-on-failure --timeout 600 -j"$(nproc)" -LE 'timing|fixtures' || status=1
ctest --output-on-failure --timeout 600 -L 'timing|fixtures' || status=1
exit $status
