// JSON text exactly as Go's encoding/json writes it, so clients and proxies see Ollama's bytes.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace streamcheck {

using json = nlohmann::ordered_json;

// Compact, keys in insertion order, and `<`, `>`, `&`, U+2028, U+2029 escaped as \u003c ...
std::string go_json(const json &value);

// Go's RFC3339Nano in UTC with trailing zeros of the fraction trimmed: 2023-09-01T22:35:43.2711Z.
std::string rfc3339_nano_utc(std::int64_t unix_ns);

} // namespace streamcheck
