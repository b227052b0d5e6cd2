#include "harness/caddy/launcher.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/child_process.h"
#include "harness/managed/packaged.h"
#include "harness/process.h"

namespace streamcheck::harness::caddy {
namespace {

using nlohmann::json;

// HOME and XDG directories inside the prefix: what Caddy writes stays in it (the inherited ones
// are dropped, so these are the only ones it sees).
std::vector<std::string> private_home_env(const std::string &prefix) {
  return {"HOME=" + prefix, "XDG_DATA_HOME=" + prefix + "/data",
          "XDG_CONFIG_HOME=" + prefix + "/config"};
}
const std::vector<std::string> inherited_home = {"HOME=", "XDG_DATA_HOME=", "XDG_CONFIG_HOME="};

bool ends_with(const std::string &s, const std::string &tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

} // namespace

std::string parse_version(const std::string &version_output) {
  std::istringstream words(version_output);
  std::string first;
  words >> first;
  // "v2.7.6 h1:…" from upstream builds, "2.6.2" from Debian's.
  if (!first.empty() && first.front() == 'v') first.erase(0, 1);
  return !first.empty() && std::isdigit(static_cast<unsigned char>(first.front())) &&
                 first.find('.') != std::string::npos
             ? first
             : "";
}

result<json> load(const std::string &binary, const std::string &user_file,
                  const std::string &prefix) {
  std::error_code ec;
  std::filesystem::create_directories(prefix + "/logs", ec);
  std::string text;
  if (ends_with(user_file, ".json")) {
    text = read_file(user_file);
  } else {
    const std::string out = prefix + "/logs/adapted.json", err = prefix + "/logs/adapt.log";
    child_process adapt;
    auto started =
        adapt.start({.argv = {binary, "adapt", "--config", user_file, "--adapter", "caddyfile"},
                     .log = out,
                     .extra_env = private_home_env(prefix),
                     .drop_env = inherited_home,
                     .stderr_log = err,
                     .truncate = true});
    if (!started) return error{started.message()};
    const int status = adapt.wait(std::chrono::seconds(30));
    if (status != 0) {
      std::string said = last_lines(read_file(err), 3);
      if (status == -1) said = "did not finish within 30 s";
      return error{"caddy adapt rejected " + user_file + ": " + said};
    }
    text = read_file(out);
  }
  auto parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return error{user_file + ": not a Caddy JSON config (an object)"};
  return parsed;
}

caddy_config::caddy_config(std::string binary, std::string user_file, json adapted,
                           std::string prefix, unsigned short mock_port)
    : packaged_proxy("Caddy", std::move(binary), std::move(user_file), std::move(prefix),
                     mock_port),
      adapted_(std::move(adapted)) {
  version_ =
      parse_version(managed::command_output({binary_, "version"}, logs_dir() + "/caddy-version.log",
                                            private_home_env(prefix_), inherited_home));
}

int caddy_config::ports_needed() const {
  return static_cast<int>(proxying_servers(adapted_).size());
}

result<unsigned short> caddy_config::write_config(const std::vector<unsigned short> &ports) {
  rewrite_options o;
  o.ports = ports;
  o.mock_port = mock_port_;
  o.prefix = prefix_;
  // make_throwaway_pem writes the certificate and the key beside the one-file PEM.
  o.certificate = throwaway_pem() + ".crt";
  o.key = throwaway_pem() + ".key";
  auto r = rewrite(adapted_, o);
  if (!r) return error{user_file_ + ": " + r.message()};
  flat_ = std::move(*r);
  std::ofstream f(config_path(), std::ios::trunc);
  f << flat_.config.dump(1, '\t');
  if (!f) return error{"cannot write " + config_path()};
  return flat_.sites.front().port;
}

result<bool> caddy_config::prepare() {
  return make_certificate_if(flat_.throwaway_certificate);
}

std::vector<std::string> caddy_config::with_private_home(std::vector<std::string> argv) const {
  // `env` execs Caddy in the same process: the launcher's pid is Caddy's.
  std::vector<std::string> out = {"env"};
  for (auto &e : private_home_env(prefix_))
    out.push_back(e);
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::vector<std::string> caddy_config::check_command() const {
  return with_private_home({binary_, "validate", "--config", config_path()});
}

std::string caddy_config::explain_rejection(const std::string &check_output) const {
  return "caddy validate rejected " + user_file_ + " (" + version() + ", as adapted to " +
         config_path() + "): " + last_lines(check_output, 3);
}

std::vector<std::string> caddy_config::start_command() const {
  return with_private_home({binary_, "run", "--config", config_path()});
}

bool caddy_config::relevant_log_line(const std::string &line) const {
  for (const char *level : {"\"level\":\"error\"", "\"level\":\"fatal\"", "\"level\":\"panic\""})
    if (line.find(level) != std::string::npos) return true;
  return line.rfind("Error:", 0) == 0;
}

} // namespace streamcheck::harness::caddy
