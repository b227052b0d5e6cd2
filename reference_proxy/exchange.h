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
#include "reference_proxy/upstream_call.h"

namespace streamcheck::proxy {

using request_parser = http::request_parser<http::buffer_body>;

// The request's head has been read into `parser`. Returns whether the client connection may
// carry another request. Stream: tcp::socket or ssl::stream<tcp::socket> (tls.h).
template <class Stream>
asio::awaitable<bool> serve_request(timed_stream<Stream> &client, beast::flat_buffer &buffer,
                                    request_parser &parser, const exchange_env &env);

} // namespace streamcheck::proxy
