// The rewrite to loopback: the listen of the server under test, every upstream address to the
// mock, logs/pid/temp paths into the prefix, and the directives under test left alone. The
// flattened output of a fixture is compared with a golden file.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "harness/nginx/config.h"
#include "harness/nginx/rewrite.h"

namespace streamcheck::harness::nginx {
namespace {

rewrite_options options() {
  rewrite_options o;
  o.prefix = "/PREFIX";
  o.conf_dir = "/etc/nginx";
  o.mock_port = 11111;
  o.ports = {20001, 20002, 20003, 20004};
  return o;
}

std::string flat(const std::string &text, const rewrite_options &o = options(),
                 rewritten *out = nullptr) {
  auto top = parse_text(text, "u.conf");
  EXPECT_TRUE(top) << top.message();
  auto r = rewrite(top ? *top : std::vector<directive>{}, o);
  EXPECT_TRUE(r) << r.message();
  if (!r) return "";
  if (out) *out = *r;
  return emit(r->top, nullptr);
}

std::string rewrite_error(const std::string &text, const rewrite_options &o = options()) {
  auto top = parse_text(text, "u.conf");
  EXPECT_TRUE(top);
  auto r = rewrite(*top, o);
  EXPECT_FALSE(r);
  return r ? "" : r.message();
}

std::string slurp(const std::string &path) {
  std::ifstream f(path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

bool has(const std::string &text, const std::string &needle) {
  return text.find(needle) != std::string::npos;
}

TEST(NginxRewrite, GoldenRecommendedConfig) {
  auto c = load(STREAMCHECK_SOURCE_DIR "/fixtures/nginx/recommended.conf");
  ASSERT_TRUE(c) << c.message();
  auto o = options();
  o.as_root = true;
  auto r = rewrite(c->top, o);
  ASSERT_TRUE(r) << r.message();
  std::vector<source_loc> map;
  const std::string out = emit(r->top, &map);
  const std::string golden_path = STREAMCHECK_GOLDEN_DIR "/recommended.flat.conf";
  if (std::getenv("STREAMCHECK_UPDATE_GOLDEN")) std::ofstream(golden_path) << out;
  const std::string golden = slurp(golden_path);
  EXPECT_EQ(out, golden) << "new output:\n" << out;
  // Every emitted directive maps back to the fixture; added ones map nowhere.
  std::size_t mapped = 0;
  for (const auto &l : map)
    if (!l.file.empty()) ++mapped;
  EXPECT_GT(mapped, 40u);
  EXPECT_TRUE(map[0].file.empty()); // pid, added
}

TEST(NginxRewrite, ListenAndUpstreamAddresses) {
  rewritten r;
  const std::string out =
      flat("daemon on; user www-data; pid /run/nginx.pid; error_log /var/log/e.log warn;\n"
           "http {\n"
           "  access_log /var/log/nginx/a.log main buffer=32k;\n"
           "  proxy_temp_path /var/lib/nginx/proxy;\n"
           "  upstream Ollama { server ollama.internal:11434 max_fails=3 resolve; }\n"
           "  server {\n"
           "    listen 80 default_server; listen [::]:80 ipv6only=on;\n"
           "    location /a { proxy_pass http://ollama/api/; }\n"
           "    location /b { proxy_pass https://api.example.com; }\n"
           "    location /c { proxy_pass http://10.0.0.5:8000/v1; }\n"
           "  }\n"
           "}\n",
           options(), &r);
  EXPECT_EQ(r.port, 20001);
  EXPECT_FALSE(r.tls);
  EXPECT_TRUE(has(out, "listen 127.0.0.1:20001 default_server;")) << out;
  EXPECT_FALSE(has(out, "[::]")) << out;
  EXPECT_TRUE(has(out, "server 127.0.0.1:11111 max_fails=3;")) << out;
  EXPECT_TRUE(has(out, "proxy_pass http://ollama/api/;")) << out; // upstream names are kept
  EXPECT_TRUE(has(out, "proxy_pass http://127.0.0.1:11111;")) << out;
  EXPECT_TRUE(has(out, "proxy_pass http://127.0.0.1:11111/v1;")) << out;
  EXPECT_TRUE(has(out, "access_log /PREFIX/logs/access.log main buffer=32k;")) << out;
  EXPECT_TRUE(has(out, "proxy_temp_path /PREFIX/proxy_temp;")) << out;
  EXPECT_FALSE(has(out, "/var/")) << out;
  EXPECT_FALSE(has(out, "daemon")) << out;
  EXPECT_FALSE(has(out, "user")) << out; // not root: dropped
  EXPECT_TRUE(has(out, "pid /PREFIX/nginx.pid;\nerror_log /PREFIX/logs/error.log;\n")) << out;
  EXPECT_EQ(r.notes.size(), 1u); // https upstream tested over http
}

TEST(NginxRewrite, PicksTheServerByNameAndMovesTheOthers) {
  const std::string text = "http {\n"
                           "  server { listen 80; server_name redirect.test; return 301 x; }\n"
                           "  server { listen 443 ssl; server_name api.test;\n"
                           "           ssl_certificate certs/api.pem; ssl_certificate_key "
                           "/abs/key.pem;\n"
                           "           location / { proxy_pass http://127.0.0.1:11434; } }\n"
                           "}\n"
                           "stream { server { listen 5353 udp; proxy_pass 10.0.0.1:53; } }\n";
  rewritten r;
  std::string out = flat(text, options(), &r);
  EXPECT_EQ(r.server_loc.line, 3); // the first server with a proxy_pass
  EXPECT_TRUE(r.tls);
  EXPECT_TRUE(has(out, "listen 127.0.0.1:20002;")) << out;
  EXPECT_TRUE(has(out, "listen 127.0.0.1:20001 ssl;")) << out;
  EXPECT_TRUE(has(out, "listen 127.0.0.1:20003 udp;")) << out;
  EXPECT_TRUE(has(out, "ssl_certificate /etc/nginx/certs/api.pem;")) << out;
  EXPECT_TRUE(has(out, "ssl_certificate_key /abs/key.pem;")) << out;

  auto o = options();
  o.server_name = "REDIRECT.test";
  out = flat(text, o, &r);
  EXPECT_EQ(r.server_loc.line, 2);
  EXPECT_FALSE(r.tls);
  EXPECT_TRUE(has(out, "listen 127.0.0.1:20001;")) << out;

  o.server_name = "nope";
  EXPECT_EQ(rewrite_error(text, o),
            "--server nope: no server block has that server_name (names: redirect.test, api.test)");
  EXPECT_EQ(rewrite_error("events {}\n"), "no server { } block inside http { }: nothing to test");
}

TEST(NginxRewrite, ServerWithoutListenGetsOne) {
  const std::string out = flat("http { server { location / { proxy_pass http://x; } } }");
  EXPECT_TRUE(has(out, "listen 127.0.0.1:20001;")) << out;
}

TEST(NginxRewrite, RootRunsWorkersAsRoot) {
  auto o = options();
  o.as_root = true;
  EXPECT_TRUE(has(flat("user nginx;\nhttp { server { } }", o), "user root;\n"));
}

TEST(NginxRewrite, VariableUpstreamsThroughSetAndMap) {
  // Through upstream blocks: kept. Literal addresses in set/map: the mock.
  const std::string out = flat("http {\n"
                               "  upstream pool { server 10.0.0.1:1; }\n"
                               "  map $http_x $be { default pool; beta 10.0.0.2:8080; }\n"
                               "  server {\n"
                               "    location /m { proxy_pass http://$be; }\n"
                               "    location /s { set $t backend.internal:9000;\n"
                               "                  proxy_pass https://$t$request_uri; }\n"
                               "  }\n"
                               "}\n");
  EXPECT_TRUE(has(out, "default pool;")) << out;
  EXPECT_TRUE(has(out, "beta 127.0.0.1:11111;")) << out;
  EXPECT_TRUE(has(out, "set $t 127.0.0.1:11111;")) << out;
  EXPECT_TRUE(has(out, "proxy_pass http://$t$request_uri;")) << out;
}

TEST(NginxRewrite, UnresolvableVariableUpstreamIsReportedWithFileLine) {
  const std::string e = rewrite_error("http {\n  server {\n    location / {\n"
                                      "      proxy_pass http://$http_host;\n    }\n  }\n}\n");
  EXPECT_EQ(e.rfind("u.conf:4: \"proxy_pass http://$http_host\"", 0), 0u) << e;
  EXPECT_TRUE(has(e, "unsupported")) << e;
}

TEST(NginxRewrite, SiteSnippetIsWrappedInHttp) {
  auto top = parse_text("upstream u { server 10.1.1.1:80; }\nserver { listen 80; }\n", "s.conf");
  ASSERT_TRUE(top);
  ASSERT_TRUE(wrap_snippet(*top));
  EXPECT_EQ(emit(*top, nullptr),
            "events {\n}\nhttp {\n    upstream u {\n        server "
            "10.1.1.1:80;\n    }\n    server {\n        listen 80;\n    }\n}\n");
  EXPECT_FALSE(wrap_snippet(*top)); // already whole
  auto whole = parse_text("events {}\nhttp { server {} }\n", "w.conf");
  ASSERT_TRUE(whole);
  EXPECT_FALSE(wrap_snippet(*whole));
}

TEST(NginxRewrite, PortsNeededCountsEveryServer) {
  auto top = parse_text("http { server {} server {} } stream { server {} }", "u.conf");
  ASSERT_TRUE(top);
  EXPECT_EQ(ports_needed(*top), 3);
}

} // namespace
} // namespace streamcheck::harness::nginx
