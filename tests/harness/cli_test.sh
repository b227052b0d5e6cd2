#!/usr/bin/env bash
# The harness's command line: usage errors exit 3, unreachable targets exit 2 within seconds with
# one clear line, a failing proxy exits 1, a clean one 0. Real processes, loopback only.
#   cli_test.sh STREAMCHECK MOCK
set -uo pipefail
sc=$1 mock=$2
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
failures=0 passed=0

# shellcheck source=expect.sh
. "$(dirname "$0")/expect.sh"

# A port nothing listens on: bind 0, read it back, release it.
dead=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

"$mock" --listen 127.0.0.1:0 --control 127.0.0.1:0 --port-file "$work/port" --control-port-file "$work/cport" >/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/cport" ] && break; sleep 0.05; done
port=$(cat "$work/port") cport=$(cat "$work/cport")

expect "no command" 3 "missing command" 2 "$sc"
expect "unknown command" 3 "unknown command 'frobnicate'" 2 "$sc" frobnicate
expect "unknown option" 3 "unknown option '--bogus'" 2 "$sc" run --bogus
expect "missing --proxy" 3 "needs --proxy URL and --mock-control URL" 2 "$sc" run --mock-control http://127.0.0.1:1
expect "not a URL" 3 "not an http\(s\) URL" 2 "$sc" run --proxy localhost:8080 --mock-control "http://127.0.0.1:$cport"
expect "bad profile" 3 "unknown profile 'fast'" 2 "$sc" run --profile fast
expect "bad report format" 3 "unknown format 'xml'" 2 "$sc" run --report xml
expect "bad tolerance" 3 "tolerance-mult" 2 "$sc" run --tolerance-mult abc
expect "help" 0 "usage: streamcheck" 2 "$sc" help
# Each flag's own validation, in both value forms, naming the flag as typed.
expect "--flag=value form" 3 "[-]-profile: unknown profile 'fast'" 2 "$sc" run --profile=fast
expect "missing value" 3 "[-]-proxy needs a value" 2 "$sc" run --proxy
expect "switch given a value" 3 "[-]-strict takes no value" 2 "$sc" run --strict=yes
expect "bad origin" 3 "[-]-origin: not an http\(s\) origin: 'ftp://x'" 2 "$sc" run --origin ftp://x
expect "bad host" 3 "[-]-host: not a host name: 'a/b'" 2 "$sc" run --host 'a/b'
expect "bad public host" 3 "[-]-public-host: not a host name: 'a b'" 2 "$sc" run --public-host 'a b'
expect "bad base path" 3 "[-]-base-path: a path such as /ollama/, got 'http://x/'" 2 "$sc" run --base-path http://x/
expect "bad upstream profile" 3 "[-]-upstream-profile: unknown profile 'nope'" 2 "$sc" run --upstream-profile nope
expect "bad listen port" 3 "[-]-listen-port: expected a port number, got '0'" 2 "$sc" nginx x.conf --listen-port 0
expect "bad --http" 3 "[-]-http: expected auto, 1.1, 2, h2c or both, got '3'" 2 "$sc" run --http 3
expect "bad user" 3 "[-]-user: expected USER:PASS" 2 "$sc" run --user nopass
expect "bad header, value not echoed" 3 "[-]-header: expected 'Name: value', got a malformed header \(see" 2 \
  "$sc" run --header 'secret-without-colon'
expect "-- outside exec" 3 "unknown option '--'" 2 "$sc" run -- x
expect "--fix outside nginx" 3 "[-]-fix works with streamcheck nginx only" 2 "$sc" run --fix
expect "stray word" 3 "unknown option 'stray'" 2 "$sc" run stray
expect "list --json" 0 '"requirement"' 2 "$sc" list --json
# Every flag accepted before the option table still is, and is in the help.
"$sc" help >"$work/help"
for f in proxy mock-control profile check skip tolerance-mult proxy-kind report origin public-host \
  upstream-profile nginx server prefix listen-port after-suite include-root base-path header user \
  strict no-color json keep-temp fix keep-certificates http; do
  "$sc" list "--$f=1" >/dev/null 2>"$work/flag-err"
  if grep -q "unknown option '--$f'" "$work/flag-err" || ! grep -q -- "--$f" "$work/help"; then
    echo "FAIL --$f: not accepted or not in help: $(cat "$work/flag-err")"
    failures=$((failures + 1))
  else
    passed=$((passed + 1))
  fi
done
# Every flag of a run accepted together: the run gets as far as the (unreachable) mock.
expect "all run flags together" 2 "cannot reach the mock's control API" 5 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control="http://127.0.0.1:$dead" --skip 'x.*' \
  --strict --proxy-kind nginx --origin https://a.test --public-host h.test --header 'X-A: b' \
  --user u:p --base-path /ollama/ --tolerance-mult=2 --no-color --check '*'
# The mock's flags through the same table: --policy and its old name --profile.
expect "mock --profile alias" 3 "streamcheck-mock: --profile: unknown policy 'nope'" 2 "$mock" --profile nope
expect "mock --policy=" 3 "streamcheck-mock: --policy: unknown policy 'nope'" 2 "$mock" --policy=nope
expect "mock missing value" 3 "streamcheck-mock: --listen needs a value \(see --help\)" 2 "$mock" --listen
expect "mock bad threads" 3 "[-]-threads: expected a positive number, got '0'" 2 "$mock" --threads 0
expect "mock help lists the alias" 0 "\(also --profile\)" 2 "$mock" --help
expect "list" 0 "stream.first-token" 2 "$sc" list
# The requirements state the bounds the run would apply, not fixed numbers.
expect "list states the tolerances in force" 0 "stream.first-token .* within 200 ms of" 2 \
  "$sc" list --tolerance-mult 2
