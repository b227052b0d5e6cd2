// streamcheck apache's reading of a config as Apache reads it (includes relative to ServerRoot,
// continuations, <IfModule>), the rewrite to loopback (Listen and VirtualHost, every upstream,
// the run-time paths, relative LoadModule, certificates), the fragment wrap, and apache2 -t's
// "line N of COPY" mapped back to the user's file:line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness/apache/config.h"
#include "harness/apache/launcher.h"

namespace streamcheck::harness::apache {
namespace {

namespace fs = std::filesystem;

// A private directory for a test's config files, removed afterwards.
class ApacheConfig : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = "/tmp/sc-apache-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string write(const std::string &name, const std::string &text) const {
    const std::string path = dir + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
    return path;
  }

  flat_config loaded(const std::string &name) const {
    auto c = load(dir + "/" + name);
    EXPECT_TRUE(c) << (c ? "" : c.message());
    return c ? *c : flat_config{};
  }

  static rewrite_options options(std::vector<unsigned short> ports = {41001, 41002}) {
    rewrite_options o;
    o.ports = std::move(ports);
    o.mock_port = 42000;
    o.prefix = "/tmp/sc-apache";
    o.certificate = "/tmp/sc-apache/throwaway.crt";
    o.key = "/tmp/sc-apache/throwaway.key";
    return o;
  }

  std::string rewritten_text(const std::string &name) const {
    auto r = rewrite(loaded(name), options());
    EXPECT_TRUE(r) << (r ? "" : r.message());
    return r ? r->text : "";
  }

  std::string dir;
};

// apache2 -t's line numbers map back only if every line of the copy has its origin.
void expect_one_origin_per_line(const rewritten &r) {
  EXPECT_EQ(r.origins.size(),
            static_cast<std::size_t>(std::count(r.text.begin(), r.text.end(), '\n')));
}

const char *site = "<VirtualHost *:8080>\n"
                   "\tServerName ollama.example.com\n"
                   "\tProxyPass / http://10.0.0.5:11434/\n"
                   "\tProxyPassReverse / http://10.0.0.5:11434/\n"
                   "</VirtualHost>\n";

TEST(ApacheWords, QuotingAsApacheReadsIt) {
  EXPECT_EQ(split_words("ProxyPass \"/api/\"  'http://h:1/a b'"),
            (std::vector<std::string>{"ProxyPass", "/api/", "http://h:1/a b"}));
  EXPECT_EQ(split_words("Header set X \"a \\\"b\\\"\""),
            (std::vector<std::string>{"Header", "set", "X", "a \"b\""}));
}

TEST(ApacheVersion, FromTheBanner) {
  EXPECT_EQ(parse_version("Server version: Apache/2.4.62 (Debian)\nServer built: 2024\n"),
            "2.4.62");
  EXPECT_EQ(parse_version("apache2: command not found"), "");
}

TEST_F(ApacheConfig, IncludesInlinedRelativeToServerRootWithTheirOrigins) {
  write("mods-enabled/proxy.load", "LoadModule proxy_module modules/mod_proxy.so\n");
  write("mods-enabled/proxy_http.load", "LoadModule proxy_http_module modules/mod_proxy_http.so\n");
  write("ports.conf", "Listen 8080\n");
  write("sites-enabled/ollama.conf", site);
  write("apache2.conf", "# Debian's layout\n"
                        "IncludeOptional mods-enabled/*.load\n"
                        "Include ports.conf\n"
                        "IncludeOptional conf-enabled/*.conf\n"
                        "LogFormat \"%h %l\" \\\n  combined\n"
                        "IncludeOptional sites-enabled/*.conf\n");
  const flat_config c = loaded("apache2.conf");
  EXPECT_EQ(c.server_root, dir);
  ASSERT_GE(c.lines.size(), 12u);
  EXPECT_EQ(c.lines[2], "LoadModule proxy_module modules/mod_proxy.so");
  EXPECT_EQ(c.origins[2].str(), dir + "/mods-enabled/proxy.load:1");
  EXPECT_EQ(c.lines[3], "LoadModule proxy_http_module modules/mod_proxy_http.so"); // sorted
  const auto listen = std::find(c.lines.begin(), c.lines.end(), "Listen 8080");
  ASSERT_NE(listen, c.lines.end());
  EXPECT_EQ(c.origins[static_cast<std::size_t>(listen - c.lines.begin())].str(),
            dir + "/ports.conf:1");
  // A continued line is one directive, at its first line.
  const auto log_format = std::find_if(c.lines.begin(), c.lines.end(),
                                       [](const auto &l) { return l.rfind("LogFormat", 0) == 0; });
  ASSERT_NE(log_format, c.lines.end());
  EXPECT_NE(log_format->find("combined"), std::string::npos);
  EXPECT_EQ(c.origins[static_cast<std::size_t>(log_format - c.lines.begin())].line, 5);
  EXPECT_EQ(c.lines.back(), "</VirtualHost>");
  EXPECT_EQ(c.origins.back().str(), dir + "/sites-enabled/ollama.conf:5");
}

