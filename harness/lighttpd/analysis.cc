#include "harness/lighttpd/analysis.h"

#include <optional>
#include <regex>

#include "common/ascii.h"
#include "harness/managed/packaged.h"

namespace streamcheck::harness::lighttpd {
namespace {

// A statement as written: its line, its text without the comment, and the value it assigns.
struct statement {
  int line = 0;
  std::string text;
  std::string value;
};

std::string without_comment(const std::string &line) {
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"') {
      quote = c;
    } else if (c == '#') {
      return line.substr(0, i);
    }
  }
  return line;
}

std::string trimmed(const std::string &s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The last assignment of `key` in the file (lighttpd keeps the last one); `value` captures what
// the statement's value is kept of.
std::optional<statement> last_assignment(const std::vector<std::string> &lines,
                                         const std::string &key, const std::string &value = "()") {
  const std::regex re("^\\s*" + std::regex_replace(key, std::regex("\\."), "\\.") +
                      "\\s*[:+]?=\\s*" + value);
  std::optional<statement> last;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string text = without_comment(lines[i]);
    std::smatch m;
    if (std::regex_search(text, m, re))
      last = statement{static_cast<int>(i + 1), trimmed(text), m[1].str()};
  }
  return last;
}

class analyser {
public:
  analyser(const std::string &text, const std::string &file)
      : lines_(managed::split_lines(text)), file_(file) {}

  std::vector<nginx::finding> run() {
    if (!last_assignment(lines_, "proxy.server")) return {};
    response_buffering();
    upstream_policy();
    return std::move(out_);
  }

private:
  std::string quote(const statement &s) const {
    return "`" + s.text + "` at " + file_ + ":" + std::to_string(s.line);
  }
  void add(const std::vector<std::string> &checks, const std::string &text, int line,
           const std::string &subject) {
    for (const auto &id : checks)
      out_.push_back({id, text, 0, {file_, line}, subject, {}});
  }

  // Fault: server.stream-response-body 0 (the default) reads the whole upstream response before
  // sending any of it: nothing streams, a cut answer gets a clean Content-Length, a client that
  // left is noticed after the model finished (stock.conf fails, stream-response-body.conf passes).
  void response_buffering() {
    const auto set = last_assignment(lines_, "server.stream-response-body", "(\\d+)");
    if (set && set->value != "0") return; // 2 is proven; 1 streams too (not measured here)
    const std::string why =
        set ? quote(*set) + " buffers"
            : "server.stream-response-body is not set, and its default (0) buffers";
    add({"stream.", "conn.concurrent-streams", "abort.cancel-propagates",
         "abort.truncation-visible"},
        why + " the whole upstream response before lighttpd sends any of it; set "
              "`server.stream-response-body = 2`",
        set ? set->line : 0, set ? set->text : "");
  }

  // Faults: the browser's Origin and the public Host forwarded to an Ollama that refuses them
  // (stock.conf fails both upstream.* checks, origin.conf and host.conf pass one each).
  void upstream_policy() {
    const auto proxy = last_assignment(lines_, "proxy.server");
    bool origin_cleared = false, host_mapped = false;
    for (const auto &line : lines_) {
      const std::string text = ascii_lower(without_comment(line));
      if (text.find("setenv.set-request-header") != std::string::npos &&
          std::regex_search(text, std::regex("\"origin\"\\s*=>\\s*\"\"")))
        origin_cleared = true;
      if (text.find("proxy.header") != std::string::npos &&
          text.find("map-host-request") != std::string::npos)
        host_mapped = true;
    }
    if (!origin_cleared)
      add({"upstream.origin-accepted"},
          quote(*proxy) + " forwards the browser's Origin to the upstream: add "
                          "`setenv.set-request-header = ( \"Origin\" => \"\" )` (mod_setenv; "
                          "answer CORS in lighttpd)",
          proxy->line, proxy->text);
    if (!host_mapped)
      add({"upstream.host-accepted"},
          quote(*proxy) + " forwards the client's Host to the upstream: add `proxy.header = ( "
                          "\"map-host-request\" => ( \"-\" => \"localhost:11434\" ) )`",
          proxy->line, proxy->text);
  }

  std::vector<std::string> lines_;
  std::string file_;
  std::vector<nginx::finding> out_;
};

} // namespace

std::vector<nginx::finding> analyse(const std::string &text, const std::string &file) {
  return analyser(text, file).run();
}

} // namespace streamcheck::harness::lighttpd
