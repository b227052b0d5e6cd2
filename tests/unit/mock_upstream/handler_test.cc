#include "mock_upstream/handler.h"

#include <chrono>
#include <gtest/gtest.h>

namespace streamcheck::mock {
namespace {

const char *const json_type = "application/json; charset=utf-8";
const char *const local_host = "localhost:11434";

request_view request(std::string method, std::string target, std::string body = "",
                     header_list extra = {}) {
  request_view r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = {{"Host", local_host}};
  r.headers.insert(r.headers.end(), extra.begin(), extra.end());
  r.body = std::move(body);
  return r;
}

mock_options ollama_options() {
  mock_options o;
  o.request_policy = *policy_for_profile("ollama");
  return o;
}

plan run(const request_view &r, unsigned number = 1, const mock_options &o = ollama_options()) {
  return handle(r, o, number);
}

whole_response whole_of(const plan &p) {
  const auto *w = std::get_if<whole_response>(&p.response);
  if (!w) {
    ADD_FAILURE() << "expected a whole response, got a stream";
    return {};
  }
  return *w;
}

stream_response stream_of(const plan &p) {
  const auto *s = std::get_if<stream_response>(&p.response);
  if (!s) {
    const auto &w = std::get<whole_response>(p.response);
    ADD_FAILURE() << "expected a stream, got " << w.status << " " << w.body;
    return {};
  }
  return *s;
}

// A whole response: status, handler headers and body, compared exactly.
struct expected {
  int status;
  header_list headers;
  std::string body;
};

void expect_whole(const plan &p, const expected &e) {
  const auto w = whole_of(p);
  EXPECT_EQ(w.status, e.status);
  EXPECT_EQ(w.headers, e.headers);
  EXPECT_EQ(w.body, e.body);
}

// ---- request_view ------------------------------------------------------------------------------

TEST(RequestView, PathQueryAndHeaders) {
  auto r = request("GET", "/api/tags?streamcheck.id=x&a=b", "",
                   {{"Origin", "http://localhost:3000"}, {"X-Dup", "1"}, {"x-dup", "2"}});
  EXPECT_EQ(r.path(), "/api/tags");
  EXPECT_EQ(r.query(), "streamcheck.id=x&a=b");
  EXPECT_EQ(r.header("origin"), "http://localhost:3000");
  EXPECT_EQ(r.header("X-DUP"), "1"); // the first value
  EXPECT_EQ(r.header("Authorization"), "");
  EXPECT_TRUE(r.has_header("HOST"));
  EXPECT_FALSE(r.has_header("Authorization"));
  r.target = "/";
  EXPECT_EQ(r.path(), "/");
  EXPECT_EQ(r.query(), "");
}

// ---- gin's 404 and 405 -------------------------------------------------------------------------

TEST(Handle, UnknownPathIs404Text) {
  const auto p = run(request("GET", "/api/nope"));
  expect_whole(p, {404, {{"Content-Type", "text/plain"}}, "404 page not found"});
  EXPECT_EQ(whole_of(p).body.size(), 18u);
  EXPECT_EQ(whole_of(p).delay_ms, 0);
  expect_whole(run(request("POST", "/v1/models/ns/name", "{}")),
               {404, {{"Content-Type", "text/plain"}}, "404 page not found"});
}

TEST(Handle, OpenAiOnlyUpstreamHasNoOllamaRoutes) {
  // streamcheck.policy=openai-only: vLLM's FastAPI 404 for Ollama's routes, /v1 served.
  for (const char *target :
       {"/api/chat?streamcheck.policy=openai-only", "/?streamcheck.policy=openai-only"}) {
    const auto p = run(request(target[1] == 'a' ? "POST" : "GET", target, "{}"));
    EXPECT_EQ(whole_of(p).status, 404) << target;
    EXPECT_EQ(whole_of(p).body, R"({"detail":"Not Found"})") << target;
  }
  const auto v1 = run(request("GET", "/v1/models?streamcheck.policy=openai-only"));
  EXPECT_EQ(whole_of(v1).status, 200);
}

TEST(Handle, WrongMethodIs405WithAllowInGinOrder) {
  expect_whole(
      run(request("POST", "/", "{}")),
      {405, {{"Content-Type", "text/plain"}, {"Allow", "HEAD, GET"}}, "405 method not allowed"});
  expect_whole(
      run(request("GET", "/api/chat")),
      {405, {{"Content-Type", "text/plain"}, {"Allow", "POST"}}, "405 method not allowed"});
  expect_whole(run(request("HEAD", "/api/ps")),
               {405, {{"Content-Type", "text/plain"}, {"Allow", "GET"}}, "405 method not allowed"});
  expect_whole(run(request("DELETE", "/v1/models/llama3.2")),
               {405, {{"Content-Type", "text/plain"}, {"Allow", "GET"}}, "405 method not allowed"});
}

TEST(Handle, RootAndVersion) {
  expect_whole(run(request("GET", "/")),
               {200, {{"Content-Type", "text/plain; charset=utf-8"}}, "Ollama is running"});
  expect_whole(run(request("HEAD", "/")),
               {200, {{"Content-Type", "text/plain; charset=utf-8"}}, "Ollama is running"});
  const auto p = run(request("GET", "/api/version"));
  expect_whole(p, {200, {{"Content-Type", json_type}}, R"({"version":"0.12.0"})"});
  EXPECT_EQ(whole_of(p).delay_ms, 0);
}

TEST(Handle, ListsAndShow) {
  expect_whole(run(request("GET", "/api/tags")), {200, {{"Content-Type", json_type}}, tags_body()});
  expect_whole(run(request("GET", "/api/ps")),
               {200, {{"Content-Type", json_type}}, R"({"models":[]})"});
  expect_whole(run(request("GET", "/v1/models")),
               {200, {{"Content-Type", json_type}}, v1_models_body()});
  expect_whole(run(request("POST", "/api/show", R"({"model":"steady"})")),
               {200, {{"Content-Type", json_type}}, show_body("steady")});
}

TEST(Handle, NoModelsListsNone) {
  // --no-models: a server with nothing pulled, for streamcheck live's "no model" error.
  mock_options o = ollama_options();
  o.list_models = false;
  expect_whole(run(request("GET", "/api/tags"), 1, o),
               {200, {{"Content-Type", json_type}}, R"({"models":[]})"});
  expect_whole(run(request("GET", "/v1/models"), 1, o),
               {200, {{"Content-Type", json_type}}, R"({"object":"list","data":[]})"});
}

TEST(Handle, ApiKeyRefusesRequestsWithoutItButNotPreflights) {
  // --api-key: llama.cpp server's 401 JSON, for streamcheck live's 401 from behind a proxy.
  mock_options o = ollama_options();
  o.api_key = "k1";
  const std::string refusal =
      R"({"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}})";
  for (const header_list &auth : {header_list{}, header_list{{"Authorization", "Bearer k2"}}})
    expect_whole(run(request("GET", "/api/tags", "", auth), 1, o),
                 {401, {{"Content-Type", json_type}}, refusal});
  EXPECT_EQ(
      whole_of(run(request("GET", "/api/tags", "", {{"Authorization", "Bearer k1"}}), 1, o)).status,
      200);
  const auto preflight =
      run(request("OPTIONS", "/api/chat", "",
                  {{"Origin", "http://localhost:3000"}, {"Access-Control-Request-Method", "POST"}}),
          1, o);
  EXPECT_EQ(whole_of(preflight).status, 204);
}

