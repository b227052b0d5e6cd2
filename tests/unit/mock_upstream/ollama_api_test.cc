#include "mock_upstream/ollama_api.h"

#include <chrono>
#include <cmath>
#include <gtest/gtest.h>

#include <cstring>
#include <regex>

namespace streamcheck::mock {
namespace {

const std::regex rfc3339_utc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z)");

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

stream_context ctx(stream_kind kind) {
  stream_context c;
  c.kind = kind;
  c.model = "llama3.2";
  c.created = 1735000000;
  c.completion_id = kind == stream_kind::sse_completion ? "cmpl-417" : "chatcmpl-417";
  return c;
}

// One NDJSON line: exactly one '\n', at the end.
json ndjson_line(const std::string &bytes) {
  EXPECT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.back(), '\n');
  EXPECT_EQ(bytes.find('\n'), bytes.size() - 1) << bytes;
  return json::parse(bytes.substr(0, bytes.size() - 1));
}

// SSE events "data: X\n\n..." -> the X strings.
std::vector<std::string> sse_events(const std::string &bytes) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    EXPECT_EQ(bytes.compare(pos, 6, "data: "), 0) << bytes.substr(pos);
    const auto end = bytes.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos);
    if (end == std::string::npos) break;
    const std::string data = bytes.substr(pos + 6, end - pos - 6);
    EXPECT_EQ(data.find('\n'), std::string::npos);
    out.push_back(data);
    pos = end + 2;
  }
  return out;
}

std::vector<std::string> keys(const json &o) {
  std::vector<std::string> out;
  for (const auto &[k, v] : o.items())
    out.push_back(k);
  return out;
}

using key_list = std::vector<std::string>;

void expect_stamp(const json &o, int seq, std::int64_t t_us) {
  ASSERT_TRUE(o.contains("streamcheck")) << o.dump();
  EXPECT_EQ(o["streamcheck"], (json{{"seq", seq}, {"t_us", t_us}}));
  EXPECT_EQ(keys(o).back(), "streamcheck"); // after every field a client reads
}

// ---- routes -----------------------------------------------------------------------------------

TEST(MatchRoute, KnownRoutesAndMethods) {
  auto m = match_route("GET", "/");
  EXPECT_EQ(m.which, route::root);
  EXPECT_TRUE(m.method_allowed);
  EXPECT_TRUE(match_route("HEAD", "/").method_allowed);
  EXPECT_EQ(match_route("POST", "/api/chat").which, route::chat);
  EXPECT_TRUE(match_route("POST", "/api/chat").method_allowed);
  EXPECT_EQ(match_route("POST", "/v1/chat/completions").which, route::v1_chat);
  EXPECT_EQ(match_route("GET", "/api/tags").which, route::tags);
  EXPECT_EQ(match_route("HEAD", "/api/version").which, route::version);
  EXPECT_TRUE(match_route("HEAD", "/api/version").method_allowed);
}

TEST(MatchRoute, AllowInGinOrder) {
  struct c {
    const char *method, *path, *allow;
  };
  for (const auto &[method, path, allow] :
       {c{"POST", "/", "HEAD, GET"}, c{"GET", "/api/chat", "POST"}, c{"HEAD", "/api/ps", "GET"},
        c{"DELETE", "/api/tags", "HEAD, GET"}, c{"POST", "/api/version", "HEAD, GET"},
        c{"GET", "/v1/chat/completions", "POST"}, c{"POST", "/v1/models", "GET"},
        c{"POST", "/v1/models/llama3.2", "GET"}, c{"OPTIONS", "/api/generate", "POST"}}) {
    const auto m = match_route(method, path);
    EXPECT_NE(m.which, route::not_found) << method << " " << path;
    EXPECT_FALSE(m.method_allowed) << method << " " << path;
    EXPECT_EQ(m.allow, allow) << method << " " << path;
  }
}

TEST(MatchRoute, MethodsAreCaseSensitive) {
  EXPECT_FALSE(match_route("get", "/").method_allowed);
  EXPECT_FALSE(match_route("GE", "/").method_allowed);
}

