// streamcheck lighttpd's rewrite of `lighttpd -p`'s output: listeners to loopback ports, every
// proxy.server host the mock, pid/logs into the prefix, a missing certificate replaced.
#include <gtest/gtest.h>

#include "harness/lighttpd/config.h"
#include "harness/lighttpd/launcher.h"

namespace streamcheck::harness::lighttpd {
namespace {

// What lighttpd 1.4.69 prints with -p for a config with a TLS socket and two backends.
const char *printed = R"(config {
    var.CWD                     = "/etc/lighttpd"
    var.PID                     = 4242
    server.modules              = ("mod_proxy", "mod_openssl")
    server.errorlog             = "/var/log/lighttpd/error.log"
    server.pid-file             = "/run/lighttpd.pid"
    server.port                 = 8080
    proxy.server                = (
        "" => (
            (
                "host" => "10.0.0.5",
                "port" => 11434,
            ),
            (
                "host" => "10.0.0.6",
                "port" => 11434,
            ),
        ),
    )


    $SERVER["socket"] == ":443" {
        # block 1
        ssl.engine  = "enable"
        ssl.pemfile = "/nonexistent/fullchain.pem"
        ssl.privkey = "/nonexistent/privkey.pem"

    } # end of $SERVER["socket"] == ":443"
}
)";

rewrite_options options() {
  rewrite_options o;
  o.ports = {41001, 41002};
  o.mock_port = 42000;
  o.prefix = "/tmp/sc-lighttpd";
  o.certificate = "/tmp/sc-lighttpd/throwaway.pem";
  return o;
}

std::string normalized() {
  auto n = from_printed(printed);
  EXPECT_TRUE(n) << (n ? "" : n.message());
  return n ? *n : "";
}

TEST(LighttpdConfig, PrintedConfigReadableAgain) {
  const std::string n = normalized();
  EXPECT_EQ(n.find("config {"), std::string::npos);
  EXPECT_EQ(n.find("var.PID"), std::string::npos); // lighttpd sets it itself
  EXPECT_EQ(n.rfind("server.modules", 0), 0u) << n;
  EXPECT_FALSE(from_printed("2026-12-01: (configfile.c.2164) parser failed\n"));
}

TEST(LighttpdConfig, ListenersPlainThenEachSocket) {
  const auto l = find_listeners(normalized());
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].socket, "server.port 8080");
  EXPECT_FALSE(l[0].tls);
  EXPECT_EQ(l[1].socket, "$SERVER[\"socket\"] == \":443\"");
  EXPECT_TRUE(l[1].tls);
}

TEST(LighttpdConfig, RewriteMovesListenersUpstreamsPidAndLogs) {
  auto r = rewrite(normalized(), options());
  ASSERT_TRUE(r) << r.message();
  const std::string &t = r->text;
  EXPECT_EQ(t.rfind("server.bind = \"127.0.0.1\"\nserver.port = 41001\n", 0), 0u) << t;
  EXPECT_NE(t.find("# streamcheck: server.port"), std::string::npos);
  EXPECT_NE(t.find("$SERVER[\"socket\"] == \"127.0.0.1:41002\" {"), std::string::npos) << t;
  EXPECT_EQ(r->upstreams, 2);
  EXPECT_EQ(t.find("10.0.0."), std::string::npos);
  EXPECT_NE(t.find("\"port\" => 42000"), std::string::npos);
  EXPECT_NE(t.find("server.pid-file = \"/tmp/sc-lighttpd/lighttpd.pid\""), std::string::npos);
  EXPECT_NE(t.find("# streamcheck: server.errorlog"), std::string::npos); // to stderr
  EXPECT_EQ(r->listeners[1].url(), "https://127.0.0.1:41002");
}

TEST(LighttpdConfig, MissingCertificateReplacedAndSaid) {
  auto r = rewrite(normalized(), options());
  ASSERT_TRUE(r) << r.message();
  EXPECT_TRUE(r->throwaway_certificate);
  EXPECT_NE(r->text.find("ssl.pemfile = \"/tmp/sc-lighttpd/throwaway.pem\""), std::string::npos);
  EXPECT_NE(r->text.find("# streamcheck: ssl.privkey"), std::string::npos);
  ASSERT_FALSE(r->notes.empty());
  EXPECT_NE(r->notes.front().find("/nonexistent/fullchain.pem"), std::string::npos);
}

TEST(LighttpdConfig, NothingProxiedIsAnError) {
  auto r = rewrite("server.port = 8080\nserver.document-root = \"/var/www\"\n", options());
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("no proxy.server"), std::string::npos);
}

TEST(LighttpdConfig, VersionFromDashV) {
  EXPECT_EQ(parse_version("lighttpd/1.4.69 (ssl) - a light and fast webserver\n"), "1.4.69");
  EXPECT_EQ(parse_version("usage: lighttpd\n"), "");
}

} // namespace
} // namespace streamcheck::harness::lighttpd
