// nginx configuration syntax: a tokenizer and parser that follow ngx_conf_read_token (quotes,
// backslash escapes, '#' comments, "${var}", blocks), include flattening with globs, and an emitter
// that writes the tree back with a map from every emitted line to the user's file:line.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace streamcheck::harness::nginx {

struct source_loc {
  std::string file; // as the user would name it: the path given, or the include's path
  int line = 0;
  std::string str() const; // "file:line"
};

struct word {
  std::string value; // after quote removal and escape processing, as nginx sees it
  std::string raw;   // exactly as written (quotes included): re-emitted verbatim
};

struct directive {
  std::string name;
  std::string raw_name; // as written ("" for added directives: name is emitted)
  std::vector<word> args;
  source_loc loc;
  bool block = false;
  std::vector<directive> children;
  // OpenResty's *_by_lua_block { ... } holds Lua, not directives: kept verbatim (between the
  // braces) and re-emitted as written.
  std::string raw_body;

  std::string arg(std::size_t i) const { return i < args.size() ? args[i].value : std::string(); }
  void set_arg(std::size_t i, const std::string &value); // re-quotes the raw form as needed
  // "name arg1 arg2" as written (raw words), for quoting the user's own directive.
  std::string text() const;
};

// Parses one file's text (no include expansion). Errors carry "file:line: message".
result<std::vector<directive>> parse_text(std::string_view text, const std::string &file);

struct load_options {
  std::string include_base; // relative include paths resolve here; "" = the config's directory
  int max_depth = 32;       // include nesting (a loop is an error, not a hang)
  // --include-root: an absolute include that matches nothing here (a path that exists only in
  // the deployment's container, /config/nginx/proxy.conf) is read from include_root + path.
  std::string include_root;
  // nginx's own configuration directory (`nginx -V` --conf-path's, /etc/nginx on Debian): a
  // relative include missing next to the config (`include mime.types;`) is read from there, as
  // it would be once the config is deployed as nginx.conf.
  std::string fallback_base;
};

struct config {
  std::string path;         // the main file as given
  std::string include_base; // absolute directory relative paths were resolved against
  std::vector<directive> top;
};

// Reads the main file and expands every `include` (globs sorted, like nginx) in place, keeping
// each directive's own file:line.
result<config> load(const std::string &path, const load_options &options = {});

// Writes the tree in nginx syntax, one directive per line. line_map[n] is the source of emitted
// line n+1 (empty file for lines the rewriter added).
std::string emit(const std::vector<directive> &top, std::vector<source_loc> *line_map);

// A word quoted for nginx when it needs it ("a b" -> "\"a b\"").
std::string quote(const std::string &value);

// Finds every directive named `name` (depth first, document order).
void find_all(std::vector<directive> &tree, const std::string &name, std::vector<directive *> &out);

} // namespace streamcheck::harness::nginx
