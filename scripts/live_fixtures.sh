#!/usr/bin/env bash
# streamcheck live against running proxies in front of streamcheck-mock --no-stamps (a stand-in
# for a real Ollama: real-looking timings, no timing stamps for the harness to lean on):
# streamcheck-proxy and the recommended nginx config must pass; nginx defaults (buffering) and
# the gzip fixture must fail exactly the checks that say so; each with and without --direct.
# CORS on the server's own policy: the mock keeps Ollama's default origins (a foreign origin gets
# a bare 403), so nginx defaults fail live.cors.*; a second mock with OLLAMA_ORIGINS=* behind the
# cors-doubled fixture gets its header twice.
# Then bad input, each a one-line error and exit 2 within seconds: proxy unreachable, direct
# unreachable, an HTML server, an unknown model, a server with no model, a 401 from the proxy
# itself and one from the server behind it.
# With --agreement: instead, on the same fixtures (streamcheck-proxy, the recommended nginx,
# nginx defaults, gzip), live and the scripted suite (quick profile, the same Ollama policy) must
# give the same verdict on every check both have: each live check's scripted twin is read from
# its JSON report ("scripted"), declared once in harness/live/checks.cc.
#   live_fixtures.sh [--agreement] STREAMCHECK MOCK PROXY REPO_ROOT
set -uo pipefail
mode=fixtures
[ "${1:-}" = --agreement ] && { mode=agreement; shift; }
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

# mock NAME FLAGS...: another stand-in; sets url.
start_mock() {
  local name=$1
  shift
  "$mock" --no-stamps --listen 127.0.0.1:0 --port-file "$work/$name.port" "$@" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_file "$work/$name.port" || { echo "FAIL: mock $name did not start"; exit 1; }
  url=http://127.0.0.1:$(cat "$work/$name.port")
}

# reference NAME UPSTREAM: streamcheck-proxy with its recommended CORS (the app's origin allowed).
start_reference() {
  "$proxy" --listen 127.0.0.1:0 --port-file "$work/$1.port" --upstream "$2" \
    --allow-origin https://app.example.test --log-format off >"$work/$1.log" 2>&1 &
  pids+=($!)
  wait_file "$work/$1.port" || { echo "FAIL: streamcheck-proxy $1 did not start"; exit 1; }
  url=http://127.0.0.1:$(cat "$work/$1.port")
}
start_reference proxy "$mock_url"
reference=$url

