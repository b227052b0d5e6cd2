#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine: set up and build, start the mock Ollama,
# show a streamed answer, then judge two real nginx configurations with the harness (nginx's
# defaults, which buffer the stream, and a correct streaming config).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/setup.sh" "$build"

work=$(mktemp -d)
"$build/mock_upstream/streamcheck-mock" --listen 127.0.0.1:0 --port-file "$work/port" >/dev/null &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

echo "== A streamed answer from streamcheck-mock (POST /api/chat, one NDJSON line per token):"
curl -sS -N "http://127.0.0.1:$port/api/chat" \
  -d '{"model":"llama3.2","messages":[{"role":"user","content":"Why is the sky blue?"}],"streamcheck":{"tokens":6,"gap_ms":150}}'
echo
echo "== The harness on nginx with its defaults, then on a correct streaming config (quick profile):"
"$root/scripts/nginx_fixtures.sh" --show "$build/harness/streamcheck" \
  "$build/mock_upstream/streamcheck-mock" "$root/fixtures/nginx" defaults good
