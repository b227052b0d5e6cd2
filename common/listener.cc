#include "common/listener.h"

#include "common/endpoint.h"

namespace streamcheck {

std::optional<error> listen_on(tcp::acceptor &acceptor, const tcp::endpoint &where) {
  boost::system::error_code ec;
  acceptor.open(where.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(where, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return error{"cannot listen on " + to_url_authority(where) + ": " + ec.message()};
  return std::nullopt;
}

} // namespace streamcheck
