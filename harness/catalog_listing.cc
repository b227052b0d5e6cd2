#include "harness/catalog_listing.h"

#include "harness/checks/fixtures.h"
#include "harness/nginx/analysis.h"

namespace streamcheck::harness {

json catalog_listing(const check_context &ctx) {
  json out = json::array();
  for (const auto &c : catalog()) {
    json fixtures = json::array();
    for (const auto &e : fixture_expectations())
      if (e.check_id == c.id) fixtures.push_back({{"fixture", e.fixture}, {"verdict", e.verdict}});
    json rules = json::array();
    for (const auto *r : nginx::rules_targeting(c.id))
      rules.push_back({{"rule", r->name}, {"looks_for", r->looks_for}});
    out.push_back({{"id", c.id},
                   {"level", to_string(c.severity)},
                   {"title", c.title},
                   {"requirement", c.requirement(ctx)},
                   {"fixes", c.fixes},
                   {"flags",
                    {{"timing", c.timing},
                     {"needs_proxy", c.needs_proxy},
                     {"policy_dependent", c.policy_dependent},
                     {"ollama_routes", c.ollama_routes},
                     {"judges_proxy_errors", c.judges_proxy_errors},
                     {"judges_request_headers", c.judges_request_headers}}},
                   {"fixtures", fixtures},
                   {"nginx_analysis", rules}});
  }
  return out;
}

} // namespace streamcheck::harness
