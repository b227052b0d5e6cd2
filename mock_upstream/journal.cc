#include "mock_upstream/journal.h"

namespace streamcheck::mock {

std::uint64_t journal::add(journal_entry e) {
  std::lock_guard lock(mu_);
  const std::uint64_t seq = next_seq_++;
  e.seq = seq;
  entries_.push_back(std::move(e));
  evict_beyond_capacity();
  return seq; // entries_ may be empty again when capacity_ is 0
}

void journal::evict_beyond_capacity() {
  while (entries_.size() > capacity_) {
    entries_.pop_front();
    ++dropped_;
  }
}

void journal::set_capacity(std::size_t capacity) {
  std::lock_guard lock(mu_);
  capacity_ = capacity;
  evict_beyond_capacity();
}

json journal::retention() const {
  std::lock_guard lock(mu_);
  return {{"capacity", capacity_},
          {"dropped", dropped_},
          {"first_seq", entries_.empty() ? 0 : entries_.front().seq}};
}

void journal::update(std::uint64_t seq, const std::function<void(journal_entry &)> &edit) {
  std::lock_guard lock(mu_);
  if (entries_.empty() || seq < entries_.front().seq) return; // evicted or cleared
  const auto index = seq - entries_.front().seq;
  if (index < entries_.size() && entries_[index].seq == seq) edit(entries_[index]);
}

std::vector<journal_entry> journal::entries(const std::string &id, std::uint64_t after,
                                            const std::string &prefix) const {
  std::lock_guard lock(mu_);
  std::vector<journal_entry> out;
  for (const auto &e : entries_)
    if (e.seq > after && (id.empty() || e.id == id) && e.id.rfind(prefix, 0) == 0) out.push_back(e);
  return out;
}

json journal::query(const std::string &id, std::uint64_t after, const std::string &prefix) const {
  json out = json::array();
  for (const auto &e : entries(id, after, prefix))
    out.push_back(to_json(e));
  return out;
}

void journal::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  dropped_ = 0;
}

} // namespace streamcheck::mock
