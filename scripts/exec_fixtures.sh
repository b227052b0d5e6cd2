#!/usr/bin/env bash
# Runs a proxy once per fixture config in FIXTURE_DIR (files ending in .EXT) through
# `streamcheck exec`, which starts it in front of an embedded mock with the stock Ollama policy,
# and compares the harness's verdicts with the fixture's .expect file:
#   "fail ID" / "warn ID" / "inconclusive ID"   the non-passing checks (every other must pass)
#   "args ..."                                  extra harness arguments
#   "proxy-kind KIND"                           the kind the harness must detect by itself
# CMD is the proxy's command line; {config} becomes the fixture's path, {listen} and {upstream}
# are filled in by `streamcheck exec`.
#   exec_fixtures.sh [--show] STREAMCHECK FIXTURE_DIR EXT -- CMD... [-- FIXTURE_NAME...]
set -uo pipefail
show=0
[ "${1:-}" = "--show" ] && { show=1; shift; }
streamcheck=$1 dir=$2 ext=$3
shift 3
[ "${1:-}" = "--" ] && shift
command=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do command+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$dir"/*."$ext"; do names+=("$(basename "$f" ."$ext")"); done
fi
failures=0
for name in "${names[@]}"; do
  out="$work/$name"
  mkdir -p "$out"
  extra=$(sed -n 's/^args //p' "$dir/$name.expect")
  kind=$(sed -n 's/^proxy-kind //p' "$dir/$name.expect")
  argv=("${command[@]//\{config\}/$dir/$name.$ext}")
  # shellcheck disable=SC2086
  "$streamcheck" exec --profile quick $extra --report "json:$out/report.json" \
    --report "console:$out/console.txt" -- "${argv[@]}" 2>"$out/streamcheck.err"
  code=$?
  if [ ! -s "$out/report.json" ]; then
    echo "FAIL $name: no report (exit $code): $(cat "$out/streamcheck.err")"
    failures=$((failures + 1)); continue
  fi
  actual=$(node -e 'for (const c of JSON.parse(require("fs").readFileSync(process.argv[1])).checks)
      if (c.result !== "pass" && c.result !== "skip") console.log(c.result + " " + c.id)' \
      "$out/report.json" | sort)
  expected=$(grep -E '^(fail|warn|inconclusive|error) ' "$dir/$name.expect" | sort)
  detected=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).proxy_kind)' \
    "$out/report.json")
  [ $show -eq 1 ] && { echo "=== $name.$ext"; cat "$out/console.txt"; echo; }
  if [ "$actual" == "$expected" ] && { [ -z "$kind" ] || [ "$kind" = "$detected" ]; }; then
    echo "ok   $name: $(tail -1 "$out/console.txt")${kind:+ (detected as $detected)}"
  else
    failures=$((failures + 1))
    echo "FAIL $name: verdicts differ from $name.expect"
    [ -n "$kind" ] && [ "$kind" != "$detected" ] && echo "  proxy kind: expected $kind, detected $detected"
    diff <(echo "$expected") <(echo "$actual") | sed -n 's/^</  expected but missing:/p; s/^>/  unexpected:/p'
    grep -E '^(✘|⚠|\?|!) |expected:|actual:' "$out/console.txt" | sed 's/^/    /' | head -20
  fi
done
echo "$(basename "$dir") fixtures: $(( ${#names[@]} - failures )) passed, $failures failed"
[ $failures -eq 0 ]
