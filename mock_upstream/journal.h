// What the upstream saw, request by request: the harness's ground truth for "did the proxy
// forward it, how, and did it close the connection when the client left".
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/go_json.h"
#include "mock_upstream/wire.h"

namespace streamcheck::mock {

struct journal_entry {
  std::uint64_t seq = 0;
  std::string id; // correlation id from the body or query
  std::uint64_t connection = 0;
  unsigned request_on_connection = 0; // 1 for the first request on a TCP connection
  std::string peer;
  std::string method;
  std::string target;
  std::string version; // "1.0" / "1.1"
  header_list headers; // in order, duplicates kept
  std::uint64_t body_bytes = 0;
  std::string body_fnv1a64;     // hex
  std::int64_t received_us = 0; // mock clock: when the request head was complete
  std::int64_t body_us = 0;     // head complete -> body complete
  std::string model;
  int status = 0;
  std::int64_t head_sent_us = -1; // since the request was read (received_us + body_us); -1: none
  int events_sent = 0;
  std::string outcome = "in_progress"; // completed, peer_closed, write_failed, aborted_fin,
                                       // aborted_rst, shutdown
  std::int64_t ended_us = -1;          // since the request was read
  std::int64_t peer_closed_us = -1;    // since the request was read; noticed even while silent
};

json to_json(const journal_entry &e);

// A mock left running as a development upstream would otherwise grow without bound (about
// 12 KiB an entry): only the last `capacity` entries are kept.
inline constexpr std::size_t default_journal_capacity = 10'000;

class journal {
public:
  explicit journal(std::size_t capacity = default_journal_capacity) : capacity_(capacity) {}

  void set_capacity(std::size_t capacity); // drops the oldest entries beyond it at once

  std::uint64_t add(journal_entry e); // assigns and returns seq
  void update(std::uint64_t seq, const std::function<void(journal_entry &)> &edit);
  // Entries with this correlation id (all when empty), or whose id starts with prefix, and
  // seq > after.
  json query(const std::string &id, std::uint64_t after, const std::string &prefix = "") const;
  void clear();
  // For the control API: {"capacity": N, "dropped": entries evicted since the start or the last
  // clear, "first_seq": the oldest seq still kept (0: none)}.
  json retention() const;

private:
  void evict_beyond_capacity(); // mu_ held
  mutable std::mutex mu_;
  std::deque<journal_entry> entries_;
  std::uint64_t next_seq_ = 1;
  std::size_t capacity_;
  std::uint64_t dropped_ = 0;
};

} // namespace streamcheck::mock
