// The nginx config parser: nginx's own tokenizer rules (ngx_conf_read_token), file:line for every
// directive, include globs, and errors that name the user's file and line.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "harness/nginx/config.h"

namespace streamcheck::harness::nginx {
namespace {

namespace fs = std::filesystem;

std::vector<directive> parse_ok(const std::string &text) {
  auto r = parse_text(text, "t.conf");
  EXPECT_TRUE(r) << (r ? "" : r.message());
  return r ? *r : std::vector<directive>{};
}

std::string parse_error(const std::string &text) {
  auto r = parse_text(text, "t.conf");
  EXPECT_FALSE(r) << "parsed without error: " << text;
  return r ? "" : r.message();
}

TEST(NginxConfig, WordsQuotesAndEscapes) {
  const auto top = parse_ok("add_header 'Access-Control-Allow-Origin' \"a b\" always;\n"
                            "set $x \"say \\\"hi\\\" \\\\ \\. \\t\";\n"
                            "return 200 'it\\'s';\n"
                            "set $y un\\;quoted;\n");
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].name, "add_header");
  ASSERT_EQ(top[0].args.size(), 3u);
  EXPECT_EQ(top[0].arg(0), "Access-Control-Allow-Origin");
  EXPECT_EQ(top[0].args[0].raw, "'Access-Control-Allow-Origin'");
  EXPECT_EQ(top[0].arg(1), "a b");
  EXPECT_EQ(top[0].arg(2), "always");
  // \" \\ lose the backslash, \t is a tab, any other escape keeps its backslash (even \;, which
  // still does not end the word).
  EXPECT_EQ(top[1].arg(1), "say \"hi\" \\ \\. \t");
  EXPECT_EQ(top[2].arg(1), "it's");
  EXPECT_EQ(top[3].arg(1), "un\\;quoted"); // nginx keeps the backslash of an unknown escape
}

TEST(NginxConfig, CommentsVariablesAndBlocks) {
  const auto top = parse_ok("# a comment; with { braces }\n"
                            "http { # trailing\n"
                            "  map $http_origin $cors {\n"
                            "    default \"\";\n"
                            "    \"~^https?://a\\.test(:[0-9]+)?$\" $http_origin;\n"
                            "  }\n"
                            "  server {\n"
                            "    location / {\n"
                            "      if ($request_method = OPTIONS) { return 204; }\n"
                            "      set $u ${scheme}x#notacomment;\n"
                            "    }\n"
                            "  }\n"
                            "}\n");
  ASSERT_EQ(top.size(), 1u);
  const auto &http = top[0];
  EXPECT_TRUE(http.block);
  EXPECT_EQ(http.loc.line, 2);
  const auto &map = http.children[0];
  EXPECT_EQ(map.name, "map");
  EXPECT_EQ(map.children[0].arg(0), "");
  EXPECT_EQ(map.children[1].name, "~^https?://a\\.test(:[0-9]+)?$");
  EXPECT_EQ(map.children[1].loc.line, 5);
  // Map keys are directive names: re-emitted as written, quotes included.
  EXPECT_EQ(map.children[0].text(), "default \"\"");
  EXPECT_EQ(map.children[1].text(), "\"~^https?://a\\.test(:[0-9]+)?$\" $http_origin");
  const auto &loc = http.children[1].children[0];
  ASSERT_EQ(loc.children.size(), 2u);
  const auto &iff = loc.children[0];
  EXPECT_EQ(iff.name, "if");
  EXPECT_EQ(iff.arg(0), "($request_method");
  EXPECT_EQ(iff.children[0].text(), "return 204");
  EXPECT_EQ(loc.children[1].arg(1), "${scheme}x#notacomment");
  EXPECT_EQ(loc.children[1].loc.str(), "t.conf:10");
}

TEST(NginxConfig, DirectiveLineIsItsFirstWord) {
  const auto top = parse_ok("\n\nadd_header\n  X-A\n  \"multi\nline\";\n");
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].loc.line, 3);
  EXPECT_EQ(top[0].arg(1), "multi\nline");
}

TEST(NginxConfig, ErrorsNameFileAndLine) {
  EXPECT_EQ(parse_error("http {\n  server {\n}\n"),
            "t.conf:1: block opened here is never closed (unexpected end of file, expecting "
            "\"}\")");
  EXPECT_EQ(parse_error("events {}\n}\n"), "t.conf:2: unexpected \"}\"");
  EXPECT_EQ(parse_error("a \"b\"c;\n"), "t.conf:1: unexpected \"c\"");
  EXPECT_EQ(parse_error("worker_processes 1;\nuser nobody"),
            "t.conf:2: unexpected end of file, expecting \";\" or \"}\"");
  EXPECT_EQ(parse_error("\n;\n"), "t.conf:2: unexpected \";\"");
  EXPECT_EQ(parse_error("a b }\n"), "t.conf:1: unexpected \"}\"");
}