TEST(MatchRoute, ModelParameterIsOneSegment) {
  auto m = match_route("GET", "/v1/models/llama3.2:latest");
  EXPECT_EQ(m.which, route::v1_model);
  EXPECT_TRUE(m.method_allowed);
  EXPECT_EQ(m.param, "llama3.2:latest");
  EXPECT_EQ(match_route("GET", "/v1/models/ns/name").which, route::not_found);
  EXPECT_EQ(match_route("GET", "/v1/models/").which, route::not_found);
}

TEST(MatchRoute, UnknownPaths) {
  for (const char *p : {"/api/unknown", "/api/tags/", "/api", "", "/API/TAGS", "/v1/chat"})
    EXPECT_EQ(match_route("GET", p).which, route::not_found) << p;
}

// ---- token text -------------------------------------------------------------------------------

TEST(TokenText, WordsWithoutLeadingSpaceOnTheFirst) {
  scenario s;
  EXPECT_EQ(token_text(s, 0), "The");
  EXPECT_EQ(token_text(s, 1), " sky");
  EXPECT_EQ(token_text(s, 19), " &");
  EXPECT_EQ(token_text(s, 26), "The"); // wraps after 26 words
  EXPECT_EQ(token_text(s, 27), " sky");
}

TEST(TokenText, SeedShiftsTheWords) {
  scenario s;
  s.seed = 1;
  EXPECT_EQ(token_text(s, 0), "scattering");
  EXPECT_EQ(token_text(s, 1), ",");
  EXPECT_EQ(token_text(s, 1), token_text(s, 1)); // deterministic
}

TEST(TokenText, ExactByteSize) {
  scenario s;
  for (int bytes : {1, 2, 5, 63, 64, 1000}) {
    s.token_bytes = bytes;
    for (int k = 0; k < 30; ++k)
      EXPECT_EQ(token_text(s, k).size(), static_cast<std::size_t>(bytes)) << bytes << " " << k;
  }
  s.token_bytes = 5;
  EXPECT_EQ(token_text(s, 1), " sky ");
  EXPECT_EQ(token_text(s, 0), "TheTh");
  s.token_bytes = 1;
  EXPECT_EQ(token_text(s, 8), ",");
}

// ---- streamed events --------------------------------------------------------------------------

TEST(RenderToken, GenerateLine) {
  const auto bytes = render_token(ctx(stream_kind::ndjson_generate), scenario{}, 1, 2, 1234);
  const json o = ndjson_line(bytes);
  EXPECT_EQ(keys(o), (key_list{"model", "created_at", "response", "done", "streamcheck"}));
  EXPECT_EQ(o["model"], "llama3.2");
  EXPECT_TRUE(std::regex_match(o["created_at"].get<std::string>(), rfc3339_utc)) << o["created_at"];
  EXPECT_EQ(o["response"], " sky");
  EXPECT_EQ(o["done"], false);
  expect_stamp(o, 2, 1234);
}

