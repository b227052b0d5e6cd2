#include "harness/report/report.h"

namespace streamcheck::harness {

const char *to_string(level l) {
  switch (l) {
  case level::must: return "MUST";
  case level::should: return "SHOULD";
  case level::info: return "INFO";
  }
  return "INFO"; // unreachable for valid enumerators; keeps the writers total
}

const char *to_string(outcome o) {
  switch (o) {
  case outcome::pass: return "pass";
  case outcome::warn: return "warn";
  case outcome::fail: return "fail";
  case outcome::inconclusive: return "inconclusive";
  case outcome::skip: return "skip";
  case outcome::error: return "error";
  }
  return "error";
}

run_summary run_report::summary() const {
  run_summary s;
  s.checks = static_cast<int>(checks.size());
  for (const check_result &c : checks) {
    switch (c.result) {
    case outcome::pass: ++s.passed; break;
    case outcome::warn: ++s.warned; break;
    case outcome::fail: ++s.failed; break;
    case outcome::inconclusive: ++s.inconclusive; break;
    case outcome::skip: ++s.skipped; break;
    case outcome::error: ++s.errors; break;
    }
  }
  return s;
}

// The outcome is already final: the runner turns SHOULD misses into warn, or into fail under
// --strict, so the exit code only ranks outcomes. A harness error wins over a failure because
// the failures of a run that broke cannot be trusted. A gate cannot certify what it could not
// observe, so an inconclusive MUST (any inconclusive under --strict) fails the run too.
int run_report::exit_code() const {
  const run_summary s = summary();
  if (s.errors > 0) return 2;
  if (s.failed > 0) return 1;
  for (const check_result &c : checks)
    if (c.result == outcome::inconclusive && (c.severity == level::must || strict)) return 1;
  return 0;
}

std::string summary_line(const run_summary &s) {
  using std::to_string;
  std::string line = to_string(s.checks) + " checks, " + to_string(s.passed) + " passed, " +
                     to_string(s.warned) + " warned, " + to_string(s.failed) + " failed, " +
                     to_string(s.inconclusive) + " inconclusive, " + to_string(s.skipped) +
                     " skipped";
  if (s.errors > 0) line += ", " + to_string(s.errors) + " errors";
  return line;
}

} // namespace streamcheck::harness