TEST(NginxConfig, EmitRoundTripsAndMapsLines) {
  const std::string text = "events { worker_connections 8; }\n"
                           "http {\n"
                           "  server { listen 80; add_header X \"a b\" always; }\n"
                           "}\n";
  const auto top = parse_ok(text);
  std::vector<source_loc> map;
  const std::string out = emit(top, &map);
  EXPECT_EQ(out, "events {\n"
                 "    worker_connections 8;\n"
                 "}\n"
                 "http {\n"
                 "    server {\n"
                 "        listen 80;\n"
                 "        add_header X \"a b\" always;\n"
                 "    }\n"
                 "}\n");
  ASSERT_EQ(map.size(), 9u);
  EXPECT_EQ(map[1].str(), "t.conf:1");
  EXPECT_EQ(map[6].str(), "t.conf:3");
  auto again = parse_text(out, "flat.conf");
  ASSERT_TRUE(again);
  EXPECT_EQ(emit(*again, nullptr), out);
}

TEST(NginxConfig, QuoteOnlyWhenNeeded) {
  EXPECT_EQ(quote("127.0.0.1:80"), "127.0.0.1:80");
  EXPECT_EQ(quote(""), "\"\"");
  EXPECT_EQ(quote("a b"), "\"a b\"");
  EXPECT_EQ(quote("x\"y\\"), "\"x\\\"y\\\\\"");
}

// OpenResty: *_by_lua_block bodies are Lua (braces in strings, comments and tables), kept as
// written so `--nginx openresty` gets them back, and their lines still map to the user's.
TEST(NginxConfig, LuaBlocksAreKeptVerbatim) {
  const std::string lua = "\n    local t = { a = \"}\" , b = '{' } -- a } in a comment\n"
                          "    local s = [[ } ]] --[==[ } ]==]\n"
                          "    if not ngx.var.http_authorization then return ngx.exit(401) end\n";
  const std::string text =
      "location / {\n  access_by_lua_block {" + lua + "  }\n  proxy_pass http://vllm:8000;\n}\n";
  auto top = parse_text(text, "or.conf");
  ASSERT_TRUE(top) << top.message();
  const auto &loc = (*top)[0];
  ASSERT_EQ(loc.children.size(), 2u);
  EXPECT_EQ(loc.children[0].name, "access_by_lua_block");
  EXPECT_EQ(loc.children[0].raw_body, lua + "  ");
  EXPECT_EQ(loc.children[1].loc.line, 7);
  std::vector<source_loc> map;
  const std::string out = emit(*top, &map);
  EXPECT_NE(out.find("access_by_lua_block {" + lua + "  }\n"), std::string::npos) << out;
  EXPECT_EQ(static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')), map.size());
  EXPECT_EQ(map[5].line, 6); // the block's closing line
  auto open = parse_text("content_by_lua_block { local x = '}\n", "o.conf");
  ASSERT_FALSE(open);
  EXPECT_EQ(open.message().rfind("o.conf:1: Lua block opened here is never closed", 0), 0u)
      << open.message();
}

class NginxInclude : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("sc-nginx-include-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
           "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir / "conf.d");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string &name, const std::string &text) {
    std::ofstream(dir / name) << text;
  }
  fs::path dir;
};

TEST_F(NginxInclude, GlobsAreSortedAndKeepTheirOwnLines) {
  write("nginx.conf", "events {}\nhttp {\n  include conf.d/*.conf;\n  include extra.conf;\n}\n");
  write("conf.d/b.conf", "server { listen 2; }\n");
  write("conf.d/a.conf", "\n\nserver { listen 1; }\n");
  write("extra.conf", "# nothing but\nproxy_buffering off;\n");
  auto c = load((dir / "nginx.conf").string());
  ASSERT_TRUE(c) << c.message();
  const auto &http = c->top[1];
  ASSERT_EQ(http.children.size(), 3u);
  EXPECT_EQ(http.children[0].children[0].arg(0), "1");
  EXPECT_EQ(http.children[0].loc.str(), (dir / "conf.d/a.conf").string() + ":3");
  EXPECT_EQ(http.children[1].children[0].arg(0), "2");
  EXPECT_EQ(http.children[2].name, "proxy_buffering");
  EXPECT_EQ(http.children[2].loc.str(), "extra.conf:2");
}

TEST_F(NginxInclude, EmptyGlobIsFineMissingFileIsAnError) {
  write("nginx.conf", "http {\n  include sites/*.conf;\n  include missing.conf;\n}\n");
  auto c = load((dir / "nginx.conf").string());
  ASSERT_FALSE(c);
  EXPECT_NE(c.message().find("nginx.conf:3: include \"missing.conf\": no such file"),
            std::string::npos)
      << c.message();
}

