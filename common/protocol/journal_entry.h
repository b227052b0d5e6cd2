// What the mock saw of one request, as its journal (the control API's GET /journal) reports it:
// the harness's ground truth for "did the proxy forward it, how, and did it close the connection
// when the client left". The JSON is a public API (the mock's control listener, README): its keys,
// their order and the outcome strings do not change.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/go_json.h"
#include "common/http_text.h"
#include "common/result.h"

namespace streamcheck::protocol {

// How the mock's side of an exchange ended.
enum class stream_end {
  completed,    // every byte of the response was written
  peer_closed,  // the peer (the proxy) closed first, noticed even while the mock was silent
  write_failed, // a write failed without a close having been noticed
  aborted_fin,  // the scenario closed the connection mid-stream (abort "fin")
  aborted_rst,  // ... or reset it (abort "rst")
  in_progress,  // not ended yet
  shutdown,     // the mock stopped while it was running
};

const char *to_string(stream_end e);
std::optional<stream_end> parse_stream_end(std::string_view text);

// The upstream connection was closed by the proxy: the situation abort.* checks wait for.
constexpr bool closed_by_peer(stream_end e) {
  return e == stream_end::peer_closed || e == stream_end::write_failed;
}

struct journal_entry {
  std::uint64_t seq = 0;
  std::string id{}; // correlation id from the body or query
  std::uint64_t connection = 0;
  unsigned request_on_connection = 0; // 1 for the first request on a TCP connection
  std::string peer{};
  std::string method{};
  std::string target{};
  std::string version{}; // "1.0" / "1.1"
  header_list headers{}; // in order, duplicates kept
  std::uint64_t body_bytes = 0;
  std::string body_fnv1a64{};   // hex
  std::int64_t received_us = 0; // mock clock: when the request head was complete
  std::int64_t body_us = 0;     // head complete -> body complete
  std::string model{};
  int status = 0;
  std::int64_t head_sent_us = -1; // since the request was read (received_us + body_us); -1: none
  int events_sent = 0;
  stream_end outcome = stream_end::in_progress;
  std::int64_t ended_us = -1;       // since the request was read
  std::int64_t peer_closed_us = -1; // since the request was read; noticed even while silent

  bool operator==(const journal_entry &) const = default;

  // When the upstream connection went away (the peer's close if noticed, else the end), in
  // microseconds since the request was read; -1 while in progress.
  std::int64_t closed_us() const { return peer_closed_us >= 0 ? peer_closed_us : ended_us; }
};

json to_json(const journal_entry &e);
// Every key of to_json() is required with its type; the error names the first that is not.
result<journal_entry> journal_entry_from_json(const json &j);

} // namespace streamcheck::protocol
