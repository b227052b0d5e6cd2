#include "mock_upstream/ollama_api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "common/base64.h"
#include "common/protocol/stamp.h"

namespace streamcheck::mock {
namespace {

struct route_entry {
  const char *path;
  route which;
  const char *methods; // gin registration order: HEAD, GET, POST, DELETE
};

constexpr route_entry routes[] = {
    {"/", route::root, "HEAD, GET"},
    {"/api/version", route::version, "HEAD, GET"},
    {"/api/tags", route::tags, "HEAD, GET"},
    {"/api/ps", route::ps, "GET"},
    {"/api/show", route::show, "POST"},
    {"/api/generate", route::generate, "POST"},
    {"/api/chat", route::chat, "POST"},
    {"/api/embed", route::embed, "POST"},
    {"/api/embeddings", route::embeddings, "POST"},
    {"/api/pull", route::pull, "POST"},
    {"/v1/chat/completions", route::v1_chat, "POST"},
    {"/v1/completions", route::v1_completions, "POST"},
    {"/v1/models", route::v1_models, "GET"},
    {"/v1/embeddings", route::v1_embeddings, "POST"},
};

bool method_in(const std::string &method, const std::string &list) {
  std::size_t start = 0;
  while (start < list.size()) {
    auto end = list.find(", ", start);
    if (end == std::string::npos) end = list.size();
    if (list.compare(start, end - start, method) == 0) return true;
    start = end + 2;
  }
  return false;
}

const char *const words[] = {
    "The",         " sky",  " is",     " blue",     " because", " of",     " Rayleigh",
    " scattering", ",",     " which",  " scatters", " shorter", " (blue)", " wavelengths",
    " more",       " than", " longer", " red",      " ones",    " &",      " that's",
    " why",        " we",   " see",    " it",       "."};

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --no-stamps leaves them out: the mock then looks like a real server to the harness's live mode.
void add_stamp(json &o, const stream_context &c, int seq, std::int64_t t_us) {
  if (c.stamps) o["streamcheck"] = protocol::to_json(protocol::stamp{seq, t_us});
}

std::string full_text(const scenario &s) {
  std::string text;
  const int n = s.error_after >= 0 ? std::min(s.error_after, s.tokens) : s.tokens;
  for (int k = 0; k < n; ++k)
    text += token_text(s, k);
  return text;
}

void add_metrics(json &o, const scenario &s) {
  const std::int64_t eval_ns = static_cast<std::int64_t>(s.gap_ms) * s.tokens * 1'000'000;
  const std::int64_t prompt_ns = static_cast<std::int64_t>(s.first_token_ms) * 1'000'000;
  o["total_duration"] = eval_ns + prompt_ns + 1'250'000;
  o["load_duration"] = 1'019'500;
  o["prompt_eval_count"] = 26;
  o["prompt_eval_duration"] = prompt_ns;
  o["eval_count"] = s.tokens;
  o["eval_duration"] = eval_ns;
}

std::string sse(const json &chunk) {
  return "data: " + go_json(chunk) + "\n\n";
}

json chunk_base(const stream_context &c, const char *object) {
  json o;
  o["id"] = c.completion_id;
  o["object"] = object;
  o["created"] = c.legacy_chunks ? unix_now_ns() / 1'000'000'000 : c.created;
  o["model"] = c.model;
  o["system_fingerprint"] = "fp_ollama";
  return o;
}

json usage(const scenario &s) {
  return json{
      {"prompt_tokens", 26}, {"completion_tokens", s.tokens}, {"total_tokens", 26 + s.tokens}};
}

const char *const digest_hex = "6a0746a1ec1aa3e7ee75f1a6e1a2b1b5e1b0c8e4a5d3f2e1c0b9a8d7c6e5f4a3";

std::vector<double> unit_vector(const std::string &seed_text, int dims) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : seed_text)
    h = (h ^ c) * 1099511628211ULL;
  std::vector<double> v(static_cast<std::size_t>(dims));
  double norm = 0;
  for (auto &x : v) {
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<double>(static_cast<std::int64_t>(h >> 11) % 2000 - 1000) / 1000.0;
    norm += x * x;
  }
  norm = std::sqrt(norm > 0 ? norm : 1);
  for (auto &x : v)
    x /= norm;
  return v;
}