expect "list states the profile's figures" 0 "\"256 concurrent streams \\(the standard profile" 2 \
  "$sc" list --json --profile standard
expect "list --json names the fixtures" 0 "\"fixture\": \"fixtures/nginx/defaults\"" 2 \
  "$sc" list --json
expect "list --json names analysis rules" 0 "\"rule\": \"buffering\"" 2 "$sc" list --json
expect "mock control unreachable" 2 "cannot reach the mock's control API" 5 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$dead"
expect "proxy unreachable" 2 "cannot reach the proxy at http://127.0.0.1:$dead" 7 \
  "$sc" run --proxy "http://127.0.0.1:$dead" --mock-control "http://127.0.0.1:$cport"
expect "control URL is not a mock" 2 "cannot reach the mock's control API" 5 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$port"
# A "proxy" that accepts connections and never answers, and one that answers garbage.
node -e 'const net=require("net");
  const mute=net.createServer(()=>{}).listen(0,"127.0.0.1",()=>{
  const junk=net.createServer(c=>{c.on("error",()=>{});c.end("\x00\xffnot http at all\r\n\r\n")}).listen(0,"127.0.0.1",()=>{
  console.log(mute.address().port+" "+junk.address().port)})})' >"$work/hostile" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/hostile" ] && break; sleep 0.05; done
read -r mute junk <"$work/hostile"
expect "proxy never answers" 2 "cannot reach the proxy.*[Tt]imeout" 8 \
  "$sc" run --proxy "http://127.0.0.1:$mute" --mock-control "http://127.0.0.1:$cport"
expect "proxy answers garbage" 2 "cannot reach the proxy" 8 \
  "$sc" run --proxy "http://127.0.0.1:$junk" --mock-control "http://127.0.0.1:$cport"
# --http 2 requires h2 (ALPN on TLS): the mock's cleartext HTTP/1.1 is a setup error, said at once.
expect "--http 2 without h2" 2 "did not negotiate HTTP/2 \(it answered over HTTP/1.1: h2 over TLS needs an https:// URL" 5 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$cport" --http 2
expect "--http h2c on an HTTP/1.1 listener" 2 "cannot reach the proxy at http://127.0.0.1:$port over h2c" 8 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$cport" --http h2c
# The mock as its own "proxy" (a permissive upstream, nothing in between): no MUST fails; only
# headers.forwarded (SHOULD) warns, since nothing adds forwarding headers, and cors.proxy-errors
# (SHOULD) is inconclusive: with no proxy in between there is no error of a proxy's own to judge.
expect "mock as its own proxy passes" 0 " 0 failed, 1 inconclusive, 0 skipped" 40 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$cport" --profile quick \
  --upstream-profile ollama-open --no-color
expect "report files" 0 "" 30 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$cport" --profile quick \
  --check 'api.*' --report "json:$work/r.json" --report "junit:$work/r.xml" --report "markdown:$work/r.md"
for f in r.json r.xml r.md; do
  if [ -s "$work/$f" ]; then passed=$((passed + 1)); else echo "FAIL report $f missing"; failures=$((failures + 1)); fi
done
# Every command's own help, exit 0, whatever else is (not) given.
for cmd in run self-test nginx exec list; do
  expect "$cmd --help" 0 "usage: streamcheck $cmd" 2 "$sc" "$cmd" --help
done
expect "run --help shows run's options" 0 "[-]-mock-control" 2 "$sc" run --help
expect "nginx -h shows nginx's options" 0 "[-]-listen-port" 2 "$sc" nginx -h
expect "help CMD" 0 "usage: streamcheck exec" 2 "$sc" help exec
expect "help of an unknown command" 3 "unknown command 'nope'" 2 "$sc" nope --help
# Report destinations are checked before the run: exit 2 at once, nothing run.
expect "report into a missing directory" 2 "cannot write $work/no/such/dir/x.xml" 2 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$cport" \
  --report "junit:$work/no/such/dir/x.xml"
expect "report onto a directory" 2 "$work is a directory" 2 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$cport" \
  --report "json:$work"
expect "two reports to one file" 2 "named by two --report" 2 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$cport" \
  --report "json:$work/same" --report "junit:$work/same"
# A report that passes the check but cannot be written (a full disk): exit 2, never 0.
expect "report write fails" 2 "cannot write /dev/full" 30 \
  "$sc" run --proxy "http://127.0.0.1:$port" --mock-control "http://127.0.0.1:$cport" --profile quick \
  --check 'api.*' --upstream-profile ollama-open --report "json:/dev/full"
# A setup error still writes the JSON and JUnit reports, saying why.
rm -f "$work/setup.json" "$work/setup.xml"
expect "setup error writes its reports" 2 "cannot reach the proxy" 7 \
  "$sc" run --proxy "http://127.0.0.1:$dead" --mock-control "http://127.0.0.1:$cport" \
  --report "json:$work/setup.json" --report "junit:$work/setup.xml"
if grep -q '"setup"' "$work/setup.json" 2>/dev/null && grep -q 'cannot reach the proxy' "$work/setup.json" &&
  grep -q '<error' "$work/setup.xml" 2>/dev/null; then
  passed=$((passed + 1))
else
  echo "FAIL setup error reports: $(head -c 300 "$work/setup.json" 2>&1) $(head -c 300 "$work/setup.xml" 2>&1)"
  failures=$((failures + 1))
fi
echo "cli: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
