// Fuzz: the nginx config parser `streamcheck nginx` reads the user's file with, and the writer
// that emits the rewritten copy. No input may crash or hang; what parses is emitted, and the
// emitted text parses again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/nginx/config.h"

namespace ng = streamcheck::harness::nginx;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  auto parsed = ng::parse_text(text, "fuzz.conf");
  if (!parsed) return 0;
  std::vector<ng::source_loc> line_map;
  const std::string emitted = ng::emit(*parsed, &line_map);
  if (!ng::parse_text(emitted, "emitted.conf")) __builtin_trap();
  return 0;
}
