#include "common/endpoint.h"

#include <gtest/gtest.h>

namespace streamcheck {
namespace {

tcp::endpoint ok(const std::string &text, bool allow_any = false) {
  auto r = parse_listen_address(text, allow_any);
  if (auto *e = std::get_if<endpoint_error>(&r)) {
    ADD_FAILURE() << text << ": " << e->message;
    return {};
  }
  return std::get<tcp::endpoint>(r);
}

std::string fails(const std::string &text, bool allow_any = false) {
  auto r = parse_listen_address(text, allow_any);
  if (auto *e = std::get_if<endpoint_error>(&r)) return e->message;
  ADD_FAILURE() << text << " was accepted as " << std::get<tcp::endpoint>(r);
  return {};
}

TEST(ParseListenAddress, Ipv4Loopback) {
  const auto ep = ok("127.0.0.1:8080");
  EXPECT_EQ(ep.address().to_string(), "127.0.0.1");
  EXPECT_TRUE(ep.address().is_v4());
  EXPECT_EQ(ep.port(), 8080);
}

TEST(ParseListenAddress, PortZeroMeansEphemeral) {
  const auto ep = ok("127.0.0.1:0");
  EXPECT_EQ(ep.port(), 0);
}

TEST(ParseListenAddress, WholeLoopbackNetIsLoopback) {
  EXPECT_EQ(ok("127.0.0.2:1").address().to_string(), "127.0.0.2");
}

TEST(ParseListenAddress, BracketedIpv6) {
  const auto ep = ok("[::1]:0");
  EXPECT_TRUE(ep.address().is_v6());
  EXPECT_EQ(ep.address().to_string(), "::1");
  EXPECT_EQ(ep.port(), 0);
  EXPECT_EQ(ok("[::1]:65535").port(), 65535);
}

TEST(ParseListenAddress, LocalhostIsIpv4Loopback) {
  const auto ep = ok("localhost:11434");
  EXPECT_EQ(ep.address().to_string(), "127.0.0.1");
  EXPECT_EQ(ep.port(), 11434);
}

TEST(ParseListenAddress, BadPorts) {
  EXPECT_EQ(fails("127.0.0.1:65536"), "bad port '65536' in '127.0.0.1:65536'");
  EXPECT_EQ(fails("127.0.0.1:"), "bad port '' in '127.0.0.1:'");
  EXPECT_EQ(fails("127.0.0.1:80x"), "bad port '80x' in '127.0.0.1:80x'");
  EXPECT_EQ(fails("127.0.0.1:-1"), "bad port '-1' in '127.0.0.1:-1'");
  EXPECT_EQ(fails("[::1]:http"), "bad port 'http' in '[::1]:http'");
}

TEST(ParseListenAddress, MissingPort) {
  EXPECT_EQ(fails("127.0.0.1"), "bad address '127.0.0.1': expected HOST:PORT");
  EXPECT_EQ(fails("[::1]"), "bad address '[::1]': expected [IPv6]:PORT");
  EXPECT_EQ(fails("[::1]8080"), "bad address '[::1]8080': expected [IPv6]:PORT");
  EXPECT_EQ(fails("[::1"), "bad address '[::1': expected [IPv6]:PORT");
}

TEST(ParseListenAddress, HostNamesOtherThanLocalhostAreNotResolved) {
  EXPECT_EQ(fails("example.com:80"),
            "bad host 'example.com' in 'example.com:80': not an IP address");
  EXPECT_EQ(fails(":80"), "bad host '' in ':80': not an IP address");
}

TEST(ParseListenAddress, NonLoopbackRefusedByDefault) {
  EXPECT_EQ(fails("0.0.0.0:11434"), "refusing to listen on non-loopback address '0.0.0.0'");
  EXPECT_EQ(fails("192.168.1.5:80"), "refusing to listen on non-loopback address '192.168.1.5'");
  EXPECT_EQ(fails("[::]:0"), "refusing to listen on non-loopback address '::'");
}

TEST(ParseListenAddress, NonLoopbackAcceptedWithAllowAny) {
  const auto any4 = ok("0.0.0.0:11434", true);
  EXPECT_EQ(any4.address().to_string(), "0.0.0.0");
  EXPECT_EQ(any4.port(), 11434);
  EXPECT_EQ(ok("[::]:0", true).address().to_string(), "::");
  EXPECT_EQ(ok("192.168.1.5:80", true).address().to_string(), "192.168.1.5");
}

TEST(ParseListenAddress, AllowAnyStillValidates) {
  EXPECT_EQ(fails("0.0.0.0:99999", true), "bad port '99999' in '0.0.0.0:99999'");
}

TEST(ToUrlAuthority, BracketsIpv6) {
  EXPECT_EQ(to_url_authority(ok("127.0.0.1:8080")), "127.0.0.1:8080");
  EXPECT_EQ(to_url_authority(ok("[::1]:8080")), "[::1]:8080");
}

} // namespace
} // namespace streamcheck
