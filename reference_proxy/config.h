// What streamcheck-proxy is told: flags for the common case, a JSON file for the rest. Every
// option has one name, used both as --flag and as the file's key, and one documented default.
#pragma once
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/asio.h"
#include "common/result.h"

namespace streamcheck::proxy {

using duration = std::chrono::milliseconds;

enum class log_format { json, text, off };

struct upstream_address {
  std::string host; // as given: a name or an IP literal (IPv6 without brackets)
  unsigned short port = 11434;
  std::string authority() const; // "host:port", brackets for IPv6: the Host header Ollama accepts
};

struct proxy_config {
  tcp::endpoint listen{asio::ip::make_address("127.0.0.1"), 8080};
  upstream_address upstream{"127.0.0.1", 11434};
  std::vector<std::string> allow_origins; // exact origins, globs with '*', or "*" alone
  unsigned threads = 0;                   // event loops; 0: one per core

  // Defaults sit above the thorough profile's 130 s gaps: a model may think for minutes.
  duration connect_timeout{10'000};
  duration first_byte_timeout{600'000}; // request sent → response head
  duration idle_timeout{600'000};       // between two upstream reads once streaming
  duration header_timeout{10'000};      // a client's request head (slow-loris)
  duration body_timeout{60'000};        // between two reads of a request body
  duration send_timeout{120'000};       // a client that stops reading
  duration keepalive_timeout{75'000};   // an idle client connection
  duration drain_timeout{60'000};       // SIGTERM: in-flight requests get this long

  std::size_t max_body_bytes = std::size_t{1} << 30; // base64 images: large by default
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_header_line_bytes = 8 * 1024; // nginx's large_client_header_buffers 4 8k
  std::size_t max_headers = 100;                // HAProxy's tune.http.maxhdr is 101
  bool underscores_in_headers = false;          // nginx's underscores_in_headers
  std::size_t max_target_bytes = 16 * 1024;
  std::size_t max_connections = 10'000;
  std::size_t upstream_pool_size = 64; // idle upstream connections kept per event loop

  // TLS towards clients (ALPN h2 and http/1.1) when both are set; cleartext otherwise (where
  // HTTP/2 comes by prior knowledge, h2c).
  std::string tls_cert; // PEM certificate chain
  std::string tls_key;  // PEM private key

  std::string access_log = "-"; // file path, "-" for stdout, "off" for none
  log_format log = log_format::json;
  std::string port_file;
};

struct parsed_args {
  proxy_config config;
  bool help = false;
};

// Flags override the --config file, whatever their order. Errors name the option and the value.
result<parsed_args> parse_args(const std::vector<std::string> &args);

// The --help text: every option with its default.
std::string usage();

// "250ms", "10s", "5m", "1h" or a bare number of seconds.
std::optional<duration> parse_duration(const std::string &text);
// "1048576", "64KiB", "20MiB", "1GiB" (also KB/MB/GB as powers of 1024, k/m/g).
std::optional<std::size_t> parse_size(const std::string &text);

} // namespace streamcheck::proxy
