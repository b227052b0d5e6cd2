#include "common/endpoint.h"

#include <charconv>

namespace streamcheck {

std::variant<tcp::endpoint, endpoint_error> parse_listen_address(const std::string &text,
                                                                 bool allow_any) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return endpoint_error{"bad address '" + text + "': expected [IPv6]:PORT"};
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos)
      return endpoint_error{"bad address '" + text + "': expected HOST:PORT"};
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return endpoint_error{"bad port '" + port_text + "' in '" + text + "'"};
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code parse_ec;
  const auto address = asio::ip::make_address(host, parse_ec);
  if (parse_ec)
    return endpoint_error{"bad host '" + host + "' in '" + text + "': not an IP address"};
  if (!allow_any && !address.is_loopback())
    return endpoint_error{"refusing to listen on non-loopback address '" + host + "'"};
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

std::string to_url_authority(const tcp::endpoint &ep) {
  const auto addr = ep.address();
  const std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

} // namespace streamcheck
