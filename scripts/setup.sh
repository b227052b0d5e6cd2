#!/usr/bin/env bash
# Installs what streamcheck needs on Debian 12 (only what is missing; sudo only when not root),
# installs the Node.js client packages used by the client tests, then configures and builds.
#   scripts/setup.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true

packages=(
  build-essential cmake pkg-config git curl ca-certificates
  libboost-dev libcurl4-openssl-dev nlohmann-json3-dev libgtest-dev libssl-dev libnghttp2-dev
  nghttp2-client
  nginx-light haproxy caddy apache2 lighttpd lighttpd-modules-lua openssl socat nodejs npm chromium iproute2
  clang libclang-rt-14-dev clang-format
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A Node.js from outside Debian (e.g. nodesource) already brings npm: keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}")
  missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  # The proxies' Debian services (nginx, haproxy, caddy, apache2, lighttpd) must not start or
  # bind a port: tests start their own processes on loopback ports. A policy-rc.d that denies
  # every start (exit 101) is in place for the install and removed afterwards if it was ours.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# streamcheck setup: no service starts during the install\nexit 101\n' |
      $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    own_policy=1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ $own_policy -eq 1 ]; then $sudo rm -f "$policy"; fi
  # Their units are enabled by the packages; a later boot would start them on
  # ports 80/443. Disable them (best effort: no systemd in a container).
  for service in caddy apache2 lighttpd; do
    if command -v systemctl >/dev/null && systemctl is-enabled -q "$service" 2>/dev/null; then
      $sudo systemctl disable -q "$service" 2>/dev/null || true
    fi
  done
fi
# The distribution's nginx service is not ours: tests start their own nginx processes.
if [ -x /usr/sbin/nginx ] && command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then
  echo "setup: note: a system nginx is running; streamcheck does not use it"
fi

if [ -f "$root/tests/clients/package-lock.json" ] && [ ! -d "$root/tests/clients/node_modules" ]; then
  echo "setup: installing Node.js client packages (tests/clients)"
  npm ci --prefix "$root/tests/clients" --no-audit --no-fund --loglevel=error
fi
# The report validators: Microsoft's SARIF multitool (a self-contained binary, runs offline) and
# a PNG decoder for the HTML report's screenshot test.
if [ -f "$root/tests/report/package-lock.json" ] && [ ! -d "$root/tests/report/node_modules" ]; then
  echo "setup: installing the report validators (tests/report)"
  npm ci --prefix "$root/tests/report" --no-audit --no-fund --loglevel=error
fi

cmake -S "$root" -B "$build" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
