// An in-process mock on ephemeral loopback ports (service and control), plus the request bytes and
// journal look-ups the wire tests share. The journal is read over the control listener, as the
// harness reads it.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/go_json.h"
#include "mock_upstream/server.h"
#include "tests/support/test_support.h"

namespace streamcheck::test {

// One request's bytes. Adds Content-Length for POST/PUT or a non-empty body unless a header line
// already starts with "Content-Length:".
inline std::string request_bytes(std::string_view method, std::string_view target,
                                 std::string_view version = "HTTP/1.1",
                                 const std::vector<std::string> &header_lines = {"Host: 127.0.0.1"},
                                 std::string_view body = {}) {
  std::string out =
      std::string(method) + " " + std::string(target) + " " + std::string(version) + "\r\n";
  bool has_length = false;
  for (const auto &h : header_lines) {
    out += h + "\r\n";
    has_length = has_length || h.rfind("Content-Length:", 0) == 0;
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT"))
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out.append(body);
  return out;
}

// {"model":"llama3.2","prompt":"hi","streamcheck":{...}}
inline std::string generate_body(const json &knobs, std::string_view model = "llama3.2") {
  json body = {{"model", model}, {"prompt", "hi"}, {"streamcheck", knobs}};
  return body.dump();
}

// The NDJSON lines of a body ("\n"-terminated), parsed.
inline std::vector<json> ndjson_lines(std::string_view body) {
  std::vector<json> out;
  while (!body.empty()) {
    const auto nl = body.find('\n');
    out.push_back(json::parse(body.substr(0, nl), nullptr, false));
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  return out;
}

class MockTest : public ::testing::Test {
protected:
  void SetUp() override { start_mock("ollama"); }
  void TearDown() override {
    if (mock_) mock_->stop();
  }

  void start_mock(const std::string &profile) {
    if (mock_) mock_->stop();
    mock::server_options o;
    o.control = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    o.threads = 2;
    o.profile_name = profile;
    o.behaviour.request_policy = *mock::policy_for_profile(profile);
    auto started = mock::server::start(o);
    ASSERT_TRUE(started) << started.message();
    mock_ = std::move(started.value());
    ASSERT_NE(mock_->port(), 0);
    ASSERT_NE(mock_->control_port(), 0);
  }

  unsigned short port() const { return mock_->port(); }

  // GET /journal?id=ID on the control listener: the "entries" array.
  json journal(const std::string &id) const {
    const auto raw = http_exchange(mock_->control_port(),
                                   request_bytes("GET", "/journal?id=" + id, "HTTP/1.1",
                                                 {"Host: 127.0.0.1", "Connection: close"}));
    if (!raw) return json::array();
    const auto r = parse_http_response(*raw);
    const json doc = json::parse(r.body, nullptr, false);
    return doc.is_object() && doc.contains("entries") ? doc["entries"] : json::array();
  }

  // The one journal entry with this id once its request has ended (outcome not in_progress);
  // null at the deadline.
  json finished_entry(const std::string &id,
                      mono_clock::time_point deadline = deadline_in(5s)) const {
    for (;;) {
      const json entries = journal(id);
      if (entries.size() == 1 && entries[0]["outcome"] != "in_progress") return entries[0];
      if (mono_clock::now() >= deadline) return entries.size() == 1 ? entries[0] : json();
      std::this_thread::sleep_for(10ms);
    }
  }

  std::unique_ptr<mock::server> mock_;
};

} // namespace streamcheck::test
