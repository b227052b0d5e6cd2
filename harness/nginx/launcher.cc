#include "harness/nginx/launcher.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace streamcheck::harness::nginx {
namespace {

bool worth_showing(const std::string &l) {
  return l.find("[error]") != std::string::npos || l.find("[crit]") != std::string::npos ||
         l.find("[alert]") != std::string::npos || l.find("[emerg]") != std::string::npos;
}

bool executable(const std::string &p) {
  return !p.empty() && access(p.c_str(), X_OK) == 0;
}

} // namespace

std::string find_nginx(const std::string &explicit_path) {
  if (!explicit_path.empty()) return executable(explicit_path) ? explicit_path : "";
  if (const char *path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    for (std::string d; std::getline(dirs, d, ':');)
      if (!d.empty() && executable(d + "/nginx")) return d + "/nginx";
  }
  return executable("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "";
}

build_info parse_build_info(const std::string &v_output) {
  build_info b;
  auto after = [&](const std::string &key) -> std::string {
    const auto at = v_output.find(key);
    if (at == std::string::npos) return "";
    const auto start = at + key.size();
    const auto end = v_output.find_first_of(" \n'", start);
    return v_output.substr(start, end == std::string::npos ? std::string::npos : end - start);
  };
  for (const char *name : {"nginx version: nginx/", "nginx version: openresty/"})
    if (const std::string v = after(name); !v.empty()) {
      b.version = v;
      if (std::string(name).find("openresty") != std::string::npos) b.flavour = "openresty";
    }
  if (const std::string p = after("--prefix="); !p.empty()) b.prefix = p;
  while (b.prefix.size() > 1 && b.prefix.back() == '/')
    b.prefix.pop_back();
  b.modules_path = after("--modules-path=");
  if (b.modules_path.empty()) b.modules_path = b.prefix + "/modules";
  const std::string conf_path = after("--conf-path=");
  const auto slash = conf_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : conf_path.substr(0, slash);
  b.conf_dir = conf_path.empty()     ? b.prefix + "/conf"
               : conf_path[0] == '/' ? dir
                                     : b.prefix + (dir.empty() ? "" : "/" + dir);
  return b;
}

build_info query_build(const std::string &binary, const std::string &log,
                       std::chrono::milliseconds deadline) {
  child_process v;
  if (!v.start({{binary, "-V"}, log, {}, {"NGINX="}})) return {};
  if (v.wait(deadline) == -1) return {};
  return parse_build_info(read_file(log));
}

std::string explain_rejection(const std::string &message, const build_info &b,
                              const std::string &binary) {
  const std::string ran = (b.version.empty() ? b.flavour : b.flavour + " " + b.version) + " (" +
                          binary + ") ran this test";
  const std::string out = "; --nginx PATH tests with the nginx you deploy";
  const std::string unknown = "unknown directive \"";
  if (const auto at = message.find(unknown); at != std::string::npos) {
    const auto start = at + unknown.size();
    const std::string name = message.substr(start, message.find('"', start) - start);
    std::string why = "a typo, or a directive of a newer nginx or of a module this build lacks";
    if (name == "http2") why = "`http2 on;` needs nginx 1.25.1 or later (older: listen ... http2)";
    if (name == "http3" || name == "quic_retry" || name == "quic_gso")
      why = "HTTP/3 directives need nginx 1.25.0 or later";
    if (name.find("lua") != std::string::npos) why = "an OpenResty (lua-nginx-module) directive";
    return message + "\n" + name + ": " + why + "; " + ran + out;
  }
  if (message.find("dlopen()") != std::string::npos)
    return message + "\nthe module is not installed for " + ran +
           " (Debian: the libnginx-mod-* package)" + out;
  if (message.find("invalid parameter \"quic\"") != std::string::npos)
    return message + "\nlisten ... quic needs nginx 1.25.0 or later; " + ran + out;
  return message;
}

result<bool> make_throwaway_certificate(const std::string &cert, const std::string &key,
                                        const std::string &log,
                                        std::chrono::milliseconds deadline) {
  child_process openssl;
  auto started =
      openssl.start({{"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                      "/CN=streamcheck-throwaway-certificate", "-keyout", key, "-out", cert},
                     log,
                     {},
                     {}});
  if (!started)
    return error{"cannot run openssl for a throwaway certificate: " + started.message()};
  const int status = openssl.wait(deadline);
  if (status != 0)
    return error{"openssl could not make a throwaway certificate (status " +
                 std::to_string(status) + "): " + last_lines(read_file(log), 3)};
  return true;
}

std::string map_back(const std::string &text, const std::string &flat_path,
                     const std::vector<source_loc> &line_map) {
  std::string out;
  std::size_t pos = 0;
  const std::string needle = flat_path + ":";
  for (;;) {
    const auto at = text.find(needle, pos);
    if (at == std::string::npos) break;
    std::size_t end = at + needle.size();
    int line = 0;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])))
      line = line * 10 + (text[end++] - '0');
    out += text.substr(pos, at - pos);
    const bool known = line >= 1 && static_cast<std::size_t>(line) <= line_map.size() &&
                       !line_map[line - 1].file.empty();
    out += known ? line_map[line - 1].str()
                 : "(streamcheck's rewritten config, line " + std::to_string(line) + ")";
    pos = end;
  }
  return out + text.substr(pos);
}

