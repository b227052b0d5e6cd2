// The table of managed kinds is the one list the CLI, its parser and compare use: every kind in
// it is a command taking a config and a compare target, and nothing else is.
#include <gtest/gtest.h>

#include "harness/compare.h"
#include "harness/managed/targets.h"

namespace streamcheck::harness::managed {
namespace {

TEST(ManagedTargets, EveryPackagedKindIsAConfigCommandAndACompareTarget) {
  const auto kinds = config_kinds();
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds.front(), "nginx");
  EXPECT_EQ(kinds.size(), packaged_kinds().size() + 1);
  for (const auto &kind : kinds) {
    EXPECT_TRUE(takes_config(kind)) << kind;
    auto t = parse_compare_target(kind + ":deploy/proxy.conf");
    ASSERT_TRUE(t) << t.message();
    EXPECT_EQ(t->command, kind);
    EXPECT_EQ(t->file, "deploy/proxy.conf");
  }
  for (const char *other : {"exec", "traefik", "run", ""})
    EXPECT_FALSE(takes_config(other)) << other;
  // The unknown-kind message lists the table's kinds.
  const std::string said = parse_compare_target("traefik:x.yml").message();
  for (const auto &kind : kinds)
    EXPECT_NE(said.find(kind), std::string::npos) << said;
}

TEST(ManagedTargets, ApacheRunsTheDebianBinary) {
  const packaged_kind *apache = find_packaged_kind("apache");
  ASSERT_NE(apache, nullptr);
  EXPECT_EQ(apache->binary, "apache2");
  EXPECT_EQ(apache->package, "apache2");
  EXPECT_EQ(find_packaged_kind("nginx"), nullptr); // nginx has its own gate
}

TEST(ManagedTargets, ListensSomewhere) {
  EXPECT_TRUE(listens_somewhere({"socat", "TCP-LISTEN:{port}"}));
  EXPECT_TRUE(listens_somewhere({"proxy", "--listen", "{listen}"}));
  EXPECT_FALSE(listens_somewhere({"proxy", "--upstream", "{upstream}"}));
}

} // namespace
} // namespace streamcheck::harness::managed
