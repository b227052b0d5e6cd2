// Fuzz: the harness's NDJSON and SSE event splitter, fed a response body in pieces. No input may
// crash; feeding it whole or in pieces must give the same events.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/stream_parser.h"

namespace sc = streamcheck::harness;

namespace {

std::vector<std::string> events(sc::stream_parser::kind kind, std::string_view bytes,
                                std::size_t step) {
  std::vector<std::string> out;
  sc::stream_parser parser(kind, [&](std::string e) { out.push_back(std::move(e)); });
  for (std::size_t i = 0; i < bytes.size(); i += step)
    parser.feed(bytes.substr(i, step));
  parser.finish();
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char *>(data) + 1, size - 1);
  const std::size_t step = 1 + data[0] % 17;
  for (const auto kind : {sc::stream_parser::kind::ndjson, sc::stream_parser::kind::sse})
    if (events(kind, bytes, step) != events(kind, bytes, bytes.size() + 1)) __builtin_trap();
  (void)sc::stream_parser::for_content_type(bytes.substr(0, 64));
  return 0;
}
