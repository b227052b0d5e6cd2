#include "mock_upstream/policy.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <unistd.h>

namespace streamcheck::mock {
namespace {

using header_pairs = std::vector<std::pair<std::string, std::string>>;

const char *const allow_headers_value =
    "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
    "X-Stainless-Async,X-Stainless-Custom-Poll-Interval,X-Stainless-Helper-Method,X-Stainless-"
    "Lang,X-Stainless-Os,X-Stainless-Package-Version,X-Stainless-Poll-Helper,X-Stainless-Retry-"
    "Count,X-Stainless-Runtime,X-Stainless-Runtime-Version,X-Stainless-Timeout";

policy ollama() {
  return *policy_for_profile("ollama");
}

// ---- origins ----------------------------------------------------------------------------------

TEST(DefaultOrigins, AreOllamasBuiltInList) {
  auto got = default_ollama_origins();
  std::vector<std::string> want = {
      "http://localhost", "https://localhost", "http://localhost:*", "https://localhost:*",
      "http://127.0.0.1", "https://127.0.0.1", "http://127.0.0.1:*", "https://127.0.0.1:*",
      "http://0.0.0.0",   "https://0.0.0.0",   "http://0.0.0.0:*",   "https://0.0.0.0:*",
      "app://*",          "file://*",          "tauri://*",          "vscode-webview://*",
      "vscode-file://*"};
  ASSERT_EQ(got.size(), want.size());
  // The app schemes come last, after the host forms.
  EXPECT_EQ(std::vector<std::string>(got.end() - 5, got.end()),
            std::vector<std::string>(want.end() - 5, want.end()));
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

TEST(Profiles, OllamaIsTheRealDefault) {
  const auto p = policy_for_profile("ollama");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->allow_all_origins);
  EXPECT_TRUE(p->host_check);
  EXPECT_EQ(p->origins, default_ollama_origins());
}

TEST(Profiles, OpenProfilesAllowEverything) {
  for (const char *name : {"ollama-open", "openai"}) {
    const auto p = policy_for_profile(name);
    ASSERT_TRUE(p) << name;
    EXPECT_TRUE(p->allow_all_origins) << name;
    EXPECT_FALSE(p->host_check) << name;
  }
}

TEST(Profiles, OllamaOnALanAddressHasNoHostCheckButTheDefaultOrigins) {
  const auto p = policy_for_profile("ollama-lan");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->host_check);
  EXPECT_FALSE(p->allow_all_origins);
  EXPECT_EQ(p->origins, default_ollama_origins());
  EXPECT_EQ(decide(*p, "POST", "", "llm.example.test", false).action, policy_decision::proceed);
  EXPECT_EQ(decide(*p, "POST", "https://app.example.test", "llm.example.test", true).action,
            policy_decision::reject_403);
}

TEST(Profiles, OpenAiOnlyServesOnlyV1) {
  const auto p = policy_for_profile("openai-only");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->openai_routes_only);
  EXPECT_TRUE(p->allow_all_origins);
  EXPECT_FALSE(p->host_check);
  EXPECT_FALSE(policy_for_profile("openai")->openai_routes_only);
}

TEST(Profiles, UnknownProfile) {
  EXPECT_FALSE(policy_for_profile("nginx"));
}

TEST(OriginAllowed, DefaultListAcceptsLocalOrigins) {
  const auto p = ollama();
  for (const char *o :
       {"http://localhost", "http://localhost:3000", "https://localhost:8443",
        "http://127.0.0.1:5173", "https://127.0.0.1", "http://0.0.0.0:8080", "app://obsidian.md",
        "file://", "tauri://localhost", "vscode-webview://1234abcd", "vscode-file://vscode-app"})
    EXPECT_TRUE(origin_allowed(p, o)) << o;
}

TEST(OriginAllowed, DefaultListRefusesEverythingElse) {
  const auto p = ollama();
  for (const char *o :
       {"http://[::1]:3000", "chrome-extension://abcdefghijklmnop", "moz-extension://1234", "null",
        "https://chat.example.com", "http://localhost.evil.com", "http://127.0.0.2:3000",
        "https://0.0.0.1", "http://localhos", ""})
    EXPECT_FALSE(origin_allowed(p, o)) << o;
}

TEST(OriginAllowed, WildcardIsAPrefixAndSuffixMatchLikeGinCors) {
  // gin-contrib/cors: "http://localhost:*" is a prefix match, so this one passes in Ollama too.
  EXPECT_TRUE(origin_allowed(ollama(), "http://localhost:3000.evil.com"));
  const auto p = with_origins(ollama(), "https://*.example.com");
  EXPECT_TRUE(origin_allowed(p, "https://chat.example.com"));
  EXPECT_FALSE(origin_allowed(p, "https://example.com"));
  EXPECT_FALSE(origin_allowed(p, "http://chat.example.com"));
}

