#!/usr/bin/env bash
# streamcheck live against running proxies in front of streamcheck-mock --no-stamps (a stand-in
# for a real Ollama: real-looking timings, no timing stamps for the harness to lean on):
# streamcheck-proxy and the recommended nginx config must pass; nginx defaults (buffering) and
# the gzip fixture must fail exactly the checks that say so; each with and without --direct.
# Then bad input, each a one-line error and exit 2 within seconds: proxy unreachable, direct
# unreachable, an HTML server, an unknown model, a 401.
#   live_fixtures.sh STREAMCHECK MOCK PROXY REPO_ROOT
set -uo pipefail
streamcheck=$1 mock=$2 proxy=$3 root=$4
nginx=${NGINX:-/usr/sbin/nginx}
[ -x "$nginx" ] || { echo "SKIP: nginx not found at $nginx"; exit 77; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failures=0

wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

"$mock" --no-stamps --listen 127.0.0.1:0 --port-file "$work/mock.port" >"$work/mock.log" 2>&1 &
pids+=($!)
wait_file "$work/mock.port" || { echo "FAIL: the mock did not start"; exit 1; }
mock_url=http://127.0.0.1:$(cat "$work/mock.port")

"$proxy" --listen 127.0.0.1:0 --port-file "$work/proxy.port" --upstream "$mock_url" \
  --log-format off >"$work/proxy.log" 2>&1 &
pids+=($!)
wait_file "$work/proxy.port" || { echo "FAIL: streamcheck-proxy did not start"; exit 1; }

# nginx NAME CONF: runs CONF in a private prefix with its listen and upstream moved to loopback
# (the mock); sets url to its URL.
start_nginx() {
  local name=$1 conf=$2 prefix="$work/$1" port
  mkdir -p "$prefix"
  for _ in 1 2 3; do
    port=$(free_port)
    sed -e "s/listen 8080;/listen 127.0.0.1:$port;/" \
      -e "s/127\.0\.0\.1:11434/${mock_url#http://}/g" \
      -e "s|^http {|http { access_log off; client_body_temp_path $prefix/body; proxy_temp_path $prefix/proxy; fastcgi_temp_path $prefix/fcgi; uwsgi_temp_path $prefix/uwsgi; scgi_temp_path $prefix/scgi;|" \
      "$conf" >"$prefix/nginx.conf"
    "$nginx" -p "$prefix" -c "$prefix/nginx.conf" \
      -g "daemon off; pid $prefix/nginx.pid; error_log $prefix/error.log;" \
      >>"$prefix/error.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { url="http://127.0.0.1:$port"; return 0; }
      kill -0 "${pids[-1]}" 2>/dev/null || break
      sleep 0.05
    done
  done
  echo "FAIL: nginx $name did not start: $(tail -2 "$prefix/error.log")" >&2
  return 1
}

# expect NAME "CHECK-RESULTS" ARGS...: the non-pass, non-skip verdicts must be exactly these.
expect() {
  local name=$1 want=$2 out="$work/$1"
  shift 2
  mkdir -p "$out"
  "$streamcheck" live "$@" --max-tokens 24 --report "json:$out/report.json" \
    --report "console:$out/console.txt" 2>"$out/stderr"
  local code=$?
  local got
  got=$(node -e 'for (const c of JSON.parse(require("fs").readFileSync(process.argv[1])).checks)
      if (c.result !== "pass" && c.result !== "skip") console.log(c.result + " " + c.id)' \
    "$out/report.json" 2>/dev/null | sort | tr '\n' ' ')
  [ -n "$want" ] && want=$(echo "$want" | tr ' ' '\n' | paste -d' ' - - | sort | tr '\n' ' ')
  local want_code=0
  [ -n "$want" ] && want_code=1
  if [ "$got" = "$want" ] && [ $code -eq $want_code ]; then
    echo "ok   $name: $(tail -1 "$out/console.txt")"
  else
    echo "FAIL $name: exit $code (want $want_code), got [$got] want [$want]"
    cat "$out/console.txt" "$out/stderr"
    failures=$((failures + 1))
  fi
}

# bad NAME "STDERR TEXT" ARGS...: exit 2 within 15 s, one line on stderr naming the cause.
bad() {
  local name=$1 text=$2
  shift 2
  local start=$SECONDS
  timeout 30 "$streamcheck" live "$@" >"$work/$name.out" 2>"$work/$name.err"
  local code=$? took=$((SECONDS - start)) lines
  lines=$(wc -l <"$work/$name.err")
  if [ $code -eq 2 ] && [ "$took" -le 15 ] && [ "$lines" -eq 1 ] && grep -qF "$text" "$work/$name.err"; then
    echo "ok   $name: exit 2 in ${took} s: $(cat "$work/$name.err")"
  else
    echo "FAIL $name: exit $code in ${took} s, stderr ($lines lines), want '$text':"
    cat "$work/$name.err"
    failures=$((failures + 1))
  fi
}

reference=http://127.0.0.1:$(cat "$work/proxy.port")
# The stand-in stamps nothing, so no live verdict can have leaned on a stamp.
if curl -sN "$mock_url/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}' | grep -q '"streamcheck"'; then
  echo "FAIL: streamcheck-mock --no-stamps still stamps its events"
  failures=$((failures + 1))
fi
start_nginx recommended "$root/nginx/ollama.conf" || exit 1
recommended=$url
start_nginx defaults "$root/fixtures/nginx/defaults.conf" || exit 1
defaults=$url
start_nginx gzip "$root/fixtures/nginx/gzip-stream-types.conf" || exit 1
gzip=$url

expect streamcheck-proxy "" --proxy "$reference"
expect streamcheck-proxy.direct "" --proxy "$reference" --direct "$mock_url"
expect nginx-recommended "" --proxy "$recommended"
expect nginx-recommended.direct "" --proxy "$recommended" --direct "$mock_url"
# Buffered: the whole answer at once. The gzip block holds it the same way, and only for a
# client that asks for compression.
expect nginx-defaults "fail live.compressed-client fail live.no-buffering" --proxy "$defaults"
expect nginx-defaults.direct \
  "fail live.compressed-client fail live.first-token fail live.no-buffering" \
  --proxy "$defaults" --direct "$mock_url"
# SSE (OpenAI API): no eval_duration in the stream, judged against the time to the last byte.
expect streamcheck-proxy.openai "" --proxy "$reference" --api openai
expect nginx-defaults.openai "fail live.compressed-client fail live.no-buffering" \
  --proxy "$defaults" --api openai
expect nginx-gzip "fail live.compressed-client" --proxy "$gzip"
expect nginx-gzip.direct "fail live.compressed-client" --proxy "$gzip" --direct "$mock_url"

closed=http://127.0.0.1:$(free_port)
bad proxy-unreachable "cannot reach the proxy at $closed" --proxy "$closed"
bad direct-unreachable "cannot reach the direct server at $closed" \
  --proxy "$reference" --direct "$closed"
bad unknown-model "model 'no-such-model' is not listed by" --proxy "$reference" --model no-such-model

cat >"$work/errors.conf" <<'EOF'
events {}
http {
    server {
        listen 8080;
        location / { default_type text/html; return 200 "<html><body>It works!</body></html>"; }
        location /locked/ { return 401; }
    }
}
EOF
start_nginx errors "$work/errors.conf" || exit 1
errors=$url
bad html-server "does not answer as an Ollama or OpenAI-compatible API" --proxy "$errors"
bad unauthorized "answered GET /api/tags with HTTP 401: it wants credentials" \
  --proxy "$errors/locked" --header 'Authorization: Bearer wrong-key'
# The credentials never reach a report or a reproduction.
if grep -rq "wrong-key" "$work"/*.out "$work"/*.err; then
  echo "FAIL: the --header value was printed"
  failures=$((failures + 1))
fi

[ $failures -eq 0 ] || { echo "$failures live case(s) failed"; exit 1; }
echo "all live cases passed"
