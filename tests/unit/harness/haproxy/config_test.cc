// streamcheck haproxy's rewrite: binds to loopback ports, servers to the mock, root-only
// settings out, line numbers kept so haproxy -c's messages map back. No processes.
#include <gtest/gtest.h>

#include "harness/haproxy/config.h"

namespace streamcheck::harness::haproxy {
namespace {

const char *two_frontends = R"(global
	chroot /var/lib/haproxy
	stats socket /run/haproxy/admin.sock mode 660 level admin
	user haproxy
	daemon
	pidfile /run/haproxy.pid
	log /dev/log local0 notice
defaults
	mode http
	default-server check inter 2s ssl verify none

frontend plain
	bind *:8080
	bind /run/haproxy/local.sock
	default_backend ollama

frontend secure
	bind :::8443 v4v6 ssl crt /nonexistent/site.pem alpn h2,http/1.1
	default_backend ollama

backend ollama
	server ollama 10.0.0.5:11434 check ssl verify required ca-file /etc/ssl/ca.pem maxconn 64
	server-template gpu 3 gpu.internal:11434 check
)";

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  std::string line;
  for (char c : text) {
    if (c == '\n') {
      out.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  return out;
}

rewritten must_rewrite(const std::string &text, rewrite_options o) {
  auto r = rewrite(text, o);
  EXPECT_TRUE(r) << (r ? "" : r.message());
  return r ? *r : rewritten{};
}

rewrite_options options() {
  rewrite_options o;
  o.ports = {41001, 41002};
  o.mock_port = 42000;
  o.prefix = "/tmp/sc-haproxy";
  o.certificate = "/tmp/sc-haproxy/throwaway.pem";
  return o;
}

TEST(HaproxyConfig, WordsFollowHaproxyQuoting) {
  EXPECT_EQ(split_words("  bind \"${SC_LISTEN}\" # comment"),
            (std::vector<std::string>{"bind", "${SC_LISTEN}"}));
  EXPECT_EQ(split_words("http-request set-header X-A 'a b' # c"),
            (std::vector<std::string>{"http-request", "set-header", "X-A", "a b"}));
  EXPECT_EQ(split_words(R"(acl x path_reg ^/a\ b "q\"q")"),
            (std::vector<std::string>{"acl", "x", "path_reg", "^/a b", "q\"q"}));
  EXPECT_EQ(split_words("   # only a comment"), std::vector<std::string>{});
}

TEST(HaproxyConfig, BindsInFileOrderWithTls) {
  const auto binds = find_binds(two_frontends);
  ASSERT_EQ(binds.size(), 2u); // the unix socket cannot be reached: not a listener
  EXPECT_EQ(binds[0].section, "frontend plain");
  EXPECT_EQ(binds[0].line, 13);
  EXPECT_FALSE(binds[0].tls);
  EXPECT_EQ(binds[1].section, "frontend secure");
  EXPECT_TRUE(binds[1].tls);
  EXPECT_EQ(binds[1].address, ":::8443");
}

// Which Host reaches the backend with the servers: named acls, anonymous ones, -i and -m,
// negations and the default backend.
std::string routed(const std::string &frontend_rules) {
  const std::string text = "frontend web\n\tbind *:8080\n" + frontend_rules +
                           "backend www\n\tserver w 10.0.0.2:80\n"
                           "backend ai\n\tserver o 127.0.0.1:11434\n"
                           "backend empty\n\thttp-request return status 404\n";
  const auto binds = find_binds(text);
  return binds.empty() ? "?" : binds[0].routed_host;
}

TEST(HaproxyConfig, HostRoutedBackendGetsItsName) {
  EXPECT_EQ(routed("\tacl ai hdr(host) -i ai.example.com\n\tuse_backend ai if ai\n"
                   "\tdefault_backend www\n"),
            "ai.example.com");
  EXPECT_EQ(routed("\tuse_backend ai if { req.hdr(host) -m str ai.example.com }\n"
                   "\tdefault_backend empty\n"),
            "ai.example.com");
  EXPECT_EQ(routed("\tacl web hdr_dom(host) www.example.com\n\tuse_backend www if web\n"
                   "\tacl ai hdr_dom(host) -i ai.example.com\n\tuse_backend ai if ai\n"),
            "ai.example.com"); // the Ollama-looking backend, not the first route
  // Not routed by a full name, negated, to a backend without servers, or to the default one.
  EXPECT_EQ(routed("\tacl ai path_beg /api\n\tuse_backend ai if ai\n"), "");
  EXPECT_EQ(routed("\tacl ai hdr(host) -i ai.example.com\n\tuse_backend ai if !ai\n"), "");
  EXPECT_EQ(routed("\tuse_backend empty if { hdr(host) -i x.example.com }\n"), "");
  EXPECT_EQ(routed("\tuse_backend ai if { hdr(host) -i ai.example.com }\n\tdefault_backend ai\n"),
            "");
  const auto binds = find_binds("frontend web\n\tbind *:8080\n\tacl ai hdr(host) -i a.test\n"
                                "\tuse_backend ai if ai\nbackend ai\n\tserver o 127.0.0.1:1\n");
  ASSERT_EQ(binds.size(), 1u);
  EXPECT_EQ(binds[0].routed_note, "frontend web routes Host a.test to backend ai (line 4): the "
                                  "suite sends Host: a.test (--host NAME overrides)");
}

TEST(HaproxyConfig, RewriteKeepsEveryLineNumber) {
  const auto r = must_rewrite(two_frontends, options());
  EXPECT_EQ(lines(r.text).size(), lines(two_frontends).size());
  const auto out = lines(r.text);
  EXPECT_EQ(out[12], "\tbind 127.0.0.1:41001");
  EXPECT_EQ(out[13], "# streamcheck: \tbind /run/haproxy/local.sock");
  EXPECT_EQ(r.listeners[0].url(), "http://127.0.0.1:41001");
  EXPECT_EQ(r.listeners[1].url(), "https://127.0.0.1:41002");
}

TEST(HaproxyConfig, RootOnlyGlobalsOutPidAndLogsIntoThePrefix) {
  const auto out = lines(must_rewrite(two_frontends, options()).text);
  EXPECT_EQ(out[1].rfind("# streamcheck:", 0), 0u) << out[1]; // chroot
  EXPECT_EQ(out[2].rfind("# streamcheck:", 0), 0u) << out[2]; // stats socket
  EXPECT_EQ(out[3].rfind("# streamcheck:", 0), 0u) << out[3]; // user
  EXPECT_EQ(out[4].rfind("# streamcheck:", 0), 0u) << out[4]; // daemon
  EXPECT_EQ(out[5], "\tpidfile /tmp/sc-haproxy/haproxy.pid");
  EXPECT_EQ(out[6], "\tlog stderr local0 notice"); // not the machine's syslog
}

TEST(HaproxyConfig, ServersPointAtTheMockWithoutUpstreamTlsOrChecks) {
  const auto out = lines(must_rewrite(two_frontends, options()).text);
  EXPECT_EQ(out[21], "\tserver ollama 127.0.0.1:42000 maxconn 64");
  EXPECT_EQ(out[22], "\tserver-template gpu 3 127.0.0.1:42000");
  EXPECT_EQ(out[9], "\tdefault-server inter 2s");
}

TEST(HaproxyConfig, MissingCertificateReplacedAndSaid) {
  const auto r = must_rewrite(two_frontends, options());
  EXPECT_EQ(lines(r.text)[17],
            "\tbind 127.0.0.1:41002 v4v6 ssl crt /tmp/sc-haproxy/throwaway.pem alpn h2,http/1.1");
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("/nonexistent/site.pem"), std::string::npos);
}

TEST(HaproxyConfig, EnvironmentPlaceholdersStayDoubleQuoted) {
  const auto r = must_rewrite("frontend f\n\tbind :80\n\thttp-request set-header X \"${A}\"\n"
                              "backend b\n\tserver s \"${UPSTREAM}\" weight 2\n",
                              options());
  EXPECT_EQ(lines(r.text)[2], "\thttp-request set-header X \"${A}\""); // untouched line
  EXPECT_EQ(lines(r.text)[4], "\tserver s 127.0.0.1:42000 weight 2");
}

TEST(HaproxyConfig, NothingToTestIsAnError) {
  auto no_bind = rewrite("backend b\n\tserver s 127.0.0.1:11434\n", options());
  ASSERT_FALSE(no_bind);
  EXPECT_NE(no_bind.message().find("no frontend or listen"), std::string::npos);
  auto no_server = rewrite("frontend f\n\tbind :80\n\thttp-request return status 200\n", options());
  ASSERT_FALSE(no_server);
  EXPECT_NE(no_server.message().find("no server line"), std::string::npos);
}

TEST(HaproxyConfig, MessagesMapBackToTheUsersFile) {
  EXPECT_EQ(map_back("[ALERT]    (1) : config : parsing [/tmp/x/haproxy.cfg:31] : unknown keyword "
                     "'serverr' in 'backend' section",
                     "/tmp/x/haproxy.cfg", "deploy/haproxy.cfg"),
            "[ALERT]    (1) : config : parsing [deploy/haproxy.cfg:31] : unknown keyword "
            "'serverr' in 'backend' section");
}

} // namespace
} // namespace streamcheck::harness::haproxy
