// The rewrite to loopback: the listen of the server under test, every upstream address to the
// mock, logs/pid/temp paths into the prefix, and the directives under test left alone. The
// flattened output of a fixture is compared with a golden file.
#include <cstdlib>
#include <filesystem>
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
  o.dead_port = 9;
  o.ports = {20001, 20002, 20003, 20004, 20005, 20006};
  o.nginx_prefix = "/usr/share/nginx";
  o.throwaway_cert = "/PREFIX/throwaway.crt";
  o.throwaway_key = "/PREFIX/throwaway.key";
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
  // https upstream tested over http; [::]:80 is the same port as listen 80, tested once.
  EXPECT_EQ(r.notes.size(), 2u);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_EQ(r.listeners[0].label, "listen 80 default_server (u.conf:7)");
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
  // Neither file exists here: the throwaway pair, with a note naming file:line.
  EXPECT_TRUE(has(out, "ssl_certificate /PREFIX/throwaway.crt;")) << out;
  EXPECT_TRUE(has(out, "ssl_certificate_key /PREFIX/throwaway.key;")) << out;
  EXPECT_TRUE(r.throwaway_certificate);

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

TEST(NginxRewrite, PortsNeededCountsEveryListen) {
  auto top = parse_text("http { server { listen 80; listen [::]:80; listen 443 ssl; } server {} }",
                        "u.conf");
  ASSERT_TRUE(top);
  EXPECT_EQ(ports_needed(*top), 4);
}

// LibreChat's client/nginx.conf: a literal host with a variable URI.
TEST(NginxRewrite, LiteralHostWithVariableUri) {
  const std::string out = flat("http {\n  upstream api2 { server api:3080; }\n  server {\n"
                               "    location /api/ { proxy_pass http://api:3080$request_uri; }\n"
                               "    location /b/ { proxy_pass http://api2$request_uri; }\n"
                               "    location /c/ { proxy_pass http://10.0.0.9:8000/v1$uri; }\n"
                               "  }\n}\n");
  EXPECT_TRUE(has(out, "proxy_pass http://127.0.0.1:11111$request_uri;")) << out;
  EXPECT_TRUE(has(out, "proxy_pass http://api2$request_uri;")) << out; // the upstream block
  EXPECT_TRUE(has(out, "proxy_pass http://127.0.0.1:11111/v1$uri;")) << out;
}

// linuxserver SWAG's proxy-confs: host, port and scheme each from a set variable.
TEST(NginxRewrite, SwagSetVariablesPointAtTheMock) {
  rewritten r;
  const std::string out =
      flat("http {\n  server {\n    location / {\n"
           "      set $upstream_app open-webui;\n      set $upstream_port 8080;\n"
           "      set $upstream_proto https;\n"
           "      proxy_pass $upstream_proto://$upstream_app:$upstream_port;\n    }\n"
           "    location /ollama {\n      set $upstream_app ollama;\n"
           "      proxy_pass http://$upstream_app:11434;\n    }\n  }\n}\n",
           options(), &r);
  EXPECT_FALSE(has(out, "11111:")) << out; // never 127.0.0.1:PORT:8080
  EXPECT_TRUE(has(out, "set $upstream_app 127.0.0.1;\n")) << out;
  EXPECT_TRUE(has(out, "set $upstream_port 11111;")) << out;
  EXPECT_TRUE(has(out, "set $upstream_proto http;")) << out;
  // The URL keeps its variables: nginx's runtime semantics (no URI replacement) are kept.
  EXPECT_TRUE(has(out, "proxy_pass $upstream_proto://$upstream_app:$upstream_port;")) << out;
  EXPECT_TRUE(has(out, "proxy_pass http://$upstream_app:11111;")) << out;
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_TRUE(has(r.notes[0], "u.conf:7: ")) << r.notes[0]; // https tested as http
}

TEST(NginxRewrite, VariableUsedAsHostAndHostPortIsAnError) {
  const std::string e = rewrite_error("http {\n  server {\n    set $be backend;\n"
                                      "    location /a { proxy_pass http://$be:8080; }\n"
                                      "    location /b { proxy_pass http://$be; }\n  }\n}\n");
  EXPECT_EQ(e.rfind("u.conf:5: ", 0), 0u) << e;
}

