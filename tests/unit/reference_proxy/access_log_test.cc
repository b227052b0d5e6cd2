#include "reference_proxy/access_log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace streamcheck::proxy {
namespace {

exchange_record streamed() {
  exchange_record r;
  r.start_unix_ms = 1795700000000;
  r.client = "127.0.0.1";
  r.method = "POST";
  r.target = "/api/chat";
  r.status = 200;
  r.bytes_in = 120;
  r.bytes_out = 4096;
  r.first_byte_us = 51'234;
  r.duration_us = 1'002'000;
  r.upstream_reused = true;
  r.outcome = exchange_outcome::completed;
  return r;
}

TEST(AccessLog, JsonLineHasTheFiguresThatMatter) {
  const auto line = nlohmann::json::parse(format_json(streamed()));
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["bytes_out"], 4096);
  EXPECT_DOUBLE_EQ(line["ttfb_ms"].get<double>(), 51.23);
  EXPECT_DOUBLE_EQ(line["duration_ms"].get<double>(), 1002.0);
  EXPECT_EQ(line["outcome"], "completed");
  EXPECT_EQ(line["target"], "/api/chat");
  EXPECT_EQ(format_json(streamed()).find('\n'), std::string::npos);
}

TEST(AccessLog, HostileTargetsStayOneValidLine) {
  exchange_record r = streamed();
  r.target = "/\"\n\x01\xff";
  const std::string text = format_json(r);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded());
}

// The names are the log's vocabulary (log shippers and the integration tests match them).
TEST(AccessLog, OutcomeNames) {
  EXPECT_STREQ(to_string(exchange_outcome::completed), "completed");
  EXPECT_STREQ(to_string(exchange_outcome::client_closed), "client_closed");
  EXPECT_STREQ(to_string(exchange_outcome::upstream_unreachable), "upstream_unreachable");
  EXPECT_STREQ(to_string(exchange_outcome::upstream_timeout), "upstream_timeout");
  EXPECT_STREQ(to_string(exchange_outcome::upstream_error), "upstream_error");
  EXPECT_STREQ(to_string(exchange_outcome::refused), "refused");
  EXPECT_STREQ(to_string(exchange_outcome::preflight), "preflight");
  EXPECT_STREQ(to_string(exchange_outcome::send_timeout), "send_timeout");
  exchange_record r = streamed();
  r.outcome = exchange_outcome::send_timeout;
  EXPECT_EQ(nlohmann::json::parse(format_json(r))["outcome"], "send_timeout");
}

TEST(AccessLog, TextLine) {
  EXPECT_EQ(format_text(streamed()),
            "127.0.0.1 \"POST /api/chat\" 200 in=120 out=4096 ttfb=51.23ms duration=1002.00ms "
            "completed");
}

} // namespace
} // namespace streamcheck::proxy
