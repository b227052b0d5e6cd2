// A fix is shown for HAProxy, Caddy, Apache or lighttpd only where a fixture pair proves it on
// that proxy (fixtures/<kind>/*.expect: "pair BASE ID..." = ID fails in BASE and passes with the
// fix, the whole suite rerun), and every such pair's fix is shown: the two lists must agree.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "harness/check.h"

namespace streamcheck::harness {
namespace {

const char *const managed_kinds[] = {"haproxy", "caddy", "apache", "lighttpd"};

// The check IDs the pairs of fixtures/<kind>/ prove fixed.
std::set<std::string> proven_by_pairs(const std::string &kind) {
  std::set<std::string> ids;
  const std::filesystem::path dir =
      std::filesystem::path(STREAMCHECK_SOURCE_DIR) / "fixtures" / kind;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".expect") continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("pair ", 0) != 0) continue;
      std::istringstream words(line.substr(5));
      std::string base, id;
      words >> base;
      while (words >> id)
        ids.insert(id);
    }
  }
  return ids;
}

TEST(FixesProven, EveryKindSpecificFixHasAFixturePair) {
  for (const char *kind : managed_kinds) {
    const auto proven = proven_by_pairs(kind);
    for (const auto &c : catalog()) {
      if (!c.fixes.count(kind)) continue;
      EXPECT_TRUE(proven.count(c.id))
          << c.id << " shows a " << kind << " fix no fixtures/" << kind << " pair proves";
    }
  }
}

TEST(FixesProven, EveryProvenFixIsShown) {
  for (const char *kind : managed_kinds) {
    const auto proven = proven_by_pairs(kind);
    EXPECT_FALSE(proven.empty()) << "no pairs in fixtures/" << kind;
    for (const auto &c : catalog()) {
      if (!proven.count(c.id)) continue;
      EXPECT_TRUE(c.fixes.count(kind))
          << "fixtures/" << kind << " proves a fix for " << c.id << ", which shows none";
    }
  }
}

} // namespace
} // namespace streamcheck::harness