TEST(WithOrigins, ExtraEntriesComeFirstLowerCasedAndTrimmed) {
  const auto p = with_origins(ollama(), " HTTPS://Chat.Example.com ,chrome-extension://abc,,");
  ASSERT_EQ(p.origins.size(), default_ollama_origins().size() + 2);
  EXPECT_EQ(p.origins[0], "https://chat.example.com");
  EXPECT_EQ(p.origins[1], "chrome-extension://abc");
  EXPECT_EQ(p.origins[2], "http://localhost");
  EXPECT_FALSE(p.allow_all_origins);
  EXPECT_TRUE(origin_allowed(p, "https://chat.example.com"));
  EXPECT_TRUE(origin_allowed(p, "chrome-extension://abc"));
  EXPECT_TRUE(origin_allowed(p, "http://localhost:3000"));
  EXPECT_FALSE(origin_allowed(p, "chrome-extension://abd"));
}

TEST(WithOrigins, DefaultAndStar) {
  auto p = with_origins(*policy_for_profile("openai"), "default");
  EXPECT_FALSE(p.allow_all_origins);
  EXPECT_EQ(p.origins, default_ollama_origins());
  p = with_origins(ollama(), "*");
  EXPECT_TRUE(p.allow_all_origins);
  EXPECT_TRUE(origin_allowed(p, "chrome-extension://abc"));
  EXPECT_TRUE(origin_allowed(p, "null"));
}

// ---- hosts ------------------------------------------------------------------------------------

TEST(HostAllowed, LocalNamesAndPrivateAddresses) {
  for (const char *h : {"",
                        "localhost",
                        "localhost:11434",
                        "LocalHost:80",
                        "127.0.0.1",
                        "127.0.0.1:11434",
                        "127.1.2.3:1",
                        "[::1]:11434",
                        "[::1]",
                        "::1",
                        "0.0.0.0:11434",
                        "[::]:80",
                        "10.0.0.1",
                        "10.255.255.255:8080",
                        "172.16.0.1",
                        "172.31.255.255:1",
                        "192.168.1.20:11434",
                        "[fd00::1]:80",
                        "[fc12::1]",
                        "[::ffff:10.1.2.3]:80",
                        "[::ffff:127.0.0.1]",
                        "app.localhost",
                        "my-box.local:11434",
                        "ollama.internal",
                        "GPU.Internal:443"})
    EXPECT_TRUE(host_allowed(h)) << h;
}

TEST(HostAllowed, PublicNamesAndAddressesAreRefused) {
  for (const char *h :
       {"ollama.example.com", "ollama.example.com:443", "8.8.8.8", "8.8.8.8:11434", "172.15.0.1",
        "172.32.0.1", "192.169.0.1", "11.0.0.1", "[2001:db8::1]:80", "[::ffff:8.8.8.8]",
        "localhost.example.com", "local", "internal", "example.localhost.com"})
    EXPECT_FALSE(host_allowed(h)) << h;
}

TEST(HostAllowed, TheMachinesOwnHostname) {
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  EXPECT_TRUE(host_allowed(name));
  EXPECT_TRUE(host_allowed(std::string(name) + ":11434"));
}

// ---- decide -----------------------------------------------------------------------------------

TEST(Decide, NoOriginNoCors) {
  const auto d = decide(ollama(), "POST", "", "localhost:11434", false);
  EXPECT_EQ(d.action, policy_decision::proceed);
  EXPECT_TRUE(d.headers.empty());
}

TEST(Decide, EmptyOriginHeaderIsNoCors) {
  const auto d = decide(ollama(), "POST", "", "localhost:11434", true);
  EXPECT_EQ(d.action, policy_decision::proceed);
  EXPECT_TRUE(d.headers.empty());
}

TEST(Decide, AllowedOriginEchoedWithVary) {
  const auto d = decide(ollama(), "POST", "http://localhost:3000", "localhost:11434", true);
  EXPECT_EQ(d.action, policy_decision::proceed);
  EXPECT_EQ(d.headers, (header_pairs{{"Access-Control-Allow-Origin", "http://localhost:3000"},
                                     {"Vary", "Origin"}}));
}

TEST(Decide, RefusedOriginIsABare403) {
  for (const char *o :
       {"http://[::1]:3000", "chrome-extension://abc", "null", "https://chat.example.com"}) {
    for (const char *method : {"POST", "GET", "OPTIONS"}) {
      const auto d = decide(ollama(), method, o, "localhost:11434", true);
      EXPECT_EQ(d.action, policy_decision::reject_403) << o << " " << method;
      EXPECT_TRUE(d.headers.empty()) << o << " " << method;
    }
  }
}

TEST(Decide, SameOriginSkipsCors) {
  // http://[::1]:11434 is not on the allow-list, but it is this server's own origin.
  auto d = decide(ollama(), "POST", "http://[::1]:11434", "[::1]:11434", true);
  EXPECT_EQ(d.action, policy_decision::proceed);
  EXPECT_TRUE(d.headers.empty());
  d = decide(ollama(), "POST", "https://192.168.1.20:11434", "192.168.1.20:11434", true);
  EXPECT_EQ(d.action, policy_decision::proceed);
  EXPECT_TRUE(d.headers.empty());
  // Same-origin is judged on the Host as received: a different port is cross-origin.
  d = decide(ollama(), "POST", "http://[::1]:3000", "[::1]:11434", true);
  EXPECT_EQ(d.action, policy_decision::reject_403);
}

