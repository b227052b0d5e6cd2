// Decides, from a parsed request alone, what the mock will send and when: a pure function, so the
// routing, error shapes and policy are unit-tested without sockets. The session (server.cc)
// carries the plan out on the wire.
#pragma once
#include <string>
#include <variant>

#include "mock_upstream/ollama_api.h"
#include "mock_upstream/policy.h"
#include "mock_upstream/scenario.h"
#include "mock_upstream/wire.h"

namespace streamcheck::mock {

struct request_view {
  std::string method;
  std::string target; // as received: path plus query
  int version = 11;   // 10 or 11
  header_list headers;
  std::string body;

  std::string path() const;
  std::string query() const;
  // First value of a header (case-insensitive), or "".
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

struct whole_response {
  int status = 200;
  header_list headers; // handler-set; includes Content-Type when there is a body
  std::string body;
  int delay_ms = 0; // silence before the head, like a non-streamed generation
};

struct stream_response {
  header_list headers; // CORS and scripted extras; Content-Type comes from ctx.kind
  stream_context ctx;
};

struct plan {
  std::string correlation_id;
  std::string model;
  scenario timeline;
  std::variant<whole_response, stream_response> response;
};

struct mock_options {
  policy request_policy;
  bool legacy_chunks = false; // default OpenAI chunk layout: Ollama <= v0.32.5
  bool stamps = true;         // --no-stamps: events carry no timing stamps, as a real server's
  bool list_models = true;    // --no-models: /api/tags and /v1/models list none (nothing pulled)
  std::string api_key;        // --api-key: requests without "Authorization: Bearer KEY" get 401
};

plan handle(const request_view &req, const mock_options &opts, unsigned request_number);

} // namespace streamcheck::mock
