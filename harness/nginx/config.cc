#include "harness/nginx/config.h"

#include <filesystem>
#include <fstream>
#include <glob.h>
#include <sstream>

namespace streamcheck::harness::nginx {
namespace fs = std::filesystem;

std::string source_loc::str() const {
  return file + ":" + std::to_string(line);
}

std::string quote(const std::string &value) {
  bool plain = !value.empty();
  for (char c : value)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';' || c == '{' || c == '}' ||
        c == '"' || c == '\'' || c == '\\' || c == '#')
      plain = false;
  if (plain) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void directive::set_arg(std::size_t i, const std::string &value) {
  if (i >= args.size()) args.resize(i + 1);
  args[i] = {value, quote(value)};
}

std::string directive::text() const {
  std::string out = raw_name.empty() ? name : raw_name;
  for (const auto &a : args)
    out += " " + a.raw;
  return out;
}

namespace {

// One step of ngx_conf_read_token: the words of a directive and what ended them.
enum class token_end { semicolon, block_start, block_end, eof };

struct tokenizer {
  std::string_view text;
  std::string file;
  std::size_t pos = 0;
  int line = 1;

  std::string error_at(int at, const std::string &message) const {
    return file + ":" + std::to_string(at) + ": " + message;
  }

  // Unescapes like nginx: \" \' \\ drop the backslash, \t \r \n become control characters, any
  // other backslash stays.
  static std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        const char n = s[i + 1];
        if (n == '"' || n == '\'' || n == '\\') {
          out += n;
          ++i;
          continue;
        }
        if (n == 't' || n == 'r' || n == 'n') {
          out += n == 't' ? '\t' : n == 'r' ? '\r' : '\n';
          ++i;
          continue;
        }
      }
      out += s[i];
    }
    return out;
  }

  // Reads the words of the next directive; returns the terminator or an error message.
  result<token_end> next(std::vector<word> &words, int &first_line) {
    words.clear();
    bool last_space = true, need_space = false, sharp_comment = false, quoted = false;
    bool s_quoted = false, d_quoted = false, variable = false;
    std::size_t start = 0;
    int start_line = line;
    for (;;) {
      if (pos >= text.size()) {
        if (!words.empty() || !last_space)
          return error{error_at(line, "unexpected end of file, expecting \";\" or \"}\"")};
        return token_end::eof;
      }
      const char ch = text[pos++];
      if (ch == '\n') {
        ++line;
        if (sharp_comment) sharp_comment = false;
      }
      if (sharp_comment) continue;
      if (quoted) {
        quoted = false;
        continue;
      }
      const bool space = ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
      if (need_space) {
        if (space) {
          last_space = true;
          need_space = false;
          continue;
        }
        if (ch == ';') return token_end::semicolon;
        if (ch == '{') return token_end::block_start;
        if (ch == ')') {
          last_space = true;
          need_space = false;
        } else {
          return error{error_at(line, std::string("unexpected \"") + ch + "\"")};
        }
      }
      if (last_space) {
        if (space) continue;
        start = pos - 1;
        start_line = line;
        switch (ch) {
        case ';':
        case '{':
          if (words.empty()) return error{error_at(line, std::string("unexpected \"") + ch + "\"")};
          return ch == '{' ? token_end::block_start : token_end::semicolon;
        case '}':
          if (!words.empty()) return error{error_at(line, "unexpected \"}\"")};
          return token_end::block_end;
        case '#': sharp_comment = true; continue;
        case '\\':
          quoted = true;
          last_space = false;
          continue;
        case '"':
          d_quoted = true;
          last_space = false;
          continue;
        case '\'':
          s_quoted = true;
          last_space = false;
          continue;
        case '$':
          variable = true;
          last_space = false;
          continue;
        default: last_space = false;
        }
        if (words.empty()) first_line = start_line;
        continue;
      }
      if (ch == '{' && variable) continue;
      variable = false;
      if (ch == '\\') {
        quoted = true;
        continue;
      }
      if (ch == '$') {
        variable = true;
        continue;
      }
      bool found = false;
      std::size_t end = pos - 1; // exclusive end of the word's value
      if (d_quoted) {
        if (ch == '"') {
          d_quoted = false;
          need_space = true;
          found = true;
        }
      } else if (s_quoted) {
        if (ch == '\'') {
          s_quoted = false;
          need_space = true;
          found = true;
        }
      } else if (space || ch == ';' || ch == '{') {
        last_space = true;
        found = true;
      }
      if (!found) continue;
      if (words.empty()) first_line = start_line;
      const bool was_quoted = text[start] == '"' || text[start] == '\'';
      const std::string_view value =
          was_quoted ? text.substr(start + 1, end - start - 1) : text.substr(start, end - start);
      const std::string_view raw =
          was_quoted ? text.substr(start, end - start + 1) : text.substr(start, end - start);
      words.push_back({unescape(value), std::string(raw)});
      if (ch == ';') return token_end::semicolon;
      if (ch == '{') return token_end::block_start;
    }
  }
};

