#!/usr/bin/env bash
# streamcheck haproxy CFG, caddy FILE, lighttpd CONF and apache CONF end to end: the user's file untouched,
# the proxy's own config check mapped to the user's file:line (exit 2), bad input as one-line
# setup errors, a good config passing and a faulty one failing, TLS binds with a throwaway
# certificate, nothing Caddy writes outside the temp prefix. Real processes. Exits 77 when
# neither proxy is installed.
#   managed_cmd_test.sh STREAMCHECK SOURCE_DIR
set -uo pipefail
sc=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0

# shellcheck source=expect.sh
. "$(dirname "$0")/expect.sh"

# The last expect's output quotes PATTERN (grep -E).
quoted() {
  if grep -qE "$2" "$work/out" "$work/err"; then
    passed=$((passed + 1))
  else
    echo "FAIL $1: the report does not quote \"$2\""
    failures=$((failures + 1))
  fi
}

have() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ]; }
have haproxy || have caddy || have lighttpd || have apache2 || { echo "no haproxy, caddy, lighttpd or apache2 installed"; exit 77; }

expect "haproxy without a file" 3 "haproxy needs the config file" 2 "$sc" haproxy
expect "caddy without a file" 3 "caddy needs the config file" 2 "$sc" caddy
expect "haproxy missing file" 2 "/nonexistent.cfg: no such file" 5 "$sc" haproxy /nonexistent.cfg

if have haproxy; then
  printf 'frontend f\n\tbind *:8080\n\tdefault_backend b\nbackend b\n\tserverr x 127.0.0.1:1\n\tserver y 127.0.0.1:1\n' >"$work/bad.cfg"
  expect "haproxy -c mapped to the user's line" 2 "parsing \[$work/bad.cfg:5\] : unknown keyword 'serverr'" 15 \
    "$sc" haproxy "$work/bad.cfg"
  printf 'frontend f\n\tbind *:8080\n\thttp-request return status 200\n' >"$work/noproxy.cfg"
  expect "haproxy config that proxies nothing" 2 "no server line in any backend" 10 \
    "$sc" haproxy "$work/noproxy.cfg"
  cp "$src/fixtures/haproxy/stock.cfg" "$work/stock.cfg"
  before=$(sha256sum "$work/stock.cfg")
  expect "stock HAProxy holds small events" 1 "✘ stream.first-token" 60 \
    "$sc" haproxy "$work/stock.cfg" --profile quick --check 'stream.first-token' --no-color
  # The static analysis quotes the user's own line in the fix (harness/haproxy/analysis.cc).
  quoted "HAProxy analysis" "in your config: the plain listener \`bind \*:8080\` at $work/stock.cfg:27"
  [ "$before" = "$(sha256sum "$work/stock.cfg")" ] || { echo "FAIL stock.cfg was modified"; failures=$((failures + 1)); }
  expect "recommended HAProxy passes" 0 "0 failed" 60 \
    "$sc" haproxy "$src/proxies/haproxy/ollama.cfg" --profile quick --no-color \
    --check 'stream.*' --check 'cors.*' --check 'upstream.*' --check 'abort.cancel-*'
  # Two binds, one TLS with a certificate that is not here: both tested, the TLS one with a
  # throwaway certificate (HAProxy's small-event hold shows on the plain listener only).
  sed 's|^\tbind \*:8080$|\tbind *:8080\n\tbind *:8443 ssl crt /etc/ssl/private/ollama.pem|' \
    "$src/proxies/haproxy/ollama.cfg" >"$work/two-binds.cfg"
  expect "HAProxy plain and TLS binds" 0 "a throwaway one is used" 90 \
    "$sc" haproxy "$work/two-binds.cfg" --profile quick --no-color --check 'stream.first-token'
  grep -q "https://127.0.0.1" "$work/err" || { echo "FAIL TLS bind not tested"; failures=$((failures + 1)); }
  # A frontend routing by Host, its default backend another site's 404: the routed name is sent
  # (host.cfg's verdicts: HAProxy's hold, a local Host towards Ollama) ...
  expect "HAProxy routed by Host gets the routed name" 1 "✘ stream.first-token .*late" 60 \
    "$sc" haproxy "$src/fixtures/haproxy/host-routed.cfg" --profile quick --no-color \
    --check 'stream.first-token' --check 'upstream.host-accepted'
  grep -q "routes Host ollama.example.com to backend ollama (line 29)" "$work/out" || { echo "FAIL no routed-Host note"; failures=$((failures + 1)); }
  grep -q "✔ upstream.host-accepted" "$work/out" || { echo "FAIL routed backend's Host fix not seen"; failures=$((failures + 1)); }
  # ... and without it (--host overrides) the suite meets the default backend's 404.
  expect "HAProxy routed by Host, another --host" 1 "never reached the upstream \(client saw HTTP 404\)" 60 \
    "$sc" haproxy "$src/fixtures/haproxy/host-routed.cfg" --host 127.0.0.1 --profile quick \
    --no-color --check 'stream.first-token'
  # --host through a proxy that passes Host on: Ollama's 403 blocks the other checks, never blamed
  # on buffering.
  expect "--host refused by the upstream blocks the other checks" 1 "blocked by: +upstream.host-accepted" 60 \
    "$sc" haproxy "$src/fixtures/haproxy/stock.cfg" --host ollama.example.com --profile quick \
    --no-color --check 'stream.first-token' --check 'upstream.host-accepted'
  grep -q "? stream.first-token .*403 for Host ollama.example.com" "$work/out" || { echo "FAIL stream.first-token not inconclusive"; failures=$((failures + 1)); }