// ---- request body errors -----------------------------------------------------------------------

TEST(Handle, MissingBodyIs400) {
  for (const char *path : {"/api/chat", "/api/generate", "/api/show", "/api/embed", "/api/pull"}) {
    expect_whole(run(request("POST", path, "")),
                 {400, {{"Content-Type", json_type}}, R"({"error":"missing request body"})"});
    expect_whole(run(request("POST", path, " \r\n\t")),
                 {400, {{"Content-Type", json_type}}, R"({"error":"missing request body"})"});
  }
}

TEST(Handle, MalformedJsonIs400WithGoDecoderText) {
  expect_whole(run(request("POST", "/api/chat", "x")),
               {400,
                {{"Content-Type", json_type}},
                R"({"error":"invalid character 'x' looking for beginning of value"})"});
  expect_whole(run(request("POST", "/api/chat", R"({"model":x})")),
               {400,
                {{"Content-Type", json_type}},
                R"({"error":"invalid character 'x' looking for beginning of value"})"});
  expect_whole(run(request("POST", "/api/generate", "{")),
               {400, {{"Content-Type", json_type}}, R"({"error":"unexpected EOF"})"});
  expect_whole(run(request("POST", "/api/generate", R"({"model":"llama3.2")")),
               {400, {{"Content-Type", json_type}}, R"({"error":"unexpected EOF"})"});
}

