#!/usr/bin/env bash
# The HTML, SARIF and GitHub reports of a real run (streamcheck nginx on the seed config, quick
# profile, a handful of checks), each judged by an outside tool:
#   - HTML: headless Chromium with JavaScript disabled opens it; its DOM must hold one SVG timeline
#     per timing check, its screenshot must show the timeline marks (pixels of the series'
#     colours spread along the axis); the file has a CSP that forbids every request and no
#     reference to an external resource.
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

# As in seed.expect: the seed meant for a default Ollama (Origin allow-list, Host check).
conf="$src/fixtures/nginx/seed.conf"
GITHUB_STEP_SUMMARY="$work/summary.md" "$sc" nginx "$conf" --profile quick --upstream-profile ollama \
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

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync)
# A fresh profile with JavaScript blocked, as chrome://settings/content/javascript does it
# (Chromium 156's headless --dump-dom and --screenshot print nothing with
# --blink-settings=scriptEnabled=false, which also blocks the browser's own capture script).
no_js_profile() {
  mkdir -p "$1/Default"
  echo '{"profile":{"default_content_setting_values":{"javascript":2}}}' >"$1/Default/Preferences"
}
# browse OUT_PREFIX FILE: the DOM and a screenshot, scripts off.
browse() {
  no_js_profile "$1.profile-dom"
  "$chromium" "${flags[@]}" --user-data-dir="$1.profile-dom" --dump-dom "file://$2" \
    >"$1.dom.html" 2>/dev/null
  no_js_profile "$1.profile-shot"
  "$chromium" "${flags[@]}" --user-data-dir="$1.profile-shot" --hide-scrollbars \
    --window-size=1280,8000 --screenshot="$1.png" "file://$2" >/dev/null 2>&1
}
browse "$work/report" "$html"
svgs=$(grep -o '<svg class="timeline"' "$work/report.dom.html" | wc -l)
[ "$svgs" -eq "$timing" ] || fail "Chromium's DOM has $svgs timeline SVGs, the report $timing"
marks=$(grep -o '<rect x=' "$work/report.dom.html" | wc -l)
[ "$marks" -ge 40 ] || fail "only $marks marks in the timelines"
node "$here/screenshot_check.mjs" "$work/report.png" || fail "screenshot shows no timeline"
# Controls: that profile really runs no script, and the file's CSP alone keeps scripts out too.
sed 's|</body>|<p id="probe">static</p><script>document.getElementById("probe").textContent="ran"</script></body>|' \
  "$html" >"$work/scripted.html"
browse "$work/scripted" "$work/scripted.html"
grep -q '<p id="probe">static</p>' "$work/scripted.dom.html" || fail "scripts ran in the no-script profile"
"$chromium" "${flags[@]}" --user-data-dir="$work/profile-csp" --dump-dom "file://$work/scripted.html" \
  2>/dev/null >"$work/csp.dom.html"
grep -q '<p id="probe">static</p>' "$work/csp.dom.html" || fail "the CSP let an inline script run"
sed 's|<meta http-equiv="Content-Security-Policy"[^>]*>||' "$work/scripted.html" >"$work/no-csp.html"
"$chromium" "${flags[@]}" --user-data-dir="$work/profile-no-csp" --dump-dom "file://$work/no-csp.html" \
  2>/dev/null >"$work/no-csp.dom.html"
grep -q '<p id="probe">ran</p>' "$work/no-csp.dom.html" || fail "control: without the CSP the script should run"
# Negative control: the same page without its timelines must fail the screenshot check.
sed 's/<svg class="timeline"/<svg style="display:none" class="timeline"/' "$html" >"$work/blank.html"
browse "$work/blank" "$work/blank.html"
if node "$here/screenshot_check.mjs" "$work/blank.png" >/dev/null; then
  fail "the screenshot check passes a page whose timelines are hidden"
fi

# ---- SARIF: the multitool's verdict, and the locations -------------------------------------
validate() { # validate FILE -> number of validator errors and warnings
  rm -f "$work/validation.sarif"
  "$multitool" validate "$1" --output "$work/validation.sarif" --quiet >/dev/null 2>&1
  node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1]));
    const errs = v.runs.flatMap(r => r.results || [])
      .filter(r => r.level === "error" || r.level === "warning");
    for (const e of errs) console.error("  " + e.ruleId + ": " + e.message.text);
    console.log(errs.length);' "$work/validation.sarif"
}
errors=$(validate "$work/report.sarif")
[ "$errors" = 0 ] || fail "the SARIF multitool reports $errors errors or warnings"
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
# Negative control: a result without its required message.
node -e 'const fs = require("fs"); const s = JSON.parse(fs.readFileSync(process.argv[1]));
  delete s.runs[0].results[0].message; fs.writeFileSync(process.argv[2], JSON.stringify(s));' \
  "$work/report.sarif" "$work/broken.sarif"
errors=$(validate "$work/broken.sarif" 2>/dev/null)
[ "$errors" -gt 0 ] || fail "the multitool accepted a result without a message"

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
echo "ok: html ($svgs timelines drawn with scripts off, CSP, no external reference), sarif (multitool: 0 errors), github annotations"
