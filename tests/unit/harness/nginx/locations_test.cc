// Which location serves each API route (nginx's URI replacement), and the upstream kind read from
// the config: the route map a prefixed or partial config gets, and the profile it implies.
#include <string>

#include <gtest/gtest.h>

#include "harness/nginx/config.h"
#include "harness/nginx/locations.h"

namespace streamcheck::harness::nginx {
namespace {

struct parsed {
  std::vector<directive> top;
  source_loc server;
};

parsed of_text(const std::string &text) {
  auto top = parse_text(text, "n.conf");
  EXPECT_TRUE(top) << top.message();
  parsed p{*top, {}};
  for (const auto &d : p.top)
    if (d.name == "http")
      for (const auto &s : d.children)
        if (s.name == "server" && p.server.line == 0) p.server = s.loc;
  return p;
}

const std::vector<std::string> api = {"/", "/api/chat", "/api/tags", "/v1/chat/completions"};

discovered_routes discover(const std::string &text) {
  const parsed p = of_text(text);
  return discover_routes(p.top, p.server, api);
}

TEST(UpstreamUri, TrailingSlashReplacesTheMatchedPrefix) {
  const parsed p = of_text("http { server { location /ollama/ { proxy_pass http://h:11434/; } } }");
  const directive &loc = p.top[0].children[0].children[0];
  EXPECT_EQ(upstream_uri(loc, "/ollama/api/chat"), "/api/chat");
  EXPECT_EQ(upstream_uri(loc, "/ollama/"), "/");
}

TEST(UpstreamUri, NoUriPartPassesTheUriAsIs) {
  const parsed p = of_text("http { server { location /ollama/ { proxy_pass http://h:11434; } } }");
  const directive &loc = p.top[0].children[0].children[0];
  EXPECT_EQ(upstream_uri(loc, "/ollama/api/chat"), "/ollama/api/chat");
}

TEST(UpstreamUri, UriPartReplacesThePrefixWithItself) {
  const parsed p = of_text("http { server { location /llm/ { proxy_pass http://h:8000/v1/; } } }");
  const directive &loc = p.top[0].children[0].children[0];
  EXPECT_EQ(upstream_uri(loc, "/llm/chat/completions"), "/v1/chat/completions");
}

TEST(UpstreamUri, RewriteBreakAppliesFirst) {
  const parsed p = of_text("http { server { location /ollama/ { rewrite ^/ollama/(.*)$ /$1 break; "
                           "proxy_pass http://h:11434; } } }");
  const directive &loc = p.top[0].children[0].children[0];
  EXPECT_EQ(upstream_uri(loc, "/ollama/api/chat"), "/api/chat");
}

TEST(UpstreamUri, ALocationThatDoesNotProxyHasNone) {
  const parsed p = of_text("http { server { location / { try_files $uri =404; } } }");
  EXPECT_FALSE(upstream_uri(p.top[0].children[0].children[0], "/api/chat"));
}

TEST(DiscoverRoutes, PrefixWithUriReplacementNextToAStaticRoot) {
  const auto d = discover("http { server { root /srv; location / { try_files $uri =404; }\n"
                          "location /ollama/ { proxy_pass http://192.168.1.5:11434/; } } }");
  ASSERT_TRUE(d.routes.find("/api/chat"));
  EXPECT_EQ(d.routes.find("/api/chat")->client_path, "/ollama/api/chat");
  EXPECT_EQ(d.routes.find("/")->client_path, "/ollama/");
  EXPECT_EQ(d.routes.find("/api/chat?x=1")->client_path, "/ollama/api/chat?x=1");
  EXPECT_EQ(d.routes.find("/api/chat")->via, "location /ollama/ at n.conf:2");
  EXPECT_EQ(d.upstream_address, "192.168.1.5:11434");
}

TEST(DiscoverRoutes, PrefixWithoutUriPartIsNotStripped) {
  // /ollama/api/chat would reach the upstream as /ollama/api/chat: no client path reaches
  // /api/chat through it, and location / does not proxy.
  const auto d = discover("http { server { location / { return 404; }\n"
                          "location /ollama/ { proxy_pass http://h:11434; } } }");
  EXPECT_FALSE(d.routes.find("/api/chat"));
  EXPECT_NE(d.routes.unreached.at("/api/chat").find("does not proxy"), std::string::npos);
}

TEST(DiscoverRoutes, TheLlmUpstreamWinsOverTheChatUiAtTheRoot) {
  const auto d = discover("http { server { location / { proxy_pass http://open-webui:8080; }\n"
                          "location /ollama/ { proxy_pass http://ollama:11434/; } } }");
  EXPECT_EQ(d.routes.find("/api/chat")->client_path, "/ollama/api/chat");
  EXPECT_EQ(d.upstream_address, "ollama:11434");
}

TEST(DiscoverRoutes, OnlyV1Forwarded) {
  const auto d = discover("http { server { location /v1/ { proxy_pass http://127.0.0.1:8080; }\n"
                          "location / { return 404; } } }");
  EXPECT_TRUE(d.serves_openai_api);
  EXPECT_FALSE(d.serves_ollama_api);
  EXPECT_EQ(d.routes.find("/v1/chat/completions")->client_path, "/v1/chat/completions");
  EXPECT_FALSE(d.routes.find("/api/chat"));
}

TEST(DiscoverRoutes, UpstreamBlocksAndSetVariablesAreResolved) {
  auto d = discover("http { upstream be { server 10.0.0.7:11434; }\n"
                    "server { location / { proxy_pass http://be; } } }");
  EXPECT_EQ(d.upstream_address, "10.0.0.7:11434");
  d = discover("http { server { set $app ollama; set $port 11434;\n"
               "location / { proxy_pass http://$app:$port; } } }");
  EXPECT_EQ(d.upstream_address, "ollama:11434");
}

TEST(InferUpstream, OllamaOnLoopbackKeepsItsHostCheck) {
  const auto g = infer_upstream(
      discover("http { server { location / { proxy_pass http://127.0.0.1:11434; } } }"));
  EXPECT_EQ(g.profile, "ollama");
}

TEST(InferUpstream, OllamaOnALanAddressOrADockerNameHasNone) {
  for (const char *addr : {"192.168.1.50:11434", "ollama:11434", "host.docker.internal:11434"}) {
    const auto g = infer_upstream(discover(std::string("http { server { location / { proxy_pass "
                                                       "http://") +
                                           addr + "; } } }"));
    EXPECT_EQ(g.profile, "ollama-lan") << addr;
    EXPECT_NE(g.note.find("assumed: Ollama bound to a non-loopback address"), std::string::npos);
    EXPECT_NE(g.note.find("default OLLAMA_ORIGINS"), std::string::npos);
  }
}

TEST(InferUpstream, OpenAiCompatibleServersByPortNameOrRoutes) {
  for (const char *addr : {"vllm:8000", "127.0.0.1:8080", "litellm:4000", "10.1.1.1:1234"})
    EXPECT_EQ(infer_upstream(discover(std::string("http { server { location / { proxy_pass "
                                                  "http://") +
                                      addr + "; } } }"))
                  .profile,
              "openai-only")
        << addr;
  // Port 11434 but only /v1/ forwarded: the config serves the OpenAI API only.
  EXPECT_EQ(infer_upstream(discover("http { server { location /v1/ { proxy_pass "
                                    "http://ollama:11434; } location / { return 404; } } }"))
                .profile,
            "openai-only");
}

TEST(InferUpstream, UnknownUpstreamAssumesOllamaAndSaysSo) {
  const auto g =
      infer_upstream(discover("http { server { location / { proxy_pass http://backend; } } }"));
  EXPECT_EQ(g.profile, "ollama");
  EXPECT_NE(g.note.find("--upstream-profile"), std::string::npos);
}

} // namespace
} // namespace streamcheck::harness::nginx