TEST(Handle, BytesAfterTheFirstJsonValueAreIgnored) {
  const auto p = run(request("POST", "/api/chat", R"({"model":"llama3.2"} trailing {)"));
  EXPECT_EQ(stream_of(p).ctx.kind, stream_kind::ndjson_chat);
}

TEST(Handle, NonObjectBodyIsAGoTypeError) {
  expect_whole(
      run(request("POST", "/api/chat", "[1]")),
      {400,
       {{"Content-Type", json_type}},
       R"({"error":"json: cannot unmarshal array into Go value of type api.ChatRequest"})"});
  expect_whole(
      run(request("POST", "/api/generate", "5")),
      {400,
       {{"Content-Type", json_type}},
       R"({"error":"json: cannot unmarshal number into Go value of type api.GenerateRequest"})"});
  plan p;
  ASSERT_NO_THROW(p = run(request("POST", "/api/embed", "[]")));
  expect_whole(
      p, {400,
          {{"Content-Type", json_type}},
          R"({"error":"json: cannot unmarshal array into Go value of type api.EmbedRequest"})"});
  ASSERT_NO_THROW(p = run(request("POST", "/v1/embeddings", R"("text")")));
  expect_whole(
      p, {400,
          {{"Content-Type", json_type}},
          R"({"error":{"message":"json: cannot unmarshal string into Go value of type )"
          R"(openai.EmbedRequest","type":"invalid_request_error","param":null,"code":null}})"});
}

TEST(Handle, NullBodyIsAnEmptyRequest) {
  expect_whole(run(request("POST", "/api/generate", "null")),
               {404, {{"Content-Type", json_type}}, R"({"error":"model '' not found"})"});
  plan p;
  ASSERT_NO_THROW(p = run(request("POST", "/api/embed", "null")));
  EXPECT_EQ(whole_of(p).status, 404);
}

// ---- models ------------------------------------------------------------------------------------

TEST(Handle, UnknownModelIs404EchoingTheName) {
  expect_whole(run(request("POST", "/api/chat", R"({"model":"llama9"})")),
               {404, {{"Content-Type", json_type}}, R"({"error":"model 'llama9' not found"})"});
  expect_whole(run(request("POST", "/api/generate", R"({"model":"steady:7b","prompt":"hi"})")),
               {404, {{"Content-Type", json_type}}, R"({"error":"model 'steady:7b' not found"})"});
}

TEST(Handle, MissingModel) {
  expect_whole(run(request("POST", "/api/generate", R"({"prompt":"hi"})")),
               {404, {{"Content-Type", json_type}}, R"({"error":"model '' not found"})"});
  expect_whole(run(request("POST", "/api/chat", R"({"messages":[]})")),
               {400, {{"Content-Type", json_type}}, R"({"error":"model is required"})"});
  expect_whole(run(request("POST", "/api/embed", R"({"input":"hi"})")),
               {404, {{"Content-Type", json_type}}, R"({"error":"model '' not found"})"});
  expect_whole(run(request("POST", "/api/embeddings", R"({"prompt":"hi"})")),
               {400, {{"Content-Type", json_type}}, R"({"error":"model is required"})"});
  expect_whole(run(request("POST", "/api/show", "{}")),
               {400, {{"Content-Type", json_type}}, R"({"error":"model is required"})"});
  expect_whole(run(request("POST", "/api/pull", "{}")),
               {400, {{"Content-Type", json_type}}, R"({"error":"invalid model name"})"});
}

TEST(Handle, ShowUnknownModelUsesTheNormalizedName) {
  expect_whole(run(request("POST", "/api/show", R"({"model":"foo"})")),
               {404, {{"Content-Type", json_type}}, R"({"error":"model 'foo:latest' not found"})"});
}

TEST(Handle, V1Model) {
  expect_whole(run(request("GET", "/v1/models/llama3.2")),
               {200, {{"Content-Type", json_type}}, v1_model_body("llama3.2")});
  expect_whole(run(request("GET", "/v1/models/nope")),
               {404,
                {{"Content-Type", "application/json"}},
                R"({"error":{"message":"model 'nope:latest' not found","type":"not_found_error",)"
                R"("param":null,"code":null}})"
                "\n"});
}