TEST(RenderToken, ChatLine) {
  const auto bytes = render_token(ctx(stream_kind::ndjson_chat), scenario{}, 0, 0, 40'123);
  const json o = ndjson_line(bytes);
  EXPECT_EQ(keys(o), (key_list{"model", "created_at", "message", "done", "streamcheck"}));
  EXPECT_EQ(o["message"], (json{{"role", "assistant"}, {"content", "The"}}));
  EXPECT_EQ(keys(o["message"]), (key_list{"role", "content"}));
  EXPECT_EQ(o["done"], false);
  expect_stamp(o, 0, 40'123);
}

TEST(RenderToken, AmpersandIsEscapedOnTheWire) {
  const auto bytes = render_token(ctx(stream_kind::ndjson_chat), scenario{}, 19, 19, 1);
  EXPECT_NE(bytes.find(R"("content":" \u0026")"), std::string::npos) << bytes;
  EXPECT_EQ(bytes.find('&'), std::string::npos);
}

TEST(RenderToken, PullProgressLines) {
  scenario s;
  s.tokens = 10;
  const json first = ndjson_line(render_token(ctx(stream_kind::ndjson_pull), s, 0, 0, 7));
  EXPECT_EQ(keys(first), (key_list{"status", "streamcheck"}));
  EXPECT_EQ(first["status"], "pulling manifest");
  expect_stamp(first, 0, 7);
  const json layer = ndjson_line(render_token(ctx(stream_kind::ndjson_pull), s, 3, 3, 9));
  EXPECT_EQ(keys(layer), (key_list{"status", "digest", "total", "completed", "streamcheck"}));
  EXPECT_EQ(layer["status"], "pulling 6a0746a1ec1a");
  EXPECT_EQ(layer["digest"],
            "sha256:6a0746a1ec1aa3e7ee75f1a6e1a2b1b5e1b0c8e4a5d3f2e1c0b9a8d7c6e5f4a3");
  EXPECT_EQ(layer["total"], 2019377376LL);
  EXPECT_EQ(layer["completed"], 2019377376LL / 10 * 3);
  expect_stamp(layer, 3, 9);
}

TEST(RenderToken, SseChatFirstChunkByteForByte) {
  EXPECT_EQ(render_token(ctx(stream_kind::sse_chat), scenario{}, 0, 0, 55),
            "data: "
            R"({"id":"chatcmpl-417","object":"chat.completion.chunk","created":1735000000,)"
            R"("model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,)"
            R"("delta":{"role":"assistant","content":"The"},"finish_reason":null}],)"
            R"("streamcheck":{"seq":0,"t_us":55}})"
            "\n\n");
}

TEST(RenderToken, SseChatLaterChunksHaveNoRole) {
  const auto events = sse_events(render_token(ctx(stream_kind::sse_chat), scenario{}, 1, 1, 70));
  ASSERT_EQ(events.size(), 1u);
  const json o = json::parse(events[0]);
  EXPECT_EQ(o["choices"][0]["delta"], (json{{"content", " sky"}}));
  EXPECT_TRUE(o["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(o["created"], 1735000000);
  expect_stamp(o, 1, 70);
}

TEST(RenderToken, LegacyChunksRepeatRoleAndTakeAFreshCreated) {
  auto c = ctx(stream_kind::sse_chat);
  c.legacy_chunks = true;
  const auto before = unix_now_s();
  const auto events = sse_events(render_token(c, scenario{}, 3, 3, 99));
  const auto after = unix_now_s();
  ASSERT_EQ(events.size(), 1u);
  const json o = json::parse(events[0]);
  EXPECT_EQ(keys(o), (key_list{"id", "object", "created", "model", "system_fingerprint", "choices",
                               "streamcheck"}));
  EXPECT_EQ(o["choices"][0]["delta"], (json{{"role", "assistant"}, {"content", " blue"}}));
  EXPECT_GE(o["created"].get<std::int64_t>(), before);
  EXPECT_LE(o["created"].get<std::int64_t>(), after);
  expect_stamp(o, 3, 99);
}

TEST(RenderToken, SseCompletionChunk) {
  EXPECT_EQ(render_token(ctx(stream_kind::sse_completion), scenario{}, 0, 0, 5),
            "data: "
            R"({"id":"cmpl-417","object":"text_completion","created":1735000000,)"
            R"("model":"llama3.2","system_fingerprint":"fp_ollama",)"
            R"("choices":[{"text":"The","index":0,"finish_reason":null}],)"
            R"("streamcheck":{"seq":0,"t_us":5}})"
            "\n\n");
}

TEST(RenderToken, SseCompletionChunkWithUsageCarriesZeroUsage) {
  auto c = ctx(stream_kind::sse_completion);
  c.include_usage = true;
  const auto events = sse_events(render_token(c, scenario{}, 1, 1, 6));
  ASSERT_EQ(events.size(), 1u);
  const json o = json::parse(events[0]);
  EXPECT_EQ(o["usage"],
            (json{{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}}));
  EXPECT_EQ(keys(o), (key_list{"id", "object", "created", "model", "system_fingerprint", "choices",
                               "usage", "streamcheck"}));
}

TEST(RenderToken, EveryKindParsesAndIsStamped) {
  for (auto kind : {stream_kind::ndjson_generate, stream_kind::ndjson_chat,
                    stream_kind::ndjson_pull, stream_kind::sse_chat, stream_kind::sse_completion}) {
    for (int k : {0, 1, 25}) {
      const auto bytes = render_token(ctx(kind), scenario{}, k, k + 100, 1'000'000 + k);
      json o;
      if (content_type_of(kind) == "text/event-stream") {
        const auto events = sse_events(bytes);
        ASSERT_EQ(events.size(), 1u);
        o = json::parse(events[0]);
      } else {
        o = ndjson_line(bytes);
      }
      expect_stamp(o, k + 100, 1'000'000 + k);
    }
  }
}

// ---- final events -----------------------------------------------------------------------------

TEST(RenderFinal, GenerateDoneWithMetrics) {
  const json o = ndjson_line(render_final(ctx(stream_kind::ndjson_generate), scenario{}, 24, 400));
  EXPECT_EQ(keys(o),
            (key_list{"model", "created_at", "response", "done", "done_reason", "context",
                      "total_duration", "load_duration", "prompt_eval_count",
                      "prompt_eval_duration", "eval_count", "eval_duration", "streamcheck"}));
  EXPECT_EQ(o["response"], "");
  EXPECT_EQ(o["done"], true);
  EXPECT_EQ(o["done_reason"], "stop");
  EXPECT_EQ(o["context"], json::array({1, 2, 3}));
  EXPECT_EQ(o["total_duration"], 401'250'000); // 24 * 15 ms + 40 ms + 1.25 ms
  EXPECT_EQ(o["load_duration"], 1'019'500);
  EXPECT_EQ(o["prompt_eval_count"], 26);
  EXPECT_EQ(o["prompt_eval_duration"], 40'000'000);
  EXPECT_EQ(o["eval_count"], 24);
  EXPECT_EQ(o["eval_duration"], 360'000'000);
  expect_stamp(o, 24, 400);
}

TEST(RenderFinal, ChatDoneWithEmptyContent) {
  const json o = ndjson_line(render_final(ctx(stream_kind::ndjson_chat), scenario{}, 24, 401));
  EXPECT_EQ(keys(o),
            (key_list{"model", "created_at", "message", "done", "done_reason", "total_duration",
                      "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count",
                      "eval_duration", "streamcheck"}));
  EXPECT_EQ(o["message"], (json{{"role", "assistant"}, {"content", ""}}));
  EXPECT_EQ(o["done"], true);
  EXPECT_EQ(o["done_reason"], "stop");
  EXPECT_TRUE(std::regex_match(o["created_at"].get<std::string>(), rfc3339_utc));
  expect_stamp(o, 24, 401);
}

TEST(RenderFinal, PullEndsWithSuccess) {
  const auto bytes = render_final(ctx(stream_kind::ndjson_pull), scenario{}, 10, 600);
  EXPECT_EQ(bytes, "{\"status\":\"verifying sha256 digest\"}\n"
                   "{\"status\":\"writing manifest\"}\n"
                   "{\"status\":\"success\",\"streamcheck\":{\"seq\":10,\"t_us\":600}}\n");
}

TEST(RenderFinal, SseChatEndsWithDone) {
  EXPECT_EQ(render_final(ctx(stream_kind::sse_chat), scenario{}, 24, 500),
            "data: "
            R"({"id":"chatcmpl-417","object":"chat.completion.chunk","created":1735000000,)"
            R"("model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,)"
            R"("delta":{},"finish_reason":"stop"}],"streamcheck":{"seq":24,"t_us":500}})"
            "\n\n"
            "data: [DONE]\n\n");
}

TEST(RenderFinal, SseChatUsageChunkBeforeDone) {
  auto c = ctx(stream_kind::sse_chat);
  c.include_usage = true;
  const auto bytes = render_final(c, scenario{}, 24, 500);
  const auto events = sse_events(bytes);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1], R"({"id":"chatcmpl-417","object":"chat.completion.chunk",)"
                       R"("created":1735000000,"model":"llama3.2","system_fingerprint":)"
                       R"("fp_ollama","choices":[],"usage":{"prompt_tokens":26,)"
                       R"("completion_tokens":24,"total_tokens":50}})");
  EXPECT_EQ(events[2], "[DONE]");
  EXPECT_TRUE(bytes.ends_with("data: [DONE]\n\n"));
}

