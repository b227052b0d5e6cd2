#!/usr/bin/env bash
# The whole streamcheck suite against streamcheck-proxy in front of streamcheck-mock (default
# ollama profile: Origin allow-list and Host check, as a stock Ollama), with --strict so SHOULD
# checks count. With --browser, headless Chromium on a foreign origin must also read both APIs'
# streams through it, and must be blocked by a proxy that does not allow that origin. With --tls
# the proxy listens over TLS (a throwaway certificate; ALPN h2 and http/1.1), e.g. with
# `--http 2` among the streamcheck options to run the suite over HTTP/2.
#   proxy_suite.sh [--browser] [--tls] STREAMCHECK MOCK PROXY PROFILE [streamcheck options...]
# Exit: streamcheck's exit code (0 all passed), 1 a browser verdict was wrong, 2 setup failed.
set -uo pipefail
browser=0 tls=0
[ "${1:-}" = "--browser" ] && { browser=1; shift; }
[ "${1:-}" = "--tls" ] && { tls=1; shift; }
streamcheck=$1 mock=$2 proxy=$3 profile=$4
shift 4
here=$(cd "$(dirname "$0")/../tests/browser" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/streamcheck-proxy-suite.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
scheme=http tls_args=()
if [ $tls -eq 1 ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" \
    >/dev/null 2>&1 || { echo "setup: openssl could not make a certificate" >&2; exit 2; }
  scheme=https tls_args=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
fi

# Waits (10 s at most) for a port file and prints the port.
wait_port() {
  for _ in $(seq 100); do
    [ -s "$1" ] && { cat "$1"; return 0; }
    sleep 0.1
  done
  echo "setup: no port in $1 after 10 s" >&2
  return 1
}

# Starts a proxy in front of the mock with the given origins (in this shell, not a $(...)
# subshell, so that cleanup() stops it); its port lands in $work/NAME.port.
start_proxy() {
  local name=$1
  shift
  "$proxy" --listen 127.0.0.1:0 --port-file "$work/$name.port" \
    --upstream "http://127.0.0.1:$mock_port" --access-log "$work/$name.log" "${tls_args[@]}" "$@" \
    2>"$work/$name.err" &
  pids+=($!)
}

"$mock" --listen 127.0.0.1:0 --port-file "$work/mock.port" --control 127.0.0.1:0 \
  --control-port-file "$work/control.port" >"$work/mock.log" 2>&1 &
pids+=($!)
mock_port=$(wait_port "$work/mock.port") || exit 2
control_port=$(wait_port "$work/control.port") || exit 2
start_proxy proxy --allow-origin https://app.example.test --allow-origin 'http://app.example.test:*'
proxy_port=$(wait_port "$work/proxy.port") || { cat "$work/proxy.err"; exit 2; }

"$streamcheck" run --proxy "$scheme://127.0.0.1:$proxy_port" \
  --mock-control "http://127.0.0.1:$control_port" --profile "$profile" --strict --no-color "$@"
status=$?
[ $status -eq 0 ] || { echo "--- proxy stderr"; cat "$work/proxy.err"; }

if [ $browser -eq 1 ]; then
  if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ] || ! command -v node >/dev/null; then
    echo "note: chromium or node not found, the browser check is skipped"
    exit $status
  fi
  node "$here/page_server.js" "$work/page-result.json" >"$work/page.port" &
  pids+=($!)
  page_port=$(wait_port "$work/page.port") || exit 2
  seen=$("$here/browser_check.sh" "$page_port" "$work/page-result.json" \
    "$scheme://127.0.0.1:$proxy_port" ollama "$work/chromium")
  echo "chromium through streamcheck-proxy (origin allowed): $seen"
  [ "$seen" = "readable" ] || status=1
  # The control: the same proxy without the page's origin must be unreadable to Chromium.
  start_proxy strict --allow-origin https://app.example.test
  strict_port=$(wait_port "$work/strict.port") || exit 2
  seen=$("$here/browser_check.sh" "$page_port" "$work/page-result.json" \
    "$scheme://127.0.0.1:$strict_port" ollama "$work/chromium-strict")
  echo "chromium through streamcheck-proxy (origin not allowed): $seen"
  [ "${seen#blocked}" != "$seen" ] || status=1
fi
exit $status
