#!/usr/bin/env bash
# Proves `streamcheck nginx --fix` on every fixtures/nginx/*.conf: the patched copy (written to
# a temp dir; the fixture itself must stay byte-identical) must make every failing check pass,
# or the tool must name why it cannot. A check listed as "unfixable ID REASON" in the fixture's
# .expect may stay failing; any other that stays failing, and any fixture whose patch breaks
# nginx, fails this script. Quick profile, one line per fixture.
#   nginx_fix_fixtures.sh STREAMCHECK FIXTURE_DIR [FIXTURE_NAME...]
set -uo pipefail
streamcheck=$1 dir=$2
shift 2
nginx=${NGINX:-/usr/sbin/nginx}
[ -x "$nginx" ] || { echo "SKIP: nginx not found at $nginx"; exit 77; }
work=$(mktemp -d /tmp/streamcheck-fix-XXXXXX)
trap 'rm -rf "$work"' EXIT
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$dir"/*.expect; do names+=("$(basename "$f" .expect)"); done
fi
failures=0
for name in "${names[@]}"; do
  before=$(sha256sum <"$dir/$name.conf")
  upstream=$(sed -n 's/^upstream-profile //p' "$dir/$name.expect")
  extra=$(sed -n 's/^args //p' "$dir/$name.expect")
  # shellcheck disable=SC2086
  "$streamcheck" nginx "$dir/$name.conf" --nginx "$nginx" --upstream-profile "${upstream:-ollama}" \
    $extra --profile quick --report "console:$work/$name.console" --fix="$work/$name.fixed.conf" \
    >"$work/$name.out" 2>"$work/$name.err"
  if [ "$(sha256sum <"$dir/$name.conf")" != "$before" ]; then
    echo "FAIL $name: --fix modified $name.conf"
    failures=$((failures + 1)); continue
  fi
  if grep -q "no failing check, nothing to patch" "$work/$name.err"; then
    echo "ok   $name: nothing to fix"; continue
  fi
  verdict=$(grep -m1 "the patch makes" "$work/$name.out")
  if [ -z "$verdict" ]; then
    echo "FAIL $name: no verdict on the patch"; sed 's/^/    /' "$work/$name.err" | tail -5
    failures=$((failures + 1)); continue
  fi
  bad=""
  while IFS= read -r line; do
    id=$(echo "$line" | sed -n 's/^  \([a-z.-]*\): .*/\1/p')
    [ -n "$id" ] || continue
    grep -q "^unfixable $id " "$dir/$name.expect" || bad+=" $id"
  done < <(sed -n '/the patch makes/,$p' "$work/$name.out")
  if [ -n "$bad" ]; then
    echo "FAIL $name: ${verdict#streamcheck: }; still failing without a recorded reason:$bad"
    sed -n '/the patch makes/,$p' "$work/$name.out" | tail -n +2 | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $name: ${verdict#streamcheck: }"
    sed -n '/the patch makes/,$p' "$work/$name.out" | tail -n +2 | sed 's/^/    /'
  fi
done
[ "$failures" -eq 0 ] || { echo "$failures fixture(s) failed"; exit 1; }