std::string nginx_proxy::version() const {
  return build_.version.empty() ? "" : build_.flavour + " " + build_.version;
}

std::vector<std::string> nginx_proxy::start_command() const {
  return {files_.binary, "-p", files_.prefix + "/", "-e", files_.error_log(), "-c",
          files_.conf,   "-g", "daemon off;"};
}

std::vector<std::string> nginx_proxy::check_command() const {
  auto argv = start_command();
  argv.insert(argv.begin() + 1, "-t");
  return argv;
}

// nginx's own words, mapped back to the user's file:line, without its "test failed" line; then
// what nginx does not say (explain_rejection above).
std::string nginx_proxy::explain_rejection(const std::string &check_output) const {
  const std::string text = map_back(check_output, files_.conf, line_map_);
  std::string kept;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.find("test failed") == std::string::npos && !l.empty())
      kept += (kept.empty() ? "" : "\n") + l;
  return nginx::explain_rejection("nginx -t rejected the config:\n" + (kept.empty() ? text : kept),
                                  build_, files_.binary);
}

bool nginx_proxy::relevant_log_line(const std::string &l) const {
  return worth_showing(l);
}

result<bool> nginx_proxy::write_text(const std::string &text, std::vector<source_loc> line_map) {
  line_map_ = std::move(line_map);
  std::error_code ec;
  std::filesystem::create_directories(logs_dir(), ec);
  std::ofstream f(files_.conf, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f) return error{"cannot write " + files_.conf};
  return true;
}

int flattened_config::ports_needed() const {
  return nginx::ports_needed(conf_.top) + 1;
}

result<unsigned short> flattened_config::write_config(const std::vector<unsigned short> &ports) {
  options_.ports = ports;
  options_.dead_port = options_.ports.back();
  options_.ports.pop_back();
  auto rw = rewrite(conf_.top, options_);
  if (!rw) return error{rw.message()};
  flat_ = std::move(*rw);
  std::vector<source_loc> line_map;
  const std::string text = emit(flat_.top, &line_map);
  if (auto written = write_text(text, std::move(line_map)); !written)
    return error{written.message()};
  return flat_.port;
}

result<bool> flattened_config::prepare() {
  for (const auto &n : flat_.notes)
    if (on_note) on_note(n);
  for (const auto &d : flat_.dirs) {
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
  }
  if (flat_.throwaway_certificate)
    return make_throwaway_certificate(options_.throwaway_cert, options_.throwaway_key,
                                      logs_dir() + "/openssl.log", std::chrono::seconds(30));
  return true;
}

std::vector<std::string> relevant_log_lines(const std::string &path, std::size_t max) {
  std::vector<std::string> lines;
  std::ifstream f(path);
  for (std::string l; std::getline(f, l);)
    if (worth_showing(l)) lines.push_back(l);
  if (lines.size() > max) lines.erase(lines.begin(), lines.end() - static_cast<long>(max));
  return lines;
}

} // namespace streamcheck::harness::nginx
