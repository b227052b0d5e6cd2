// streamcheck caddy's rewrite of `caddy adapt`'s JSON: servers to loopback ports, upstreams to the
// mock, nothing that reaches the network or the machine (admin, ACME, internal CA, log files).
#include <gtest/gtest.h>

#include "harness/caddy/config.h"
#include "harness/caddy/launcher.h"

namespace streamcheck::harness::caddy {
namespace {

using nlohmann::json;

// `caddy adapt` of:  ollama.example.com { reverse_proxy localhost:11434 }
//                    :80 { root * /srv; file_server }
//                    :8080 { reverse_proxy /api/* https://10.0.0.5:11434 }   (+ a TLS app)
json adapted() {
  return json::parse(R"({
    "admin": {"listen": "localhost:2019"},
    "logging": {"logs": {"default": {"writer": {"output": "file", "filename": "/var/log/caddy.log"}}}},
    "apps": {
      "tls": {"automation": {"policies": [{"issuers": [{"module": "acme"}]}]}},
      "pki": {"certificate_authorities": {"local": {"install_trust": true}}},
      "http": {"servers": {
        "srv0": {"listen": [":443"], "routes": [{"match": [{"host": ["ollama.example.com"]}],
          "handle": [{"handler": "subroute", "routes": [{"handle": [{"handler": "reverse_proxy",
            "upstreams": [{"dial": "localhost:11434"}]}]}]}], "terminal": true}]},
        "srv1": {"listen": [":80"], "routes": [{"handle": [{"handler": "file_server"}]}]},
        "srv2": {"listen": [":8080"], "routes": [{"match": [{"path": ["/api/*"]}],
          "handle": [{"handler": "reverse_proxy", "transport": {"protocol": "http", "tls": {}},
            "health_checks": {"active": {"uri": "/"}},
            "upstreams": [{"dial": "10.0.0.5:11434"}]}]}]}
      }}
    }
  })");
}

rewrite_options options() {
  rewrite_options o;
  o.ports = {41001, 41002};
  o.mock_port = 42000;
  o.prefix = "/tmp/sc-caddy";
  return o;
}

rewritten must_rewrite(json j) {
  auto r = rewrite(std::move(j), options());
  EXPECT_TRUE(r) << (r ? "" : r.message());
  return r ? *r : rewritten{};
}

TEST(CaddyConfig, OnlyProxyingServersAreTested) {
  EXPECT_EQ(proxying_servers(adapted()), (std::vector<std::string>{"srv0", "srv2"}));
  const auto r = must_rewrite(adapted());
  const json &servers = r.config["apps"]["http"]["servers"];
  EXPECT_FALSE(servers.contains("srv1")); // it would bind port 80
  EXPECT_EQ(servers["srv0"]["listen"], json::array({"127.0.0.1:41001"}));
  EXPECT_EQ(servers["srv2"]["listen"], json::array({"127.0.0.1:41002"}));
  ASSERT_EQ(r.sites.size(), 2u);
  EXPECT_EQ(r.sites[1].url(), "http://127.0.0.1:41002");
}

TEST(CaddyConfig, NothingTouchesTheNetworkOrTheMachine) {
  const auto r = must_rewrite(adapted());
  EXPECT_EQ(r.config["admin"], json::parse(R"({"disabled": true, "config": {"persist": false}})"));
  EXPECT_FALSE(r.config["apps"].contains("tls"));
  EXPECT_FALSE(r.config["apps"].contains("pki"));
  EXPECT_EQ(r.config["storage"]["root"], "/tmp/sc-caddy/storage");
  EXPECT_EQ(r.config["logging"]["logs"]["default"]["writer"], (json{{"output", "stderr"}}));
  for (const auto &[name, server] : r.config["apps"]["http"]["servers"].items())
    EXPECT_EQ(server["automatic_https"]["disable"], true) << name;
}

TEST(CaddyConfig, UpstreamsDialTheMockOverPlainHttp) {
  const auto r = must_rewrite(adapted());
  EXPECT_EQ(r.upstreams, 2);
  const json &proxy = r.config["apps"]["http"]["servers"]["srv2"]["routes"][0]["handle"][0];
  EXPECT_EQ(proxy["upstreams"], json::parse(R"([{"dial": "127.0.0.1:42000"}])"));
  EXPECT_FALSE(proxy["transport"].contains("tls"));
  EXPECT_FALSE(proxy.contains("health_checks"));
  const json &nested = r.config["apps"]["http"]["servers"]["srv0"]["routes"][0]["handle"][0];
  EXPECT_EQ(nested["routes"][0]["handle"][0]["upstreams"][0]["dial"], "127.0.0.1:42000");
}

TEST(CaddyConfig, HostRoutedSiteAnswersAnyHostAndSaysItsName) {
  const auto r = must_rewrite(adapted());
  const json &route = r.config["apps"]["http"]["servers"]["srv0"]["routes"][0];
  EXPECT_FALSE(route.contains("match"));
  EXPECT_EQ(r.sites[0].hosts, std::vector<std::string>{"ollama.example.com"});
  EXPECT_TRUE(r.sites[0].was_tls);
  // A path matcher next to it stays.
  EXPECT_EQ(r.config["apps"]["http"]["servers"]["srv2"]["routes"][0]["match"],
            json::parse(R"([{"path": ["/api/*"]}])"));
}

TEST(CaddyConfig, NoReverseProxyIsAnError) {
  auto r = rewrite(json::parse(R"({"apps": {"http": {"servers": {"srv0": {"listen": [":80"],
                     "routes": [{"handle": [{"handler": "file_server"}]}]}}}}})"),
                   options());
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("no HTTP server with a reverse_proxy"), std::string::npos);
  EXPECT_FALSE(rewrite(json::object(), options()));
}

TEST(CaddyConfig, VersionFromUpstreamAndDebianBuilds) {
  EXPECT_EQ(parse_version("v2.7.6 h1:w0NymbG2m9PcvKWsrXO6EEkY9Ru4FJK8uQbYcev1p3A=\n"), "2.7.6");
  EXPECT_EQ(parse_version("2.6.2\n"), "2.6.2");
  EXPECT_EQ(parse_version("Error: unknown command\n"), "");
}

} // namespace
} // namespace streamcheck::harness::caddy
