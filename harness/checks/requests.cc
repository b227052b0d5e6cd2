#include "harness/checks/requests.h"

#include <cstdio>

#include "common/go_json.h"

namespace streamcheck::harness {
namespace {

// The body carries the timeline as the mock's overrides; the deadline follows from it.
void ask_for(probe_spec &p, const scenario &timeline) {
  p.timeline = timeline;
  p.timeout_ms = static_cast<int>(protocol::planned_duration_ms(timeline)) + slack_ms;
  p.body["streamcheck"] = protocol::to_overrides(timeline);
}

} // namespace

probe_spec chat_stream(std::string name, const scenario &timeline) {
  probe_spec p;
  p.name = std::move(name);
  p.path = "/api/chat";
  p.headers = {"User-Agent: ollama-js/0.6.0 (x64 linux Node.js/v20)",
               "Accept: application/x-ndjson"};
  p.body = {{"model", "llama3.2"},
            {"messages", json::array({{{"role", "user"}, {"content", "Why is the sky blue?"}}})},
            {"stream", true}};
  ask_for(p, timeline);
  return p;
}

probe_spec sse_stream(std::string name, const scenario &timeline) {
  probe_spec p;
  p.name = std::move(name);
  p.path = "/v1/chat/completions";
  p.headers = {"User-Agent: OpenAI/JS 4.104.0", "Accept: application/json",
               "Authorization: Bearer sk-streamcheck"};
  p.body = {{"model", "llama3.2"},
            {"messages", json::array({{{"role", "user"}, {"content", "Why is the sky blue?"}}})},
            {"stream", true}};
  ask_for(p, timeline);
  return p;
}

std::string format_ms(double value, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f ms", decimals, value);
  return buf;
}

std::string fit_body(json body, std::size_t bytes) {
  auto *images = body.is_object() && body.contains("messages") && body["messages"].is_array() &&
                         !body["messages"].empty() && body["messages"][0].contains("images")
                     ? &body["messages"][0]["images"]
                     : nullptr;
  if (!images || images->empty() || !(*images)[0].is_string()) return go_json(body);
  // The image is base64, which JSON does not escape, so its length moves the document's one for
  // one: measure the document around an empty image and give the image the rest. (Two dumps of
  // 20 MiB instead of one small and one large cost about a second per suite.)
  std::string image = std::move((*images)[0].get_ref<std::string &>());
  (*images)[0] = "";
  const std::size_t frame = go_json(body).size();
  image.resize(bytes > frame ? bytes - frame : 0, 'A');
  (*images)[0] = std::move(image);
  return go_json(body);
}

probe_spec plain(std::string name, std::string method, std::string path, json body) {
  probe_spec p;
  p.name = std::move(name);
  p.method = std::move(method);
  p.path = std::move(path);
  p.body = std::move(body);
  p.timeout_ms = 15'000;
  return p;
}

} // namespace streamcheck::harness
