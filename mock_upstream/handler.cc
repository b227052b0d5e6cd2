#include "mock_upstream/handler.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <sstream>

namespace streamcheck::mock {
namespace {

bool is_v1(route r) {
  return r == route::v1_chat || r == route::v1_completions || r == route::v1_models ||
         r == route::v1_model || r == route::v1_embeddings;
}

const char *const json_type = "application/json; charset=utf-8";

whole_response json_response(int status, std::string body, const char *type = json_type) {
  return whole_response{status, {{"Content-Type", type}}, std::move(body), 0};
}

whole_response error_response(route r, int status, const std::string &message) {
  if (is_v1(r))
    return json_response(status, openai_error(status, message) + "\n", "application/json");
  return json_response(status, native_error(message));
}

// Go's json.Decoder wording for the common cases.
std::string decode_error(const std::string &body, std::size_t byte) {
  // e.byte is 1-based: byte == size means the last byte was the bad one; past it is EOF.
  if (byte > body.size()) return "unexpected EOF";
  std::string c(1, body[byte > 0 ? byte - 1 : 0]);
  return "invalid character '" + c + "' looking for beginning of value";
}

struct parsed_body {
  json value;
  std::optional<std::string> problem;
};

parsed_body parse_body(const std::string &body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return {json(), std::string("missing request body")};
  // The whole body as one document is the common case, and parsing from memory is several times
  // faster than from a stream (a 20 MiB upload: body.large-request).
  if (json whole = json::parse(body, nullptr, false); !whole.is_discarded())
    return {std::move(whole), std::nullopt};
  // Like Go's json.Decoder: the first value counts, bytes after it are ignored.
  std::istringstream in(body);
  json value;
  try {
    in >> value;
  } catch (const json::parse_error &e) {
    return {json(), decode_error(body, e.byte)};
  }
  return {std::move(value), std::nullopt};
}

// The Go type a route decodes its body into, for "json: cannot unmarshal array into Go value of
// type api.ChatRequest".
const char *go_request_type(route r) {
  switch (r) {
  case route::show: return "api.ShowRequest";
  case route::generate: return "api.GenerateRequest";
  case route::chat: return "api.ChatRequest";
  case route::embed: return "api.EmbedRequest";
  case route::embeddings: return "api.EmbeddingRequest";
  case route::pull: return "api.PullRequest";
  case route::v1_chat: return "openai.ChatCompletionRequest";
  case route::v1_completions: return "openai.CompletionRequest";
  case route::v1_embeddings: return "openai.EmbedRequest";
  default: return "struct";
  }
}

const char *go_json_kind(const json &v) {
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "bool";
  return "number";
}

std::string string_field(const json &o, const char *key) {
  if (o.is_object() && o.contains(key) && o[key].is_string()) return o[key].get<std::string>();
  return {};
}

bool stream_flag(const json &o, bool fallback) {
  if (o.is_object() && o.contains("stream") && o["stream"].is_boolean())
    return o["stream"].get<bool>();
  return fallback;
}

whole_response text_response(int status, std::string body, const char *type) {
  return whole_response{status, {{"Content-Type", type}}, std::move(body), 0};
}

plan make_plan(std::variant<whole_response, stream_response> r) {
  plan p;
  p.response = std::move(r);
  return p;
}

// Generation routes pick the model's preset; everything else starts from an instant answer.
scenario base_for(route r, const json &body, bool &known_model) {
  known_model = true;
  const bool generates = r == route::generate || r == route::chat || r == route::v1_chat ||
                         r == route::v1_completions || r == route::pull;
  if (!generates) {
    scenario s;
    s.first_token_ms = 0;
    return s;
  }
  if (r == route::pull) {
    scenario s;
    s.first_token_ms = 0;
    s.gap_ms = 60;
    s.tokens = 10;
    return s;
  }
  const preset *p = find_preset(string_field(body, "model"));
  known_model = p != nullptr;
  return p ? p->base : scenario{};
}

} // namespace

std::string request_view::path() const {
  return target.substr(0, target.find('?'));
}

std::string request_view::query() const {
  const auto q = target.find('?');
  return q == std::string::npos ? "" : target.substr(q + 1);
}

std::string request_view::header(std::string_view name) const {
  return std::string(find_header(headers, name));
}

bool request_view::has_header(std::string_view name) const {
  return count_header(headers, name) > 0;
}

plan handle(const request_view &req, const mock_options &opts, unsigned request_number) {
  // The query's correlation id is known even for requests the policy refuses. A
  // streamcheck.policy=PROFILE parameter emulates another upstream for this request only, so one
  // mock serves both the harness's permissive self-test and the proxied run (preflights have no
  // body, hence the query).
  json overrides = overrides_from_query(req.query());
  const policy *request_policy = &opts.request_policy;
  std::optional<policy> chosen;
  if (overrides.contains("policy")) {
    chosen = overrides["policy"].is_string()
                 ? policy_for_profile(overrides["policy"].get<std::string>())
                 : std::nullopt;
    if (!chosen)
      return plan{
          string_field(overrides, "id"),
          "",
          {},
          json_response(400, native_error(std::string("streamcheck.policy: must be one of ") +
                                          profile_names()))};
    request_policy = &*chosen;
    overrides.erase("policy");
  }
  const auto decision = decide(*request_policy, req.method, req.header("Origin"),
                               req.header("Host"), req.has_header("Origin"));
  const route_match m = match_route(req.method, req.path());

  // Requests the policy refuses are journaled under their id too: from the query, else the body.
  const std::string query_id = string_field(overrides, "id");
  auto early_id = [&] {
    std::string id = query_id;
    if (id.empty() && req.method == "POST" &&
        req.body.find("\"streamcheck\"") != std::string::npos) {
      const parsed_body b = parse_body(req.body);
      if (!b.problem && b.value.is_object() && b.value.contains("streamcheck"))
        id = string_field(b.value["streamcheck"], "id");
    }
    return id;
  };
  auto finish = [&](plan p) {
    if (p.correlation_id.empty()) p.correlation_id = early_id();
    if (auto *w = std::get_if<whole_response>(&p.response))
      w->headers.insert(w->headers.end(), decision.headers.begin(), decision.headers.end());
    else
      std::get<stream_response>(p.response)
          .headers.insert(std::get<stream_response>(p.response).headers.end(),
                          decision.headers.begin(), decision.headers.end());
    return p;
  };

  if (decision.action == policy_decision::reject_403)
    return finish(make_plan(whole_response{403, {}, "", 0}));
  if (decision.action == policy_decision::preflight_204) {
    plan p = make_plan(whole_response{204, {}, "", 0});
    if (m.which != route::not_found && !m.method_allowed && decision.headers.size() > 0)
      std::get<whole_response>(p.response).headers.emplace_back("Allow", m.allow);
    return finish(std::move(p));
  }
  // llama.cpp server's --api-key check (vLLM and LiteLLM answer alike): after CORS, so a
  // browser's preflight still passes.
  if (!opts.api_key.empty() && req.header("Authorization") != "Bearer " + opts.api_key)
    return finish(make_plan(json_response(
        401, R"({"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}})",
        "application/json; charset=utf-8")));
  if (m.which == route::not_found)
    return finish(make_plan(text_response(404, "404 page not found", "text/plain")));
  // FastAPI's answer for a route it does not have (vLLM, LiteLLM).
  if (request_policy->openai_routes_only && !is_v1(m.which))
    return finish(make_plan(json_response(404, R"({"detail":"Not Found"})")));
  if (!m.method_allowed) {
    plan p = make_plan(text_response(405, "405 method not allowed", "text/plain"));
    std::get<whole_response>(p.response).headers.emplace_back("Allow", m.allow);
    return finish(std::move(p));
  }

  const bool has_body = req.method == "POST";
  parsed_body body;
  if (has_body) {
    body = parse_body(req.body);
    if (body.problem) {
      // /v1 decode errors come from the OpenAI middleware: gin AbortWithStatusJSON (charset, no
      // newline), and an empty body is Go's bare "EOF".
      if (is_v1(m.which)) {
        const std::string problem = *body.problem == "missing request body" ? "EOF" : *body.problem;
        return finish(make_plan(json_response(400, openai_error(400, problem))));
      }
      plan p = make_plan(error_response(m.which, 400, *body.problem));
      return finish(std::move(p));
    }
    // Go decodes into a struct: null leaves it empty, any other non-object is a type error.
    if (body.value.is_null()) body.value = json::object();
    if (!body.value.is_object()) {
      const std::string problem = std::string("json: cannot unmarshal ") +
                                  go_json_kind(body.value) + " into Go value of type " +
                                  go_request_type(m.which);
      if (is_v1(m.which)) return finish(make_plan(json_response(400, openai_error(400, problem))));
      return finish(make_plan(error_response(m.which, 400, problem)));
    }
    if (body.value.is_object() && body.value.contains("streamcheck"))
      overrides = body.value["streamcheck"];
  }

  bool known_model = true;
  auto timeline = apply_overrides(base_for(m.which, body.value, known_model), overrides);
  if (!timeline) return finish(make_plan(error_response(m.which, 400, timeline.message())));
  scenario s = *timeline;
  const std::string model = string_field(body.value, "model");

  plan p;
  p.correlation_id = s.id;
  p.model = model;
  p.timeline = s;

  auto whole = [&](whole_response w, int delay_ms) {
    w.delay_ms = delay_ms;
    p.response = std::move(w);
    return finish(std::move(p));
  };
  const int instant = s.first_token_ms;
  const int full_generation =
      static_cast<int>(std::min<long long>(planned_duration_ms(s), 3'600'000));

  stream_context ctx;
  ctx.model = model;
  ctx.created = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  ctx.legacy_chunks = opts.legacy_chunks || s.legacy_chunks;
  ctx.stamps = opts.stamps;
  ctx.include_usage = body.value.is_object() && body.value.contains("stream_options") &&
                      body.value["stream_options"].is_object() &&
                      body.value["stream_options"].contains("include_usage") &&
                      body.value["stream_options"]["include_usage"].is_boolean() &&
                      body.value["stream_options"]["include_usage"].get<bool>();

  auto stream = [&](stream_kind kind) {
    ctx.kind = kind;
    p.response = stream_response{s.headers, ctx};
    return finish(std::move(p));
  };
  auto scripted = [&](whole_response w, int delay_ms) {
    w.headers.insert(w.headers.end(), s.headers.begin(), s.headers.end());
    return whole(std::move(w), delay_ms);
  };
  // A scripted error still carries the scripted headers (e.g. CORS on an upstream error).
  if (s.status != 200)
    return scripted(error_response(m.which, s.status,
                                   "streamcheck: scripted status " + std::to_string(s.status)),
                    instant);

  switch (m.which) {
  case route::root:
    return scripted(text_response(200, "Ollama is running", "text/plain; charset=utf-8"), instant);
  case route::version: return scripted(json_response(200, version_body()), instant);
  case route::tags: return scripted(json_response(200, tags_body(opts.list_models)), instant);
  case route::ps: return scripted(json_response(200, ps_body()), instant);
  case route::show:
    if (model.empty()) return whole(error_response(m.which, 400, "model is required"), instant);
    if (!find_preset(model))
      return whole(
          error_response(m.which, 404, "model '" + normalize_model_name(model) + "' not found"),
          instant);
    return scripted(json_response(200, show_body(model)), instant);
  case route::generate:
  case route::chat:
    if (model.empty())
      return whole(m.which == route::generate ? error_response(m.which, 404, "model '' not found")
                                              : error_response(m.which, 400, "model is required"),
                   instant);
    if (!known_model)
      return whole(error_response(m.which, 404, "model '" + model + "' not found"), instant);
    if (!stream_flag(body.value, true))
      return scripted(json_response(200, m.which == route::chat ? chat_complete(model, s)
                                                                : generate_complete(model, s)),
                      full_generation);
    return stream(m.which == route::chat ? stream_kind::ndjson_chat : stream_kind::ndjson_generate);
  case route::v1_chat:
  case route::v1_completions: {
    if (!known_model)
      return whole(error_response(m.which, 404, "model '" + model + "' not found"), instant);
    ctx.completion_id = std::string(m.which == route::v1_chat ? "chatcmpl-" : "cmpl-") +
                        std::to_string(request_number % 999);
    if (!stream_flag(body.value, false)) {
      ctx.kind = m.which == route::v1_chat ? stream_kind::sse_chat : stream_kind::sse_completion;
      const std::string text =
          m.which == route::v1_chat ? v1_chat_complete(ctx, s) : v1_completion_complete(ctx, s);
      return scripted(json_response(200, text, "application/json"), full_generation);
    }
    return stream(m.which == route::v1_chat ? stream_kind::sse_chat : stream_kind::sse_completion);
  }
  case route::pull:
    if (model.empty() && string_field(body.value, "name").empty())
      return whole(error_response(m.which, 400, "invalid model name"), instant);
    if (!stream_flag(body.value, true))
      return scripted(json_response(200, go_json(json{{"status", "success"}})), full_generation);
    return stream(stream_kind::ndjson_pull);
  case route::embed:
    if (model.empty()) return whole(error_response(m.which, 404, "model '' not found"), instant);
    if (body.value.contains("input") && !body.value["input"].is_string() &&
        !body.value["input"].is_array())
      return whole(error_response(m.which, 400, "invalid input type"), instant);
    return scripted(json_response(200, embed_body(model, body.value.value("input", json::array()))),
                    instant);
  case route::embeddings:
    if (model.empty()) return whole(error_response(m.which, 400, "model is required"), instant);
    return scripted(json_response(200, embeddings_body(string_field(body.value, "prompt"))),
                    instant);
  case route::v1_embeddings: {
    const json input = body.value.value("input", json());
    if (input.is_null() || (input.is_array() && input.empty()))
      return whole(error_response(m.which, 400, "invalid input"), instant);
    // The openai SDK asks for base64 unless told otherwise: plain floats would be decoded as
    // base64 into zero vectors of the wrong length, silently.
    const json format = body.value.value("encoding_format", json(""));
    const std::string format_text = format.is_string() ? format.get<std::string>() : format.dump();
    if (!format_text.empty() && format_text != "float" && format_text != "base64")
      return whole(json_response(400, openai_error(400, "Invalid value for 'encoding_format' = " +
                                                            format_text +
                                                            ". Supported values: ['float', "
                                                            "'base64'].")),
                   instant);
    return scripted(json_response(200, v1_embeddings_body(model, input, format_text == "base64"),
                                  "application/json"),
                    instant);
  }
  case route::v1_models:
    return scripted(json_response(200, v1_models_body(opts.list_models)), instant);
  case route::v1_model:
    if (!find_preset(m.param))
      return whole(
          error_response(m.which, 404, "model '" + normalize_model_name(m.param) + "' not found"),
          instant);
    return scripted(json_response(200, v1_model_body(m.param)), instant);
  case route::not_found: break;
  }
  return finish(make_plan(text_response(404, "404 page not found", "text/plain")));
}

} // namespace streamcheck::mock
