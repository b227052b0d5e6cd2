// Which proxy answered, from what its responses show: Server/Via, its own error pages, HAProxy's
// lower-cased header names. The mock writes Go's canonical names and no Server header.
#include <gtest/gtest.h>

#include "harness/proxy_kind.h"

namespace streamcheck::harness {
namespace {

probe_result response(std::vector<std::string> header_lines, long status = 200,
                      std::string body = "") {
  probe_result r;
  r.status = status;
  r.http_version = "1.1";
  r.header_lines = std::move(header_lines);
  r.body = std::move(body);
  return r;
}

// What the mock's /api/chat stream looks like through a proxy that keeps names as they are.
probe_result canonical() {
  return response({"HTTP/1.1 200 OK", "Content-Type: application/x-ndjson",
                   "Date: Tue, 01 Dec 2026 18:00:00 GMT", "Transfer-Encoding: chunked"});
}

probe_result lowercased() {
  return response({"HTTP/1.1 200 OK", "content-type: application/x-ndjson",
                   "date: Tue, 01 Dec 2026 18:00:00 GMT", "transfer-encoding: chunked"});
}

TEST(ProxyKind, ServerHeaderNamesTheKind) {
  probe_result r = canonical();
  r.header_lines.push_back("Server: nginx/1.22.1");
  const proxy_kind k = detect_proxy_kind({r});
  EXPECT_EQ(k.kind, "nginx");
  EXPECT_EQ(k.source, "Server: nginx/1.22.1");
  for (const auto &[server, kind] : std::vector<std::pair<std::string, std::string>>{
           {"openresty/1.21.4.1", "nginx"},
           {"Apache/2.4.62 (Debian)", "apache"},
           {"Caddy", "caddy"},
           {"lighttpd/1.4.69", "lighttpd"},
           {"envoy", "envoy"},
           {"streamcheck-proxy/0.1.0", "streamcheck-proxy"}})
    EXPECT_EQ(kind_named_in(server), kind) << server;
  EXPECT_EQ(kind_named_in("gunicorn"), "");
}

TEST(ProxyKind, ViaNamesTheKindWhenThereIsNoServerHeader) {
  probe_result r = canonical();
  r.header_lines.push_back("Via: 1.1 edge (Apache/2.4.62)");
  EXPECT_EQ(detect_proxy_kind({r}).kind, "apache");
}

TEST(ProxyKind, HaproxyByItsErrorPage) {
  const probe_result page = response(
      {"HTTP/1.1 503 Service Unavailable", "content-length: 107", "cache-control: no-cache",
       "content-type: text/html"},
      503,
      "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this "
      "request.\n</body></html>\n");
  const proxy_kind k = detect_proxy_kind({canonical(), page});
  EXPECT_EQ(k.kind, "haproxy");
  EXPECT_NE(k.source.find("HTTP 503 error page"), std::string::npos) << k.source;
}

TEST(ProxyKind, HaproxyByLowerCaseNamesOverHttp1) {
  const proxy_kind k = detect_proxy_kind({lowercased(), lowercased()});
  EXPECT_EQ(k.kind, "haproxy");
  EXPECT_NE(k.source.find("lower case"), std::string::npos) << k.source;
}

TEST(ProxyKind, MixedCaseOrHttp2IsNotHaproxy) {
  // One response with canonical names: something else re-wrote the lower-cased one.
  EXPECT_EQ(detect_proxy_kind({lowercased(), canonical()}).kind, "generic");
  // HTTP/2 lower-cases every name on the wire, whatever the proxy.
  probe_result h2 = lowercased();
  h2.http_version = "2";
  EXPECT_EQ(detect_proxy_kind({h2}).kind, "generic");
  // A Server header that names nothing known is still a server we do not know.
  probe_result gunicorn = lowercased();
  gunicorn.header_lines.push_back("server: gunicorn");
  EXPECT_EQ(detect_proxy_kind({gunicorn}).kind, "generic");
}

TEST(ProxyKind, OnlyTheProxysResponsesCount) {
  // The direct run's responses are the mock's own (canonical names): they must not hide HAProxy.
  probe_result proxied = lowercased(), direct = canonical();
  proxied.url = "http://127.0.0.1:8080/api/chat";
  direct.url = "http://127.0.0.1:9000/api/chat";
  EXPECT_EQ(detect_proxy_kind({proxied, direct}, "http://127.0.0.1:8080").kind, "haproxy");
  EXPECT_EQ(detect_proxy_kind({proxied, direct}).kind, "generic");
}

TEST(ProxyKind, UnrecognisedSaysHowToOverride) {
  const proxy_kind k = detect_proxy_kind({canonical()});
  EXPECT_EQ(k.kind, "generic");
  EXPECT_NE(k.source.find("--proxy-kind"), std::string::npos);
  EXPECT_EQ(detect_proxy_kind({}).kind, "generic");
}

TEST(ProxyKind, NginxErrorPageWithoutServerHeader) {
  const probe_result page =
      response({"HTTP/1.1 502 Bad Gateway", "Content-Type: text/html", "Content-Length: 157"}, 502,
               "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 "
               "Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
  EXPECT_EQ(detect_proxy_kind({page}).kind, "nginx");
}

// lighttpd 1.4.69's own 503 (upstream down), as it sends it, with its Server header removed
// (server.tag = ""): the XML prolog of its XHTML page gives it away; an XHTML page without it does
// not.
TEST(ProxyKind, LighttpdErrorPageWithoutServerHeader) {
  const std::string page_body =
      "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML "
      "1.0 Transitional//EN\"\n         \"http://www.w3.org/TR/xhtml1/DTD/"
      "xhtml1-transitional.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" "
      "lang=\"en\">\n <head>\n  <title>503 Service Unavailable</title>\n </head>\n <body>\n  "
      "<h1>503 Service Unavailable</h1>\n </body>\n</html>\n";
  const probe_result page = response(
      {"HTTP/1.1 503 Service Unavailable", "Content-Type: text/html", "Content-Length: 361"}, 503,
      page_body);
  const proxy_kind k = detect_proxy_kind({canonical(), page});
  EXPECT_EQ(k.kind, "lighttpd");
  EXPECT_NE(k.source.find("HTTP 503 error page"), std::string::npos) << k.source;
  const probe_result other =
      response({"HTTP/1.1 503 Service Unavailable", "Content-Type: text/html"}, 503,
               "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 "
               "Transitional//EN\"><html><body>down</body></html>");
  EXPECT_EQ(detect_proxy_kind({other}).kind, "generic");
}

// Apache 2.4.71's own 503 (ProxyPass backend refused the connection), Server header removed.
TEST(ProxyKind, ApacheUnavailablePageWithoutServerHeader) {
  const probe_result page = response(
      {"HTTP/1.1 503 Service Unavailable", "Content-Type: text/html; charset=iso-8859-1"}, 503,
      "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
      "\"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head>\n<title>503 Service "
      "Unavailable</title>\n</head><body>\n<h1>Service Unavailable</h1>\n<p>The server is "
      "temporarily unable to service your\nrequest due to maintenance downtime or capacity\n"
      "problems. Please try again later.</p>\n</body></html>\n");
  EXPECT_EQ(detect_proxy_kind({page}).kind, "apache");
}

} // namespace
} // namespace streamcheck::harness
