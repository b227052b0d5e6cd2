// What `streamcheck COMMAND [options]` was told: every flag of every command declared once
// (common/options.h), with the parser, `streamcheck help` and each command's --help made from
// that declaration.
#pragma once
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "common/result.h"
#include "harness/live/live.h"
#include "harness/runner.h"

namespace streamcheck::harness {

struct report_target {
  std::string format;
  std::string file; // "" or "-" = stdout
};

// The --report formats and how each is written; `color` matters to console only.
struct report_format {
  std::string_view name;
  void (*write)(std::ostream &out, const run_report &r, bool color);
};
const std::vector<report_format> &report_formats();
const report_format *find_report_format(const std::string &name);

struct cli_options {
  std::string command;
  run_options run;
  std::vector<report_target> reports;      // console to stdout when none is given
  bool color = isatty(STDOUT_FILENO) != 0; // --no-color
  bool list_json = false;
  // nginx command
  std::string conf;
  std::string nginx_binary;
  std::string server_name;
  std::string include_prefix;
  std::string include_root;
  bool keep_certificates = false;
  unsigned short listen_port = 0;
  std::string after_suite;
  bool keep_temp = false;
  bool fix = false;    // --fix[=OUT]
  std::string fix_out; // "" = CONF with .fixed before its extension
  // exec command
  std::vector<std::string> exec_argv;
  // compare command: its TARGET strings
  std::vector<std::string> compare_targets;
  bool upstream_profile_given = false;
  bool public_host_given = false; // else --host sets it too
  bool base_path_given = false;
  live::options live; // live command: --direct, --model, --api, --max-tokens
};

// argv[1] is the command, the rest its flags (and nginx's CONF, exec's -- CMD...). The error is
// the one-line message of a usage error (exit 3).
result<cli_options> parse_command_line(int argc, char **argv);

// `streamcheck help`: every command and every option.
std::string usage_text();

// `streamcheck CMD --help`: CMD's entry, the options it takes, the exit codes; nullopt for an
// unknown command.
std::optional<std::string> command_help(const std::string &command);

// `streamcheck CMD --help` (or -h anywhere before exec's --) and `streamcheck help CMD`: CMD.
std::optional<std::string> wants_command_help(int argc, char **argv);

} // namespace streamcheck::harness