TEST(NginxRewrite, OtherPassesAndForeignServersPointAtAClosedPort) {
  rewritten r;
  const std::string out = flat("http {\n  upstream php_pool { server php:9000; }\n"
                               "  server {\n    listen 80;\n"
                               "    location / { proxy_pass http://ollama:11434; }\n"
                               "    location /grpc { grpc_pass grpcs://triton:8001; }\n"
                               "    location ~ \\.php$ { fastcgi_pass php:9000; }\n"
                               "    location /pool { fastcgi_pass php_pool; }\n"
                               "    location /py { uwsgi_pass uwsgi://app:3031; }\n"
                               "    location /scgi { scgi_pass unix:/run/scgi.sock; }\n  }\n"
                               "  server {\n    listen 8081;\n    server_name other.test;\n"
                               "    location / { proxy_pass http://$http_x_target; }\n  }\n}\n"
                               "stream { server { listen 9999; proxy_pass redis:6379; } }\n",
                               options(), &r);
  EXPECT_TRUE(has(out, "grpc_pass grpc://127.0.0.1:9;")) << out;
  EXPECT_TRUE(has(out, "fastcgi_pass 127.0.0.1:9;")) << out;
  EXPECT_TRUE(has(out, "fastcgi_pass php_pool;")) << out;
  EXPECT_TRUE(has(out, "uwsgi_pass uwsgi://127.0.0.1:9;")) << out;
  EXPECT_TRUE(has(out, "scgi_pass 127.0.0.1:9;")) << out;
  EXPECT_TRUE(has(out, "proxy_pass http://127.0.0.1:9;")) << out;     // the other server
  EXPECT_TRUE(has(out, "proxy_pass 127.0.0.1:9;")) << out;            // stream
  EXPECT_TRUE(has(out, "proxy_pass http://127.0.0.1:11111;")) << out; // under test
  bool named = false;
  for (const auto &n : r.notes)
    named = named || has(n, "grpc_pass at u.conf:6, fastcgi_pass at u.conf:7");
  EXPECT_TRUE(named);
}

TEST(NginxRewrite, LoadModuleResolvesAgainstNginxsOwnPrefix) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("sc-modules-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "ngx_stream_module.so") << "x";
  auto o = options();
  o.modules_path = dir.string();
  const std::string out = flat("load_module modules/ngx_http_echo_module.so;\n"
                               "load_module modules/ngx_stream_module.so;\n"
                               "load_module /opt/ngx_x.so;\nhttp { server { } }\n",
                               o);
  EXPECT_TRUE(has(out, "load_module /usr/share/nginx/modules/ngx_http_echo_module.so;")) << out;
  EXPECT_TRUE(has(out, "load_module " + (dir / "ngx_stream_module.so").string() + ";")) << out;
  EXPECT_TRUE(has(out, "load_module /opt/ngx_x.so;")) << out;
  std::filesystem::remove_all(dir);
}

TEST(NginxRewrite, CachePathsMoveIntoThePrefixWithTheirParent) {
  rewritten r;
  const std::string out =
      flat("http {\n  proxy_cache_path /var/cache/nginx/llm levels=1:2 keys_zone=llm:10m;\n"
           "  fastcgi_cache_path /var/cache/fcgi keys_zone=f:1m;\n  server { }\n}\n",
           options(), &r);
  EXPECT_TRUE(has(out, "proxy_cache_path /PREFIX/cache/1 levels=1:2 keys_zone=llm:10m;")) << out;
  EXPECT_TRUE(has(out, "fastcgi_cache_path /PREFIX/cache/2 keys_zone=f:1m;")) << out;
  ASSERT_FALSE(r.dirs.empty());
  EXPECT_EQ(r.dirs[0], "/PREFIX/cache");
}

TEST(NginxRewrite, ProductionOnlyCertificatesBecomeTheThrowawayPair) {
  const std::string text =
      "http {\n  server {\n    listen 443 ssl http2;\n"
      "    ssl_certificate /etc/letsencrypt/live/llm.example.com/fullchain.pem;\n"
      "    ssl_certificate_key /etc/letsencrypt/live/llm.example.com/privkey.pem;\n"
      "    ssl_trusted_certificate /etc/letsencrypt/live/llm.example.com/chain.pem;\n"
      "    ssl_dhparam /etc/letsencrypt/ssl-dhparams.pem;\n"
      "    location / { proxy_pass http://127.0.0.1:11434; }\n  }\n}\n";
  rewritten r;
  const std::string out = flat(text, options(), &r);
  EXPECT_TRUE(r.throwaway_certificate);
  EXPECT_TRUE(r.tls);
  EXPECT_TRUE(has(out, "ssl_certificate /PREFIX/throwaway.crt;")) << out;
  EXPECT_TRUE(has(out, "ssl_certificate_key /PREFIX/throwaway.key;")) << out;
  EXPECT_TRUE(has(out, "ssl_trusted_certificate /PREFIX/throwaway.crt;")) << out;
  EXPECT_FALSE(has(out, "dhparam")) << out;
  bool said = false;
  for (const auto &n : r.notes)
    said = said || (has(n, "u.conf:4: ssl_certificate /etc/letsencrypt") && has(n, "throwaway"));
  EXPECT_TRUE(said);

  auto o = options();
  o.keep_certificates = true;
  const std::string e = rewrite_error(text, o);
  EXPECT_EQ(e.rfind("u.conf:4: ssl_certificate /etc/letsencrypt/live/llm.example.com/"
                    "fullchain.pem: missing here",
                    0),
            0u)
      << e;
  EXPECT_TRUE(has(e, "--keep-certificates")) << e;
}