// ---- streams -----------------------------------------------------------------------------------

TEST(Handle, ChatStreamsByDefault) {
  const auto p = run(request("POST", "/api/chat", R"({"model":"llama3.2","messages":[]})"));
  const auto s = stream_of(p);
  EXPECT_EQ(s.ctx.kind, stream_kind::ndjson_chat);
  EXPECT_EQ(s.ctx.model, "llama3.2");
  EXPECT_FALSE(s.ctx.legacy_chunks);
  EXPECT_FALSE(s.ctx.include_usage);
  EXPECT_TRUE(s.headers.empty());
  EXPECT_EQ(p.model, "llama3.2");
  EXPECT_EQ(p.timeline.tokens, 24);
  EXPECT_EQ(p.timeline.first_token_ms, 40);
  EXPECT_EQ(p.correlation_id, "");
}

TEST(Handle, GenerateStreamsByDefault) {
  const auto p = run(request("POST", "/api/generate", R"({"model":"steady","prompt":"hi"})"));
  EXPECT_EQ(stream_of(p).ctx.kind, stream_kind::ndjson_generate);
  EXPECT_EQ(stream_of(p).ctx.model, "steady");
  EXPECT_EQ(p.timeline.tokens, 100);
  EXPECT_EQ(p.timeline.gap_ms, 20);
}

TEST(Handle, ChatWithStreamFalseIsOneDelayedObject) {
  const auto p = run(request("POST", "/api/chat",
                             R"({"model":"llama3.2","stream":false,"streamcheck":{"tokens":3}})"));
  const auto w = whole_of(p);
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.headers, (header_list{{"Content-Type", json_type}}));
  EXPECT_EQ(w.delay_ms, 40 + 3 * 15); // the whole generation, then the answer
  const json o = json::parse(w.body);
  EXPECT_EQ(o["message"], (json{{"role", "assistant"}, {"content", "The sky is"}}));
  EXPECT_EQ(o["done"], true);
  EXPECT_EQ(w.body.back(), '}');
}

TEST(Handle, GenerateWithStreamFalse) {
  const auto w =
      whole_of(run(request("POST", "/api/generate",
                           R"({"model":"llama3.2","stream":false,"streamcheck":{"tokens":2}})")));
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(json::parse(w.body)["response"], "The sky");
}

TEST(Handle, V1ChatDoesNotStreamByDefault) {
  const auto p = run(request("POST", "/v1/chat/completions",
                             R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})"),
                     7);
  const auto w = whole_of(p);
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.headers, (header_list{{"Content-Type", "application/json"}}));
  EXPECT_EQ(w.delay_ms, 400);
  ASSERT_FALSE(w.body.empty());
  EXPECT_EQ(w.body.back(), '\n');
  const json o = json::parse(w.body);
  EXPECT_EQ(o["id"], "chatcmpl-7");
  EXPECT_EQ(o["object"], "chat.completion");
  EXPECT_EQ(o["model"], "llama3.2");
}

TEST(Handle, V1ChatStreamsWhenAsked) {
  const auto before = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto p =
      run(request("POST", "/v1/chat/completions", R"({"model":"llama3.2","stream":true})"), 1006);
  const auto s = stream_of(p);
  EXPECT_EQ(s.ctx.kind, stream_kind::sse_chat);
  EXPECT_EQ(s.ctx.completion_id, "chatcmpl-7"); // 1006 % 999
  EXPECT_GE(s.ctx.created, before);
  EXPECT_LE(s.ctx.created, before + 5);
}

TEST(Handle, V1CompletionsStream) {
  const auto p =
      run(request("POST", "/v1/completions", R"({"model":"llama3.2","prompt":"hi","stream":true})"),
          42);
  EXPECT_EQ(stream_of(p).ctx.kind, stream_kind::sse_completion);
  EXPECT_EQ(stream_of(p).ctx.completion_id, "cmpl-42");
  const auto w = whole_of(
      run(request("POST", "/v1/completions", R"({"model":"llama3.2","prompt":"hi"})"), 42));
  EXPECT_EQ(json::parse(w.body)["object"], "text_completion");
}

