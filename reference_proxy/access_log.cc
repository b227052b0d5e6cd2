#include "reference_proxy/access_log.h"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace streamcheck::proxy {
namespace {

double ms(std::int64_t us) {
  return us < 0 ? -1.0 : static_cast<double>(us / 10) / 100.0; // 0.01 ms resolution
}

} // namespace

const char *to_string(exchange_outcome o) {
  switch (o) {
  case exchange_outcome::completed: return "completed";
  case exchange_outcome::client_closed: return "client_closed";
  case exchange_outcome::upstream_unreachable: return "upstream_unreachable";
  case exchange_outcome::upstream_timeout: return "upstream_timeout";
  case exchange_outcome::upstream_error: return "upstream_error";
  case exchange_outcome::refused: return "refused";
  case exchange_outcome::preflight: return "preflight";
  case exchange_outcome::send_timeout: return "send_timeout";
  }
  return "?";
}

std::string format_json(const exchange_record &r) {
  nlohmann::ordered_json line = {{"time_ms", r.start_unix_ms},
                                 {"client", r.client},
                                 {"method", r.method},
                                 {"target", r.target},
                                 {"http", r.version == 10   ? "1.0"
                                          : r.version == 20 ? "2"
                                                            : "1.1"},
                                 {"status", r.status},
                                 {"bytes_in", r.bytes_in},
                                 {"bytes_out", r.bytes_out},
                                 {"ttfb_ms", ms(r.first_byte_us)},
                                 {"duration_ms", ms(r.duration_us)},
                                 {"upstream_reused", r.upstream_reused},
                                 {"outcome", to_string(r.outcome)}};
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string format_text(const exchange_record &r) {
  char timing[96];
  std::snprintf(timing, sizeof timing, "ttfb=%.2fms duration=%.2fms", ms(r.first_byte_us),
                ms(r.duration_us));
  return r.client + " \"" + r.method + " " + r.target + "\" " + std::to_string(r.status) +
         " in=" + std::to_string(r.bytes_in) + " out=" + std::to_string(r.bytes_out) + " " +
         timing + " " + to_string(r.outcome);
}

result<std::unique_ptr<access_log>> access_log::open(const std::string &path, log_format format) {
  if (format == log_format::off || path == "off")
    return std::unique_ptr<access_log>(new access_log(nullptr, false, format, ""));
  if (path == "-") return std::unique_ptr<access_log>(new access_log(stdout, false, format, ""));
  std::FILE *f = std::fopen(path.c_str(), "a");
  if (!f) return error{"--access-log " + path + ": " + std::strerror(errno)};
  return std::unique_ptr<access_log>(new access_log(f, true, format, path));
}

access_log::access_log(std::FILE *file, bool owned, log_format format, std::string path)
    : file_(file), enabled_(file != nullptr), owned_(owned), format_(format),
      path_(std::move(path)) {}

result<bool> access_log::reopen() {
  if (!owned_) return false;
  std::FILE *f = std::fopen(path_.c_str(), "a");
  if (!f) return error{"cannot reopen " + path_ + ": " + std::strerror(errno)};
  const std::lock_guard lock(mutex_);
  std::fclose(file_);
  file_ = f;
  return true;
}

access_log::~access_log() {
  if (owned_) std::fclose(file_);
}

void access_log::write(const exchange_record &r) {
  if (!enabled_) return;
  const std::string line = (format_ == log_format::json ? format_json(r) : format_text(r)) + "\n";
  const std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_); // a line per request, visible at once to tail -f and log shippers
}

} // namespace streamcheck::proxy