std::vector<std::string> inputs_of(const json &input) {
  if (input.is_string()) return {input.get<std::string>()};
  std::vector<std::string> out;
  if (input.is_array())
    for (const auto &e : input)
      out.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  return out;
}

} // namespace

route_match match_route(const std::string &method, const std::string &path) {
  route_match m;
  for (const auto &r : routes) {
    if (path == r.path) {
      m.which = r.which;
      m.allow = r.methods;
      m.method_allowed = method_in(method, r.methods);
      return m;
    }
  }
  constexpr std::string_view models_prefix = "/v1/models/";
  if (path.rfind(models_prefix, 0) == 0 && path.size() > models_prefix.size() &&
      path.find('/', models_prefix.size()) == std::string::npos) {
    m.which = route::v1_model;
    m.allow = "GET";
    m.method_allowed = method == "GET";
    m.param = path.substr(models_prefix.size());
  }
  return m;
}

std::string token_text(const scenario &s, int k) {
  constexpr int n = static_cast<int>(sizeof words / sizeof words[0]);
  std::string w = words[(static_cast<unsigned>(k) + s.seed * 7u) % n];
  if (k == 0 && !w.empty() && w.front() == ' ') w.erase(0, 1);
  if (s.token_bytes <= 0) return w;
  std::string out;
  while (static_cast<int>(out.size()) < s.token_bytes)
    out += w.empty() ? "x" : w;
  out.resize(static_cast<std::size_t>(s.token_bytes));
  return out;
}

std::string content_type_of(stream_kind k) {
  switch (k) {
  case stream_kind::sse_chat:
  case stream_kind::sse_completion: return "text/event-stream";
  default: return "application/x-ndjson";
  }
}

std::string render_token(const stream_context &c, const scenario &s, int k, int seq,
                         std::int64_t t_us) {
  const std::string text = token_text(s, k);
  switch (c.kind) {
  case stream_kind::ndjson_generate: {
    json o{{"model", c.model}, {"created_at", now_rfc3339()}, {"response", text}, {"done", false}};
    add_stamp(o, c, seq, t_us);
    return go_json(o) + "\n";
  }
  case stream_kind::ndjson_chat: {
    json o{{"model", c.model},
           {"created_at", now_rfc3339()},
           {"message", {{"role", "assistant"}, {"content", text}}},
           {"done", false}};
    add_stamp(o, c, seq, t_us);
    return go_json(o) + "\n";
  }
  case stream_kind::ndjson_pull: {
    json o;
    if (k == 0) {
      o["status"] = "pulling manifest";
    } else {
      o["status"] = std::string("pulling ") + std::string(digest_hex, 12);
      o["digest"] = std::string("sha256:") + digest_hex;
      o["total"] = 2019377376LL;
      o["completed"] = 2019377376LL / std::max(1, s.tokens) * k;
    }
    add_stamp(o, c, seq, t_us);
    return go_json(o) + "\n";
  }
  case stream_kind::sse_chat: {
    json o = chunk_base(c, "chat.completion.chunk");
    json delta = json::object();
    if (k == 0 || c.legacy_chunks) delta["role"] = "assistant";
    delta["content"] = text;
    o["choices"] = json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", nullptr}}});
    add_stamp(o, c, seq, t_us);
    return sse(o);
  }
  case stream_kind::sse_completion: {
    json o = chunk_base(c, "text_completion");
    o["choices"] = json::array({{{"text", text}, {"index", 0}, {"finish_reason", nullptr}}});
    if (c.include_usage)
      o["usage"] = json{{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}};
    add_stamp(o, c, seq, t_us);
    return sse(o);
  }
  }
  return {};
}