TEST(Handle, StreamOptionsIncludeUsage) {
  auto p =
      run(request("POST", "/v1/chat/completions",
                  R"({"model":"llama3.2","stream":true,"stream_options":{"include_usage":true}})"));
  EXPECT_TRUE(stream_of(p).ctx.include_usage);
  p = run(
      request("POST", "/v1/chat/completions",
              R"({"model":"llama3.2","stream":true,"stream_options":{"include_usage":false}})"));
  EXPECT_FALSE(stream_of(p).ctx.include_usage);
  p = run(request("POST", "/v1/chat/completions",
                  R"({"model":"llama3.2","stream":true,"stream_options":{}})"));
  EXPECT_FALSE(stream_of(p).ctx.include_usage);
  ASSERT_NO_THROW(
      p = run(request(
          "POST", "/v1/chat/completions",
          R"({"model":"llama3.2","stream":true,"stream_options":{"include_usage":"yes"}})")));
  EXPECT_FALSE(stream_of(p).ctx.include_usage);
}

TEST(Handle, LegacyChunksFromOptionsOrScenario) {
  auto o = ollama_options();
  o.legacy_chunks = true;
  const auto body = std::string(R"({"model":"llama3.2","stream":true})");
  EXPECT_TRUE(
      stream_of(run(request("POST", "/v1/chat/completions", body), 1, o)).ctx.legacy_chunks);
  EXPECT_TRUE(stream_of(run(request("POST", "/v1/chat/completions",
                                    R"({"model":"llama3.2","stream":true,)"
                                    R"("streamcheck":{"legacy_chunks":true}})")))
                  .ctx.legacy_chunks);
  EXPECT_FALSE(stream_of(run(request("POST", "/v1/chat/completions", body))).ctx.legacy_chunks);
}

TEST(Handle, PullStreamsProgress) {
  const auto p = run(request("POST", "/api/pull", R"({"name":"llama3.2"})"));
  EXPECT_EQ(stream_of(p).ctx.kind, stream_kind::ndjson_pull);
  EXPECT_EQ(p.timeline.first_token_ms, 0);
  EXPECT_EQ(p.timeline.gap_ms, 60);
  EXPECT_EQ(p.timeline.tokens, 10);
  const auto w = whole_of(run(request("POST", "/api/pull", R"({"model":"x","stream":false})")));
  EXPECT_EQ(w.body, R"({"status":"success"})");
  EXPECT_EQ(w.delay_ms, 600);
}

TEST(Handle, Embeddings) {
  expect_whole(run(request("POST", "/api/embed", R"({"model":"m","input":["a"]})")),
               {200, {{"Content-Type", json_type}}, embed_body("m", json::array({"a"}))});
  expect_whole(run(request("POST", "/api/embed", R"({"model":"m","input":5})")),
               {400, {{"Content-Type", json_type}}, R"({"error":"invalid input type"})"});
  expect_whole(run(request("POST", "/api/embeddings", R"({"model":"m","prompt":""})")),
               {200, {{"Content-Type", json_type}}, R"({"embedding":[]})"});
  expect_whole(run(request("POST", "/v1/embeddings", R"({"model":"m","input":"a"})")),
               {200, {{"Content-Type", "application/json"}}, v1_embeddings_body("m", "a")});
  expect_whole(run(request("POST", "/v1/embeddings",
                           R"({"model":"m","input":"a","encoding_format":"float"})")),
               {200, {{"Content-Type", "application/json"}}, v1_embeddings_body("m", "a")});
  expect_whole(run(request("POST", "/v1/embeddings",
                           R"({"model":"m","input":"a","encoding_format":"base64"})")),
               {200, {{"Content-Type", "application/json"}}, v1_embeddings_body("m", "a", true)});
  expect_whole(
      run(request("POST", "/v1/embeddings",
                  R"({"model":"m","input":"a","encoding_format":"hex"})")),
      {400,
       {{"Content-Type", json_type}},
       R"({"error":{"message":"Invalid value for 'encoding_format' = hex. Supported values: )"
       R"(['float', 'base64'].","type":"invalid_request_error","param":null,"code":null}})"});
  expect_whole(run(request("POST", "/v1/embeddings", R"({"model":"m","input":[]})")),
               {400,
                {{"Content-Type", "application/json"}},
                R"({"error":{"message":"invalid input","type":"invalid_request_error",)"
                R"("param":null,"code":null}})"
                "\n"});
}

// ---- scripted behaviour ------------------------------------------------------------------------