TEST(RenderFinal, LegacySseChatFinalChunk) {
  auto c = ctx(stream_kind::sse_chat);
  c.legacy_chunks = true;
  const auto events = sse_events(render_final(c, scenario{}, 24, 500));
  ASSERT_EQ(events.size(), 2u);
  const json o = json::parse(events[0]);
  EXPECT_EQ(o["choices"], json::parse(R"([{"index":0,"delta":{"role":"assistant","content":""},)"
                                      R"("finish_reason":"stop"}])"));
  EXPECT_EQ(events[1], "[DONE]");
}

TEST(RenderFinal, SseCompletion) {
  auto c = ctx(stream_kind::sse_completion);
  EXPECT_EQ(render_final(c, scenario{}, 24, 500),
            "data: "
            R"({"id":"cmpl-417","object":"text_completion","created":1735000000,)"
            R"("model":"llama3.2","system_fingerprint":"fp_ollama",)"
            R"("choices":[{"text":"","index":0,"finish_reason":"stop"}],)"
            R"("streamcheck":{"seq":24,"t_us":500}})"
            "\n\n"
            "data: [DONE]\n\n");
}

TEST(RenderFinal, SseCompletionWithUsage) {
  auto c = ctx(stream_kind::sse_completion);
  c.include_usage = true;
  scenario s;
  s.tokens = 3;
  const auto events = sse_events(render_final(c, s, 3, 500));
  ASSERT_EQ(events.size(), 3u);
  const json done = json::parse(events[0]);
  EXPECT_EQ(done["choices"][0]["finish_reason"], "stop");
  // Every chunk of a /v1/completions stream carries zero usage when include_usage is set.
  EXPECT_EQ(done["usage"],
            (json{{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}}));
  expect_stamp(done, 3, 500);
  const json usage = json::parse(events[1]);
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"],
            (json{{"prompt_tokens", 26}, {"completion_tokens", 3}, {"total_tokens", 29}}));
  EXPECT_EQ(events[2], "[DONE]");
}