TEST(Decide, PreflightHeadersExactlyAsGinCors) {
  const auto d = decide(ollama(), "OPTIONS", "http://localhost:3000", "localhost:11434", true);
  EXPECT_EQ(d.action, policy_decision::preflight_204);
  EXPECT_EQ(d.headers, (header_pairs{{"Access-Control-Allow-Headers", allow_headers_value},
                                     {"Access-Control-Allow-Methods",
                                      "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"},
                                     {"Access-Control-Allow-Origin", "http://localhost:3000"},
                                     {"Access-Control-Max-Age", "43200"},
                                     {"Vary", "Origin"},
                                     {"Vary", "Access-Control-Request-Method"},
                                     {"Vary", "Access-Control-Request-Headers"}}));
}

TEST(Decide, PreflightIsAnsweredBeforeTheHostCheck) {
  const auto d = decide(ollama(), "OPTIONS", "http://localhost:3000", "ollama.example.com", true);
  EXPECT_EQ(d.action, policy_decision::preflight_204);
  EXPECT_EQ(d.headers.size(), 7u);
}

TEST(Decide, AllowAllSendsStarWithoutVary) {
  const auto p = *policy_for_profile("ollama-open");
  auto d = decide(p, "POST", "chrome-extension://abc", "ollama.example.com", true);
  EXPECT_EQ(d.action, policy_decision::proceed);
  EXPECT_EQ(d.headers, (header_pairs{{"Access-Control-Allow-Origin", "*"}}));

  d = decide(p, "OPTIONS", "https://chat.example.com", "ollama.example.com", true);
  EXPECT_EQ(d.action, policy_decision::preflight_204);
  EXPECT_EQ(d.headers, (header_pairs{{"Access-Control-Allow-Headers", allow_headers_value},
                                     {"Access-Control-Allow-Methods",
                                      "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"},
                                     {"Access-Control-Allow-Origin", "*"},
                                     {"Access-Control-Max-Age", "43200"}}));
}

TEST(Decide, HostCheckRefusesPublicNamesWith403) {
  const auto d = decide(ollama(), "POST", "", "ollama.example.com", false);
  EXPECT_EQ(d.action, policy_decision::reject_403);
  EXPECT_TRUE(d.headers.empty());
  EXPECT_EQ(decide(ollama(), "GET", "", "8.8.8.8:11434", false).action,
            policy_decision::reject_403);
}

TEST(Decide, HostRefusalKeepsCorsHeadersAlreadySet) {
  const auto p = with_origins(ollama(), "https://chat.example.com");
  const auto d = decide(p, "POST", "https://chat.example.com", "ollama.example.com", true);
  EXPECT_EQ(d.action, policy_decision::reject_403);
  EXPECT_EQ(d.headers, (header_pairs{{"Access-Control-Allow-Origin", "https://chat.example.com"},
                                     {"Vary", "Origin"}}));
}

TEST(Decide, HostCheckAcceptsLocalAndPrivateHosts) {
  for (const char *h : {"localhost:11434", "my-box.local", "ollama.internal:11434",
                        "192.168.1.20:11434", "10.0.0.5", "127.0.0.1:11434"}) {
    const auto d = decide(ollama(), "POST", "", h, false);
    EXPECT_EQ(d.action, policy_decision::proceed) << h;
    EXPECT_TRUE(d.headers.empty()) << h;
  }
}

TEST(Decide, OptionsOnAnAllowedHostNameIs204) {
  for (const char *h : {"localhost:11434", "my-box.local", "ollama.internal", ""}) {
    const auto d = decide(ollama(), "OPTIONS", "", h, false);
    EXPECT_EQ(d.action, policy_decision::preflight_204) << h;
    EXPECT_TRUE(d.headers.empty()) << h;
  }
}

TEST(Decide, OptionsOnAnAllowedIpLiteralFallsThroughToRouting) {
  for (const char *h : {"127.0.0.1:11434", "[::1]:11434", "192.168.1.20"})
    EXPECT_EQ(decide(ollama(), "OPTIONS", "", h, false).action, policy_decision::proceed) << h;
}

TEST(Decide, NoHostCheckWhenOff) {
  const auto p = *policy_for_profile("openai");
  EXPECT_EQ(decide(p, "POST", "", "ollama.example.com", false).action, policy_decision::proceed);
  // Without the host guard, OPTIONS without Origin goes to routing (405/404).
  EXPECT_EQ(decide(p, "OPTIONS", "", "localhost", false).action, policy_decision::proceed);
}

} // namespace
} // namespace streamcheck::mock

namespace streamcheck::mock {

TEST(PolicyProfiles, BareHasNoCorsAndNoHostCheck) {
  const auto p = policy_for_profile("bare");
  ASSERT_TRUE(p.has_value());
  const auto d = decide(*p, "OPTIONS", "https://app.example.test", "llm.example.test", true);
  EXPECT_EQ(d.action, policy_decision::proceed);
  EXPECT_TRUE(d.headers.empty());
}

} // namespace streamcheck::mock