TEST(Handle, ScriptedStatusIsANativeErrorAfterTheFirstTokenDelay) {
  const auto p =
      run(request("POST", "/api/chat",
                  R"({"model":"llama3.2","streamcheck":{"status":503,"first_token_ms":250}})"));
  expect_whole(
      p, {503, {{"Content-Type", json_type}}, R"({"error":"streamcheck: scripted status 503"})"});
  EXPECT_EQ(whole_of(p).delay_ms, 250);
}

TEST(Handle, ScriptedStatusOnV1IsAnOpenAiError) {
  expect_whole(run(request("POST", "/v1/chat/completions",
                           R"({"model":"llama3.2","streamcheck":{"status":500}})")),
               {500,
                {{"Content-Type", "application/json"}},
                R"({"error":{"message":"streamcheck: scripted status 500","type":"api_error",)"
                R"("param":null,"code":null}})"
                "\n"});
  expect_whole(
      run(request("POST", "/v1/chat/completions",
                  R"({"model":"llama3.2","streamcheck":{"status":404}})")),
      {404,
       {{"Content-Type", "application/json"}},
       R"({"error":{"message":"streamcheck: scripted status 404","type":"not_found_error",)"
       R"("param":null,"code":null}})"
       "\n"});
}

TEST(Handle, ScenarioErrorsAre400) {
  expect_whole(
      run(request("POST", "/api/chat", R"({"model":"llama3.2","streamcheck":{"gap_ms":-5}})")),
      {400,
       {{"Content-Type", json_type}},
       R"({"error":"streamcheck.gap_ms: must be an integer in [0, 3600000], got -5"})"});
  expect_whole(run(request("GET", "/api/tags?streamcheck.nope=1")),
               {400,
                {{"Content-Type", json_type}},
                R"({"error":"streamcheck.nope: unknown scenario key"})"});
}

TEST(Handle, ScenarioErrorsOnV1UseTheOpenAiShape) {
  expect_whole(run(request("POST", "/v1/chat/completions",
                           R"({"model":"llama3.2","streamcheck":{"abort":"reset"}})")),
               {400,
                {{"Content-Type", "application/json"}},
                R"({"error":{"message":"streamcheck.abort: must be \"fin\", \"rst\" or \"none\", )"
                R"(got \"reset\"","type":"invalid_request_error","param":null,"code":null}})"
                "\n"});
}

TEST(Handle, V1UnknownModelIsAnOpenAiNotFound) {
  expect_whole(run(request("POST", "/v1/chat/completions", R"({"model":"llama9","stream":true})")),
               {404,
                {{"Content-Type", "application/json"}},
                R"({"error":{"message":"model 'llama9' not found","type":"not_found_error",)"
                R"("param":null,"code":null}})"
                "\n"});
}

TEST(Handle, V1DecodeErrorsComeFromTheMiddleware) {
  // gin AbortWithStatusJSON: charset, no trailing newline; an empty body is Go's "EOF".
  expect_whole(run(request("POST", "/v1/chat/completions", "")),
               {400,
                {{"Content-Type", json_type}},
                R"({"error":{"message":"EOF","type":"invalid_request_error","param":null,)"
                R"("code":null}})"});
  expect_whole(run(request("POST", "/v1/completions", "{")),
               {400,
                {{"Content-Type", json_type}},
                R"({"error":{"message":"unexpected EOF","type":"invalid_request_error",)"
                R"("param":null,"code":null}})"});
}

TEST(Handle, ScriptedHeadersOnStreamsAndWholeResponses) {
  auto p =
      run(request("POST", "/api/chat",
                  R"({"model":"llama3.2","streamcheck":{"headers":{"X-Accel-Buffering":"no"}}})"));
  EXPECT_EQ(stream_of(p).headers, (header_list{{"X-Accel-Buffering", "no"}}));
  p = run(request("GET", "/api/tags?streamcheck.headers.Cache-Control=no-cache&"
                         "streamcheck.first_token_ms=250"));
  const auto w = whole_of(p);
  EXPECT_EQ(w.headers, (header_list{{"Content-Type", json_type}, {"Cache-Control", "no-cache"}}));
  EXPECT_EQ(w.delay_ms, 250);
}