fi

if have caddy; then
  printf ':8080 {\n\treverse_proxyy localhost:11434\n}\n' >"$work/bad.Caddyfile"
  expect "caddy adapt names the user's line" 2 "$work/bad.Caddyfile:2: unrecognized directive: reverse_proxyy" 15 \
    "$sc" caddy "$work/bad.Caddyfile"
  printf ':8080 {\n\trespond "hi"\n}\n' >"$work/noproxy.Caddyfile"
  expect "Caddy config that proxies nothing" 2 "no HTTP server with a reverse_proxy" 15 \
    "$sc" caddy "$work/noproxy.Caddyfile"
  echo '{"apps": ' >"$work/bad.json"
  expect "Caddy JSON that is not JSON" 2 "not a Caddy JSON config" 10 "$sc" caddy "$work/bad.json"
  # A host-routed site with automatic HTTPS: tested over HTTPS on loopback with a throwaway
  # certificate, no ACME, no admin endpoint, nothing in HOME.
  printf 'ollama.example.com {\n\treverse_proxy localhost:11434 {\n\t\tflush_interval -1\n\t}\n}\n' \
    >"$work/site.Caddyfile"
  expect "flush_interval -1 breaks cancellation" 1 "✘ abort.cancel-before-first-token" 60 \
    env HOME="$work/home" "$sc" caddy "$work/site.Caddyfile" --profile quick --no-color \
    --check 'abort.cancel-*'
  quoted "Caddy analysis" "in your config: \`flush_interval -1\` at $work/site.Caddyfile:[0-9]+"
  grep -q "listening on https://127.0.0.1:[0-9]* (srv0 (:443 ollama.example.com, TLS))" "$work/err" || { echo "FAIL Caddy's HTTPS site not tested over TLS"; failures=$((failures + 1)); }
  [ ! -e "$work/home" ] || { echo "FAIL Caddy wrote into HOME: $(find "$work/home" | head -3)"; failures=$((failures + 1)); }
  # Two sites on one port, routed by host name: the suite reaches the proxying one (Caddy's host
  # matchers dropped), never the other site's answer.
  printf 'www.example.com {\n\trespond "www site" 200\n}\nollama.example.com {\n\treverse_proxy localhost:11434\n}\n' \
    >"$work/two-sites.Caddyfile"
  expect "Caddy's proxying site is the one tested" 0 "✔ stream.first-token" 60 \
    env HOME="$work/home" "$sc" caddy "$work/two-sites.Caddyfile" --profile quick --no-color \
    --check 'stream.first-token'
  # An HTTPS site beside a plain http:// one: each tested over the protocol Caddy serves it with.
  printf 'http://:8080 {\n\treverse_proxy localhost:11434\n}\nollama.example.com {\n\treverse_proxy localhost:11434\n}\n' \
    >"$work/https.Caddyfile"
  expect "Caddy's HTTPS site over TLS, its http:// site plain" 0 "✔ stream.first-token" 60 \
    env HOME="$work/home" "$sc" caddy "$work/https.Caddyfile" --profile quick --no-color \
    --check 'stream.first-token'
  grep -q "on https://127.0.0.1:[0-9]* (srv0 (:443 ollama.example.com, TLS))" "$work/err" || { echo "FAIL Caddy's HTTPS site not tested over TLS"; failures=$((failures + 1)); }
  grep -q "on http://127.0.0.1:[0-9]* (srv1 (:8080))" "$work/err" || { echo "FAIL Caddy's http:// site not tested plain"; failures=$((failures + 1)); }
  grep -q "throwaway certificate" "$work/err" || { echo "FAIL no throwaway-certificate note"; failures=$((failures + 1)); }
  [ ! -e "$work/home" ] || { echo "FAIL Caddy wrote into HOME: $(find "$work/home" | head -3)"; failures=$((failures + 1)); }
  expect "recommended Caddyfile passes" 0 "0 failed" 60 \
    "$sc" caddy "$src/proxies/caddy/Caddyfile" --profile quick --no-color \
    --check 'stream.*' --check 'cors.*' --check 'upstream.*' --check 'abort.cancel-*'
