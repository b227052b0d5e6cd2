#!/bin/sh
# CTest entry for npm_clients: runs `node --test clients.test.mjs`, or exits 77 (SKIP) when Node
# or the pinned npm packages are missing. Usage: run_clients.sh NODE TEST_FILE
node="$1"
test_file="$2"
dir=$(dirname "$test_file")
install_hint="install them with: npm ci --prefix tests/clients   (from the repository root)"

if ! "$node" --version >/dev/null 2>&1; then
  echo "SKIP npm_clients: node (>= 20) not found; install Node.js 20+, then $install_hint"
  exit 77
fi
major=$("$node" -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "SKIP npm_clients: node $("$node" --version) is too old (need >= 20)"
  exit 77
fi
for pkg in ollama openai; do
  if [ ! -f "$dir/node_modules/$pkg/package.json" ]; then
    echo "SKIP npm_clients: $dir/node_modules/$pkg is missing; $install_hint"
    exit 77
  fi
done
exec "$node" --test "$test_file"
