#include "mock_upstream/journal.h"

#include <gtest/gtest.h>

namespace streamcheck::mock {
namespace {

journal_entry entry(const std::string &id, const std::string &target = "/api/chat") {
  journal_entry e;
  e.id = id;
  e.method = "POST";
  e.target = target;
  e.version = "1.1";
  return e;
}

std::vector<std::uint64_t> seqs(const json &entries) {
  std::vector<std::uint64_t> out;
  for (const auto &e : entries)
    out.push_back(e["seq"].get<std::uint64_t>());
  return out;
}

using seq_list = std::vector<std::uint64_t>;

TEST(Journal, AddAssignsIncreasingSeqFromOne) {
  journal j;
  EXPECT_EQ(j.add(entry("a")), 1u);
  EXPECT_EQ(j.add(entry("b")), 2u);
  journal_entry e = entry("c");
  e.seq = 77; // ignored: the journal numbers entries
  EXPECT_EQ(j.add(e), 3u);
  EXPECT_EQ(seqs(j.query("", 0)), (seq_list{1, 2, 3}));
}

TEST(Journal, QueryById) {
  journal j;
  j.add(entry("a"));
  j.add(entry("b"));
  j.add(entry("a"));
  j.add(entry(""));
  EXPECT_EQ(seqs(j.query("a", 0)), (seq_list{1, 3}));
  EXPECT_EQ(seqs(j.query("b", 0)), (seq_list{2}));
  EXPECT_EQ(seqs(j.query("zzz", 0)), seq_list{});
  EXPECT_EQ(seqs(j.query("", 0)), (seq_list{1, 2, 3, 4})); // empty id: all entries
  EXPECT_TRUE(j.query("zzz", 0).is_array());
}

TEST(Journal, QueryAfterSeq) {
  journal j;
  for (int i = 0; i < 5; ++i)
    j.add(entry(i % 2 ? "odd" : "even"));
  EXPECT_EQ(seqs(j.query("", 2)), (seq_list{3, 4, 5}));
  EXPECT_EQ(seqs(j.query("", 5)), seq_list{});
  EXPECT_EQ(seqs(j.query("even", 1)), (seq_list{3, 5}));
  EXPECT_EQ(seqs(j.query("odd", 4)), seq_list{});
}

TEST(Journal, QueryByIdPrefix) {
  journal j;
  j.add(entry("run-1/a"));
  j.add(entry("run-2/a"));
  j.add(entry("run-1/b"));
  j.add(entry("run-1"));
  j.add(entry(""));
  EXPECT_EQ(seqs(j.query("", 0, "run-1/")), (seq_list{1, 3}));
  EXPECT_EQ(seqs(j.query("", 0, "run-1")), (seq_list{1, 3, 4}));
  EXPECT_EQ(seqs(j.query("", 1, "run-1/")), (seq_list{3}));
  EXPECT_EQ(seqs(j.query("", 0, "run-3")), seq_list{});
  EXPECT_EQ(seqs(j.query("", 0, "")), (seq_list{1, 2, 3, 4, 5}));
  // Both given: the exact id and the prefix must both hold.
  EXPECT_EQ(seqs(j.query("run-1/b", 0, "run-1/")), (seq_list{3}));
  EXPECT_EQ(seqs(j.query("run-2/a", 0, "run-1/")), seq_list{});
}

TEST(Journal, UpdateEditsOneEntry) {
  journal j;
  j.add(entry("a"));
  const auto seq = j.add(entry("b"));
  j.update(seq, [](journal_entry &e) {
    e.status = 200;
    e.events_sent = 25;
    e.outcome = stream_end::completed;
    e.ended_us = 401'000;
  });
  const json all = j.query("", 0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["status"], 0);
  EXPECT_EQ(all[0]["outcome"], "in_progress");
  EXPECT_EQ(all[1]["status"], 200);
  EXPECT_EQ(all[1]["events_sent"], 25);
  EXPECT_EQ(all[1]["outcome"], "completed");
  EXPECT_EQ(all[1]["ended_us"], 401'000);
  EXPECT_EQ(all[1]["seq"], 2); // the edit cannot renumber
}

TEST(Journal, UpdateOfUnknownSeqIsANoOp) {
  journal j;
  j.add(entry("a"));
  int calls = 0;
  j.update(0, [&](journal_entry &) { ++calls; });
  j.update(2, [&](journal_entry &) { ++calls; });
  j.update(1000, [&](journal_entry &) { ++calls; });
  EXPECT_EQ(calls, 0);
  journal empty;
  empty.update(1, [&](journal_entry &) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(Journal, CapacityEvictsTheOldest) {
  journal j(3);
  for (int i = 1; i <= 5; ++i)
    EXPECT_EQ(j.add(entry("id" + std::to_string(i))), static_cast<std::uint64_t>(i));
  EXPECT_EQ(seqs(j.query("", 0)), (seq_list{3, 4, 5}));
  EXPECT_EQ(seqs(j.query("id1", 0)), seq_list{});

  int calls = 0;
  j.update(2, [&](journal_entry &) { ++calls; }); // evicted
  EXPECT_EQ(calls, 0);
  j.update(4, [](journal_entry &e) { e.status = 404; });
  const json all = j.query("", 0);
  EXPECT_EQ(all[0]["status"], 0);
  EXPECT_EQ(all[1]["status"], 404);
  EXPECT_EQ(all[1]["id"], "id4");
  EXPECT_EQ(all[2]["status"], 0);
}

// The control API says what was dropped, so a reader that finds nothing can tell "never came"
// from "came and was evicted".
TEST(Journal, RetentionSaysHowManyWereDropped) {
  journal j(3);
  EXPECT_EQ(j.retention(), (json{{"capacity", 3}, {"dropped", 0}, {"first_seq", 0}}));
  for (int i = 1; i <= 5; ++i)
    j.add(entry("id" + std::to_string(i)));
  EXPECT_EQ(j.retention(), (json{{"capacity", 3}, {"dropped", 2}, {"first_seq", 3}}));
  j.set_capacity(1);
  EXPECT_EQ(seqs(j.query("", 0)), (seq_list{5}));
  EXPECT_EQ(j.retention(), (json{{"capacity", 1}, {"dropped", 4}, {"first_seq", 5}}));
  j.clear();
  EXPECT_EQ(j.retention()["dropped"], 0);
}

TEST(Journal, DefaultCapacityIsBounded) {
  journal j;
  EXPECT_EQ(j.retention()["capacity"], default_journal_capacity);
  EXPECT_LE(default_journal_capacity, 10'000u);
}

TEST(Journal, ZeroCapacityKeepsNothing) {
  journal j(0);
  EXPECT_EQ(j.add(entry("a")), 1u);
  EXPECT_EQ(j.add(entry("b")), 2u);
  EXPECT_EQ(seqs(j.query("", 0)), seq_list{});
  int calls = 0;
  j.update(2, [&](journal_entry &) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(Journal, ClearEmptiesButSeqKeepsGrowing) {
  journal j;
  j.add(entry("a"));
  j.add(entry("b"));
  j.clear();
  EXPECT_EQ(j.query("", 0), json::array());
  int calls = 0;
  j.update(1, [&](journal_entry &) { ++calls; });
  EXPECT_EQ(calls, 0);
  // A client polling with after=<last seq it saw> never misses a new entry.
  EXPECT_EQ(j.add(entry("c")), 3u);
  EXPECT_EQ(seqs(j.query("", 2)), (seq_list{3}));
  j.update(3, [](journal_entry &e) { e.outcome = stream_end::peer_closed; });
  EXPECT_EQ(j.query("c", 0)[0]["outcome"], "peer_closed");
}

} // namespace
} // namespace streamcheck::mock
