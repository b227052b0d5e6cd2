// Fuzz: a client's request head through streamcheck-proxy's head path, as server.cc and
// exchange.cc take it: the scanner (limits, obs-fold), Beast's parser, the Host and target checks,
// the upstream head. No input may crash, hang or read out of bounds; a head the scanner accepts
// within its limits is parsed without Beast's header limit tripping.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "common/asio.h"
#include "reference_proxy/headers.h"
#include "reference_proxy/request_head.h"

namespace proxy = streamcheck::proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char *>(data), size);
  proxy::head_limits limits;
  limits.max_head_bytes = 8192;
  limits.max_line_bytes = 1024;
  limits.max_headers = 32;
  // Two reads: the split must not change the answer.
  proxy::head_scanner scanner(limits);
  auto state = scanner.scan(input.substr(0, size / 2));
  if (state == proxy::head_scanner::state::need_more) state = scanner.scan(input);
  proxy::head_scanner whole(limits);
  if (whole.scan(input) != state) __builtin_trap();
  if (state != proxy::head_scanner::state::complete) return 0;

  http::request_parser<http::buffer_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_head_bytes));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::system::error_code ec;
  parser.put(asio::buffer(data, scanner.head_size()), ec);
  if (ec == http::error::header_limit) __builtin_trap(); // the scanner let through too much
  if (ec || !parser.is_header_done()) return 0;

  const auto &h = parser.get();
  proxy::request_head req{
      std::string(h.method_string()), std::string(h.target()), h.version() == 10 ? 10 : 11, {}};
  for (const auto &f : h)
    req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  (void)proxy::valid_host(proxy::find_header(req.headers, "Host"));
  (void)proxy::target_problem(req.target);
  proxy::forward_context ctx;
  ctx.upstream_authority = "127.0.0.1:11434";
  ctx.client_address = "192.0.2.1";
  (void)proxy::upstream_request_head(req, ctx);
  proxy::client_context cctx;
  (void)proxy::client_response_head({200, "OK", req.headers}, cctx);
  return 0;
}