TEST_F(NginxInclude, PrefixOverridesTheBase) {
  write("nginx.conf", "include conf.d/x.conf;\n");
  fs::create_directories(dir / "elsewhere/conf.d");
  std::ofstream(dir / "elsewhere/conf.d/x.conf") << "worker_processes 3;\n";
  load_options lo;
  lo.include_base = (dir / "elsewhere").string();
  auto c = load((dir / "nginx.conf").string(), lo);
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->top[0].arg(0), "3");
}

TEST_F(NginxInclude, LoopIsAnErrorNotAHang) {
  write("nginx.conf", "include loop.conf;\n");
  write("loop.conf", "include loop.conf;\n");
  auto c = load((dir / "nginx.conf").string());
  ASSERT_FALSE(c);
  EXPECT_NE(c.message().find("include loop"), std::string::npos) << c.message();
}

TEST_F(NginxInclude, ErrorInIncludedFileNamesThatFile) {
  write("nginx.conf", "http {\n include bad.conf;\n}\n");
  write("bad.conf", "server {\n  listen 80\n}\n");
  auto c = load((dir / "nginx.conf").string());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.message(), "bad.conf:3: unexpected \"}\"");
}

// linuxserver SWAG: `include /config/nginx/proxy.conf;` exists only inside the container.
TEST_F(NginxInclude, AbsoluteIncludeMissingHereNamesTheWayIn) {
  const std::string abs = "/sc-container-only-" + dir.filename().string() + "/nginx/proxy.conf";
  write("nginx.conf", "http {\n  server {\n    include " + abs + ";\n  }\n}\n");
  auto c = load((dir / "nginx.conf").string());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.message().rfind((dir / "nginx.conf").string() + ":3: include \"" + abs + "\"", 0), 0u)
      << c.message();
  EXPECT_NE(c.message().find("--include-root DIR"), std::string::npos) << c.message();
  EXPECT_EQ(c.message().find('\n'), std::string::npos) << c.message(); // one line

  // --include-root maps it (and the includes inside it, globs too) onto the root.
  fs::create_directories(dir / "root" / abs.substr(1, abs.rfind('/') - 1) / "confs");
  std::ofstream(dir / "root" / abs.substr(1))
      << "proxy_buffering off;\ninclude " << abs.substr(0, abs.rfind('/')) << "/confs/*.conf;\n";
  std::ofstream(dir / "root" / abs.substr(1, abs.rfind('/') - 1) / "confs/a.conf")
      << "proxy_http_version 1.1;\n";
  load_options lo;
  lo.include_root = (dir / "root").string() + "/";
  c = load((dir / "nginx.conf").string(), lo);
  ASSERT_TRUE(c) << c.message();
  const auto &server = c->top[0].children[0];
  ASSERT_EQ(server.children.size(), 2u);
  EXPECT_EQ(server.children[0].name, "proxy_buffering");
  EXPECT_EQ(server.children[0].loc.str(), (dir / "root").string() + abs + ":1");
  EXPECT_EQ(server.children[1].name, "proxy_http_version");

  write("nginx.conf", "include /sc-nowhere-" + dir.filename().string() + ".conf;\n");
  c = load((dir / "nginx.conf").string(), lo);
  ASSERT_FALSE(c);
  EXPECT_NE(c.message().find(", nor " + (dir / "root").string() + "/sc-nowhere-"),
            std::string::npos)
      << c.message();
}

// `include mime.types;` next to a config written for /etc/nginx: read from nginx's own
// configuration directory when the config's directory does not have it.
TEST_F(NginxInclude, RelativeIncludeFallsBackToNginxsConfDir) {
  write("nginx.conf", "http {\n  include mime.types;\n}\n");
  fs::create_directories(dir / "etc-nginx");
  std::ofstream(dir / "etc-nginx/mime.types") << "types { text/html html; }\n";
  auto c = load((dir / "nginx.conf").string());
  ASSERT_FALSE(c);
  load_options lo;
  lo.fallback_base = (dir / "etc-nginx").string();
  c = load((dir / "nginx.conf").string(), lo);
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->top[0].children[0].name, "types");
  EXPECT_EQ(c->top[0].children[0].loc.str(), (dir / "etc-nginx/mime.types").string() + ":1");
  write("nginx.conf", "include nope.conf;\n");
  c = load((dir / "nginx.conf").string(), lo);
  ASSERT_FALSE(c);
  EXPECT_NE(c.message().find(", nor " + (dir / "etc-nginx/nope.conf").string()), std::string::npos)
      << c.message();
}

} // namespace
} // namespace streamcheck::harness::nginx
