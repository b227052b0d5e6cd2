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
  libboost-dev libcurl4-openssl-dev nlohmann-json3-dev libgtest-dev
  nginx-light haproxy openssl socat nodejs npm chromium iproute2
  clang libclang-rt-14-dev
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
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The distribution's nginx service is not ours: tests start their own nginx processes.
if [ -x /usr/sbin/nginx ] && command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then
  echo "setup: note: a system nginx is running; streamcheck does not use it"
fi

if [ -f "$root/tests/clients/package-lock.json" ] && [ ! -d "$root/tests/clients/node_modules" ]; then
  echo "setup: installing Node.js client packages (tests/clients)"
  npm ci --prefix "$root/tests/clients" --no-audit --no-fund --loglevel=error
fi

cmake -S "$root" -B "$build" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