bool is_lua_block(const std::string &name) {
  const std::string suffix = "_by_lua_block";
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The length of a Lua long bracket opening at text[at] ("[[", "[==["), 0 when there is none.
std::size_t long_bracket(std::string_view text, std::size_t at) {
  if (at >= text.size() || text[at] != '[') return 0;
  std::size_t i = at + 1;
  while (i < text.size() && text[i] == '=')
    ++i;
  return i < text.size() && text[i] == '[' ? i + 1 - at : 0;
}

// A Lua block's body up to its matching '}', skipping strings, long strings and comments
// (as OpenResty's own reader does); t.pos ends after the '}'.
result<std::string> read_lua_body(tokenizer &t, int open_line) {
  const std::size_t start = t.pos;
  int depth = 1;
  auto skip_to = [&](std::size_t end) {
    for (; t.pos < end && t.pos < t.text.size(); ++t.pos)
      if (t.text[t.pos] == '\n') ++t.line;
  };
  while (t.pos < t.text.size()) {
    const char c = t.text[t.pos];
    const bool comment = c == '-' && t.pos + 1 < t.text.size() && t.text[t.pos + 1] == '-';
    const std::size_t bracket = long_bracket(t.text, comment ? t.pos + 2 : t.pos);
    if (bracket > 0) { // [[...]], [==[...]==], --[[...]]
      const std::size_t open = (comment ? t.pos + 2 : t.pos);
      const std::string close = "]" + std::string(bracket - 2, '=') + "]";
      const auto end = t.text.find(close, open + bracket);
      skip_to(end == std::string_view::npos ? t.text.size() : end + close.size());
    } else if (comment) {
      const auto end = t.text.find('\n', t.pos);
      skip_to(end == std::string_view::npos ? t.text.size() : end);
    } else if (c == '"' || c == '\'') {
      std::size_t i = t.pos + 1;
      while (i < t.text.size() && t.text[i] != c)
        i += t.text[i] == '\\' ? 2 : 1;
      skip_to(i + 1);
    } else {
      if (c == '{') ++depth;
      if (c == '}' && --depth == 0) {
        std::string body(t.text.substr(start, t.pos - start));
        ++t.pos;
        return body;
      }
      skip_to(t.pos + 1);
    }
  }
  return error{t.error_at(open_line, "Lua block opened here is never closed (unexpected end of "
                                     "file, expecting \"}\")")};
}

result<bool> parse_block(tokenizer &t, std::vector<directive> &out, bool nested, int open_line) {
  std::vector<word> words;
  for (;;) {
    int first_line = t.line;
    auto r = t.next(words, first_line);
    if (!r) return error{r.message()};
    switch (*r) {
    case token_end::eof:
      if (nested)
        return error{t.error_at(open_line, "block opened here is never closed (unexpected end of "
                                           "file, expecting \"}\")")};
      return true;
    case token_end::block_end:
      if (!nested) return error{t.error_at(t.line, "unexpected \"}\"")};
      return true;
    case token_end::semicolon:
    case token_end::block_start: {
      directive d;
      d.name = words.front().value;
      d.raw_name = words.front().raw;
      d.args.assign(words.begin() + 1, words.end());
      d.loc = {t.file, first_line};
      if (*r == token_end::block_start && is_lua_block(d.name)) {
        d.block = true;
        auto body = read_lua_body(t, first_line);
        if (!body) return error{body.message()};
        d.raw_body = std::move(*body);
      } else if (*r == token_end::block_start) {
        d.block = true;
        auto inner = parse_block(t, d.children, true, first_line);
        if (!inner) return inner;
      }
      out.push_back(std::move(d));
      break;
    }
    }
  }
}

result<std::string> read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return error{"cannot open " + path};
  std::ostringstream s;
  s << f.rdbuf();
  if (f.bad()) return error{"cannot read " + path};
  return s.str();
}

bool has_glob(const std::string &s) {
  return s.find_first_of("*?[") != std::string::npos;
}

struct expander {
  std::string base;
  int max_depth;
  std::string include_root;
  std::string fallback_base;

  // The files an include names: a glob's matches (sorted, none is fine, as in nginx), or the
  // one file when it exists.
  static result<std::vector<std::string>> matches(const std::string &full, const directive &d,
                                                  const std::string &pattern) {
    std::vector<std::string> files;
    if (!has_glob(pattern)) {
      std::error_code ec;
      if (fs::exists(full, ec)) files.push_back(full);
      return files;
    }
    glob_t g{};
    const int rc = glob(full.c_str(), 0, nullptr, &g);
    if (rc == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i)
        files.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    if (rc != 0 && rc != GLOB_NOMATCH)
      return error{d.loc.str() + ": include \"" + pattern + "\": glob failed"};
    return files;
  }

  // One line: where, what, and the way out (--prefix for relative paths, --include-root for
  // absolute ones that exist only where the config is deployed).
  std::string missing_include(const directive &d, const std::string &pattern, bool relative,
                              const std::string &full, const std::string &mapped) const {
    std::string m = d.loc.str() + ": include \"" + pattern + "\": no such file " + full;
    if (relative)
      return m + (mapped.empty() ? "" : ", nor " + mapped) +
             " (relative includes resolve against " + base + "; see --prefix)";
    if (!mapped.empty()) return m + ", nor " + mapped + " (--include-root " + include_root + ")";
    return m +
           " (a path from the deployment's host or container? --include-root DIR reads it "
           "from DIR" +
           pattern + ")";
  }

