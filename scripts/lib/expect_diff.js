// How a streamcheck JSON report differs from a fixture's .expect, one line per difference;
// prints nothing when they agree. The one reading of .expect verdicts, shared by the fixture
// runners (nginx_fixtures.sh, exec_fixtures.sh).
//   node expect_diff.js REPORT.json FIXTURE.expect
// .expect lines read here (the runners read their own: args, upstream-profile, setup-error,
// unfixable, pair, reveals):
//   fail|warn|inconclusive|error|skip ID   the check's verdict; every check not listed must pass.
//                                          "skip" lines count only in an .expect that has any (a
//                                          not-applicable check is then part of the verdict;
//                                          elsewhere a skip is not), and never "not selected".
//   note TEXT                              the report's notes contain TEXT
//   explains ID TEXT / not-explains ID TEXT the check's cause + fix (what the user is told to do)
//                                          contains, or does not contain, TEXT
//   proxy-kind KIND                        the kind the harness detected by itself
"use strict";
const fs = require("fs");
const [reportPath, expectPath] = process.argv.slice(2);
const report = JSON.parse(fs.readFileSync(reportPath, "utf8"));
const expect = fs.readFileSync(expectPath, "utf8").split("\n");

const verdictWords = ["fail", "warn", "inconclusive", "error", "skip"];
const lines = (word) =>
  expect.filter((l) => l.startsWith(word + " ")).map((l) => l.slice(word.length + 1));
const withSkips = lines("skip").length > 0;

const expected = new Set(
  expect.filter((l) => verdictWords.includes(l.split(" ")[0])).map((l) => l.trim()));
const actual = new Set(
  report.checks
    .filter((c) => c.result !== "pass")
    .filter((c) => c.result !== "skip" || (withSkips && !c.measured.startsWith("not selected")))
    .map((c) => c.result + " " + c.id));

const differences = [];
for (const v of [...expected].sort())
  if (!actual.has(v)) differences.push("expected but missing: " + v);
for (const v of [...actual].sort())
  if (!expected.has(v)) differences.push("unexpected: " + v);
for (const text of lines("note"))
  if (!(report.notes || []).some((n) => n.includes(text))) differences.push("note missing: " + text);
for (const word of ["explains", "not-explains"])
  for (const rest of lines(word)) {
    const [id, ...words] = rest.split(" ");
    const text = words.join(" ");
    const c = report.checks.find((x) => x.id === id) || {};
    const said = (c.cause || "") + " " + (c.fix || "");
    if (said.includes(text) !== (word === "explains")) differences.push(`${word} failed: ${id} ${text}`);
  }
for (const kind of lines("proxy-kind"))
  if (report.proxy_kind !== kind)
    differences.push(`proxy kind: expected ${kind}, detected ${report.proxy_kind}`);
if (differences.length) console.log(differences.join("\n"));