TEST(Handle, QueryOverridesApplyWhenTheBodyHasNone) {
  auto p = run(request("POST", "/api/chat?streamcheck.tokens=3&streamcheck.id=q1",
                       R"({"model":"llama3.2"})"));
  EXPECT_EQ(p.timeline.tokens, 3);
  EXPECT_EQ(p.correlation_id, "q1");
  // A body "streamcheck" object replaces the query's overrides.
  p = run(request("POST", "/api/chat?streamcheck.tokens=3",
                  R"({"model":"llama3.2","streamcheck":{"gap_ms":1}})"));
  EXPECT_EQ(p.timeline.tokens, 24);
  EXPECT_EQ(p.timeline.gap_ms, 1);
}

// ---- correlation ids ---------------------------------------------------------------------------

TEST(Handle, CorrelationIdFromTheBody) {
  const auto p = run(
      request("POST", "/api/chat", R"({"model":"llama3.2","streamcheck":{"id":"run-1/check-2"}})"));
  EXPECT_EQ(p.correlation_id, "run-1/check-2");
  EXPECT_EQ(p.timeline.id, "run-1/check-2");
}

TEST(Handle, CorrelationIdFromTheQuery) {
  EXPECT_EQ(run(request("GET", "/api/tags?streamcheck.id=t1")).correlation_id, "t1");
  EXPECT_EQ(run(request("GET", "/api/nope?streamcheck.id=t2")).correlation_id, "t2");
  EXPECT_EQ(run(request("GET", "/api/chat?streamcheck.id=t3")).correlation_id, "t3");
  EXPECT_EQ(run(request("POST", "/api/chat?streamcheck.id=t4", "")).correlation_id, "t4");
  // The body's id wins; the query's fills in when the body has none.
  EXPECT_EQ(run(request("POST", "/api/chat?streamcheck.id=q",
                        R"({"model":"llama3.2","streamcheck":{"id":"b"}})"))
                .correlation_id,
            "b");
  EXPECT_EQ(run(request("POST", "/api/chat?streamcheck.id=q",
                        R"({"model":"llama3.2","streamcheck":{"tokens":2}})"))
                .correlation_id,
            "q");
}

TEST(Handle, CorrelationIdEvenWhenThePolicyRefuses) {
  auto r = request("POST", "/api/chat?streamcheck.id=r1", "{}", {{"Origin", "null"}});
  EXPECT_EQ(run(r).correlation_id, "r1");
}

// ---- policy ------------------------------------------------------------------------------------

TEST(Handle, CorsHeadersAreAddedToStreams) {
  const auto p = run(request("POST", "/api/chat",
                             R"({"model":"llama3.2","streamcheck":{"headers":{"X-A":"1"}}})",
                             {{"Origin", "http://localhost:3000"}}));
  EXPECT_EQ(stream_of(p).headers,
            (header_list{{"X-A", "1"},
                         {"Access-Control-Allow-Origin", "http://localhost:3000"},
                         {"Vary", "Origin"}}));
}

TEST(Handle, CorsHeadersAreAddedToWholeAndErrorResponses) {
  const header_list origin = {{"Origin", "http://localhost:3000"}};
  expect_whole(run(request("GET", "/api/version", "", origin)),
               {200,
                {{"Content-Type", json_type},
                 {"Access-Control-Allow-Origin", "http://localhost:3000"},
                 {"Vary", "Origin"}},
                R"({"version":"0.12.0"})"});
  expect_whole(run(request("GET", "/nope", "", origin)),
               {404,
                {{"Content-Type", "text/plain"},
                 {"Access-Control-Allow-Origin", "http://localhost:3000"},
                 {"Vary", "Origin"}},
                "404 page not found"});
  expect_whole(run(request("POST", "/api/chat", R"({"model":"llama9"})", origin)),
               {404,
                {{"Content-Type", json_type},
                 {"Access-Control-Allow-Origin", "http://localhost:3000"},
                 {"Vary", "Origin"}},
                R"({"error":"model 'llama9' not found"})"});
  expect_whole(run(request("GET", "/api/chat", "", origin)),
               {405,
                {{"Content-Type", "text/plain"},
                 {"Allow", "POST"},
                 {"Access-Control-Allow-Origin", "http://localhost:3000"},
                 {"Vary", "Origin"}},
                "405 method not allowed"});
}

