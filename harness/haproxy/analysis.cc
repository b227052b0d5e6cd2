#include "harness/haproxy/analysis.h"

#include <cctype>
#include <optional>

#include "common/ascii.h"
#include "harness/haproxy/config.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::haproxy {
namespace {

using line_words = std::vector<std::string>;

// A defaults, frontend, listen or backend section: its opening line and what it contains.
struct section {
  std::string kind; // "frontend"
  std::string name; // "ollama" ("" for an unnamed defaults)
  int line = 0;     // the line that opens it
  std::string from; // `from NAME`: the named defaults it takes its settings from
  std::vector<std::pair<int, line_words>> body;
  const section *defaults = nullptr;

  std::string label() const { return kind + (name.empty() ? "" : " " + name); }
};

bool opens_section(const parsed_line &p) {
  const auto &w = p.words;
  return !w.empty() && (p.section == w[0] || (w.size() > 1 && p.section == w[0] + " " + w[1]));
}

// The sections in file order, each proxy linked to the defaults it inherits from (the named one
// of `from`, else the last defaults section before it).
std::vector<section> sections_of(const std::string &text) {
  const auto lines = parse(managed::split_lines(text));
  std::vector<section> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto &w = lines[i].words;
    if (opens_section(lines[i])) {
      section s;
      s.kind = w[0];
      s.name = w.size() > 1 && w[1] != "from" ? w[1] : "";
      s.line = static_cast<int>(i + 1);
      for (std::size_t k = 1; k + 1 < w.size(); ++k)
        if (w[k] == "from") s.from = w[k + 1];
      out.push_back(std::move(s));
    } else if (!w.empty() && !out.empty()) {
      out.back().body.emplace_back(static_cast<int>(i + 1), w);
    }
  }
  const section *last_defaults = nullptr;
  for (auto &s : out) {
    if (s.kind == "defaults") {
      last_defaults = &s;
      continue;
    }
    s.defaults = last_defaults;
    if (!s.from.empty())
      for (const auto &d : out)
        if (d.kind == "defaults" && d.name == s.from) s.defaults = &d;
  }
  return out;
}

