#include "reference_proxy/cors.h"

#include <gtest/gtest.h>

namespace streamcheck::proxy {
namespace {

TEST(CorsPolicy, NoOriginsConfiguredMeansNoCors) {
  const cors_policy none({});
  EXPECT_FALSE(none.allows("https://app.example"));
  EXPECT_TRUE(none.response_headers("https://app.example").empty());
  const auto a = none.answer_preflight("https://app.example", "content-type");
  EXPECT_EQ(a.status, 403);
  EXPECT_TRUE(a.headers.empty());
  EXPECT_FALSE(a.refusal.empty());
}

TEST(CorsPolicy, EchoesAnAllowedOriginWithVary) {
  const cors_policy p({"https://app.example"});
  const auto h = p.response_headers("https://app.example");
  EXPECT_EQ(find_header(h, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(find_header(h, "Vary"), "Origin");
}

TEST(CorsPolicy, AnotherOriginGetsNoAllowButStillVary) {
  const cors_policy p({"https://app.example"});
  const auto h = p.response_headers("https://evil.example");
  EXPECT_TRUE(find_header(h, "Access-Control-Allow-Origin").empty());
  EXPECT_EQ(find_header(h, "Vary"), "Origin"); // a cache must not serve this to app.example
  EXPECT_TRUE(find_header(p.response_headers(""), "Access-Control-Allow-Origin").empty());
}

TEST(CorsPolicy, GlobsMatchPortsAndSubdomains) {
  const cors_policy p({"http://localhost:*", "https://*.example.com"});
  EXPECT_TRUE(p.allows("http://localhost:5173"));
  EXPECT_TRUE(p.allows("HTTP://LOCALHOST:3000"));
  EXPECT_TRUE(p.allows("https://chat.example.com"));
  EXPECT_FALSE(p.allows("https://example.com"));
  EXPECT_FALSE(p.allows("http://localhost.evil.example"));
  EXPECT_FALSE(p.allows("https://localhost:5173"));
}

TEST(CorsPolicy, AnyOriginAnswersStarWithoutCredentialsOrVary) {
  const cors_policy p({"*"});
  const auto h = p.response_headers("https://whoever.example");
  EXPECT_EQ(find_header(h, "Access-Control-Allow-Origin"), "*");
  EXPECT_TRUE(find_header(h, "Vary").empty());
  EXPECT_TRUE(find_header(h, "Access-Control-Allow-Credentials").empty()); // cors.credentials
}

TEST(CorsPolicy, PreflightEchoesRequestedHeaders) {
  const cors_policy p({"https://app.example"});
  const auto a =
      p.answer_preflight("https://app.example", "authorization, content-type, x-stainless-os");
  EXPECT_EQ(a.status, 204);
  EXPECT_EQ(find_header(a.headers, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(find_header(a.headers, "Access-Control-Allow-Headers"),
            "authorization, content-type, x-stainless-os");
  EXPECT_NE(find_header(a.headers, "Access-Control-Allow-Methods").find("POST"),
            std::string_view::npos);
  EXPECT_NE(find_header(a.headers, "Vary").find("Origin"), std::string_view::npos);
  EXPECT_FALSE(find_header(a.headers, "Access-Control-Max-Age").empty());
}

TEST(CorsPolicy, PreflightIsOptionsWithOriginAndRequestMethod) {
  const header_list full = {{"Origin", "https://a"}, {"Access-Control-Request-Method", "POST"}};
  EXPECT_TRUE(is_preflight("OPTIONS", full));
  EXPECT_FALSE(is_preflight("POST", full));
  EXPECT_FALSE(is_preflight("OPTIONS", {{"Origin", "https://a"}}));
  EXPECT_FALSE(is_preflight("OPTIONS", {{"Access-Control-Request-Method", "POST"}}));
}

} // namespace
} // namespace streamcheck::proxy
