// What streamcheck reads from `nginx -V` (version, prefix for relative load_module paths) and
// what it adds to nginx -t's bare messages (the nginx that ran, the way out). Pure functions.
#include <string>

#include <gtest/gtest.h>

#include "harness/nginx/launcher.h"

namespace streamcheck::harness::nginx {
namespace {

bool has(const std::string &text, const std::string &needle) {
  return text.find(needle) != std::string::npos;
}

TEST(NginxBuildInfo, ReadsDebiansPrefixAndModulesPath) {
  const auto b = parse_build_info(
      "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.11\nTLS SNI support enabled\n"
      "configure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx "
      "--conf-path=/etc/nginx/nginx.conf --modules-path=/usr/lib/nginx/modules --with-compat\n");
  EXPECT_EQ(b.version, "1.22.1");
  EXPECT_EQ(b.flavour, "nginx");
  EXPECT_EQ(b.prefix, "/usr/share/nginx");
  EXPECT_EQ(b.modules_path, "/usr/lib/nginx/modules");
  EXPECT_EQ(b.conf_dir, "/etc/nginx");
}

TEST(NginxBuildInfo, DefaultsAndOpenResty) {
  const auto b = parse_build_info("nginx version: openresty/1.21.4.3\nconfigure arguments: "
                                  "--prefix=/usr/local/openresty/nginx --with-cc-opt=-O2\n");
  EXPECT_EQ(b.flavour, "openresty");
  EXPECT_EQ(b.version, "1.21.4.3");
  EXPECT_EQ(b.prefix, "/usr/local/openresty/nginx");
  EXPECT_EQ(b.modules_path, "/usr/local/openresty/nginx/modules");
  EXPECT_EQ(b.conf_dir, "/usr/local/openresty/nginx/conf");
  const auto none = parse_build_info("");
  EXPECT_EQ(none.version, "");
  EXPECT_EQ(none.prefix, "/usr/local/nginx"); // nginx's own default
}

TEST(NginxRejection, UnknownDirectiveNamesTheVersionAndTheWayOut) {
  build_info b;
  b.version = "1.22.1";
  const std::string http2 =
      explain_rejection("nginx -t rejected the config:\nnginx: [emerg] unknown directive "
                        "\"http2\" in site.conf:5",
                        b, "/usr/sbin/nginx");
  EXPECT_TRUE(has(http2, "site.conf:5")) << http2;
  EXPECT_TRUE(has(http2, "needs nginx 1.25.1 or later")) << http2;
  EXPECT_TRUE(has(http2, "nginx 1.22.1 (/usr/sbin/nginx) ran this test")) << http2;
  EXPECT_TRUE(has(http2, "--nginx PATH")) << http2;
  const std::string lua = explain_rejection(
      "nginx: [emerg] unknown directive \"access_by_lua_block\" in a.conf:9", b, "nginx");
  EXPECT_TRUE(has(lua, "OpenResty")) << lua;
  EXPECT_TRUE(has(lua, "--nginx PATH")) << lua;
  const std::string module = explain_rejection(
      "nginx: [emerg] dlopen() \"/usr/share/nginx/modules/ngx_http_geoip2_module.so\" failed", b,
      "nginx");
  EXPECT_TRUE(has(module, "libnginx-mod-")) << module;
  EXPECT_EQ(explain_rejection("nginx: [emerg] host not found", b, "nginx"),
            "nginx: [emerg] host not found");
}

} // namespace
} // namespace streamcheck::harness::nginx