TEST_F(ApacheConfig, ServerRootDirectiveDecidesWhereIncludesResolve) {
  write("root/ports.conf", "Listen 8080\n");
  write("conf/apache2.conf", "ServerRoot " + dir + "/root\nInclude ports.conf\n");
  const flat_config c = loaded("conf/apache2.conf");
  EXPECT_EQ(c.server_root, dir + "/root");
  EXPECT_EQ(c.lines.back(), "Listen 8080");
}

TEST_F(ApacheConfig, RefusedIncludesNameTheLine) {
  write("missing.conf", "Listen 80\nInclude nothere.conf\n");
  auto missing = load(dir + "/missing.conf");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find(dir + "/missing.conf:2: Include nothere.conf: no such file"),
            std::string::npos)
      << missing.message();
  write("wild.conf", "Include conf.d/*.conf\n");
  auto wild = load(dir + "/wild.conf");
  ASSERT_FALSE(wild);
  EXPECT_NE(wild.message().find("no file matches the wildcard"), std::string::npos);
  write("loop.conf", "Include loop.conf\n");
  auto loop = load(dir + "/loop.conf");
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.message().find("include loop"), std::string::npos);
}

TEST_F(ApacheConfig, ListenInsideAFalseIfModuleDoesNotListen) {
  // Debian's ports.conf: 443 only where mod_ssl is loaded.
  const std::string ports = "Listen 80\n<IfModule ssl_module>\n\tListen 443\n</IfModule>\n"
                            "<IfModule mod_gnutls.c>\n\tListen 443\n</IfModule>\n";
  write("plain.conf", ports);
  const auto plain = find_listeners(loaded("plain.conf"));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].address, "80");
  EXPECT_FALSE(plain[0].tls);

  write("tls.conf", "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n" + ports +
                        "<VirtualHost _default_:443>\n\tSSLEngine on\n</VirtualHost>\n");
  const auto both = find_listeners(loaded("tls.conf"));
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].address, "443");
  EXPECT_TRUE(both[1].tls);
  EXPECT_EQ(both[1].label(), "Listen 443 (" + dir + "/tls.conf:4)");
}

TEST_F(ApacheConfig, ListenersAndTheirVirtualHostsMovedToLoopback) {
  write("two.conf", std::string("Listen 8080\nListen 10.0.0.9:9090 http\n") + site +
                        "<VirtualHost 10.0.0.9:9090 [::1]:8080>\n\tProxyPass / "
                        "http://b:1/\n</VirtualHost>\n<VirtualHost *>\n</VirtualHost>\n");
  auto r = rewrite(loaded("two.conf"), options());
  ASSERT_TRUE(r) << r.message();
  const std::string &t = r->text;
  EXPECT_NE(t.find("Listen 127.0.0.1:41001\n"), std::string::npos) << t;
  EXPECT_NE(t.find("Listen 127.0.0.1:41002 http\n"), std::string::npos);
  EXPECT_NE(t.find("<VirtualHost *:41001>"), std::string::npos);
  EXPECT_NE(t.find("<VirtualHost 127.0.0.1:41002 127.0.0.1:41001>"), std::string::npos);
  EXPECT_NE(t.find("<VirtualHost *>"), std::string::npos); // no port: every port, as it was
  EXPECT_EQ(t.find("8080"), std::string::npos);
  ASSERT_EQ(r->listeners.size(), 2u);
  EXPECT_EQ(r->listeners[1].url(), "http://127.0.0.1:41002");
  expect_one_origin_per_line(*r);
}

