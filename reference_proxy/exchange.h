// One request through the proxy: check it, answer it locally (preflight, refusal) or forward it
// to the upstream and relay the answer read by read.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "common/asio.h"
#include "reference_proxy/access_log.h"
#include "reference_proxy/config.h"
#include "reference_proxy/cors.h"
#include "reference_proxy/socket_deadline.h"
#include "reference_proxy/upstream_pool.h"

namespace streamcheck::proxy {

// What every exchange on one event loop shares.
struct exchange_env {
  const proxy_config &config;
  const cors_policy &cors;
  const std::vector<tcp::endpoint> &upstream; // resolved once at start
  upstream_pool &pool;
  access_log &log;
  const std::atomic<bool> &draining;
};

using request_parser = http::request_parser<http::buffer_body>;

// The request's head has been read into `parser`. Returns whether the client connection may
// carry another request.
asio::awaitable<bool> serve_request(timed_socket &client, beast::flat_buffer &buffer,
                                    request_parser &parser, const exchange_env &env);

} // namespace streamcheck::proxy
