#!/usr/bin/env bash
# streamcheck compare TARGET...: running proxies as url: targets (the user's own mock named once
# by --mock-control) beside an exec: target, one column each with its own verdicts, the exit code
# the worst column's, the JSON and Markdown reports; a target string that parses to nothing and
# options that do not fit are usage errors (exit 3), a target that cannot run is a column of setup
# errors (exit 2). Real processes on loopback.
#   compare_cmd_test.sh STREAMCHECK MOCK PROXY
set -uo pipefail
sc=$1 mock=$2 proxy=$3
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0 passed=0

# shellcheck source=expect.sh
. "$(dirname "$0")/expect.sh"

wait_port() { # FILE: its port, within 10 s
  for _ in $(seq 100); do
    [ -s "$1" ] && { cat "$1"; return 0; }
    sleep 0.1
  done
  echo "setup: no port in $1 after 10 s" >&2
  exit 2
}

# The user's setup: a mock, and two proxies in front of it, one with an idle timeout shorter than
# the pause the suite makes mid-answer (the fault timeout.idle-gap catches).
"$mock" --listen 127.0.0.1:0 --port-file "$work/mock.port" --control 127.0.0.1:0 \
  --control-port-file "$work/control.port" >"$work/mock.log" 2>&1 &
pids+=($!)
mock_port=$(wait_port "$work/mock.port")
control="http://127.0.0.1:$(wait_port "$work/control.port")"
for name in good short-idle; do
  extra=()
  [ "$name" = short-idle ] && extra=(--idle-timeout 2s)
  "$proxy" --listen 127.0.0.1:0 --port-file "$work/$name.port" --log-format off \
    --upstream "http://127.0.0.1:$mock_port" --allow-origin https://app.example.test "${extra[@]}" \
    2>"$work/$name.err" &
  pids+=($!)
done
good="http://127.0.0.1:$(wait_port "$work/good.port")"
short="http://127.0.0.1:$(wait_port "$work/short-idle.port")"

expect "no targets" 3 "compare needs targets" 2 "$sc" compare --profile quick
expect "a target that parses to nothing" 3 "'deploy/haproxy.cfg' is not KIND:ARG" 2 \
  "$sc" compare deploy/haproxy.cfg
expect "unknown kind" 3 "unknown target kind 'traefik'" 2 "$sc" compare traefik:x.yml
expect "url that is no URL" 3 "is not url:http://HOST:PORT" 2 "$sc" compare url:127.0.0.1:8080 \
  --mock-control "$control"
expect "url without its mock" 3 "url: targets need --mock-control" 2 "$sc" compare "url:$good"
expect "mock control without url" 3 "mock-control is for url: targets" 2 \
  "$sc" compare "exec:$proxy --listen {listen} --upstream http://{upstream}" --mock-control "$control"
expect "--proxy instead of url:" 3 "not --proxy" 2 "$sc" compare "url:$good" --proxy "$good" \
  --mock-control "$control"
expect "unreachable url is a setup column" 2 "could not run: .*127\.0\.0\.1:1" 20 \
  "$sc" compare "url:http://127.0.0.1:1" "url:$good" --mock-control "$control" --profile quick \
  --check stream.first-token --no-color

# Three columns: the good running proxy, the faulty one, and an exec'd proxy with its own mock.
checks=(--check stream.first-token --check timeout.idle-gap)
expect "url and exec columns, worst exit" 1 "exit code 1 \(the worst of 3 targets\)" 60 \
  "$sc" compare "url:$good" "url:$short" \
  "exec:$proxy --listen {listen} --upstream http://{upstream} --allow-origin https://app.example.test --log-format off" \
  --mock-control "$control" --profile quick "${checks[@]}" --no-color \
  --report console --report "json:$work/compare.json" --report "markdown:$work/compare.md"
cp "$work/out" "$work/matrix.txt"
# The faulty proxy's column fails the idle gap, with the fix; the other two pass it.
row=$(grep -E '^timeout\.idle-gap ' "$work/matrix.txt")
case $row in
  *"✔"*"✘"*"✔"*) echo "ok   idle-gap row: ✔ ✘ ✔"; passed=$((passed + 1)) ;;
  *) echo "FAIL idle-gap row is not ✔ ✘ ✔: $row"; failures=$((failures + 1)) ;;
esac
if grep -qF "  url:${short#http://}: proxy $short " "$work/matrix.txt"; then
  echo "ok   legend names the running proxy"; passed=$((passed + 1))
else
  echo "FAIL legend:"; sed -n 1,5p "$work/matrix.txt"; failures=$((failures + 1))
fi
if command -v node >/dev/null; then
  if node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const kinds = j.targets.map(t => t.kind).join(",");
    const codes = j.targets.map(t => t.exit_code).join(",");
    const row = j.checks.find(c => c.id === "timeout.idle-gap");
    const ok = j.schema_version === 1 && j.exit_code === 1 && kinds === "url,url,exec" &&
      codes === "0,1,0" && row.cells.map(c => c.result).join(",") === "pass,fail,pass" &&
      row.cells[1].fix.length > 0 && j.targets[1].report.checks.length > 0;
    if (!ok) { console.error(JSON.stringify({kinds, codes, row}, null, 1)); process.exit(1); }
  ' "$work/compare.json"; then
    echo "ok   JSON: kinds url,url,exec, exit codes 0,1,0, idle-gap pass,fail,pass with a fix"
    passed=$((passed + 1))
  else
    echo "FAIL JSON report"; failures=$((failures + 1))
  fi
fi
if grep -qE '^\| `timeout\.idle-gap` \| MUST \| ✔ .* \| ✘ .* \| ✔ .* \|$' "$work/compare.md"; then
  echo "ok   Markdown row"; passed=$((passed + 1))
else
  echo "FAIL Markdown:"; cat "$work/compare.md"; failures=$((failures + 1))
fi

echo "compare command: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