TEST(RenderFinal, EveryKindIsStamped) {
  for (auto kind : {stream_kind::ndjson_generate, stream_kind::ndjson_chat,
                    stream_kind::ndjson_pull, stream_kind::sse_chat, stream_kind::sse_completion}) {
    const auto bytes = render_final(ctx(kind), scenario{}, 77, 88);
    EXPECT_NE(bytes.find(R"("streamcheck":{"seq":77,"t_us":88})"), std::string::npos) << bytes;
    if (content_type_of(kind) == "text/event-stream")
      EXPECT_TRUE(bytes.ends_with("data: [DONE]\n\n")) << bytes;
    else
      EXPECT_TRUE(bytes.ends_with("}}\n")) << bytes;
  }
}

// ---- in-band errors ---------------------------------------------------------------------------

TEST(RenderInBandError, NativeLine) {
  for (auto kind :
       {stream_kind::ndjson_generate, stream_kind::ndjson_chat, stream_kind::ndjson_pull})
    EXPECT_EQ(
        render_in_band_error(ctx(kind), "an error <was> encountered", 5, 90),
        R"({"error":"an error \u003cwas\u003e encountered","streamcheck":{"seq":5,"t_us":90}})"
        "\n");
}

TEST(RenderInBandError, SseUsesOpenAiShapeWithoutDone) {
  for (auto kind : {stream_kind::sse_chat, stream_kind::sse_completion})
    EXPECT_EQ(render_in_band_error(ctx(kind), "boom", 5, 90),
              "data: "
              R"({"error":{"message":"boom","type":"api_error","param":null,"code":null},)"
              R"("streamcheck":{"seq":5,"t_us":90}})"
              "\n\n");
}

TEST(ContentType, PerKind) {
  EXPECT_EQ(content_type_of(stream_kind::ndjson_generate), "application/x-ndjson");
  EXPECT_EQ(content_type_of(stream_kind::ndjson_chat), "application/x-ndjson");
  EXPECT_EQ(content_type_of(stream_kind::ndjson_pull), "application/x-ndjson");
  EXPECT_EQ(content_type_of(stream_kind::sse_chat), "text/event-stream");
  EXPECT_EQ(content_type_of(stream_kind::sse_completion), "text/event-stream");
}

