#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs every test.
#   scripts/test.sh                 # the README's test command
#   STREAMCHECK_WERROR=ON STREAMCHECK_SANITIZE=ON BUILD_TYPE=Debug BUILD_DIR=build-asan scripts/test.sh -L unit
#   scripts/test.sh --build-only    # set up and build, run nothing
# Extra arguments go to ctest (e.g. -L unit, -R nginx, -j2) instead of the default two passes.
# STREAMCHECK_IDLE_JOB=CMD runs CMD at idle CPU priority (SCHED_IDLE) from the end of the build
# to the end of the tests: it gets a core only when no test wants one, so it uses what the serial
# timing tests leave idle (.ci/run compiles its sanitizer builds there). Its failure fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/setup.sh" "$build" \
  -DSTREAMCHECK_WERROR="${STREAMCHECK_WERROR:-OFF}" \
  -DSTREAMCHECK_SANITIZE="${STREAMCHECK_SANITIZE:-OFF}" \
  -DSTREAMCHECK_DEBUG_INFO="${STREAMCHECK_DEBUG_INFO:--g}" \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
[ "${1:-}" = --build-only ] && exit 0
cd "$build"

idle_pid=""
idle_log="$build/idle-job.log"
if [ -n "${STREAMCHECK_IDLE_JOB:-}" ]; then
  # Refused now rather than after the tests: at normal priority the job would load the cores the
  # timing tests measure on.
  chrt --idle 0 true || { echo "test.sh: STREAMCHECK_IDLE_JOB needs chrt --idle (util-linux) to be allowed here" >&2; exit 2; }
  # A process group of its own, so an interrupted run stops the whole job (and its compilers).
  setsid chrt --idle 0 bash -c "$STREAMCHECK_IDLE_JOB" >"$idle_log" 2>&1 &
  idle_pid=$!
  trap '[ -n "$idle_pid" ] && kill -- -"$idle_pid" 2>/dev/null' EXIT
fi
# finish_idle_job: waits for the idle job; its failure (with the end of its log) fails the run.
finish_idle_job() {
  [ -n "$idle_pid" ] || return 0
  local rc=0
  wait "$idle_pid" || rc=$?
  idle_pid=""
  [ $rc -eq 0 ] && return 0
  echo "test.sh: the idle job ($STREAMCHECK_IDLE_JOB) failed with exit $rc; the end of $idle_log:" >&2
  tail -n 30 "$idle_log" >&2
  return 1
}

status=0
if [ $# -gt 0 ]; then
  ctest --output-on-failure --timeout 600 "$@" || status=$?
else
  # Tests that measure time (labels timing, fixtures) run one at a time after the rest, which
  # run in parallel: a loaded core must not become a proxy's latency in a verdict.
  ctest --output-on-failure --timeout 600 -j"$(nproc)" -LE 'timing|fixtures' || status=1
  ctest --output-on-failure --timeout 600 -L 'timing|fixtures' || status=1
fi
finish_idle_job || status=1
exit $status
