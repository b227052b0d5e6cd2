// The journal entry's JSON is the control API's: to_json and journal_entry_from_json are inverse,
// the outcome strings are fixed, and anything else is refused with the key it is about.
#include "common/protocol/journal_entry.h"

#include <gtest/gtest.h>

#include "common/go_json.h"

namespace streamcheck::protocol {
namespace {

journal_entry full_entry() {
  journal_entry e;
  e.seq = 9;
  e.id = "run-1";
  e.connection = 4;
  e.request_on_connection = 2;
  e.peer = "127.0.0.1:51000";
  e.method = "POST";
  e.target = "/api/chat?x=1";
  e.version = "1.0";
  e.headers = {{"Host", "localhost"}, {"X-Dup", "1"}, {"x-dup", "2"}};
  e.body_bytes = 20 * 1024 * 1024;
  e.body_fnv1a64 = "cbf29ce484222325";
  e.received_us = 123456789;
  e.body_us = 1500;
  e.model = "stall-90s";
  e.status = 200;
  e.head_sent_us = 40'100;
  e.events_sent = 7;
  e.outcome = stream_end::peer_closed;
  e.ended_us = 90'500;
  e.peer_closed_us = 90'400;
  return e;
}

TEST(StreamEnd, NamesRoundTrip) {
  const stream_end all[] = {stream_end::completed,    stream_end::peer_closed,
                            stream_end::write_failed, stream_end::aborted_fin,
                            stream_end::aborted_rst,  stream_end::in_progress,
                            stream_end::shutdown};
  for (const auto e : all)
    EXPECT_EQ(parse_stream_end(to_string(e)), e) << to_string(e);
  EXPECT_STREQ(to_string(stream_end::peer_closed), "peer_closed");
  EXPECT_EQ(parse_stream_end("closed"), std::nullopt);
  EXPECT_EQ(parse_stream_end(""), std::nullopt);
}

TEST(StreamEnd, ClosedByPeer) {
  EXPECT_TRUE(closed_by_peer(stream_end::peer_closed));
  EXPECT_TRUE(closed_by_peer(stream_end::write_failed));
  EXPECT_FALSE(closed_by_peer(stream_end::completed));
  EXPECT_FALSE(closed_by_peer(stream_end::aborted_fin));
}

// The control API's bytes: every key, in this order (the mock's journal and the harness read it).
TEST(JournalEntryJson, EveryFieldInOrder) {
  EXPECT_EQ(go_json(to_json(full_entry())),
            R"({"seq":9,"id":"run-1","connection":4,"request_on_connection":2,)"
            R"("peer":"127.0.0.1:51000","method":"POST","target":"/api/chat?x=1","version":"1.0",)"
            R"("headers":[["Host","localhost"],["X-Dup","1"],["x-dup","2"]],)"
            R"("body_bytes":20971520,"body_fnv1a64":"cbf29ce484222325","received_us":123456789,)"
            R"("body_us":1500,"model":"stall-90s","status":200,"head_sent_us":40100,)"
            R"("events_sent":7,"outcome":"peer_closed","ended_us":90500,"peer_closed_us":90400})");
}

TEST(JournalEntryJson, Defaults) {
  const json o = to_json(journal_entry{});
  EXPECT_EQ(o["outcome"], "in_progress");
  EXPECT_EQ(o["head_sent_us"], -1);
  EXPECT_EQ(o["ended_us"], -1);
  EXPECT_EQ(o["peer_closed_us"], -1);
  EXPECT_EQ(o["headers"], json::array());
  EXPECT_EQ(o["status"], 0);
  EXPECT_EQ(o["events_sent"], 0);
}

TEST(JournalEntryJson, RoundTrips) {
  const journal_entry e = full_entry();
  auto back = journal_entry_from_json(json::parse(go_json(to_json(e))));
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(*back, e);
  auto defaults = journal_entry_from_json(to_json(journal_entry{}));
  ASSERT_TRUE(defaults) << defaults.message();
  EXPECT_EQ(*defaults, journal_entry{});
}

TEST(JournalEntryJson, EveryKeyIsRequired) {
  const json good = to_json(full_entry());
  for (const auto &[key, value] : good.items()) {
    json missing = good;
    missing.erase(key);
    const auto r = journal_entry_from_json(missing);
    ASSERT_FALSE(r) << key;
    EXPECT_EQ(r.message(), "journal entry: missing or mistyped \"" + key + "\"");
  }
}

TEST(JournalEntryJson, WrongTypesAndUnknownOutcomesAreRefused) {
  json j = to_json(full_entry());
  j["ended_us"] = "soon";
  EXPECT_EQ(journal_entry_from_json(j).message(),
            "journal entry: missing or mistyped \"ended_us\"");
  j = to_json(full_entry());
  j["seq"] = -1;
  EXPECT_FALSE(journal_entry_from_json(j));
  j = to_json(full_entry());
  j["outcome"] = "closed";
  EXPECT_EQ(journal_entry_from_json(j).message(), "journal entry: unknown outcome \"closed\"");
  j = to_json(full_entry());
  j["headers"] = json::array({json::array({"Host"})});
  EXPECT_FALSE(journal_entry_from_json(j));
  EXPECT_FALSE(journal_entry_from_json(json::array()));
}

TEST(JournalEntry, ClosedUsPrefersThePeersClose) {
  journal_entry e;
  EXPECT_EQ(e.closed_us(), -1);
  e.ended_us = 900;
  EXPECT_EQ(e.closed_us(), 900);
  e.peer_closed_us = 850;
  EXPECT_EQ(e.closed_us(), 850);
}

} // namespace
} // namespace streamcheck::protocol