fi

if have lighttpd; then
  printf 'server.port = 8080\nproxy.server = ( "" => ( ( "host" => "127.0.0.1", "port" => 11434 ) )\n' \
    >"$work/bad-lighttpd.conf"
  expect "lighttpd's parser names the user's line" 2 "source: $work/bad-lighttpd.conf line: 3" 15 \
    "$sc" lighttpd "$work/bad-lighttpd.conf"
  printf 'server.port = 8080\nserver.document-root = "/var/www/html"\n' >"$work/noproxy-lighttpd.conf"
  expect "lighttpd config that proxies nothing" 2 "no proxy.server" 15 \
    "$sc" lighttpd "$work/noproxy-lighttpd.conf"
  expect "stock lighttpd buffers" 1 "✘ stream.first-token" 60 \
    "$sc" lighttpd "$src/fixtures/lighttpd/stock.conf" --profile quick --no-color \
    --check 'stream.first-token'
  quoted "lighttpd analysis" "in your config: server.stream-response-body is not set"
  expect "lighttpd with streaming on" 0 "0 failed" 60 \
    "$sc" lighttpd "$src/fixtures/lighttpd/stream-response-body.conf" --profile quick --no-color \
    --check 'stream.*' --check 'abort.cancel-propagates' --check 'abort.truncation-visible'
fi

expect "apache without a file" 3 "apache needs the config file" 2 "$sc" apache
# Not installed: /usr/sbin hidden in a private mount namespace (root only; skipped otherwise).
if unshare -m true 2>/dev/null; then
  printf 'Listen 8080\n' >"$work/any-apache.conf"
  expect "apache2 not installed names the package" 2 "install the Debian package apache2" 5 \
    unshare -m sh -c 'mount -t tmpfs none /usr/sbin && PATH=/nonexistent exec "$@"' sh \
    "$sc" apache "$work/any-apache.conf"
fi

