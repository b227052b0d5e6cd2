#include "reference_proxy/config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace streamcheck::proxy {
namespace {

using namespace std::chrono_literals;

result<parsed_args> parse(std::vector<std::string> args) {
  return parse_args(args);
}

TEST(ProxyConfig, DefaultsSitAboveTheThoroughProfile) {
  auto r = parse({});
  ASSERT_TRUE(r) << r.message();
  const auto &c = r->config;
  EXPECT_EQ(c.upstream.authority(), "127.0.0.1:11434");
  EXPECT_GT(c.first_byte_timeout, 130s); // thorough: 130 s of silence before the first token
  EXPECT_GT(c.idle_timeout, 130s);
  EXPECT_GE(c.max_body_bytes, std::size_t{64} << 20); // thorough: 64 MiB uploads
  EXPECT_TRUE(c.allow_origins.empty());
}

TEST(ProxyConfig, FlagsSetEveryKind) {
  auto r = parse({"--listen", "[::1]:0", "--upstream", "http://10.0.0.5:8000/", "--allow-origin",
                  "https://a.example", "--allow-origin=http://localhost:*", "--idle-timeout", "15m",
                  "--max-body", "20MiB", "--log-format", "text", "--threads", "3"});
  ASSERT_TRUE(r) << r.message();
  const auto &c = r->config;
  EXPECT_TRUE(c.listen.address().is_v6());
  EXPECT_EQ(c.upstream.authority(), "10.0.0.5:8000");
  EXPECT_EQ(c.allow_origins, (std::vector<std::string>{"https://a.example", "http://localhost:*"}));
  EXPECT_EQ(c.idle_timeout, 15min);
  EXPECT_EQ(c.max_body_bytes, std::size_t{20} << 20);
  EXPECT_EQ(c.log, log_format::text);
  EXPECT_EQ(c.threads, 3u);
}

TEST(ProxyConfig, UpstreamForms) {
  auto v6 = parse({"--upstream", "http://[::1]:11434"});
  ASSERT_TRUE(v6) << v6.message();
  EXPECT_EQ(v6->config.upstream.host, "::1");
  EXPECT_EQ(v6->config.upstream.authority(), "[::1]:11434");
  auto named = parse({"--upstream", "ollama.internal"});
  ASSERT_TRUE(named) << named.message();
  EXPECT_EQ(named->config.upstream.authority(), "ollama.internal:80");
}

TEST(ProxyConfig, BadValuesNameTheOption) {
  const std::vector<std::vector<std::string>> bad = {{"--upstream", "https://x:1"},
                                                     {"--upstream", "http://x:1/v1"},
                                                     {"--upstream", "http://x:0"},
                                                     {"--idle-timeout", "soon"},
                                                     {"--idle-timeout", "0s"},
                                                     {"--max-body", "12XB"},
                                                     {"--threads", "0"},
                                                     {"--allow-origin", "example.com"},
                                                     {"--allow-origin", "https://a.example/"},
                                                     {"--log-format", "xml"},
                                                     {"--listen", "nowhere"},
                                                     {"--no-such-flag", "1"},
                                                     {"--listen"}};
  for (const auto &args : bad) {
    auto r = parse(args);
    EXPECT_FALSE(r) << args[0];
    if (!r) {
      EXPECT_NE(r.message().find(args[0].substr(0, args[0].find('='))), std::string::npos)
          << r.message();
    }
  }
}

TEST(ProxyConfig, DurationsAndSizes) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("30"), 30s);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_FALSE(parse_duration("1.5s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
  EXPECT_EQ(parse_size("1g"), std::size_t{1} << 30);
  EXPECT_EQ(parse_size("100"), 100u);
  EXPECT_FALSE(parse_size("MiB"));
  EXPECT_FALSE(parse_size("99999999999999999999"));
}

class ConfigFile : public ::testing::Test {
protected:
  std::string write(const std::string &text) {
    path_ = std::filesystem::temp_directory_path() /
            ("streamcheck-proxy-config-" + std::to_string(::getpid()) + ".json");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

TEST_F(ConfigFile, KeysAreTheFlagNamesAndFlagsWin) {
  const auto file = write(R"({"upstream": "http://127.0.0.2:9000", "idle-timeout": 90,
                              "allow-origin": ["https://a.example", "https://b.example"],
                              "max-body": "2MiB"})");
  auto r = parse({"--config", file, "--idle-timeout", "5s"});
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->config.upstream.authority(), "127.0.0.2:9000");
  EXPECT_EQ(r->config.idle_timeout, 5s); // the flag, though it came after --config
  EXPECT_EQ(r->config.allow_origins.size(), 2u);
  EXPECT_EQ(r->config.max_body_bytes, std::size_t{2} << 20);

  auto replaced = parse({"--allow-origin", "*", "--config", file});
  ASSERT_TRUE(replaced) << replaced.message();
  EXPECT_EQ(replaced->config.allow_origins, std::vector<std::string>{"*"});
}

TEST_F(ConfigFile, ErrorsSayWhereAndWhat) {
  auto malformed = parse({"--config", write("{\"upstream\": ")});
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.message().find("not a JSON object"), std::string::npos);

  auto unknown = parse({"--config", write(R"({"upstrem": "http://x:1"})")});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.message().find("unknown key \"upstrem\""), std::string::npos);

  auto wrong_type = parse({"--config", write(R"({"threads": true})")});
  ASSERT_FALSE(wrong_type);
  EXPECT_NE(wrong_type.message().find("threads"), std::string::npos);

  auto missing = parse({"--config", "/nonexistent/streamcheck.json"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("cannot read"), std::string::npos);
}

TEST(ProxyConfig, UsageListsEveryOptionWithItsDefault) {
  const std::string text = usage();
  for (const char *name :
       {"--listen", "--upstream", "--allow-origin", "--connect-timeout", "--first-byte-timeout",
        "--idle-timeout", "--header-timeout", "--max-body", "--max-connections", "--access-log",
        "--log-format", "--config", "--drain-timeout"})
    EXPECT_NE(text.find(name), std::string::npos) << name;
  EXPECT_NE(text.find("(default 600s)"), std::string::npos);
}

} // namespace
} // namespace streamcheck::proxy
