#include "harness/caddy/analysis.h"

#include "common/ascii.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::caddy {
namespace {

// A Caddyfile line without its comment ('#' at the start or after a space) and outer spaces.
std::string statement_of(const std::string &line) {
  std::string s = line;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      s.resize(i);
      break;
    }
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string> words_of(const std::string &s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      if (!w.empty()) out.push_back(std::move(w));
      w.clear();
    } else {
      w += c;
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

// One reverse_proxy directive: its line and the subdirectives of its block.
struct reverse_proxy {
  int line = 0;
  std::string text;
  std::vector<std::pair<int, std::vector<std::string>>> body;
};

std::vector<reverse_proxy> reverse_proxies(const std::string &text) {
  std::vector<reverse_proxy> out;
  int depth = 0, inside_at = -1;
  const auto lines = managed::split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string s = statement_of(lines[i]);
    const auto w = words_of(s);
    if (w.empty()) continue;
    const bool opens = s.back() == '{';
    if (inside_at < 0 && w[0] == "reverse_proxy") {
      out.push_back({static_cast<int>(i + 1), s, {}});
      if (opens) inside_at = depth + 1;
    } else if (inside_at >= 0 && depth == inside_at && w[0] != "}") {
      out.back().body.emplace_back(static_cast<int>(i + 1), w);
    }
    for (char c : s)
      depth += c == '{' ? 1 : c == '}' ? -1 : 0;
    if (inside_at >= 0 && depth < inside_at) inside_at = -1;
  }
  return out;
}

class analyser {
public:
  explicit analyser(const std::string &file) : file_(file) {}

  std::vector<nginx::finding> run(const std::vector<reverse_proxy> &proxies) {
    for (const auto &rp : proxies) {
      flush_interval(rp);
      upstream_policy(rp);
    }
    return std::move(out_);
  }

private:
  std::string at(int line) const { return file_ + ":" + std::to_string(line); }
  void add(const std::vector<std::string> &checks, const std::string &text, int line,
           const std::string &subject) {
    for (const auto &id : checks)
      out_.push_back({id, text, 0, {file_, line}, subject, {}});
  }

  // Fault: flush_interval -1 makes Caddy keep the upstream request running after the client has
  // gone (flush-interval.Caddyfile fails both silent cancel checks, stock.Caddyfile passes; Caddy
  // 2.6 streams NDJSON and SSE without it).
  void flush_interval(const reverse_proxy &rp) {
    for (const auto &[line, w] : rp.body)
      if (w.size() >= 2 && w[0] == "flush_interval" && w[1] == "-1")
        add({"abort.cancel-during-pause", "abort.cancel-before-first-token"},
            "`flush_interval -1` at " + at(line) + " (reverse_proxy at " + at(rp.line) +
                "): with it Caddy does not cancel the upstream request when the client "
                "disconnects; remove it (Caddy 2.6 streams NDJSON and SSE without it)",
            line, "flush_interval -1");
  }

  // Faults: the browser's Origin and the public Host forwarded to an Ollama that refuses them
  // (stock.Caddyfile fails both upstream.* checks, origin and host.Caddyfile pass one each).
  void upstream_policy(const reverse_proxy &rp) {
    bool origin_removed = false, host_set = false;
    for (const auto &[line, w] : rp.body) {
      if (w.size() >= 2 && w[0] == "header_up" && ascii_lower(w[1]) == "-origin")
        origin_removed = true;
      if (w.size() >= 3 && w[0] == "header_up" && ascii_lower(w[1]) == "host") host_set = true;
    }
    const std::string quoted = "`" + rp.text + "` at " + at(rp.line);
    if (!origin_removed)
      add({"upstream.origin-accepted"},
          quoted + " forwards the browser's Origin to the upstream: add `header_up -Origin` "
                   "inside it (and answer CORS in Caddy)",
          rp.line, rp.text);
    if (!host_set)
      add({"upstream.host-accepted"},
          quoted + " forwards the client's Host to the upstream: add `header_up Host "
                   "{upstream_hostport}` inside it",
          rp.line, rp.text);
  }

  std::string file_;
  std::vector<nginx::finding> out_;
};

} // namespace

std::vector<nginx::finding> analyse(const std::string &text, const std::string &file) {
  return analyser(file).run(reverse_proxies(text));
}

} // namespace streamcheck::harness::caddy
