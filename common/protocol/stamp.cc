#include "common/protocol/stamp.h"

namespace streamcheck::protocol {

json to_json(const stamp &s) {
  return json{{"seq", s.seq}, {"t_us", s.t_us}};
}

std::optional<stamp> parse_stamp(std::string_view text) {
  // A quote inside a JSON string is escaped, so an unescaped "streamcheck" followed by ':' is a
  // key. The stamp is the last one in the event (the mock writes it last) and holds no object.
  constexpr std::string_view key = "\"streamcheck\"";
  for (auto at = text.rfind(key); at != std::string_view::npos;
       at = at == 0 ? std::string_view::npos : text.rfind(key, at - 1)) {
    auto p = text.find_first_not_of(" \t\r\n", at + key.size());
    if (p == std::string_view::npos || text[p] != ':') continue;
    p = text.find_first_not_of(" \t\r\n", p + 1);
    if (p == std::string_view::npos || text[p] != '{') continue;
    const auto end = text.find('}', p);
    if (end == std::string_view::npos) return std::nullopt;
    const json object = json::parse(text.substr(p, end - p + 1), nullptr, false);
    if (!object.is_object()) return std::nullopt;
    stamp s;
    if (const auto seq = object.find("seq"); seq != object.end() && seq->is_number_integer())
      s.seq = seq->get<int>();
    if (const auto t = object.find("t_us"); t != object.end() && t->is_number_integer())
      s.t_us = t->get<std::int64_t>();
    return s;
  }
  return std::nullopt;
}

} // namespace streamcheck::protocol
