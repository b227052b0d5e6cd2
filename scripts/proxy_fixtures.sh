#!/usr/bin/env bash
# The fixture matrix of one Debian-packaged proxy (fixtures/PROXY): each config run by
# exec_fixtures.sh through `streamcheck exec`, on a private copy that rewrite_exec.sh moves onto
# exec's loopback ports (the fixtures are written as users write them: listening on 8080, Ollama
# on 127.0.0.1:11434) with pid files in a scratch directory and logs on stderr, which exec quotes
# on failure. Exits 77 (ctest: skipped) when the proxy is not installed.
#   proxy_fixtures.sh [--show] haproxy|caddy|apache|lighttpd STREAMCHECK [FIXTURE_NAME...]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
show=()
[ "${1:-}" = "--show" ] && { show=(--show); shift; }
proxy=$1 streamcheck=$2
shift 2
rewrite=("$root/scripts/rewrite_exec.sh" {config})
case $proxy in
  haproxy)
    ext=cfg binary=haproxy package=haproxy
    command=("${rewrite[@]}" {tmp}/haproxy.cfg
      --replace '*:8080' '{listen}' --replace '127.0.0.1:11434' '{upstream}'
      --exec haproxy -db -f {tmp}/haproxy.cfg) ;;
  caddy)
    # No admin endpoint (its fixed localhost:2019 would collide between runs), bound to loopback;
    # HOME and the XDG directories in the scratch directory so nothing is written to the machine.
    ext=Caddyfile binary=caddy package=caddy
    command=("${rewrite[@]}" {tmp}/Caddyfile --prepend '{\n\tadmin off\n}'
      --replace ':8080 {' ':{port} {\n\tbind 127.0.0.1' --replace 'localhost:11434' '{upstream}'
      --exec env HOME={tmp} XDG_DATA_HOME={tmp} XDG_CONFIG_HOME={tmp}
      caddy run --adapter caddyfile --config {tmp}/Caddyfile) ;;
  apache)
    ext=conf binary=apache2 package=apache2
    command=("${rewrite[@]}" {tmp}/apache2.conf
      --replace 'Listen 8080' 'Listen {listen}' --replace '*:8080>' '*:{port}>'
      --replace '127.0.0.1:11434' '{upstream}' --replace '/var/run/apache2' '{tmp}'
      --replace 'ErrorLog /var/log/apache2/error.log' 'ErrorLog /dev/stderr'
      --exec apache2 -DFOREGROUND -f {tmp}/apache2.conf) ;;
  lighttpd)
    # server.errorlog unset: lighttpd logs to stderr. /etc/lighttpd/ scripts come from proxies/.
    ext=conf binary=lighttpd package=lighttpd
    command=("${rewrite[@]}" {tmp}/lighttpd.conf
      --replace 'server.port                 = 8080' 'server.bind = "127.0.0.1"\nserver.port = {port}'
      --replace '"port" => 11434' '"port" => {upstream_port}'
      --replace 'server.errorlog             = "/var/log/lighttpd/error.log"' ''
      --replace '/run/lighttpd.pid' '{tmp}/lighttpd.pid'
      --replace-any '/etc/lighttpd/' "$root/proxies/lighttpd/"
      --exec lighttpd -D -f {tmp}/lighttpd.conf) ;;
  *) echo "proxy_fixtures.sh: unknown proxy '$proxy' (haproxy, caddy, apache, lighttpd)" >&2; exit 3 ;;
esac
if ! command -v "$binary" >/dev/null && [ ! -x "/usr/sbin/$binary" ]; then
  echo "proxy_fixtures.sh: $binary not installed (Debian package $package; scripts/setup.sh installs it)"
  exit 77
fi
exec "$root/scripts/exec_fixtures.sh" "${show[@]}" "$streamcheck" "$root/fixtures/$proxy" "$ext" \
  -- "${command[@]}" -- "$@"