// ---- whole bodies -----------------------------------------------------------------------------

TEST(Bodies, VersionAndPs) {
  EXPECT_EQ(version_body(), R"({"version":"0.12.0"})");
  EXPECT_EQ(ps_body(), R"({"models":[]})");
}

TEST(Bodies, TagsListEveryPresetInWireOrder) {
  const json o = json::parse(tags_body());
  ASSERT_EQ(o["models"].size(), presets().size());
  for (std::size_t i = 0; i < presets().size(); ++i)
    EXPECT_EQ(o["models"][i]["name"], presets()[i].name);
  EXPECT_EQ(go_json(o["models"][0]),
            R"({"name":"llama3.2:latest","model":"llama3.2:latest",)"
            R"("modified_at":"2026-11-01T12:00:00Z","size":2019393189,)"
            R"("digest":"6a0746a1ec1aa3e7ee75f1a6e1a2b1b5e1b0c8e4a5d3f2e1c0b9a8d7c6e5f4a3",)"
            R"("details":{"parent_model":"","format":"gguf","family":"llama",)"
            R"("families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"}})");
  EXPECT_EQ(tags_body().back(), '}');
}

TEST(Bodies, ShowIsLargerThanTheGoBufferSoItIsChunked) {
  const auto body = show_body("steady");
  const json o = json::parse(body);
  EXPECT_EQ(keys(o), (key_list{"modelfile", "parameters", "template", "details", "model_info",
                               "capabilities", "modified_at"}));
  EXPECT_EQ(o["modelfile"], "# streamcheck preset: 100 tokens 20 ms apart");
  EXPECT_NE(body.find(R"("parameters":"stop \"\u003c|eot_id|\u003e\"")"), std::string::npos)
      << body;
}

TEST(Bodies, V1Models) {
  const json o = json::parse(v1_models_body());
  EXPECT_EQ(o["object"], "list");
  ASSERT_EQ(o["data"].size(), presets().size());
  EXPECT_EQ(go_json(o["data"][1]),
            R"({"id":"steady:latest","object":"model","created":1793534400,"owned_by":"library"})");
  EXPECT_EQ(v1_model_body("llama3.2"),
            R"({"id":"llama3.2","object":"model","created":1793534400,"owned_by":"library"})");
}

TEST(Bodies, Errors) {
  EXPECT_EQ(native_error("model 'x' not found"), R"({"error":"model 'x' not found"})");
  EXPECT_EQ(
      openai_error(400, "bad"),
      R"({"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}})");
  EXPECT_EQ(openai_error(404, "model 'x:latest' not found"),
            R"({"error":{"message":"model 'x:latest' not found","type":"not_found_error",)"
            R"("param":null,"code":null}})");
  EXPECT_EQ(openai_error(500, "x"),
            R"({"error":{"message":"x","type":"api_error","param":null,"code":null}})");
  EXPECT_EQ(openai_error(503, "x"),
            R"({"error":{"message":"x","type":"api_error","param":null,"code":null}})");
  EXPECT_EQ(openai_error(401, "x"),
            R"({"error":{"message":"x","type":"api_error","param":null,"code":null}})");
}

TEST(Bodies, CompleteGenerationsConcatenateTheTokens) {
  scenario s;
  s.tokens = 4;
  const json g = json::parse(generate_complete("llama3.2", s));
  EXPECT_EQ(g["response"], "The sky is blue");
  EXPECT_EQ(g["done"], true);
  EXPECT_EQ(g["eval_count"], 4);
  const json c = json::parse(chat_complete("llama3.2", s));
  EXPECT_EQ(c["message"], (json{{"role", "assistant"}, {"content", "The sky is blue"}}));
  EXPECT_EQ(c["done_reason"], "stop");
  s.error_after = 2; // the text a stream would have carried before the error
  EXPECT_EQ(json::parse(chat_complete("m", s))["message"]["content"], "The sky");
}