bool starts_with(const line_words &w, const line_words &prefix) {
  if (w.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (ascii_lower(w[i]) != prefix[i]) return false;
  return true;
}

// A line in force for a proxy: where it is and what it says.
struct found {
  const section *in;
  int line;
  const line_words *words;
};

// The last line of the section (else of its defaults) accepted by `wanted`: HAProxy keeps the
// last setting, and a proxy's own overrides its defaults'.
std::optional<found> in_force(const section &s,
                              const std::function<bool(const line_words &)> &wanted) {
  for (const section *level : {&s, s.defaults}) {
    if (!level) continue;
    std::optional<found> last;
    for (const auto &[line, w] : level->body)
      if (wanted(w)) last = found{level, line, &w};
    if (last) return last;
  }
  return std::nullopt;
}

// `option NAME` or `no option NAME` in force; nullopt when neither is written.
std::optional<found> option_line(const section &s, const std::string &name) {
  return in_force(s, [&](const line_words &w) {
    return starts_with(w, {"option", name}) || starts_with(w, {"no", "option", name});
  });
}

bool enabled(const std::optional<found> &f) {
  return f && ascii_lower((*f->words)[0]) != "no";
}

std::string text_of(const line_words &w) {
  std::string out;
  for (const auto &word : w)
    out += (out.empty() ? "" : " ") + word;
  return out;
}

bool has_server(const section &s) {
  for (const auto &[line, w] : s.body)
    if (!w.empty() && (w[0] == "server" || w[0] == "server-template")) return true;
  return false;
}

bool carries_requests(const section &s) {
  return s.kind == "backend" || s.kind == "listen";
}

class analyser {
public:
  analyser(const std::vector<section> &sections, const analysis_options &o)
      : sections_(sections), o_(o) {}

  std::vector<nginx::finding> run() {
    for (const auto &s : sections_) {
      if (s.kind == "frontend" || s.kind == "listen") plain_listener_hold(s);
      if (carries_requests(s) && has_server(s)) {
        abort_on_close(s);
        server_timeout(s);
        upstream_policy(s);
      }
    }
    return std::move(out_);
  }

private:
  std::string where(int line) const { return o_.file + ":" + std::to_string(line); }
  std::string quote(const found &f) const {
    return "`" + text_of(*f.words) + "` at " + where(f.line) +
           (f.in->kind == "defaults" ? " (" + f.in->label() + ")" : "");
  }
  std::string opening(const section &s) const { return "`" + s.label() + "` at " + where(s.line); }
  void add(const std::vector<std::string> &checks, const std::string &text, int line,
           const std::string &subject) {
    for (const auto &id : checks)
      out_.push_back({id, text, 0, {o_.file, line}, subject, {}});
  }

  const section *backend_named(const std::string &name) const {
    for (const auto &s : sections_)
      if ((s.kind == "backend" || s.kind == "listen") && s.name == name) return &s;
    return nullptr;
  }

  // Fault: without `option http-no-delay` HAProxy holds each small write ~200 ms on a plain
  // listener (fixtures/haproxy/stock.cfg fails stream.*, http-no-delay.cfg passes; not over TLS).
  void plain_listener_hold(const section &frontend) {
    const line_words *plain = nullptr;
    int plain_line = 0;
    for (const auto &[line, w] : frontend.body)
      if (w.size() >= 2 && w[0] == "bind" && std::find(w.begin(), w.end(), "ssl") == w.end() &&
          !plain) {
        plain = &w;
        plain_line = line;
      }
    if (!plain) return;
    const auto in_frontend = option_line(frontend, "http-no-delay");
    std::optional<found> in_backend;
    if (const auto db = in_force(frontend, [](const line_words &w) {
          return w.size() >= 2 && w[0] == "default_backend";
        }))
      if (const section *b = backend_named((*db->words)[1]))
        in_backend = option_line(*b, "http-no-delay");
    if (enabled(in_frontend) || enabled(in_backend)) return;
    const auto &off = in_frontend ? in_frontend : in_backend;
    const std::string why = off ? quote(*off) + " turns it off for the plain listener `" +
                                      text_of(*plain) + "` at " + where(plain_line)
                                : "the plain listener `" + text_of(*plain) + "` at " +
                                      where(plain_line) + " (" + frontend.label() +
                                      ") has no `option http-no-delay`";
    add({"stream."},
        why + ": HAProxy holds each small write about 200 ms, every streamed event among them; "
              "add `option http-no-delay` to the frontend or defaults",
        off ? off->line : plain_line, off ? text_of(*off->words) : text_of(*plain));
  }

  // Fault: without `option abortonclose` HAProxy notices a closed client only at its next write
  // (stock.cfg fails both silent cancel checks, abortonclose.cfg passes them).
  void abort_on_close(const section &backend) {
    const auto set = option_line(backend, "abortonclose");
    if (enabled(set)) return;
    const std::string why =
        set ? quote(*set) + " turns it off" : opening(backend) + " has no `option abortonclose`";
    add({"abort.cancel-during-pause", "abort.cancel-before-first-token"},
        why + ": HAProxy notices that the client left only when it next writes to it, so while "
              "the model is silent the request keeps running; add `option abortonclose` to the "
              "backend or defaults",
        set ? set->line : backend.line, set ? text_of(*set->words) : backend.label());
  }

  // Fault: `timeout server` shorter than the upstream's silence (a cold model load, a long
  // tool call): HAProxy answers 504 or cuts the stream (short-timeouts.cfg fails, stock.cfg's
  // 50 s pass the quick profile).
  void server_timeout(const section &backend) {
    const auto t = in_force(backend, [](const line_words &w) {
      return w.size() >= 3 && w[0] == "timeout" && w[1] == "server";
    });
    if (!t) return; // none: HAProxy waits forever (and warns)
    const long long ms = parse_time_ms((*t->words)[2]);
    if (ms < 0 || ms >= o_.silence_ms) return;
    add({"timeout.slow-first-token", "timeout.idle-gap"},
        quote(*t) + " is shorter than the " + std::to_string(o_.silence_ms / 1000) +
            " s the upstream stays silent: HAProxy closes the request when it expires; raise it "
            "above the longest model load (e.g. `timeout server 10m`)",
        t->line, text_of(*t->words));
  }

  // Faults: the browser's Origin and the public Host forwarded to an Ollama that refuses them
  // (stock.cfg fails both upstream.* checks, origin.cfg and host.cfg pass one each).
  void upstream_policy(const section &backend) {
    const auto origin = in_force(backend, [](const line_words &w) {
      return w.size() >= 3 && starts_with(w, {"http-request", "del-header"}) &&
             ascii_lower(w[2]) == "origin";
    });
    if (!origin)
      add({"upstream.origin-accepted"},
          opening(backend) +
              " forwards the browser's Origin to the upstream: add `http-request del-header "
              "origin` (and answer CORS in HAProxy)",
          backend.line, backend.label());
    const auto host = in_force(backend, [](const line_words &w) {
      return w.size() >= 3 && starts_with(w, {"http-request", "set-header"}) &&
             ascii_lower(w[2]) == "host";
    });
    if (!host)
      add({"upstream.host-accepted"},
          opening(backend) + " forwards the client's Host to the upstream: add `http-request "
                             "set-header host localhost:11434`",
          backend.line, backend.label());
  }

  const std::vector<section> &sections_;
  const analysis_options &o_;
  std::vector<nginx::finding> out_;
};

} // namespace

long long parse_time_ms(const std::string &s) {
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits])))
    ++digits;
  if (digits == 0 || digits > 12) return -1;
  const long long n = std::stoll(s.substr(0, digits));
  const std::string unit = ascii_lower(s.substr(digits));
  if (unit.empty() || unit == "ms") return n;
  if (unit == "us") return n / 1000;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  if (unit == "d") return n * 86'400'000;
  return -1;
}

std::vector<nginx::finding> analyse(const std::string &text, const analysis_options &o) {
  const auto sections = sections_of(text);
  return analyser(sections, o).run();
}

} // namespace streamcheck::harness::haproxy
