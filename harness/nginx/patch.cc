#include "harness/nginx/patch.h"

#include <algorithm>
#include <optional>

namespace streamcheck::harness::nginx {
namespace {

std::vector<std::string> split_lines(const std::string &text, bool &trailing_newline) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  trailing_newline = !text.empty() && text.back() == '\n';
  return lines;
}

std::string join_lines(const std::vector<std::string> &lines, bool trailing_newline) {
  std::string out;
  for (std::size_t k = 0; k < lines.size(); ++k)
    out += lines[k] + (k + 1 < lines.size() || trailing_newline ? "\n" : "");
  return out;
}

// The first `stop` in line[from, limit) outside quotes and escapes (nginx's quoting), or npos.
std::size_t find_unquoted(const std::string &line, std::size_t from, std::size_t limit, char stop) {
  char quote = 0;
  for (std::size_t i = from; i < limit; ++i) {
    const char c = line[i];
    if (c == '\\') {
      ++i;
    } else if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == stop) {
      return i;
    }
  }
  return std::string::npos;
}

// Where the code of a line ends: at a '#' outside quotes (nginx's comment rule).
std::size_t code_end(const std::string &line) {
  const std::size_t hash = find_unquoted(line, 0, line.size(), '#');
  return hash == std::string::npos ? line.size() : hash;
}

bool word_boundary(char c) {
  return c == ' ' || c == '\t' || c == '{' || c == '}' || c == ';';
}

std::string first_word(const std::string &statement) {
  const auto end = statement.find_first_of(" \t;");
  return statement.substr(0, end);
}

// [begin, end) of the statement `name ...;` on this line (end is past the ';').
std::optional<std::pair<std::size_t, std::size_t>> statement_span(const std::string &line,
                                                                  const std::string &name) {
  const std::size_t limit = code_end(line);
  for (auto at = line.find(name); at != std::string::npos && at < limit;
       at = line.find(name, at + 1)) {
    const bool starts = at == 0 || word_boundary(line[at - 1]);
    const std::size_t after = at + name.size();
    if (!starts || after >= limit || !word_boundary(line[after])) continue;
    if (const std::size_t semi = find_unquoted(line, after, limit, ';'); semi != std::string::npos)
      return std::make_pair(at, semi + 1);
    return std::nullopt; // the statement continues on the next line
  }
  return std::nullopt;
}

std::string indent_of(const std::string &line) {
  return line.substr(0, line.find_first_not_of(" \t"));
}

bool blank(const std::string &s) {
  return s.find_first_not_of(" \t\r") == std::string::npos;
}

result<bool> replace_or_remove(std::vector<std::string> &lines, const edit &e) {
  std::string &line = lines[static_cast<std::size_t>(e.at.line - 1)];
  const std::string name = first_word(e.directive);
  const auto span = statement_span(line, name);
  if (!span)
    return error{e.at.str() + ": no one-line `" + name + " ...;` statement to " +
                 (e.what == edit::kind::set ? "replace" : "remove") + " there"};
  if (e.what == edit::kind::set) {
    line.replace(span->first, span->second - span->first, e.directive + ";");
    return true;
  }
  std::size_t end = span->second;
  while (end < line.size() && (line[end] == ' ' || line[end] == '\t'))
    ++end;
  line.erase(span->first, end - span->first);
  if (blank(line)) {
    lines.erase(lines.begin() + (e.at.line - 1));
  } else if (blank(line.substr(span->first))) {
    line.erase(line.find_last_not_of(" \t") + 1); // it was the last statement on the line
  }
  return true;
}

result<bool> add_to_block(std::vector<std::string> &lines, const edit &e) {
  // The block's '{': on its first line, or on a later one.
  std::size_t k = static_cast<std::size_t>(e.at.line - 1);
  std::size_t brace = std::string::npos;
  for (; k < lines.size(); ++k) {
    const std::size_t limit = code_end(lines[k]);
    brace = lines[k].find('{');
    if (brace != std::string::npos && brace < limit) break;
    brace = std::string::npos;
  }
  if (brace == std::string::npos) return error{e.at.str() + ": no block opens there"};
  const std::string comment = "# streamcheck --fix: " + e.why;
  // A block statement ("if (...) { return 204; }") takes no ';' after its '}'.
  const std::string statement = e.directive.back() == '}' ? e.directive : e.directive + ";";
  const std::string rest = lines[k].substr(brace + 1);
  if (!blank(rest.substr(0, code_end(rest)))) {
    // A one-line block ("events { worker_connections 64; }"): the statement goes in line.
    lines[k].insert(brace + 1, " " + statement);
    return true;
  }
  std::string indent = indent_of(lines[static_cast<std::size_t>(e.at.line - 1)]) + "    ";
  for (std::size_t n = k + 1; n < lines.size(); ++n) {
    if (blank(lines[n])) continue;
    if (lines[n].find_first_not_of(" \t") != lines[n].find('}')) indent = indent_of(lines[n]);
    break;
  }
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(k + 1),
               indent + statement + "  " + comment);
  return true;
}

} // namespace

result<std::string> apply_edits(const std::string &text, const std::string &file,
                                std::vector<edit> edits) {
  bool trailing_newline = false;
  std::vector<std::string> lines = split_lines(text, trailing_newline);
  for (const edit &e : edits) {
    if (e.at.file != file) return error{e.at.str() + ": not in " + file + " (an included file)"};
    if (e.at.line < 1 || static_cast<std::size_t>(e.at.line) > lines.size())
      return error{e.at.str() + ": no such line"};
    if (e.directive.empty()) return error{e.at.str() + ": empty directive"};
  }
  // Several failing checks often share one remedy (chunked_transfer_encoding off breaks two).
  std::vector<edit> unique;
  for (const edit &e : edits)
    if (std::none_of(unique.begin(), unique.end(), [&](const edit &u) {
          return u.what == e.what && u.at.line == e.at.line && u.directive == e.directive;
        }))
      unique.push_back(e);
  edits = std::move(unique);
  // Bottom up, so that no edit moves the lines of one still to come; on one line the in-line
  // replacements first, then the additions in reverse, so that they end up in the given order.
  std::stable_sort(edits.begin(), edits.end(), [](const edit &a, const edit &b) {
    if (a.at.line != b.at.line) return a.at.line > b.at.line;
    return (a.what != edit::kind::add) > (b.what != edit::kind::add);
  });
  std::vector<const edit *> order;
  for (std::size_t i = 0; i < edits.size();) {
    std::size_t j = i;
    while (j < edits.size() && edits[j].at.line == edits[i].at.line &&
           (edits[j].what == edit::kind::add) == (edits[i].what == edit::kind::add))
      ++j;
    if (edits[i].what == edit::kind::add)
      for (std::size_t k = j; k > i; --k)
        order.push_back(&edits[k - 1]);
    else
      for (std::size_t k = i; k < j; ++k)
        order.push_back(&edits[k]);
    i = j;
  }
  for (const edit *e : order) {
    auto done = e->what == edit::kind::add ? add_to_block(lines, *e) : replace_or_remove(lines, *e);
    if (!done) return error{done.message()};
  }
  return join_lines(lines, trailing_newline);
}

} // namespace streamcheck::harness::nginx