TEST(Handle, AllowAllPolicySendsStar) {
  mock_options o;
  o.request_policy = *policy_for_profile("openai");
  const auto p =
      run(request("POST", "/v1/chat/completions", R"({"model":"llama3.2","stream":true})",
                  {{"Origin", "chrome-extension://abc"}}),
          1, o);
  EXPECT_EQ(stream_of(p).headers, (header_list{{"Access-Control-Allow-Origin", "*"}}));
}

TEST(Handle, RefusedOriginIsABare403) {
  for (const char *origin : {"chrome-extension://abc", "http://[::1]:3000", "null"}) {
    const auto p =
        run(request("POST", "/api/chat", R"({"model":"llama3.2"})", {{"Origin", origin}}));
    expect_whole(p, {403, {}, ""});
    EXPECT_EQ(whole_of(p).delay_ms, 0);
  }
}

TEST(Handle, PublicHostIsABare403) {
  auto r = request("GET", "/api/tags");
  r.headers = {{"Host", "ollama.example.com"}};
  expect_whole(run(r), {403, {}, ""});
}

TEST(Handle, PreflightIs204WithCorsHeadersAndGinsAllow) {
  const auto p = run(
      request("OPTIONS", "/api/chat", "",
              {{"Origin", "http://localhost:3000"}, {"Access-Control-Request-Method", "POST"}}));
  const auto w = whole_of(p);
  EXPECT_EQ(w.status, 204);
  EXPECT_EQ(w.body, "");
  ASSERT_EQ(w.headers.size(), 8u);
  EXPECT_EQ(w.headers[0], (std::pair<std::string, std::string>{"Allow", "POST"}));
  EXPECT_EQ(
      header_list(w.headers.begin() + 1, w.headers.end()),
      decide(*policy_for_profile("ollama"), "OPTIONS", "http://localhost:3000", local_host, true)
          .headers);
}

TEST(Handle, PreflightOnAnUnknownPathHasNoAllow) {
  const auto w =
      whole_of(run(request("OPTIONS", "/nope", "", {{"Origin", "http://localhost:3000"}})));
  EXPECT_EQ(w.status, 204);
  EXPECT_EQ(w.headers.size(), 7u);
  EXPECT_EQ(w.headers[0].first, "Access-Control-Allow-Headers");
}

TEST(Handle, OptionsOnAnAllowedHostNameIs204) {
  expect_whole(run(request("OPTIONS", "/api/chat")), {204, {}, ""});
}

TEST(Handle, OptionsOnAnIpHostIsGins405) {
  auto r = request("OPTIONS", "/api/chat");
  r.headers = {{"Host", "127.0.0.1:11434"}};
  expect_whole(
      run(r), {405, {{"Content-Type", "text/plain"}, {"Allow", "POST"}}, "405 method not allowed"});
}

} // namespace
} // namespace streamcheck::mock

namespace streamcheck::mock {

TEST(HandlerPolicyOverride, QueryPolicyAppliesToOneRequest) {
  mock_options opts;
  opts.request_policy = *policy_for_profile("ollama");
  request_view req;
  req.method = "OPTIONS";
  req.target = "/v1/chat/completions?streamcheck.policy=ollama-open&streamcheck.id=p1";
  req.headers = {{"Host", "127.0.0.1:1"}, {"Origin", "https://app.example.test"}};
  const plan open = handle(req, opts, 1);
  const auto &w = std::get<whole_response>(open.response);
  EXPECT_EQ(w.status, 204);
  EXPECT_EQ(open.correlation_id, "p1");
  req.target = "/v1/chat/completions";
  EXPECT_EQ(std::get<whole_response>(handle(req, opts, 2).response).status, 403);
  req.target = "/v1/chat/completions?streamcheck.policy=strict";
  EXPECT_EQ(std::get<whole_response>(handle(req, opts, 3).response).status, 400);
}

} // namespace streamcheck::mock

namespace streamcheck::mock {

TEST(HandlerPolicyOverride, RefusedRequestsKeepTheirBodyCorrelationId) {
  mock_options opts;
  opts.request_policy = *policy_for_profile("ollama");
  request_view req;
  req.method = "POST";
  req.target = "/api/chat";
  req.headers = {{"Host", "llm.example.test"}};
  req.body = R"({"model":"llama3.2","streamcheck":{"id":"refused-1"}})";
  const plan p = handle(req, opts, 1);
  EXPECT_EQ(std::get<whole_response>(p.response).status, 403);
  EXPECT_EQ(p.correlation_id, "refused-1");
}

} // namespace streamcheck::mock