std::string render_final(const stream_context &c, const scenario &s, int seq, std::int64_t t_us) {
  switch (c.kind) {
  case stream_kind::ndjson_generate: {
    json o{{"model", c.model}, {"created_at", now_rfc3339()}, {"response", ""},
           {"done", true},     {"done_reason", "stop"},       {"context", json::array({1, 2, 3})}};
    add_metrics(o, s);
    add_stamp(o, c, seq, t_us);
    return go_json(o) + "\n";
  }
  case stream_kind::ndjson_chat: {
    json o{{"model", c.model},
           {"created_at", now_rfc3339()},
           {"message", {{"role", "assistant"}, {"content", ""}}},
           {"done", true},
           {"done_reason", "stop"}};
    add_metrics(o, s);
    add_stamp(o, c, seq, t_us);
    return go_json(o) + "\n";
  }
  case stream_kind::ndjson_pull: {
    std::string out;
    for (const char *status : {"verifying sha256 digest", "writing manifest", "success"}) {
      json o{{"status", status}};
      if (std::string_view(status) == "success") add_stamp(o, c, seq, t_us);
      out += go_json(o) + "\n";
    }
    return out;
  }
  case stream_kind::sse_chat: {
    json o = chunk_base(c, "chat.completion.chunk");
    json delta = c.legacy_chunks ? json{{"role", "assistant"}, {"content", ""}} : json::object();
    o["choices"] = json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", "stop"}}});
    add_stamp(o, c, seq, t_us);
    std::string out = sse(o);
    if (c.include_usage) {
      json u = chunk_base(c, "chat.completion.chunk");
      u["choices"] = json::array();
      u["usage"] = usage(s);
      out += sse(u);
    }
    return out + "data: [DONE]\n\n";
  }
  case stream_kind::sse_completion: {
    json o = chunk_base(c, "text_completion");
    o["choices"] = json::array({{{"text", ""}, {"index", 0}, {"finish_reason", "stop"}}});
    if (c.include_usage) // like every other chunk of a /v1/completions stream (wire §5)
      o["usage"] = json{{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}};
    add_stamp(o, c, seq, t_us);
    std::string out = sse(o);
    if (c.include_usage) {
      json u = chunk_base(c, "text_completion");
      u["choices"] = json::array();
      u["usage"] = usage(s);
      out += sse(u);
    }
    return out + "data: [DONE]\n\n";
  }
  }
  return {};
}

std::string render_in_band_error(const stream_context &c, const std::string &message, int seq,
                                 std::int64_t t_us) {
  if (c.kind == stream_kind::sse_chat || c.kind == stream_kind::sse_completion) {
    // OpenAI's own shape for a failure mid-stream; the stream then ends without [DONE].
    json o{{"error",
            {{"message", message}, {"type", "api_error"}, {"param", nullptr}, {"code", nullptr}}}};
    add_stamp(o, c, seq, t_us);
    return sse(o);
  }
  json o{{"error", message}};
  add_stamp(o, c, seq, t_us);
  return go_json(o) + "\n";
}

std::string now_rfc3339() {
  return rfc3339_nano_utc(unix_now_ns());
}

namespace {

// A server with nothing pulled lists no model (--no-models).
const std::vector<preset> &listed(bool with_presets) {
  static const std::vector<preset> none;
  return with_presets ? presets() : none;
}

} // namespace

std::string tags_body(bool with_presets) {
  json models = json::array();
  for (const auto &p : listed(with_presets)) {
    models.push_back({{"name", p.name},
                      {"model", p.name},
                      {"modified_at", "2026-11-01T12:00:00Z"},
                      {"size", 2019393189},
                      {"digest", digest_hex},
                      {"details",
                       {{"parent_model", ""},
                        {"format", "gguf"},
                        {"family", "llama"},
                        {"families", json::array({"llama"})},
                        {"parameter_size", "3.2B"},
                        {"quantization_level", "Q4_K_M"}}}});
  }
  return go_json(json{{"models", models}});
}

std::string ps_body() {
  return go_json(json{{"models", json::array()}});
}

std::string version_body() {
  return go_json(json{{"version", "0.12.0"}});
}

std::string show_body(const std::string &model) {
  const preset *p = find_preset(model);
  json o;
  o["modelfile"] = "# streamcheck preset: " + (p ? p->description : std::string());
  o["parameters"] = "stop \"<|eot_id|>\"";
  o["template"] = "{{ .Prompt }}";
  o["details"] = {{"parent_model", ""},       {"format", "gguf"},
                  {"family", "llama"},        {"families", json::array({"llama"})},
                  {"parameter_size", "3.2B"}, {"quantization_level", "Q4_K_M"}};
  json info;
  info["general.architecture"] = "llama";
  info["general.parameter_count"] = 3212749888LL;
  info["llama.context_length"] = 131072;
  info["llama.embedding_length"] = 3072;
  o["model_info"] = info;
  o["capabilities"] = json::array({"completion", "tools"});
  o["modified_at"] = "2026-11-01T12:00:00Z";
  return go_json(o);
}

