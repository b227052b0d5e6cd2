// Listen addresses given on command lines: "127.0.0.1:0", "[::1]:8080", "localhost:0".
#pragma once
#include <cstdint>
#include <string>
#include <variant>

#include "common/asio.h"

namespace streamcheck {

struct endpoint_error {
  std::string message;
};

// Only loopback hosts are accepted unless allow_any is set: the tools talk to this machine only.
std::variant<tcp::endpoint, endpoint_error> parse_listen_address(const std::string &text,
                                                                 bool allow_any = false);

std::string to_url_authority(const tcp::endpoint &ep);

} // namespace streamcheck
