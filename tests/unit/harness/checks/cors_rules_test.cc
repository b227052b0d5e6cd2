// The Fetch standard's CORS rules as the harness applies them to one response (cors_rules.h).
// Each case is a response a browser at https://app.example.test would accept or refuse; the
// refusals are the ones headless Chromium refuses too.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/checks/cors_rules.h"

namespace streamcheck::harness {
namespace {

const std::string origin = "https://app.example.test";
const std::vector<std::string> sdk_headers = {"authorization", "content-type", "x-stainless-os"};

probe_result response(long status, std::vector<std::string> headers) {
  probe_result r;
  r.name = "r";
  r.started = true;
  r.status = status;
  r.header_lines.push_back("HTTP/1.1 " + std::to_string(status) + " X");
  for (auto &h : headers)
    r.header_lines.push_back(std::move(h));
  return r;
}

// What a correct proxy answers to the OpenAI SDK's preflight.
probe_result good_preflight(std::vector<std::string> extra = {}) {
  std::vector<std::string> h = {"Access-Control-Allow-Origin: " + origin,
                                "Access-Control-Allow-Methods: GET, POST, OPTIONS",
                                "Access-Control-Allow-Headers: authorization, content-type, "
                                "x-stainless-os",
                                "Vary: Origin"};
  h.insert(h.end(), extra.begin(), extra.end());
  return response(204, h);
}

// A preflight that differs from the good one in one Access-Control-* header (empty: removed).
probe_result preflight_with(const std::string &name, const std::vector<std::string> &values) {
  probe_result r = good_preflight();
  std::erase_if(r.header_lines, [&](const std::string &l) { return l.rfind(name + ":", 0) == 0; });
  for (const auto &v : values)
    r.header_lines.push_back(name + ": " + v);
  return r;
}

std::string problem_or_none(const std::optional<std::string> &p) {
  return p ? *p : "none";
}

// --- header_tokens -------------------------------------------------------------------------------

TEST(HeaderTokens, SplitsTrimsAndLowerCases) {
  EXPECT_EQ(header_tokens({"Authorization, Content-Type,X-Stainless-OS"}),
            (std::vector<std::string>{"authorization", "content-type", "x-stainless-os"}));
  EXPECT_EQ(header_tokens({" \tGET ,\tPOST\t"}), (std::vector<std::string>{"get", "post"}));
}

TEST(HeaderTokens, JoinsRepeatedHeadersInOrder) {
  EXPECT_EQ(header_tokens({"authorization", "Content-Type, x-a"}),
            (std::vector<std::string>{"authorization", "content-type", "x-a"}));
}

TEST(HeaderTokens, DropsEmptyElements) {
  EXPECT_EQ(header_tokens({",, a ,", "", " , "}), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(header_tokens({}).empty());
}

// --- cors_read_problem ---------------------------------------------------------------------------

TEST(CorsRead, TheOriginOrAWildcardIsReadable) {
  EXPECT_EQ(cors_read_problem(response(200, {"Access-Control-Allow-Origin: " + origin}), origin),
            std::nullopt);
  EXPECT_EQ(cors_read_problem(response(200, {"Access-Control-Allow-Origin: *"}), origin),
            std::nullopt);
  // Header names are case-insensitive, and surrounding whitespace is not part of the value.
  EXPECT_EQ(cors_read_problem(response(500, {"access-control-allow-origin:   *  "}), origin),
            std::nullopt);
}

TEST(CorsRead, NoAllowOriginIsRefused) {
  EXPECT_EQ(problem_or_none(cors_read_problem(response(200, {"Vary: Origin"}), origin)),
            "no Access-Control-Allow-Origin");
}

TEST(CorsRead, AllowOriginMustMatchExactly) {
  for (const std::string other :
       {"https://other.example", "https://app.example.test/", "HTTPS://APP.EXAMPLE.TEST",
        "http://app.example.test", "null", ""}) {
    const auto p =
        cors_read_problem(response(200, {"Access-Control-Allow-Origin: " + other}), origin);
    EXPECT_EQ(problem_or_none(p), "Access-Control-Allow-Origin '" + other +
                                      "' is not 'https://app.example.test' or '*'")
        << other;
  }
}

TEST(CorsRead, TwoAllowOriginsAreRefused) {
  // Proxy and upstream both adding: the browser sees "https://app.example.test, *".
  EXPECT_EQ(problem_or_none(cors_read_problem(
                response(200, {"Access-Control-Allow-Origin: *", "Access-Control-Allow-Origin: *"}),
                origin)),
            "Access-Control-Allow-Origin sent 2 times");
  EXPECT_EQ(problem_or_none(
                cors_read_problem(response(200, {"Access-Control-Allow-Origin: *, *"}), origin)),
            "Access-Control-Allow-Origin '*, *' is not 'https://app.example.test' or '*'");
}

TEST(CorsRead, CredentialsNeedTheExactOriginAndTrue) {
  const auto echo = "Access-Control-Allow-Origin: " + origin;
  EXPECT_EQ(cors_read_problem(response(200, {echo, "Access-Control-Allow-Credentials: true"}),
                              origin, true),
            std::nullopt);
  EXPECT_EQ(
      problem_or_none(cors_read_problem(response(200, {"Access-Control-Allow-Origin: *",
                                                       "Access-Control-Allow-Credentials: true"}),
                                        origin, true)),
      "Access-Control-Allow-Origin '*' with credentials");
  EXPECT_EQ(problem_or_none(cors_read_problem(response(200, {echo}), origin, true)),
            "credentials without Access-Control-Allow-Credentials: true");
}

TEST(CorsRead, AllowCredentialsIsExactlyTrueOnce) {
  // "True" is not "true", and two headers reach the page as "true, true".
  const auto echo = "Access-Control-Allow-Origin: " + origin;
  for (const auto &acac :
       std::vector<std::vector<std::string>>{{"True"}, {"1"}, {"true, true"}, {"true", "true"}}) {
    std::vector<std::string> h = {echo};
    for (const auto &v : acac)
      h.push_back("Access-Control-Allow-Credentials: " + v);
    EXPECT_EQ(problem_or_none(cors_read_problem(response(200, h), origin, true)),
              "credentials without Access-Control-Allow-Credentials: true")
        << acac.front() << " x" << acac.size();
  }
}

TEST(CorsRead, WithoutCredentialsAWildcardWithAllowCredentialsIsReadable) {
  // The browser ignores Allow-Credentials for a request sent without credentials.
  EXPECT_EQ(cors_read_problem(response(200, {"Access-Control-Allow-Origin: *",
                                             "Access-Control-Allow-Credentials: true"}),
                              origin),
            std::nullopt);
}

// --- preflight_problem ---------------------------------------------------------------------------

TEST(Preflight, ACorrectAnswerPasses) {
  EXPECT_EQ(preflight_problem(good_preflight(), origin, "POST", sdk_headers), std::nullopt);
  probe_result ok200 = good_preflight();
  ok200.status = 200;
  EXPECT_EQ(preflight_problem(ok200, origin, "POST", sdk_headers), std::nullopt);
}

TEST(Preflight, NeedsAnOkStatus) {
  for (long status : {405L, 401L, 403L, 404L, 302L, 500L, 0L}) {
    probe_result r = good_preflight();
    r.status = status;
    EXPECT_EQ(problem_or_none(preflight_problem(r, origin, "POST", sdk_headers)),
              "preflight answered HTTP " + std::to_string(status) + " (a browser needs 2xx)");
  }
}

TEST(Preflight, NeedsOneValidAllowOrigin) {
  EXPECT_EQ(problem_or_none(preflight_problem(preflight_with("Access-Control-Allow-Origin", {}),
                                              origin, "POST", sdk_headers)),
            "no Access-Control-Allow-Origin");
  EXPECT_EQ(problem_or_none(
                preflight_problem(preflight_with("Access-Control-Allow-Origin", {origin, origin}),
                                  origin, "POST", sdk_headers)),
            "Access-Control-Allow-Origin sent 2 times");
}

TEST(Preflight, PostIsSafelistedAndNeedsNoAllowMethods) {
  for (const auto &methods : std::vector<std::vector<std::string>>{{}, {"GET"}, {"PUT"}})
    EXPECT_EQ(preflight_problem(preflight_with("Access-Control-Allow-Methods", methods), origin,
                                "POST", sdk_headers),
              std::nullopt);
}

TEST(Preflight, OtherMethodsMustBeListedExactly) {
  const auto put = [](const std::vector<std::string> &methods) {
    return problem_or_none(preflight_problem(
        preflight_with("Access-Control-Allow-Methods", methods), origin, "PUT", {"content-type"}));
  };
  EXPECT_EQ(put({"GET, POST"}), "Access-Control-Allow-Methods does not include PUT");
  EXPECT_EQ(put({"put"}), "Access-Control-Allow-Methods does not include PUT"); // case-sensitive
  EXPECT_EQ(put({"GET, PUT"}), "none");
  EXPECT_EQ(put({"GET", "PUT"}), "none"); // repeated headers join into one list
  EXPECT_EQ(put({"*"}), "none");
}

TEST(Preflight, EveryRequestedHeaderMustBeAllowed) {
  EXPECT_EQ(problem_or_none(preflight_problem(
                preflight_with("Access-Control-Allow-Headers", {"authorization, content-type"}),
                origin, "POST", sdk_headers)),
            "Access-Control-Allow-Headers does not include x-stainless-os");
  EXPECT_EQ(problem_or_none(preflight_problem(preflight_with("Access-Control-Allow-Headers", {}),
                                              origin, "POST", sdk_headers)),
            "Access-Control-Allow-Headers does not include authorization");
}

TEST(Preflight, HeaderNamesAreCaseInsensitive) {
  EXPECT_EQ(preflight_problem(preflight_with("Access-Control-Allow-Headers",
                                             {"Authorization,Content-Type", "X-Stainless-OS"}),
                              origin, "POST", sdk_headers),
            std::nullopt);
}

TEST(Preflight, WildcardCoversAuthorizationAsBrowsersDo) {
  // Fetch calls Authorization a "CORS non-wildcard request-header name", but Chromium 156 (and,
  // per whatwg/fetch#1278, Firefox and WebKit) accept "*" for it; the browser is the judge.
  EXPECT_EQ(preflight_problem(preflight_with("Access-Control-Allow-Headers", {"*"}), origin, "POST",
                              sdk_headers),
            std::nullopt);
  EXPECT_EQ(preflight_problem(preflight_with("Access-Control-Allow-Headers", {"*"}), origin, "POST",
                              {"content-type", "x-stainless-os"}),
            std::nullopt);
  EXPECT_EQ(preflight_problem(preflight_with("Access-Control-Allow-Headers", {"*, authorization"}),
                              origin, "POST", sdk_headers),
            std::nullopt);
}

TEST(Preflight, NoRequestedHeadersNeedNoAllowHeaders) {
  EXPECT_EQ(
      preflight_problem(preflight_with("Access-Control-Allow-Headers", {}), origin, "POST", {}),
      std::nullopt);
}

// --- doubled_cors_headers ------------------------------------------------------------------------

TEST(DoubledCors, NoneOnACleanResponse) {
  EXPECT_TRUE(doubled_cors_headers(good_preflight({"Access-Control-Max-Age: 600"})).empty());
  EXPECT_TRUE(doubled_cors_headers(response(200, {})).empty());
}

TEST(DoubledCors, AnyCorsHeaderTwice) {
  for (const std::string name : {"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                                 "Access-Control-Max-Age", "Access-Control-Allow-Methods",
                                 "Access-Control-Allow-Headers", "Access-Control-Expose-Headers"}) {
    const probe_result r = response(200, {name + ": a", name + ": b"});
    EXPECT_EQ(doubled_cors_headers(r), std::vector<std::string>{name}) << name;
  }
}

TEST(DoubledCors, SingleValuedHeadersMustNotBeLists) {
  EXPECT_EQ(doubled_cors_headers(response(200, {"Access-Control-Allow-Origin: *, *"})),
            std::vector<std::string>{"Access-Control-Allow-Origin"});
  EXPECT_EQ(doubled_cors_headers(response(200, {"Access-Control-Allow-Credentials: true, true"})),
            std::vector<std::string>{"Access-Control-Allow-Credentials"});
  EXPECT_EQ(doubled_cors_headers(response(200, {"Access-Control-Max-Age: 600, 600"})),
            std::vector<std::string>{"Access-Control-Max-Age"});
}

TEST(DoubledCors, ListValuedHeadersMayListSeveral) {
  EXPECT_TRUE(doubled_cors_headers(response(200, {"Access-Control-Allow-Methods: GET, POST",
                                                  "Access-Control-Allow-Headers: a, b",
                                                  "Access-Control-Expose-Headers: x, y"}))
                  .empty());
}

TEST(DoubledCors, NamesAreCaseInsensitiveAndOthersIgnored) {
  EXPECT_EQ(doubled_cors_headers(
                response(200, {"access-control-allow-origin: *", "ACCESS-CONTROL-ALLOW-ORIGIN: *",
                               "Vary: Origin", "Vary: Accept-Encoding"})),
            std::vector<std::string>{"Access-Control-Allow-Origin"});
}

TEST(DoubledCors, ReportsEveryDoubledHeader) {
  EXPECT_EQ(
      doubled_cors_headers(
          response(200, {"Access-Control-Allow-Origin: *", "Access-Control-Allow-Headers: a",
                         "Access-Control-Allow-Origin: *", "Access-Control-Allow-Headers: a"})),
      (std::vector<std::string>{"Access-Control-Allow-Origin", "Access-Control-Allow-Headers"}));
}

} // namespace
} // namespace streamcheck::harness