std::string v1_models_body(bool with_presets) {
  json data = json::array();
  for (const auto &p : listed(with_presets))
    data.push_back(
        {{"id", p.name}, {"object", "model"}, {"created", 1793534400}, {"owned_by", "library"}});
  return go_json(json{{"object", "list"}, {"data", data}});
}

std::string v1_model_body(const std::string &id) {
  return go_json(
      json{{"id", id}, {"object", "model"}, {"created", 1793534400}, {"owned_by", "library"}});
}

std::string native_error(const std::string &message) {
  return go_json(json{{"error", message}});
}

std::string openai_error(int status, const std::string &message) {
  const char *type = status == 400   ? "invalid_request_error"
                     : status == 404 ? "not_found_error"
                                     : "api_error";
  return go_json(json{
      {"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}});
}

std::string generate_complete(const std::string &model, const scenario &s) {
  json o{{"model", model}, {"created_at", now_rfc3339()}, {"response", full_text(s)},
         {"done", true},   {"done_reason", "stop"},       {"context", json::array({1, 2, 3})}};
  add_metrics(o, s);
  return go_json(o);
}

std::string chat_complete(const std::string &model, const scenario &s) {
  json o{{"model", model},
         {"created_at", now_rfc3339()},
         {"message", {{"role", "assistant"}, {"content", full_text(s)}}},
         {"done", true},
         {"done_reason", "stop"}};
  add_metrics(o, s);
  return go_json(o);
}

std::string v1_chat_complete(const stream_context &c, const scenario &s) {
  json o = chunk_base(c, "chat.completion");
  o["choices"] = json::array({{{"index", 0},
                               {"message", {{"role", "assistant"}, {"content", full_text(s)}}},
                               {"finish_reason", "stop"}}});
  o["usage"] = usage(s);
  return go_json(o) + "\n";
}

std::string v1_completion_complete(const stream_context &c, const scenario &s) {
  json o = chunk_base(c, "text_completion");
  o["choices"] = json::array({{{"text", full_text(s)}, {"index", 0}, {"finish_reason", "stop"}}});
  o["usage"] = usage(s);
  return go_json(o) + "\n";
}

std::string embed_body(const std::string &model, const json &input) {
  json vectors = json::array();
  for (const auto &text : inputs_of(input)) {
    json v = json::array();
    for (double x : unit_vector(text, 32))
      v.push_back(static_cast<float>(x));
    vectors.push_back(v);
  }
  return go_json(json{{"model", model},
                      {"embeddings", vectors},
                      {"total_duration", 14143917},
                      {"load_duration", 1019500},
                      {"prompt_eval_count", 8}});
}

std::string embeddings_body(const std::string &prompt) {
  if (prompt.empty()) return go_json(json{{"embedding", json::array()}});
  return go_json(json{{"embedding", unit_vector(prompt, 32)}});
}

namespace {

// float32 little-endian, whatever the host's byte order.
std::string float32_le(const std::vector<double> &values) {
  std::string out;
  for (const double x : values) {
    const float f = static_cast<float>(x);
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    for (int k = 0; k < 4; ++k)
      out += static_cast<char>((bits >> (8 * k)) & 0xff);
  }
  return out;
}

} // namespace

std::string v1_embeddings_body(const std::string &model, const json &input, bool base64) {
  json data = json::array();
  int index = 0;
  for (const auto &text : inputs_of(input)) {
    const auto values = unit_vector(text, 32);
    json v = json::array();
    if (base64) {
      v = base64_encode(float32_le(values));
    } else {
      for (double x : values)
        v.push_back(static_cast<float>(x));
    }
    data.push_back({{"object", "embedding"}, {"embedding", v}, {"index", index++}});
  }
  return go_json(json{{"object", "list"},
                      {"data", data},
                      {"model", model},
                      {"usage", {{"prompt_tokens", 8}, {"total_tokens", 8}}}}) +
         "\n";
}

} // namespace streamcheck::mock
