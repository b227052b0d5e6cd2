#!/usr/bin/env bash
# streamcheck exec -- CMD: placeholders filled, the command's failures reported as setup errors
# (exit 2) with its own words, a good proxy passing and a faulty one failing. Real processes.
#   exec_cmd_test.sh STREAMCHECK PROXY
set -uo pipefail
sc=$1 proxy=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0

# shellcheck source=expect.sh
. "$(dirname "$0")/expect.sh"

expect "no command" 3 "exec needs a command after --" 2 "$sc" exec --profile quick
expect "no placeholder" 3 "must say where to listen" 2 "$sc" exec -- "$proxy" --listen 127.0.0.1:0
expect "command not found" 2 "cannot run /nonexistent/proxy" 3 "$sc" exec -- /nonexistent/proxy {listen}
expect "command exits" 2 "exited with status 3 before listening" 5 \
  "$sc" exec -- "$proxy" --listen {listen} --bogus 1
expect "command never listens" 2 "did not listen on 127.0.0.1:[0-9]+ within 15 s" 20 \
  "$sc" exec -- sleep 60 {port}
expect "reference proxy passes" 0 "0 failed" 30 \
  "$sc" exec --profile quick --strict --check 'cors.*' --check 'upstream.*' --check 'api.*' \
  --no-color -- "$proxy" --listen {listen} --upstream http://{upstream} \
  --allow-origin https://app.example.test --log-format off
# The same proxy without an allowed origin: the browser checks must fail, and exec says so.
expect "reference proxy without CORS fails" 1 "✘ cors.stream-response" 30 \
  "$sc" exec --profile quick --check 'cors.*' --no-color -- \
  "$proxy" --listen {listen} --upstream http://{upstream} --log-format off
if command -v socat >/dev/null; then
  # A bare TCP relay keeps the browser's Host: a default Ollama refuses it.
  expect "socat fails the Host check" 1 "✘ upstream.host-accepted" 30 \
    "$sc" exec --profile quick --check 'upstream.*' --no-color -- \
    socat TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr TCP:{upstream}
fi

# SIGTERM (and SIGINT) mid-run: the proxy stopped, the temp prefix removed (kept with
# --keep-temp), exit 128 + signal.
interrupt_case() { # NAME SIGNAL EXIT KEEP(yes|no)
  local name=$1 sig=$2 want=$3 keep=$4 extra=()
  [ "$keep" = yes ] && extra=(--keep-temp)
  "$sc" exec --profile standard --check 'timeout.idle-gap' "${extra[@]}" -- \
    "$proxy" --listen {listen} --upstream http://{upstream} --log-format off \
    >"$work/int.out" 2>"$work/int.err" </dev/null &
  local pid=$! ok=1
  for _ in $(seq 200); do grep -q "listening on" "$work/int.err" && break; sleep 0.05; done
  sleep 1
  local ppid_of_proxy
  ppid_of_proxy=$(pgrep -P "$pid" | head -1)
  kill "-$sig" "$pid"
  local code=0
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  wait "$pid"
  code=$?
  local dir
  dir=$(grep -oE '/tmp/streamcheck-exec-[A-Za-z0-9]+' "$work/int.err" | head -1)
  [ "$code" -eq "$want" ] || ok=0
  [ -n "$ppid_of_proxy" ] && kill -0 "$ppid_of_proxy" 2>/dev/null && ok=0
  if [ "$keep" = yes ]; then [ -n "$dir" ] && [ -d "$dir" ] || ok=0; else [ -n "$dir" ] && [ ! -e "$dir" ] || ok=0; fi
  if [ "$ok" -eq 1 ]; then
    echo "ok   $name: exit $code, proxy $ppid_of_proxy gone, $dir ${keep/yes/kept}"
    passed=$((passed + 1))
  else
    echo "FAIL $name: exit $code (want $want), proxy pid '$ppid_of_proxy', dir '$dir':"
    sed 's/^/    /' "$work/int.err" | tail -5
    failures=$((failures + 1))
  fi
  [ "$keep" = yes ] && [ -n "$dir" ] && rm -rf "$dir"
}
interrupt_case "SIGTERM mid-run" TERM 143 no
interrupt_case "SIGINT mid-run with --keep-temp" INT 130 yes

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
