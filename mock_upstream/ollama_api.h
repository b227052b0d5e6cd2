// Ollama's routes and the bytes of its bodies (shared/reference/ollama-wire.md §1-§5).
#pragma once
#include <cstdint>
#include <string>

#include "common/go_json.h"
#include "mock_upstream/scenario.h"

namespace streamcheck::mock {

enum class route {
  root,
  version,
  tags,
  ps,
  show,
  generate,
  chat,
  embed,
  embeddings,
  pull,
  v1_chat,
  v1_completions,
  v1_models,
  v1_model,
  v1_embeddings,
  not_found,
};

struct route_match {
  route which = route::not_found;
  bool method_allowed = false;
  std::string allow; // the Allow header for a 405, gin's order
  std::string param; // /v1/models/{model}
};

route_match match_route(const std::string &method, const std::string &path);

// What a stream's events look like on the wire.
enum class stream_kind { ndjson_generate, ndjson_chat, ndjson_pull, sse_chat, sse_completion };

struct stream_context {
  stream_kind kind = stream_kind::ndjson_chat;
  std::string model;        // echoed as the request gave it
  std::int64_t created = 0; // unix seconds, for OpenAI chunks
  std::string completion_id;
  bool legacy_chunks = false;
  bool include_usage = false;
  bool stamps = true; // each event's {"streamcheck":{"seq","t_us"}}
};

// The text of token k (deterministic per seed); exactly token_bytes long when that is set.
std::string token_text(const scenario &s, int k);

// One event's complete bytes (NDJSON line with "\n", or SSE "data: ...\n\n"), stamped with
// "streamcheck":{"seq":seq,"t_us":t_us} that clients ignore.
std::string render_token(const stream_context &c, const scenario &s, int k, int seq,
                         std::int64_t t_us);
// The closing event(s): done:true with metrics / finish_reason (+usage) + [DONE] / pull success.
std::string render_final(const stream_context &c, const scenario &s, int seq, std::int64_t t_us);
// An error after output started: Ollama writes one {"error":...} line and ends the stream.
std::string render_in_band_error(const stream_context &c, const std::string &message, int seq,
                                 std::int64_t t_us);
std::string content_type_of(stream_kind k);

// Whole bodies.
std::string tags_body(bool with_presets = true);
std::string ps_body();
std::string version_body();
std::string show_body(const std::string &model);
std::string v1_models_body(bool with_presets = true);
std::string v1_model_body(const std::string &id);
std::string native_error(const std::string &message); // {"error":"..."}
// OpenAI style; type from status: 400 invalid_request_error, 404 not_found_error, else api_error.
std::string openai_error(int status, const std::string &message);
std::string generate_complete(const std::string &model, const scenario &s);
std::string chat_complete(const std::string &model, const scenario &s);
std::string v1_chat_complete(const stream_context &c, const scenario &s);
std::string v1_completion_complete(const stream_context &c, const scenario &s);
std::string embed_body(const std::string &model, const json &input);
std::string embeddings_body(const std::string &prompt);
// base64: each vector as its float32 values, little-endian, base64-encoded (as Ollama and OpenAI).
std::string v1_embeddings_body(const std::string &model, const json &input, bool base64 = false);

std::string now_rfc3339();

} // namespace streamcheck::mock