# nginx NAME CONF [UPSTREAM]: runs CONF in a private prefix with its listen and upstream moved to
# loopback (the mock, or UPSTREAM); sets url to its URL.
start_nginx() {
  local name=$1 conf=$2 upstream=${3:-$mock_url} prefix="$work/$1" port
  mkdir -p "$prefix"
  for _ in 1 2 3; do
    port=$(free_port)
    sed -e "s/listen 8080;/listen 127.0.0.1:$port;/" \
      -e "s/127\.0\.0\.1:11434/${upstream#http://}/g" \
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

# The stand-in stamps nothing, so no live verdict can have leaned on a stamp.
if grep -q '"streamcheck"' <(curl -sN "$mock_url/api/chat" -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}'); then
  echo "FAIL: streamcheck-mock --no-stamps still stamps its events"
  failures=$((failures + 1))
fi
start_nginx recommended "$root/nginx/ollama.conf" || exit 1
recommended=$url
start_nginx defaults "$root/fixtures/nginx/defaults.conf" || exit 1
defaults=$url
start_nginx gzip "$root/fixtures/nginx/gzip-stream-types.conf" || exit 1
gzip=$url

# agree NAME URL SCRIPTED-COMMAND...: live with --direct through URL, then the scripted suite on
# the same fixture restricted to the twins; every verdict both judged must match.
agree() {
  local name=$1 target=$2 out="$work/agree-$1"
  shift 2
  mkdir -p "$out"
  "$streamcheck" live --proxy "$target" --direct "$mock_url" --max-tokens 24 \
    --report "json:$out/live.json" >/dev/null 2>"$out/live.err"
  local checks=() twin
  for twin in $(node -e 'for (const c of JSON.parse(require("fs").readFileSync(process.argv[1])).checks)
      if (c.scripted) console.log(c.scripted)' "$out/live.json" 2>/dev/null); do
    checks+=(--check "$twin")
  done
  [ ${#checks[@]} -gt 0 ] || { echo "FAIL $name: no live report: $(cat "$out/live.err")"; failures=$((failures + 1)); return; }
  local command=$1
  shift
  "$streamcheck" "$command" --profile quick --upstream-profile ollama --no-color "${checks[@]}" \
    --report "json:$out/scripted.json" "$@" >"$out/scripted.out" 2>&1
  local verdict
  verdict=$(node -e '
    const fs = require("fs");
    const read = (f) => JSON.parse(fs.readFileSync(f)).checks;
    const scripted = new Map(read(process.argv[2]).map((c) => [c.id, c.result]));
    const out = [];
    let agreed = 0;
    for (const c of read(process.argv[1])) {
      if (!c.scripted || c.result === "skip") continue;
      const other = scripted.get(c.scripted);
      if (other === c.result) agreed++;
      else out.push(c.id + " " + c.result + " but " + c.scripted + " " + other);
    }
    console.log(out.length ? "DISAGREE " + out.join("; ") : agreed + " shared checks agree");
  ' "$out/live.json" "$out/scripted.json" 2>&1)
  case $verdict in
    *" shared checks agree") echo "ok   agreement $name: $verdict" ;;
    *) echo "FAIL agreement $name: $verdict"; tail -5 "$out/scripted.out"; failures=$((failures + 1)) ;;
  esac
}

if [ $mode = agreement ]; then
  agree streamcheck-proxy "$reference" exec -- "$proxy" --listen {listen} \
    --upstream http://{upstream} --allow-origin https://app.example.test --log-format off
  agree nginx-recommended "$recommended" nginx "$root/nginx/ollama.conf"
  agree nginx-defaults "$defaults" nginx "$root/fixtures/nginx/defaults.conf"
  agree nginx-gzip "$gzip" nginx "$root/fixtures/nginx/gzip-stream-types.conf"
  [ $failures -eq 0 ] || { echo "$failures fixture(s) disagree"; exit 1; }
  echo "live and the scripted suite agree on every fixture"
  exit 0
fi

expect streamcheck-proxy "" --proxy "$reference"
expect streamcheck-proxy.direct "" --proxy "$reference" --direct "$mock_url"
expect nginx-recommended "" --proxy "$recommended"
expect nginx-recommended.direct "" --proxy "$recommended" --direct "$mock_url"
# Buffered: the whole answer at once. The gzip block holds it the same way, and only for a
# client that asks for compression.
# ... and it passes Ollama's refusal of the foreign origin on: no CORS at all.
defaults_cors="fail live.cors.preflight fail live.cors.stream-response inconclusive live.cors.vary-origin"
expect nginx-defaults "fail live.compressed-client fail live.no-buffering $defaults_cors" \
  --proxy "$defaults"
expect nginx-defaults.direct \
  "fail live.compressed-client fail live.first-token fail live.no-buffering $defaults_cors" \
  --proxy "$defaults" --direct "$mock_url"
if ! grep -q "the server answers so itself" "$work/nginx-defaults.direct/report.json"; then
  echo "FAIL nginx-defaults.direct: the cors failure does not say the server refuses the origin"
  failures=$((failures + 1))
fi
# SSE (OpenAI API): no eval_duration in the stream, judged against the time to the last byte.
expect streamcheck-proxy.openai "" --proxy "$reference" --api openai
expect nginx-defaults.openai "fail live.compressed-client fail live.no-buffering $defaults_cors" \
  --proxy "$defaults" --api openai
expect nginx-gzip "fail live.compressed-client" --proxy "$gzip"
expect nginx-gzip.direct "fail live.compressed-client" --proxy "$gzip" --direct "$mock_url"
# nginx adds CORS and so does an upstream with OLLAMA_ORIGINS=*: browsers refuse the stream.
start_mock open --policy ollama-open
open_url=$url
start_nginx cors-doubled "$root/fixtures/nginx/cors-doubled.conf" "$open_url" || exit 1
expect nginx-cors-doubled "fail live.cors.single-value fail live.cors.stream-response" --proxy "$url"
# An upstream that wants an API key, with the key: everything passes.
start_mock keyed-mock --api-key sekrit-key
keyed_mock=$url
start_reference keyed "$keyed_mock"
keyed=$url
expect keyed.with-header "" --proxy "$keyed" --header 'Authorization: Bearer sekrit-key'

closed=http://127.0.0.1:$(free_port)
bad proxy-unreachable "cannot reach the proxy at $closed" --proxy "$closed"
bad direct-unreachable "cannot reach the direct server at $closed" \
  --proxy "$reference" --direct "$closed"
bad unknown-model "model 'no-such-model' is not listed by" --proxy "$reference" --model no-such-model
start_mock empty --no-models
bad no-model "lists no model: pull one" --proxy "$url"
bad no-model.named "model 'llama3.2' is not listed by $url (it lists none)" --proxy "$url" \
  --model llama3.2
# The server behind the proxy wants a key: its JSON 401 passed on names --header.
bad upstream-401 "the server behind the proxy at $keyed refused GET /api/tags with HTTP 401 \"Invalid API Key\" (the proxy passed it on): it wants an API key, pass it with --header" \
  --proxy "$keyed"
bad upstream-401.wrong-key "the server behind the proxy at $keyed refused GET /api/tags with HTTP 401" \
  --proxy "$keyed" --header 'Authorization: Bearer wrong-key'

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
# nginx's own 401 page: the proxy refuses, not the server (told by the body, and with --direct
# by the server answering directly).
bad proxy-401 "the proxy at $errors/locked refused GET /api/tags with HTTP 401 itself (not the server's JSON error): it wants credentials, pass them with --header" \
  --proxy "$errors/locked" --header 'Authorization: Bearer wrong-key'
bad proxy-401.direct "refused GET /api/tags with HTTP 401 itself (the server answers directly)" \
  --proxy "$errors/locked" --direct "$mock_url"
# The credentials never reach a report or a reproduction.
if grep -rq "wrong-key\|sekrit-key" "$work"/*.out "$work"/*.err "$work"/keyed.with-header; then
  echo "FAIL: the --header value was printed"
  failures=$((failures + 1))
fi

[ $failures -eq 0 ] || { echo "$failures live case(s) failed"; exit 1; }
echo "all live cases passed"
