#!/usr/bin/env bash
# Runs a proxy once per fixture config in FIXTURE_DIR (files ending in .EXT) through
# `streamcheck exec`, which starts it in front of an embedded mock with the stock Ollama policy,
# and compares the harness's verdicts with the fixture's .expect file (the verdict, note,
# explains and proxy-kind lines as scripts/lib/expect_diff.js reads them), and:
#   "args ..."                                  extra harness arguments
#   "pair BASE ID..."                           a fixture pair: this config is BASE with a fix
#                                               applied; each ID fails (or warns) in BASE and
#                                               passes here, and nothing that passes in BASE
#                                               fails here (a fix that breaks another check is a
#                                               regression)
#   "reveals ID REASON"                         ID passes in the pair's BASE only because another
#                                               fault hid what it judges, and the fix uncovers it
# CMD is the proxy's command line; {config} becomes the fixture's path, {tmp} a scratch directory
# of its own (pid files, logs, private copies), {listen} and {upstream} are filled in by
# `streamcheck exec`.
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
  argv=("${command[@]//\{config\}/$dir/$name.$ext}")
  argv=("${argv[@]//\{tmp\}/$out}")
  # shellcheck disable=SC2086
  "$streamcheck" exec --profile quick $extra --report "json:$out/report.json" \
    --report "console:$out/console.txt" -- "${argv[@]}" 2>"$out/streamcheck.err"
  code=$?
  if [ ! -s "$out/report.json" ]; then
    echo "FAIL $name: no report (exit $code): $(cat "$out/streamcheck.err")"
    failures=$((failures + 1)); continue
  fi
  differences=$(node "$(dirname "$0")/lib/expect_diff.js" "$out/report.json" "$dir/$name.expect")
  detected=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).proxy_kind)' \
    "$out/report.json")
  [ $show -eq 1 ] && { echo "=== $name.$ext"; cat "$out/console.txt"; echo; }
  if [ -z "$differences" ]; then
    echo "ok   $name: $(tail -1 "$out/console.txt") (detected as $detected)"
  else
    failures=$((failures + 1))
    echo "FAIL $name: verdicts differ from $name.expect"
    echo "$differences" | sed 's/^/  /'
    grep -E '^(✘|⚠|\?|!) |expected:|actual:' "$out/console.txt" | sed 's/^/    /' | head -20
  fi
done

# The non-passing checks a fixture's .expect lists, as IDs.
listed() { grep -E '^(fail|warn|inconclusive|error) ' "$dir/$1.expect" | cut -d' ' -f2 | sort; }
pairs=0
for name in "${names[@]}"; do
  while read -r base ids; do
    pairs=$((pairs + 1))
    if [ ! -f "$dir/$base.expect" ]; then
      echo "FAIL $name: pair with $base, which has no .expect"; failures=$((failures + 1)); continue
    fi
    for id in $ids; do
      if ! grep -qx "$id" <(listed "$base"); then
        echo "FAIL $name: pair claims $id fails in $base, whose .expect lists it as passing"
        failures=$((failures + 1))
      elif grep -qx "$id" <(listed "$name"); then
        echo "FAIL $name: pair claims the fix makes $id pass, but $name.expect lists it"
        failures=$((failures + 1))
      fi
    done
    regressions=$(comm -13 <(listed "$base") <(listed "$name") |
      grep -vxF -f <(sed -n 's/^reveals \([^ ]*\).*/\1/p' "$dir/$name.expect"; echo '#') | tr '\n' ' ')
    if [ -n "$regressions" ]; then
      echo "FAIL $name: the fix breaks what passes in $base: $regressions"
      failures=$((failures + 1))
    else
      echo "pair $base -> $name: fixes $ids"
    fi
  done < <(sed -n 's/^pair //p' "$dir/$name.expect")
done
echo "$(basename "$dir") fixtures: ${#names[@]} run, $pairs pairs, $failures failures"
[ $failures -eq 0 ]
