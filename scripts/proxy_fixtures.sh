#!/usr/bin/env bash
# Runs streamcheck-proxy with every fixtures/proxy/*.json config (through `streamcheck exec`,
# which starts it in front of an embedded mock with the stock Ollama policy) and compares the
# harness's verdicts with the fixture's .expect file ("fail ID" / "warn ID" lines, optional
# "args ..." for extra harness arguments; every other check must pass).
#   proxy_fixtures.sh [--show] STREAMCHECK PROXY FIXTURE_DIR [FIXTURE_NAME...]
set -uo pipefail
show=0
[ "${1:-}" = "--show" ] && { show=1; shift; }
streamcheck=$1 proxy=$2 dir=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$dir"/*.json; do names+=("$(basename "$f" .json)"); done
fi
failures=0
for name in "${names[@]}"; do
  out="$work/$name"
  mkdir -p "$out"
  extra=$(sed -n 's/^args //p' "$dir/$name.expect")
  # shellcheck disable=SC2086
  "$streamcheck" exec --profile quick $extra --report "json:$out/report.json" \
    --report "console:$out/console.txt" -- "$proxy" --config "$dir/$name.json" \
    --listen {listen} --upstream 'http://{upstream}' --log-format off 2>"$out/streamcheck.err"
  code=$?
  if [ ! -s "$out/report.json" ]; then
    echo "FAIL $name: no report (exit $code): $(cat "$out/streamcheck.err")"
    failures=$((failures + 1)); continue
  fi
  actual=$(node -e 'for (const c of JSON.parse(require("fs").readFileSync(process.argv[1])).checks)
      if (c.result !== "pass" && c.result !== "skip") console.log(c.result + " " + c.id)' \
      "$out/report.json" | sort)
  expected=$(grep -E '^(fail|warn|error) ' "$dir/$name.expect" | sort)
  [ $show -eq 1 ] && { echo "=== $name.json"; cat "$out/console.txt"; echo; }
  if [ "$actual" == "$expected" ]; then
    echo "ok   $name: $(tail -1 "$out/console.txt")"
  else
    failures=$((failures + 1))
    echo "FAIL $name: verdicts differ from $name.expect"
    diff <(echo "$expected") <(echo "$actual") | sed -n 's/^</  expected but missing:/p; s/^>/  unexpected:/p'
    grep -E '^(✘|⚠|!) |expected:|actual:' "$out/console.txt" | sed 's/^/    /' | head -20
  fi
done
echo "proxy fixtures: $(( ${#names[@]} - failures )) passed, $failures failed"
[ $failures -eq 0 ]
