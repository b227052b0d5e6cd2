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

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
