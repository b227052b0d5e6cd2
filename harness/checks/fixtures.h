// What the fixtures (fixtures/**/*.expect) say about each check, embedded at build time so that an
// installed streamcheck lists them without the source tree (streamcheck list --json).
#pragma once
#include <string>
#include <vector>

namespace streamcheck::harness {

// One line of a fixture's .expect that names a check: "fail ID", "warn ID", "inconclusive ID",
// "skip ID", "unfixable ID REASON", "explains ID TEXT", "not-explains ID TEXT", or an "args" line's
// --check/--skip ID.
struct fixture_expectation {
  std::string fixture;  // "fixtures/nginx/defaults" (the .expect path without its extension)
  std::string verdict;  // "fail", "warn", "inconclusive", "skip", "unfixable", "explains", ...
  std::string check_id; // without the @h1/@h2 of a --http both fixture
};

// Every fixture expectation, in path order then line order.
const std::vector<fixture_expectation> &fixture_expectations();

// The fixtures whose verdict for `check_id` is a failure: "fail" (MUST) or "warn" (SHOULD).
std::vector<std::string> fixtures_failing(const std::string &check_id);

// Parses one .expect text (exposed for its unit test).
std::vector<fixture_expectation> parse_expect(const std::string &fixture, const std::string &text);

} // namespace streamcheck::harness
