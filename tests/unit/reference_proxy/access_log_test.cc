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
  r.outcome = "completed";
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

TEST(AccessLog, TextLine) {
  EXPECT_EQ(format_text(streamed()),
            "127.0.0.1 \"POST /api/chat\" 200 in=120 out=4096 ttfb=51.23ms duration=1002.00ms "
            "completed");
}

} // namespace
} // namespace streamcheck::proxy
