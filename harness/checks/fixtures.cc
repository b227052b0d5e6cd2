#include "harness/checks/fixtures.h"

#include <sstream>
#include <utility>

namespace streamcheck::harness {

// Generated at configure time from fixtures/**/*.expect (harness/CMakeLists.txt).
const std::vector<std::pair<const char *, const char *>> &embedded_expect_files();

namespace {

// A --http both fixture names a check over one protocol: "conn.keepalive@h2" is conn.keepalive.
std::string without_protocol(const std::string &id) {
  const auto at = id.rfind('@');
  return at == std::string::npos ? id : id.substr(0, at);
}

} // namespace

std::vector<fixture_expectation> parse_expect(const std::string &fixture, const std::string &text) {
  static const char *const verdicts[] = {"fail",      "warn",     "inconclusive", "skip",
                                         "unfixable", "explains", "not-explains"};
  std::vector<fixture_expectation> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first, id;
    words >> first;
    if (first == "args") {
      for (std::string w; words >> w;)
        if ((w == "--check" || w == "--skip") && words >> id)
          out.push_back({fixture, w.substr(2), id});
      continue;
    }
    for (const char *v : verdicts)
      if (first == v && words >> id) out.push_back({fixture, first, without_protocol(id)});
  }
  return out;
}

const std::vector<fixture_expectation> &fixture_expectations() {
  static const std::vector<fixture_expectation> all = [] {
    std::vector<fixture_expectation> out;
    for (const auto &[path, text] : embedded_expect_files()) {
      std::string fixture = path;
      fixture.erase(fixture.size() - std::string(".expect").size());
      for (auto &e : parse_expect(fixture, text))
        out.push_back(std::move(e));
    }
    return out;
  }();
  return all;
}

std::vector<std::string> fixtures_failing(const std::string &check_id) {
  std::vector<std::string> out;
  for (const auto &e : fixture_expectations())
    if (e.check_id == check_id && (e.verdict == "fail" || e.verdict == "warn"))
      out.push_back(e.fixture);
  return out;
}

} // namespace streamcheck::harness
