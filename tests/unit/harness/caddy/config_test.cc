// streamcheck caddy's rewrite of `caddy adapt`'s JSON: servers to loopback ports, upstreams to the
// mock, nothing that reaches the network or the machine (admin, ACME, internal CA, log files).
#include <gtest/gtest.h>

#include <map>

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
  o.certificate = "/tmp/sc-caddy/throwaway.pem.crt";
  o.key = "/tmp/sc-caddy/throwaway.pem.key";
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
  // The TLS app holds the throwaway certificate and nothing else: no automation, no issuer.
  EXPECT_EQ(r.config["apps"]["tls"].size(), 1u);
  EXPECT_EQ(r.config["apps"]["tls"]["certificates"].size(), 1u);
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
  EXPECT_TRUE(r.sites[0].tls);
  // A path matcher next to it stays.
  EXPECT_EQ(r.config["apps"]["http"]["servers"]["srv2"]["routes"][0]["match"],
            json::parse(R"([{"path": ["/api/*"]}])"));
}

// One server as `caddy adapt` (Caddy 2.6.2) writes the Caddyfile site in the comment.
json server_of(const std::string &site) {
  const std::string route =
      R"("handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "localhost:11434"}]}])";
  static const std::map<std::string, std::string> adapted = {
      {"ollama.example.com", R"({"listen": [":443"], "routes": [{"match": [{"host":
        ["ollama.example.com"]}], )" +
                                 route + "}]}"},
      {"https://:8443",
       R"({"listen": [":8443"], "routes": [{)" + route + R"(}], "tls_connection_policies": [{}]})"},
      {":8443 { tls cert key }", R"({"listen": [":8443"], "routes": [{)" + route +
                                     R"(}], "tls_connection_policies": [{"certificate_selection":
        {"any_tag": ["cert0"]}}]})"},
      {"http://ollama.example.com", R"({"listen": [":80"], "routes": [{"match": [{"host":
        ["ollama.example.com"]}], )" + route +
                                        "}]}"},
      {"ollama.example.com:8443", R"({"listen": [":8443"], "routes": [{"match": [{"host":
        ["ollama.example.com"]}], )" + route +
                                      "}]}"},
      {"http://ollama.example.com:8443", R"({"listen": [":8443"], "routes": [{"match": [{"host":
        ["ollama.example.com"]}], )" + route +
                                             R"(}], "automatic_https": {"skip":
        ["ollama.example.com"]}})"},
      {"{ auto_https off } ollama.example.com:8443",
       R"({"listen": [":8443"], "routes": [{"match": [{"host": ["ollama.example.com"]}], )" +
           route + R"(}], "tls_connection_policies": [{}], "automatic_https": {"disable": true}})"},
      {":443", R"({"listen": [":443"], "routes": [{)" + route + "}]}"},
      {"127.0.0.1:8443", R"({"listen": [":8443"], "routes": [{"match": [{"host": ["127.0.0.1"]}],
        )" + route + "}]}"},
      {":8080", R"({"listen": [":8080"], "routes": [{)" + route + "}]}"},
      // `tls internal` on a site without a name: no policy, no name, so Caddy serves HTTP.
      {":8080 { tls internal }", R"({"listen": [":8080"], "routes": [{)" + route + "}]}"},
  };
  return json::parse(adapted.at(site));
}

TEST(CaddyConfig, ServesHttpsWhereCaddyWould) {
  const json defaults = json::object();
  for (const char *site :
       {"ollama.example.com", "https://:8443", ":8443 { tls cert key }", "ollama.example.com:8443",
        "{ auto_https off } ollama.example.com:8443", ":443", "127.0.0.1:8443"})
    EXPECT_TRUE(serves_https(server_of(site), defaults)) << site;
  for (const char *site : {"http://ollama.example.com", "http://ollama.example.com:8443", ":8080",
                           ":8080 { tls internal }"})
    EXPECT_FALSE(serves_https(server_of(site), defaults)) << site;
  // The http_port and https_port global options move Caddy's HTTP and HTTPS ports.
  EXPECT_FALSE(serves_https(server_of("ollama.example.com:8443"), {{"http_port", 8443}}));
  EXPECT_TRUE(serves_https(server_of(":8080"), {{"https_port", 8080}}));
  EXPECT_FALSE(serves_https(server_of(":443"), {{"https_port", 8443}}));
}

TEST(CaddyConfig, HttpsServersGetTheThrowawayCertificate) {
  const auto r = must_rewrite(adapted());
  ASSERT_EQ(r.sites.size(), 2u);
  EXPECT_TRUE(r.throwaway_certificate);
  EXPECT_EQ(r.sites[0].url(), "https://127.0.0.1:41001");
  EXPECT_EQ(r.sites[0].label(), "srv0 (:443 ollama.example.com, TLS)");
  EXPECT_EQ(r.sites[1].label(), "srv2 (:8080)");
  const json &servers = r.config["apps"]["http"]["servers"];
  EXPECT_EQ(servers["srv0"]["tls_connection_policies"],
            json::parse(R"([{"certificate_selection": {"any_tag": ["streamcheck-throwaway"]}}])"));
  EXPECT_FALSE(servers["srv2"].contains("tls_connection_policies"));
  EXPECT_EQ(r.config["apps"]["tls"]["certificates"]["load_files"], json::parse(R"([{
    "certificate": "/tmp/sc-caddy/throwaway.pem.crt", "key": "/tmp/sc-caddy/throwaway.pem.key",
    "tags": ["streamcheck-throwaway"]}])"));
}

TEST(CaddyConfig, TheUsersOwnCertificateIsReplacedAndPlainSitesNeedNone) {
  // `:8443 { tls /etc/ssl/ollama.crt /etc/ssl/ollama.key }`: not on this machine, and its name
  // would not match 127.0.0.1 anyway.
  json j = {{"apps",
             {{"http", {{"servers", {{"srv0", server_of(":8443 { tls cert key }")}}}}},
              {"tls", json::parse(R"({"certificates": {"load_files": [{"certificate":
                "/etc/ssl/ollama.crt", "key": "/etc/ssl/ollama.key", "tags": ["cert0"]}]}})")}}}};
  const auto r = must_rewrite(j);
  ASSERT_EQ(r.sites.size(), 1u);
  EXPECT_TRUE(r.sites[0].tls);
  EXPECT_EQ(r.config.dump().find("/etc/ssl/"), std::string::npos) << r.config.dump();
  EXPECT_EQ(r.config.dump().find("cert0"), std::string::npos);
  json plain = {{"apps", {{"http", {{"servers", {{"srv0", server_of(":8080")}}}}}}}};
  const auto p = must_rewrite(plain);
  EXPECT_FALSE(p.throwaway_certificate);
  EXPECT_EQ(p.sites[0].url(), "http://127.0.0.1:41001");
  EXPECT_FALSE(p.config["apps"].contains("tls"));
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