TEST_F(ApacheConfig, TheProxyingVirtualHostAnswersTheSuitesHost) {
  write("named.conf", "Listen 8080\n"
                      "<VirtualHost *:8080>\n\tServerName www.example.com\n"
                      "\tDocumentRoot /var/www/html\n</VirtualHost>\n"
                      "<VirtualHost *:8080>\n\tServerName ollama.example.com\n"
                      "\tProxyPass / http://10.0.0.5:11434/\n</VirtualHost>\n");
  auto r = rewrite(loaded("named.conf"), options());
  ASSERT_TRUE(r) << r.message();
  EXPECT_NE(r->text.find("<VirtualHost *:41001>\n\tServerAlias 127.0.0.1\n\tServerName "
                         "ollama.example.com\n"),
            std::string::npos)
      << r->text;
  EXPECT_EQ(r->text.find("ServerAlias 127.0.0.1\n\tServerName www"), std::string::npos);
  expect_one_origin_per_line(*r);
  ASSERT_FALSE(r->notes.empty());
  EXPECT_NE(r->notes.back().find("named.conf:6 is tested"), std::string::npos) << r->notes.back();
  // The first VirtualHost proxies: it answers as it is, nothing added.
  write("first.conf", std::string("Listen 8080\n") + site);
  EXPECT_EQ(rewritten_text("first.conf").find("ServerAlias"), std::string::npos);
}