TEST(NginxRewrite, ReadableCertificatesAreKept) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("sc-certs-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir / "certs");
  std::ofstream(dir / "certs/api.pem") << "x";
  std::ofstream(dir / "key.pem") << "x";
  auto o = options();
  o.conf_dir = dir.string();
  rewritten r;
  const std::string out = flat("http { server { listen 443 ssl; ssl_certificate certs/api.pem;\n"
                               "ssl_certificate_key " +
                                   (dir / "key.pem").string() + "; } }\n",
                               o, &r);
  EXPECT_TRUE(has(out, "ssl_certificate " + (dir / "certs/api.pem").string() + ";")) << out;
  EXPECT_TRUE(has(out, "ssl_certificate_key " + (dir / "key.pem").string() + ";")) << out;
  EXPECT_FALSE(r.throwaway_certificate);
  // --include-root: a container path found under the root is used, not replaced.
  o.include_root = dir.string();
  const std::string mapped =
      flat("http { server { listen 443 ssl; ssl_certificate /certs/api.pem;\n"
           "ssl_certificate_key /key.pem; } }\n",
           o, &r);
  EXPECT_TRUE(has(mapped, "ssl_certificate " + (dir / "certs/api.pem").string() + ";")) << mapped;
  EXPECT_FALSE(r.throwaway_certificate);
  std::filesystem::remove_all(dir);
}

// certbot's layout: listen 80 and 443 in one server, IPv6 twins, an HTTP/3 listener.
TEST(NginxRewrite, EveryReachableListenerIsTestedTlsFirst) {
  rewritten r;
  const std::string out = flat("http {\n  server {\n    listen 80;\n    listen [::]:80;\n"
                               "    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n"
                               "    listen 443 quic reuseport;\n"
                               "    listen unix:/run/nginx.sock;\n"
                               "    location / { proxy_pass http://127.0.0.1:11434; }\n"
                               "  }\n}\n",
                               options(), &r);
  ASSERT_EQ(r.listeners.size(), 2u);
  EXPECT_TRUE(r.listeners[0].tls);
  EXPECT_EQ(r.listeners[0].port, 20001);
  EXPECT_EQ(r.listeners[0].label, "listen 443 ssl http2 (u.conf:5)");
  EXPECT_EQ(r.listeners[0].url(), "https://127.0.0.1:20001");
  EXPECT_FALSE(r.listeners[1].tls);
  EXPECT_EQ(r.listeners[1].url(), "http://127.0.0.1:20002");
  EXPECT_EQ(r.port, 20001);
  EXPECT_TRUE(r.tls);
  EXPECT_TRUE(has(out, "listen 127.0.0.1:20002;\n        listen 127.0.0.1:20001 ssl http2;\n"))
      << out;
  EXPECT_FALSE(has(out, "quic")) << out;
  EXPECT_FALSE(has(out, "unix:")) << out;
  int dropped = 0; // each one said
  for (const auto &n : r.notes)
    dropped += has(n, "u.conf:4") || has(n, "u.conf:6") || has(n, "u.conf:7") || has(n, "u.conf:8");
  EXPECT_EQ(dropped, 4);
  EXPECT_EQ(rewrite_error("http { server { listen unix:/x.sock; } }"),
            "the server at u.conf:1 has no listener the suite can reach (only HTTP/3 or unix "
            "sockets)");
}

TEST(NginxRewrite, PlainListenerThatRedirectsToHttpsIsNotTested) {
  rewritten r;
  flat("http {\n  server {\n    listen 80;\n    listen 443 ssl;\n"
       "    if ($scheme != \"https\") { return 301 https://$host$request_uri; }\n"
       "    location / { proxy_pass http://127.0.0.1:11434; }\n  }\n}\n",
       options(), &r);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_TRUE(r.listeners[0].tls);
  bool said = false;
  for (const auto &n : r.notes)
    said = said || has(n, "listen 80 (u.conf:3): redirects to https (the if at u.conf:5)");
  EXPECT_TRUE(said);
  // Without a TLS listener to go to, the plain one is tested.
  flat("http { server { listen 80; if ($scheme = http) { return 301 https://x; }\n"
       "location / { proxy_pass http://127.0.0.1:1; } } }",
       options(), &r);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_FALSE(r.listeners[0].tls);
}

TEST(NginxRewrite, ObsoleteSslOnMakesEveryListenTls) {
  rewritten r;
  flat("http { server { listen 443; ssl on; location / { proxy_pass http://127.0.0.1:1; } } }",
       options(), &r);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_TRUE(r.listeners[0].tls);
  EXPECT_TRUE(r.tls);
}

} // namespace
} // namespace streamcheck::harness::nginx
