#include "harness/nginx/listeners.h"

#include <algorithm>

namespace streamcheck::harness::nginx {
namespace {

int severity_rank(outcome o) {
  switch (o) {
  case outcome::skip: return 0;
  case outcome::pass: return 1;
  case outcome::warn: return 2;
  case outcome::inconclusive: return 3; // a MUST one fails the gate: above warn, below fail
  case outcome::fail: return 4;
  case outcome::error: return 5;
  }
  return 0;
}

const check_result *find_check(const run_report &r, const std::string &id) {
  for (const auto &c : r.checks)
    if (c.id == id) return &c;
  return nullptr;
}

} // namespace

run_report merge_listener_runs(std::vector<listener_run> runs) {
  if (runs.empty()) return {};
  if (runs.size() == 1) return std::move(runs.front().report);
  run_report merged = runs.front().report;
  merged.target.clear();
  merged.seconds = 0;
  for (const auto &run : runs) {
    merged.target += (merged.target.empty() ? "" : "; ") + run.label;
    merged.seconds += run.report.seconds;
  }
  for (auto &check : merged.checks) {
    std::size_t worst = 0;
    bool differ = false;
    std::vector<const check_result *> seen;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const check_result *c = find_check(runs[i].report, check.id);
      seen.push_back(c);
      if (!c) continue;
      differ = differ || c->result != check.result;
      if (severity_rank(c->result) >
          severity_rank(seen[worst] ? seen[worst]->result : outcome::skip))
        worst = i;
    }
    if (!differ) continue;
    check = *seen[worst];
    std::string per_listener;
    nlohmann::json outcomes = nlohmann::json::object();
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::string result = seen[i] ? to_string(seen[i]->result) : "not run";
      per_listener += (per_listener.empty() ? "" : "; ") + runs[i].label + ": " + result;
      outcomes[runs[i].label] = result;
    }
    check.measured = "differs by listener (" + per_listener + "); on " + runs[worst].label + ": " +
                     check.measured;
    check.measurements["listeners"] = outcomes;
  }
  return merged;
}

} // namespace streamcheck::harness::nginx