TEST_F(ApacheConfig, EveryUpstreamPointedAtTheMock) {
  write("up.conf", "Listen 8080\n"
                   "ProxyPass /static !\n"
                   "ProxyPass \"/api/\" \"https://ollama.internal:11434/api/\" timeout=600\n"
                   "ProxyPassReverse /api/ https://ollama.internal:11434/api/\n"
                   "ProxyPassMatch ^/v1/(.*)$ http://10.0.0.5:11434/v1/$1\n"
                   "ProxyPass /lb/ balancer://ollama/\n"
                   "<Proxy balancer://ollama>\n"
                   "\tBalancerMember http://10.0.0.6:11434 loadfactor=2\n"
                   "</Proxy>\n"
                   "RewriteRule ^/raw/(.*)$ http://10.0.0.7:11434/$1 [P,L]\n"
                   "RewriteRule ^/old$ /new [R]\n"
                   "<Location /sock/>\n"
                   "\tProxyPass unix:/run/ollama.sock|http://localhost/\n"
                   "</Location>\n");
  auto r = rewrite(loaded("up.conf"), options());
  ASSERT_TRUE(r) << r.message();
  const std::string &t = r->text;
  EXPECT_NE(t.find("ProxyPass /static !\n"), std::string::npos);
  EXPECT_NE(t.find("ProxyPass \"/api/\" http://127.0.0.1:42000/api/ timeout=600\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("ProxyPassReverse /api/ http://127.0.0.1:42000/api/\n"), std::string::npos);
  EXPECT_NE(t.find("ProxyPassMatch ^/v1/(.*)$ http://127.0.0.1:42000/v1/$1\n"), std::string::npos);
  EXPECT_NE(t.find("ProxyPass /lb/ balancer://ollama/\n"), std::string::npos);
  EXPECT_NE(t.find("BalancerMember http://127.0.0.1:42000 loadfactor=2\n"), std::string::npos);
  EXPECT_NE(t.find("RewriteRule ^/raw/(.*)$ http://127.0.0.1:42000/$1 [P,L]\n"), std::string::npos);
  EXPECT_NE(t.find("RewriteRule ^/old$ /new [R]\n"), std::string::npos);
  EXPECT_NE(t.find("ProxyPass http://127.0.0.1:42000/\n"), std::string::npos);
  EXPECT_EQ(r->upstreams, 5);
  EXPECT_EQ(t.find("10.0.0."), std::string::npos);
}

TEST_F(ApacheConfig, RunTimePathsInThePrefixAndRelativeModulesResolved) {
  write("paths.conf", "DefaultRuntimeDir ${APACHE_RUN_DIR}\n"
                      "PidFile ${APACHE_PID_FILE}\n"
                      "Mutex file:${APACHE_LOCK_DIR} default\n"
                      "ErrorLog ${APACHE_LOG_DIR}/error.log\n"
                      "LoadModule proxy_module modules/mod_proxy.so\n"
                      "LoadModule here_module here/mod_here.so\n"
                      "SSLSessionCache shmcb:${APACHE_RUN_DIR}/ssl_scache(512000)\n"
                      "Listen 8080\n"
                      "<VirtualHost *:8080>\n"
                      "\tErrorLog /var/log/apache2/ollama-error.log\n"
                      "\tCustomLog \"|/usr/bin/rotatelogs /var/log/x 86400\" combined\n"
                      "\tProxyPass / http://127.0.0.1:11434/\n"
                      "</VirtualHost>\n");
  write("here/mod_here.so", "");
  const std::string t = rewritten_text("paths.conf");
  EXPECT_NE(t.find("DefaultRuntimeDir /tmp/sc-apache/run\n"), std::string::npos) << t;
  EXPECT_NE(t.find("PidFile /tmp/sc-apache/apache2.pid\n"), std::string::npos);
  EXPECT_NE(t.find("Mutex file:/tmp/sc-apache/lock default\n"), std::string::npos);
  EXPECT_NE(t.find("\tErrorLog /tmp/sc-apache/logs/error.log\n"), std::string::npos);
  EXPECT_NE(t.find("\tCustomLog /tmp/sc-apache/logs/access.log combined\n"), std::string::npos);
  EXPECT_NE(t.find("SSLSessionCache shmcb:/tmp/sc-apache/run/ssl_scache(512000)\n"),
            std::string::npos);
  EXPECT_NE(t.find("LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so\n"),
            std::string::npos);
  EXPECT_NE(t.find("LoadModule here_module " + dir + "/here/mod_here.so\n"), std::string::npos);
  EXPECT_EQ(t.find("/var/log"), std::string::npos);
  // Whatever the config said, the run's own paths come last (Apache keeps the last).
  EXPECT_NE(t.find("PidFile /tmp/sc-apache/apache2.pid\nErrorLog /tmp/sc-apache/logs/error.log\n"),
            std::string::npos);
}

TEST_F(ApacheConfig, AbsentCertificateReplacedByAThrowawayOne) {
  write("tls.conf", "Listen 443 https\n<VirtualHost *:443>\n\tSSLEngine on\n"
                    "\tSSLCertificateFile /nonexistent/fullchain.pem\n"
                    "\tSSLCertificateKeyFile /nonexistent/privkey.pem\n"
                    "\tSSLCertificateChainFile /nonexistent/chain.pem\n"
                    "\tProxyPass / http://127.0.0.1:11434/\n</VirtualHost>\n");
  auto r = rewrite(loaded("tls.conf"), options());
  ASSERT_TRUE(r) << r.message();
  EXPECT_TRUE(r->throwaway_certificate);
  EXPECT_NE(r->text.find("SSLCertificateFile /tmp/sc-apache/throwaway.crt\n"), std::string::npos);
  EXPECT_NE(r->text.find("SSLCertificateKeyFile /tmp/sc-apache/throwaway.key\n"),
            std::string::npos);
  EXPECT_NE(r->text.find("# streamcheck: not on this machine: \tSSLCertificateChainFile"),
            std::string::npos);
  ASSERT_EQ(r->listeners.size(), 1u);
  EXPECT_EQ(r->listeners[0].url(), "https://127.0.0.1:41001");
  ASSERT_FALSE(r->notes.empty());
  EXPECT_NE(r->notes.back().find("throwaway"), std::string::npos);
}

TEST_F(ApacheConfig, NothingToListenOnOrNothingProxiedIsAnError) {
  write("noproxy.conf", "Listen 8080\n<VirtualHost *:8080>\n\tDocumentRoot /var/www\n"
                        "\tProxyPass /x !\n</VirtualHost>\n");
  auto none = rewrite(loaded("noproxy.conf"), options());
  ASSERT_FALSE(none);
  EXPECT_NE(none.message().find("proxies nothing"), std::string::npos);
  write("nolisten.conf", "LoadModule proxy_module /x.so\nProxyPass / http://h:1/\n");
  auto silent = rewrite(loaded("nolisten.conf"), options());
  ASSERT_FALSE(silent);
  EXPECT_NE(silent.message().find("no active Listen"), std::string::npos);
}

TEST_F(ApacheConfig, AFragmentRunsAsADebianSite) {
  for (const char *m : {"mpm_event", "authz_core", "proxy", "proxy_http", "headers"})
    write(std::string("modules/modules/mod_") + m + ".so", "");
  write("sites/ollama.conf", site);
  flat_config c = loaded("sites/ollama.conf");
  ASSERT_TRUE(wrap_fragment(c, dir + "/modules"));
  EXPECT_TRUE(c.fragment);
  EXPECT_EQ(c.lines[0], "LoadModule mpm_event_module " + dir + "/modules/modules/mod_mpm_event.so");
  EXPECT_NE(std::find(c.lines.begin(), c.lines.end(),
                      "LoadModule proxy_http_module " + dir + "/modules/modules/mod_proxy_http.so"),
            c.lines.end());
  // Modules not installed are not loaded (Apache would refuse the line).
  EXPECT_EQ(std::count_if(c.lines.begin(), c.lines.end(),
                          [](const auto &l) { return l.rfind("LoadModule", 0) == 0; }),
            5);
  const auto l = find_listeners(c);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].address, "8080");
  EXPECT_EQ(l[0].at.str(), dir + "/sites/ollama.conf:1"); // the VirtualHost that needs it
  ASSERT_FALSE(c.notes.empty());
  EXPECT_NE(c.notes[0].find("Listen 8080 added"), std::string::npos);
  // A full config is left alone.
  write("full.conf", std::string("LoadModule proxy_module /x.so\nListen 8080\n") + site);
  flat_config full = loaded("full.conf");
  EXPECT_FALSE(wrap_fragment(full, dir + "/modules"));
  EXPECT_FALSE(full.fragment);
}

