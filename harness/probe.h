// One HTTP exchange the harness drives, and everything observed about it. A probe is data; the
// engine (engine.h) carries many of them out at once on one libcurl multi handle.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/go_json.h"
#include "common/http_text.h"
#include "common/protocol/scenario.h"

namespace streamcheck::harness {

// How the client speaks to a target: what a browser would (ALPN), or one protocol forced.
enum class client_http {
  h1,     // HTTP/1.1 only
  alpn,   // TLS: offer h2 and http/1.1 (a browser); cleartext: HTTP/1.1
  h2_tls, // h2 over TLS (ALPN), HTTP/1.1 when the server declines it
  h2c,    // h2 with prior knowledge on cleartext
};

struct probe_spec {
  std::string name; // unique within its check, e.g. "stream"
  std::string method = "POST";
  std::string path = "/api/chat";   // may carry a query string
  std::vector<std::string> headers; // "Name: value"
  json body;                        // null: no body; the runner adds streamcheck.id
  // The mock's timeline this probe asks for (in body's "streamcheck"): judges and the runner
  // read its derived facts (events, duration) from here instead of restating them.
  std::optional<protocol::scenario> timeline;
  std::string raw_body; // used instead of body when non-empty
  // When set, the serialized body (correlation id included) is exactly this many bytes: what a
  // proxy's body limit counts (nginx: the whole request body). The last image is trimmed to fit.
  std::size_t exact_body_bytes = 0;
  std::string accept_encoding; // sent as-is and decoded by curl when set
  bool http10 = false;
  int start_after_ms = 0;      // delay from the start of the run
  std::string after_probe;     // start when this probe (same check, same target) has finished
  std::string connection_pool; // probes naming the same pool share connections only with each
                               // other (per target), so reuse proves the proxy kept it alive
  int abort_after_events = -1; // close the connection once this many events have arrived
  int abort_after_ms = -1;     // ... or this long after sending (even before any header)
  int timeout_ms = 30'000;     // hard deadline for the whole exchange
  int settle_ms = 0;           // wait this long after the end before the journal is read
};

using streamcheck::body_framing;

struct body_write {
  std::int64_t at_us; // since the request was sent
  std::size_t bytes;
};

struct parsed_event {
  std::int64_t arrival_us;      // since the request was sent
  std::size_t write_index;      // which body write completed it
  std::string text;             // the NDJSON line or SSE data payload
  json value;                   // parsed; null when not JSON (e.g. [DONE])
  int seq = -1;                 // from the mock's stamp
  std::int64_t emitted_us = -1; // mock's t_us: emission time since it read the request
};

struct probe_result {
  std::string name;
  std::string url;
  std::string correlation_id;
  bool started = false;
  std::int64_t sent_mono_us = 0;   // monotonic clock at send
  std::int64_t headers_us = -1;    // first response header line, since send
  std::int64_t first_byte_us = -1; // first body byte
  std::int64_t finished_us = -1;
  long status = 0;
  std::string http_version;              // "1.0", "1.1", "2"
  std::vector<std::string> header_lines; // raw, in order, duplicates kept (final response only)
  std::vector<body_write> writes;
  std::string body; // decoded, capped at body_cap bytes
  std::size_t body_bytes = 0;
  std::vector<parsed_event> events;
  int curl_code = 0;
  std::string curl_error;
  bool aborted = false; // the harness closed it on purpose
  std::int64_t aborted_us = -1;
  body_framing framing = body_framing::none;
  bool reused_connection = false;
  long new_connections = 0; // opened for this exchange: more than 1 when the client resent it
  std::uint64_t request_bytes = 0; // body as sent
  std::string request_fnv1a64;     // its FNV-1a 64 (hex), to compare with the mock's journal
  std::int64_t local_port = 0;

  // Header value by name (case-insensitive), all occurrences.
  std::vector<std::string> header_values(const std::string &field) const;
  std::string header(const std::string &field) const; // first or ""
  bool complete() const { return curl_code == 0 && !aborted; }
};

inline constexpr std::size_t body_cap = 8u << 20;

} // namespace streamcheck::harness