  result<bool> expand(std::vector<directive> &tree, int depth) {
    std::vector<directive> out;
    for (auto &d : tree) {
      if (d.name != "include" || d.block) {
        if (d.block) {
          auto r = expand(d.children, depth);
          if (!r) return r;
        }
        out.push_back(std::move(d));
        continue;
      }
      if (d.args.size() != 1)
        return error{d.loc.str() + ": invalid number of arguments in \"include\" directive"};
      if (depth >= max_depth)
        return error{d.loc.str() + ": includes nested deeper than " + std::to_string(max_depth) +
                     " levels (an include loop?)"};
      const std::string pattern = d.arg(0);
      const bool relative = pattern.empty() || pattern[0] != '/';
      const std::string full = relative ? base + "/" + pattern : pattern;
      auto files = matches(full, d, pattern);
      if (!files) return error{files.message()};
      std::string mapped;
      if (files->empty() && !relative && !include_root.empty()) mapped = include_root + pattern;
      if (files->empty() && relative && !fallback_base.empty() && fallback_base != base &&
          !has_glob(pattern))
        mapped = fallback_base + "/" + pattern;
      if (!mapped.empty()) {
        files = matches(mapped, d, pattern);
        if (!files) return error{files.message()};
      }
      if (files->empty() && !has_glob(pattern))
        return error{missing_include(d, pattern, relative, full, mapped)};
      for (const auto &f : *files) {
        std::error_code ec;
        if (fs::is_directory(f, ec)) continue;
        auto text = read_file(f);
        if (!text) return error{d.loc.str() + ": include \"" + pattern + "\": " + text.message()};
        // Name included files as the user wrote them where that is unambiguous.
        const std::string shown = relative && !has_glob(pattern) && mapped.empty() ? pattern : f;
        tokenizer t{*text, shown};
        std::vector<directive> inner;
        auto r = parse_block(t, inner, false, 0);
        if (!r) return r;
        auto e = expand(inner, depth + 1);
        if (!e) return e;
        for (auto &x : inner)
          out.push_back(std::move(x));
      }
    }
    tree = std::move(out);
    return true;
  }
};

void emit_into(const std::vector<directive> &tree, int depth, std::string &out,
               std::vector<source_loc> *line_map) {
  const std::string indent(static_cast<std::size_t>(depth) * 4, ' ');
  for (const auto &d : tree) {
    if (!d.raw_body.empty()) { // Lua, as written: its lines map to the user's lines
      out += indent + d.text() + " {" + d.raw_body + "}\n";
      if (!line_map) continue;
      line_map->push_back(d.loc);
      for (std::size_t i = 0, n = 0; i < d.raw_body.size(); ++i)
        if (d.raw_body[i] == '\n') line_map->push_back({d.loc.file, d.loc.line + int(++n)});
      continue;
    }
    out += indent + d.text() + (d.block ? " {\n" : ";\n");
    if (line_map) line_map->push_back(d.loc);
    if (d.block) {
      emit_into(d.children, depth + 1, out, line_map);
      out += indent + "}\n";
      if (line_map) line_map->push_back({});
    }
  }
}

} // namespace

result<std::vector<directive>> parse_text(std::string_view text, const std::string &file) {
  tokenizer t{text, file};
  std::vector<directive> out;
  auto r = parse_block(t, out, false, 0);
  if (!r) return error{r.message()};
  return out;
}

result<config> load(const std::string &path, const load_options &options) {
  auto text = read_file(path);
  if (!text) return error{text.message()};
  std::error_code ec;
  config c;
  c.path = path;
  const fs::path base =
      options.include_base.empty() ? fs::path(path).parent_path() : fs::path(options.include_base);
  c.include_base = fs::absolute(base.empty() ? fs::path(".") : base, ec).lexically_normal();
  if (!c.include_base.empty() && c.include_base.size() > 1 && c.include_base.back() == '/')
    c.include_base.pop_back();
  auto top = parse_text(*text, path);
  if (!top) return error{top.message()};
  c.top = std::move(*top);
  std::string root = options.include_root;
  while (root.size() > 1 && root.back() == '/')
    root.pop_back();
  expander x{c.include_base, options.max_depth, root, options.fallback_base};
  auto r = x.expand(c.top, 0);
  if (!r) return error{r.message()};
  return c;
}

std::string emit(const std::vector<directive> &top, std::vector<source_loc> *line_map) {
  std::string out;
  emit_into(top, 0, out, line_map);
  return out;
}

void find_all(std::vector<directive> &tree, const std::string &name,
              std::vector<directive *> &out) {
  for (auto &d : tree) {
    if (d.name == name) out.push_back(&d);
    if (d.block) find_all(d.children, name, out);
  }
}

} // namespace streamcheck::harness::nginx
