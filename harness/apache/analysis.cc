#include "harness/apache/analysis.h"

#include <optional>

#include "common/ascii.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::apache {
namespace {

struct statement {
  int line = 0;
  std::string text;                 // as written, without the surrounding spaces
  std::vector<std::string> lowered; // its words in lower case (Apache's names are case-insensitive)
};

std::vector<statement> statements_of(const std::string &text) {
  std::vector<statement> out;
  const auto lines = managed::split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto b = lines[i].find_first_not_of(" \t\r");
    if (b == std::string::npos || lines[i][b] == '#') continue;
    statement s{static_cast<int>(i + 1),
                lines[i].substr(b, lines[i].find_last_not_of(" \t\r") - b + 1),
                {}};
    std::string w;
    for (char c : s.text + " ")
      if (c == ' ' || c == '\t') {
        if (!w.empty()) s.lowered.push_back(ascii_lower(w));
        w.clear();
      } else {
        w += c;
      }
    out.push_back(std::move(s));
  }
  return out;
}

bool says(const statement &s, const std::vector<std::string> &words) {
  if (s.lowered.size() < words.size()) return false;
  for (std::size_t i = 0; i < words.size(); ++i)
    if (s.lowered[i] != words[i]) return false;
  return true;
}

bool any_says(const std::vector<statement> &all, const std::vector<std::string> &words) {
  for (const auto &s : all)
    if (says(s, words)) return true;
  return false;
}

} // namespace

std::vector<nginx::finding> analyse(const std::string &text, const std::string &file) {
  const auto all = statements_of(text);
  std::optional<statement> proxy_pass;
  for (const auto &s : all)
    if (says(s, {"proxypass"}) && s.lowered.size() >= 3 && !proxy_pass) proxy_pass = s;
  if (!proxy_pass) return {};
  std::vector<nginx::finding> out;
  const std::string quoted =
      "`" + proxy_pass->text + "` at " + file + ":" + std::to_string(proxy_pass->line);
  auto add = [&](const std::string &check, const std::string &why) {
    out.push_back({check, quoted + why, 0, {file, proxy_pass->line}, proxy_pass->text, {}});
  };
  // Fault: the browser's Origin forwarded to an Ollama that refuses it (stock.conf fails
  // upstream.origin-accepted, origin.conf passes).
  if (!any_says(all, {"requestheader", "unset", "origin"}))
    add("upstream.origin-accepted",
        " forwards the browser's Origin to the upstream: add `RequestHeader unset Origin` "
        "(mod_headers; answer CORS in Apache)");
  // Fault: mod_proxy_http adds X-Forwarded-For, -Host and -Server but not the scheme (stock.conf
  // fails headers.forwarded, forwarded.conf passes).
  if (!any_says(all, {"requestheader", "set", "x-forwarded-proto"}))
    add("headers.forwarded",
        " sends no X-Forwarded-Proto (mod_proxy_http adds only X-Forwarded-For, -Host and "
        "-Server): add `RequestHeader set X-Forwarded-Proto expr=%{REQUEST_SCHEME}` (mod_headers)");
  return out;
}

} // namespace streamcheck::harness::apache
