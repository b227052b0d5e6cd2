// `streamcheck list --json` and what it is built from: every id a fixture's .expect or an nginx
// analysis rule names is a check of the catalog, and every check that can fail has a fixture
// proving that it does.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "harness/catalog_listing.h"
#include "harness/checks/fixtures.h"
#include "harness/nginx/analysis.h"

namespace streamcheck::harness {
namespace {

const check *find_check(const std::string &id) {
  for (const auto &c : catalog())
    if (c.id == id) return &c;
  return nullptr;
}

TEST(Fixtures, ParseExpectReadsEveryLineThatNamesACheck) {
  const auto got =
      parse_expect("fixtures/x/y", "# a comment naming fail stream.first-token\n"
                                   "proxy-kind haproxy\n"
                                   "args --skip conn.concurrent-streams --profile quick\n"
                                   "fail stream.first-token\n"
                                   "warn headers.forwarded\n"
                                   "inconclusive cors.vary-origin\n"
                                   "unfixable body.large-request the limit is upstream\n"
                                   "explains conn.concurrent-streams the proxy gave\n"
                                   "setup-error unknown directive\n");
  const std::vector<std::pair<std::string, std::string>> want = {
      {"skip", "conn.concurrent-streams"}, {"fail", "stream.first-token"},
      {"warn", "headers.forwarded"},       {"inconclusive", "cors.vary-origin"},
      {"unfixable", "body.large-request"}, {"explains", "conn.concurrent-streams"}};
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].fixture, "fixtures/x/y");
    EXPECT_EQ(got[i].verdict, want[i].first) << i;
    EXPECT_EQ(got[i].check_id, want[i].second) << i;
  }
}

TEST(Fixtures, EmbeddedAreTheSourceTreesExpectFiles) {
  // Configure time embeds them: a fixture added or removed without a re-configure would list
  // stale fixtures.
  std::set<std::string> on_disk, embedded;
  const std::filesystem::path root(STREAMCHECK_SOURCE_DIR);
  for (const auto &f : std::filesystem::recursive_directory_iterator(root / "fixtures"))
    if (f.path().extension() == ".expect")
      on_disk.insert(f.path().lexically_relative(root).replace_extension().string());
  for (const auto &e : fixture_expectations())
    embedded.insert(e.fixture);
  ASSERT_GT(on_disk.size(), 40u);
  // A fixture whose .expect names no check (every check passes) has no entry to embed.
  for (const auto &f : embedded)
    EXPECT_TRUE(on_disk.contains(f)) << f << " is embedded but not in the source tree";
  for (const char *f : {"fixtures/nginx/defaults", "fixtures/haproxy/stock",
                        "fixtures/proxy/"
                        "small-body-limit"})
    EXPECT_TRUE(embedded.contains(f)) << f;
}

TEST(Fixtures, EveryIdAnExpectNamesIsACheck) {
  for (const auto &e : fixture_expectations())
    EXPECT_NE(find_check(e.check_id), nullptr)
        << e.fixture << ".expect: " << e.verdict << " " << e.check_id << " is not in the catalog";
}

TEST(Fixtures, EveryFailableCheckHasAFixtureThatFailsIt) {
  // A MUST fails ("fail"), a SHOULD warns ("warn"). Exceptions, each for want of a proxy that has
  // the fault; one that gains a fixture must leave this list.
  const std::map<std::string, std::string> no_fixture_yet = {
      {"timeout.long-stream", "no fixture proxy has a total request timeout: stock nginx has "
                              "none, streamcheck-proxy and HAProxy only idle/first-byte ones"},
      {"api.endpoints", "no fixture rewrites a JSON body or leaves a non-streaming route "
                        "unproxied while still proxying /api/chat"},
      {"api.in-band-error", "no fixture filters a streamed body (sub_filter on NDJSON would)"},
  };
  for (const auto &c : catalog()) {
    if (c.severity == level::info) continue;
    const std::string want = c.severity == level::must ? "fail" : "warn";
    bool failed = false;
    for (const auto &e : fixture_expectations())
      failed = failed || (e.check_id == c.id && e.verdict == want);
    if (no_fixture_yet.contains(c.id))
      EXPECT_FALSE(failed) << c.id << " has a fixture now: remove it from no_fixture_yet";
    else
      EXPECT_TRUE(failed) << "no fixture's .expect has '" << want << " " << c.id << "'";
  }
}

TEST(NginxAnalysis, EveryRuleTargetsChecksOfTheCatalog) {
  ASSERT_FALSE(nginx::analysis_rules().empty());
  for (const auto *r : nginx::analysis_rules())
    for (const auto &target : r->targets) {
      const bool prefix = target.back() == '.' || target.back() == '*';
      if (!prefix) {
        EXPECT_NE(find_check(target), nullptr) << r->name << " targets " << target;
        continue;
      }
      bool any = false;
      for (const auto &c : catalog())
        for (const auto *t : nginx::rules_targeting(c.id))
          any = any || t == r;
      EXPECT_TRUE(any) << r->name << "'s " << target << " matches no check";
    }
}

TEST(Listing, NamesEachChecksFixturesRulesFixesAndFlags) {
  const check_context doubled{*find_profile("quick"), tolerances{2}};
  const json list = catalog_listing(doubled);
  ASSERT_EQ(list.size(), catalog().size());
  const json *first = nullptr;
  for (const auto &entry : list)
    if (entry["id"] == "stream.first-token") first = &entry;
  ASSERT_NE(first, nullptr);
  EXPECT_EQ((*first)["level"], "MUST");
  EXPECT_NE((*first)["requirement"].get<std::string>().find("within 200 ms"), std::string::npos);
  EXPECT_TRUE((*first)["fixes"].contains("nginx"));
  EXPECT_EQ((*first)["flags"]["timing"], true);
  EXPECT_EQ((*first)["flags"]["needs_proxy"], false);
  const json defaults = {{"fixture", "fixtures/nginx/defaults"}, {"verdict", "fail"}};
  const json &fixtures = (*first)["fixtures"];
  EXPECT_NE(std::find(fixtures.begin(), fixtures.end(), defaults), fixtures.end())
      << fixtures.dump();
  bool buffering = false;
  for (const auto &r : (*first)["nginx_analysis"])
    buffering = buffering || r["rule"] == "buffering";
  EXPECT_TRUE(buffering) << (*first)["nginx_analysis"].dump();
}

} // namespace
} // namespace streamcheck::harness
