#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine: set up and build, show a streamed answer
# from the mock Ollama, then gate two real nginx configs with `streamcheck nginx` (standard
# profile: 65 s silences, 35 s stream): the recommended config, which must pass, and the seed
# config this project started from, which must fail for the reasons the README lists. Then the
# reference proxy (streamcheck-proxy) in front of the mock, which must pass every check. Last,
# `streamcheck compare` of every packaged proxy's stock config and its recommended one (quick
# profile), printed as one matrix (the README's table), also written to $DEMO_OUT (default
# build/demo-compare.{md,json}).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
profile=${STREAMCHECK_PROFILE:-standard}
"$root/scripts/setup.sh" "$build"
streamcheck=$build/harness/streamcheck

work=$(mktemp -d)
"$build/mock_upstream/streamcheck-mock" --listen 127.0.0.1:0 --port-file "$work/port" >/dev/null &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
echo "== A streamed answer from streamcheck-mock (POST /api/chat, one NDJSON line per token):"
curl -sS -N "http://127.0.0.1:$(cat "$work/port")/api/chat" \
  -d '{"model":"llama3.2","messages":[{"role":"user","content":"Why is the sky blue?"}],"streamcheck":{"tokens":6,"gap_ms":150}}'
kill $mock_pid

echo
echo "== streamcheck nginx nginx/ollama.conf (the recommended config; must pass)"
recommended=0
"$streamcheck" nginx "$root/nginx/ollama.conf" --profile "$profile" --strict || recommended=$?
echo
echo "== streamcheck nginx fixtures/nginx/seed.conf (the seed config; expected to fail)"
seed=0
"$streamcheck" nginx "$root/fixtures/nginx/seed.conf" --profile "$profile" || seed=$?
echo
echo "== streamcheck run against streamcheck-proxy (the reference proxy; must pass, --strict)"
reference=0
"$root/scripts/proxy_suite.sh" "$streamcheck" "$build/mock_upstream/streamcheck-mock" \
  "$build/reference_proxy/streamcheck-proxy" "$profile" || reference=$?
echo
echo "== streamcheck compare: each proxy's stock config beside its recommended one (quick profile)"
# The recommended lighttpd config names /etc/lighttpd/cors-preflight.lua, as deployed; the demo
# points a copy at the script in proxies/lighttpd/ instead of installing it.
sed "s|/etc/lighttpd/cors-preflight.lua|$root/proxies/lighttpd/cors-preflight.lua|" \
  "$root/proxies/lighttpd/ollama.conf" >"$work/ollama.conf"
targets=(
  "nginx:$root/fixtures/nginx/defaults.conf" "nginx:$root/nginx/ollama.conf"
  "haproxy:$root/fixtures/haproxy/stock.cfg" "haproxy:$root/proxies/haproxy/ollama.cfg"
  "caddy:$root/fixtures/caddy/stock.Caddyfile" "caddy:$root/proxies/caddy/Caddyfile"
  "lighttpd:$root/fixtures/lighttpd/stock.conf" "lighttpd:$work/ollama.conf"
  "apache:$root/fixtures/apache/stock.conf" "apache:$root/proxies/apache/ollama.conf"
)
out=${DEMO_OUT:-$build/demo-compare}
compared=0
compare_start=$SECONDS
"$streamcheck" compare "${targets[@]}" --profile quick --no-color --report console \
  --report "markdown:$out.md" --report "json:$out.json" || compared=$?
echo "(compare took $((SECONDS - compare_start)) s; Markdown in $out.md, JSON in $out.json)"
echo
echo "demo: recommended config exit $recommended (want 0), seed config exit $seed (want 1)," \
  "streamcheck-proxy exit $reference (want 0), compare exit $compared (want 1: the stock configs fail)"
[ "$recommended" -eq 0 ] && [ "$seed" -eq 1 ] && [ "$reference" -eq 0 ] && [ "$compared" -eq 1 ]
