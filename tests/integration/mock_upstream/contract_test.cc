// The protocol library's derived facts against what the running mock does: for each kind of
// timeline, the events it emits (count, seq, never before emission_us) and the journal entry it
// reports (parsed by the harness's strict journal_entry_from_json). The harness's judges and the
// check unit tests take their expectations from these functions, so this is what ties them to the
// mock.
#include <gtest/gtest.h>

#include "common/protocol/journal_entry.h"
#include "common/protocol/scenario.h"
#include "common/protocol/stamp.h"
#include "tests/integration/mock_upstream/mock_fixture.h"

namespace streamcheck::test {
namespace {

using protocol::abort_kind;
using protocol::scenario;
using protocol::stream_end;

struct contract_case {
  const char *name;
  scenario timeline;
  stream_end outcome;
};

void PrintTo(const contract_case &c, std::ostream *os) {
  *os << c.name;
}

const contract_case cases[] = {
    {"default_shape", {.first_token_ms = 5, .gap_ms = 2, .tokens = 6}, stream_end::completed},
    {"no_tokens", {.first_token_ms = 5, .tokens = 0}, stream_end::completed},
    {"stall",
     {.first_token_ms = 5, .gap_ms = 2, .tokens = 6, .stall_at = 3, .stall_ms = 150},
     stream_end::completed},
    {"stall_at_the_end",
     {.first_token_ms = 5, .gap_ms = 2, .tokens = 6, .stall_at = 6, .stall_ms = 2000},
     stream_end::completed},
    {"bare_abort_after",
     {.first_token_ms = 5, .gap_ms = 2, .tokens = 6, .abort_after = 4},
     stream_end::aborted_fin},
    {"abort_rst",
     {.first_token_ms = 5, .gap_ms = 2, .tokens = 6, .abort_after = 2, .abort = abort_kind::rst},
     stream_end::aborted_rst},
    {"in_band_error",
     {.first_token_ms = 5, .gap_ms = 2, .tokens = 6, .error_after = 3},
     stream_end::completed},
    {"bursts",
     {.first_token_ms = 5, .gap_ms = 2, .tokens = 7, .events_per_write = 3},
     stream_end::completed},
    {"split_events",
     {.first_token_ms = 5, .gap_ms = 2, .tokens = 3, .split_events = true},
     stream_end::completed},
    {"scripted_status", {.status = 503}, stream_end::completed},
};

class Contract : public MockTest, public ::testing::WithParamInterface<contract_case> {};

TEST_P(Contract, DerivedFactsAreWhatTheMockDoes) {
  const contract_case &c = GetParam();
  scenario timeline = c.timeline;
  timeline.id = std::string("contract-") + c.name;
  const json body = {{"model", "llama3.2"},
                     {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                     {"streamcheck", protocol::to_overrides(timeline)}};
  auto client = tcp_client::connect(port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->send_all(
      request_bytes("POST", "/api/chat", "HTTP/1.0", {"Host: 127.0.0.1"}, body.dump())));
  const read_end end = client->read_until_eof(deadline_in(10s));
  const auto response = parse_http_response(client->received());
  ASSERT_TRUE(response.head_complete) << client->received();
  EXPECT_EQ(response.status, timeline.status);

  std::vector<protocol::stamp> stamps;
  std::string_view rest = response.body;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) break; // a line cut by the abort is not an event
    if (const auto s = protocol::parse_stamp(rest.substr(0, nl))) stamps.push_back(*s);
    rest.remove_prefix(nl + 1);
  }
  const int events = protocol::emitted_events(timeline);
  // A reset may discard what the client had not read yet; every other end delivers it all.
  if (c.outcome == stream_end::aborted_rst) {
    EXPECT_LE(static_cast<int>(stamps.size()), events);
  } else {
    EXPECT_EQ(static_cast<int>(stamps.size()), events) << response.body;
  }
  for (std::size_t k = 0; k < stamps.size(); ++k) {
    const int seq = static_cast<int>(k);
    EXPECT_EQ(stamps[k].seq, seq);
    // The mock sleeps until an absolute deadline: never early (1 ms of clock rounding).
    EXPECT_GE(stamps[k].t_us, protocol::emission_us(timeline, seq) - 1000) << "event " << k;
  }
  if (c.outcome != stream_end::aborted_rst) {
    EXPECT_EQ(end, read_end::eof);
  }

  const json raw = finished_entry(timeline.id);
  ASSERT_TRUE(raw.is_object()) << "no finished journal entry";
  const auto entry = protocol::journal_entry_from_json(raw);
  ASSERT_TRUE(entry) << entry.message() << ": " << raw.dump();
  EXPECT_EQ(entry->id, timeline.id);
  EXPECT_EQ(entry->outcome, c.outcome) << protocol::to_string(entry->outcome);
  EXPECT_EQ(entry->events_sent, events);
  EXPECT_EQ(protocol::aborts_midway(timeline),
            c.outcome == stream_end::aborted_fin || c.outcome == stream_end::aborted_rst);
  EXPECT_EQ(entry->status, timeline.status);
  EXPECT_EQ(entry->method, "POST");
  EXPECT_EQ(entry->version, "1.0");
  // The whole stream took at least the planned time unless something cut it short.
  if (c.outcome == stream_end::completed && timeline.status == 200 && timeline.error_after < 0) {
    EXPECT_GE(entry->ended_us, protocol::planned_duration_ms(timeline) * 1000 - 1000);
  }
}

INSTANTIATE_TEST_SUITE_P(Timelines, Contract, ::testing::ValuesIn(cases),
                         [](const ::testing::TestParamInfo<contract_case> &p) {
                           return std::string(p.param.name);
                         });

} // namespace
} // namespace streamcheck::test
