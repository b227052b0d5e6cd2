// The stamp in every streamed event, "streamcheck":{"seq":N,"t_us":T}: which event it is and when
// the mock emitted it (microseconds since it read the request, monotonic). Clients ignore the
// field; the harness computes the delay a proxy adds from it without a shared clock.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/go_json.h"

namespace streamcheck::protocol {

struct stamp {
  int seq = -1;
  std::int64_t t_us = -1;

  bool operator==(const stamp &) const = default;
};

json to_json(const stamp &s); // {"seq":N,"t_us":T}

// The stamp of one event's text (an NDJSON line or an SSE data payload), or nullopt when it
// carries none. Finds the last "streamcheck" object and reads only that, so it is cheap enough
// for benchmarks reading thousands of streams; a field missing from the stamp stays -1.
std::optional<stamp> parse_stamp(std::string_view event_text);

} // namespace streamcheck::protocol
