// Several listeners, one report: each check's worst outcome, with the listener it came from.
#include <string>

#include <gtest/gtest.h>

#include "harness/nginx/listeners.h"

namespace streamcheck::harness::nginx {
namespace {

check_result check(const std::string &id, outcome o, const std::string &measured) {
  check_result c;
  c.id = id;
  c.result = o;
  c.measured = measured;
  return c;
}

run_report report(std::vector<check_result> checks, double seconds) {
  run_report r;
  r.checks = std::move(checks);
  r.seconds = seconds;
  return r;
}

TEST(NginxListeners, WorstOutcomeWinsAndNamesItsListener) {
  std::vector<listener_run> runs = {
      {"listen 443 ssl (a.conf:5)",
       report({check("stream.first-token", outcome::fail, "1.6 s late"),
               check("api.endpoints", outcome::pass, "11 of 11")},
              10)},
      {"listen 80 (a.conf:4)", report({check("stream.first-token", outcome::pass, "3 ms"),
                                       check("api.endpoints", outcome::pass, "11 of 11")},
                                      8)}};
  const run_report merged = merge_listener_runs(runs);
  ASSERT_EQ(merged.checks.size(), 2u);
  EXPECT_EQ(merged.checks[0].result, outcome::fail);
  EXPECT_EQ(merged.checks[0].measured,
            "differs by listener (listen 443 ssl (a.conf:5): fail; listen 80 (a.conf:4): pass); "
            "on listen 443 ssl (a.conf:5): 1.6 s late");
  EXPECT_EQ(merged.checks[0].measurements["listeners"]["listen 80 (a.conf:4)"], "pass");
  EXPECT_EQ(merged.checks[1].measured, "11 of 11"); // agreed: untouched
  EXPECT_EQ(merged.target, "listen 443 ssl (a.conf:5); listen 80 (a.conf:4)");
  EXPECT_EQ(merged.seconds, 18);
  EXPECT_EQ(merged.exit_code(), 1);

  // The second listener is the worse one: its result is taken.
  std::swap(runs[0].report.checks[0], runs[1].report.checks[0]);
  const run_report swapped = merge_listener_runs(runs);
  EXPECT_EQ(swapped.checks[0].result, outcome::fail);
  EXPECT_NE(swapped.checks[0].measured.find("on listen 80 (a.conf:4): 1.6 s late"),
            std::string::npos);
}

TEST(NginxListeners, OneListenerIsItsOwnReport) {
  run_report r = report({check("x", outcome::warn, "m")}, 3);
  r.target = "t";
  const run_report merged = merge_listener_runs({{"listen 80", r}});
  EXPECT_EQ(merged.target, "t");
  EXPECT_EQ(merged.checks[0].measured, "m");
}

} // namespace
} // namespace streamcheck::harness::nginx
