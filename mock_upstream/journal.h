// What the upstream saw, request by request: the harness's ground truth for "did the proxy
// forward it, how, and did it close the connection when the client left".
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/go_json.h"
#include "common/protocol/journal_entry.h"

namespace streamcheck::mock {

using protocol::journal_entry;
using protocol::stream_end;
using protocol::to_json;

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
  std::vector<journal_entry> entries(const std::string &id, std::uint64_t after,
                                     const std::string &prefix = "") const;
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
