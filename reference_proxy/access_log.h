// One line per request: what was asked, what came back, and the two times that matter for LLM
// traffic (time to first byte of the answer = first token, and the whole duration).
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "reference_proxy/config.h"

namespace streamcheck::proxy {

// How an exchange ended; the log writes it as its name.
enum class exchange_outcome {
  completed,
  client_closed, // the client left first (status 499 when before the response head)
  upstream_unreachable,
  upstream_timeout,
  upstream_error, // the upstream closed or broke the answer, before or in the middle of it
  refused,        // a bad request, a limit
  preflight,      // a CORS preflight, answered here
  send_timeout,   // the client stopped reading
};
const char *to_string(exchange_outcome o);

// The status logged when the client left before the response head (nginx's convention).
constexpr int client_closed_status = 499;

struct exchange_record {
  std::int64_t start_unix_ms = 0;
  std::string client;
  std::string method;
  std::string target;
  int version = 11;                // 10, 11, or 20 (HTTP/2)
  int status = 0;                  // what the client got; 499: it left before the response head
  std::uint64_t bytes_in = 0;      // request body bytes
  std::uint64_t bytes_out = 0;     // response body bytes
  std::int64_t first_byte_us = -1; // request head read → first response byte to the client
  std::int64_t duration_us = 0;
  bool upstream_reused = false;
  exchange_outcome outcome = exchange_outcome::refused; // until the request is forwarded
};

std::string format_json(const exchange_record &r);
std::string format_text(const exchange_record &r);

class access_log {
public:
  // "-" is stdout. "off" (as nginx's access_log off) or format off opens nothing and writes
  // nothing.
  static result<std::unique_ptr<access_log>> open(const std::string &path, log_format format);
  ~access_log();
  void write(const exchange_record &r);
  // After logrotate moved the file (SIGHUP): opens the path again; the old file stays in use
  // when that fails. A no-op for stdout.
  result<bool> reopen();

private:
  access_log(std::FILE *file, bool owned, log_format format, std::string path);
  std::mutex mutex_;
  std::FILE *file_; // swapped by reopen() under mutex_
  // Whether file_ is set, readable without the lock (reopen never swaps a file for none).
  const bool enabled_;
  bool owned_;
  log_format format_;
  std::string path_;
};

} // namespace streamcheck::proxy