TEST_F(ApacheConfig, CheckErrorsMappedBackToTheUsersLine) {
  write("ports.conf", "Listen 8080\n");
  write("site.conf", "Include ports.conf\n<VirtualHost *:8080>\n\tProxyPasss / http://h:1/\n"
                     "\tProxyPass / http://h:1/\n</VirtualHost>\n");
  auto r = rewrite(loaded("site.conf"), options());
  ASSERT_TRUE(r) << r.message();
  // Line 4 of the copy is the user's line 3 (the Include became a comment and the included line).
  const std::string said = "AH00526: Syntax error on line 4 of /tmp/sc-apache/apache2.conf:\n"
                           "Invalid command 'ProxyPasss', perhaps misspelled or defined by a "
                           "module not included in the server configuration\n";
  const std::string mapped =
      map_back(said, "/tmp/sc-apache/apache2.conf", r->origins, dir + "/site.conf");
  EXPECT_NE(mapped.find("Syntax error on line 3 of " + dir + "/site.conf:"), std::string::npos)
      << mapped;
  EXPECT_EQ(mapped.find("/tmp/sc-apache/apache2.conf"), std::string::npos);
  // In an included file: that file's line.
  const std::string in_ports = map_back("Syntax error on line 2 of /tmp/sc-apache/apache2.conf:",
                                        "/tmp/sc-apache/apache2.conf", r->origins, "x");
  EXPECT_NE(in_ports.find("line 1 of " + dir + "/ports.conf"), std::string::npos) << in_ports;
}

} // namespace
} // namespace streamcheck::harness::apache