if have apache2; then
  # A site file (no LoadModule: run as a Debian site); apache2 -t's line is the user's line.
  printf 'Listen 8080\n<VirtualHost *:8080>\n\tProxyPass / http://127.0.0.1:11434/\n\tProxyTimeoutt 600\n</VirtualHost>\n' \
    >"$work/bad-apache.conf"
  expect "apache2 -t mapped to the user's line" 2 "Syntax error on line 4 of $work/bad-apache.conf" 15 \
    "$sc" apache "$work/bad-apache.conf"
  printf 'Listen 8080\n<VirtualHost *:8080>\n\tDocumentRoot /var/www/html\n</VirtualHost>\n' \
    >"$work/noproxy-apache.conf"
  expect "apache config that proxies nothing" 2 "proxies nothing" 10 \
    "$sc" apache "$work/noproxy-apache.conf"
  # A site file without Listen (Debian keeps it in ports.conf): one added for its VirtualHost.
  printf '<VirtualHost *:8080>\n\tProxyPass / http://127.0.0.1:11434/\n</VirtualHost>\n' \
    >"$work/site-apache.conf"
  expect "Apache site file runs as a Debian site" 0 "Listen 8080 added for its VirtualHosts" 60 \
    "$sc" apache "$work/site-apache.conf" --profile quick --no-color --check 'stream.first-token'
  # Name-based VirtualHosts: the first on the port serves files, the second proxies; without
  # the added ServerAlias the suite's Host would get the first one's 404.
  printf 'Listen 8080\n<VirtualHost *:8080>\n\tServerName www.example.com\n\tDocumentRoot /var/www/html\n</VirtualHost>\n<VirtualHost *:8080>\n\tServerName ollama.example.com\n\tProxyPass / http://127.0.0.1:11434/\n</VirtualHost>\n' \
    >"$work/named-apache.conf"
  expect "Apache's proxying VirtualHost is the one tested" 0 "ServerAlias 127.0.0.1 added" 60 \
    "$sc" apache "$work/named-apache.conf" --profile quick --no-color --check 'stream.first-token'
  cp "$src/fixtures/apache/stock.conf" "$work/stock-apache.conf"
  before=$(sha256sum "$work/stock-apache.conf")
  expect "stock Apache misses a cancel before the first token" 1 "✘ abort.cancel-before-first-token" 60 \
    "$sc" apache "$work/stock-apache.conf" --profile quick --no-color \
    --check 'stream.first-token' --check 'abort.cancel-before-first-token'
  [ "$before" = "$(sha256sum "$work/stock-apache.conf")" ] || { echo "FAIL stock-apache.conf was modified"; failures=$((failures + 1)); }
  grep -q "(Apache 2\.4" "$work/out" "$work/err" || { echo "FAIL the report does not name the Apache version"; failures=$((failures + 1)); }
  expect "recommended Apache passes" 0 "0 failed" 60 \
    "$sc" apache "$src/proxies/apache/ollama.conf" --profile quick --no-color \
    --check 'stream.*' --check 'cors.*' --check 'upstream.*'
  # Debian's own layout: a copy of /etc/apache2 (apache2.conf, envvars' ${APACHE_*}, ports.conf,
  # mods-enabled/*.load relative to ServerRoot) with proxy enabled and one site.
  if [ -f /etc/apache2/apache2.conf ]; then
    cp -r /etc/apache2 "$work/etc-apache2"
    rm -f "$work/etc-apache2/sites-enabled/"*
    ln -sf ../mods-available/proxy.load "$work/etc-apache2/mods-enabled/proxy.load"
    ln -sf ../mods-available/proxy_http.load "$work/etc-apache2/mods-enabled/proxy_http.load"
    printf '<VirtualHost *:80>\n\tProxyPass / http://127.0.0.1:11434/\n</VirtualHost>\n' \
      >"$work/etc-apache2/sites-enabled/ollama.conf"
    expect "Debian's apache2.conf with a proxy site" 0 "0 failed" 60 \
      "$sc" apache "$work/etc-apache2/apache2.conf" --profile quick --no-color --check 'stream.first-token'
  fi
  # Plain and TLS listeners, the TLS certificate not on this machine: both tested.
  sed 's|^Listen 8080$|Listen 8080\nListen 8443 https\nLoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so\nLoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n<VirtualHost *:8443>\n\tSSLEngine on\n\tSSLCertificateFile /etc/ssl/private/ollama.pem\n\tProxyPass / http://127.0.0.1:11434/\n</VirtualHost>|' \
    "$src/fixtures/apache/stock.conf" >"$work/two-listeners-apache.conf"
  expect "Apache plain and TLS listeners" 0 "a throwaway one is used" 90 \
    "$sc" apache "$work/two-listeners-apache.conf" --profile quick --no-color --check 'stream.first-token'
  grep -q "https://127.0.0.1" "$work/err" || { echo "FAIL Apache TLS listener not tested"; failures=$((failures + 1)); }
fi

echo "managed commands: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
