# Shared by the command-line tests: `expect NAME EXIT REGEX MAX_SECONDS COMMAND...` runs COMMAND
# (stdin closed) and counts a pass when it exits EXIT within MAX_SECONDS and its stdout or stderr
# matches REGEX. Needs $work (a scratch dir); updates $passed and $failures.
expect() {
  local name=$1 want=$2 pattern=$3 limit=$4
  shift 4
  local start end code
  start=$(date +%s%N)
  "$@" >"$work/out" 2>"$work/err" </dev/null
  code=$?
  end=$(date +%s%N)
  local secs=$(((end - start) / 1000000000))
  if [ "$code" -ne "$want" ] || ! grep -qE "$pattern" "$work/err" "$work/out" || [ "$secs" -gt "$limit" ]; then
    echo "FAIL $name: exit $code (want $want), ${secs}s (max $limit), output:"
    tail -n 8 "$work/err" "$work/out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $name: exit $code in ${secs}s: $(head -1 "$work/err")"
    passed=$((passed + 1))
  fi
}
