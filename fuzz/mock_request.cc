// Fuzz: a request as streamcheck-mock reads it: Beast's parser with the mock's limits, the header
// order from the raw head, then the handler's routing and scenario parsing (the body's
// "streamcheck" object, the query's streamcheck.* knobs, presets by model). No input may crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/asio.h"
#include "mock_upstream/handler.h"
#include "mock_upstream/wire.h"

namespace mock = streamcheck::mock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char *>(data), size);
  const auto head_end = input.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return 0;
  http::request_parser<http::string_body> parser;
  parser.header_limit(1u << 20);
  parser.body_limit(1u << 20);
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (used < size && !parser.is_done() && !ec) {
    const std::size_t n = parser.put(asio::buffer(data + used, size - used), ec);
    if (n == 0 && !ec) break;
    used += n;
  }
  if (ec || !parser.is_done()) return 0;
  const auto &req = parser.get();
  mock::request_view view;
  view.method = std::string(req.method_string());
  view.target = std::string(req.target());
  view.version = req.version() == 10 ? 10 : 11;
  mock::header_list parsed;
  for (const auto &f : req.base())
    parsed.emplace_back(std::string(f.name_string()), std::string(f.value()));
  view.headers = mock::in_sent_order(input.substr(0, head_end + 4), parsed);
  view.body = req.body();
  mock::mock_options opts;
  opts.request_policy = *mock::policy_for_profile("ollama");
  (void)mock::handle(view, opts, 1);
  opts.request_policy = *mock::policy_for_profile("openai");
  (void)mock::handle(view, opts, 2);
  return 0;
}
