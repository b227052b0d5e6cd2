#!/usr/bin/env bash
# Asks headless Chromium whether a page on a foreign origin can stream through a proxy.
#   browser_check.sh PAGE_PORT RESULT_FILE PROXY_URL UPSTREAM_PROFILE WORKDIR
# The page server (page_server.js RESULT_FILE) must listen on PAGE_PORT; the page is loaded as
# http://app.example.test:PAGE_PORT (mapped to 127.0.0.1 inside Chromium only). Prints
# "readable" or "blocked: <what the page saw>".
set -uo pipefail
port=$1 result=$2 proxy=$3 policy=$4 work=$5
chromium=${CHROMIUM:-/usr/bin/chromium}
# A TLS listener under test carries a throwaway certificate (streamcheck nginx): trusted here
# only, so Chromium reaches it over TLS and ALPN as it would the real one (h2 when offered).
tls=()
[ "${proxy#https://}" != "$proxy" ] && tls=(--ignore-certificate-errors)
rm -f "$result"
mkdir -p "$work"
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --host-resolver-rules="MAP app.example.test 127.0.0.1" --user-data-dir="$work/chromium" \
  --remote-debugging-port=0 "${tls[@]}" \
  "http://app.example.test:$port/?proxy=$proxy&policy=$policy" >/dev/null 2>&1 &
browser=$!
for _ in $(seq 300); do [ -s "$result" ] && break; sleep 0.1; done
kill "$browser" 2>/dev/null
wait "$browser" 2>/dev/null
[ -s "$result" ] || { echo "blocked: no result from the page within 30 s"; exit 0; }
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const bad = Object.entries(r).filter(([k, v]) => !v.readable)
    .map(([k, v]) => k + " " + (v.error || "HTTP " + v.status));
  console.log(bad.length ? "blocked: " + bad.join(", ") : "readable");' "$result"
