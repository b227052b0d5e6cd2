#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang under ASan+UBSan and runs each for a bounded
# time from its seed corpus (fuzz/corpus/TARGET, the nginx fixtures for the config parser), after
# replaying every past crash (fuzz/regressions/TARGET). A crash or a sanitizer report fails.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 20; .ci/run: 10)
#   FUZZ_TARGETS="proxy_request_head" scripts/fuzz.sh 3600   # one target, an hour
#   scripts/fuzz.sh --build-only                             # build them, run nothing
# New inputs that grew coverage are left in $BUILD_DIR/corpus/TARGET (reused by the next run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_only=0
[ "${1:-}" = --build-only ] && build_only=1 && shift
seconds=${1:-20}
build=${BUILD_DIR:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-proxy_request_head proxy_chunked_body mock_request stream_parser nginx_config}
cxx=${FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}
[ -n "$cxx" ] || { echo "fuzz: clang++ not found (scripts/setup.sh installs clang)" >&2; exit 2; }
cc=${cxx/clang++/clang}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=$cc CXX=$cxx cmake -S "$root" -B "$build" -DSTREAMCHECK_FUZZ=ON -DSTREAMCHECK_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTREAMCHECK_DEBUG_INFO="${STREAMCHECK_DEBUG_INFO:--g}" \
  "${launcher[@]}" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $(printf 'fuzz_%s ' $targets)
[ $build_only -eq 1 ] && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in $targets; do
  bin=$build/fuzz/fuzz_$t
  seeds=("$root/fuzz/corpus/$t")
  [ "$t" = nginx_config ] && seeds=("$root/fixtures/nginx" "$root/nginx")
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$root/fuzz/regressions/$t" ] && ! "$bin" "$root/fuzz/regressions/$t"/* >"$build/$t.regressions.log" 2>&1; then
    echo "fuzz: $t: a past crash is back (see $build/$t.regressions.log)" >&2
    status=1
    continue
  fi
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" >"$build/$t.log" 2>&1; then
    echo "fuzz: $t: $(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$build/$t.log" | grep -oE '[0-9]+$') runs in ${seconds} s, no crash"
  else
    echo "fuzz: $t: CRASH; input in $artifacts/, log $build/$t.log:" >&2
    grep -E 'ERROR|SUMMARY|runtime error' "$build/$t.log" | head -5 >&2
    status=1
  fi
done
exit $status
