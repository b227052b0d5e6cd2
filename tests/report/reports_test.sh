#!/usr/bin/env bash
# The HTML, SARIF and GitHub reports of a real run (streamcheck nginx on the seed config, quick
# profile, a handful of checks), each judged by an outside tool:
#   - HTML: headless Chromium with JavaScript disabled opens it; its DOM must hold one SVG timeline
#     per timing check, its screenshot must show the timeline marks (pixels of the series'
#     colours spread along the axis), and its network log must show no request but the file.
#   - SARIF: Microsoft's SARIF multitool (npm, offline) validates it with no error, and the
#     results sit on the seed's lines the analysis quotes.
#   - GitHub: ::error/::warning commands with file= and line=, and the job summary appended to
#     $GITHUB_STEP_SUMMARY.
# Negative controls prove the judges can fail: a broken SARIF must get errors, a page without
# timelines must fail the screenshot check.
#   reports_test.sh STREAMCHECK SOURCE_DIR
set -uo pipefail
sc=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
multitool="$here/node_modules/.bin/sarif-multitool"
for need in "$chromium" "$multitool"; do
  [ -x "$need" ] || { echo "SKIP: $need missing (scripts/setup.sh installs it)"; exit 77; }
done
command -v node >/dev/null || { echo "SKIP: node missing"; exit 77; }
work=$(mktemp -d /tmp/streamcheck-reports-XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

conf="$src/fixtures/nginx/seed.conf"
GITHUB_STEP_SUMMARY="$work/summary.md" "$sc" nginx "$conf" --profile quick \
  --check stream.no-coalescing.ndjson --check abort.cancel-propagates \
  --check abort.truncation-visible --check upstream.host-accepted --check conn.keepalive \
  --check api.endpoints \
  --report "html:$work/report.html" --report "sarif:$work/report.sarif" \
  --report "json:$work/report.json" --report github >"$work/github.txt" 2>"$work/stderr.txt"
rc=$?
[ "$rc" -eq 1 ] || { fail "exit $rc, expected 1"; cat "$work/stderr.txt"; }

# ---- HTML in Chromium, scripts off -------------------------------------------------------
html="$work/report.html"
grep -q "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"" "$html" ||
  fail "no CSP meta forbidding requests"
if grep -Eiq '<script|<link|<iframe|<object|<embed|@import|url\(|(src|href|action|srcset)="?(https?:)?//' "$html"; then
  fail "the file references an external resource or a script"
fi
timing=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
  let n = 0; for (const c of r.checks) n += c.timelines.length; console.log(n);' "$work/report.json")
[ "$timing" -ge 3 ] || fail "the JSON report carries $timing timelines, expected >= 3"

browse() { # browse OUT_PREFIX FILE: dump-dom, screenshot, net log
  "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --blink-settings=scriptEnabled=false --user-data-dir="$1.profile-dom" \
    --log-net-log="$1.netlog.json" --dump-dom "file://$2" >"$1.dom.html" 2>/dev/null
  "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --blink-settings=scriptEnabled=false --user-data-dir="$1.profile-shot" \
    --hide-scrollbars --window-size=1280,4000 --screenshot="$1.png" "file://$2" >/dev/null 2>&1
}
browse "$work/report" "$html"
svgs=$(grep -o '<svg class="timeline"' "$work/report.dom.html" | wc -l)
[ "$svgs" -eq "$timing" ] || fail "Chromium's DOM has $svgs timeline SVGs, the report $timing"
marks=$(grep -o '<rect x=' "$work/report.dom.html" | wc -l)
[ "$marks" -ge 40 ] || fail "only $marks marks in the timelines"
# Every URL the browser asked for: only the file itself.
requests=$(node -e 'const log = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const urls = new Set();
  for (const e of log.events) if (e.params && e.params.url) urls.add(e.params.url);
  console.log([...urls].filter(u => !u.startsWith("file://")).join(" "));' "$work/report.netlog.json")
[ -z "$requests" ] || fail "the page made requests: $requests"
node "$here/screenshot_check.mjs" "$work/report.png" || fail "screenshot shows no timeline"
# Negative control: the same page without its timelines must fail the screenshot check.
sed 's/<svg class="timeline"/<svg style="display:none" class="timeline"/' "$html" >"$work/blank.html"
browse "$work/blank" "$work/blank.html"
if node "$here/screenshot_check.mjs" "$work/blank.png" >/dev/null; then
  fail "the screenshot check passes a page whose timelines are hidden"
fi

# ---- SARIF: the multitool's verdict, and the locations -------------------------------------
validate() { # validate FILE -> number of validator errors
  rm -f "$work/validation.sarif"
  "$multitool" validate "$1" --output "$work/validation.sarif" --quiet >/dev/null 2>&1
  node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1]));
    const errs = v.runs.flatMap(r => r.results || []).filter(r => r.level === "error");
    for (const e of errs) console.error("  " + e.ruleId + ": " + e.message.text);
    console.log(errs.length);' "$work/validation.sarif"
}
errors=$(validate "$work/report.sarif")
[ "$errors" = 0 ] || fail "the SARIF multitool reports $errors errors"
node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const run = s.runs[0];
  const at = id => { const r = run.results.find(x => x.ruleId === id);
    return r && r.level + "@" + r.locations[0].physicalLocation.region.startLine; };
  const want = {"upstream.host-accepted": "error@52", "abort.truncation-visible": "warning@20",
                "conn.keepalive": "warning@20"};
  let bad = 0;
  for (const [id, w] of Object.entries(want)) if (at(id) !== w) {
    console.error("  " + id + ": " + at(id) + ", expected " + w); bad++; }
  if (run.results.length !== 3) { console.error("  " + run.results.length + " results"); bad++; }
  if (run.tool.driver.rules.length < 30) { console.error("  rules are not the catalog"); bad++; }
  process.exit(bad);' "$work/report.sarif" || fail "SARIF results or rules"
# Negative control: a result without a message, at an invalid level.
sed 's/"level": "error"/"level": "fatal"/' "$work/report.sarif" >"$work/broken.sarif"
errors=$(validate "$work/broken.sarif" 2>/dev/null)
[ "$errors" -gt 0 ] || fail "the multitool accepted a SARIF file with an invalid level"

# ---- GitHub workflow commands and job summary ---------------------------------------------
grep -q "^::error file=$conf,line=52,title=upstream.host-accepted MUST::" "$work/github.txt" ||
  fail "no ::error annotation on seed.conf:52"
grep -q "^::warning file=$conf,line=20,title=abort.truncation-visible SHOULD::" "$work/github.txt" ||
  fail "no ::warning annotation on seed.conf:20"
[ "$(grep -c '^::' "$work/github.txt")" -eq 4 ] || fail "expected 3 annotations and a notice"
grep -q "^### streamcheck" "$work/summary.md" || fail "no job summary in GITHUB_STEP_SUMMARY"

if [ "$failures" -gt 0 ]; then
  echo "--- github"; cat "$work/github.txt"
  exit 1
fi
echo "ok: html ($svgs timelines, no requests), sarif (multitool: 0 errors), github annotations"
