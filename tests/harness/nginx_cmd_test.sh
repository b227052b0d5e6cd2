#!/usr/bin/env bash
# `streamcheck nginx CONF` end to end with real nginx: a config split over an include glob runs
# (and is byte-identical afterwards), nginx -t failures exit 2 with nginx's own message and the
# user's file:line, unsupported proxy_pass variables exit 2 with file:line, TLS listeners are
# tested over https with their own (relative) certificate paths; the patterns of real configs
# (variable URIs, SWAG set-variables, load_module, proxy_cache_path, grpc/fastcgi neighbours,
# production-only certificates and includes, several listeners, newer-nginx directives) run or
# fail with file:line and the way out. Loopback only.
#   nginx_cmd_test.sh STREAMCHECK
set -uo pipefail
sc=$(realpath "$1")
nginx=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$nginx" ] || { echo "SKIP: nginx not found"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0

# shellcheck source=expect.sh
. "$(dirname "$0")/expect.sh"

digest() { find "$1" -type f -print0 | sort -z | xargs -0 sha256sum; }

# A config split like a distribution's: nginx.conf + conf.d/*.conf, an upstream by hostname.
mkdir -p "$work/site/conf.d"
cat >"$work/site/nginx.conf" <<'EOF'
# the user's config: "quotes", 'single', escapes \" and comments; ; {
worker_processes 1;
user nobody;
daemon on;
pid /run/not-ours.pid;
error_log /var/log/not-ours.log;
events { worker_connections 256; }
http {
    access_log /var/log/not-ours-access.log;
    include conf.d/*.conf;
}
EOF
cat >"$work/site/conf.d/00-upstream.conf" <<'EOF'
upstream ollama { server ollama.internal:11434; keepalive 8; }
EOF
cat >"$work/site/conf.d/10-api.conf" <<'EOF'
server {
    listen 80 default_server;
    server_name "api.example.test";
    location / {
        proxy_pass http://ollama;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_buffering off;
        proxy_set_header Host 'localhost:11434';
    }
}
EOF
before=$(digest "$work/site")
expect "include glob runs" 0 "nginx listening on http://127\.0\.0\.1:[0-9]+" 60 \
  "$sc" nginx "$work/site/nginx.conf" --nginx "$nginx" --profile quick --check 'api.*' --no-color
if [ "$(digest "$work/site")" = "$before" ]; then
  passed=$((passed + 1)); echo "ok   config byte-identical afterwards"
else
  failures=$((failures + 1)); echo "FAIL the config changed on disk"
fi
# A port the kernel just handed out (bound to port 0 and released), never a guessed one.
free_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
  console.log(s.address().port); s.close(); })')
expect "--listen-port" 0 "nginx listening on http://127\.0\.0\.1:$free_port" 60 \
  "$sc" nginx "$work/site/nginx.conf" --nginx "$nginx" --profile quick --check 'api.endpoints' \
  --listen-port "$free_port"
expect "--after-suite sees the proxy" 0 "hook saw http://127\.0\.0\.1:[0-9]+" 60 \
  "$sc" nginx "$work/site/nginx.conf" --nginx "$nginx" --profile quick --check 'api.endpoints' \
  --after-suite 'curl -fsS "$STREAMCHECK_PROXY_URL/api/version" >/dev/null && echo "hook saw $STREAMCHECK_PROXY_URL" >&2'
expect "--server picks by server_name" 2 "no server block has that server_name \(names: api.example.test\)" 10 \
  "$sc" nginx "$work/site/nginx.conf" --nginx "$nginx" --server nope.test
# A failing check names the user's own directive (static analysis) with file:line.
expect "findings quote the user's directive" 1 "in your config: .*client_max_body_size is not set" 60 \
  "$sc" nginx "$work/site/nginx.conf" --nginx "$nginx" --profile quick --check 'body.*' --no-color

# A sites-enabled snippet (no http { }): wrapped and tested.
printf 'server {\n  listen 80;\n  location / { proxy_pass http://ollama.internal:11434; }\n}\n' >"$work/snippet.conf"
expect "site snippet" 0 "tested as a site snippet" 60 \
  "$sc" nginx "$work/snippet.conf" --nginx "$nginx" --profile quick --check 'api.endpoints'

# nginx -t rejects a directive in an included file: exit 2, nginx's message, the user's file:line.
mkdir -p "$work/bad/conf.d"
printf 'events {}\nhttp {\n  include conf.d/*.conf;\n}\n' >"$work/bad/nginx.conf"
printf 'server {\n  listen 8080;\n  proxy_bufering off;\n  location / { proxy_pass http://127.0.0.1:1; }\n}\n' \
  >"$work/bad/conf.d/api.conf"
before=$(digest "$work/bad")
expect "nginx -t failure" 2 "unknown directive \"proxy_bufering\" in .*conf\.d/api\.conf:3" 20 \
  "$sc" nginx "$work/bad/nginx.conf" --nginx "$nginx"
[ "$(digest "$work/bad")" = "$before" ] && passed=$((passed + 1)) ||
  { failures=$((failures + 1)); echo "FAIL the bad config changed on disk"; }

# Syntax errors are ours to report, with the file:line.
printf 'events {}\nhttp {\n  server { listen 80; add_header X "a"b; }\n}\n' >"$work/syntax.conf"
expect "syntax error" 2 "syntax\.conf:3: unexpected \"b\"" 5 "$sc" nginx "$work/syntax.conf" --nginx "$nginx"

# proxy_pass from a variable nothing resolves statically: unsupported, with file:line.
printf 'events {}\nhttp {\n  server {\n    listen 80;\n    location / { proxy_pass http://$http_x_backend; }\n  }\n}\n' \
  >"$work/var.conf"
expect "variable upstream" 2 "var\.conf:5: .*unsupported" 5 "$sc" nginx "$work/var.conf" --nginx "$nginx"

expect "missing file" 2 "cannot open" 5 "$sc" nginx "$work/nope.conf" --nginx "$nginx"
expect "missing CONF" 3 "nginx needs the config file" 5 "$sc" nginx
expect "bad --nginx" 2 "not an executable" 5 "$sc" nginx "$work/var.conf" --nginx /nonexistent/nginx

# TLS: listen ... ssl with certificate paths relative to the config's directory, tested over https.
if command -v openssl >/dev/null; then
  mkdir -p "$work/tls/certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=llm.example.test \
    -keyout "$work/tls/certs/key.pem" -out "$work/tls/certs/cert.pem" >/dev/null 2>&1
  cat >"$work/tls/nginx.conf" <<'EOF'
events {}
http {
    server {
        listen 443 ssl;
        ssl_certificate certs/cert.pem;
        ssl_certificate_key certs/key.pem;
        location / {
            proxy_pass http://127.0.0.1:11434;
            proxy_http_version 1.1;
            proxy_buffering off;
        }
    }
}
EOF
  cd / || exit 1 # certificate paths resolve against the config's directory, not the cwd
  expect "TLS listener" 0 "nginx listening on https://127\.0\.0\.1:[0-9]+" 60 \
    "$sc" nginx "$work/tls/nginx.conf" --nginx "$nginx" --profile quick --check 'api.*'
  cd - >/dev/null || exit 1
fi

# --- Real-world patterns: each one ended the run before (issue 15). api.endpoints proves the
# requests reached the mock through the rewritten address.

# LibreChat: a literal docker host with a variable URI.
printf 'server {\n  listen 80;\n  location /api/ { proxy_pass http://api:3080$request_uri; proxy_http_version 1.1; }\n  location / { proxy_pass http://api:3080/; proxy_http_version 1.1; }\n}\n' >"$work/librechat.conf"
expect "proxy_pass http://host:port\$request_uri" 0 "1 passed" 60 \
  "$sc" nginx "$work/librechat.conf" --nginx "$nginx" --profile quick --check 'api.endpoints' --no-color

# linuxserver SWAG: scheme, host and port from set variables (never 127.0.0.1:PORT:8080).
cat >"$work/swag.conf" <<'EOF2'
server {
    listen 80;
    location / {
        set $upstream_app ollama;
        set $upstream_port 11434;
        set $upstream_proto http;
        proxy_pass $upstream_proto://$upstream_app:$upstream_port;
        proxy_http_version 1.1;
    }
}
EOF2
expect "SWAG set-variable upstream" 0 "1 passed" 60 \
  "$sc" nginx "$work/swag.conf" --nginx "$nginx" --profile quick --check 'api.endpoints' --no-color

# Debian: load_module relative to nginx's own prefix; proxy_cache_path under a missing parent;
# grpc/fastcgi/uwsgi/scgi neighbours on docker names.
if [ -e /usr/share/nginx/modules/ngx_http_echo_module.so ]; then
  cat >"$work/debian.conf" <<'EOF2'
load_module modules/ngx_http_echo_module.so;
events {}
http {
    proxy_cache_path /var/cache/nginx-sc-absent/llm levels=1:2 keys_zone=llm:1m;
    server {
        listen 80;
        location = /healthz { echo ok; }
        location / { proxy_pass http://ollama:11434; proxy_http_version 1.1; proxy_cache llm; }
        location /grpc { grpc_pass grpc://triton:8001; }
        location ~ \.php$ { fastcgi_pass php-fpm:9000; }
        location /u { uwsgi_pass app:3031; }
        location /s { scgi_pass app:4000; }
    }
    server { listen 81; location / { proxy_pass http://$http_x_backend; } }
}
EOF2
  expect "load_module, cache path, other *_pass" 0 "1 passed" 60 \
    "$sc" nginx "$work/debian.conf" --nginx "$nginx" --profile quick --check 'api.endpoints' --no-color
  grep -q "pointed at a closed loopback port" "$work/err" && passed=$((passed + 1)) ||
    { failures=$((failures + 1)); echo "FAIL the neighbours were not named"; }
fi

# --include-root: an include that exists only in a container.
mkdir -p "$work/root/config/nginx"
printf 'proxy_http_version 1.1;\n' >"$work/root/config/nginx/proxy.conf"
printf 'server {\n  listen 80;\n  location / {\n    include /config/nginx/proxy.conf;\n    proxy_pass http://ollama:11434;\n  }\n}\n' \
  >"$work/container.conf"
expect "missing absolute include" 2 "container\.conf:4: include \"/config/nginx/proxy\.conf\": .*--include-root DIR" 10 \
  "$sc" nginx "$work/container.conf" --nginx "$nginx"
expect "--include-root" 0 "1 passed" 60 \
  "$sc" nginx "$work/container.conf" --nginx "$nginx" --include-root "$work/root" --profile quick \
  --check 'api.endpoints' --no-color

# Production-only certificates, two listeners (TLS first, both tested), --keep-certificates.
cat >"$work/prod-tls.conf" <<'EOF2'
server {
    listen 80;
    listen [::]:80;
    listen 443 ssl http2;
    ssl_certificate /etc/letsencrypt/live/sc-absent.example/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/sc-absent.example/privkey.pem;
    location / { proxy_pass http://127.0.0.1:11434; proxy_http_version 1.1; proxy_buffering off; }
}
EOF2
expect "throwaway certificate" 0 "prod-tls\.conf:5: ssl_certificate /etc/letsencrypt.* throwaway" 60 \
  "$sc" nginx "$work/prod-tls.conf" --nginx "$nginx" --profile quick --check 'api.endpoints' --no-color
grep -qE "listening on https://127\.0\.0\.1:[0-9]+ \(listen 443 ssl http2" "$work/err" &&
  grep -qE "listening on http://127\.0\.0\.1:[0-9]+ \(listen 80 " "$work/err" &&
  grep -q "2 listeners tested" "$work/err" && grep -q "same port as listen 80" "$work/err" &&
  passed=$((passed + 1)) || { failures=$((failures + 1)); echo "FAIL not every listener was tested"; }
expect "--keep-certificates" 2 "prod-tls\.conf:5: ssl_certificate .*: missing here" 10 \
  "$sc" nginx "$work/prod-tls.conf" --nginx "$nginx" --keep-certificates

# A listener-specific fault: proxy_buffering on holds tokens over TLS HTTP/1.1 only (not over h2,
# not in cleartext); the TLS listener is tested over both, and the failure names the one.
sed 's/proxy_buffering off/proxy_buffering on/' "$work/prod-tls.conf" >"$work/tls-buffered.conf"
expect "fault on one listener" 1 "differs by listener \(listen 443 ssl http2 \(.*\) over HTTP/2: pass; listen 443 ssl http2 \(.*\) over HTTP/1.1: fail; listen 80 \(.*: pass\)" 90 \
  "$sc" nginx "$work/tls-buffered.conf" --nginx "$nginx" --profile quick --check 'stream.first-token' --no-color

# A directive of a newer nginx: the version that ran and --nginx.
printf 'events {}\nhttp {\n  server {\n    listen 80;\n    http2 on;\n    location / { proxy_pass http://127.0.0.1:1; }\n  }\n}\n' >"$work/http2.conf"
expect "http2 on; on an older nginx" 2 "needs nginx 1\.25\.1 or later.*; nginx [0-9.]+ \(.*\) ran this test; --nginx PATH" 20 \
  "$sc" nginx "$work/http2.conf" --nginx "$nginx"
grep -q 'unknown directive "http2" in .*http2\.conf:5' "$work/err" && passed=$((passed + 1)) ||
  { failures=$((failures + 1)); echo "FAIL http2 on; without its file:line"; }

echo "nginx command: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