TEST(Bodies, OpenAiCompleteBodiesEndWithNewline) {
  scenario s;
  s.tokens = 2;
  auto c = ctx(stream_kind::sse_chat);
  EXPECT_EQ(v1_chat_complete(c, s),
            R"({"id":"chatcmpl-417","object":"chat.completion","created":1735000000,)"
            R"("model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,)"
            R"("message":{"role":"assistant","content":"The sky"},"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":26,"completion_tokens":2,"total_tokens":28}})"
            "\n");
  c = ctx(stream_kind::sse_completion);
  EXPECT_EQ(v1_completion_complete(c, s),
            R"({"id":"cmpl-417","object":"text_completion","created":1735000000,)"
            R"("model":"llama3.2","system_fingerprint":"fp_ollama",)"
            R"("choices":[{"text":"The sky","index":0,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":26,"completion_tokens":2,"total_tokens":28}})"
            "\n");
}

double norm(const json &v) {
  double sum = 0;
  for (const auto &x : v)
    sum += x.get<double>() * x.get<double>();
  return std::sqrt(sum);
}

TEST(Bodies, EmbedVectorsAreUnitLength) {
  const json o = json::parse(embed_body("all-minilm", json::array({"a", "b"})));
  EXPECT_EQ(keys(o), (key_list{"model", "embeddings", "total_duration", "load_duration",
                               "prompt_eval_count"}));
  EXPECT_EQ(o["model"], "all-minilm");
  ASSERT_EQ(o["embeddings"].size(), 2u);
  EXPECT_EQ(o["embeddings"][0].size(), 32u);
  EXPECT_NEAR(norm(o["embeddings"][0]), 1.0, 1e-5);
  EXPECT_NE(o["embeddings"][0], o["embeddings"][1]);
  EXPECT_EQ(json::parse(embed_body("m", "a"))["embeddings"][0], o["embeddings"][0]);
  EXPECT_EQ(embed_body("m", json::array()),
            R"({"model":"m","embeddings":[],"total_duration":14143917,"load_duration":1019500,)"
            R"("prompt_eval_count":8})");
}

TEST(Bodies, LegacyEmbeddings) {
  EXPECT_EQ(embeddings_body(""), R"({"embedding":[]})");
  const json o = json::parse(embeddings_body("hello"));
  EXPECT_EQ(o["embedding"].size(), 32u);
  EXPECT_NEAR(norm(o["embedding"]), 1.0, 1e-12);
}

TEST(Bodies, V1Embeddings) {
  const auto body = v1_embeddings_body("m", json::array({"a", "b"}));
  EXPECT_EQ(body.back(), '\n');
  const json o = json::parse(body);
  EXPECT_EQ(keys(o), (key_list{"object", "data", "model", "usage"}));
  EXPECT_EQ(o["data"][1]["index"], 1);
  EXPECT_EQ(o["data"][1]["object"], "embedding");
  EXPECT_EQ(o["usage"], (json{{"prompt_tokens", 8}, {"total_tokens", 8}}));
}

// A base64 vector decodes (float32 little-endian, as the openai SDK reads it) to the float one.
TEST(Bodies, V1EmbeddingsBase64IsFloat32LittleEndian) {
  const json floats = json::parse(v1_embeddings_body("m", "a"))["data"][0]["embedding"];
  const json packed = json::parse(v1_embeddings_body("m", "a", true))["data"][0]["embedding"];
  ASSERT_TRUE(packed.is_string());
  const std::string text = packed.get<std::string>();
  ASSERT_EQ(text.size(), 172u); // 128 bytes: 43 groups of 4
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<std::uint32_t>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  ASSERT_EQ(bytes.size(), 32u * 4);
  for (std::size_t i = 0; i < 32; ++i) {
    std::uint32_t word = 0;
    for (int k = 3; k >= 0; --k)
      word = (word << 8) | static_cast<unsigned char>(bytes[i * 4 + static_cast<std::size_t>(k)]);
    float f = 0;
    std::memcpy(&f, &word, sizeof f);
    EXPECT_EQ(f, floats[i].get<float>()) << i;
  }
}

} // namespace
} // namespace streamcheck::mock
